package moves

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

// runner is one Run or Preview of a Mover.
type runner struct {
	o    Options
	c    *gitlabdata.Client
	gl   *gitlab
	st   *state
	dry  bool
	plan *Plan
	// empty is the storage emptied (Plan.Empty), or nil for moves.
	empty *Empty
	name  string // "drain" or "moves", in errors
	bp    pressure

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
	listings      int              // rounds of listing the storage, or of planning
	failedInRound []Container      // containers that failed for good in this round (Plan.Replan)
}

func (m *Mover) newRunner(dry bool) *runner {
	from, to := "", ""
	if e := m.plan.Empty; e != nil {
		from = e.From
		if e.To != nil {
			to = *e.To
		}
	}
	r := &runner{o: m.opts, c: m.c, st: newState(from, to), dry: dry, plan: m.plan, empty: m.plan.Empty, name: m.name,
		listed: map[Kind]int{}, broken: map[int64]string{}}
	r.gl = newGitLab(m.c, &r.o)
	r.gl.doer = "run"
	if r.empty != nil {
		r.gl.doer = "drain"
	}
	r.bp.limit = r.o.MaxRunning
	r.started = r.o.Now()
	r.lastEvent = r.started
	return r
}

// kinds are the kinds of containers the run moves, in order.
func (r *runner) kinds() []Kind {
	if r.empty != nil {
		return r.empty.Kinds
	}
	var out []Kind
	for _, k := range Kinds() {
		if slices.ContainsFunc(r.plan.Moves, func(m Move) bool { return m.Kind == k }) {
			out = append(out, k)
		}
	}
	return out
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

// to is the destination of a storage emptied; "" lets GitLab pick.
func (r *runner) to() string {
	if r.empty == nil || r.empty.To == nil {
		return ""
	}
	return *r.empty.To
}

// from is the storage emptied, or "" for moves.
func (r *runner) from() string {
	if r.empty == nil {
		return ""
	}
	return r.empty.From
}

// run is Mover.Run.
func (r *runner) run(ctx context.Context) (*Report, error) {
	started := r.o.Now()
	if err := r.resume(); err != nil {
		return nil, err
	}
	if err := r.record(Event{Type: EventRunStarted, From: r.from(), To: r.to()}); err != nil {
		return nil, err
	}
	_, err := r.work(ctx)
	end := ReasonHalted
	var halt *HaltError
	switch {
	case ctx.Err() != nil:
		end = ReasonInterrupted
		r.settle(ctx)
		_ = r.record(Event{Type: EventInterrupted, Reason: "stopped: moves in flight stay in the journal"})
	case err != nil:
		_ = r.record(Event{Type: EventInterrupted, Reason: strings.TrimPrefix(err.Error(), "moves: ")})
	}
	rep := r.report(end, r.listings, started)
	rep.Interrupted = ctx.Err() != nil
	if errors.As(err, &halt) {
		rep.Halted = strings.TrimPrefix(halt.Error(), "moves: ")
	}
	t := rep.Totals
	_ = r.record(Event{Type: EventRunEnded, Progress: r.st.progress(r.gl.requests),
		Reason: fmt.Sprintf("found %d: moved %d, failed %d, stuck %d, not moved %d, skipped %d, not attempted %d, gone %d, unknown %d",
			t.Found, t.Moved, t.Failed, t.Stuck, t.NotMoved, t.Skipped, t.NotAttempted, t.Gone, t.Unknown)})
	if ctx.Err() != nil {
		return rep, fmt.Errorf("moves: interrupted: %w", context.Cause(ctx))
	}
	return rep, err
}

// trimPackage drops the package that starts an error message.
func trimPackage(msg string) string {
	for _, p := range []string{"moves: ", "drain: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
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

// resume replays the journal, checks that it is this run's, and writes
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
		if ev.Type == EventRunStarted && ev.From != r.from() && otherFrom == "" {
			otherFrom = ev.From
		}
		r.st.apply(ev)
	})
	if err != nil {
		return err
	}
	instance := r.c.BaseURL()
	if r.empty == nil {
		digest := r.plan.Digest()
		switch {
		case j.n > 0 && (header == nil || header.Plan == ""):
			return fmt.Errorf("%s: journal %s is not of a plan of moves: give this run its own journal", r.name, j.name)
		case header != nil && (header.Instance != instance || header.Plan != digest):
			return fmt.Errorf("%s: journal %s is of another plan (%s on %s), not of this one (%s on %s): resume a journal with the plan that wrote it, or give this run its own journal",
				r.name, j.name, header.Plan, header.Instance, digest, instance)
		case j.n == 0:
			return r.record(Event{Type: EventHeader, Instance: instance, Plan: digest, Kinds: r.kinds()})
		}
		return nil
	}
	from := r.empty.From
	switch {
	case header != nil && header.Plan != "":
		return fmt.Errorf("%s: journal %s is of a plan of moves, not of a drain of %q: give this run its own journal", r.name, j.name, from)
	case header != nil && (header.Instance != instance || header.From != from):
		return fmt.Errorf("%s: journal %s is of a drain of %q on %s, not of %q on %s: give this run its own journal", r.name, j.name, header.From, header.Instance, from, instance)
	case otherFrom != "":
		return fmt.Errorf("%s: journal %s is of a drain of %q, not %q: give this run its own journal", r.name, j.name, otherFrom, from)
	case j.n > 0 && header == nil:
		r.warn(fmt.Sprintf("journal %s has no header (an older version wrote it): it is taken as the drain of %s on %s", j.name, from, instance))
	case j.n == 0:
		return r.record(Event{Type: EventHeader, Instance: instance, From: from, To: r.to(), Kinds: r.empty.Kinds})
	}
	return nil
}

// work is the run after the journal: it checks GitLab and the token,
// settles what an earlier run left unsettled, then schedules and follows
// the moves in rounds (a storage emptied is listed again at each) until a
// round finds nothing left to schedule. It returns the rounds that
// scheduled something.
func (r *runner) work(ctx context.Context) (rounds int, err error) {
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
		queue, err := r.round(ctx, rounds+1)
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
			queue, err := r.round(ctx, rounds+1)
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
	return r.st.count[phaseStuck] > 0 && r.following() == 0 && r.running() >= r.limit()
}

// holds reports whether a move of it holds a running slot.
func (r *runner) holds(it *item) bool {
	switch it.phase {
	case phaseScheduling, phaseRunning:
		return true
	case phaseStuck:
		return !r.o.ReleaseStuck
	}
	return false
}

// destination is where it goes: its move's destination, or the one
// planned ("" when GitLab picks and no move says yet).
func (it *item) destination() string {
	if it.movingTo != "" && it.phase != phaseWaiting {
		return it.movingTo
	}
	return it.dest
}

// roomFor says whether a move of it stays within the bounds on the moves
// running off its source and onto its destination.
func (r *runner) roomFor(it *item) bool {
	perSource, perDest := r.o.MaxRunningPerSource, r.o.MaxRunningPerDestination
	if perSource == 0 && perDest == 0 {
		return true
	}
	from, to := 0, 0
	count := func(o *item) {
		if !r.holds(o) {
			return
		}
		if o.c.Storage == it.c.Storage {
			from++
		}
		if d := it.destination(); d != "" && o.destination() == d {
			to++
		}
	}
	for _, o := range r.st.moving {
		count(o)
	}
	for _, o := range r.st.scheduling {
		count(o)
	}
	return (perSource == 0 || from < perSource) && (perDest == 0 || to < perDest)
}

// discover lists every kind on the storage emptied (round n): containers
// new to the run, or found again, wait to be scheduled. It returns the
// waiting containers in the drain's order.
func (r *runner) discover(ctx context.Context, n int) ([]*item, error) {
	from := r.empty.From
	if err := r.record(Event{Type: EventRound, Attempt: n}); err != nil {
		return nil, err
	}
	r.listings = n
	r.listingErrors = nil
	var queue []*item
	for _, k := range r.empty.Kinds {
		l, err := r.list(ctx, from, k)
		r.listingErrors = append(r.listingErrors, l.errs...)
		if err != nil {
			var h *HaltError
			if errors.As(err, &h) || ctx.Err() != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s: listing %ss on %s: %w", r.name, k, from, err)
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
				ev.Reason, ev.Error = string(ReasonStillOnSource), "verified moved, but listed on "+from+" again"
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
		slices.SortStableFunc(waiting, func(a, b *item) int { return compare(r.empty.Order, a.c, b.c) })
		queue = append(queue, waiting...)
	}
	return queue, nil
}

// reopens says whether a container found again waits to be scheduled
// again: one a listing could not show, one that left its source and came
// back, and any outcome of an earlier run.
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
		if r.following() == 0 && (waiting == 0 || r.running() >= r.limit() || !r.anyRoom()) {
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
		if ended || !r.bp.paused.IsZero() {
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

// scanLimit bounds how far into the queue fill looks for a container
// whose storages have a free slot.
const scanLimit = 1000

// next returns the first waiting container of the queue (within
// scanLimit) whose source and destination have a free slot, and its
// index; nil when none has. It drops the containers at the queue's head
// that no longer wait.
func (r *runner) next() (*item, int) {
	for len(r.queue) > 0 && r.queue[0].phase != phaseWaiting {
		r.queue = r.queue[1:]
	}
	for i, it := range r.queue[:min(len(r.queue), scanLimit)] {
		if it.phase == phaseWaiting && r.roomFor(it) {
			return it, i
		}
	}
	return nil, -1
}

// anyRoom says whether a waiting container has a free slot.
func (r *runner) anyRoom() bool {
	it, _ := r.next()
	return it != nil
}

// fill schedules waiting containers while a running slot is free, and
// Sidekiq is not busy (Options.BackPressure).
func (r *runner) fill(ctx context.Context) error {
	for len(r.queue) > 0 && r.running() < r.limit() && ctx.Err() == nil {
		if why := r.schedulingClosed(); why != "" {
			// The rest of a unit already begun is still moved: a window
			// does not split a fork network.
			keep, closing := r.startedUnits(r.queue)
			r.queue = keep
			if err := r.closeQueue(closing, why); err != nil || len(keep) == 0 {
				return err
			}
		}
		it, i := r.next()
		if it == nil {
			return nil
		}
		if r.o.Now().Sub(it.listedAt) > r.o.RecheckAfter {
			fresh, err := r.refresh(ctx, it)
			if err != nil || !fresh {
				return err // a read failed and was counted: try again after the next poll
			}
			continue // it, or others, may have left: look again
		}
		if why := r.budgetOf(it); why != "" {
			r.queue = slices.Delete(r.queue, i, i+1)
			ev := r.event(it, EventSkipped)
			ev.Reason = string(why)
			if err := r.record(ev); err != nil {
				return err
			}
			continue
		}
		if ok, err := r.calm(ctx); err != nil || !ok {
			return err
		}
		if wait := r.lastPOST.Add(r.o.ScheduleInterval).Sub(r.o.Now()); !r.lastPOST.IsZero() && wait > 0 {
			if err := r.o.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		r.queue = slices.Delete(r.queue, i, i+1)
		if err := r.schedule(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// startedUnits splits queue into the members of units of which a member
// was scheduled (in this run or an earlier one), and the others.
func (r *runner) startedUnits(queue []*item) (started, others []*item) {
	begun := map[string]bool{}
	for _, it := range queue {
		if _, seen := begun[it.unit]; it.unit != "" && !seen {
			begun[it.unit] = slices.ContainsFunc(r.st.units[it.unit], func(o *item) bool { return o.attempts > 0 })
		}
	}
	for _, it := range queue {
		if it.phase == phaseWaiting && begun[it.unit] {
			started = append(started, it)
		} else {
			others = append(others, it)
		}
	}
	return started, others
}

// budgetOf says which limit keeps it from being scheduled, or "": a unit
// is measured whole at its first member, and the rest of a unit begun is
// not held back, so that a budget does not split it.
func (r *runner) budgetOf(it *item) Reason {
	if it.counted {
		return ""
	}
	if it.unit == "" {
		return budget(r.o, r.st.moves, r.st.bytes, it.c)
	}
	whole, members := it.c, 0
	whole.Size = 0
	for _, o := range r.st.units[it.unit] {
		if o.attempts > 0 {
			return "" // begun
		}
		if o.phase == phaseWaiting {
			whole.Size += o.c.Size
			members++
		}
	}
	if why := budget(r.o, r.st.moves+members-1, r.st.bytes, whole); why != "" {
		return why
	}
	return ""
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

// compare orders two containers of a kind by order.
func compare(order Order, a, b Container) int {
	switch order {
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
