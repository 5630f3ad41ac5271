package moves

import (
	"slices"
	"time"
)

// Outcome is how a container ended in a run. Every container found ends
// in exactly one, and a report's Found equals the sum of its outcome
// counts.
type Outcome string

// The outcomes, as named in reports and JSON.
const (
	OutcomeMoved        Outcome = "moved"         // verified off the storage
	OutcomeFailed       Outcome = "failed"        // its attempts failed: retries used up, read-only, cleanup failed, or not retried because of MaxFailures (Reason says which)
	OutcomeStuck        Outcome = "stuck"         // its move is stuck (a human must look at it)
	OutcomeNotMoved     Outcome = "not_moved"     // its move finished, but it is still on the storage
	OutcomeSkipped      Outcome = "skipped"       // not scheduled because a limit was reached (Reason names it)
	OutcomeNotAttempted Outcome = "not_attempted" // the run ended first (interrupted or halted): never scheduled, or its move still running or unverified (Reason says which)
	OutcomeGone         Outcome = "gone"          // it left the storage, or was deleted, before it was scheduled
	OutcomeUnknown      Outcome = "unknown"       // a listing failed on it: GitLab could not show it
)

// Reason says why a container ended in its outcome.
type Reason string

// Reasons. The first group names the limits behind OutcomeSkipped.
const (
	ReasonMaxMoves    Reason = "max_moves"    // MaxMoves containers were scheduled
	ReasonMaxBytes    Reason = "max_bytes"    // it would bring the bytes scheduled above MaxBytes
	ReasonMaxFailures Reason = "max_failures" // MaxFailures moves failed: scheduling stopped
	ReasonWindow      Reason = "window"       // the maintenance window (ScheduleUntil) closed
	ReasonMaxRounds   Reason = "max_rounds"   // it appeared after the last round (MaxRounds)
	ReasonMaxRunning  Reason = "max_running"  // stuck moves held every running slot
	ReasonUnitFailed  Reason = "unit_failed"  // a move of its unit (Move.Unit) failed: the unit is not split further

	ReasonRetriesUsed   Reason = "retries_used"    // failed: its retries are used up
	ReasonCleanupFailed Reason = "cleanup_failed"  // failed: GitLab copied it but left the old copy behind
	ReasonStillOnSource Reason = "still_on_source" // not moved: its move finished but it is still on its source

	ReasonInterrupted Reason = "interrupted" // not attempted: the run was stopped before its turn
	ReasonHalted      Reason = "halted"      // not attempted: GitLab could not be used (see HaltError)
	ReasonUnverified  Reason = "unverified"  // not attempted: its move finished, the run ended before it was read again
	ReasonUnresolved  Reason = "unresolved"  // not attempted: its schedule call got no answer yet

	ReasonListingError Reason = "listing_error" // unknown: the listing page that holds it keeps failing
	ReasonLeftSource   Reason = "left_source"   // gone: a listing or a read shows it elsewhere, or no more

	// ReasonBreaker is why a failed container was not retried: MaxFailures
	// moves failed.
	ReasonBreaker Reason = "breaker"
	// ReasonReadOnly is why a container failed: GitLab refused to move it
	// as read-only, with no move of it in flight.
	ReasonReadOnly Reason = "read_only"
	// ReasonInFlight is why a container was not attempted to the end: its
	// move was still running when the run stopped (the next run on the
	// journal follows it).
	ReasonInFlight Reason = "in_flight"
	// ReasonStuck is the reason of a stuck container.
	ReasonStuck Reason = "stuck"
)

// Remaining is a container a run did not move off the storage (every
// outcome but moved and gone).
type Remaining struct {
	Container
	Outcome Outcome `json:"outcome"`
	Reason  Reason  `json:"reason"`
	// Move is the last move of it, if any; Errors the error messages of
	// its failed attempts, oldest first.
	Move   int64    `json:"move,omitempty"`
	Errors []string `json:"errors"`
}

// StuckMove is a move reported by the watchdog.
type StuckMove struct {
	Container
	Move  int64     `json:"move"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// KindReport counts one kind's containers by outcome: Found is the sum of
// the eight outcome counts.
type KindReport struct {
	Kind  Kind `json:"kind"`
	Found int  `json:"found"`

	Moved        int `json:"moved"`
	Failed       int `json:"failed"`
	Stuck        int `json:"stuck"`
	NotMoved     int `json:"not_moved"`
	Skipped      int `json:"skipped"`
	NotAttempted int `json:"not_attempted"`
	Gone         int `json:"gone"`
	Unknown      int `json:"unknown"`

	// Reattached counts the moves already under way that were followed,
	// Retried the moves scheduled again after a failure (not outcomes).
	Reattached int `json:"reattached"`
	Retried    int `json:"retried"`

	// Bytes is the size of the moved containers, PlannedBytes that of all
	// found, both where known; UnknownSize counts the containers whose
	// size GitLab does not give (group wikis, snippets).
	Bytes        int64 `json:"bytes"`
	PlannedBytes int64 `json:"planned_bytes"`
	UnknownSize  int   `json:"unknown_size"`
	// Durations of the moved containers, from scheduling to the end of
	// their move.
	Fastest time.Duration `json:"fastest_ns"`
	Median  time.Duration `json:"median_ns"`
	Slowest time.Duration `json:"slowest_ns"`

	// Deprecated: Remaining is Found minus Moved and Gone; it is no longer
	// in the JSON (Report.Remaining lists those containers).
	Remaining int `json:"-"`

	durations []time.Duration
}

// Report is the outcome of a run: cumulative over the journal's runs when
// it resumed one.
type Report struct {
	From string  `json:"from"`
	To   *string `json:"to"`
	// Totals sums Kinds.
	Totals KindReport    `json:"totals"`
	Kinds  []*KindReport `json:"kinds"`
	// Remaining lists every container not moved off the storage (nor gone),
	// with its outcome and why.
	Remaining     []Remaining    `json:"remaining"`
	Stuck         []StuckMove    `json:"stuck"`
	ListingErrors []ListingError `json:"listing_errors"`
	Warnings      []string       `json:"warnings"`
	// Rounds is how many times the run listed the storage; the last
	// listing found nothing left to schedule, unless MaxRounds was reached.
	Rounds      int  `json:"rounds"`
	Interrupted bool `json:"interrupted"`
	// Halted is the one-line reason when GitLab could not be used (see
	// HaltError); empty otherwise.
	Halted string `json:"halted"`
	// Resumed is true when the journal held an earlier run.
	Resumed bool `json:"resumed"`
	// Requests is how many GitLab calls the run made (each may be several
	// HTTP attempts under the client's RetryPolicy).
	Requests int           `json:"requests"`
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Empty reports whether the run ended with the storage empty: nothing
// remains, no listing failed, and the run was neither interrupted nor
// halted (then what it did not list is not known).
func (r *Report) Empty() bool {
	return len(r.Remaining) == 0 && len(r.ListingErrors) == 0 && !r.Interrupted && r.Halted == ""
}

// ListingError is a listing page that kept failing and was skipped.
type ListingError struct {
	Kind Kind `json:"kind"`
	// AfterID is the last id listed before the failing page (projects),
	// Page the failing offset page (group wikis, snippets).
	AfterID int64 `json:"after_id,omitempty"`
	Page    int   `json:"page,omitempty"`
	// ID is the container that breaks the page, when the drain could
	// narrow it down (projects); its outcome is unknown.
	ID    int64  `json:"id,omitempty"`
	Error string `json:"error"`
}

// outcome is where a container in phase p ends when the run ends.
func outcome(it *item, end Reason) (Outcome, Reason) {
	switch it.phase {
	case phaseMoved:
		return OutcomeMoved, ""
	case phaseFailed:
		return OutcomeFailed, it.reason
	case phaseNotMoved:
		return OutcomeNotMoved, it.reason
	case phaseSkipped:
		return OutcomeSkipped, it.reason
	case phaseGone:
		return OutcomeGone, it.reason
	case phaseUnknown:
		return OutcomeUnknown, it.reason
	case phaseStuck:
		return OutcomeStuck, ReasonStuck
	case phaseRunning:
		return OutcomeNotAttempted, ReasonInFlight
	case phaseFinished:
		return OutcomeNotAttempted, ReasonUnverified
	case phaseScheduling:
		return OutcomeNotAttempted, ReasonUnresolved
	}
	return OutcomeNotAttempted, end
}

// count adds one container of outcome o.
func (k *KindReport) count(o Outcome) {
	k.Found++
	switch o {
	case OutcomeMoved:
		k.Moved++
	case OutcomeFailed:
		k.Failed++
	case OutcomeStuck:
		k.Stuck++
	case OutcomeNotMoved:
		k.NotMoved++
	case OutcomeSkipped:
		k.Skipped++
	case OutcomeNotAttempted:
		k.NotAttempted++
	case OutcomeGone:
		k.Gone++
	case OutcomeUnknown:
		k.Unknown++
	}
}

// Sum is the sum of the eight outcome counts, which equals Found.
func (k *KindReport) Sum() int {
	return k.Moved + k.Failed + k.Stuck + k.NotMoved + k.Skipped + k.NotAttempted + k.Gone + k.Unknown
}

func (k *KindReport) finish() {
	k.Remaining = k.Found - k.Moved - k.Gone
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
	k.NotAttempted += o.NotAttempted
	k.Gone += o.Gone
	k.Unknown += o.Unknown
	k.Reattached += o.Reattached
	k.Retried += o.Retried
	k.Bytes += o.Bytes
	k.PlannedBytes += o.PlannedBytes
	k.UnknownSize += o.UnknownSize
	k.durations = append(k.durations, o.durations...)
}

// report builds the report from the state: every container in exactly
// one outcome. end is the reason of the containers still waiting (the run
// was interrupted or halted first).
func (r *runner) report(end Reason, rounds int, started time.Time) *Report {
	o := r.o
	rep := &Report{From: r.from(), Rounds: rounds, Resumed: r.st.run > 1, Started: started.UTC(),
		Remaining: []Remaining{}, Stuck: []StuckMove{}, ListingErrors: nonNil(r.listingErrors), Warnings: nonNil(r.warnings),
		Kinds: []*KindReport{}}
	if r.empty != nil {
		rep.To = r.empty.To
	}
	kinds := map[Kind]*KindReport{}
	for _, k := range r.kinds() {
		kr := &KindReport{Kind: k}
		if t := r.st.tallies[k]; t != nil {
			kr.Reattached, kr.Retried, kr.durations = t.reattached, t.retried, t.durations
		}
		kinds[k] = kr
		rep.Kinds = append(rep.Kinds, kr)
	}
	for _, it := range r.st.sorted(r.kinds()) {
		kr := kinds[it.c.Kind]
		if kr == nil {
			continue // a kind of an earlier run that this one does not drain
		}
		out, why := outcome(it, end)
		kr.count(out)
		kr.PlannedBytes += it.c.Size
		if !it.c.HasSize {
			kr.UnknownSize++
		}
		switch out {
		case OutcomeMoved:
			kr.Bytes += it.c.Size
			continue
		case OutcomeGone:
			continue
		case OutcomeStuck:
			rep.Stuck = append(rep.Stuck, StuckMove{Container: it.c, Move: it.move, State: string(it.watch.state), Since: it.watch.since.UTC()})
		}
		rep.Remaining = append(rep.Remaining, Remaining{Container: it.c, Outcome: out, Reason: why, Move: it.move, Errors: nonNil(slices.Clone(it.errors))})
	}
	rep.Totals.Kind = "all"
	for _, kr := range rep.Kinds {
		kr.finish()
		rep.Totals.add(kr)
	}
	rep.Totals.finish()
	rep.Requests = r.gl.requests
	rep.Elapsed = o.Now().Sub(started)
	return rep
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
