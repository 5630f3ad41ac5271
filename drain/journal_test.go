package drain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// lines writes events as a journal's JSON lines.
func lines(t *testing.T, events ...drain.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range events {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	return b.Bytes()
}

// header is the first line of a journal of h's drain of default.
func (h *harness) header(to string) drain.Event {
	return drain.Event{Time: t0, Type: drain.EventHeader, Instance: h.client.BaseURL(), From: "default", To: to, Kinds: drain.Kinds()}
}

// An intent is resolved only by a move of that container off From, to the
// destination asked for, created no earlier than the intent (give or take
// the clock skew) and not already known; otherwise the call was not sent
// and the container is scheduled again.
func TestResumeSettlesAnUnansweredScheduleExactly(t *testing.T) {
	t.Parallel()
	intentAt := t0.Add(10 * time.Minute)
	for _, tc := range []struct {
		name   string
		move   gitlabdata.RepositoryStorageMove // the move of project 1 GitLab holds
		known  bool                             // the journal already knows it
		adopts bool
	}{
		{"the move of the call", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(time.Second), SourceStorageName: "default", DestinationStorageName: "storage2"}, false, true},
		{"GitLab's clock a minute behind", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(-time.Minute), SourceStorageName: "default", DestinationStorageName: "storage2"}, false, true},
		{"an older move the other way", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(-102 * time.Second), SourceStorageName: "storage2", DestinationStorageName: "default"}, false, false},
		{"an older move beyond the skew", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(-3 * time.Minute), SourceStorageName: "default", DestinationStorageName: "storage2"}, false, false},
		{"a move to another storage", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(time.Second), SourceStorageName: "default", DestinationStorageName: "storage3"}, false, false},
		{"a move the journal knows", gitlabdata.RepositoryStorageMove{CreatedAt: intentAt.Add(time.Second), SourceStorageName: "default", DestinationStorageName: "storage2"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := drainFleet(t)
			h.srv.AddStorage("storage3", 0)
			h.srv.AddProjects(2, "default")
			tc.move.State = gitlabdata.StorageMoveStateFailed
			if tc.adopts {
				tc.move.State = gitlabdata.StorageMoveStateFinished
			}
			mid := h.srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: tc.move, Project: &gitlabdata.ProjectIdentity{ID: 1}})
			if tc.adopts { // the call's move copied the project
				h.srv.UpdateProject(1, func(p *gitlabtest.Project) { p.Storage = "storage2" })
			}
			h.clock.advance(15 * time.Minute)
			events := []drain.Event{h.header("storage2"), {Time: t0, Type: drain.EventRunStarted, From: "default", To: "storage2"},
				{Time: t0, Type: drain.EventPlanned, Kind: drain.KindProject, ID: 1}}
			if tc.known {
				events = append(events, drain.Event{Time: t0, Type: drain.EventScheduling, Kind: drain.KindProject, ID: 1, Attempt: 1, To: "storage2"},
					drain.Event{Time: t0, Type: drain.EventScheduled, Kind: drain.KindProject, ID: 1, Move: mid, Attempt: 1},
					drain.Event{Time: t0, Type: drain.EventFailed, Kind: drain.KindProject, ID: 1, Move: mid, Attempt: 1, Error: "boom"})
			}
			events = append(events, drain.Event{Time: intentAt, Type: drain.EventScheduling, Kind: drain.KindProject, ID: 1, Attempt: 2, To: "storage2"})
			var out bytes.Buffer
			j, err := drain.NewJournal(bytes.NewReader(lines(t, events...)), &out)
			if err != nil {
				t.Fatal(err)
			}
			rep := h.run(drain.Options{Retries: 2, Journal: j})
			if !rep.Empty() || rep.Totals.Moved != 2 {
				t.Errorf("moved %d, remaining %v; want both projects moved", rep.Totals.Moved, remaining(rep))
			}
			wantPosts := []string{"/projects/1/repository_storage_moves", "/projects/2/repository_storage_moves"}
			wantEvents := []drain.EventType{drain.EventNotSent, drain.EventScheduling, drain.EventScheduled, drain.EventFinished, drain.EventMoved}
			if tc.adopts {
				wantPosts = wantPosts[1:]
				wantEvents = []drain.EventType{drain.EventScheduled, drain.EventFinished, drain.EventMoved}
			}
			diff(t, "schedule calls", wantPosts, h.posts())
			var types []drain.EventType
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var ev drain.Event
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("journal line %q: %v", line, err)
				}
				if ev.ID == 1 {
					types = append(types, ev.Type)
				}
			}
			diff(t, "journal events of project 1 after the resume", wantEvents, types)
		})
	}
}

// A schedule call whose answer is lost in this run (the connection drops)
// is settled the same way before anything else is sent for it.
func TestALostAnswerIsSettledNotSentTwice(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(2, "default")
	// GitLab creates the move, but the proxy answers 502.
	h.srv.InjectFault(gitlabtest.Fault{Method: "POST", Path: "/api/v4/projects/1/repository_storage_moves", Status: 502, Count: 1, AfterServing: true})
	rep := h.run(drain.Options{Retries: 2})
	if !rep.Empty() || rep.Totals.Moved != 2 {
		t.Errorf("moved %d, remaining %v; want both", rep.Totals.Moved, remaining(rep))
	}
	atMostOneMove(t, h.srv)
	diff(t, "project 1's events", []drain.EventType{drain.EventPlanned, drain.EventScheduling, drain.EventScheduled, drain.EventFinished, drain.EventMoved}, h.eventsOf(drain.KindProject, 1))
}

// failingWriter fails every write of a line that holds match.
type failingWriter struct {
	w     io.Writer
	match string
}

func (f failingWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(f.match)) {
		return 0, errors.New("no space left on device")
	}
	return f.w.Write(p)
}

// Without its intent on disk a crash could lose the move: when the intent
// cannot be written, nothing is sent, and the run stops with the report
// so far.
func TestNoScheduleCallWithoutItsIntentInTheJournal(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(2, "default")
	var out bytes.Buffer
	j, _ := drain.NewJournal(nil, failingWriter{&out, `"event":"scheduling"`})
	rep, err := h.drain(drain.Options{Journal: j}).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Run() error = %v; want the journal's", err)
	}
	if rep == nil || rep.Totals.Found != 2 || rep.Totals.NotAttempted != 2 {
		t.Fatalf("report = %+v; want 2 found, not attempted", rep)
	}
	checkCounts(t, rep)
	if p := h.posts(); len(p) != 0 {
		t.Errorf("schedule calls %v; want none", p)
	}
}

// One journal, one writer: OpenJournal locks the file.
func TestOpenJournalLocksTheFile(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Log("the lock is not enforced on Windows")
		return
	}
	path := filepath.Join(t.TempDir(), "drain.jsonl")
	j, err := drain.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = drain.OpenJournal(path)
	if !errors.Is(err, drain.ErrJournalLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("second OpenJournal() = %v; want ErrJournalLocked naming the journal", err)
	}
	j.Close()
	j, err = drain.OpenJournal(path)
	if err != nil {
		t.Fatalf("OpenJournal() after Close = %v", err)
	}
	j.Close()
}

func TestOpenJournalRefusesWhatIsNotAGoodJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `{"t":"2026-12-01T00:00:00Z","event":"planned","kind":"project","id":4}` + "\n"
	for _, tc := range []struct {
		name, content, want string
	}{
		{"a damaged line in the middle", good + "{\"t\":\"2026-12-01T00:00:01Z\",\"ev\n" + good, "line 2 is damaged"},
		{"two writers' lines interleaved", good + `{"t":"2026-12-01T00:00:00Z","event":"planned","kind":"project","id":5}{"t":"2026` + "\n", "head -n 1"},
		{"a line without an event", good + `{"t":"2026-12-01T00:00:00Z"}` + "\n", `no "event" field`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := drain.OpenJournal(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: OpenJournal() = %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, err := drain.OpenJournal(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("OpenJournal(a directory) = %v; want it refused", err)
	}
}

func TestOpenJournalIgnoresALineCutShort(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	if err := os.WriteFile(path, []byte(`{"t":"2026-12-01T00:00:00Z","event":"planned","kind":"project","id":4}`+"\n"+`{"t":"2026-12-01T00:00:01Z","ev`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := drain.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Events()", []drain.Event{{Time: t0, Type: drain.EventPlanned, Kind: drain.KindProject, ID: 4}}, j.Events())
	j.Close()
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(`"ev`+"\n")) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("the cut line was not dropped: %q", b)
	}
}

// A journal names its drain in its first line; a run of another instance
// or storage is refused, and a journal of an older version (no header) is
// adopted with a warning.
func TestJournalHeader(t *testing.T) {
	t.Parallel()
	t.Run("written first", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProjects(1, "default")
		path := filepath.Join(t.TempDir(), "j.jsonl")
		j, err := drain.OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		h.run(drain.Options{Journal: j})
		j.Close()
		events, err := drain.ReadJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "first line", h.header("storage2"), events[0])
		for _, ev := range events[1:] {
			if ev.Type == drain.EventHeader {
				t.Errorf("a second header: %+v", ev)
			}
			if ev.Type != drain.EventPlanned && ev.Type != drain.EventReattached && (ev.Path != "" || ev.Size != nil) {
				t.Errorf("%s line describes the container again: %+v", ev.Type, ev)
			}
		}
	})
	for _, tc := range []struct {
		name   string
		header func(h *harness) drain.Event
		want   string
	}{
		{"another storage", func(h *harness) drain.Event { ev := h.header(""); ev.From = "gitaly-9"; return ev }, `is of a drain of "gitaly-9"`},
		{"another instance", func(h *harness) drain.Event {
			ev := h.header("")
			ev.Instance = "https://gitlab.other.example/api/v4/"
			return ev
		}, "on https://gitlab.other.example/api/v4/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := drainFleet(t)
			h.srv.AddProjects(1, "default")
			j, _ := drain.NewJournal(bytes.NewReader(lines(t, tc.header(h))), io.Discard)
			_, err := h.drain(drain.Options{Journal: j}).Run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(h.srv.Requests()) != 0 {
				t.Errorf("Run() = %v after %d requests; want it refused (%q) before any", err, len(h.srv.Requests()), tc.want)
			}
		})
	}
	t.Run("none, from an older version", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProjects(1, "default")
		j, _ := drain.NewJournal(bytes.NewReader(lines(t, drain.Event{Time: t0, Type: drain.EventRunStarted, From: "default"})), io.Discard)
		rep := h.run(drain.Options{Journal: j})
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "has no header") || rep.Totals.Moved != 1 {
			t.Errorf("warnings %q, moved %d; want the header warning and project 1 moved", rep.Warnings, rep.Totals.Moved)
		}
	})
}
