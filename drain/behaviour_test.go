package drain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// harness runs drains against srv on a clock that steps the fake's moves
// at every poll pause and records every pause.
type harness struct {
	srv    *gitlabtest.Server
	client *gitlabdata.Client
	now    time.Time
	sleeps []time.Duration
	events []drain.Event
}

func newHarness(t *testing.T, srv *gitlabtest.Server) *harness {
	t.Helper()
	t.Cleanup(srv.Close)
	c, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{srv: srv, client: c, now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
}

func (h *harness) options(o drain.Options) drain.Options {
	o.Now = func() time.Time { return h.now }
	o.Sleep = func(ctx context.Context, d time.Duration) error {
		h.sleeps = append(h.sleeps, d)
		h.now = h.now.Add(d)
		if d >= time.Second {
			h.srv.Step()
		}
		return ctx.Err()
	}
	o.OnEvent = func(ev drain.Event) { h.events = append(h.events, ev) }
	return o
}

func (h *harness) run(t *testing.T, o drain.Options) *drain.Report {
	t.Helper()
	d, err := drain.New(h.client, h.options(o))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Run(t.Context())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	return rep
}

func remaining(rep *drain.Report) map[string]drain.Reason {
	out := map[string]drain.Reason{}
	for _, r := range rep.Remaining {
		out[ref(r.Kind, r.ID)] = r.Reason
	}
	return out
}

func TestPlanIsADryRunInOrderWithBudgetsAndTheWeightWarning(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	srv.AddStorage("storage2", 50)
	for _, size := range []int64{300, 100, 200} {
		srv.AddProject(gitlabtest.Project{Storage: "default", RepositorySize: size})
	}
	srv.AddProject(gitlabtest.Project{Storage: "storage2"})
	sn := srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
	g := srv.AddGroup(gitlabtest.Group{Storage: "default", WikiSize: 50})
	h := newHarness(t, srv)
	d, err := drain.New(h.client, h.options(drain.Options{From: "default", Order: drain.OrderSmallestFirst, MaxMoves: 4}))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := d.Plan(t.Context())
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	var got []string
	for _, c := range plan.Moves {
		got = append(got, fmt.Sprintf("%s/%d:%d", c.Kind, c.ID, c.Size))
	}
	want := []string{fmt.Sprintf("group_wiki/%d:50", g), fmt.Sprintf("snippet/%d:0", sn), "project/2:100", "project/3:200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan() moves mismatch (-want +got):\n%s", diff)
	}
	if len(plan.Skipped) != 1 || plan.Skipped[0].ID != 1 || plan.Skipped[0].Reason != drain.ReasonBudget {
		t.Errorf("Plan() skipped = %+v; want project 1 (the largest) by budget", plan.Skipped)
	}
	if plan.Bytes != 350 {
		t.Errorf("Plan() bytes = %d; want 350", plan.Bytes)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "default has weight 100, so moves may land back on it") {
		t.Errorf("Plan() warnings = %q; want the weight warning", plan.Warnings)
	}
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("the dry run sent %s %s", r.Method, r.Path)
		}
	}
	if srv.Requests()[0].Path != "/api/v4/application/settings" {
		t.Errorf("first request %s; want the storage weights", srv.Requests()[0].Path)
	}
}

// GitLab's weighted pick may choose the source itself; such a move
// finishes without moving (corrections #11) and must not count as moved.
func TestFinishedButNotMoved(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1)) // only "default", weight 100
	srv.AddProjects(3, "default")
	h := newHarness(t, srv)
	rep := h.run(t, drain.Options{From: "default"})
	want := map[string]drain.Reason{"project/1": drain.ReasonNotMoved, "project/2": drain.ReasonNotMoved, "project/3": drain.ReasonNotMoved}
	if diff := cmp.Diff(want, remaining(rep)); diff != "" {
		t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
	}
	if rep.Totals.Moved != 0 || rep.Totals.NotMoved != 3 || rep.Empty() {
		t.Errorf("moved %d, not moved %d, empty %v; want 0, 3, false", rep.Totals.Moved, rep.Totals.NotMoved, rep.Empty())
	}
}

func TestBudgetBreakerAndReadOnly(t *testing.T) {
	t.Parallel()
	t.Run("max moves", func(t *testing.T) {
		t.Parallel()
		srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
		srv.AddStorage("storage2", 100)
		srv.AddProjects(5, "default")
		h := newHarness(t, srv)
		rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxMoves: 3})
		want := map[string]drain.Reason{"project/4": drain.ReasonBudget, "project/5": drain.ReasonBudget}
		if diff := cmp.Diff(want, remaining(rep)); diff != "" {
			t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
		}
		if rep.Totals.Moved != 3 || rep.Totals.Skipped != 2 {
			t.Errorf("moved %d, skipped %d; want 3 and 2", rep.Totals.Moved, rep.Totals.Skipped)
		}
	})
	t.Run("max failures", func(t *testing.T) {
		t.Parallel()
		srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
		srv.AddStorage("storage2", 100)
		srv.AddProject(gitlabtest.Project{Storage: "default", MoveFailure: "gitaly down"})
		srv.AddProject(gitlabtest.Project{Storage: "default", MoveFailure: "gitaly down"})
		srv.AddProjects(4, "default")
		h := newHarness(t, srv)
		rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 2, MaxFailures: 2})
		got := remaining(rep)
		if got["project/1"] != drain.ReasonFailed || got["project/2"] != drain.ReasonFailed {
			t.Errorf("remaining = %v; want projects 1 and 2 failed", got)
		}
		for id := 3; id <= 6; id++ {
			if r, ok := got[fmt.Sprintf("project/%d", id)]; ok && r != drain.ReasonBreaker {
				t.Errorf("project %d remains for %q; want breaker", id, r)
			}
		}
		if rep.Totals.Moved == 4 {
			t.Errorf("all 4 healthy projects moved: the breaker did not stop scheduling")
		}
	})
	t.Run("read-only without a move", func(t *testing.T) {
		t.Parallel()
		srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
		srv.AddStorage("storage2", 100)
		srv.AddProject(gitlabtest.Project{Storage: "default", ReadOnly: true})
		srv.AddProjects(1, "default")
		h := newHarness(t, srv)
		rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2")})
		if diff := cmp.Diff(map[string]drain.Reason{"project/1": drain.ReasonReadOnly}, remaining(rep)); diff != "" {
			t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
		}
	})
}

// A stuck move is reported with its state and since when; with
// ReleaseStuck it stops holding the only running slot.
func TestWatchdogReleasesAStuckMove(t *testing.T) {
	t.Parallel()
	for _, release := range []bool{false, true} {
		t.Run(fmt.Sprint("release=", release), func(t *testing.T) {
			t.Parallel()
			srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
			srv.AddStorage("storage2", 100)
			srv.AddProject(gitlabtest.Project{Storage: "default", StuckIn: "started"})
			srv.AddProjects(2, "default")
			h := newHarness(t, srv)
			rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 1, StuckAfter: 5 * time.Minute, ReleaseStuck: release})
			want := map[string]drain.Reason{"project/1": drain.ReasonStuck}
			if !release {
				want["project/2"], want["project/3"] = drain.ReasonUnknown, drain.ReasonUnknown
			}
			if diff := cmp.Diff(want, remaining(rep)); diff != "" {
				t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
			}
			if len(rep.Stuck) != 1 || rep.Stuck[0].ID != 1 || rep.Stuck[0].State != "started" || rep.Stuck[0].Move == 0 {
				t.Errorf("stuck = %+v; want project 1's move in started", rep.Stuck)
			}
		})
	}
}

// Retry-After of a 429 the client gave up on is waited out, then the
// request is sent again.
func TestRateLimitedListingWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	srv.AddStorage("storage2", 100)
	srv.AddProjects(2, "default")
	srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, Count: 1, RetryAfter: gitlabtest.Seconds(7)})
	h := newHarness(t, srv)
	rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2")})
	if !rep.Empty() || rep.Totals.Moved != 2 {
		t.Fatalf("moved %d, remaining %v; want 2 and none", rep.Totals.Moved, rep.Remaining)
	}
	if h.sleeps[0] != 7*time.Second {
		t.Errorf("first pause %v; want Retry-After 7s", h.sleeps[0])
	}
}

// A crash between the schedule call and the journal line of its answer:
// the next run finds the move in the container's move listing and follows
// it instead of scheduling a second one.
func TestResumeAdoptsTheMoveOfAnUnansweredSchedule(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1), gitlabtest.WithClock(func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }))
	srv.AddStorage("storage2", 100)
	srv.AddProjects(2, "default")
	// The move GitLab created before the crash; it finished without moving
	// (a finished move leaves the project where the fake put it).
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{State: gitlabdata.StorageMoveStateFinished, DestinationStorageName: "storage2"},
		Project:               &gitlabdata.ProjectIdentity{ID: 1},
	})
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var prev bytes.Buffer
	for _, ev := range []drain.Event{
		{Time: t0, Type: drain.EventRunStarted, From: "default", To: "storage2"},
		{Time: t0, Type: drain.EventPlanned, Kind: drain.KindProject, ID: 1},
		{Time: t0, Type: drain.EventScheduling, Kind: drain.KindProject, ID: 1},
	} {
		b, _ := json.Marshal(ev)
		prev.Write(append(b, '\n'))
	}
	var out bytes.Buffer
	j, err := drain.NewJournal(bytes.NewReader(prev.Bytes()), &out)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, srv)
	rep := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2"), Journal: j})
	// Project 1's adopted move "finished" without moving; project 2 moved.
	if diff := cmp.Diff(map[string]drain.Reason{"project/1": drain.ReasonNotMoved}, remaining(rep)); diff != "" {
		t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
	}
	posts := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			posts++
			if r.Path != "/api/v4/projects/2/repository_storage_moves" {
				t.Errorf("scheduled %s; want only project 2", r.Path)
			}
		}
	}
	if posts != 1 || !rep.Resumed {
		t.Errorf("%d schedule calls, resumed %v; want 1 and true", posts, rep.Resumed)
	}
	// The journal goes on with one JSON object per line.
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
	wantTypes := []drain.EventType{drain.EventScheduled, drain.EventFinished, drain.EventNotMoved}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("journal events of project 1 mismatch (-want +got):\n%s", diff)
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
	want := []drain.Event{{Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Type: drain.EventPlanned, Kind: drain.KindProject, ID: 4}}
	if diff := cmp.Diff(want, j.Events()); diff != "" {
		t.Errorf("Events() mismatch (-want +got):\n%s", diff)
	}
	j.Close()
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(`"ev`+"\n")) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("the cut line was not dropped: %q", b)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	c, err := gitlabdata.NewClient("https://gitlab.example.com", "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []drain.Options{
		{},
		{From: "a", To: gitlabdata.String("a")},
		{From: "a", Kinds: []drain.Kind{"wiki"}},
		{From: "a", Kinds: []drain.Kind{drain.KindProject, drain.KindProject}},
		{From: "a", Order: "random"},
		{From: "a", MaxRunning: -1},
	} {
		if _, err := drain.New(c, o); err == nil {
			t.Errorf("New(%+v) succeeded; want ErrInvalidOptions", o)
		}
	}
}

// Cancelling the context (SIGINT in the tool) stops scheduling; the
// report keeps the moves in flight, and a run on the same journal
// finishes the drain without scheduling anything twice.
func TestInterruptThenResume(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	srv.AddStorage("storage2", 100)
	srv.AddProjects(12, "default")
	h := newHarness(t, srv)
	var journal bytes.Buffer
	j, _ := drain.NewJournal(nil, &journal)
	ctx, cancel := context.WithCancel(t.Context())
	opts := h.options(drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 3, Journal: j})
	scheduled := 0
	opts.OnEvent = func(ev drain.Event) {
		if ev.Type == drain.EventScheduled {
			if scheduled++; scheduled == 5 {
				cancel()
			}
		}
	}
	d, _ := drain.New(h.client, opts)
	rep, err := d.Run(ctx)
	if err == nil || !rep.Interrupted {
		t.Fatalf("Run() = %v, interrupted %v; want an interruption", err, rep.Interrupted)
	}
	inFlight := 0
	for _, r := range rep.Remaining {
		if r.Reason == drain.ReasonInFlight {
			inFlight++
		}
	}
	if inFlight == 0 || rep.Totals.Moved+len(rep.Remaining) != 12 {
		t.Errorf("moved %d, remaining %+v; want some in flight and 12 in all", rep.Totals.Moved, rep.Remaining)
	}

	j2, err := drain.NewJournal(bytes.NewReader(journal.Bytes()), &journal)
	if err != nil {
		t.Fatal(err)
	}
	rep2 := h.run(t, drain.Options{From: "default", To: gitlabdata.String("storage2"), MaxRunning: 3, Journal: j2})
	if !rep2.Empty() || rep2.Totals.Moved != 12 || !rep2.Resumed {
		t.Errorf("resumed run: moved %d, remaining %+v, resumed %v; want 12, none, true", rep2.Totals.Moved, rep2.Remaining, rep2.Resumed)
	}
	for c, n := range movesPerContainer(t, srv) {
		if n != 1 {
			t.Errorf("%s has %d moves; want 1", c, n)
		}
	}
}

// A container that appears on the storage during the drain is found by
// the next round's listing and moved.
func TestRoundsUntilEmpty(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	srv.AddStorage("storage2", 100)
	srv.AddProjects(3, "default")
	h := newHarness(t, srv)
	opts := h.options(drain.Options{From: "default", To: gitlabdata.String("storage2")})
	moved := 0
	opts.OnEvent = func(ev drain.Event) {
		if ev.Type == drain.EventMoved {
			if moved++; moved == 3 {
				srv.AddProject(gitlabtest.Project{Storage: "default"}) // created meanwhile
			}
		}
	}
	d, _ := drain.New(h.client, opts)
	rep, err := d.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Empty() || rep.Rounds != 2 || rep.Totals.Moved != 4 {
		t.Errorf("moved %d, remaining %+v after %d rounds; want 4, none after 2", rep.Totals.Moved, rep.Remaining, rep.Rounds)
	}
	if p, _ := srv.Project(4); p.Storage != "storage2" {
		t.Errorf("project 4 is on %s; want storage2", p.Storage)
	}
}

// Few requests left in GitLab's window: the drain spreads the rest of the
// window over them before its next request.
func TestPacesOnRateLimitRemaining(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("RateLimit-Limit", "100")
		w.Header().Set("RateLimit-Remaining", "5")
		w.Header().Set("RateLimit-Reset", fmt.Sprint(now.Add(60*time.Second).Unix()))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v4/application/settings" {
			fmt.Fprint(w, `{"repository_storages_weighted":{"default":0,"storage2":100}}`)
			return
		}
		fmt.Fprint(w, `[{"id":1,"path_with_namespace":"a/b","repository_storage":"default","statistics":{"repository_size":10}}]`)
	}))
	defer srv.Close()
	c, err := gitlabdata.NewClient(srv.URL, "t", gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	d, err := drain.New(c, drain.Options{From: "default", To: gitlabdata.String("storage2"), Kinds: []drain.Kind{drain.KindProject},
		Now:   func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Moves) != 1 {
		t.Errorf("plan moves %+v; want project 1", plan.Moves)
	}
	want := []time.Duration{10 * time.Second, 10 * time.Second} // 60 s left, 5 requests left: 60/(5+1)
	if diff := cmp.Diff(want, sleeps); diff != "" {
		t.Errorf("pauses mismatch (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"GET /api/v4/application/settings", "GET /api/v4/projects"}, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}
