package moves

import (
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// EventType names what an Event reports. Every type but EventHeartbeat is
// written to the journal; EventHeader is written only there.
type EventType string

// Event types, as written in the journal's "event" field. The ones that
// give a container its outcome are named after it (moved, failed, stuck,
// not_moved, skipped, gone); a container still waiting when a run ends was
// not attempted, which needs no event.
const (
	EventHeader       EventType = "header"        // journal only, its first line: Instance, and From, To and Kinds of a storage emptied or Plan, the digest of a plan
	EventRunStarted   EventType = "run_started"   // a run began (From, To)
	EventRound        EventType = "round"         // the storage is listed again (Attempt is the round)
	EventListingError EventType = "listing_error" // a listing page kept failing; with an ID, that container is unknown
	EventWarning      EventType = "warning"       // Reason says what to look at
	EventPlanned      EventType = "planned"       // a container waits to be scheduled (found, or found again by a later run; From its source and To its destination, of a plan's move)
	EventScheduling   EventType = "scheduling"    // a schedule call is about to be sent (written and synced before it; To is its destination)
	EventScheduled    EventType = "scheduled"     // GitLab accepted a move (Move, Attempt), or an unanswered call's move was recovered
	EventNotSent      EventType = "not_sent"      // an earlier run's schedule call left no move: the container waits again
	EventReattached   EventType = "reattached"    // the container was already moving: its move is followed
	EventFinished     EventType = "finished"      // the move finished; verification follows
	EventMoved        EventType = "moved"         // verified: the container left its source (From)
	EventNotMoved     EventType = "not_moved"     // the move finished but the container is still on its source
	EventFailed       EventType = "failed"        // an attempt failed (Error); Final when the container is not tried again (Reason says why)
	EventStuck        EventType = "stuck"         // the move stayed in State since Since for longer than StuckAfter
	EventReleased     EventType = "released"      // a stuck move stopped holding a running slot (Options.ReleaseStuck)
	EventUnstuck      EventType = "unstuck"       // a stuck move changed state again: it is followed as running
	EventSkipped      EventType = "skipped"       // not scheduled: Reason names the limit (max_moves, max_bytes, max_failures, window, max_rounds)
	EventGone         EventType = "gone"          // it left its source (or was deleted) before it was scheduled
	EventHeartbeat    EventType = "heartbeat"     // not journaled: nothing changed for a while; Progress says where the run is
	EventInterrupted  EventType = "interrupted"   // the run was stopped (Reason); moves in flight are kept in the journal
	EventRunEnded     EventType = "run_ended"     // the run ended (Progress holds its counts)
	EventPaused       EventType = "paused"        // scheduling paused: Sidekiq's queue is busy (Reason says how; Options.BackPressure)
	EventResumed      EventType = "resumed"       // scheduling resumed after a pause (Reason says why; Attempt is the running bound now)
)

// Event is one decision or outcome. It is also the journal's line format:
// the journal leaves out Path and Size except on EventPlanned and
// EventReattached lines, where a container is first described.
type Event struct {
	Time time.Time `json:"t"`
	Type EventType `json:"event"`
	Kind Kind      `json:"kind,omitempty"`
	// ID is the container's id; Path its full path (title for snippets).
	ID   int64  `json:"id,omitempty"`
	Path string `json:"path,omitempty"`
	// Size is the container's repository size, when known.
	Size *int64 `json:"size,omitempty"`
	// Move is the storage move's id, State its state.
	Move  int64                       `json:"move,omitempty"`
	State gitlabdata.StorageMoveState `json:"state,omitempty"`
	// From and To are the storages (To of a move: its destination; of
	// EventScheduling: the destination asked for, empty when GitLab picks).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Attempt counts the moves scheduled for the container (1 for the
	// first); for EventRound it is the round, for EventPaused and
	// EventResumed the bound on running moves from then on.
	Attempt int `json:"attempt,omitempty"`
	// Unit is the unit a planned move belongs to (Move.Unit).
	Unit string `json:"unit,omitempty"`
	// Final marks a failure after which the container is not tried again.
	Final bool `json:"final,omitempty"`
	// Since is when a stuck move was first seen in State.
	Since *time.Time `json:"since,omitempty"`
	// Duration is the time from scheduling to the outcome (to the move's
	// end for moved and not_moved).
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Reason says why, in words for warnings and interruptions, as a
	// [Reason] name for outcomes.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Instance is the GitLab API root (Client.BaseURL), Kinds the kinds
	// drained of a storage emptied, and Plan the digest of a plan's moves
	// (Plan.Digest), on EventHeader.
	Instance string `json:"instance,omitempty"`
	Kinds    []Kind `json:"kinds,omitempty"`
	Plan     string `json:"plan,omitempty"`
	// Progress counts the containers by state, on EventHeartbeat and
	// EventRunEnded.
	Progress *Progress `json:"progress,omitempty"`
}

// Progress counts the containers of a run by where they are.
type Progress struct {
	Found   int `json:"found"`
	Waiting int `json:"waiting"`
	// Running counts the moves being followed (stuck ones included),
	// Verifying the finished ones waiting to be read again.
	Running   int   `json:"running"`
	Verifying int   `json:"verifying"`
	Moved     int   `json:"moved"`
	Failed    int   `json:"failed"`
	Other     int   `json:"other"` // stuck, not moved, skipped, gone, unknown
	Bytes     int64 `json:"bytes"` // moved, where the size is known
	Requests  int   `json:"requests"`
}

// journalLine is ev as the journal stores it: a container is described
// (Path, Size) only where it is first introduced.
func journalLine(ev Event) Event {
	if ev.Type != EventPlanned && ev.Type != EventReattached {
		ev.Path, ev.Size = "", nil
	}
	ev.Progress = nil
	return ev
}
