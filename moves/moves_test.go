package moves_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
)

// A plan's moves each go to their own destination, off their own source.
func TestPlanMovesEachToItsDestination(t *testing.T) {
	h := newHarness(t)
	a := h.projectsOn("default", 3, 1<<20)
	b := h.projectsOn("storage2", 2, 1<<20)
	plan := &moves.Plan{Moves: []moves.Move{
		h.move(a[0], "storage2", ""), h.move(a[1], "storage3", ""), h.move(b[0], "default", ""), h.move(b[1], "storage3", ""),
	}}
	rep := h.run(plan, moves.Options{MaxRunning: 2})
	diff(t, "storages after", []string{"storage2", "storage3", "default", "default", "storage3"},
		[]string{h.storageOf(a[0]), h.storageOf(a[1]), h.storageOf(a[2]), h.storageOf(b[0]), h.storageOf(b[1])})
	if rep.Totals.Found != 4 || rep.Totals.Moved != 4 || rep.Totals.Bytes != 4<<20 {
		t.Errorf("totals = %+v; want 4 found and moved, 4 MiB", rep.Totals)
	}
	for _, ev := range h.eventsOf(moves.EventMoved) {
		if ev.From == "" || ev.To == "" || ev.From == ev.To {
			t.Errorf("moved event %+v does not say where from and to", ev)
		}
	}
	if rep.From != "" || rep.To != nil {
		t.Errorf("report of moves names a storage emptied: from %q to %v", rep.From, rep.To)
	}
}

// The bounds per source and per destination hold at every poll, and the
// run still ends with every move made.
func TestBoundsPerSourceAndDestination(t *testing.T) {
	h := newHarness(t)
	var ms []moves.Move
	for _, id := range h.projectsOn("default", 6, 1<<20) {
		ms = append(ms, h.move(id, "storage2", ""))
	}
	for _, id := range h.projectsOn("storage3", 6, 1<<20) {
		ms = append(ms, h.move(id, "storage2", ""))
	}
	for _, id := range h.projectsOn("storage2", 6, 1<<20) {
		ms = append(ms, h.move(id, "default", ""))
	}
	type pair struct{ from, to string }
	maxSeen := map[string]int{}
	h.onPause = func() { // the fake's ground truth: its unfinished moves
		bySource, byDest := map[string]int{}, map[string]int{}
		for m, err := range h.srv.Client().ProjectRepositoryStorageMoves.All(context.Background(), nil) {
			if err != nil {
				t.Error(err)
				return
			}
			if !m.State.Terminal() {
				bySource[m.SourceStorageName]++
				byDest[m.DestinationStorageName]++
			}
		}
		for s, n := range bySource {
			maxSeen["from "+s] = max(maxSeen["from "+s], n)
		}
		for s, n := range byDest {
			maxSeen["to "+s] = max(maxSeen["to "+s], n)
		}
	}
	rep := h.run(&moves.Plan{Moves: ms}, moves.Options{MaxRunning: 6, MaxRunningPerSource: 2, MaxRunningPerDestination: 3})
	if rep.Totals.Moved != 18 {
		t.Fatalf("moved %d of 18: %+v", rep.Totals.Moved, rep.Remaining)
	}
	for k, n := range maxSeen {
		limit := 2
		if strings.HasPrefix(k, "to ") {
			limit = 3
		}
		if n > limit {
			t.Errorf("%d moves running %s; the bound is %d", n, k, limit)
		}
	}
	if maxSeen["to storage2"] != 3 {
		t.Errorf("at most %d moves ran to storage2; want the bound, 3, reached (%v)", maxSeen["to storage2"], maxSeen)
	}
}

// While Sidekiq's queue is above the threshold no schedule call is sent;
// after it, scheduling resumes within two polls with the bound halved.
func TestBackPressure(t *testing.T) {
	h := newHarness(t)
	var ms []moves.Move
	for _, id := range h.projectsOn("default", 12, 1<<20) {
		ms = append(ms, h.move(id, "storage2", ""))
	}
	spikeAt, spikeLeft := -1, 0
	postsAtPause, postsAtResume := -1, -1
	sleepsAtCalm := -1
	var opts moves.Options
	opts.OnEvent = func(ev moves.Event) {
		switch ev.Type {
		case moves.EventScheduled:
			if len(h.eventsOf(moves.EventScheduled)) == 4 && spikeAt < 0 {
				spikeAt = h.schedulePosts()
				h.setQueue(90, 500) // the spike: 90 s of latency
			}
		case moves.EventPaused:
			postsAtPause = h.schedulePosts()
		case moves.EventResumed:
			postsAtResume = h.schedulePosts()
			h.mu.Lock()
			spikeLeft = -1 // resumed while the queue was busy
			if sleepsAtCalm >= 0 {
				spikeLeft = h.sleeps - sleepsAtCalm
			}
			h.mu.Unlock()
		}
	}
	pauses := 0
	h.onPause = func() {
		if postsAtPause >= 0 && sleepsAtCalm < 0 {
			if pauses++; pauses == 5 { // the spike lasts 5 simulated seconds
				h.setQueue(0, 0)
				h.mu.Lock()
				sleepsAtCalm = h.sleeps
				h.mu.Unlock()
			}
		}
	}
	opts.MaxRunning = 4
	opts.BackPressure = &moves.BackPressure{MaxLatency: 30e9}
	rep := h.run(&moves.Plan{Moves: ms}, opts)
	if rep.Totals.Moved != 12 {
		t.Fatalf("moved %d of 12", rep.Totals.Moved)
	}
	paused, resumed := h.eventsOf(moves.EventPaused), h.eventsOf(moves.EventResumed)
	if len(paused) != 1 || len(resumed) != 1 {
		t.Fatalf("%d paused and %d resumed events; want one each", len(paused), len(resumed))
	}
	if want := "Sidekiq queue default: oldest job waited 1m30s, above 30s"; paused[0].Reason != want || paused[0].Attempt != 2 {
		t.Errorf("paused = %q (bound %d); want %q and the bound halved to 2", paused[0].Reason, paused[0].Attempt, want)
	}
	if postsAtResume != postsAtPause {
		t.Errorf("%d schedule calls were sent while paused", postsAtResume-postsAtPause)
	}
	if spikeLeft < 0 || spikeLeft > 2 {
		t.Errorf("scheduling resumed %d polls after the queue calmed (-1: before); want within 2", spikeLeft)
	}
	if spikeAt < 0 || postsAtPause-spikeAt > 1 {
		t.Errorf("%d schedule calls went out after the spike began (at call %d); want at most the one already decided", postsAtPause-spikeAt, spikeAt)
	}
}

// Without access to Sidekiq's API the run warns once and goes on.
func TestBackPressureWithoutSidekiqAccess(t *testing.T) {
	h := newHarness(t)
	h.queueStatus = 403
	var ms []moves.Move
	for _, id := range h.projectsOn("default", 3, 1<<20) {
		ms = append(ms, h.move(id, "storage2", ""))
	}
	rep := h.run(&moves.Plan{Moves: ms}, moves.Options{BackPressure: &moves.BackPressure{MaxBacklog: 10}})
	if rep.Totals.Moved != 3 {
		t.Errorf("moved %d of 3", rep.Totals.Moved)
	}
	want := []string{"cannot read Sidekiq's queues (GET /api/v4/sidekiq/queue_metrics: 403): scheduling goes on without back-pressure"}
	diff(t, "warnings", want, rep.Warnings)
}

// When a move of a unit fails for good, its moves not yet scheduled are
// skipped, not split off; Replan is asked to plan around the failure.
func TestUnitFailureAndReplan(t *testing.T) {
	h := newHarness(t)
	unit := h.projectsOn("default", 3, 1<<20)
	spare := h.projectsOn("default", 1, 1<<20)
	h.srv.UpdateProject(unit[1], func(p *gitlabtest.Project) { p.MoveFailure = "14:connection refused" })
	var failed []moves.Container
	plan := &moves.Plan{
		Moves: []moves.Move{h.move(unit[0], "storage2", "net-1"), h.move(unit[1], "storage2", "net-1"), h.move(unit[2], "storage2", "net-1")},
		Replan: func(_ context.Context, f []moves.Container) ([]moves.Move, error) {
			failed = append(failed, f...)
			return []moves.Move{h.move(spare[0], "storage3", "")}, nil
		},
	}
	rep := h.run(plan, moves.Options{MaxRunning: 1})
	diff(t, "failed containers given to Replan", []int64{unit[1]}, ids(failed))
	diff(t, "storages after", []string{"storage2", "default", "default", "storage3"},
		[]string{h.storageOf(unit[0]), h.storageOf(unit[1]), h.storageOf(unit[2]), h.storageOf(spare[0])})
	var reasons []string
	for _, r := range rep.Remaining {
		reasons = append(reasons, string(r.Outcome)+"/"+string(r.Reason))
	}
	diff(t, "remaining", []string{"failed/retries_used", "skipped/unit_failed"}, reasons)
	if rep.Rounds != 2 {
		t.Errorf("rounds = %d; want 2 (the plan, then the moves planned around the failure)", rep.Rounds)
	}
}

func ids(cs []moves.Container) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// A journal is resumed only with the plan that wrote it; resumed, it
// does not move again what moved.
func TestJournalOfAPlan(t *testing.T) {
	h := newHarness(t)
	p := h.projectsOn("default", 2, 1<<20)
	plan := &moves.Plan{Moves: []moves.Move{h.move(p[0], "storage2", ""), h.move(p[1], "storage2", "")}}
	var buf bytes.Buffer
	j, _ := moves.NewJournal(nil, &buf)
	h.run(plan, moves.Options{Journal: j})
	postsBefore := h.schedulePosts()

	j2, err := moves.NewJournal(bytes.NewReader(buf.Bytes()), &buf)
	if err != nil {
		t.Fatal(err)
	}
	rep := h.run(plan, moves.Options{Journal: j2})
	if rep.Totals.Moved != 2 || h.schedulePosts() != postsBefore {
		t.Errorf("resume: moved %d, %d new schedule calls; want 2 moved earlier and none sent", rep.Totals.Moved, h.schedulePosts()-postsBefore)
	}

	again, err := moves.JournalPlan(j2.Events())
	if err != nil || again.Digest() != plan.Digest() || len(again.Moves) != 2 {
		t.Errorf("JournalPlan() = %+v, %v; want the plan that wrote the journal", again, err)
	}

	other := &moves.Plan{Moves: []moves.Move{h.move(p[0], "storage3", "")}}
	j3, _ := moves.NewJournal(bytes.NewReader(buf.Bytes()), &buf)
	m, err := moves.New(h.client, other, h.options(moves.Options{Journal: j3}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "is of another plan") {
		t.Errorf("Run() with another plan's journal = %v; want it refused", err)
	}
}

// Revert moves back what a journal moved, to where each came from.
func TestRevert(t *testing.T) {
	h := newHarness(t)
	a := h.projectsOn("default", 2, 1<<20)
	b := h.projectsOn("storage3", 1, 1<<20)
	var buf bytes.Buffer
	j, _ := moves.NewJournal(nil, &buf)
	h.run(&moves.Plan{Moves: []moves.Move{h.move(a[0], "storage2", "u"), h.move(a[1], "storage3", ""), h.move(b[0], "storage2", "")}}, moves.Options{Journal: j})
	j2, _ := moves.NewJournal(bytes.NewReader(buf.Bytes()), &buf)
	events := j2.Events()
	back, err := moves.Revert(events)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "revert moves", []moves.Move{
		{Container: moves.Container{Kind: moves.KindProject, ID: a[0], Storage: "storage2", Size: 1 << 20, HasSize: true}, To: "default", Unit: "u"},
		{Container: moves.Container{Kind: moves.KindProject, ID: a[1], Storage: "storage3", Size: 1 << 20, HasSize: true}, To: "default"},
		{Container: moves.Container{Kind: moves.KindProject, ID: b[0], Storage: "storage2", Size: 1 << 20, HasSize: true}, To: "storage3"},
	}, back)
	h.run(&moves.Plan{Moves: back}, moves.Options{})
	diff(t, "storages after the revert", []string{"default", "default", "storage3"}, []string{h.storageOf(a[0]), h.storageOf(a[1]), h.storageOf(b[0])})
}

// A plan that would do more than asked is refused before any request.
func TestInvalidPlans(t *testing.T) {
	c, err := gitlabdata.NewClient("http://127.0.0.1:1", "glpat-x")
	if err != nil {
		t.Fatal(err)
	}
	p := func(id int64, from, to string) moves.Move {
		return moves.Move{Container: moves.Container{Kind: moves.KindProject, ID: id, Storage: from}, To: to}
	}
	for _, tc := range []struct {
		plan *moves.Plan
		opts moves.Options
		want string
	}{
		{nil, moves.Options{}, "nil plan"},
		{&moves.Plan{Moves: []moves.Move{p(1, "", "b")}}, moves.Options{}, "move 1 (project 1): no source storage"},
		{&moves.Plan{Moves: []moves.Move{p(1, "a", "")}}, moves.Options{}, "move 1 (project 1): no destination storage"},
		{&moves.Plan{Moves: []moves.Move{p(1, "a", "a")}}, moves.Options{}, `move 1 (project 1): its destination "a" is its own storage`},
		{&moves.Plan{Moves: []moves.Move{p(1, "a", "b"), p(1, "a", "c")}}, moves.Options{}, "move 2 (project 1): the container is moved twice"},
		{&moves.Plan{Moves: []moves.Move{{Container: moves.Container{Kind: "repo", ID: 1, Storage: "a"}, To: "b"}}}, moves.Options{}, `unknown kind "repo"`},
		{&moves.Plan{Moves: []moves.Move{p(1, "a", "b")}, Empty: &moves.Empty{From: "a"}}, moves.Options{}, "either empties a storage or lists moves"},
		{&moves.Plan{}, moves.Options{MaxRunningPerSource: -1}, "MaxRunningPerSource is negative"},
		{&moves.Plan{}, moves.Options{BackPressure: &moves.BackPressure{}}, "BackPressure needs MaxLatency or MaxBacklog"},
	} {
		_, err := moves.New(c, tc.plan, tc.opts)
		if !errors.Is(err, moves.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want ErrInvalidOptions saying %q", tc.plan, err, tc.want)
		}
	}
}

// A maintenance window that closes in the middle of a unit lets the unit
// finish: a fork network is not split; what was not begun is skipped.
func TestWindowDoesNotSplitAUnit(t *testing.T) {
	h := newHarness(t)
	unit := h.projectsOn("default", 3, 1<<20)
	alone := h.projectsOn("default", 1, 1<<20)
	plan := &moves.Plan{Moves: []moves.Move{h.move(unit[0], "storage2", "net"), h.move(unit[1], "storage2", "net"), h.move(unit[2], "storage2", "net"), h.move(alone[0], "storage3", "")}}
	rep := h.run(plan, moves.Options{MaxRunning: 1, ScheduleUntil: t0.Add(500 * time.Millisecond)})
	diff(t, "storages after", []string{"storage2", "storage2", "storage2", "default"},
		[]string{h.storageOf(unit[0]), h.storageOf(unit[1]), h.storageOf(unit[2]), h.storageOf(alone[0])})
	if rep.Totals.Moved != 3 || rep.Totals.Skipped != 1 {
		t.Errorf("moved %d, skipped %d; want the unit moved and the other skipped (window)", rep.Totals.Moved, rep.Totals.Skipped)
	}
}

// A move still in flight when the journal ends may have landed: Revert
// moves it back too (read again first, it is gone if it did not move).
func TestRevertIncludesMovesInFlight(t *testing.T) {
	events := []moves.Event{
		{Type: moves.EventHeader, Plan: "x"},
		{Type: moves.EventPlanned, Kind: moves.KindProject, ID: 1, From: "a", To: "b"},
		{Type: moves.EventScheduled, Kind: moves.KindProject, ID: 1, Move: 7, From: "a", To: "b"},
		{Type: moves.EventPlanned, Kind: moves.KindProject, ID: 2, From: "a", To: "c"},
		{Type: moves.EventScheduled, Kind: moves.KindProject, ID: 2, Move: 8, From: "a", To: "c"},
		{Type: moves.EventFailed, Kind: moves.KindProject, ID: 2, Move: 8, From: "a", To: "c", Final: true},
		{Type: moves.EventScheduled, Kind: moves.KindProject, ID: 3, Move: 9, From: "a", To: "b"},
		{Type: moves.EventMoved, Kind: moves.KindProject, ID: 3, From: "a", To: "b"},
		{Type: moves.EventScheduled, Kind: moves.KindProject, ID: 3, Move: 10, From: "b", To: "c"},
		{Type: moves.EventFailed, Kind: moves.KindProject, ID: 3, Move: 10, From: "b", To: "c"},
	}
	got, err := moves.Revert(events)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "revert", []moves.Move{
		{Container: moves.Container{Kind: moves.KindProject, ID: 1, Storage: "b"}, To: "a"},
		{Container: moves.Container{Kind: moves.KindProject, ID: 3, Storage: "b"}, To: "a"},
	}, got)
}
