// Package drain empties a Gitaly repository storage of a GitLab instance:
// it lists the group wikis, snippets and projects on the storage, plans
// their moves, schedules them with a bound on the moves running at once,
// follows and verifies each move, retries failed ones a bounded number of
// times, reports stuck ones, and lists the storage again at the end to say
// what remains and why.
//
// It is built on package gitlabdata's public API (and on Client.Do for the
// container listings the SDK does not wrap).
//
//	d, err := drain.New(client, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 4})
//	if err != nil {
//		return err
//	}
//	plan, err := d.Plan(ctx) // a dry run: GET requests only
//	...
//	report, err := d.Run(ctx) // schedules, follows, verifies
//
// # Faults
//
// Plan and Run first make sure they talk to GitLab with an administrator's
// token (GitLab hides repository_storage from anyone else, so a storage
// would look empty). Every request goes through a breaker: 5 failed
// requests in a row (Options.MaxRequestFailures; each as the client
// returns it, after its RetryPolicy's attempts), or more than half of one
// endpoint's last 20, stop the drain; a 429 is waited out unless GitLab
// asks for more than Options.MaxRetryAfter. What stops a drain is a
// [*HaltError], whose Error is one line: what failed, the request and its
// status, and what to do. A listing page that fails with GitLab's 500 is
// narrowed down, in a few requests, to the project that breaks it; that
// project is reported (outcome unknown) and stepped over.
//
// # Journal and resume
//
// A Drain records every decision and outcome in an optional append-only
// journal (JSON lines, see [Event]); a run on a journal resumes it. The
// journal's first line names the instance and the storage, and OpenJournal
// locks it for the run. A schedule call is journaled (and synced) before
// it is sent; if its answer is lost, it is settled by the container's
// moves: only a move off From, to the destination asked for, created no
// earlier than the call (give or take Options.ClockSkew) and not already
// in the journal is its move. A run never schedules a container twice and
// never loses a move in flight; a later run tries again what an earlier
// one left on the storage.
//
// # Outcomes
//
// Every container found ends a run in exactly one [Outcome], and a
// report's Found is their sum. The drain's state is a state machine: one
// function applies each [Event] to it, for the live run and for the
// journal's replay alike.
package drain

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

// The kinds a drain moves, in the default order.
const (
	KindGroupWiki Kind = "group_wiki"
	KindSnippet   Kind = "snippet"
	KindProject   Kind = "project"
)

// Kinds returns the three kinds in the default drain order: group wikis,
// snippets, projects. The slice is new on every call.
func Kinds() []Kind { return []Kind{KindGroupWiki, KindSnippet, KindProject} }

// Order says in which order the containers of one kind are moved.
type Order string

// Orders. OrderID is the default: it is stable across rounds and resumes,
// and makes the verification listings cheapest.
const (
	OrderID            Order = "id"
	OrderSmallestFirst Order = "smallest"
	OrderLargestFirst  Order = "largest"
)

// Container is one repository on the storage being drained.
type Container struct {
	Kind Kind   `json:"kind"`
	ID   int64  `json:"id"`
	Path string `json:"path,omitempty"`
	// Storage is where GitLab said the repository is.
	Storage string `json:"storage,omitempty"`
	// Size is the repository size in bytes (projects: repository_size,
	// group wikis: wiki_size); 0 with HasSize false when GitLab gives none
	// (snippets).
	Size    int64 `json:"size,omitempty"`
	HasSize bool  `json:"has_size,omitempty"`
}

func (c Container) key() key { return key{c.Kind, c.ID} }

type key struct {
	kind Kind
	id   int64
}

// Options configures a Drain. Only From is required.
type Options struct {
	// From is the storage to empty.
	From string
	// To is the destination storage. nil lets GitLab pick one by weight
	// for each move, which may pick From itself unless From has weight 0:
	// the plan warns about it, and such a move is reported as not moved.
	To *string
	// Kinds to drain, in this order; default Kinds().
	Kinds []Kind
	// Order within a kind; default OrderID.
	Order Order

	// MaxRunning bounds the moves off From that are scheduled but not yet
	// finished or failed, all kinds together. Default 4.
	MaxRunning int
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
	// (GitLab: most failures are temporary). Default 0; -1 is not valid.
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

	// MaxRounds bounds how many times the storage is listed and drained
	// again while new containers appear. Default 3.
	MaxRounds int
	// RecheckAfter is how old the listing that showed a container on From
	// may be when it is scheduled; an older one is read again first, so
	// that a container moved meanwhile (by someone else) is not moved
	// again. Default 5m.
	RecheckAfter time.Duration

	// MaxRequestFailures stops the drain (a *HaltError) after this many
	// GitLab requests failed in a row (each as the client returns it, after
	// its own retries); it also stops when more than half of one
	// endpoint's last 20 requests failed. Default 5.
	MaxRequestFailures int
	// MaxRetryAfter is the longest wait a rate-limited (429) answer may
	// ask for: a longer one stops the drain, saying when to run again.
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
	// goroutine that runs the drain. It should return quickly.
	OnEvent func(Event)

	// Now and Sleep replace the real clock, for tests and simulations.
	// They must agree: after Sleep(d), Now is d later. Sleep must return
	// ctx.Err() when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Drain empties one storage. Create it with New. Plan may be called any
// number of times; Run once, after which Plan is refused.
type Drain struct {
	c    *gitlabdata.Client
	opts Options
	ran  atomic.Bool
}

// ErrInvalidOptions wraps every error of New.
var ErrInvalidOptions = errors.New("drain: invalid options")

// New checks opts and returns a Drain of opts.From through client.
func New(client *gitlabdata.Client, opts Options) (*Drain, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOptions)
	}
	if opts.From == "" {
		return nil, fmt.Errorf("%w: From (the storage to empty) is required", ErrInvalidOptions)
	}
	if opts.To != nil && (*opts.To == "" || *opts.To == opts.From) {
		return nil, fmt.Errorf("%w: destination %q must be another storage than %q", ErrInvalidOptions, *opts.To, opts.From)
	}
	if len(opts.Kinds) == 0 {
		opts.Kinds = Kinds()
	}
	opts.Kinds = slices.Clone(opts.Kinds)
	seen := map[Kind]bool{}
	for _, k := range opts.Kinds {
		if k != KindGroupWiki && k != KindSnippet && k != KindProject {
			return nil, fmt.Errorf("%w: unknown kind %q (want group_wiki, snippet or project)", ErrInvalidOptions, k)
		}
		if seen[k] {
			return nil, fmt.Errorf("%w: kind %q given twice", ErrInvalidOptions, k)
		}
		seen[k] = true
	}
	switch opts.Order {
	case "":
		opts.Order = OrderID
	case OrderID, OrderSmallestFirst, OrderLargestFirst:
	default:
		return nil, fmt.Errorf("%w: unknown order %q (want id, smallest or largest)", ErrInvalidOptions, opts.Order)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxRunning", int64(opts.MaxRunning)}, {"MaxMoves", int64(opts.MaxMoves)}, {"MaxBytes", opts.MaxBytes},
		{"MaxFailures", int64(opts.MaxFailures)}, {"Retries", int64(opts.Retries)}, {"MaxRounds", int64(opts.MaxRounds)},
		{"ScheduleInterval", int64(opts.ScheduleInterval)}, {"PollInterval", int64(opts.PollInterval)},
		{"MaxPollInterval", int64(opts.MaxPollInterval)}, {"StuckAfter", int64(opts.StuckAfter)},
		{"RecheckAfter", int64(opts.RecheckAfter)}, {"MaxRequestFailures", int64(opts.MaxRequestFailures)},
		{"MaxRetryAfter", int64(opts.MaxRetryAfter)}, {"ClockSkew", int64(opts.ClockSkew)}, {"HeartbeatEvery", int64(opts.HeartbeatEvery)},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("%w: %s is negative", ErrInvalidOptions, f.name)
		}
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
	return &Drain{c: client, opts: opts}, nil
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

// Plan lists the storage and says what Run would move, in which order,
// how many bytes and to where, applying the budgets. It sends GET requests
// only and writes nothing to the journal. It first makes sure it talks to
// GitLab with an administrator's token (a *HaltError otherwise).
func (d *Drain) Plan(ctx context.Context) (*Plan, error) {
	if ctx == nil {
		return nil, errors.New("drain: Plan needs a context, not nil")
	}
	if d.ran.Load() {
		return nil, errors.New("drain: Plan after Run: a Drain plans before it runs")
	}
	return d.newRunner(true).plan(ctx)
}

// Run drains the storage: it resumes the journal's run if there is one,
// then lists, schedules, follows and verifies in rounds until the storage
// is empty or only known failures remain. It runs once per Drain, and one
// Run per instance and storage may be in progress in a process.
//
// When ctx ends it stops at once, keeping the journal consistent (moves in
// flight stay recorded for the next run), and returns the report with an
// error wrapping ctx.Err(). When GitLab cannot be used it returns the
// report so far with a *HaltError.
func (d *Drain) Run(ctx context.Context) (*Report, error) {
	if ctx == nil {
		return nil, errors.New("drain: Run needs a context, not nil")
	}
	if !d.ran.CompareAndSwap(false, true) {
		return nil, errors.New("drain: this Drain has run: a Drain runs once; create another with New")
	}
	release, err := claim(d.c.BaseURL(), d.opts.From)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.newRunner(false).run(ctx)
}

// active holds the instance and storage of every Run in progress in the
// process: two drains of one storage would schedule a container twice
// (GitLab accepts a second move once the first has replicated).
var active = struct {
	sync.Mutex
	runs map[string]bool
}{runs: map[string]bool{}}

// claim makes sure no other Run drains from on instance: in this process,
// and (where flock(2) is available) in another process of this machine,
// through a lock file in the temporary directory.
func claim(instance, from string) (release func(), err error) {
	k := instance + "\x00" + from
	active.Lock()
	defer active.Unlock()
	if active.runs[k] {
		return nil, fmt.Errorf("drain: a drain of %q on %s is already running in this process: one run per storage", from, instance)
	}
	sum := sha256.Sum256([]byte(k))
	path := filepath.Join(os.TempDir(), "gitlabdata-drain-"+hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("drain: the lock of a drain of %q: %w", from, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("drain: another process on this machine is draining %q on %s (it holds %s): one run per storage", from, instance, path)
	}
	active.runs[k] = true
	return func() {
		active.Lock()
		defer active.Unlock()
		delete(active.runs, k)
		f.Close()
	}, nil
}
