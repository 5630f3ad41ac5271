package moves

import (
	"cmp"
	"slices"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// This file is the drain's state machine: what it knows of every container,
// and apply, the one function that changes it. The run calls apply for each
// decision it makes (through runner.record, which also journals the event);
// a resumed run calls it for each line of the journal. Nothing else changes
// a container's phase or the counters.

// phase is where a container is in a drain. It is one value: a container
// is in exactly one phase.
type phase uint8

const (
	phaseWaiting    phase = iota // on its source, to be scheduled (again)
	phaseScheduling              // a schedule call was sent; its answer is not known
	phaseRunning                 // its move is followed
	phaseStuck                   // its move has not changed for longer than StuckAfter
	phaseFinished                // its move finished; it is to be verified
	// The phases below are outcomes: the container is done with for this run.
	phaseMoved
	phaseFailed
	phaseNotMoved
	phaseSkipped
	phaseGone
	phaseUnknown
	phaseCount
)

// done reports whether p is an outcome.
func (p phase) done() bool { return p >= phaseMoved }

// moving reports whether a move of the container is followed in p.
func (p phase) moving() bool { return p == phaseRunning || p == phaseStuck }

// item is one container and what the run knows of it.
type item struct {
	c      Container // c.Storage is the source of its moves
	dest   string    // the destination planned for it; "" lets GitLab pick
	unit   string    // the unit it moves with (Move.Unit)
	phase  phase
	reason Reason // why it is in an outcome phase
	// doneIn is the run in which it reached its outcome: a later run
	// that finds it on its source again tries it again.
	doneIn int
	// attempts counts the schedule calls for it in every run (the
	// Attempt of its events); runAttempts those of run.
	attempts, runAttempts, run int
	move                       int64     // its current (or last) move
	movingTo                   string    // the destination of that move
	to                         string    // the destination of its last schedule call; "" lets GitLab pick
	intentAt                   time.Time // when its last schedule call was decided (the drain's clock)
	started                    time.Time // when its current move was scheduled or re-attached
	finished                   time.Time // when its move was seen finished
	known                      []int64   // every move of it the journal holds
	errors                     []string  // the error messages of its failed attempts, oldest first
	counted                    bool      // counted in the MaxMoves and MaxBytes budgets

	// Not journaled: what the live run saw.
	listedAt time.Time // when a listing or a read last showed it on its source
	watch    watch
}

// watch is what polling saw of a container's move.
type watch struct {
	state gitlabdata.StorageMoveState
	since time.Time     // when state was first seen
	next  time.Time     // when the move is due to be read again
	every time.Duration // how often it is read while it does not change
}

// tally is what a kind's report counts besides outcomes.
type tally struct {
	reattached, retried int
	durations           []time.Duration
}

// state is everything the run knows, rebuilt from the journal on resume.
type state struct {
	// from is the storage emptied, the source of containers whose events
	// name none, and to its destination ("": GitLab picks); both "" for a
	// plan of moves.
	from, to string
	items    map[key]*item
	count    [phaseCount]int
	// moving, scheduling and finished index the items in those phases, for
	// polling, running bounds and verification without scanning every
	// item.
	moving     map[key]*item
	scheduling map[key]*item
	finished   map[Kind][]*item
	units      map[string][]*item // the members of each unit
	tallies    map[Kind]*tally
	run        int   // runs so far, this one included
	failures   int   // failed attempts in this run (MaxFailures)
	moves      int   // containers scheduled or re-attached, every run (MaxMoves)
	bytes      int64 // their sizes (MaxBytes)
	moved      int64 // bytes of the moved containers
}

func newState(from, to string) *state {
	return &state{from: from, to: to, items: map[key]*item{}, moving: map[key]*item{}, scheduling: map[key]*item{}, units: map[string][]*item{},
		finished: map[Kind][]*item{}, tallies: map[Kind]*tally{}}
}

func (s *state) tally(k Kind) *tally {
	t := s.tallies[k]
	if t == nil {
		t = &tally{}
		s.tallies[k] = t
	}
	return t
}

// item returns the container of ev, creating it (as waiting) if the event
// introduces containers.
func (s *state) item(ev Event) *item {
	k := key{ev.Kind, ev.ID}
	if it := s.items[k]; it != nil {
		if ev.Path != "" {
			it.c.Path = ev.Path
		}
		if ev.Size != nil {
			it.c.Size, it.c.HasSize = *ev.Size, true
		}
		return it
	}
	it := &item{c: Container{Kind: ev.Kind, ID: ev.ID, Path: ev.Path, Storage: s.from}, dest: s.to}
	if ev.From != "" && (ev.Type == EventPlanned || ev.Type == EventReattached) {
		it.c.Storage = ev.From
	}
	if ev.Size != nil {
		it.c.Size, it.c.HasSize = *ev.Size, true
	}
	s.items[k] = it
	s.count[phaseWaiting]++
	return it
}

// set moves it to phase p, keeping the counts and indexes.
func (s *state) set(it *item, p phase) {
	old := it.phase
	if old == p {
		return
	}
	s.count[old]--
	s.count[p]++
	it.phase = p
	k := it.c.key()
	if p.moving() {
		s.moving[k] = it
	} else if old.moving() {
		delete(s.moving, k)
	}
	if p == phaseScheduling {
		s.scheduling[k] = it
	} else if old == phaseScheduling {
		delete(s.scheduling, k)
	}
	if old == phaseFinished {
		s.finished[it.c.Kind] = slices.DeleteFunc(s.finished[it.c.Kind], func(o *item) bool { return o == it })
	}
	if p == phaseFinished {
		s.finished[it.c.Kind] = append(s.finished[it.c.Kind], it)
	}
	if p.done() {
		it.doneIn = s.run
	}
}

// count counts it in the MaxMoves and MaxBytes budgets, once.
func (s *state) countBudget(it *item) {
	if !it.counted {
		it.counted = true
		s.moves++
		s.bytes += it.c.Size
	}
}

// runAttempt notes one more schedule call for it in this run.
func (s *state) runAttempt(it *item) {
	if it.run != s.run {
		it.run, it.runAttempts = s.run, 0
	}
	it.runAttempts++
}

// attemptsThisRun is how many schedule calls it had in this run.
func (s *state) attemptsThisRun(it *item) int {
	if it.run != s.run {
		return 0
	}
	return it.runAttempts
}

// apply changes the state as ev says. It is the only code that changes a
// container's phase or the counters, live and on replay.
func (s *state) apply(ev Event) {
	switch ev.Type {
	case EventRunStarted:
		s.run++
		s.failures = 0
		return
	case EventHeader, EventRound, EventWarning, EventHeartbeat, EventInterrupted, EventRunEnded, EventPaused, EventResumed:
		return
	case EventListingError:
		if ev.ID == 0 {
			return
		}
	}
	if ev.Kind == "" || ev.ID == 0 {
		return
	}
	it := s.item(ev)
	switch ev.Type {
	case EventPlanned:
		if ev.From != "" {
			it.c.Storage = ev.From
		}
		if ev.Unit != "" && ev.Unit != it.unit {
			s.units[ev.Unit] = append(s.units[ev.Unit], it)
		}
		it.dest, it.unit, it.reason = cmp.Or(ev.To, s.to), ev.Unit, ""
		s.set(it, phaseWaiting)
	case EventNotSent:
		it.reason = ""
		s.set(it, phaseWaiting)
	case EventScheduling:
		it.attempts = max(it.attempts, ev.Attempt)
		it.to, it.intentAt = ev.To, ev.Time
		s.runAttempt(it)
		s.set(it, phaseScheduling)
	case EventScheduled, EventReattached:
		t := s.tally(it.c.Kind)
		if ev.Type == EventReattached {
			t.reattached++
		} else if ev.Attempt > 1 {
			t.retried++
		}
		it.attempts = max(it.attempts, ev.Attempt)
		it.move, it.movingTo, it.started = ev.Move, ev.To, ev.Time
		if !slices.Contains(it.known, ev.Move) {
			it.known = append(it.known, ev.Move)
		}
		s.countBudget(it)
		s.set(it, phaseRunning)
	case EventStuck:
		it.watch.state = ev.State
		if ev.Since != nil {
			it.watch.since = *ev.Since
		}
		s.set(it, phaseStuck)
	case EventUnstuck:
		s.set(it, phaseRunning)
	case EventFinished:
		it.finished = ev.Time
		s.set(it, phaseFinished)
	case EventMoved:
		s.tally(it.c.Kind).durations = append(s.tally(it.c.Kind).durations, ev.Duration)
		s.moved += it.c.Size
		s.close(it, phaseMoved, "")
	case EventNotMoved:
		s.close(it, phaseNotMoved, Reason(ev.Reason))
	case EventFailed:
		if ev.Error != "" { // an attempt failed (not: a container given up on after an earlier failure)
			s.failures++
			it.errors = append(it.errors, ev.Error)
		}
		if ev.Final {
			s.close(it, phaseFailed, Reason(ev.Reason))
		} else {
			s.set(it, phaseWaiting)
		}
	case EventSkipped:
		s.close(it, phaseSkipped, Reason(ev.Reason))
	case EventGone:
		s.close(it, phaseGone, Reason(ev.Reason))
	case EventListingError:
		s.close(it, phaseUnknown, ReasonListingError)
	}
}

// close gives it an outcome.
func (s *state) close(it *item, p phase, why Reason) {
	if it.phase == phaseMoved && p != phaseMoved {
		s.moved -= it.c.Size
	}
	it.reason = why
	s.set(it, p)
}

// sorted returns the items in kind order, then by id.
func (s *state) sorted(kinds []Kind) []*item {
	out := make([]*item, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, it)
	}
	rank := func(k Kind) int {
		if i := slices.Index(kinds, k); i >= 0 {
			return i
		}
		return len(kinds)
	}
	slices.SortFunc(out, func(a, b *item) int {
		if c := cmp.Compare(rank(a.c.Kind), rank(b.c.Kind)); c != 0 {
			return c
		}
		return cmp.Compare(a.c.ID, b.c.ID)
	})
	return out
}

// progress counts the containers by where they are.
func (s *state) progress(requests int) *Progress {
	c := &s.count
	return &Progress{
		Found: len(s.items), Waiting: c[phaseWaiting], Running: c[phaseScheduling] + c[phaseRunning] + c[phaseStuck], Verifying: c[phaseFinished],
		Moved: c[phaseMoved], Failed: c[phaseFailed], Other: c[phaseNotMoved] + c[phaseSkipped] + c[phaseGone] + c[phaseUnknown],
		Bytes: s.moved, Requests: requests,
	}
}
