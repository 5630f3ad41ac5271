package drain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

type status int

const (
	statusNew      status = iota // not scheduled (yet), or due for a retry
	statusInFlight               // a move is being followed
	statusMoved                  // verified off the storage
	statusFailed                 // retries used up (or cleanup failed)
	statusNotMoved               // finished but still on the storage
	statusSkipped                // not scheduled in this run: reason
)

type item struct {
	c          Container
	status     status
	reason     Reason
	attempts   int
	errors     []string
	move       int64
	state      gitlabdata.StorageMoveState
	since      time.Time // when state was first seen
	scheduled  time.Time
	intent     bool
	intentAt   time.Time
	stuck      bool
	released   bool
	counted    bool // counted in the MaxMoves and MaxBytes budgets
	knownMoves []int64
	listedAt   time.Time // when a listing last showed it on From
	nextCheck  time.Time // when its move is due to be read again
	finishedAt time.Time // when its move was seen finished
	every      time.Duration
}

type runner struct {
	d        *Drain
	items    map[key]*item
	inflight map[key]*item
	requests int
	failures int
	moves    int   // containers scheduled (budget)
	bytes    int64 // their bytes (budget)
	breaker  bool
	lastPOST time.Time
	warnings []string
	reports  map[Kind]*KindReport
	polls    int
	// unverified are finished moves whose containers wait to be read again.
	unverified map[Kind][]*item
	queued     map[Kind]int // containers waiting to be scheduled
	resumed    bool
	dryRun     bool
}

func (d *Drain) newRunner() *runner {
	r := &runner{d: d, items: map[key]*item{}, inflight: map[key]*item{}, reports: map[Kind]*KindReport{}, unverified: map[Kind][]*item{}, queued: map[Kind]int{}}
	for _, k := range d.opts.Kinds {
		r.reports[k] = &KindReport{Kind: k}
	}
	return r
}

func (r *runner) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.d.opts.Now().UTC()
	}
	ev.DryRun = r.dryRun
	if !r.dryRun && r.d.opts.Journal != nil {
		if err := r.d.opts.Journal.write(ev, ev.Type == EventScheduling); err != nil && ev.Type == EventScheduling {
			// Without the intent on disk a crash could lose the move.
			panic(errJournal{err})
		}
	}
	if r.d.opts.OnEvent != nil {
		r.d.opts.OnEvent(ev)
	}
}

type errJournal struct{ err error }

func (r *runner) warn(msg string) {
	if slices.Contains(r.warnings, msg) {
		return
	}
	r.warnings = append(r.warnings, msg)
	r.emit(Event{Type: EventWarning, Reason: msg})
}

func evFor(it *item, t EventType) Event {
	ev := Event{Type: t, Kind: it.c.Kind, ID: it.c.ID, Path: it.c.Path, Move: it.move, State: it.state, Attempt: it.attempts}
	if it.c.HasSize {
		ev.Size = sizePtr(it.c.Size)
	}
	return ev
}

// Plan is what a run would do, from a dry run.
type Plan struct {
	From string  `json:"from"`
	To   *string `json:"to"`
	// Moves are the containers a run would schedule, in order.
	Moves []Container `json:"moves"`
	// Skipped are those the budgets leave out.
	Skipped       []Remaining    `json:"skipped"`
	Bytes         int64          `json:"bytes"`
	Warnings      []string       `json:"warnings"`
	ListingErrors []ListingError `json:"listing_errors"`
	Requests      int            `json:"requests"`
}

// Plan lists the storage and says what Run would move, in which order,
// how many bytes and to where, applying the budgets. It sends GET requests
// only and writes nothing to the journal.
func (d *Drain) Plan(ctx context.Context) (*Plan, error) {
	r := d.newRunner()
	r.dryRun = true
	p := &Plan{From: d.opts.From, To: d.opts.To}
	if err := r.checkWeights(ctx); err != nil {
		return nil, err
	}
	found, lerrs, err := r.discover(ctx)
	if err != nil {
		return nil, err
	}
	p.ListingErrors = lerrs
	for _, c := range found {
		it := r.items[c.key()]
		if reason := r.budget(it); reason != "" {
			p.Skipped = append(p.Skipped, Remaining{Container: c, Reason: ReasonBudget})
			continue
		}
		r.moves++
		r.bytes += c.Size
		p.Moves = append(p.Moves, c)
		p.Bytes += c.Size
	}
	p.Warnings = r.warnings
	p.Requests = r.requests
	return p, nil
}

// checkWeights reads the storage weights: with no destination From must
// have weight 0; a destination must be a configured storage.
func (r *runner) checkWeights(ctx context.Context) error {
	var settings struct {
		Weights map[string]int `json:"repository_storages_weighted"`
	}
	err := r.call(ctx, func() (*gitlabdata.Response, error) {
		return r.d.c.Do(ctx, http.MethodGet, "application/settings", nil, nil, &settings)
	})
	from, to := r.d.opts.From, r.d.opts.To
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if to == nil {
			r.warn(fmt.Sprintf("no destination: GitLab picks one by weight, and may pick %s itself unless its weight is 0 (the weights could not be read: %v)", from, err))
		}
		return nil
	}
	if _, ok := settings.Weights[from]; !ok && len(settings.Weights) > 0 {
		return fmt.Errorf("drain: storage %q is not configured (storages: %s)", from, names(settings.Weights))
	}
	if to != nil {
		if _, ok := settings.Weights[*to]; !ok && len(settings.Weights) > 0 {
			return fmt.Errorf("drain: destination storage %q is not configured (storages: %s)", *to, names(settings.Weights))
		}
		return nil
	}
	if w := settings.Weights[from]; w > 0 {
		r.warn(fmt.Sprintf("no destination: GitLab picks one by weight, and %s has weight %d, so moves may land back on it (they are reported as not moved); set its weight to 0 first", from, w))
	} else {
		r.warn(fmt.Sprintf("no destination: GitLab picks one by weight (%s has weight 0)", from))
	}
	return nil
}

func names(m map[string]int) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// discover lists every kind on From, in the drain's order, registering
// new containers.
func (r *runner) discover(ctx context.Context) ([]Container, []ListingError, error) {
	var all []Container
	var lerrs []ListingError
	for _, k := range r.d.opts.Kinds {
		found, le, err := r.list(ctx, k, r.d.opts.From)
		lerrs = append(lerrs, le...)
		if err != nil {
			if fatal(err) {
				return nil, nil, fmt.Errorf("drain: listing %ss on %s: %w", k, r.d.opts.From, err)
			}
			r.warn(fmt.Sprintf("cannot list %ss on %s: %v", k, r.d.opts.From, err))
			lerrs = append(lerrs, ListingError{Kind: k, Error: err.Error()})
			continue
		}
		r.sortContainers(found)
		for _, c := range found {
			it, ok := r.items[c.key()]
			if !ok {
				it = &item{c: c}
				r.items[c.key()] = it
				r.emit(evFor(it, EventPlanned))
				r.reports[k].Found++
				r.reports[k].PlannedBytes += c.Size
			} else if c.HasSize {
				it.c.Size, it.c.HasSize = c.Size, true
			}
			it.listedAt = r.d.opts.Now()
		}
		all = append(all, found...)
	}
	return all, lerrs, nil
}

func (r *runner) sortContainers(cs []Container) {
	slices.SortStableFunc(cs, func(a, b Container) int {
		switch r.d.opts.Order {
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
	})
}

// budget says why it must not be scheduled, or "".
func (r *runner) budget(it *item) Reason {
	if it.counted {
		return ""
	}
	o := r.d.opts
	if o.MaxMoves > 0 && r.moves >= o.MaxMoves || o.MaxBytes > 0 && r.bytes+it.c.Size > o.MaxBytes {
		return ReasonBudget
	}
	return ""
}

// Run drains the storage: it resumes the journal's run if there is one,
// then lists, schedules, follows and verifies in rounds until the storage
// is empty or only known failures remain, and lists the storage a last
// time for the report. When ctx ends it stops scheduling, keeps the
// journal consistent (moves in flight stay recorded for the next run) and
// returns the report with an error wrapping ctx.Err().
func (d *Drain) Run(ctx context.Context) (rep *Report, err error) {
	r := d.newRunner()
	defer func() {
		if p := recover(); p != nil {
			je, ok := p.(errJournal)
			if !ok {
				panic(p)
			}
			rep, err = nil, je.err
		}
	}()
	started := d.opts.Now()
	if d.opts.Journal != nil {
		if err := r.replay(d.opts.Journal.Events()); err != nil {
			return nil, err
		}
	}
	ev := Event{Type: EventRunStarted, From: d.opts.From}
	if d.opts.To != nil {
		ev.To = *d.opts.To
	}
	r.emit(ev)
	if err := r.checkWeights(ctx); err != nil {
		return nil, err
	}
	if err := r.resolveIntents(ctx); err != nil && ctx.Err() == nil {
		return nil, err
	}
	if err := r.adoptUnfinished(ctx); err != nil && ctx.Err() == nil {
		return nil, err
	}
	var final []Container
	var finalErrs []ListingError
	rounds := 0
	for ctx.Err() == nil {
		r.emit(Event{Type: EventRound, Attempt: rounds + 1})
		found, lerrs, err := r.discover(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return nil, err
		}
		var queue []*item
		for _, c := range found {
			if it := r.items[c.key()]; it.status == statusNew && !it.intent {
				queue = append(queue, it)
			}
		}
		if len(r.inflight) == 0 && (len(queue) == 0 || rounds >= d.opts.MaxRounds || r.breaker) {
			final, finalErrs = found, lerrs
			break
		}
		rounds++
		if err := r.process(ctx, queue); err != nil && ctx.Err() == nil {
			return nil, err
		}
		if r.onlyStuck() {
			// Nothing more will finish: list once more and report.
			if f, le, err := r.discover(ctx); err == nil {
				final, finalErrs = f, le
			}
			break
		}
	}
	interrupted := ctx.Err() != nil
	if interrupted {
		r.emit(Event{Type: EventInterrupted, Reason: "stopped: moves in flight stay in the journal"})
		final = nil
		for _, it := range r.items {
			if it.status != statusMoved && !(it.status == statusFailed && r.cleanupFailed(it)) {
				final = append(final, it.c)
			}
		}
		r.sortContainers(final)
	}
	rep = r.report(final, finalErrs, rounds, interrupted, started)
	r.emit(Event{Type: EventRunEnded, Reason: fmt.Sprintf("moved %d, failed %d, stuck %d, remaining %d", rep.Totals.Moved, rep.Totals.Failed, rep.Totals.Stuck, rep.Totals.Remaining)})
	if interrupted {
		return rep, fmt.Errorf("drain: interrupted: %w", context.Cause(ctx))
	}
	return rep, nil
}

func (r *runner) cleanupFailed(it *item) bool {
	return it.state == gitlabdata.StorageMoveStateCleanupFailed
}

// onlyStuck reports whether every move in flight is stuck.
func (r *runner) onlyStuck() bool {
	if len(r.inflight) == 0 {
		return false
	}
	for _, it := range r.inflight {
		if !it.stuck {
			return false
		}
	}
	return true
}

func (r *runner) running() int {
	n := 0
	for _, it := range r.inflight {
		if !(it.stuck && it.released) {
			n++
		}
	}
	return n
}

// process schedules the queue with at most MaxRunning moves running and
// follows them until none is left to wait for.
func (r *runner) process(ctx context.Context, queue []*item) error {
	o := r.d.opts
	pause := o.PollInterval
	for {
		for len(queue) > 0 && r.running() < o.MaxRunning && !r.breaker && ctx.Err() == nil {
			it := queue[0]
			queue = queue[1:]
			if it.status != statusNew {
				continue
			}
			if r.d.opts.Now().Sub(it.listedAt) > recheckAfter {
				if err := r.recheck(ctx, it, queue); err != nil {
					return err
				}
				if it.status != statusNew {
					continue
				}
			}
			if reason := r.budget(it); reason != "" {
				it.status, it.reason = statusSkipped, reason
				ev := evFor(it, EventSkipped)
				ev.Reason = "budget: " + r.budgetText()
				r.emit(ev)
				continue
			}
			if wait := r.lastPOST.Add(o.ScheduleInterval).Sub(o.Now()); !r.lastPOST.IsZero() && wait > 0 {
				if err := o.Sleep(ctx, wait); err != nil {
					return err
				}
			}
			if err := r.schedule(ctx, it); err != nil {
				return err
			}
			if it.status == statusNew { // failed to schedule, retry due
				queue = append(queue, it)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.breaker {
			for _, it := range queue {
				if it.status == statusNew {
					it.status, it.reason = statusSkipped, ReasonBreaker
					ev := evFor(it, EventSkipped)
					ev.Reason = fmt.Sprintf("breaker: %d failed moves", r.failures)
					r.emit(ev)
				}
			}
			queue = nil
		}
		pending := 0
		clear(r.queued)
		for _, it := range queue {
			if it.status == statusNew {
				pending++
				r.queued[it.c.Kind]++
			}
		}
		if len(r.inflight) == 0 && pending == 0 || r.onlyStuck() && (pending == 0 || r.running() >= o.MaxRunning) {
			return r.verifyDue(ctx, true)
		}
		if err := o.Sleep(ctx, pause); err != nil {
			return err
		}
		changed, retry, err := r.poll(ctx)
		if err != nil {
			return err
		}
		queue = append(retry, queue...)
		if changed {
			pause = o.PollInterval
		} else {
			pause = min(2*pause, o.MaxPollInterval)
		}
	}
}

// recheckAfter is how old a listing may be when its container is
// scheduled: a container that left the storage meanwhile (moved by
// someone else, or by a move that was already under way) must not be
// moved again.
const recheckAfter = 10 * time.Second

// recheck lists again the part of the storage that holds it and the next
// containers of its kind in the queue (up to 50).
func (r *runner) recheck(ctx context.Context, it *item, queue []*item) error {
	batch := []*item{it}
	for _, o := range queue {
		if len(batch) == 50 {
			break
		}
		if o.c.Kind == it.c.Kind && o.status == statusNew {
			batch = append(batch, o)
		}
	}
	var found []Container
	var lerrs []ListingError
	var err error
	if it.c.Kind == KindProject {
		lo, hi := it.c.ID, it.c.ID
		for _, o := range batch {
			lo, hi = min(lo, o.c.ID), max(hi, o.c.ID)
		}
		found, lerrs, err = r.listProjects(ctx, r.d.opts.From, lo-1, hi+1)
	} else {
		found, lerrs, err = r.list(ctx, it.c.Kind, r.d.opts.From)
	}
	if err != nil {
		if fatal(err) {
			return err
		}
		return nil // schedule on the older listing
	}
	present := map[int64]bool{}
	for _, c := range found {
		present[c.ID] = true
	}
	for _, le := range lerrs {
		present[le.ID] = true
	}
	now := r.d.opts.Now()
	for _, o := range batch {
		if present[o.c.ID] {
			o.listedAt = now
			continue
		}
		o.status, o.reason = statusSkipped, ReasonGone
		ev := evFor(o, EventSkipped)
		ev.Reason = "no longer on " + r.d.opts.From
		r.emit(ev)
	}
	return nil
}

func (r *runner) budgetText() string {
	o := r.d.opts
	if o.MaxMoves > 0 && r.moves >= o.MaxMoves {
		return fmt.Sprintf("%d moves scheduled (-max-moves %d)", r.moves, o.MaxMoves)
	}
	return fmt.Sprintf("%d bytes scheduled, the limit is %d", r.bytes, o.MaxBytes)
}

// schedule asks GitLab to move it. A container already moving is
// re-attached to its move.
func (r *runner) schedule(ctx context.Context, it *item) error {
	o := r.d.opts
	ops := r.d.ops[it.c.Kind]
	it.intent, it.intentAt = true, o.Now()
	intent := evFor(it, EventScheduling)
	intent.Move, intent.State, intent.Attempt = 0, "", it.attempts+1
	r.emit(intent)
	// The call is not cut short by ctx, so that its answer reaches the
	// journal; it has its own deadline.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var m *gitlabdata.RepositoryStorageMove
	r.lastPOST = o.Now()
	err := r.call(pctx, func() (*gitlabdata.Response, error) {
		var resp *gitlabdata.Response
		var err error
		m, resp, err = ops.schedule(pctx, it.c.ID, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: o.To})
		return resp, err
	})
	r.lastPOST = o.Now()
	it.intent = false
	if err == nil {
		r.adopt(it, m, EventScheduled, "")
		return nil
	}
	if fatal(err) && !errors.Is(err, gitlabdata.ErrInvalidArgument) {
		return err
	}
	if alreadyMoving(err) {
		moves, _, lerr := ops.forContainer(ctx, it.c.ID)
		r.requests++
		if lerr == nil {
			for _, mv := range moves {
				if !mv.State.Terminal() {
					r.adopt(it, mv, EventReattached, "already moving")
					return nil
				}
			}
		}
		it.status, it.reason = statusSkipped, ReasonReadOnly
		ev := evFor(it, EventSkipped)
		ev.Reason, ev.Error = "read-only with no move in flight", err.Error()
		r.emit(ev)
		r.reports[it.c.Kind].Skipped++
		return nil
	}
	// The schedule call failed: a failed attempt.
	it.attempts++
	r.fail(it, err.Error(), nil)
	return nil
}

// adopt starts following move m of it.
func (r *runner) adopt(it *item, m *gitlabdata.RepositoryStorageMove, t EventType, reason string) {
	now := r.d.opts.Now()
	if t == EventScheduled {
		it.attempts++
		if it.attempts > 1 {
			r.reports[it.c.Kind].Retried++
		}
	} else {
		r.reports[it.c.Kind].Reattached++
	}
	if !it.counted {
		it.counted = true
		r.moves++
		r.bytes += it.c.Size
	}
	it.status, it.move, it.state, it.since, it.scheduled = statusInFlight, m.ID, m.State, now, now
	it.stuck, it.released = false, false
	it.knownMoves = append(it.knownMoves, m.ID)
	r.inflight[it.c.key()] = it
	ev := evFor(it, t)
	ev.From, ev.To, ev.Reason = m.SourceStorageName, m.DestinationStorageName, reason
	r.emit(ev)
}

// fail records a failed attempt; the item is retried unless retries are
// used up.
func (r *runner) fail(it *item, msg string, m *gitlabdata.RepositoryStorageMove) {
	r.failures++
	it.errors = append(it.errors, msg)
	delete(r.inflight, it.c.key())
	final := it.attempts > r.d.opts.Retries || m != nil && m.State == gitlabdata.StorageMoveStateCleanupFailed
	ev := evFor(it, EventFailed)
	ev.Error, ev.Final = msg, final
	if m != nil {
		ev.From, ev.To = m.SourceStorageName, m.DestinationStorageName
	}
	ev.Duration = r.d.opts.Now().Sub(it.scheduled)
	if final {
		it.status = statusFailed
	} else {
		it.status = statusNew
	}
	r.emit(ev)
	if r.d.opts.MaxFailures > 0 && r.failures >= r.d.opts.MaxFailures && !r.breaker {
		r.breaker = true
		r.warn(fmt.Sprintf("breaker: %d failed moves (-max-failures %d): no more moves are scheduled", r.failures, r.d.opts.MaxFailures))
	}
}

// alreadyMoving recognises GitLab's 400 for a read-only repository, which
// it answers while a move of it is under way.
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

// poll reads the moves in flight (one newest-first listing per kind),
// settles those that ended, verifies the finished ones, and runs the
// watchdog. It returns the items due for a retry.
func (r *runner) poll(ctx context.Context) (changed bool, retry []*item, err error) {
	o := r.d.opts
	r.polls++
	for _, k := range o.Kinds {
		// Moves that have not changed for a while are due less often;
		// the listing below shows the newest ones for free.
		want := map[int64]*item{}
		all := map[int64]*item{}
		oldest := int64(0)
		now := o.Now()
		for _, it := range r.inflight {
			if it.c.Kind != k {
				continue
			}
			all[it.move] = it
			if !now.Before(it.nextCheck) {
				want[it.move] = it
				if oldest == 0 || it.move < oldest {
					oldest = it.move
				}
			}
		}
		if len(want) == 0 {
			continue
		}
		seen := map[int64]bool{}
		n := 0
		r.requests++
		for m, err := range r.d.ops[k].recent(ctx) {
			if err != nil {
				if fatal(err) {
					return changed, retry, err
				}
				break // the moves not seen are read one by one
			}
			n++
			if n%100 == 1 && n > 1 {
				r.requests++
			}
			if it, ok := all[m.ID]; ok && !seen[m.ID] {
				seen[m.ID] = true
				c, rt := r.observe(it, m.RepositoryStorageMove)
				changed = changed || c
				if rt {
					retry = append(retry, it)
				}
			}
			if len(seen) == len(all) || m.ID <= oldest || n >= 200 {
				break
			}
		}
		for id, it := range want {
			if seen[id] {
				continue
			}
			var m *gitlabdata.RepositoryStorageMove
			err := r.call(ctx, func() (*gitlabdata.Response, error) {
				var resp *gitlabdata.Response
				var err error
				m, resp, err = r.d.ops[k].get(ctx, id)
				return resp, err
			})
			if err != nil {
				if fatal(err) {
					return changed, retry, err
				}
				continue // try again at the next poll
			}
			c, rt := r.observe(it, m)
			changed = changed || c
			if rt {
				retry = append(retry, it)
			}
		}
	}
	return changed, retry, r.verifyDue(ctx, false)
}

// verifyBatch is how many finished moves of a kind wait for one
// verification listing, unless no other move of the kind is running.
const verifyBatch = 25

// verifyDue verifies the finished containers of each kind in batches;
// all of them when all is set.
func (r *runner) verifyDue(ctx context.Context, all bool) error {
	for _, k := range r.d.opts.Kinds {
		done := r.unverified[k]
		if len(done) == 0 {
			continue
		}
		running := 0
		for _, it := range r.inflight {
			if it.c.Kind == k && !it.stuck {
				running++
			}
		}
		if all || running == 0 && r.queued[k] == 0 || len(done) >= verifyBatch {
			r.unverified[k] = nil
			if err := r.verify(ctx, k, done); err != nil {
				return err
			}
		}
	}
	return nil
}

// observe applies what GitLab says of move m of it.
func (r *runner) observe(it *item, m *gitlabdata.RepositoryStorageMove) (changed, retry bool) {
	now := r.d.opts.Now()
	if m.State != it.state {
		it.state, it.since, changed = m.State, now, true
		if it.stuck {
			it.stuck, it.released = false, false
		}
	}
	// Read a move that does not change less and less often.
	if changed || it.every == 0 {
		it.every = r.d.opts.PollInterval
	} else if now.Sub(it.since) > 4*r.d.opts.MaxPollInterval {
		it.every = min(2*it.every, r.d.opts.MaxPollInterval)
	}
	it.nextCheck = now.Add(it.every)
	switch m.State {
	case gitlabdata.StorageMoveStateFinished:
		it.finishedAt = now
		delete(r.inflight, it.c.key())
		ev := evFor(it, EventFinished)
		ev.From, ev.To = m.SourceStorageName, m.DestinationStorageName
		r.emit(ev)
		r.unverified[it.c.Kind] = append(r.unverified[it.c.Kind], it)
		return true, false
	case gitlabdata.StorageMoveStateFailed, gitlabdata.StorageMoveStateCleanupFailed:
		msg := string(m.State)
		if m.ErrorMessage != nil && *m.ErrorMessage != "" {
			msg = *m.ErrorMessage
		}
		if m.State == gitlabdata.StorageMoveStateCleanupFailed {
			msg = "cleanup failed (the old copy was left behind): " + msg
		}
		r.fail(it, msg, m)
		return true, it.status == statusNew && !r.breaker
	case gitlabdata.StorageMoveStateInitial, gitlabdata.StorageMoveStateScheduled, gitlabdata.StorageMoveStateStarted:
		if !it.stuck && now.Sub(it.since) > r.d.opts.StuckAfter {
			it.stuck = true
			ev := evFor(it, EventStuck)
			since := it.since.UTC()
			ev.Since = &since
			ev.Reason = fmt.Sprintf("in state %q for %s", it.state, now.Sub(it.since).Round(time.Second))
			r.emit(ev)
			if r.d.opts.ReleaseStuck {
				it.released = true
				r.emit(evFor(it, EventReleased))
			}
			return true, false
		}
	}
	return changed, false
}

// verify reads the finished containers again: those still on From did
// not move.
func (r *runner) verify(ctx context.Context, k Kind, done []*item) error {
	still := map[int64]bool{}
	unknown := map[int64]bool{}
	if k == KindProject {
		slices.SortFunc(done, func(a, b *item) int { return cmp.Compare(a.c.ID, b.c.ID) })
		for start := 0; start < len(done); {
			end := start + 1
			// Grow the window while few known projects in it are
			// expected on From, so that one page answers it.
			for end < len(done) && r.expectedOn(k, done[start].c.ID, done[end].c.ID) < 90 {
				end++
			}
			lo, hi := done[start].c.ID, done[end-1].c.ID
			found, lerrs, err := r.listProjects(ctx, r.d.opts.From, lo-1, hi+1)
			if err != nil {
				return err
			}
			for _, c := range found {
				still[c.ID] = true
			}
			for _, le := range lerrs {
				unknown[le.ID] = true
			}
			start = end
		}
	} else {
		found, lerrs, err := r.list(ctx, k, r.d.opts.From)
		if err != nil && fatal(err) {
			return err
		}
		if err != nil || len(lerrs) > 0 {
			for _, it := range done {
				unknown[it.c.ID] = true
			}
		}
		for _, c := range found {
			still[c.ID] = true
		}
	}
	now := r.d.opts.Now()
	kr := r.reports[k]
	for _, it := range done {
		took := now.Sub(it.scheduled)
		if !it.finishedAt.IsZero() {
			took = it.finishedAt.Sub(it.scheduled)
		}
		ev := Event{Kind: k, ID: it.c.ID, Path: it.c.Path, Move: it.move, State: it.state, Attempt: it.attempts, From: r.d.opts.From, Duration: took}
		if it.c.HasSize {
			ev.Size = sizePtr(it.c.Size)
		}
		switch {
		case unknown[it.c.ID]:
			it.status, it.reason = statusSkipped, ReasonUnknown
			ev.Type, ev.Reason = EventSkipped, "finished, but it could not be read again"
		case still[it.c.ID]:
			it.status = statusNotMoved
			ev.Type, ev.Reason = EventNotMoved, "the move finished but the repository is still on "+r.d.opts.From
		default:
			it.status = statusMoved
			it.c.Storage = ""
			ev.Type = EventMoved
			kr.durations = append(kr.durations, took)
		}
		r.emit(ev)
	}
	return nil
}

// expectedOn counts the known containers of k with ids in [lo, hi] that
// may still be on From.
func (r *runner) expectedOn(k Kind, lo, hi int64) int {
	n := 0
	for key, it := range r.items {
		if key.kind == k && key.id >= lo && key.id <= hi && it.status != statusMoved {
			n++
		}
	}
	return n
}

// resolveIntents settles the containers whose schedule call was sent but
// whose answer the journal lacks (a crash in between): a move of it
// created since then is followed; otherwise it is scheduled again.
func (r *runner) resolveIntents(ctx context.Context) error {
	for _, it := range r.sortedItems() {
		if !it.intent {
			continue
		}
		var moves []*gitlabdata.RepositoryStorageMove
		err := r.call(ctx, func() (*gitlabdata.Response, error) {
			var resp *gitlabdata.Response
			var err error
			moves, resp, err = r.d.ops[it.c.Kind].forContainer(ctx, it.c.ID)
			return resp, err
		})
		if err != nil {
			return fmt.Errorf("drain: reading the moves of %s %d after a crash: %w", it.c.Kind, it.c.ID, err)
		}
		it.intent = false
		for _, m := range moves { // newest first
			if slices.Contains(it.knownMoves, m.ID) || m.CreatedAt.Before(it.intentAt.Add(-2*time.Minute)) {
				break
			}
			r.adopt(it, m, EventScheduled, "recovered: scheduled just before the previous run stopped")
			break
		}
	}
	return nil
}

// adoptUnfinished follows the moves off From that are already under way
// (scheduled by someone else, or by an earlier run without a journal):
// they count against MaxRunning, and their containers are not scheduled
// again. It reads the newest 200 moves of each kind.
func (r *runner) adoptUnfinished(ctx context.Context) error {
	for _, k := range r.d.opts.Kinds {
		n := 0
		r.requests++
		for m, err := range r.d.ops[k].recent(ctx) {
			if err != nil {
				if fatal(err) {
					return err
				}
				r.warn(fmt.Sprintf("cannot list the %s moves under way: %v", k, err))
				break
			}
			if n++; n > 200 {
				break
			}
			if n%100 == 1 && n > 1 {
				r.requests++
			}
			if m.State.Terminal() || m.SourceStorageName != r.d.opts.From || m.container == 0 {
				continue
			}
			kk := key{k, m.container}
			it := r.items[kk]
			if it == nil {
				it = &item{c: Container{Kind: k, ID: m.container, Path: m.path, Storage: r.d.opts.From}}
				r.items[kk] = it
				r.emit(evFor(it, EventPlanned))
				r.reports[k].Found++
			}
			if it.status == statusInFlight || it.status == statusMoved {
				continue
			}
			r.adopt(it, m.RepositoryStorageMove, EventReattached, "already moving when the drain started")
		}
	}
	return nil
}

func (r *runner) sortedItems() []*item {
	out := make([]*item, 0, len(r.items))
	for _, it := range r.items {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *item) int {
		if c := cmp.Compare(a.c.Kind, b.c.Kind); c != 0 {
			return c
		}
		return cmp.Compare(a.c.ID, b.c.ID)
	})
	return out
}

// replay rebuilds the state of an earlier run from its journal.
func (r *runner) replay(events []Event) error {
	for _, ev := range events {
		if ev.Type == EventRunStarted {
			r.resumed = true
			if ev.From != r.d.opts.From {
				return fmt.Errorf("drain: the journal is of a drain of %q, not %q", ev.From, r.d.opts.From)
			}
			continue
		}
		if ev.Kind == "" || ev.ID == 0 {
			continue
		}
		k := key{ev.Kind, ev.ID}
		it := r.items[k]
		if it == nil {
			it = &item{c: Container{Kind: ev.Kind, ID: ev.ID, Path: ev.Path, Storage: r.d.opts.From}}
			if ev.Size != nil {
				it.c.Size, it.c.HasSize = *ev.Size, true
			}
			r.items[k] = it
			if kr := r.reports[ev.Kind]; kr != nil {
				kr.Found++
				kr.PlannedBytes += it.c.Size
			}
		}
		kr := r.reports[ev.Kind]
		if kr == nil {
			kr = &KindReport{}
		}
		switch ev.Type {
		case EventScheduling:
			it.intent, it.intentAt = true, ev.Time
		case EventScheduled, EventReattached:
			it.intent = false
			it.status, it.move, it.state, it.scheduled, it.since = statusInFlight, ev.Move, ev.State, ev.Time, ev.Time
			it.knownMoves = append(it.knownMoves, ev.Move)
			if ev.Type == EventScheduled {
				it.attempts = max(it.attempts, ev.Attempt)
				if ev.Attempt > 1 {
					kr.Retried++
				}
			} else {
				kr.Reattached++
			}
			if !it.counted {
				it.counted = true
				r.moves++
				r.bytes += it.c.Size
			}
			r.inflight[k] = it
		case EventMoved:
			it.status = statusMoved
			delete(r.inflight, k)
		case EventNotMoved:
			it.status = statusNotMoved
			delete(r.inflight, k)
		case EventFailed:
			it.intent = false
			r.failures++
			it.errors = append(it.errors, ev.Error)
			it.attempts = max(it.attempts, ev.Attempt)
			it.state = ev.State
			delete(r.inflight, k)
			if ev.Final {
				it.status = statusFailed
			} else {
				it.status = statusNew
			}
		}
	}
	return nil
}

// report builds the final report from the items and the final listing.
func (r *runner) report(final []Container, lerrs []ListingError, rounds int, interrupted bool, started time.Time) *Report {
	o := r.d.opts
	rep := &Report{From: o.From, To: o.To, Rounds: rounds, Interrupted: interrupted, Resumed: r.resumed,
		Started: started.UTC(), ListingErrors: lerrs, Warnings: r.warnings, Remaining: []Remaining{}, Stuck: []StuckMove{}}
	for _, it := range r.sortedItems() {
		kr := r.reports[it.c.Kind]
		if kr == nil {
			continue
		}
		switch it.status {
		case statusMoved:
			kr.Moved++
			kr.Bytes += it.c.Size
		case statusFailed:
			kr.Failed++
		case statusNotMoved:
			kr.NotMoved++
		case statusSkipped:
			if it.reason == ReasonBudget || it.reason == ReasonBreaker {
				kr.Skipped++
			}
		case statusInFlight:
			if it.stuck {
				kr.Stuck++
				rep.Stuck = append(rep.Stuck, StuckMove{Container: it.c, Move: it.move, State: string(it.state), Since: it.since.UTC()})
			}
		}
	}
	for _, c := range final {
		it := r.items[c.key()]
		rem := Remaining{Container: c, Reason: ReasonUnknown}
		if it != nil {
			rem.Move, rem.Errors = it.move, it.errors
			switch it.status {
			case statusFailed:
				rem.Reason = ReasonFailed
			case statusNotMoved:
				rem.Reason = ReasonNotMoved
			case statusSkipped:
				rem.Reason = it.reason
			case statusInFlight:
				rem.Reason = ReasonInFlight
				if it.stuck {
					rem.Reason = ReasonStuck
				}
			case statusMoved:
				rem.Reason = ReasonNotMoved // moved, yet listed on From again
			}
		}
		if kr := r.reports[c.Kind]; kr != nil {
			kr.Remaining++
		}
		rep.Remaining = append(rep.Remaining, rem)
	}
	for _, le := range lerrs {
		if le.ID != 0 {
			if _, listed := r.items[key{le.Kind, le.ID}]; !listed || !slices.ContainsFunc(final, func(c Container) bool { return c.key() == key{le.Kind, le.ID} }) {
				rep.Remaining = append(rep.Remaining, Remaining{Container: Container{Kind: le.Kind, ID: le.ID, Storage: o.From}, Reason: ReasonUnknown, Errors: []string{le.Error}})
				if kr := r.reports[le.Kind]; kr != nil {
					kr.Remaining++
				}
			}
		}
	}
	rep.Totals.Kind = "all"
	for _, k := range o.Kinds {
		kr := r.reports[k]
		kr.finish()
		rep.Kinds = append(rep.Kinds, kr)
		rep.Totals.add(kr)
	}
	rep.Totals.finish()
	rep.Requests = r.requests
	rep.Elapsed = o.Now().Sub(started)
	return rep
}

// sizePtr returns a pointer to a copy of n, for Event.Size.
func sizePtr(n int64) *int64 { return &n }
