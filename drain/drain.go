// Package drain empties a Gitaly repository storage of a GitLab instance:
// it lists the group wikis, snippets and projects on the storage, plans
// their moves, schedules them with a bound on the moves running at once,
// follows and verifies each move, retries failed ones a bounded number of
// times, reports stuck ones, and lists the storage again at the end to say
// what remains and why.
//
// It is built on package gitlabdata's public API (and on Client.Do for the
// container listings the SDK does not wrap). A Drain records every
// decision and outcome in an optional append-only journal (JSON lines), so
// a run that crashed or was interrupted resumes where it stopped: it never
// schedules a container twice and never loses a move in flight.
//
//	d, err := drain.New(client, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 4})
//	if err != nil {
//		return err
//	}
//	plan, err := d.Plan(ctx) // a dry run: GET requests only
//	...
//	report, err := d.Run(ctx) // schedules, follows, verifies
package drain

import (
	"context"
	"errors"
	"fmt"
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
	// moves; it doubles while nothing changes, up to MaxPollInterval.
	// Defaults 1s and 30s.
	PollInterval, MaxPollInterval time.Duration

	// MaxMoves stops scheduling after this many containers (0: no limit).
	// Retries of a container do not count again. The count includes the
	// containers scheduled by earlier runs on the same journal.
	MaxMoves int
	// MaxBytes skips a container whose size would bring the bytes
	// scheduled above it (0: no limit).
	MaxBytes int64
	// MaxFailures stops scheduling after this many failed moves, every
	// attempt counted (0: no limit).
	MaxFailures int
	// Retries is how many times a failed move is scheduled again
	// (GitLab: most failures are temporary). Default 0; -1 is not valid.
	Retries int

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

// Drain empties one storage. Create it with New; a Drain runs once.
type Drain struct {
	c    *gitlabdata.Client
	opts Options
	ops  map[Kind]*kindOps
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
	for name, v := range map[string]int64{"MaxRunning": int64(opts.MaxRunning), "MaxMoves": int64(opts.MaxMoves),
		"MaxBytes": opts.MaxBytes, "MaxFailures": int64(opts.MaxFailures), "Retries": int64(opts.Retries), "MaxRounds": int64(opts.MaxRounds),
		"ScheduleInterval": int64(opts.ScheduleInterval), "PollInterval": int64(opts.PollInterval),
		"MaxPollInterval": int64(opts.MaxPollInterval), "StuckAfter": int64(opts.StuckAfter)} {
		if v < 0 {
			return nil, fmt.Errorf("%w: %s is negative", ErrInvalidOptions, name)
		}
	}
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if opts.MaxRunning == 0 {
		opts.MaxRunning = 4
	}
	if opts.MaxRounds == 0 {
		opts.MaxRounds = 3
	}
	def(&opts.ScheduleInterval, 100*time.Millisecond)
	def(&opts.PollInterval, time.Second)
	def(&opts.MaxPollInterval, 30*time.Second)
	def(&opts.StuckAfter, time.Hour)
	if opts.MaxPollInterval < opts.PollInterval {
		opts.MaxPollInterval = opts.PollInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	return &Drain{c: client, opts: opts, ops: newKindOps(client)}, nil
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
