// Package moves moves repositories between the Gitaly storages of a GitLab
// instance, safely and at scale. It is the engine under package drain
// (which empties one storage) and package rebalance (which evens out a
// fleet): a [Plan] says what to move, and a [Mover] makes the moves with a
// bound on the moves running at once (in all, per source and per
// destination storage), follows and verifies each one, retries failed
// ones a bounded number of times, reports stuck ones, backs off while
// Sidekiq is busy, and ends every container in exactly one [Outcome].
//
// It is built on package gitlabdata's public API (and on Client.Do for the
// container listings the SDK does not wrap).
//
//	plan := &moves.Plan{Moves: []moves.Move{
//		{Container: moves.Container{Kind: moves.KindProject, ID: 42, Storage: "default"}, To: "storage2"},
//	}}
//	m, err := moves.New(client, plan, moves.Options{MaxRunning: 4, Journal: j})
//	if err != nil {
//		return err
//	}
//	report, err := m.Run(ctx)
//
// # Faults
//
// A run first makes sure it talks to GitLab with an administrator's token
// (GitLab hides repository_storage from anyone else). Every request goes
// through a breaker: 5 failed requests in a row
// (Options.MaxRequestFailures; each as the client returns it, after its
// RetryPolicy's attempts), or more than half of one endpoint's last 20,
// stop the run; a 429 is waited out unless GitLab asks for more than
// Options.MaxRetryAfter. What stops a run is a [*HaltError], whose Error
// is one line: what failed, the request and its status, and what to do.
//
// # Journal and resume
//
// A Mover records every decision and outcome in an optional append-only
// journal (JSON lines, see [Event]); a run on a journal resumes it. The
// journal's first line names the instance and the work (the storage
// emptied, or the digest of the plan), and OpenJournal locks it for the
// run. A schedule call is journaled (and synced) before it is sent; if its
// answer is lost, it is settled by the container's moves: only a move off
// the container's source, to the destination asked for, created no earlier
// than the call (give or take Options.ClockSkew) and not already in the
// journal is its move. A run never schedules a container twice and never
// loses a move in flight.
//
// # Outcomes
//
// Every container of a run ends in exactly one [Outcome], and a report's
// Found is their sum. The run's state is a state machine: one function
// applies each [Event] to it, for the live run and for the journal's
// replay alike.
package moves

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// Kind is a kind of container whose repository lives on a storage.
type Kind string

// The kinds of containers, in the default drain order.
const (
	KindGroupWiki Kind = "group_wiki"
	KindSnippet   Kind = "snippet"
	KindProject   Kind = "project"
)

// Kinds returns the three kinds in the default drain order: group wikis,
// snippets, projects. The slice is new on every call.
func Kinds() []Kind { return []Kind{KindGroupWiki, KindSnippet, KindProject} }

// Order says in which order the containers of one kind on a storage being
// emptied are moved.
type Order string

// Orders. OrderID is the default: it is stable across rounds and resumes,
// and makes the verification listings cheapest.
const (
	OrderID            Order = "id"
	OrderSmallestFirst Order = "smallest"
	OrderLargestFirst  Order = "largest"
)

// Container is one repository on a storage.
type Container struct {
	Kind Kind   `json:"kind"`
	ID   int64  `json:"id"`
	Path string `json:"path,omitempty"`
	// Storage is where GitLab said the repository is: the source of its
	// move.
	Storage string `json:"storage,omitempty"`
	// Size is the repository size in bytes (projects: repository_size);
	// 0 with HasSize false when GitLab gives none (group wikis, snippets).
	Size    int64 `json:"size,omitempty"`
	HasSize bool  `json:"has_size,omitempty"`
}

func (c Container) key() key { return key{c.Kind, c.ID} }

type key struct {
	kind Kind
	id   int64
}

// Move is one planned move: Container (on its Storage) to the storage To.
type Move struct {
	Container
	// To is the destination storage.
	To string `json:"to"`
	// Unit names the containers that move together (a fork network, whose
	// members share an object pool on one storage): when a move of a unit
	// fails for good, the unit's moves not yet scheduled are skipped
	// (ReasonUnitFailed) rather than split the unit further. Empty: the
	// container moves alone.
	Unit string `json:"unit,omitempty"`
}

// Plan is the work of a run: the moves of Moves, in order; or, with Empty
// set, every container on one storage, listed again round after round
// until none is left (what package drain does).
type Plan struct {
	Moves []Move `json:"moves"`
	// Replan, when set, is asked for more moves after a round in which
	// moves failed for good, with the containers that failed (so that it
	// plans around them), at most Options.MaxRounds times in a run. Its
	// moves are journaled like the plan's.
	Replan func(ctx context.Context, failed []Container) ([]Move, error) `json:"-"`
	// Empty, instead of Moves, empties a storage.
	Empty *Empty `json:"-"`
}

// Empty is a storage to empty: every container of Kinds on From, moved to
// To (nil: GitLab picks a storage by weight for each move) in Order.
type Empty struct {
	From  string
	To    *string
	Kinds []Kind
	Order Order
}

// Digest identifies the moves of p, for the journal's header: a journal is
// resumed only with the plan that wrote it. It covers what each move does
// (the container, its source, its destination and its unit), not the sizes
// and paths, which change while a plan waits for its window.
func (p *Plan) Digest() string {
	h := sha256.New()
	for _, m := range p.Moves {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\n", m.Kind, m.ID, m.Storage, m.To, m.Unit)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Options configures a Mover. The zero value is a valid configuration.
type Options struct {
	// MaxRunning bounds the moves that are scheduled but not yet finished
	// or failed, all kinds together. Default 4.
	MaxRunning int
	// MaxRunningPerSource and MaxRunningPerDestination bound the moves
	// running off one storage and onto one storage (0: only MaxRunning
	// bounds them).
	MaxRunningPerSource, MaxRunningPerDestination int
	// ScheduleInterval is the least time between two schedule calls.
	// Default 100ms.
	ScheduleInterval time.Duration
	// PollInterval is the first pause between two polls of the running
	// moves; it doubles while no move ends, up to MaxPollInterval.
	// Defaults 1s and 30s.
	PollInterval, MaxPollInterval time.Duration

	// MaxMoves stops scheduling after this many containers (0: no limit).
	// Retries of a container do not count again. The count includes the
	// containers scheduled by earlier runs on the same journal.
	MaxMoves int
	// MaxBytes skips a container whose size would bring the bytes
	// scheduled above it (0: no limit). A container whose size GitLab
	// does not give (group wikis, snippets) counts as 0 bytes.
	MaxBytes int64
	// MaxFailures stops scheduling after this many failed attempts in a
	// run (0: no limit); a container that failed and is due for a retry
	// then fails for good (ReasonBreaker).
	MaxFailures int
	// Retries is how many times a failed move is scheduled again in a run
	// (GitLab: most failures are temporary). Default 0.
	Retries int
	// ScheduleUntil, when set, closes a maintenance window: no move is
	// scheduled from then on, and the moves running then are followed to
	// their end (the containers left are skipped, ReasonWindow).
	ScheduleUntil time.Time

	// StuckAfter reports a move that stays in initial, scheduled or
	// started longer than this as stuck. Default 1h.
	StuckAfter time.Duration
	// ReleaseStuck lets a stuck move stop holding a running slot. Without
	// it a stuck move keeps its slot, and the run ends (reporting it) once
	// only stuck moves are left to wait for.
	ReleaseStuck bool

	// MaxRounds bounds the rounds of a run: how many times a storage being
	// emptied is listed again while new containers appear, or how many
	// times Plan.Replan is asked. Default 3.
	MaxRounds int
	// RecheckAfter is how old the listing that showed a container on its
	// source may be when it is scheduled; an older one is read again first,
	// so that a container moved meanwhile (by someone else) is not moved
	// again. The moves of a Plan are always read again before their first
	// schedule call. Default 5m.
	RecheckAfter time.Duration

	// BackPressure, when set, pauses scheduling while Sidekiq's queue of
	// the move workers is busy.
	BackPressure *BackPressure

	// MaxRequestFailures stops the run (a *HaltError) after this many
	// GitLab requests failed in a row (each as the client returns it, after
	// its own retries); it also stops when more than half of one
	// endpoint's last 20 requests failed. Default 5.
	MaxRequestFailures int
	// MaxRetryAfter is the longest wait a rate-limited (429) answer may
	// ask for: a longer one stops the run, saying when to run again.
	// Default 60s.
	MaxRetryAfter time.Duration
	// ClockSkew is how far GitLab's clock (read from its Date header) may
	// be off when a schedule call whose answer was lost is matched with
	// the moves GitLab holds. Default 2m.
	ClockSkew time.Duration
	// HeartbeatEvery is how long a run may go without an event before it
	// sends EventHeartbeat. Default 1m.
	HeartbeatEvery time.Duration

	// Journal, if set, receives every event and is read at the start of
	// Run to resume an earlier run.
	Journal *Journal
	// OnEvent, if set, is called for every event, in order, from the
	// goroutine that runs the moves. It should return quickly.
	OnEvent func(Event)

	// Now and Sleep replace the real clock, for tests and simulations.
	// They must agree: after Sleep(d), Now is d later. Sleep must return
	// ctx.Err() when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrInvalidOptions wraps every error of New about its plan or options.
var ErrInvalidOptions = errors.New("moves: invalid options")

// Mover makes the moves of one plan. Create it with New. Preview may be
// called any number of times before Run; Run once.
type Mover struct {
	c    *gitlabdata.Client
	plan *Plan
	opts Options
	// name prefixes errors: "drain" for a storage emptied (package
	// drain's errors stay as they were), else "moves".
	name string
	ran  atomic.Bool
}

// New checks plan and opts and returns a Mover of plan through client.
func New(client *gitlabdata.Client, plan *Plan, opts Options) (*Mover, error) {
	bad := func(format string, a ...any) (*Mover, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, a...)...)
	}
	if client == nil {
		return bad("nil client")
	}
	if plan == nil {
		return bad("nil plan")
	}
	p := *plan
	name := "moves"
	if e := p.Empty; e != nil {
		if len(p.Moves) > 0 {
			return bad("a plan either empties a storage or lists moves, not both")
		}
		ec := *e
		if err := checkEmpty(&ec); err != nil {
			return nil, err
		}
		p.Empty, name = &ec, "drain"
	} else if err := checkMoves(p.Moves); err != nil {
		return nil, err
	}
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	return &Mover{c: client, plan: &p, opts: opts, name: name}, nil
}

func checkEmpty(e *Empty) error {
	if e.From == "" {
		return fmt.Errorf("%w: From (the storage to empty) is required", ErrInvalidOptions)
	}
	if e.To != nil && (*e.To == "" || *e.To == e.From) {
		return fmt.Errorf("%w: destination %q must be another storage than %q", ErrInvalidOptions, *e.To, e.From)
	}
	if len(e.Kinds) == 0 {
		e.Kinds = Kinds()
	}
	e.Kinds = slices.Clone(e.Kinds)
	seen := map[Kind]bool{}
	for _, k := range e.Kinds {
		if !validKind(k) {
			return fmt.Errorf("%w: unknown kind %q (want group_wiki, snippet or project)", ErrInvalidOptions, k)
		}
		if seen[k] {
			return fmt.Errorf("%w: kind %q given twice", ErrInvalidOptions, k)
		}
		seen[k] = true
	}
	switch e.Order {
	case "":
		e.Order = OrderID
	case OrderID, OrderSmallestFirst, OrderLargestFirst:
	default:
		return fmt.Errorf("%w: unknown order %q (want id, smallest or largest)", ErrInvalidOptions, e.Order)
	}
	return nil
}

func validKind(k Kind) bool { return k == KindGroupWiki || k == KindSnippet || k == KindProject }

// checkMoves refuses a plan that would do more than asked: a move without
// its source or destination, onto its own storage, or of a container twice.
func checkMoves(ms []Move) error {
	seen := map[key]bool{}
	for i, m := range ms {
		where := fmt.Sprintf("move %d (%s %d)", i+1, m.Kind, m.ID)
		switch {
		case !validKind(m.Kind):
			return fmt.Errorf("%w: %s: unknown kind %q", ErrInvalidOptions, where, m.Kind)
		case m.ID <= 0:
			return fmt.Errorf("%w: %s: no container id", ErrInvalidOptions, where)
		case m.Storage == "":
			return fmt.Errorf("%w: %s: no source storage (Container.Storage)", ErrInvalidOptions, where)
		case m.To == "":
			return fmt.Errorf("%w: %s: no destination storage", ErrInvalidOptions, where)
		case m.To == m.Storage:
			return fmt.Errorf("%w: %s: its destination %q is its own storage", ErrInvalidOptions, where, m.To)
		case seen[m.key()]:
			return fmt.Errorf("%w: %s: the container is moved twice", ErrInvalidOptions, where)
		}
		seen[m.key()] = true
	}
	return nil
}

func checkOptions(opts *Options) error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxRunning", int64(opts.MaxRunning)}, {"MaxRunningPerSource", int64(opts.MaxRunningPerSource)},
		{"MaxRunningPerDestination", int64(opts.MaxRunningPerDestination)}, {"MaxMoves", int64(opts.MaxMoves)}, {"MaxBytes", opts.MaxBytes},
		{"MaxFailures", int64(opts.MaxFailures)}, {"Retries", int64(opts.Retries)}, {"MaxRounds", int64(opts.MaxRounds)},
		{"ScheduleInterval", int64(opts.ScheduleInterval)}, {"PollInterval", int64(opts.PollInterval)},
		{"MaxPollInterval", int64(opts.MaxPollInterval)}, {"StuckAfter", int64(opts.StuckAfter)},
		{"RecheckAfter", int64(opts.RecheckAfter)}, {"MaxRequestFailures", int64(opts.MaxRequestFailures)},
		{"MaxRetryAfter", int64(opts.MaxRetryAfter)}, {"ClockSkew", int64(opts.ClockSkew)}, {"HeartbeatEvery", int64(opts.HeartbeatEvery)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative", ErrInvalidOptions, f.name)
		}
	}
	if bp := opts.BackPressure; bp != nil {
		c := *bp
		if err := c.check(); err != nil {
			return err
		}
		opts.BackPressure = &c
	}
	defaults := []struct {
		p *time.Duration
		d time.Duration
	}{
		{&opts.ScheduleInterval, 100 * time.Millisecond}, {&opts.PollInterval, time.Second}, {&opts.MaxPollInterval, 30 * time.Second},
		{&opts.StuckAfter, time.Hour}, {&opts.RecheckAfter, 5 * time.Minute}, {&opts.MaxRetryAfter, time.Minute},
		{&opts.ClockSkew, 2 * time.Minute}, {&opts.HeartbeatEvery, time.Minute},
	}
	for _, d := range defaults {
		if *d.p == 0 {
			*d.p = d.d
		}
	}
	if opts.MaxRunning == 0 {
		opts.MaxRunning = 4
	}
	if opts.MaxRounds == 0 {
		opts.MaxRounds = 3
	}
	if opts.MaxRequestFailures == 0 {
		opts.MaxRequestFailures = 5
	}
	opts.MaxPollInterval = max(opts.MaxPollInterval, opts.PollInterval)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Preview says what Run would move, in which order, how many bytes and to
// where, applying the budgets: for a storage to empty, from a listing of
// it; for moves, from the plan (read again on GitLab). It sends GET
// requests only and writes nothing to the journal. It first makes sure it
// talks to GitLab with an administrator's token (a *HaltError otherwise).
func (m *Mover) Preview(ctx context.Context) (*Preview, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%s: Preview needs a context, not nil", m.name)
	}
	if m.ran.Load() {
		return nil, fmt.Errorf("%s: Preview after Run: a run is previewed before it runs", m.name)
	}
	return m.newRunner(true).preview(ctx)
}

// Run makes the moves: it resumes the journal's run if there is one, then
// schedules, follows and verifies in rounds until nothing is left to move
// or only known failures remain. It runs once per Mover, and one run per
// instance and source storage may be in progress on a machine.
//
// When ctx ends it stops at once, keeping the journal consistent (moves in
// flight stay recorded for the next run), and returns the report with an
// error wrapping ctx.Err(). When GitLab cannot be used it returns the
// report so far with a *HaltError.
func (m *Mover) Run(ctx context.Context) (*Report, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%s: Run needs a context, not nil", m.name)
	}
	if !m.ran.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%s: this run has run: it runs once; create another with New", m.name)
	}
	release, err := claim(m.c.BaseURL(), m.plan.storages(), m.name)
	if err != nil {
		return nil, err
	}
	defer release()
	return m.newRunner(false).run(ctx)
}

// storages are the storages a run locks, sorted: a storage emptied, or
// every source and destination of a plan's moves (two rebalances could
// fill one destination beyond what each planned; two drains may fill one
// new storage).
func (p *Plan) storages() []string {
	if p.Empty != nil {
		return []string{p.Empty.From}
	}
	var out []string
	for _, m := range p.Moves {
		for _, s := range []string{m.Storage, m.To} {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// active holds the instance and source storage of every run in progress
// in the process: two runs moving containers off one storage would
// schedule a container twice (GitLab accepts a second move once the first
// has replicated).
var active = struct {
	sync.Mutex
	runs map[string]bool
}{runs: map[string]bool{}}

// claim makes sure no other run moves containers off the storages from on
// instance: in this process, and (where flock(2) is available) in another
// process of this machine, through a lock file per storage in the
// temporary directory.
func claim(instance string, from []string, name string) (release func(), err error) {
	active.Lock()
	defer active.Unlock()
	var files []*os.File
	var keys []string
	undo := func() {
		for _, k := range keys {
			delete(active.runs, k)
		}
		for _, f := range files {
			f.Close()
		}
	}
	for _, s := range from {
		k := instance + "\x00" + s
		if active.runs[k] {
			undo()
			return nil, fmt.Errorf("%s: a run moving repositories off or onto %q on %s is already running in this process: one run per storage", name, s, instance)
		}
		sum := sha256.Sum256([]byte(k))
		path := filepath.Join(os.TempDir(), "gitlabdata-drain-"+hex.EncodeToString(sum[:8])+".lock")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			undo()
			return nil, fmt.Errorf("%s: the lock of the moves off %q: %w", name, s, err)
		}
		if err := lockFile(f); err != nil {
			f.Close()
			undo()
			doing := "moving repositories off or onto"
			if name == "drain" {
				doing = "draining"
			}
			return nil, fmt.Errorf("%s: another process on this machine is %s %q on %s (it holds %s): one run per storage", name, doing, s, instance, path)
		}
		active.runs[k] = true
		keys, files = append(keys, k), append(files, f)
	}
	return func() {
		active.Lock()
		defer active.Unlock()
		undo()
	}, nil
}
