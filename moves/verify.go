package moves

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"
)

// verifyBatch is how many finished project moves wait for one
// verification listing while other project moves run.
const verifyBatch = 50

// verifyDue reads the finished containers again: projects in batches by a
// keyset listing (every one when all is set, when no project move is
// running or waiting, or when one has waited MaxPollInterval, so that an
// operator sees moves land as they do), group wikis and snippets by id.
func (r *runner) verifyDue(ctx context.Context, all bool) error {
	for _, k := range r.kinds() {
		done := slices.Clone(r.st.finished[k])
		if len(done) == 0 {
			continue
		}
		if k != KindProject {
			for _, it := range done {
				if err := r.verifyByID(ctx, it); err != nil {
					return err
				}
			}
			continue
		}
		if all || len(done) >= verifyBatch || !r.busy(k) || r.o.Now().Sub(oldest(done)) >= r.o.MaxPollInterval {
			if err := r.verifyProjects(ctx, done); err != nil {
				return err
			}
		}
	}
	return nil
}

// oldest is when the first of done finished.
func oldest(done []*item) time.Time {
	t := done[0].finished
	for _, it := range done[1:] {
		if it.finished.Before(t) {
			t = it.finished
		}
	}
	return t
}

// busy reports whether moves of kind k run, or one may be scheduled now
// (it waits next in the queue and a slot is free): then the finished ones
// wait for a fuller verification batch.
func (r *runner) busy(k Kind) bool {
	for _, it := range r.st.moving {
		if it.c.Kind == k && it.phase == phaseRunning {
			return true
		}
	}
	if r.running() >= r.limit() || r.closed != "" {
		return false
	}
	for _, it := range r.queue {
		if it.phase == phaseWaiting {
			return it.c.Kind == k
		}
	}
	return false
}

// verifyProjects lists the windows that hold done on their sources: those
// still there did not move (corrections #11: a move may "finish" without
// copying).
func (r *runner) verifyProjects(ctx context.Context, done []*item) error {
	bySource := map[string][]*item{}
	for _, it := range done {
		bySource[it.c.Storage] = append(bySource[it.c.Storage], it)
	}
	for _, source := range slices.Sorted(maps.Keys(bySource)) {
		if err := r.verifyProjectsOn(ctx, source, bySource[source]); err != nil {
			return err
		}
	}
	return nil
}

// verifyProjectsOn verifies the finished projects done, whose source is
// storage.
func (r *runner) verifyProjectsOn(ctx context.Context, storage string, done []*item) error {
	slices.SortFunc(done, func(a, b *item) int { return cmp.Compare(a.c.ID, b.c.ID) })
	ids := make([]int64, len(done))
	for i, it := range done {
		ids[i] = it.c.ID
	}
	on, unknown, err := r.projectsAmong(ctx, storage, ids)
	if err != nil {
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return err
		}
		return nil // counted; verified at a later poll
	}
	for _, it := range done {
		var err error
		switch {
		case unknown[it.c.ID]:
			err = r.record(Event{Type: EventListingError, Kind: it.c.Kind, ID: it.c.ID, Move: it.move, Error: "finished, but the listing page that holds it fails"})
		default:
			err = r.verified(it, on[it.c.ID])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// verifyByID reads a finished group wiki or snippet (GitLab shows its
// storage to administrators).
func (r *runner) verifyByID(ctx context.Context, it *item) error {
	storage, exists, err := r.readStorage(ctx, it.c.Kind, it.c.ID)
	if err != nil {
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return err
		}
		return nil // counted; verified at a later poll
	}
	return r.verified(it, exists && storage == it.c.Storage)
}

// verified records the outcome of a finished move of it.
func (r *runner) verified(it *item, stillOnSource bool) error {
	ev := r.event(it, EventMoved)
	ev.From, ev.To, ev.Duration = it.c.Storage, it.movingTo, it.finished.Sub(it.started)
	if stillOnSource {
		ev.Type, ev.Reason = EventNotMoved, string(ReasonStillOnSource)
		ev.Error = "the move finished but the repository is still on " + it.c.Storage + " (move " + strconv.FormatInt(it.move, 10) + ")"
	}
	return r.record(ev)
}
