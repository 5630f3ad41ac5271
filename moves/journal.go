package moves

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrJournalLocked matches the error of OpenJournal for a journal another
// run holds.
var ErrJournalLocked = errors.New("moves: journal is in use by another run")

// Journal is an append-only file of events, one JSON object per line (see
// Event), written as they happen. Open it with OpenJournal and pass it in
// Options.Journal: a run on a journal that already holds events resumes
// the run that wrote them. Its first line is a header (EventHeader) naming
// the instance and the storage, so that a journal is never resumed against
// another drain.
//
// OpenJournal holds an exclusive lock on the file until Close, so that two
// drains (two processes, or two runs in one) never write one journal. The
// lock is flock(2) on Unix systems; elsewhere it is not enforced.
type Journal struct {
	mu   sync.Mutex
	name string
	f    *os.File
	w    io.Writer
	// events are those read by NewJournal; OpenJournal's are read again
	// from the file's first good bytes when needed.
	events []Event
	good   int64
	n      int
	err    error
}

// OpenJournal opens (or creates) the journal at path, locks it and checks
// the events it holds. A last line cut short by a crash is dropped (and
// overwritten by the next write); a damaged line before the end is an
// error that says how to recover. The path must be a regular file (or not
// exist yet).
func OpenJournal(path string) (*Journal, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("moves: journal %s is not a regular file (%s): give a file path", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("moves: opening journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is locked by another run; wait for that run to end, or give this one its own journal (%v)", ErrJournalLocked, path, err)
	}
	n, good, err := scanJournal(f, path, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("moves: journal %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("moves: journal %s: %w", path, err)
	}
	return &Journal{name: path, f: f, w: f, good: good, n: n}, nil
}

// ReadJournal reads the events of the journal at path without locking or
// changing it, as a dry run does.
func ReadJournal(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("moves: reading journal: %w", err)
	}
	defer f.Close()
	var events []Event
	if _, _, err := scanJournal(f, path, func(ev Event) { events = append(events, ev) }); err != nil {
		return nil, err
	}
	return events, nil
}

// NewJournal returns a journal that writes to w and resumes from the
// events already read from r (nil: none). It takes no lock: the caller
// makes sure no one else writes to w.
func NewJournal(r io.Reader, w io.Writer) (*Journal, error) {
	j := &Journal{name: "journal", w: w}
	if r != nil {
		n, _, err := scanJournal(r, "journal", func(ev Event) { j.events = append(j.events, ev) })
		if err != nil {
			return nil, err
		}
		j.n = n
	}
	return j, nil
}

// scanJournal decodes r's complete lines, calling each (when not nil) for
// every event. It returns how many events there are and the offset after
// the last complete line.
func scanJournal(r io.Reader, name string, each func(Event)) (n int, good int64, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			var long []byte
			long = append(long, b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if errors.Is(err, io.EOF) {
			return n, good, nil // a line without its newline was cut short
		}
		if err != nil {
			return 0, 0, fmt.Errorf("moves: reading journal %s: %w", name, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			var ev Event
			if err := json.Unmarshal(b, &ev); err != nil || ev.Type == "" {
				if err == nil {
					err = errors.New(`no "event" field`)
				}
				return 0, 0, fmt.Errorf("moves: journal %s: line %d is damaged (%v); the journal was not written by one drain alone, or was edited. "+
					"Keep the lines before it (head -n %d %s > %s.repaired) and run on that file: moves recorded after it are found again as moves under way",
					name, line, err, line-1, name, name)
			}
			if each != nil {
				each(ev)
			}
			n++
		}
		good += int64(len(b))
	}
}

// Events returns the events the journal held when it was opened.
func (j *Journal) Events() []Event {
	var out []Event
	_ = j.replay(func(ev Event) { out = append(out, ev) })
	return out
}

// replay calls each for every event the journal held when it was opened,
// in order, without keeping them all in memory for a file journal.
func (j *Journal) replay(each func(Event)) error {
	if j.f == nil {
		for _, ev := range j.events {
			each(ev)
		}
		return nil
	}
	_, _, err := scanJournal(io.NewSectionReader(j.f, 0, j.good), j.name, each)
	return err
}

// write appends ev as one line; sync forces it to disk. After a failed
// write every later one fails too.
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
		j.err = fmt.Errorf("moves: writing journal %s: %w", j.name, err)
		return j.err
	}
	if sync && j.f != nil {
		if err := j.f.Sync(); err != nil {
			j.err = fmt.Errorf("moves: syncing journal %s: %w", j.name, err)
			return j.err
		}
	}
	return nil
}

// Close unlocks and closes the journal's file.
func (j *Journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}
