package drain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// runner is one Run or Plan of a Drain.
type runner struct {
	o   Options
	c   *gitlabdata.Client
	gl  *gitlab
	st  *state
	dry bool

	queue         []*item // waiting containers, in the order they are scheduled
	lastPOST      time.Time
	lastEvent     time.Time // for the heartbeat
	warnings      []string
	listingErrors []ListingError // of the last round's listing, and of verification
	closed        Reason         // why scheduling stopped (max_failures, window), once it did
	started       time.Time
	calls         int              // schedule calls sent in this run
	listed        map[Kind]int     // rows of each kind's last full listing
	broken        map[int64]string // projects that break their listing pages, with the error
	listings      int              // rounds of listing the storage
}

func (d *Drain) newRunner(dry bool) *runner {
	r := &runner{o: d.opts, c: d.c, st: newState(d.opts.From), dry: dry, listed: map[Kind]int{}, broken: map[int64]string{}}
	r.gl = newGitLab(d.c, &r.o)
	r.started = r.o.Now()
	r.lastEvent = r.started
	return r
}

// record applies ev to the state and tells about it: it writes it to the
// journal (synced for a schedule intent, so that no schedule call is sent
// that the journal does not know of) and calls OnEvent. Every decision of
// the drain goes through here.
func (r *runner) record(ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = r.o.Now().UTC()
	}
	ev.DryRun = r.dry
	if j := r.o.Journal; j != nil && !r.dry && ev.Type != EventHeartbeat {
		if err := j.write(journalLine(ev), ev.Type == EventScheduling); err != nil {
			return err
		}
	}
	r.st.apply(ev)
	r.lastEvent = r.o.Now()
	if r.o.OnEvent != nil {
		r.o.OnEvent(ev)
	}
	return nil
}

// event is an event about it.
func (r *runner) event(it *item, t EventType) Event {
	ev := Event{Type: t, Kind: it.c.Kind, ID: it.c.ID, Path: it.c.Path, Move: it.move, State: it.watch.state, Attempt: it.attempts}
	if it.c.HasSize {
		ev.Size = &it.c.Size
	}
	return ev
}

// warn records a warning once.
func (r *runner) warn(msg string) {
	if slices.Contains(r.warnings, msg) {
		return
	}
	r.warnings = append(r.warnings, msg)
	_ = r.record(Event{Type: EventWarning, Reason: msg}) // a broken journal stops the run at its next write
}

func (r *runner) to() string {
	if r.o.To == nil {
		return ""
	}
	return *r.o.To
}

// run is Drain.Run.
func (r *runner) run(ctx context.Context) (*Report, error) {
	started := r.o.Now()
	if err := r.resume(); err != nil {
		return nil, err
	}
	if err := r.record(Event{Type: EventRunStarted, From: r.o.From, To: r.to()}); err != nil {
		return nil, err
	}
	_, err := r.drain(ctx)
	end := ReasonHalted
	var halt *HaltError
	switch {
	case ctx.Err() != nil:
		end = ReasonInterrupted
		r.settle(ctx)
		_ = r.record(Event{Type: EventInterrupted, Reason: "stopped: moves in flight stay in the journal"})
	case err != nil:
		_ = r.record(Event{Type: EventInterrupted, Reason: strings.TrimPrefix(err.Error(), "drain: ")})
	}
	rep := r.report(end, r.listings, started)
	rep.Interrupted = ctx.Err() != nil
	if errors.As(err, &halt) {
		rep.Halted = strings.TrimPrefix(halt.Error(), "drain: ")
	}
	t := rep.Totals
	_ = r.record(Event{Type: EventRunEnded, Progress: r.st.progress(r.gl.requests),
		Reason: fmt.Sprintf("found %d: moved %d, failed %d, stuck %d, not moved %d, skipped %d, not attempted %d, gone %d, unknown %d",
			t.Found, t.Moved, t.Failed, t.Stuck, t.NotMoved, t.Skipped, t.NotAttempted, t.Gone, t.Unknown)})
	if ctx.Err() != nil {
		return rep, fmt.Errorf("drain: interrupted: %w", context.Cause(ctx))
	}
	return rep, err
}

// settleTime bounds the reads of an interrupted run: one look at the moves
// in flight, to report those that ended.
const settleTime = 5 * time.Second

// settle reads the moves in flight once more after ctx ended, and
// verifies the finished ones, within settleTime: an interrupted run
// reports what already ended. It sends no schedule call.
func (r *runner) settle(ctx context.Context) {
	if r.following() == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTime)
	defer cancel()
	for _, it := range r.st.moving {
		it.watch.next = time.Time{}
	}
	r.queue = nil
	if _, err := r.poll(sctx); err == nil {
		_ = r.verifyDue(sctx, true)
	}
}

// resume replays the journal, checks that it is this drain's, and writes
// the header of a new one.
func (r *runner) resume() error {
	j := r.o.Journal
	if j == nil {
		return nil
	}
	var header *Event
	first, otherFrom := true, ""
	err := j.replay(func(ev Event) {
		if first && ev.Type == EventHeader {
			header = &ev
		}
		first = false
		if ev.Type == EventRunStarted && ev.From != r.o.From && otherFrom == "" {
			otherFrom = ev.From
		}
		r.st.apply(ev)
	})
	if err != nil {
		return err
	}
	instance := r.c.BaseURL()
	switch {
	case header != nil && (header.Instance != instance || header.From != r.o.From):
		return fmt.Errorf("drain: journal %s is of a drain of %q on %s, not of %q on %s: give this run its own journal", j.name, header.From, header.Instance, r.o.From, instance)
	case otherFrom != "":
		return fmt.Errorf("drain: journal %s is of a drain of %q, not %q: give this run its own journal", j.name, otherFrom, r.o.From)
	case j.n > 0 && header == nil:
		r.warn(fmt.Sprintf("journal %s has no header (an older version wrote it): it is taken as the drain of %s on %s", j.name, r.o.From, instance))
	case j.n == 0:
		return r.record(Event{Type: EventHeader, Instance: instance, From: r.o.From, To: r.to(), Kinds: r.o.Kinds})
	}
	return nil
}

// drain is the run after the journal: it checks GitLab and the token,
// settles what an earlier run left unsettled, then lists and drains the
// storage in rounds until a listing finds nothing left to schedule. It
// returns the rounds that scheduled something.
func (r *runner) drain(ctx context.Context) (rounds int, err error) {
	if err := r.preflight(ctx); err != nil {
		return 0, err
	}
	if err := r.resolveIntents(ctx); err != nil {
		return 0, err
	}
	if err := r.adoptUnfinished(ctx); err != nil {
		return 0, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return rounds, err
		}
		queue, err := r.discover(ctx, rounds+1)
		if err != nil {
			return rounds, err
		}
		if len(queue) == 0 && r.following() == 0 {
			return rounds, nil
		}
		if rounds >= r.o.MaxRounds {
			if err := r.closeQueue(queue, ReasonMaxRounds); err != nil {
				return rounds, err
			}
			if queue = nil; r.following() == 0 {
				return rounds, nil
			}
		}
		rounds++
		if err := r.process(ctx, queue); err != nil {
			return rounds, err
		}
		if r.slotsStuck() {
			// Nothing more will end: list once more for the report and stop.
			queue, err := r.discover(ctx, rounds+1)
			if err != nil {
				return rounds, err
			}
			return rounds, r.closeQueue(queue, ReasonMaxRunning)
		}
	}
}

// following counts the containers whose moves the run still follows to
// an end (stuck ones aside).
func (r *runner) following() int {
	c := &r.st.count
	return c[phaseScheduling] + c[phaseRunning] + c[phaseFinished]
}

// running counts the moves that hold a MaxRunning slot.
func (r *runner) running() int {
	n := r.st.count[phaseScheduling] + r.st.count[phaseRunning]
	if !r.o.ReleaseStuck {
		n += r.st.count[phaseStuck]
	}
	return n
}

// slotsStuck reports whether only stuck moves are left and they hold every
// slot: nothing can be scheduled and nothing will end.
func (r *runner) slotsStuck() bool {
	return r.st.count[phaseStuck] > 0 && r.following() == 0 && r.running() >= r.o.MaxRunning
}

// discover lists every kind on From (round n): containers new to the drain,
// or found again, wait to be scheduled. It returns the waiting containers
// in the drain's order.
func (r *runner) discover(ctx context.Context, n int) ([]*item, error) {
	if err := r.record(Event{Type: EventRound, Attempt: n}); err != nil {
		return nil, err
	}
	r.listings = n
	r.listingErrors = nil
	var queue []*item
	for _, k := range r.o.Kinds {
		l, err := r.list(ctx, k)
		r.listingErrors = append(r.listingErrors, l.errs...)
		if err != nil {
			var h *HaltError
			if errors.As(err, &h) || ctx.Err() != nil {
				return nil, err
			}
			return nil, fmt.Errorf("drain: listing %ss on %s: %w", k, r.o.From, err)
		}
		now := r.o.Now()
		r.listed[k] = len(l.found)
		listed := make(map[int64]bool, len(l.found))
		for _, c := range l.found {
			listed[c.ID] = true
			it := r.st.items[c.key()]
			switch {
			case it == nil || r.reopens(it):
				ev := Event{Type: EventPlanned, Kind: k, ID: c.ID, Path: c.Path}
				if c.HasSize {
					ev.Size = &c.Size
				}
				if err := r.record(ev); err != nil {
					return nil, err
				}
				it = r.st.items[c.key()]
			case it.phase == phaseMoved:
				ev := r.event(it, EventNotMoved)
				ev.Reason, ev.Error = string(ReasonStillOnSource), "verified moved, but listed on "+r.o.From+" again"
				if err := r.record(ev); err != nil {
					return nil, err
				}
			}
			it.listedAt = now
		}
		for _, le := range l.errs {
			if it := r.st.items[key{k, le.ID}]; le.ID != 0 && (it == nil || !it.phase.moving() && it.phase != phaseFinished) {
				listed[le.ID] = true
				if err := r.record(Event{Type: EventListingError, Kind: k, ID: le.ID, Error: le.Error}); err != nil {
					return nil, err
				}
			}
		}
		var waiting []*item
		for _, it := range r.st.items {
			if it.c.Kind != k || it.phase != phaseWaiting {
				continue
			}
			switch {
			case listed[it.c.ID]:
			case k == KindProject && len(l.errs) == 0:
				// A whole keyset listing that does not show it: it left.
				ev := r.event(it, EventGone)
				ev.Reason = string(ReasonLeftSource)
				if err := r.record(ev); err != nil {
					return nil, err
				}
				continue
			default:
				// Offset listings shift: only a read says it left.
				it.listedAt = time.Time{}
			}
			waiting = append(waiting, it)
		}
		slices.SortStableFunc(waiting, func(a, b *item) int { return r.compare(a.c, b.c) })
		queue = append(queue, waiting...)
	}
	return queue, nil
}

// reopens says whether a container listed on From waits to be scheduled
// again: one a listing could not show, one that left From and came back,
// and any outcome of an earlier run.
func (r *runner) reopens(it *item) bool {
	switch {
	case it.phase == phaseUnknown, it.phase == phaseGone:
		return true
	case it.phase.done():
		return it.doneIn < r.st.run
	}
	return false
}

// process schedules the queue with at most MaxRunning moves running and
// follows them until none is left to wait for.
func (r *runner) process(ctx context.Context, queue []*item) error {
	r.queue = queue
	pause := r.o.PollInterval
	for {
		if err := r.fill(ctx); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		waiting := r.st.count[phaseWaiting] // every one is in the queue
		// Done when nothing is left to follow and nothing waits, or what
		// waits cannot have a slot: stuck moves hold them all.
		if r.following() == 0 && (waiting == 0 || r.running() >= r.o.MaxRunning) {
			return r.verifyDue(ctx, true)
		}
		if err := r.o.Sleep(ctx, pause); err != nil {
			return err
		}
		ended, err := r.poll(ctx)
		if err != nil {
			return err
		}
		if err := r.heartbeat(); err != nil {
			return err
		}
		if ended {
			pause = r.o.PollInterval
		} else {
			pause = min(2*pause, r.o.MaxPollInterval)
		}
	}
}

// heartbeat tells, when nothing happened for HeartbeatEvery, where the
// run is.
func (r *runner) heartbeat() error {
	if r.o.Now().Sub(r.lastEvent) < r.o.HeartbeatEvery {
		return nil
	}
	p := r.st.progress(r.gl.requests)
	return r.record(Event{Type: EventHeartbeat, Progress: p,
		Reason: fmt.Sprintf("%d moves running, %d waiting, %d moved of %d found", p.Running, p.Waiting, p.Moved, p.Found)})
}

// fill schedules waiting containers while a running slot is free.
func (r *runner) fill(ctx context.Context) error {
	for len(r.queue) > 0 && r.running() < r.o.MaxRunning && ctx.Err() == nil {
		if why := r.schedulingClosed(); why != "" {
			err := r.closeQueue(r.queue, why)
			r.queue = nil
			return err
		}
		it := r.queue[0]
		if it.phase != phaseWaiting {
			r.queue = r.queue[1:]
			continue
		}
		if r.o.Now().Sub(it.listedAt) > r.o.RecheckAfter {
			fresh, err := r.refresh(ctx, it)
			if err != nil || !fresh {
				return err // a read failed and was counted: try again after the next poll
			}
			if it.phase != phaseWaiting {
				continue
			}
		}
		r.queue = r.queue[1:]
		if why := budget(r.o, r.st.moves, r.st.bytes, it.c); why != "" && !it.counted {
			ev := r.event(it, EventSkipped)
			ev.Reason = string(why)
			if err := r.record(ev); err != nil {
				return err
			}
			continue
		}
		if wait := r.lastPOST.Add(r.o.ScheduleInterval).Sub(r.o.Now()); !r.lastPOST.IsZero() && wait > 0 {
			if err := r.o.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		if err := r.schedule(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// schedulingClosed says why no more moves are scheduled: MaxFailures
// reached, or the maintenance window closed.
func (r *runner) schedulingClosed() Reason {
	switch {
	case r.closed != "":
	case r.o.MaxFailures > 0 && r.st.failures >= r.o.MaxFailures:
		r.closed = ReasonMaxFailures
		r.warn(fmt.Sprintf("%d failed attempts reached the limit of failures (%d): no more moves are scheduled; the running ones are followed", r.st.failures, r.o.MaxFailures))
	case !r.o.ScheduleUntil.IsZero() && !r.o.Now().Before(r.o.ScheduleUntil):
		r.closed = ReasonWindow
		r.warn(fmt.Sprintf("the maintenance window closed at %s: no more moves are scheduled; the running ones are followed", r.o.ScheduleUntil.Format(time.RFC3339)))
	}
	return r.closed
}

// closeQueue gives every waiting container of queue its outcome when it
// cannot be scheduled any more: skipped for the limit why, or failed when
// it failed before and a retry was due (MaxFailures).
func (r *runner) closeQueue(queue []*item, why Reason) error {
	for _, it := range queue {
		if it.phase != phaseWaiting {
			continue
		}
		ev := r.event(it, EventSkipped)
		ev.Reason = string(why)
		if why == ReasonMaxFailures && len(it.errors) > 0 && it.run == r.st.run {
			ev = r.event(it, EventFailed)
			ev.Final, ev.Reason = true, string(ReasonBreaker)
		}
		if err := r.record(ev); err != nil {
			return err
		}
	}
	return nil
}

// compare orders two containers of a kind by the drain's Order.
func (r *runner) compare(a, b Container) int {
	switch r.o.Order {
	case OrderSmallestFirst:
		if c := cmp.Compare(a.Size, b.Size); c != 0 {
			return c
		}
	case OrderLargestFirst:
		if c := cmp.Compare(b.Size, a.Size); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ID, b.ID)
}

// budget says which limit keeps c from being scheduled, after moves
// containers of bytes were, or "".
func budget(o Options, moves int, bytes int64, c Container) Reason {
	switch {
	case o.MaxMoves > 0 && moves >= o.MaxMoves:
		return ReasonMaxMoves
	case o.MaxBytes > 0 && bytes+c.Size > o.MaxBytes:
		return ReasonMaxBytes
	}
	return ""
}
