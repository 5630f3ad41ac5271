// Package rebalance evens out the usage of a GitLab instance's Gitaly
// storages: it reads how full each storage is (the repository sizes of
// its projects, against capacities the operator gives, since no GitLab API
// tells a storage's capacity), plans the moves that bring every storage
// into a band (at or below High; no destination filled above Low) moving
// few bytes, and keeps fork networks together: a network, whose members
// share an object pool on one storage, moves as one unit onto one
// storage, or stays.
//
// It is a planner on package moves, the engine it shares with package
// drain: Plan reads GitLab and plans, Plan.Run (or moves.New with
// Plan.MovesPlan) makes the moves, each container read again on its source
// before its move.
//
//	r, err := rebalance.New(client, rebalance.Options{
//		Capacities: map[string]int64{"default": 10 << 40, "storage2": 8 << 40},
//		High: 0.70, Low: 0.60,
//	})
//	plan, err := r.Plan(ctx) // GET requests only
//	report, err := plan.Run(ctx, client, moves.Options{MaxRunningPerDestination: 2})
//
// See https://docs.gitlab.com/administration/operations/moving_repositories/
package rebalance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/moves"
)

// Options configures a rebalance.
type Options struct {
	// Capacities are the storages to balance and their capacities in
	// bytes (GitLab does not tell them). Storages not named here are
	// neither sources nor destinations.
	Capacities map[string]int64
	// High and Low are the band, as fractions of a storage's capacity
	// (0.70 and 0.60 for 70% and 60%): every storage should end at or
	// below High; a storage above it gives up just enough to get below it,
	// and no destination is filled above Low. Low must be below High.
	High, Low float64
	// MaxBytes bounds the bytes a plan moves (0: no limit).
	MaxBytes int64
	// Scope selects the containers a plan may move.
	Scope Scope
	// Exclude are containers the plan must not move (it plans around
	// them): moves that failed, for example.
	Exclude []moves.Container
}

// Scope selects what may move: a container moves only if it (every member
// of its fork network) matches every field set.
type Scope struct {
	// Namespace is a group or user namespace path: only projects in it or
	// its subgroups ("gitlab-org" matches "gitlab-org/gitlab" and
	// "gitlab-org/sub/x").
	Namespace string
	// IDs are project ids: only these.
	IDs []int64
	// MinSize and MaxSize bound the size of a unit (a project, or a fork
	// network), in bytes (0: no bound).
	MinSize, MaxSize int64
	// Percent, above 0, is the most a storage gives up in one plan, in
	// percent of the bytes it holds.
	Percent float64
}

// ErrInvalidOptions wraps every error of New and PlanFleet about their
// options.
var ErrInvalidOptions = errors.New("rebalance: invalid options")

// check validates o before any request.
func (o *Options) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, a...)...)
	}
	switch {
	case len(o.Capacities) < 2:
		return bad("name at least two storages and their capacities (%d given)", len(o.Capacities))
	case o.High <= 0 || o.High > 1:
		return bad("High %g: want a fraction above 0 and at most 1, such as 0.70", o.High)
	case o.Low <= 0 || o.Low >= o.High:
		return bad("Low %g: want a fraction above 0 and below High (%g)", o.Low, o.High)
	case o.MaxBytes < 0:
		return bad("MaxBytes is negative")
	case o.Scope.MinSize < 0 || o.Scope.MaxSize < 0 || o.Scope.MaxSize > 0 && o.Scope.MaxSize < o.Scope.MinSize:
		return bad("the size range %d-%d is not a range", o.Scope.MinSize, o.Scope.MaxSize)
	case o.Scope.Percent < 0 || o.Scope.Percent > 100:
		return bad("Percent %g: want 0 to 100", o.Scope.Percent)
	}
	for name, c := range o.Capacities {
		if name == "" || c <= 0 {
			return bad("storage %q: capacity %d: want a storage name and a capacity above 0", name, c)
		}
	}
	return nil
}

// Rebalancer plans the rebalance of one instance. Create it with New.
type Rebalancer struct {
	c    *gitlabdata.Client
	mu   sync.Mutex // guards opts.Exclude
	opts Options
}

// New checks opts and returns a Rebalancer of client's instance.
func New(client *gitlabdata.Client, opts Options) (*Rebalancer, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOptions)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts.Exclude = slices.Clone(opts.Exclude)
	return &Rebalancer{c: client, opts: opts}, nil
}

// Plan is what a rebalance moves, and the usage of each storage before
// and after. Its JSON is the plan file of examples/rebalance-storages.
type Plan struct {
	Instance  string    `json:"instance"`
	CreatedAt time.Time `json:"created_at"`
	High      float64   `json:"high"`
	Low       float64   `json:"low"`
	// Storages are the storages balanced, by name.
	Storages []StorageUsage `json:"storages"`
	// Moves are the moves, the members of a fork network together and
	// with the network's Unit.
	Moves []moves.Move `json:"moves"`
	// MovedBytes is the size of Moves; LowerBound the least any plan
	// must move (the sum of every storage's bytes above High), and
	// LargestUnit the size of the largest unit moved.
	MovedBytes  int64 `json:"moved_bytes"`
	LowerBound  int64 `json:"lower_bound_bytes"`
	LargestUnit int64 `json:"largest_unit_bytes"`
	// Units counts the units moved: projects alone, and fork networks.
	Units int `json:"units"`
	// Unbalanced are the storages the plan leaves above High, and why.
	Unbalanced []Unbalanced `json:"unbalanced"`
	Warnings   []string     `json:"warnings"`
	// Requests is how many GitLab requests reading the fleet took.
	Requests int `json:"requests"`

	// replan reads the fleet again and plans around failed moves.
	replan func(ctx context.Context, failed []moves.Container) ([]moves.Move, error)
}

// StorageUsage is one storage's usage before and after a plan.
type StorageUsage struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	Capacity int64  `json:"capacity_bytes"`
	Used     int64  `json:"used_bytes"`
	// After is the usage once the plan's moves are made; Out and In the
	// bytes they move off and onto the storage.
	After int64 `json:"after_bytes"`
	Out   int64 `json:"out_bytes"`
	In    int64 `json:"in_bytes"`
}

// Share is used as a fraction of the capacity.
func (s StorageUsage) Share() float64 { return float64(s.Used) / float64(s.Capacity) }

// ShareAfter is After as a fraction of the capacity.
func (s StorageUsage) ShareAfter() float64 { return float64(s.After) / float64(s.Capacity) }

// Unbalanced is a storage a plan leaves above High.
type Unbalanced struct {
	Storage string `json:"storage"`
	Why     string `json:"why"`
}

// Balanced reports whether the plan leaves every storage at or below High.
func (p *Plan) Balanced() bool { return len(p.Unbalanced) == 0 }
