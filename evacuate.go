package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"time"
)

// EvacuationOutcome says what happened to one project (group, snippet)
// during Evacuate.
type EvacuationOutcome string

// Evacuation outcomes, reported in this order for each container: one of
// Scheduled, Skipped or ScheduleFailed, and after Scheduled one of Finished
// or Failed.
const (
	// EvacuationScheduled: GitLab accepted the move.
	EvacuationScheduled EvacuationOutcome = "scheduled"
	// EvacuationSkipped: GitLab refused because the repository is read-only,
	// which is what it answers while a move is already under way.
	EvacuationSkipped EvacuationOutcome = "skipped"
	// EvacuationScheduleFailed: the schedule call failed; Err says why.
	EvacuationScheduleFailed EvacuationOutcome = "schedule failed"
	// EvacuationFinished: the move finished (or replicated, with
	// WaitOptions.UntilReplicated).
	EvacuationFinished EvacuationOutcome = "finished"
	// EvacuationFailed: the move ended failed or cleanup failed; Err is a
	// *MoveFailedError.
	EvacuationFailed EvacuationOutcome = "failed"
)

// EvacuationEvent reports one outcome as it happens.
type EvacuationEvent struct {
	// ContainerID is the project, group or snippet id.
	ContainerID int64
	Outcome     EvacuationOutcome
	// Move is the move as last seen; nil for Skipped and ScheduleFailed.
	Move *RepositoryStorageMove
	// Err says why scheduling failed or was skipped, or why the move
	// failed (a *MoveFailedError).
	Err error
	// Duration is the time from scheduling to Finished or Failed.
	Duration time.Duration
}

// EvacuationSummary counts the outcomes of an evacuation.
type EvacuationSummary struct {
	Scheduled, Skipped, ScheduleFailed, Finished, Failed int
	// Duplicates counts ids given more than once; each is scheduled once.
	Duplicates int
}

// EvacuateOptions configures Evacuate. The zero value lets GitLab choose
// each destination, runs 4 schedule calls at once and polls with the
// WaitOptions defaults.
type EvacuateOptions struct {
	// DestinationStorageName is the storage to move to; nil lets GitLab
	// choose by the storages' weights.
	DestinationStorageName *string
	// Concurrency is the most schedule calls in flight at once. Default 4.
	Concurrency int
	// Wait bounds the polling that follows the scheduled moves.
	Wait WaitOptions
	// OnEvent, if set, is called for every outcome as it happens. Calls
	// never overlap, so it may print or update counters without locking;
	// it should return quickly.
	OnEvent func(EvacuationEvent)
}

// evacuate schedules a move for every id that ids yields (projects on the
// shard to empty, for example), with at most opts.Concurrency schedule calls
// in flight, then follows the moves until each ends. It reports each outcome
// through opts.OnEvent as it happens and returns the counts.
//
// Each id is scheduled at most once, even if ids repeats it. GitLab's 400
// "is read-only" answer (the repository is already being moved) counts as
// Skipped, not as a failure. Moves are followed by one newest-first listing
// per poll, not one request per move, so evacuating thousands of
// repositories costs a few requests per poll.
//
// It returns an error only when it cannot go on: the context ended
// (the error wraps ctx.Err()), opts are invalid, or following the moves
// failed after the client's retries. Every goroutine it started has ended
// when it returns.
func (s *storageMoves[T, P]) evacuate(ctx context.Context, ids iter.Seq[int64], opts *EvacuateOptions) (EvacuationSummary, error) {
	var o EvacuateOptions
	if opts != nil {
		o = *opts
	}
	if err := checkContext(ctx); err != nil {
		return EvacuationSummary{}, err
	}
	if ids == nil {
		return EvacuationSummary{}, fmt.Errorf("%w: no ids to evacuate", ErrInvalidArgument)
	}
	if o.Concurrency < 0 {
		return EvacuationSummary{}, fmt.Errorf("%w: concurrency %d is negative", ErrInvalidArgument, o.Concurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if err := validateDestination(o.DestinationStorageName); err != nil {
		return EvacuationSummary{}, err
	}
	wait, err := o.Wait.withDefaults()
	if err != nil {
		return EvacuationSummary{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e := &evacuation[T, P]{
		s: s, opts: o, wait: wait, cancel: cancel,
		pending: make(map[int64]*pendingMove),
		wake:    make(chan struct{}, 1),
	}

	watched := make(chan struct{})
	go func() {
		defer close(watched)
		e.watch(ctx)
	}()

	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	seen := make(map[int64]bool)
	for id := range ids {
		if ctx.Err() != nil {
			break
		}
		if seen[id] {
			e.mu.Lock()
			e.summary.Duplicates++
			e.mu.Unlock()
			continue
		}
		seen[id] = true
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e.schedule(ctx, id)
		}()
	}
	wg.Wait()
	e.finishScheduling()
	<-watched

	e.mu.Lock()
	defer e.mu.Unlock()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, errEvacuationDone) {
		return e.summary, fmt.Errorf("gitlabdata: evacuation stopped: %w", cause)
	}
	return e.summary, nil
}

// errEvacuationDone is never returned; it marks a normal end.
var errEvacuationDone = errors.New("evacuation done")

type pendingMove struct {
	containerID int64
	scheduled   time.Time
}

// evacuation is the shared state of one Evacuate call.
type evacuation[T any, P storageMove[T]] struct {
	s      *storageMoves[T, P]
	opts   EvacuateOptions
	wait   WaitOptions
	cancel context.CancelCauseFunc
	wake   chan struct{} // nudges the watcher: a move was added or scheduling ended

	mu           sync.Mutex // guards the fields below and serialises OnEvent
	pending      map[int64]*pendingMove
	allScheduled bool // every schedule call has returned
	summary      EvacuationSummary
}

// emit counts ev and calls OnEvent; the caller holds e.mu.
func (e *evacuation[T, P]) emitLocked(ev EvacuationEvent) {
	switch ev.Outcome {
	case EvacuationScheduled:
		e.summary.Scheduled++
	case EvacuationSkipped:
		e.summary.Skipped++
	case EvacuationScheduleFailed:
		e.summary.ScheduleFailed++
	case EvacuationFinished:
		e.summary.Finished++
	case EvacuationFailed:
		e.summary.Failed++
	}
	if e.opts.OnEvent != nil {
		e.opts.OnEvent(ev)
	}
}

func (e *evacuation[T, P]) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *evacuation[T, P]) schedule(ctx context.Context, id int64) {
	move, _, err := e.s.scheduleFor(ctx, id, ScheduleStorageMoveRequest{DestinationStorageName: e.opts.DestinationStorageName})
	if ctx.Err() != nil {
		return // cancelled: the outcome is unknown, so report none
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		outcome := EvacuationScheduleFailed
		if alreadyMoving(err) {
			outcome = EvacuationSkipped
		}
		e.emitLocked(EvacuationEvent{ContainerID: id, Outcome: outcome, Err: err})
		return
	}
	common := *P(move).common()
	e.emitLocked(EvacuationEvent{ContainerID: id, Outcome: EvacuationScheduled, Move: &common})
	p := &pendingMove{containerID: id, scheduled: time.Now()}
	if e.wait.done(common.State) {
		e.settleLocked(p, common)
		return
	}
	e.pending[common.ID] = p
	e.nudge()
}

// alreadyMoving recognises GitLab's 400 for a read-only repository:
// {"message":{"project":["is read-only"]}} ("is read only" before 16.x,
// "Repository already read-only" when the move raced another).
func alreadyMoving(err error) bool {
	var apiErr *APIError
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
	return false
}

func (e *evacuation[T, P]) finishScheduling() {
	e.mu.Lock()
	e.allScheduled = true
	e.mu.Unlock()
	e.nudge()
}

// settleLocked reports a move that reached a state Wait stops at.
func (e *evacuation[T, P]) settleLocked(p *pendingMove, m RepositoryStorageMove) {
	ev := EvacuationEvent{ContainerID: p.containerID, Move: &m, Duration: time.Since(p.scheduled)}
	if err := moveOutcome(&m); err != nil {
		ev.Outcome, ev.Err = EvacuationFailed, err
	} else {
		ev.Outcome = EvacuationFinished
	}
	delete(e.pending, m.ID)
	e.emitLocked(ev)
}

// watch follows the pending moves until scheduling has ended and none is
// left, or the context ends.
func (e *evacuation[T, P]) watch(ctx context.Context) {
	p := newPoller(e.wait)
	for {
		e.mu.Lock()
		n, over := len(e.pending), e.allScheduled
		e.mu.Unlock()
		if n == 0 {
			if over {
				e.cancel(errEvacuationDone)
				return
			}
			select {
			case <-e.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := e.s.c.sleep(ctx, p.pause()); err != nil {
			return
		}
		if err := e.poll(ctx); err != nil {
			if ctx.Err() == nil {
				e.cancel(fmt.Errorf("following storage moves: %w", err))
			}
			return
		}
	}
}

// poll updates the pending moves from one newest-first listing, stopping at
// the oldest pending move, and asks for any move the listing did not show.
func (e *evacuation[T, P]) poll(ctx context.Context) error {
	e.mu.Lock()
	want := make(map[int64]bool, len(e.pending))
	oldest := int64(0)
	for id := range e.pending {
		want[id] = true
		if oldest == 0 || id < oldest {
			oldest = id
		}
	}
	e.mu.Unlock()

	found := 0
	for move, err := range e.s.all(ctx, &ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			return err
		}
		m := P(move).common()
		if want[m.ID] {
			want[m.ID] = false
			found++
			e.update(*m)
		}
		if found == len(want) || m.ID <= oldest {
			break
		}
	}
	for id, missing := range want {
		if !missing {
			continue
		}
		move, _, err := e.s.get(ctx, id)
		if err != nil {
			return err
		}
		e.update(*P(move).common())
	}
	return nil
}

func (e *evacuation[T, P]) update(m RepositoryStorageMove) {
	if !e.wait.done(m.State) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.pending[m.ID]; ok {
		e.settleLocked(p, m)
	}
}
