package drain_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

func TestPlanIsADryRunInOrderWithBudgetsAndTheWeightWarning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddStorage("storage2", 50)
	for _, size := range []int64{300, 100, 200} {
		h.srv.AddProject(gitlabtest.Project{Storage: "default", RepositorySize: size})
	}
	h.srv.AddProject(gitlabtest.Project{Storage: "storage2"})
	sn := h.srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
	g := h.srv.AddGroup(gitlabtest.Group{Storage: "default"})
	d, err := drain.New(h.client, h.options(drain.Options{From: "default", Order: drain.OrderSmallestFirst, MaxMoves: 4, MaxBytes: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := d.Plan(t.Context())
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	var got []string
	for _, c := range plan.Moves {
		got = append(got, fmt.Sprintf("%s/%d:%d:%v", c.Kind, c.ID, c.Size, c.HasSize))
	}
	// GitLab gives no size for a group wiki nor a snippet (corrections #20).
	want := []string{fmt.Sprintf("group_wiki/%d:0:false", g), fmt.Sprintf("snippet/%d:0:false", sn), "project/2:100:true", "project/3:200:true"}
	diff(t, "Plan() moves", want, got)
	if len(plan.Skipped) != 1 || plan.Skipped[0].ID != 1 || plan.Skipped[0].Outcome != drain.OutcomeSkipped || plan.Skipped[0].Reason != drain.ReasonMaxMoves {
		t.Errorf("Plan() skipped = %+v; want project 1 (the largest) skipped by max_moves", plan.Skipped)
	}
	if plan.Bytes != 300 || plan.UnknownSize != 2 {
		t.Errorf("Plan() bytes %d, unknown size %d; want 300 and 2", plan.Bytes, plan.UnknownSize)
	}
	diff(t, "Plan() warnings", []string{
		"no destination: GitLab picks one by weight, and default has weight 100, so moves may land back on it (they are reported as not moved); set its weight to 0 first",
		"2 containers have no size GitLab gives (group wikis, snippets): they count as 0 bytes against the byte budget",
	}, plan.Warnings)
	var paths []string
	for _, r := range h.srv.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("the dry run sent %s %s", r.Method, r.Path)
		}
		paths = append(paths, r.Path)
	}
	diff(t, "the dry run's requests", []string{"/api/v4/user", "/api/v4/application/settings", "/api/v4/groups", "/api/v4/snippets/all", "/api/v4/projects"}, paths)
}

// GitLab's weighted pick may choose the source itself; such a move
// finishes without moving (corrections #11) and must not count as moved.
func TestFinishedButNotMoved(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // default has weight 100
	h.srv.AddStorage("storage2", 20)
	h.srv.AddProjects(6, "default")
	d, err := drain.New(h.client, h.options(drain.Options{From: "default"}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	want := map[string]string{}
	for _, id := range h.srv.ProjectsOnStorage("default") {
		want[ref(drain.KindProject, id)] = "not_moved/still_on_source"
	}
	if len(want) == 0 || len(want) == 6 {
		t.Fatalf("%d of 6 projects stayed on default; the test needs some of each", len(want))
	}
	diff(t, "Run() remaining", want, remaining(rep))
	if rep.Totals.Moved != 6-len(want) || rep.Totals.NotMoved != len(want) || rep.Empty() {
		t.Errorf("moved %d, not moved %d, empty %v; want %d, %d, false", rep.Totals.Moved, rep.Totals.NotMoved, rep.Empty(), 6-len(want), len(want))
	}
}

// Without a destination and no storage but From with a weight, every
// move would land back on From: the drain refuses before it lists.
func TestNoStorageCanReceiveTheMoves(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // only default
	h.srv.AddProjects(2, "default")
	d, err := drain.New(h.client, h.options(drain.Options{From: "default"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Run(t.Context())
	if got := haltOf(t, err); got.What != "no storage can receive the moves" || h.requests("GET /projects") != 0 {
		t.Errorf("halt %q after %d listings; want no storage can receive the moves, before any listing", got.Error(), h.requests("GET /projects"))
	}
}

func TestLimitsGiveEachContainerOneOutcome(t *testing.T) {
	t.Parallel()
	t.Run("max moves", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProjects(5, "default")
		rep := h.run(drain.Options{MaxMoves: 3})
		diff(t, "Run() remaining", map[string]string{"project/4": "skipped/max_moves", "project/5": "skipped/max_moves"}, remaining(rep))
		if rep.Totals.Moved != 3 || rep.Totals.Skipped != 2 {
			t.Errorf("moved %d, skipped %d; want 3 and 2", rep.Totals.Moved, rep.Totals.Skipped)
		}
	})
	// The breaker stops scheduling; a container whose retry was due fails
	// for good (it was promised no retry), the others are skipped.
	// Two moves fail at once; the second seen (project 1's: the newest
	// moves come first) trips MaxFailures. The first, project 2, whose
	// retry was due, fails for good (it was promised no retry); the
	// containers never scheduled are skipped.
	t.Run("max failures", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProject(gitlabtest.Project{Storage: "default", MoveFailure: "gitaly down"})
		h.srv.AddProject(gitlabtest.Project{Storage: "default", MoveFailure: "gitaly down"})
		h.srv.AddProjects(4, "default")
		rep := h.run(drain.Options{MaxRunning: 2, MaxFailures: 2, Retries: 3})
		want := map[string]string{
			"project/1": "failed/breaker", "project/2": "failed/breaker",
			"project/3": "skipped/max_failures", "project/4": "skipped/max_failures", "project/5": "skipped/max_failures", "project/6": "skipped/max_failures",
		}
		diff(t, "Run() remaining", want, remaining(rep))
		diff(t, "project 2's events", []drain.EventType{drain.EventPlanned, drain.EventScheduling, drain.EventScheduled, drain.EventFailed, drain.EventFailed}, h.eventsOf(drain.KindProject, 2))
		var final []bool
		for _, ev := range h.events {
			if ev.Type == drain.EventFailed && ev.ID == 2 {
				final = append(final, ev.Final)
			}
		}
		diff(t, "project 2's failures: final", []bool{false, true}, final)
		diff(t, "schedule calls", []string{"/projects/1/repository_storage_moves", "/projects/2/repository_storage_moves"}, h.posts())
	})
	t.Run("read-only without a move", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProject(gitlabtest.Project{Storage: "default", ReadOnly: true})
		h.srv.AddProjects(1, "default")
		rep := h.run(drain.Options{})
		diff(t, "Run() remaining", map[string]string{"project/1": "failed/read_only"}, remaining(rep))
	})
	// A maintenance window: nothing is scheduled once it closes, and the
	// moves running then are followed to their end.
	t.Run("window", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProjects(6, "default")
		rep := h.run(drain.Options{MaxRunning: 2, ScheduleUntil: t0.Add(2 * time.Second)})
		diff(t, "Run() remaining", map[string]string{"project/3": "skipped/window", "project/4": "skipped/window", "project/5": "skipped/window", "project/6": "skipped/window"}, remaining(rep))
		if rep.Totals.Moved != 2 {
			t.Errorf("moved %d; want the 2 scheduled before the window closed", rep.Totals.Moved)
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
			h := drainFleet(t)
			h.srv.AddProject(gitlabtest.Project{Storage: "default", StuckIn: "started"})
			h.srv.AddProjects(2, "default")
			rep := h.run(drain.Options{MaxRunning: 1, StuckAfter: 5 * time.Minute, ReleaseStuck: release})
			want := map[string]string{"project/1": "stuck/stuck"}
			if !release {
				want["project/2"], want["project/3"] = "skipped/max_running", "skipped/max_running"
			}
			diff(t, "Run() remaining", want, remaining(rep))
			if len(rep.Stuck) != 1 || rep.Stuck[0].ID != 1 || rep.Stuck[0].State != "started" || rep.Stuck[0].Move == 0 {
				t.Errorf("stuck = %+v; want project 1's move in started", rep.Stuck)
			}
		})
	}
}

// A stuck move that holds the only slot after other moves finished: those
// are verified, the rest skipped, and the run ends.
func TestAStuckMoveHoldingTheLastSlotEndsTheRun(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(5, "default")
	h.srv.UpdateProject(3, func(p *gitlabtest.Project) { p.StuckIn = "started" })
	rep := h.run(drain.Options{MaxRunning: 1, StuckAfter: 5 * time.Minute})
	diff(t, "Run() remaining", map[string]string{"project/3": "stuck/stuck", "project/4": "skipped/max_running", "project/5": "skipped/max_running"}, remaining(rep))
	if rep.Totals.Moved != 2 {
		t.Errorf("moved %d; want projects 1 and 2", rep.Totals.Moved)
	}
}

// A heartbeat says where the run is while nothing changes.
func TestHeartbeatWhileNothingChanges(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProject(gitlabtest.Project{Storage: "default", StuckIn: "started"})
	h.run(drain.Options{StuckAfter: 10 * time.Minute, HeartbeatEvery: 3 * time.Minute})
	var beats []string
	for _, ev := range h.events {
		if ev.Type == drain.EventHeartbeat {
			beats = append(beats, ev.Reason)
			if ev.Progress == nil || ev.Progress.Running != 1 || ev.Progress.Found != 1 {
				t.Errorf("heartbeat progress = %+v; want 1 found, 1 running", ev.Progress)
			}
		}
	}
	if len(beats) < 2 || beats[0] != "1 moves running, 0 waiting, 0 moved of 1 found" {
		t.Errorf("heartbeats = %q; want at least 2 in the 10 minutes before the move is stuck", beats)
	}
}

// A container that appears on the storage during the drain is found by
// the next round's listing and moved.
func TestRoundsUntilEmpty(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(3, "default")
	moved := 0
	rep := h.run(drain.Options{OnEvent: func(ev drain.Event) {
		if ev.Type == drain.EventMoved {
			if moved++; moved == 3 {
				h.srv.AddProject(gitlabtest.Project{Storage: "default"}) // created meanwhile
			}
		}
	}})
	if !rep.Empty() || rep.Rounds != 3 || rep.Totals.Moved != 4 {
		t.Errorf("moved %d, remaining %+v after %d rounds; want 4, none after 3 listings", rep.Totals.Moved, rep.Remaining, rep.Rounds)
	}
}

// A container that someone else moved while it waited is read again
// before it is scheduled (its listing is older than RecheckAfter): it is
// gone, and no move of it is scheduled.
func TestAContainerMovedMeanwhileIsGoneNotMovedAgain(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddStorage("storage3", 0)
	h.srv.AddProjects(3, "default")
	sn := h.srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
	h.onPause = func() {
		h.srv.UpdateProject(3, func(p *gitlabtest.Project) { p.Storage = "storage3" })
		s, _ := h.srv.Snippet(sn)
		s.Storage = "storage3"
		h.srv.AddSnippet(s)
	}
	rep := h.run(drain.Options{MaxRunning: 1, RecheckAfter: time.Second, Kinds: []drain.Kind{drain.KindProject, drain.KindSnippet}})
	diff(t, "Run() remaining", map[string]string{}, remaining(rep))
	if rep.Totals.Gone != 2 || rep.Totals.Moved != 2 {
		t.Errorf("gone %d, moved %d; want 2 and 2", rep.Totals.Gone, rep.Totals.Moved)
	}
	diff(t, "schedule calls", []string{"/projects/1/repository_storage_moves", "/projects/2/repository_storage_moves"}, h.posts())
}

// A container another drain moved after this one listed it (its listing
// still young): GitLab answers the schedule call with a move from where
// it is now; that container is gone, not counted as moved.
func TestAMoveFromAnotherStorageIsNotCountedAsMoved(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(3, "default")
	once := false
	h.onPause = func() {
		if !once {
			once = true
			h.srv.UpdateProject(3, func(p *gitlabtest.Project) { p.Storage = "storage2" })
		}
	}
	rep := h.run(drain.Options{MaxRunning: 1})
	if !rep.Empty() || rep.Totals.Moved != 2 || rep.Totals.Gone != 1 {
		t.Errorf("moved %d, gone %d, remaining %v; want 2, 1, none", rep.Totals.Moved, rep.Totals.Gone, remaining(rep))
	}
	diff(t, "project 3's events", []drain.EventType{drain.EventPlanned, drain.EventScheduling, drain.EventScheduled, drain.EventGone}, h.eventsOf(drain.KindProject, 3))
}

// A move of a waiting container that someone else scheduled is followed,
// not scheduled again.
func TestFollowsAMoveSomeoneElseScheduled(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(3, "default")
	once := false
	h.onPause = func() {
		if !once {
			once = true
			h.srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
				RepositoryStorageMove: gitlabdata.RepositoryStorageMove{State: gitlabdata.StorageMoveStateScheduled, DestinationStorageName: "storage2"},
				Project:               &gitlabdata.ProjectIdentity{ID: 3},
			})
		}
	}
	rep := h.run(drain.Options{MaxRunning: 1})
	if !rep.Empty() || rep.Totals.Moved != 3 || rep.Totals.Reattached != 1 {
		t.Errorf("moved %d, reattached %d, remaining %v; want 3, 1, none", rep.Totals.Moved, rep.Totals.Reattached, remaining(rep))
	}
	diff(t, "schedule calls", []string{"/projects/1/repository_storage_moves", "/projects/2/repository_storage_moves"}, h.posts())
	atMostOneMove(t, h.srv)
}

// GitLab's truth about what is on a storage (corrections #18-#21).
func TestFaithfulToGitLab(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	pd := h.srv.AddProject(gitlabtest.Project{Storage: "default", PendingDelete: true})
	h.srv.AddProject(gitlabtest.Project{Storage: "default", Namespace: "team", WikiSize: 5 << 20})
	g := h.srv.AddGroup(gitlabtest.Group{Path: "team", Storage: "default"})
	h.srv.AddGroup(gitlabtest.Group{NoWiki: true})
	sn := h.srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
	rep := h.run(drain.Options{})
	if !rep.Empty() || rep.Totals.Found != 4 || rep.Totals.Moved != 4 {
		t.Errorf("found %d, moved %d, remaining %v; want the pending-delete project, the other, the group wiki and the snippet moved", rep.Totals.Found, rep.Totals.Moved, remaining(rep))
	}
	if p, _ := h.srv.Project(pd); p.Storage != "storage2" {
		t.Errorf("the pending-delete project is on %s; want storage2", p.Storage)
	}
	for _, k := range rep.Kinds {
		if k.Kind == drain.KindGroupWiki && (k.UnknownSize != 1 || k.PlannedBytes != 0) {
			t.Errorf("group wikis: unknown size %d, planned bytes %d; want 1 and 0 (statistics.wiki_size is the projects' wikis)", k.UnknownSize, k.PlannedBytes)
		}
	}
	// Group wikis and snippets are verified by id, not by re-listing.
	for _, ep := range []string{fmt.Sprintf("GET /groups/%d", g), fmt.Sprintf("GET /snippets/%d", sn)} {
		if n := h.requests(ep); n != 1 {
			t.Errorf("%s: %d requests; want 1 (the verification)", ep, n)
		}
	}
}

// Cancelling the context (Ctrl-C in the tool) stops at once: containers
// never scheduled are not attempted, moves running are in flight; a run
// on the same journal finishes the drain without scheduling anything
// twice.
func TestInterruptThenResume(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(12, "default")
	var journal strings.Builder
	j, _ := drain.NewJournal(nil, &journal)
	ctx, cancel := context.WithCancel(t.Context())
	scheduled := 0
	d := h.drain(drain.Options{MaxRunning: 3, Journal: j, OnEvent: func(ev drain.Event) {
		if ev.Type == drain.EventScheduled {
			if scheduled++; scheduled == 5 {
				cancel()
			}
		}
	}})
	rep, err := d.Run(ctx)
	if !errors.Is(err, context.Canceled) || !rep.Interrupted {
		t.Fatalf("Run() = %v, interrupted %v; want an interruption", err, rep.Interrupted)
	}
	checkCounts(t, rep)
	// A container scheduled before the interruption was attempted: its
	// move runs, or finished unverified; the others were not attempted.
	for _, r := range rep.Remaining {
		scheduled := slices.Contains(h.eventsOf(r.Kind, r.ID), drain.EventScheduled)
		want := []drain.Reason{drain.ReasonInterrupted}
		if scheduled {
			want = []drain.Reason{drain.ReasonInFlight, drain.ReasonUnverified}
		}
		if r.Outcome != drain.OutcomeNotAttempted || !slices.Contains(want, r.Reason) {
			t.Errorf("%s %d (scheduled: %v) remains %s/%s; want not_attempted/%v", r.Kind, r.ID, scheduled, r.Outcome, r.Reason, want)
		}
	}
	if rep.Totals.NotAttempted != 12-rep.Totals.Moved || len(rep.Remaining) < 7 {
		t.Errorf("moved %d, not attempted %d; want the 12 in these two outcomes, most not attempted", rep.Totals.Moved, rep.Totals.NotAttempted)
	}

	j2, err := drain.NewJournal(strings.NewReader(journal.String()), &journal)
	if err != nil {
		t.Fatal(err)
	}
	rep2 := h.run(drain.Options{MaxRunning: 3, Journal: j2})
	if !rep2.Empty() || rep2.Totals.Moved != 12 || !rep2.Resumed {
		t.Errorf("resumed run: moved %d, remaining %v, resumed %v; want 12, none, true", rep2.Totals.Moved, remaining(rep2), rep2.Resumed)
	}
	atMostOneMove(t, h.srv)
}

// A later run on the journal tries again what an earlier run left on the
// storage (here: a move that failed), with its own retries.
func TestALaterRunRetriesWhatRemains(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProject(gitlabtest.Project{Storage: "default", MoveFailure: "gitaly down"})
	var journal strings.Builder
	j, _ := drain.NewJournal(nil, &journal)
	rep := h.run(drain.Options{Journal: j})
	diff(t, "first run remaining", map[string]string{"project/1": "failed/retries_used"}, remaining(rep))
	h.srv.UpdateProject(1, func(p *gitlabtest.Project) { p.MoveFailure = "" })
	j2, _ := drain.NewJournal(strings.NewReader(journal.String()), &journal)
	rep2 := h.run(drain.Options{Journal: j2})
	if !rep2.Empty() || rep2.Totals.Moved != 1 {
		t.Errorf("second run: moved %d, remaining %v; want project 1 moved", rep2.Totals.Moved, remaining(rep2))
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
		{From: "a", RecheckAfter: -time.Second},
		{From: "a", MaxRequestFailures: -1},
	} {
		if _, err := drain.New(c, o); !errors.Is(err, drain.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v; want ErrInvalidOptions", o, err)
		}
	}
}

// One run per storage in a process, and a Drain runs once.
func TestOneRunPerStorage(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(4, "default")
	second := h.drain(drain.Options{})
	var secondErr error
	for range 2 { // Plan may run any number of times before Run
		if plan, err := second.Plan(t.Context()); err != nil || len(plan.Moves) != 4 {
			t.Fatalf("Plan() = %+v, %v; want 4 moves", plan, err)
		}
	}
	first := h.drain(drain.Options{OnEvent: func(ev drain.Event) {
		if ev.Type == drain.EventScheduled && secondErr == nil {
			_, secondErr = second.Run(t.Context())
		}
	}})
	rep, err := first.Run(t.Context())
	if err != nil || !rep.Empty() {
		t.Fatalf("first Run() = %v, remaining %v", err, remaining(rep))
	}
	checkCounts(t, rep)
	if secondErr == nil || !strings.Contains(secondErr.Error(), "already running in this process") {
		t.Errorf("a second Run of the storage while the first ran = %v; want it refused", secondErr)
	}
	atMostOneMove(t, h.srv)
	if _, err := first.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "runs once") {
		t.Errorf("Run() again = %v; want it refused", err)
	}
	if _, err := first.Plan(t.Context()); err == nil {
		t.Error("Plan() after Run() succeeded; want it refused")
	}
	//lint:ignore SA1012 Run must refuse a nil context, not panic
	if _, err := h.drain(drain.Options{}).Run(nil); err == nil { //nolint:staticcheck
		t.Error("Run(nil) succeeded; want an error")
	}
}
