package drain

import (
	"io"

	"github.com/gitlabdata/gitlabdata/moves"
)

// The types below are package moves' types: a drain is a plan of moves
// (moves.Plan.Empty) run by moves' engine, which package rebalance uses
// too. They keep their names here, so code written against package drain
// goes on working; see package moves for their documentation.

type (
	// Container is a repository on a storage.
	Container = moves.Container
	// Kind is a kind of container.
	Kind = moves.Kind
	// Order is the order in which the containers of a kind are moved.
	Order = moves.Order
	// Event is one decision or outcome, and the journal's line format.
	Event = moves.Event
	// EventType is names what an Event reports.
	EventType = moves.EventType
	// Progress is counts the containers of a run by where they are.
	Progress = moves.Progress
	// Journal is the append-only file of a run's events.
	Journal = moves.Journal
	// HaltError is says why a run stopped before its end.
	HaltError = moves.HaltError
	// Outcome is how a container ended in a run.
	Outcome = moves.Outcome
	// Reason is says why a container ended in its outcome.
	Reason = moves.Reason
	// Remaining is a container a run did not move off the storage.
	Remaining = moves.Remaining
	// StuckMove is a move reported by the watchdog.
	StuckMove = moves.StuckMove
	// KindReport is counts one kind's containers by outcome.
	KindReport = moves.KindReport
	// Report is the outcome of a run.
	Report = moves.Report
	// ListingError is a listing page that kept failing and was skipped.
	ListingError = moves.ListingError
)

// Errors of package moves.
var (
	// ErrHalted matches the error of a Run or Plan that stopped early because GitLab could not be used.
	ErrHalted = moves.ErrHalted
	// ErrJournalLocked matches the error of OpenJournal for a journal another run holds.
	ErrJournalLocked = moves.ErrJournalLocked
)

// Kinds returns the three kinds in the default drain order: group wikis,
// snippets, projects. The slice is new on every call.
func Kinds() []Kind { return moves.Kinds() }

// OpenJournal opens (or creates) the journal at path and locks it (see
// moves.OpenJournal).
func OpenJournal(path string) (*Journal, error) { return moves.OpenJournal(path) }

// NewJournal returns a journal that writes to w and resumes from the events
// already read from r (see moves.NewJournal).
func NewJournal(r io.Reader, w io.Writer) (*Journal, error) { return moves.NewJournal(r, w) }

// ReadJournal reads the events of the journal at path without locking or
// changing it (see moves.ReadJournal).
func ReadJournal(path string) ([]Event, error) { return moves.ReadJournal(path) }

// Kind values (see package moves).
const (
	KindGroupWiki = moves.KindGroupWiki
	KindSnippet   = moves.KindSnippet
	KindProject   = moves.KindProject
)

// Order values (see package moves).
const (
	OrderID            = moves.OrderID
	OrderSmallestFirst = moves.OrderSmallestFirst
	OrderLargestFirst  = moves.OrderLargestFirst
)

// EventType values (see package moves).
const (
	EventHeader       = moves.EventHeader
	EventRunStarted   = moves.EventRunStarted
	EventRound        = moves.EventRound
	EventListingError = moves.EventListingError
	EventWarning      = moves.EventWarning
	EventPlanned      = moves.EventPlanned
	EventScheduling   = moves.EventScheduling
	EventScheduled    = moves.EventScheduled
	EventNotSent      = moves.EventNotSent
	EventReattached   = moves.EventReattached
	EventFinished     = moves.EventFinished
	EventMoved        = moves.EventMoved
	EventNotMoved     = moves.EventNotMoved
	EventFailed       = moves.EventFailed
	EventStuck        = moves.EventStuck
	EventReleased     = moves.EventReleased
	EventUnstuck      = moves.EventUnstuck
	EventSkipped      = moves.EventSkipped
	EventGone         = moves.EventGone
	EventHeartbeat    = moves.EventHeartbeat
	EventInterrupted  = moves.EventInterrupted
	EventRunEnded     = moves.EventRunEnded
	EventPaused       = moves.EventPaused
	EventResumed      = moves.EventResumed
)

// Outcome values (see package moves).
const (
	OutcomeMoved        = moves.OutcomeMoved
	OutcomeFailed       = moves.OutcomeFailed
	OutcomeStuck        = moves.OutcomeStuck
	OutcomeNotMoved     = moves.OutcomeNotMoved
	OutcomeSkipped      = moves.OutcomeSkipped
	OutcomeNotAttempted = moves.OutcomeNotAttempted
	OutcomeGone         = moves.OutcomeGone
	OutcomeUnknown      = moves.OutcomeUnknown
)

// Reason values (see package moves).
const (
	ReasonMaxMoves      = moves.ReasonMaxMoves
	ReasonMaxBytes      = moves.ReasonMaxBytes
	ReasonMaxFailures   = moves.ReasonMaxFailures
	ReasonWindow        = moves.ReasonWindow
	ReasonMaxRounds     = moves.ReasonMaxRounds
	ReasonMaxRunning    = moves.ReasonMaxRunning
	ReasonUnitFailed    = moves.ReasonUnitFailed
	ReasonRetriesUsed   = moves.ReasonRetriesUsed
	ReasonCleanupFailed = moves.ReasonCleanupFailed
	ReasonStillOnSource = moves.ReasonStillOnSource
	ReasonInterrupted   = moves.ReasonInterrupted
	ReasonHalted        = moves.ReasonHalted
	ReasonUnverified    = moves.ReasonUnverified
	ReasonUnresolved    = moves.ReasonUnresolved
	ReasonListingError  = moves.ReasonListingError
	ReasonLeftSource    = moves.ReasonLeftSource
	ReasonBreaker       = moves.ReasonBreaker
	ReasonReadOnly      = moves.ReasonReadOnly
	ReasonInFlight      = moves.ReasonInFlight
	ReasonStuck         = moves.ReasonStuck
)

// Deprecated reasons, kept for code written against earlier versions.
const (
	// Deprecated: every remaining container now has an Outcome; use
	// OutcomeFailed.
	ReasonFailed Reason = "failed"
	// Deprecated: use OutcomeNotMoved (and ReasonStillOnSource).
	ReasonNotMoved Reason = "not_moved"
	// Deprecated: budgets are named: ReasonMaxMoves, ReasonMaxBytes.
	ReasonBudget Reason = "budget"
	// Deprecated: use OutcomeUnknown (and ReasonListingError).
	ReasonUnknown Reason = "unknown"
	// Deprecated: use OutcomeGone (and ReasonLeftSource).
	ReasonGone Reason = "gone"
)
