package moves

import (
	"context"
	"fmt"
)

// This file says what each round of a run schedules: for a storage
// emptied, what a listing of it finds (discover, in run.go); for a plan,
// its moves in round 1, and Plan.Replan's after a round in which moves
// failed for good.

// round returns the containers to schedule in round n, in order.
func (r *runner) round(ctx context.Context, n int) ([]*item, error) {
	if r.empty != nil {
		return r.discover(ctx, n)
	}
	if n == 1 {
		if err := r.planRound(1); err != nil {
			return nil, err
		}
		return r.waiting(r.plan.Moves), nil
	}
	if r.plan.Replan == nil || len(r.failedInRound) == 0 || r.dry {
		return nil, nil
	}
	failed := r.failedInRound
	r.failedInRound = nil
	more, err := r.plan.Replan(ctx, failed)
	if err != nil {
		return nil, fmt.Errorf("%s: planning around %d failed moves: %w", r.name, len(failed), err)
	}
	if err := checkMoves(more); err != nil {
		return nil, fmt.Errorf("%s: the moves planned around the failed ones: %w", r.name, err)
	}
	if len(more) == 0 {
		return nil, nil
	}
	if err := r.record(Event{Type: EventRound, Attempt: n}); err != nil {
		return nil, err
	}
	r.listings = n
	for _, m := range more {
		if err := r.planMove(m); err != nil {
			return nil, err
		}
	}
	return r.waiting(more), nil
}

// planRound records the plan's moves as planned: those new to the journal,
// and those an earlier run left on their source (any outcome but moved or
// gone).
func (r *runner) planRound(n int) error {
	if r.listings >= n {
		return nil
	}
	if err := r.record(Event{Type: EventRound, Attempt: n}); err != nil {
		return err
	}
	r.listings = n
	for _, m := range r.plan.Moves {
		if err := r.planMove(m); err != nil {
			return err
		}
	}
	return nil
}

// planMove records m as planned unless its container is under way, or
// done with in this run, or moved by an earlier one.
func (r *runner) planMove(m Move) error {
	it := r.st.items[m.key()]
	if it != nil && (!it.phase.done() || it.doneIn == r.st.run || it.phase == phaseMoved) {
		return nil
	}
	ev := Event{Type: EventPlanned, Kind: m.Kind, ID: m.ID, Path: m.Path, From: m.Storage, To: m.To, Unit: m.Unit}
	if m.HasSize {
		ev.Size = &m.Size
	}
	return r.record(ev)
}

// waiting returns the containers of ms that wait to be scheduled, in the
// order of ms.
func (r *runner) waiting(ms []Move) []*item {
	var out []*item
	for _, m := range ms {
		if it := r.st.items[m.key()]; it != nil && it.phase == phaseWaiting {
			out = append(out, it)
		}
	}
	return out
}

// failedForGood notes that it failed and is not tried again in this run:
// Plan.Replan plans around it, and the moves of its unit not yet
// scheduled are skipped rather than split the unit further.
func (r *runner) failedForGood(it *item) error {
	if r.empty != nil {
		return nil
	}
	r.failedInRound = append(r.failedInRound, it.c)
	if it.unit == "" {
		return nil
	}
	for _, o := range r.st.units[it.unit] {
		if o == it || o.phase != phaseWaiting {
			continue
		}
		ev := r.event(o, EventSkipped)
		ev.Reason = string(ReasonUnitFailed)
		ev.Error = fmt.Sprintf("%s %d of its unit %s failed", it.c.Kind, it.c.ID, it.unit)
		if err := r.record(ev); err != nil {
			return err
		}
	}
	return nil
}
