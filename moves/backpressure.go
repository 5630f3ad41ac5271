package moves

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// BackPressure pauses scheduling while the Sidekiq queue that runs the
// storage move workers is busy (GitLab's GET /sidekiq/queue_metrics, which
// needs an administrator). While the queue is above a threshold no move is
// scheduled (EventPaused); once it is below, scheduling resumes
// (EventResumed) with the bound on running moves halved, and the bound
// grows back by one at each check that finds the queue calm (additive
// increase, multiplicative decrease). Without access to the Sidekiq API
// the run warns once and goes on without back-pressure.
//
// https://docs.gitlab.com/api/sidekiq_metrics/
type BackPressure struct {
	// Queue is the queue of the move workers. Default "default": GitLab
	// routes every worker there unless sidekiq routing rules say
	// otherwise.
	Queue string
	// MaxLatency pauses scheduling while the oldest job of Queue has
	// waited longer (0: latency is not checked).
	MaxLatency time.Duration
	// MaxBacklog pauses scheduling while Queue holds more jobs (0:
	// backlog is not checked).
	MaxBacklog int64
	// CheckEvery is how often the queue is read while moves are to be
	// scheduled. Default: Options.PollInterval.
	CheckEvery time.Duration
	// MaxPause stops the run (a *HaltError) when the queue stays busy this
	// long. Default 30m.
	MaxPause time.Duration
}

func (b *BackPressure) check() error {
	switch {
	case b.MaxLatency < 0 || b.MaxBacklog < 0 || b.CheckEvery < 0 || b.MaxPause < 0:
		return fmt.Errorf("%w: BackPressure: negative threshold or interval", ErrInvalidOptions)
	case b.MaxLatency == 0 && b.MaxBacklog == 0:
		return fmt.Errorf("%w: BackPressure needs MaxLatency or MaxBacklog", ErrInvalidOptions)
	}
	if b.Queue == "" {
		b.Queue = "default"
	}
	if b.MaxPause == 0 {
		b.MaxPause = 30 * time.Minute
	}
	return nil
}

// pressure is what the run knows of the queue.
type pressure struct {
	read     time.Time // when the queue was last read
	paused   time.Time // since when scheduling is paused; zero while it is not
	limit    int       // the bound on running moves now
	disabled bool      // the Sidekiq API cannot be read: no back-pressure
}

// limit is the bound on running moves now: MaxRunning, or less after a
// pause.
func (r *runner) limit() int {
	if r.o.BackPressure == nil || r.bp.disabled {
		return r.o.MaxRunning
	}
	return r.bp.limit
}

// calm reads the queue when the last read is older than CheckEvery and
// says whether a move may be scheduled now. It records the pauses and
// resumes.
func (r *runner) calm(ctx context.Context) (bool, error) {
	bp := r.o.BackPressure
	if bp == nil || r.bp.disabled {
		return true, nil
	}
	every := bp.CheckEvery
	if every == 0 {
		every = r.o.PollInterval
	}
	now := r.o.Now()
	if !r.bp.read.IsZero() && now.Sub(r.bp.read) < every {
		return r.bp.paused.IsZero(), nil
	}
	var metrics struct {
		Queues map[string]struct {
			Backlog int64 `json:"backlog"`
			Latency int64 `json:"latency"`
		} `json:"queues"`
	}
	const ep = "GET sidekiq/queue_metrics"
	_, err := r.gl.get(ctx, ep, "sidekiq/queue_metrics", nil, &metrics)
	r.bp.read = r.o.Now()
	var h *HaltError
	switch {
	case errors.As(err, &h) && (errors.Is(err, gitlabdata.ErrForbidden) || errors.Is(err, gitlabdata.ErrUnauthorized)),
		errors.Is(err, gitlabdata.ErrNotFound):
		r.bp.disabled = true
		r.warn(fmt.Sprintf("cannot read Sidekiq's queues (%s: %s): scheduling goes on without back-pressure", r.gl.label(ep), status(err)))
		return true, nil
	case errors.As(err, &h), ctx.Err() != nil:
		return false, err
	case err != nil:
		return r.bp.paused.IsZero(), nil // counted by the breaker; decided at the next read
	}
	q, listed := metrics.Queues[bp.Queue]
	if !listed {
		queues := make(map[string]int, len(metrics.Queues))
		for n := range metrics.Queues {
			queues[n] = 0
		}
		return false, &HaltError{What: fmt.Sprintf("Sidekiq has no queue %q", bp.Queue), Endpoint: r.gl.label(ep), Status: "200",
			Advice: fmt.Sprintf("name the queue the storage move workers run on (Sidekiq lists: %s; GitLab's default routing sends them to default)", names(queues))}
	}
	latency := time.Duration(q.Latency) * time.Second
	var busy string
	switch {
	case bp.MaxLatency > 0 && latency > bp.MaxLatency:
		busy = fmt.Sprintf("Sidekiq queue %s: oldest job waited %s, above %s", bp.Queue, latency, bp.MaxLatency)
	case bp.MaxBacklog > 0 && q.Backlog > bp.MaxBacklog:
		busy = fmt.Sprintf("Sidekiq queue %s: %d jobs waiting, above %d", bp.Queue, q.Backlog, bp.MaxBacklog)
	}
	switch {
	case busy != "" && r.bp.paused.IsZero():
		r.bp.paused = now
		r.bp.limit = max(1, r.bp.limit/2)
		return false, r.record(Event{Type: EventPaused, Reason: busy, Attempt: r.bp.limit})
	case busy != "":
		if now.Sub(r.bp.paused) > bp.MaxPause {
			return false, &HaltError{What: fmt.Sprintf("Sidekiq stayed busy for %s", now.Sub(r.bp.paused).Round(time.Second)),
				Endpoint: r.gl.label(ep), Status: "200", Advice: busy + ": look at Sidekiq, or raise the thresholds, then " + r.gl.again()}
		}
		return false, nil
	case !r.bp.paused.IsZero():
		r.bp.paused = time.Time{}
		return true, r.record(Event{Type: EventResumed, Attempt: r.bp.limit,
			Reason: fmt.Sprintf("Sidekiq queue %s: oldest job waited %s, %d jobs waiting", bp.Queue, latency, q.Backlog)})
	}
	r.bp.limit = min(r.o.MaxRunning, r.bp.limit+1)
	return true, nil
}
