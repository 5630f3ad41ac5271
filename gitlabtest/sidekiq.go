package gitlabtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Queues GitLab routes jobs to with its default routing rules: every
// worker, the storage moves included, to "default"; mail to "mailers".
const (
	sidekiqDefaultQueue = "default"
	sidekiqMailersQueue = "mailers"
)

// SidekiqQueueOverride replaces what GET /api/v4/sidekiq/queue_metrics
// answers for one queue (see [Server.OverrideSidekiqQueue]). A nil field
// keeps the value the fake computes: for "default" the storage moves
// waiting in it, for "mailers" and any other queue 0.
type SidekiqQueueOverride struct {
	// Backlog is the number of waiting jobs; a negative one counts as 0.
	Backlog *int64
	// Latency is the age of the oldest waiting job, sent in whole seconds
	// (truncated); a negative one counts as 0.
	Latency *time.Duration
}

// sidekiqQueue is one queue of GET /sidekiq/queue_metrics on the wire.
type sidekiqQueue struct {
	Backlog int64 `json:"backlog"`
	Latency int64 `json:"latency"`
}

// OverrideSidekiqQueue sets the override of queue name, replacing any
// earlier one: GET /api/v4/sidekiq/queue_metrics answers its fields
// instead of the computed ones. Overriding a queue the fake does not list
// adds it (with 0 for a field left nil). It reports false, changing
// nothing, for an empty name. The override stays until
// [Server.ResetSidekiqQueue].
func (s *Server) OverrideSidekiqQueue(name string, q SidekiqQueueOverride) bool {
	if name == "" {
		return false
	}
	var ov SidekiqQueueOverride
	if q.Backlog != nil {
		ov.Backlog = ptr(max(*q.Backlog, 0))
	}
	if q.Latency != nil {
		ov.Latency = ptr(max(*q.Latency, 0))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sidekiq == nil {
		s.sidekiq = make(map[string]SidekiqQueueOverride)
	}
	s.sidekiq[name] = ov
	return true
}

// ResetSidekiqQueue drops the override of queue name and reports whether
// it had one. "default" and "mailers" go back to their computed values;
// any other queue is no longer listed.
func (s *Server) ResetSidekiqQueue(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sidekiq[name]
	delete(s.sidekiq, name)
	return ok
}

// sidekiqQueuesLocked computes GET /sidekiq/queue_metrics's queues. A
// storage move waits in Sidekiq's queue while it is scheduled: the
// transition to scheduled enqueues its worker, and the worker starting
// it makes it started. So "default" holds the scheduled moves of every
// kind, and its latency is the age, on the fake's clock, of the one
// enqueued first.
func (s *Server) sidekiqQueuesLocked() map[string]sidekiqQueue {
	var backlog int64
	var oldest time.Time
	for k := range kindCount {
		for _, m := range s.moves[k].active {
			if m.state != moveScheduled {
				continue
			}
			backlog++
			q := m.queued
			if q.IsZero() {
				q = m.created
			}
			if oldest.IsZero() || q.Before(oldest) {
				oldest = q
			}
		}
	}
	var latency int64
	if backlog > 0 {
		latency = max(int64(s.now().Sub(oldest)/time.Second), 0)
	}
	queues := map[string]sidekiqQueue{
		sidekiqDefaultQueue: {Backlog: backlog, Latency: latency},
		sidekiqMailersQueue: {},
	}
	for name, ov := range s.sidekiq {
		q := queues[name]
		if ov.Backlog != nil {
			q.Backlog = *ov.Backlog
		}
		if ov.Latency != nil {
			q.Latency = int64(*ov.Latency / time.Second)
		}
		queues[name] = q
	}
	return queues
}

// matchSidekiq routes GET /sidekiq/queue_metrics (administrators only).
func (s *Server) matchSidekiq(segs []string) map[string]handler {
	if len(segs) == 2 && segs[0] == "sidekiq" && segs[1] == "queue_metrics" {
		return map[string]handler{http.MethodGet: {fn: s.getSidekiqQueueMetrics}}
	}
	return nil
}

// getSidekiqQueueMetrics serves GET /sidekiq/queue_metrics: the queues in
// name order, as GitLab sorts its routed queues.
func (s *Server) getSidekiqQueueMetrics(c *call) {
	s.mu.Lock()
	queues := s.sidekiqQueuesLocked()
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"queues": queues})
}

// controlSidekiq serves PUT and DELETE /-/fake/sidekiq/queues/NAME; sub is
// the path after /-/fake/sidekiq/.
func (s *Server) controlSidekiq(w http.ResponseWriter, method, sub string, body []byte) {
	escaped, ok := strings.CutPrefix(sub, "queues/")
	name, err := url.PathUnescape(escaped)
	if !ok || err != nil || name == "" || strings.Contains(escaped, "/") {
		controlError(w, http.StatusNotFound, "want "+method+" "+controlPrefix+"/sidekiq/queues/NAME")
		return
	}
	if method == http.MethodDelete {
		if !s.ResetSidekiqQueue(name) {
			controlError(w, http.StatusNotFound, fmt.Sprintf("Sidekiq queue %q has no override", name))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var in struct {
		Latency *int64 `json:"latency"`
		Backlog *int64 `json:"backlog"`
	}
	if !decodeControl(w, body, &in) {
		return
	}
	if in.Latency != nil && (*in.Latency < 0 || *in.Latency > int64(time.Duration(1<<63-1)/time.Second)) || in.Backlog != nil && *in.Backlog < 0 {
		controlError(w, http.StatusBadRequest, `body must be {"latency":SECONDS,"backlog":N} with whole numbers from 0 (either key may be left out)`)
		return
	}
	ov := SidekiqQueueOverride{Backlog: in.Backlog}
	override := map[string]int64{}
	if in.Backlog != nil {
		override["backlog"] = *in.Backlog
	}
	if in.Latency != nil {
		ov.Latency = ptr(time.Duration(*in.Latency) * time.Second)
		override["latency"] = *in.Latency
	}
	s.OverrideSidekiqQueue(name, ov)
	s.mu.Lock()
	q := s.sidekiqQueuesLocked()[name]
	s.mu.Unlock()
	controlJSON(w, http.StatusOK, map[string]any{"name": name, "override": override, "queue": q})
}
