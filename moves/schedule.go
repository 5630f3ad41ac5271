package moves

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// moveEndpoints names the move requests of each kind in messages.
var moveEndpoints = map[Kind]struct{ schedule, listFor, list, get string }{
	KindProject:   {"POST projects/:id/repository_storage_moves", "GET projects/:id/repository_storage_moves", "GET project_repository_storage_moves", "GET project_repository_storage_moves/:id"},
	KindGroupWiki: {"POST groups/:id/repository_storage_moves", "GET groups/:id/repository_storage_moves", "GET group_repository_storage_moves", "GET group_repository_storage_moves/:id"},
	KindSnippet:   {"POST snippets/:id/repository_storage_moves", "GET snippets/:id/repository_storage_moves", "GET snippet_repository_storage_moves", "GET snippet_repository_storage_moves/:id"},
}

// scheduleTimeout bounds a schedule call, which a cancelled run does not
// cut short so that its answer reaches the journal.
const scheduleTimeout = 2 * time.Minute

// schedule asks GitLab to move it. The intent is journaled (and synced)
// first: if that fails, nothing is sent. A container already moving is
// re-attached to its move; a call whose answer is lost is settled by
// reading the container's moves.
func (r *runner) schedule(ctx context.Context, it *item) error {
	intent := r.event(it, EventScheduling)
	intent.Move, intent.State, intent.Attempt, intent.To = 0, "", it.attempts+1, it.dest
	if err := r.record(intent); err != nil {
		return err
	}
	r.calls++
	k := it.c.Kind
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scheduleTimeout)
	defer cancel()
	var m owned
	err := r.gl.call(pctx, moveEndpoints[k].schedule, func() (*gitlabdata.Response, error) {
		var resp *gitlabdata.Response
		var err error
		var to *string
		if it.dest != "" {
			to = &it.dest
		}
		m, resp, err = r.gl.ops[k].schedule(pctx, it.c.ID, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: to})
		return resp, err
	})
	r.lastPOST = r.o.Now()
	var h *HaltError
	switch {
	case err == nil && m.SourceStorageName != "" && m.SourceStorageName != it.c.Storage:
		// It had left its source (another run moved it): GitLab moved it from
		// where it is. The move is journaled, not counted as this drain's.
		if err := r.adopt(it, m, EventScheduled, ""); err != nil {
			return err
		}
		ev := r.event(it, EventGone)
		ev.Reason, ev.To = string(ReasonLeftSource), m.SourceStorageName
		ev.Error = fmt.Sprintf("it was on %s when its move %d was scheduled (to %s)", m.SourceStorageName, m.ID, m.DestinationStorageName)
		return r.record(ev)
	case err == nil:
		return r.adopt(it, m, EventScheduled, "")
	case errors.As(err, &h):
		return err // the intent stays unsettled: the next run reads the container's moves
	case alreadyMoving(err):
		return r.reattach(ctx, it, err)
	case errors.Is(err, gitlabdata.ErrNotFound):
		ev := r.event(it, EventGone)
		ev.Reason, ev.Error = string(ReasonLeftSource), err.Error()
		return r.record(ev)
	case classify(err, nil) == answered:
		return r.fail(it, owned{}, err.Error())
	}
	// No answer, or one that does not say whether GitLab created the move.
	return r.resolveIntent(ctx, it, err)
}

// adopt follows move m of it, from a schedule call (EventScheduled) or
// found under way (EventReattached).
func (r *runner) adopt(it *item, m owned, t EventType, reason string) error {
	ev := r.event(it, t)
	ev.Move, ev.State, ev.From, ev.To, ev.Reason = m.ID, m.State, m.SourceStorageName, m.DestinationStorageName, reason
	if t == EventReattached && ev.Path == "" {
		ev.Path = m.path
	}
	if err := r.record(ev); err != nil {
		return err
	}
	now := r.o.Now()
	it = r.st.items[key{ev.Kind, ev.ID}]
	it.watch = watch{state: m.State, since: now, next: now.Add(r.o.PollInterval), every: r.o.PollInterval}
	return nil
}

// reattach follows the move GitLab is running for it (a schedule call was
// refused as read-only); read-only with no move in flight fails it.
func (r *runner) reattach(ctx context.Context, it *item, refusal error) error {
	moves, err := r.movesOf(ctx, it)
	if err != nil {
		return err
	}
	for _, m := range moves {
		if !m.State.Terminal() && m.SourceStorageName == it.c.Storage {
			return r.adopt(it, m, EventReattached, "already moving")
		}
	}
	ev := r.event(it, EventFailed)
	ev.Error, ev.Final, ev.Reason = refusal.Error(), true, string(ReasonReadOnly)
	if err := r.record(ev); err != nil {
		return err
	}
	return r.failedForGood(it)
}

// movesOf reads the newest moves of it's container.
func (r *runner) movesOf(ctx context.Context, it *item) ([]owned, error) {
	var moves []owned
	err := r.gl.call(ctx, moveEndpoints[it.c.Kind].listFor, func() (*gitlabdata.Response, error) {
		var resp *gitlabdata.Response
		var err error
		moves, resp, err = r.gl.ops[it.c.Kind].listFor(ctx, it.c.ID)
		return resp, err
	})
	return moves, err
}

// resolveIntent settles a schedule call of it whose answer is not known
// (lost in this run, postErr, or by a crash of an earlier one). Only a
// move of the container that leaves its source, goes to the destination asked
// for, was created no earlier than the call (give or take ClockSkew on
// GitLab's clock) and is not already in the journal can be its move: that
// one is followed. Otherwise the call created nothing: a failed attempt,
// or after a crash a container that waits again.
func (r *runner) resolveIntent(ctx context.Context, it *item, postErr error) error {
	moves, err := r.movesOf(ctx, it)
	if err != nil {
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return err
		}
		return nil // the intent stays unsettled: the next poll tries again
	}
	earliest := it.intentAt.Add(r.gl.offset - r.o.ClockSkew)
	for _, m := range moves { // newest first
		switch {
		case slices.Contains(it.known, m.ID), m.SourceStorageName != it.c.Storage, it.to != "" && m.DestinationStorageName != it.to:
			continue
		case m.CreatedAt.Before(earliest):
			continue
		}
		return r.adopt(it, m, EventScheduled, "recovered: the schedule call's answer was lost")
	}
	if postErr != nil {
		return r.fail(it, owned{}, postErr.Error())
	}
	ev := r.event(it, EventNotSent)
	ev.Reason = "the schedule call of an earlier run left no move"
	return r.record(ev)
}

// resolveIntents settles the schedule calls an earlier run left without
// their answer.
func (r *runner) resolveIntents(ctx context.Context) error {
	if r.st.count[phaseScheduling] == 0 {
		return nil
	}
	for _, it := range r.st.sorted(r.kinds()) {
		if it.phase != phaseScheduling {
			continue
		}
		if err := r.resolveIntent(ctx, it, nil); err != nil {
			return fmt.Errorf("%s: reading the moves of %s %d after an interrupted schedule call: %w", r.name, it.c.Kind, it.c.ID, err)
		}
	}
	return nil
}

// adoptPages is how many pages of each kind's newest moves a run reads at
// its start for moves of its containers already under way.
const adoptPages = 2

// adoptUnfinished follows the moves already under way off the storage
// emptied, or of the plan's containers off their sources (scheduled by
// someone else, or by an earlier run without a journal): they count
// against MaxRunning, and their containers are not scheduled again. Older
// ones are found when GitLab refuses a schedule call as read-only.
func (r *runner) adoptUnfinished(ctx context.Context) error {
	if r.empty == nil {
		if err := r.planRound(1); err != nil { // the plan's containers, to recognise their moves
			return err
		}
	}
	for _, k := range r.kinds() {
		for page := 1; page <= adoptPages; page++ {
			moves, more, err := r.movesPage(ctx, k, page, movesPerPage)
			if err != nil {
				var h *HaltError
				if errors.As(err, &h) || ctx.Err() != nil {
					return err
				}
				r.warn(fmt.Sprintf("cannot list the %s moves under way: %v", k, err))
				break
			}
			for _, m := range moves {
				it := r.st.items[key{k, m.container}]
				switch {
				case m.State.Terminal() || m.container == 0:
					continue
				case it == nil && (r.empty == nil || m.SourceStorageName != r.empty.From):
					continue // not a container of this run
				case it != nil && m.SourceStorageName != it.c.Storage:
					continue
				}
				if it != nil && (it.phase != phaseWaiting && !r.reopens(it) || slices.Contains(it.known, m.ID)) {
					continue
				}
				if it == nil {
					it = &item{c: Container{Kind: k, ID: m.container, Path: m.path, Storage: m.SourceStorageName}}
				}
				if err := r.adopt(it, m, EventReattached, "already moving when the run started"); err != nil {
					return err
				}
			}
			if !more {
				break
			}
		}
	}
	return nil
}

// movesPage reads one page of a kind's moves, newest first.
func (r *runner) movesPage(ctx context.Context, k Kind, page, perPage int) (moves []owned, more bool, err error) {
	err = r.gl.call(ctx, moveEndpoints[k].list, func() (*gitlabdata.Response, error) {
		var resp *gitlabdata.Response
		var err error
		moves, resp, err = r.gl.ops[k].list(ctx, page, perPage)
		if err == nil {
			more = len(moves) == perPage && (resp.NextPage > page || resp.NextPage == 0 && resp.Page == 0)
		}
		return resp, err
	})
	return moves, more, err
}

// fail records a failed attempt of it: move m failed (or, with m empty,
// the schedule call did). The container is tried again unless its retries
// are used up, its move left the old copy behind, or MaxFailures is
// reached.
func (r *runner) fail(it *item, m owned, msg string) error {
	ev := r.event(it, EventFailed)
	ev.Error = msg
	switch {
	case m.RepositoryStorageMove != nil && m.State == gitlabdata.StorageMoveStateCleanupFailed:
		ev.Final, ev.Reason = true, string(ReasonCleanupFailed)
	case r.st.attemptsThisRun(it) > r.o.Retries:
		ev.Final, ev.Reason = true, string(ReasonRetriesUsed)
	case r.o.MaxFailures > 0 && r.st.failures+1 >= r.o.MaxFailures:
		ev.Final, ev.Reason = true, string(ReasonBreaker)
	}
	if m.RepositoryStorageMove != nil {
		ev.Move, ev.State, ev.From, ev.To = m.ID, m.State, m.SourceStorageName, m.DestinationStorageName
		ev.Duration = r.o.Now().Sub(it.started)
	}
	if err := r.record(ev); err != nil {
		return err
	}
	if ev.Final {
		return r.failedForGood(it)
	}
	if it.phase == phaseWaiting { // a retry is due: before the others
		r.queue = append([]*item{it}, r.queue...)
	}
	return nil
}

// alreadyMoving recognises GitLab's 400 for a read-only repository, which
// it answers while a move of it is under way (corrections #23).
func alreadyMoving(err error) bool {
	var apiErr *gitlabdata.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, msgs := range apiErr.Fields {
		for _, m := range msgs {
			if strings.Contains(m, "read-only") || strings.Contains(m, "read only") {
				return true
			}
		}
	}
	return strings.Contains(apiErr.Message, "read-only")
}

// refreshBatch is how many waiting projects one listing checks before
// they are scheduled.
const refreshBatch = 100

// refresh makes sure it is still on its source before it is scheduled,
// its listing being older than RecheckAfter: a project by a keyset listing
// of the window that holds it and the next waiting projects of that
// source; a group wiki or
// snippet by listing its kind again when that costs fewer requests than
// the reads it saves, else by reading it. Those that left are gone. fresh
// is false when the read failed (and was counted): the caller tries again
// later.
func (r *runner) refresh(ctx context.Context, it *item) (fresh bool, err error) {
	now := r.o.Now()
	if it.c.Kind != KindProject && r.relistPays(it.c.Kind) {
		l, err := r.listOther(ctx, it.c.Storage, it.c.Kind)
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return false, err
		}
		if err == nil {
			r.listed[it.c.Kind] = len(l.found)
			for _, c := range l.found {
				if o := r.st.items[c.key()]; o != nil && o.phase == phaseWaiting && o.c.Storage == it.c.Storage {
					o.listedAt = now
				}
			}
		}
		if now.Sub(it.listedAt) <= r.o.RecheckAfter {
			return true, nil
		}
		// Missing from an offset listing (rows shift): read it.
	}
	if it.c.Kind != KindProject {
		storage, exists, err := r.readStorage(ctx, it.c.Kind, it.c.ID)
		if err != nil {
			var h *HaltError
			if errors.As(err, &h) || ctx.Err() != nil {
				return false, err
			}
			return false, nil
		}
		if !exists || storage != it.c.Storage {
			return true, r.gone(it, storage, exists)
		}
		it.listedAt = now
		return true, nil
	}
	batch := []*item{it}
	for _, o := range r.queue {
		if len(batch) == refreshBatch {
			break
		}
		if o != it && o.c.Kind == KindProject && o.c.Storage == it.c.Storage && o.phase == phaseWaiting && now.Sub(o.listedAt) > r.o.RecheckAfter {
			batch = append(batch, o)
		}
	}
	ids := make([]int64, len(batch))
	for i, o := range batch {
		ids[i] = o.c.ID
	}
	slices.Sort(ids)
	on, unknown, err := r.projectsAmong(ctx, it.c.Storage, ids)
	if err != nil {
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return false, err
		}
		return false, nil
	}
	for _, o := range batch {
		switch {
		case on[o.c.ID]:
			o.listedAt = now
		case unknown[o.c.ID]:
			if err := r.record(Event{Type: EventListingError, Kind: KindProject, ID: o.c.ID, Error: "the listing page that holds it fails"}); err != nil {
				return false, err
			}
		default:
			if err := r.gone(o, "", false); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// relistPays says whether listing kind k again costs fewer requests than
// reading its containers one by one until that listing is RecheckAfter
// old, at the pace of this run's schedule calls.
func (r *runner) relistPays(k Kind) bool {
	elapsed := r.o.Now().Sub(r.started)
	if r.calls < 10 || elapsed <= 0 {
		return false
	}
	pages := float64(r.listed[k]/perPage + 1)
	perWindow := float64(r.calls) * float64(r.o.RecheckAfter) / float64(elapsed)
	return 2*pages < perWindow
}

// gone records that it left its source before it was scheduled.
func (r *runner) gone(it *item, storage string, exists bool) error {
	ev := r.event(it, EventGone)
	ev.Reason = string(ReasonLeftSource)
	switch {
	case !exists && it.c.Kind != KindProject:
		ev.Error = "GitLab no longer has it (404)"
	case storage != "":
		ev.Error, ev.To = "it is on "+storage+" now", storage
	default:
		ev.Error = "a listing of " + it.c.Storage + " no longer shows it"
	}
	return r.record(ev)
}
