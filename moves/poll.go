package moves

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// poll reads the moves in flight that are due (one newest-first page of
// each kind's moves, then the rest one by one), settles those that ended,
// runs the watchdog, follows moves of waiting containers that someone
// else scheduled, and verifies what finished. ended is true when a move
// ended or one was found under way.
func (r *runner) poll(ctx context.Context) (ended bool, err error) {
	now := r.o.Now()
	for _, k := range r.kinds() {
		byMove := map[int64]*item{}
		var due []*item
		for _, it := range r.st.moving {
			if it.c.Kind != k {
				continue
			}
			byMove[it.move] = it
			if !now.Before(it.watch.next) {
				due = append(due, it)
			}
		}
		if len(due) == 0 {
			continue
		}
		slices.SortFunc(due, func(a, b *item) int { return cmp.Compare(a.move, b.move) })
		// The moves followed are among the newest: a page a little larger
		// than their number holds them (the others are read one by one).
		moves, _, err := r.movesPage(ctx, k, 1, min(movesPerPage, max(20, 2*len(byMove))))
		if err != nil {
			var h *HaltError
			if errors.As(err, &h) || ctx.Err() != nil {
				return ended, err
			}
			continue // counted; the next poll tries again
		}
		seen := map[int64]bool{}
		for _, m := range moves {
			it := byMove[m.ID]
			if it == nil {
				it = r.st.items[key{k, m.container}]
				if it == nil || it.phase != phaseWaiting || m.State.Terminal() || m.SourceStorageName != it.c.Storage || slices.Contains(it.known, m.ID) {
					continue
				}
				// Someone else scheduled it: follow that move.
				if err := r.adopt(it, m, EventReattached, "scheduled by someone else"); err != nil {
					return ended, err
				}
				ended = true
				continue
			}
			seen[m.ID] = true
			e, err := r.observe(it, m)
			if ended = ended || e; err != nil {
				return ended, err
			}
		}
		for _, it := range due {
			if seen[it.move] || !it.phase.moving() {
				continue
			}
			var m owned
			err := r.gl.call(ctx, moveEndpoints[k].get, func() (*gitlabdata.Response, error) {
				var resp *gitlabdata.Response
				var err error
				m, resp, err = r.gl.ops[k].get(ctx, it.move)
				return resp, err
			})
			if err != nil {
				var h *HaltError
				if errors.As(err, &h) || ctx.Err() != nil {
					return ended, err
				}
				continue
			}
			e, err := r.observe(it, m)
			if ended = ended || e; err != nil {
				return ended, err
			}
		}
	}
	if r.st.count[phaseScheduling] > 0 {
		for _, it := range r.st.sorted(r.kinds()) {
			if it.phase == phaseScheduling {
				if err := r.resolveIntent(ctx, it, errors.New("the schedule call got no answer")); err != nil {
					return ended, err
				}
			}
		}
	}
	return ended, r.verifyDue(ctx, false)
}

// observe applies what GitLab says of move m of it; ended is true when
// the move ended.
func (r *runner) observe(it *item, m owned) (ended bool, err error) {
	now := r.o.Now()
	w := &it.watch
	switch {
	case m.State != w.state:
		w.state, w.since, w.every = m.State, now, r.o.PollInterval
		if it.phase == phaseStuck && !m.State.Terminal() {
			if err := r.record(r.event(it, EventUnstuck)); err != nil {
				return false, err
			}
		}
	case now.Sub(w.since) > 4*r.o.MaxPollInterval:
		// A move that does not change is read less and less often.
		w.every = min(2*max(w.every, r.o.PollInterval), r.o.MaxPollInterval)
	}
	w.next = now.Add(w.every)
	switch m.State {
	case gitlabdata.StorageMoveStateFinished:
		ev := r.event(it, EventFinished)
		ev.From, ev.To = m.SourceStorageName, m.DestinationStorageName
		return true, r.record(ev)
	case gitlabdata.StorageMoveStateFailed, gitlabdata.StorageMoveStateCleanupFailed:
		msg := string(m.State)
		if m.ErrorMessage != nil && *m.ErrorMessage != "" {
			msg = *m.ErrorMessage
		}
		if m.State == gitlabdata.StorageMoveStateCleanupFailed {
			msg = "cleanup failed (the old copy was left behind): " + msg
		}
		return true, r.fail(it, m, msg)
	case gitlabdata.StorageMoveStateInitial, gitlabdata.StorageMoveStateScheduled, gitlabdata.StorageMoveStateStarted:
		if it.phase != phaseRunning || now.Sub(w.since) <= r.o.StuckAfter {
			return false, nil
		}
		ev := r.event(it, EventStuck)
		since := w.since.UTC()
		ev.Since, ev.Reason = &since, fmt.Sprintf("in state %q for %s", w.state, now.Sub(w.since).Round(time.Second))
		if err := r.record(ev); err != nil {
			return false, err
		}
		if r.o.ReleaseStuck {
			return true, r.record(r.event(it, EventReleased))
		}
	}
	return false, nil
}
