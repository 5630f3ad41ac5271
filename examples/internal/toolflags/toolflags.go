// Package toolflags holds the flags the moving tools share (back-pressure
// and metrics), with their checks, so that they read and behave the same
// in evacuate-storage and rebalance-storages.
package toolflags

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata/examples/internal/metrics"
	"github.com/gitlabdata/gitlabdata/moves"
)

// BackPressure is -queue, -max-queue-latency and -max-queue-backlog.
type BackPressure struct {
	queue   string
	latency time.Duration
	backlog int64
}

// Register adds the flags to fs.
func (b *BackPressure) Register(fs *flag.FlagSet) {
	fs.StringVar(&b.queue, "queue", "default", "the Sidekiq queue of the storage move workers (GitLab's default routing: default)")
	fs.DurationVar(&b.latency, "max-queue-latency", 0, "pause scheduling while the queue's oldest job waited longer, such as 30s (0: not checked)")
	fs.Int64Var(&b.backlog, "max-queue-backlog", 0, "pause scheduling while the queue holds more jobs (0: not checked)")
}

// Check says what is wrong with the flags, before any request.
func (b *BackPressure) Check() error {
	switch {
	case b.latency < 0 || b.backlog < 0:
		return errors.New("-max-queue-latency and -max-queue-backlog: want 0 (not checked) or more")
	case strings.TrimSpace(b.queue) == "":
		return errors.New("-queue: name the Sidekiq queue of the storage move workers, such as default")
	}
	return nil
}

// Options is the engine's back-pressure, or nil when no threshold is set.
func (b *BackPressure) Options() *moves.BackPressure {
	if b.latency <= 0 && b.backlog <= 0 {
		return nil
	}
	return &moves.BackPressure{Queue: b.queue, MaxLatency: b.latency, MaxBacklog: b.backlog}
}

// Metrics is -metrics and -metrics-linger.
type Metrics struct {
	Addr   string
	Linger time.Duration
	// Server listens once Listen succeeded.
	Server *metrics.Server
}

// Register adds the flags to fs; what names what is measured.
func (m *Metrics) Register(fs *flag.FlagSet, what string) {
	fs.StringVar(&m.Addr, "metrics", "", "with -apply, serve Prometheus metrics at http://`ADDR`/metrics while "+what+", such as 127.0.0.1:9101 (port 0: a free port)")
	fs.DurationVar(&m.Linger, "metrics-linger", 0, "with -metrics, after the run keep serving until a scrape has read the final counts, at most this long, such as 1m (0: stop at once)")
}

// Check says what is wrong with the flags (set: the flags given), before
// any request.
func (m *Metrics) Check(set map[string]bool, apply bool) error {
	switch {
	case m.Linger < 0:
		return fmt.Errorf("-metrics-linger %s: want 0 or a duration, such as 1m", m.Linger)
	case set["metrics-linger"] && m.Addr == "":
		return errors.New("-metrics-linger goes with -metrics ADDR")
	case m.Addr != "" && !apply:
		return errors.New("-metrics goes with -apply: a dry run moves nothing to measure")
	}
	return nil
}

// Listen starts listening on -metrics ADDR, when given: call it last among
// the checks, since nothing may fail once it listens.
func (m *Metrics) Listen() error {
	if m.Addr == "" {
		return nil
	}
	srv, err := metrics.Listen(m.Addr)
	if err != nil {
		return fmt.Errorf("-metrics %s: %v", m.Addr, err)
	}
	m.Server = srv
	return nil
}
