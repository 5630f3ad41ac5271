// Package drain empties a Gitaly repository storage of a GitLab instance:
// it lists the group wikis, snippets and projects on the storage, plans
// their moves, schedules them with a bound on the moves running at once,
// follows and verifies each move, retries failed ones a bounded number of
// times, reports stuck ones, and lists the storage again at the end to say
// what remains and why.
//
// It is a planner on package moves, the engine it shares with package
// rebalance: a Drain is a moves.Plan that empties a storage, run by a
// moves.Mover. The types of its events, journal and report are those of
// package moves, under their old names here.
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
	"errors"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/moves"
)

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
	// MaxRunningPerDestination bounds the moves running onto one storage
	// (0: only MaxRunning bounds them); with To nil it applies once
	// GitLab has picked a move's destination.
	MaxRunningPerDestination int
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

	// BackPressure, when set, pauses scheduling while Sidekiq's queue of
	// the move workers is busy (see moves.BackPressure).
	BackPressure *moves.BackPressure

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
	m    *moves.Mover
	from string
	to   *string
}

// ErrInvalidOptions wraps every error of New.
var ErrInvalidOptions = moves.ErrInvalidOptions

// New checks opts and returns a Drain of opts.From through client.
func New(client *gitlabdata.Client, opts Options) (*Drain, error) {
	plan := &moves.Plan{Empty: &moves.Empty{From: opts.From, To: opts.To, Kinds: opts.Kinds, Order: opts.Order}}
	m, err := moves.New(client, plan, moves.Options{
		MaxRunning: opts.MaxRunning, MaxRunningPerDestination: opts.MaxRunningPerDestination,
		ScheduleInterval: opts.ScheduleInterval, PollInterval: opts.PollInterval, MaxPollInterval: opts.MaxPollInterval,
		MaxMoves: opts.MaxMoves, MaxBytes: opts.MaxBytes, MaxFailures: opts.MaxFailures, Retries: opts.Retries,
		ScheduleUntil: opts.ScheduleUntil, StuckAfter: opts.StuckAfter, ReleaseStuck: opts.ReleaseStuck,
		MaxRounds: opts.MaxRounds, RecheckAfter: opts.RecheckAfter, BackPressure: opts.BackPressure,
		MaxRequestFailures: opts.MaxRequestFailures, MaxRetryAfter: opts.MaxRetryAfter, ClockSkew: opts.ClockSkew,
		HeartbeatEvery: opts.HeartbeatEvery, Journal: opts.Journal, OnEvent: opts.OnEvent, Now: opts.Now, Sleep: opts.Sleep,
	})
	if err != nil {
		return nil, err
	}
	return &Drain{m: m, from: opts.From, to: opts.To}, nil
}

// Plan lists the storage and says what Run would move, in which order,
// how many bytes and to where, applying the budgets. It sends GET requests
// only and writes nothing to the journal. It first makes sure it talks to
// GitLab with an administrator's token (a *HaltError otherwise).
func (d *Drain) Plan(ctx context.Context) (*Plan, error) {
	if ctx == nil {
		return nil, errors.New("drain: Plan needs a context, not nil")
	}
	pv, err := d.m.Preview(ctx)
	if err != nil {
		return nil, err
	}
	p := &Plan{From: d.from, To: d.to, Moves: make([]Container, 0, len(pv.Moves)), Skipped: pv.Skipped, Bytes: pv.Bytes,
		UnknownSize: pv.UnknownSize, Warnings: pv.Warnings, ListingErrors: pv.ListingErrors, Requests: pv.Requests}
	for _, m := range pv.Moves {
		p.Moves = append(p.Moves, m.Container)
	}
	return p, nil
}

// Run drains the storage: it resumes the journal's run if there is one,
// then lists, schedules, follows and verifies in rounds until the storage
// is empty or only known failures remain. It runs once per Drain, and one
// run per instance and storage may be in progress on a machine (a drain,
// or a rebalance moving repositories off that storage).
//
// When ctx ends it stops at once, keeping the journal consistent (moves in
// flight stay recorded for the next run), and returns the report with an
// error wrapping ctx.Err(). When GitLab cannot be used it returns the
// report so far with a *HaltError.
func (d *Drain) Run(ctx context.Context) (*Report, error) {
	return d.m.Run(ctx)
}

// Plan is what a run would do, from a dry run.
type Plan struct {
	From string  `json:"from"`
	To   *string `json:"to"`
	// Moves are the containers a run would schedule, in order.
	Moves []Container `json:"moves"`
	// Skipped are those the budgets leave out.
	Skipped []Remaining `json:"skipped"`
	// Bytes is the size of Moves where known; UnknownSize counts the
	// containers of Moves whose size GitLab does not give (they count as
	// 0 bytes against MaxBytes).
	Bytes         int64          `json:"bytes"`
	UnknownSize   int            `json:"unknown_size"`
	Warnings      []string       `json:"warnings"`
	ListingErrors []ListingError `json:"listing_errors"`
	Requests      int            `json:"requests"`
}
