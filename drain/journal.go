package drain

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// EventType names what an Event reports.
type EventType string

// Event types, as written in the journal's "event" field.
const (
	EventRunStarted   EventType = "run_started"   // a run began (From, To, DryRun)
	EventRound        EventType = "round"         // the storage is listed again (Attempt is the round)
	EventListingError EventType = "listing_error" // a listing page kept failing and was skipped
	EventWarning      EventType = "warning"       // Reason says what to look at
	EventPlanned      EventType = "planned"       // a container on From was found
	EventScheduling   EventType = "scheduling"    // a schedule call is about to be sent (written before it)
	EventScheduled    EventType = "scheduled"     // GitLab accepted a move (Move, Attempt)
	EventReattached   EventType = "reattached"    // the container was already moving: its move is followed
	EventFinished     EventType = "finished"      // the move finished; verification follows
	EventMoved        EventType = "moved"         // verified: the container left From
	EventNotMoved     EventType = "not_moved"     // the move finished but the container is still on From
	EventFailed       EventType = "failed"        // the move failed (Error); Final when no retry is left
	EventStuck        EventType = "stuck"         // the move stayed in State since Since for longer than StuckAfter
	EventReleased     EventType = "released"      // a stuck move stopped holding a running slot
	EventSkipped      EventType = "skipped"       // not scheduled: Reason (budget, breaker, read-only, error)
	EventInterrupted  EventType = "interrupted"   // the run was stopped; moves in flight are kept
	EventRunEnded     EventType = "run_ended"     // the run ended
)

// Event is one decision or outcome. It is also the journal's line format.
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
	// From and To are the storages (To of a move: its destination).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Attempt counts the moves scheduled for the container (1 for the
	// first); for EventRound it is the round.
	Attempt int `json:"attempt,omitempty"`
	// Final marks the last failure of a container (no retry left).
	Final bool `json:"final,omitempty"`
	// Since is when a stuck move was first seen in State.
	Since *time.Time `json:"since,omitempty"`
	// Duration is the time from scheduling to the outcome (to the move's
	// end for moved and not_moved).
	Duration time.Duration `json:"duration_ns,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Error    string        `json:"error,omitempty"`
	DryRun   bool          `json:"dry_run,omitempty"`
}

// Journal is an append-only file of events, one JSON object per line,
// written as they happen. Open it with OpenJournal and pass it in
// Options.Journal: a run on a journal that already holds events resumes
// the run that wrote them.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	w      io.Writer
	events []Event
	err    error
}

// OpenJournal opens (or creates) the journal at path and reads the events
// it holds. A last line cut short by a crash is ignored (and overwritten
// on the next write).
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("drain: opening journal: %w", err)
	}
	events, good, err := readJournal(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("drain: reading journal %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("drain: journal %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("drain: journal %s: %w", path, err)
	}
	return &Journal{f: f, w: f, events: events}, nil
}

// NewJournal returns a journal that writes to w and resumes from the
// events already read from r (nil: none).
func NewJournal(r io.Reader, w io.Writer) (*Journal, error) {
	j := &Journal{w: w}
	if r != nil {
		events, _, err := readJournal(r)
		if err != nil {
			return nil, fmt.Errorf("drain: reading journal: %w", err)
		}
		j.events = events
	}
	return j, nil
}

// readJournal decodes complete lines and returns the offset after the
// last one.
func readJournal(r io.Reader) ([]Event, int64, error) {
	br := bufio.NewReader(r)
	var events []Event
	var off int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return events, off, nil // a line without its newline was cut short
		}
		if err != nil {
			return nil, 0, err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var ev Event
			if err := json.Unmarshal(line, &ev); err != nil {
				return nil, 0, fmt.Errorf("line %d: %w", n, err)
			}
			events = append(events, ev)
		}
		off += int64(len(line))
	}
}

// Events returns the events read when the journal was opened.
func (j *Journal) Events() []Event { return append([]Event(nil), j.events...) }

// write appends ev as one line; sync forces it to disk.
func (j *Journal) write(ev Event, sync bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := j.w.Write(b); err != nil {
		j.err = fmt.Errorf("drain: writing journal: %w", err)
		return j.err
	}
	if sync && j.f != nil {
		if err := j.f.Sync(); err != nil {
			j.err = fmt.Errorf("drain: syncing journal: %w", err)
			return j.err
		}
	}
	return nil
}

// Close closes the journal's file.
func (j *Journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}
