package drain

import (
	"slices"
	"time"
)

// Reason says why a container remains on the storage.
type Reason string

// Reasons a container remains.
const (
	ReasonFailed   Reason = "failed"    // its moves failed, retries used up
	ReasonStuck    Reason = "stuck"     // its move is stuck
	ReasonNotMoved Reason = "not moved" // its move finished but it is still on the storage
	ReasonBudget   Reason = "budget"    // skipped by MaxMoves or MaxBytes
	ReasonBreaker  Reason = "breaker"   // scheduling stopped after MaxFailures
	ReasonReadOnly Reason = "read-only" // GitLab refused: read-only with no move in flight
	ReasonInFlight Reason = "in flight" // the run was interrupted while its move ran
	ReasonUnknown  Reason = "unknown"   // never attempted: appeared late, or a listing failed on it
	ReasonGone     Reason = "gone"      // it left the storage before it was scheduled (not a remaining reason)
)

// Remaining is a container still on the storage at the end of a run.
type Remaining struct {
	Container
	Reason Reason `json:"reason"`
	// Move is the last move of it, if any; Errors the error messages of
	// its failed moves, oldest first.
	Move   int64    `json:"move,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// StuckMove is a move reported by the watchdog.
type StuckMove struct {
	Container
	Move  int64     `json:"move"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// KindReport counts one kind's outcomes.
type KindReport struct {
	Kind Kind `json:"kind"`
	// Found is how many containers were found on the storage.
	Found int `json:"found"`
	// Moved: verified off the storage. Failed: retries used up. Stuck:
	// stuck at the end. NotMoved: finished but still on the storage.
	// Skipped: not scheduled (budget, breaker, read-only). Reattached:
	// followed a move already in flight. Retried: moves scheduled again.
	Moved      int `json:"moved"`
	Failed     int `json:"failed"`
	Stuck      int `json:"stuck"`
	NotMoved   int `json:"not_moved"`
	Skipped    int `json:"skipped"`
	Reattached int `json:"reattached"`
	Retried    int `json:"retried"`
	// Remaining is how many are still on the storage by the final listing.
	Remaining int `json:"remaining"`
	// Bytes is the size of the moved containers (where known), Planned
	// that of all found.
	Bytes        int64 `json:"bytes"`
	PlannedBytes int64 `json:"planned_bytes"`
	// Durations of the moved containers, from scheduling to verification.
	Fastest   time.Duration `json:"fastest_ns"`
	Median    time.Duration `json:"median_ns"`
	Slowest   time.Duration `json:"slowest_ns"`
	durations []time.Duration
}

// Report is the outcome of a run.
type Report struct {
	From string  `json:"from"`
	To   *string `json:"to"`
	// Totals sums Kinds.
	Totals KindReport    `json:"totals"`
	Kinds  []*KindReport `json:"kinds"`
	// Remaining lists what is still on the storage, with the reason.
	Remaining     []Remaining    `json:"remaining"`
	Stuck         []StuckMove    `json:"stuck"`
	ListingErrors []ListingError `json:"listing_errors"`
	Warnings      []string       `json:"warnings"`
	Rounds        int            `json:"rounds"`
	Interrupted   bool           `json:"interrupted"`
	// Resumed is true when the journal held an earlier run.
	Resumed bool `json:"resumed"`
	// Requests is how many GitLab requests the run sent.
	Requests int           `json:"requests"`
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Empty reports whether the final listing found nothing on the storage
// and no listing failed.
func (r *Report) Empty() bool { return len(r.Remaining) == 0 && len(r.ListingErrors) == 0 }

func (k *KindReport) finish() {
	if len(k.durations) == 0 {
		return
	}
	d := slices.Clone(k.durations)
	slices.Sort(d)
	k.Fastest, k.Median, k.Slowest = d[0], d[len(d)/2], d[len(d)-1]
}

func (k *KindReport) add(o *KindReport) {
	k.Found += o.Found
	k.Moved += o.Moved
	k.Failed += o.Failed
	k.Stuck += o.Stuck
	k.NotMoved += o.NotMoved
	k.Skipped += o.Skipped
	k.Reattached += o.Reattached
	k.Retried += o.Retried
	k.Remaining += o.Remaining
	k.Bytes += o.Bytes
	k.PlannedBytes += o.PlannedBytes
	k.durations = append(k.durations, o.durations...)
}
