package drain_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// instance is a fake GitLab seeded for a drain of "default" to "storage2",
// with the failures a real drain meets.
type instance struct {
	srv       *gitlabtest.Server
	projects  []int64
	snippets  []int64
	groups    []int64
	transient map[string]bool // "project/5": fails once, then moves
	// ground truth of what must remain, with the reason
	wantRemaining map[string]drain.Reason
}

func ref(k drain.Kind, id int64) string { return fmt.Sprintf("%s/%d", k, id) }

func newInstance(t *testing.T, nProjects, nSnippets, nGroups int) *instance {
	t.Helper()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	t.Cleanup(srv.Close)
	srv.AddStorage("storage2", 100)
	srv.SetStorageWeight("default", 0)
	in := &instance{srv: srv, transient: map[string]bool{}, wantRemaining: map[string]drain.Reason{}}
	for i := 1; i <= nProjects; i++ {
		p := gitlabtest.Project{Storage: "default", Namespace: "team"}
		switch i {
		case 10, 20: // permanent failures
			p.MoveFailure = "14:connection refused to gitaly-9.internal:8075"
		case 5, 15, 25: // transient failures
			p.MoveFailure = "13:deadline exceeded"
		case 30, 40:
			p.StuckIn = "started"
		case 50: // breaks every listing page that holds it
			p.Broken = true
		case 70:
			p.NoRepository = true
		}
		id := srv.AddProject(p)
		in.projects = append(in.projects, id)
		switch i {
		case 10, 20:
			in.wantRemaining[ref(drain.KindProject, id)] = drain.ReasonFailed
		case 5, 15, 25:
			in.transient[ref(drain.KindProject, id)] = true
		case 30, 40:
			in.wantRemaining[ref(drain.KindProject, id)] = drain.ReasonStuck
		case 50:
			in.wantRemaining[ref(drain.KindProject, id)] = drain.ReasonUnknown
		}
	}
	// A move scheduled before the drain started: the drain re-attaches.
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{State: gitlabdata.StorageMoveStateScheduled, DestinationStorageName: "storage2"},
		Project:               &gitlabdata.ProjectIdentity{ID: in.projects[0]},
	})
	for i := 1; i <= nSnippets; i++ {
		sn := gitlabtest.Snippet{Storage: "default", HasRepository: true}
		if i == 3 {
			sn.MoveFailure = "snippet repository is corrupt"
		}
		id := srv.AddSnippet(sn)
		in.snippets = append(in.snippets, id)
		if i == 3 {
			in.wantRemaining[ref(drain.KindSnippet, id)] = drain.ReasonFailed
		}
	}
	for i := 1; i <= nGroups; i++ {
		g := gitlabtest.Group{Storage: "default"}
		if i == 2 {
			g.MoveFailure = "wiki: 14:unavailable"
		}
		id := srv.AddGroup(g)
		in.groups = append(in.groups, id)
		if i == 2 {
			in.transient[ref(drain.KindGroupWiki, id)] = true
		}
	}
	return in
}

// heal clears the failure of a transient container after its first
// failed move.
func (in *instance) heal(ev drain.Event) {
	if ev.Type != drain.EventFailed || !in.transient[ref(ev.Kind, ev.ID)] {
		return
	}
	switch ev.Kind {
	case drain.KindProject:
		in.srv.UpdateProject(ev.ID, func(p *gitlabtest.Project) { p.MoveFailure = "" })
	case drain.KindGroupWiki:
		g, _ := in.srv.Group(ev.ID)
		g.MoveFailure = ""
		in.srv.AddGroup(g)
	}
}

// moveWatcher counts the unfinished moves the fake holds. It reads the
// newest moves of each kind down to the oldest one it saw unfinished,
// except the moves of containers the test holds stuck, which stay
// unfinished by construction (the test checks them at the end).
type moveWatcher struct {
	c     *gitlabdata.Client
	stuck map[string]bool // containers whose moves never end
	open  map[string]map[int64]bool
	held  map[string]map[int64]bool // open moves of stuck containers
	max   int
}

func newMoveWatcher(t *testing.T, srv *gitlabtest.Server, stuck map[string]bool) *moveWatcher {
	c, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return &moveWatcher{c: c, stuck: stuck, open: map[string]map[int64]bool{}, held: map[string]map[int64]bool{}}
}

type ownedMove struct {
	gitlabdata.RepositoryStorageMove
	container string
}

func allMoves(ctx context.Context, c *gitlabdata.Client, k drain.Kind) func(yield func(ownedMove, error) bool) {
	opts := &gitlabdata.ListStorageMovesOptions{PerPage: 100}
	return func(yield func(ownedMove, error) bool) {
		switch k {
		case drain.KindProject:
			for m, err := range c.ProjectRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					yield(ownedMove{}, err)
					return
				}
				if !yield(ownedMove{m.RepositoryStorageMove, ref(k, m.Project.ID)}, nil) {
					return
				}
			}
		case drain.KindGroupWiki:
			for m, err := range c.GroupRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					yield(ownedMove{}, err)
					return
				}
				if !yield(ownedMove{m.RepositoryStorageMove, ref(k, m.Group.ID)}, nil) {
					return
				}
			}
		default:
			for m, err := range c.SnippetRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					yield(ownedMove{}, err)
					return
				}
				if !yield(ownedMove{m.RepositoryStorageMove, ref(k, m.Snippet.ID)}, nil) {
					return
				}
			}
		}
	}
}

func (w *moveWatcher) check(ctx context.Context) error {
	total := 0
	for _, k := range drain.Kinds() {
		kk := string(k)
		if w.open[kk] == nil {
			w.open[kk], w.held[kk] = map[int64]bool{}, map[int64]bool{}
		}
		oldest := int64(0)
		for id := range w.open[kk] {
			if oldest == 0 || id < oldest {
				oldest = id
			}
		}
		open := map[int64]bool{}
		for m, err := range allMoves(ctx, w.c, k) {
			if err != nil {
				return err
			}
			if w.held[kk][m.ID] || (oldest != 0 && m.ID < oldest) {
				break
			}
			if m.State.Terminal() {
				if oldest == 0 {
					break // nothing was open: the newest moves have ended
				}
				continue
			}
			if w.stuck[m.container] {
				w.held[kk][m.ID] = true
			} else {
				open[m.ID] = true
			}
		}
		w.open[kk] = open
		total += len(open) + len(w.held[kk])
	}
	w.max = max(w.max, total)
	return nil
}

// movesPerContainer lists every move the fake holds and counts, per
// container, the moves that did not fail.
func movesPerContainer(t *testing.T, srv *gitlabtest.Server) map[string]int {
	t.Helper()
	c := srv.Client()
	ctx := t.Context()
	n := map[string]int{}
	count := func(k drain.Kind, id int64, st gitlabdata.StorageMoveState) {
		if st != gitlabdata.StorageMoveStateFailed {
			n[ref(k, id)]++
		}
	}
	for m, err := range c.ProjectRepositoryStorageMoves.All(ctx, &gitlabdata.ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindProject, m.Project.ID, m.State)
	}
	for m, err := range c.GroupRepositoryStorageMoves.All(ctx, &gitlabdata.ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindGroupWiki, m.Group.ID, m.State)
	}
	for m, err := range c.SnippetRepositoryStorageMoves.All(ctx, &gitlabdata.ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindSnippet, m.Snippet.ID, m.State)
	}
	return n
}

// onDefault is the fake's ground truth: what is still on "default".
func (in *instance) onDefault() map[string]bool {
	out := map[string]bool{}
	for _, id := range in.srv.ProjectsOnStorage("default") {
		out[ref(drain.KindProject, id)] = true
	}
	for _, id := range in.snippets {
		if s, _ := in.srv.Snippet(id); s.Storage == "default" {
			out[ref(drain.KindSnippet, id)] = true
		}
	}
	for _, id := range in.groups {
		if g, _ := in.srv.Group(id); g.Storage == "default" {
			out[ref(drain.KindGroupWiki, id)] = true
		}
	}
	return out
}

// fakeClock drives the fake: every pause of the drain advances the clock
// and steps the fake's moves once.
type fakeClock struct {
	now   time.Time
	srv   *gitlabtest.Server
	watch *moveWatcher
	err   error
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	if d < time.Second {
		return ctx.Err() // the pause between schedule calls
	}
	// The moves change only here and by schedule calls, so the most
	// unfinished moves are seen right before a step.
	if c.watch != nil && c.err == nil {
		c.err = c.watch.check(ctx)
	}
	c.srv.Step()
	return ctx.Err()
}

func stuckOnes(in *instance) map[string]bool {
	out := map[string]bool{}
	for c, r := range in.wantRemaining {
		if r == drain.ReasonStuck {
			out[c] = true
		}
	}
	return out
}

func testDrain(t *testing.T, nProjects, nSnippets, nGroups int) {
	in := newInstance(t, nProjects, nSnippets, nGroups)
	client, err := in.srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	const maxRunning = 8
	clock := &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), srv: in.srv, watch: newMoveWatcher(t, in.srv, stuckOnes(in))}
	events := map[drain.EventType]int{}
	d, err := drain.New(client, drain.Options{
		From: "default", To: gitlabdata.String("storage2"), MaxRunning: maxRunning, Retries: 1, StuckAfter: 10 * time.Minute,
		Now: clock.Now, Sleep: clock.Sleep,
		OnEvent: func(ev drain.Event) { events[ev.Type]++; in.heal(ev) },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Run(t.Context())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if clock.err != nil {
		t.Fatalf("watching the fake's moves: %v", clock.err)
	}

	// What remains is the fake's ground truth, each with its reason.
	truth := in.onDefault()
	got := map[string]drain.Reason{}
	for _, r := range rep.Remaining {
		got[ref(r.Kind, r.ID)] = r.Reason
		if !truth[ref(r.Kind, r.ID)] {
			t.Errorf("report says %s %d remains, but the fake has it elsewhere", r.Kind, r.ID)
		}
	}
	if diff := cmp.Diff(in.wantRemaining, got); diff != "" {
		t.Errorf("Run() remaining mismatch (-want +got):\n%s", diff)
	}
	if len(truth) != len(in.wantRemaining) {
		t.Errorf("the fake has %d containers on default; want %d", len(truth), len(in.wantRemaining))
	}
	total := nProjects + nSnippets + nGroups
	wantTotals := [5]int{total - len(in.wantRemaining), 3, 2, 0, len(in.wantRemaining)}
	gotTotals := [5]int{rep.Totals.Moved, rep.Totals.Failed, rep.Totals.Stuck, rep.Totals.NotMoved, rep.Totals.Remaining}
	if diff := cmp.Diff(wantTotals, gotTotals); diff != "" {
		t.Errorf("Run() totals [moved failed stuck not-moved remaining] mismatch (-want +got):\n%s", diff)
	}
	if rep.Totals.Reattached != 1 || rep.Totals.Retried != 7 {
		t.Errorf("reattached %d, retried %d; want 1 and 7 (4 transient failures, 3 permanent ones retried once)", rep.Totals.Reattached, rep.Totals.Retried)
	}
	if len(rep.ListingErrors) != 1 || rep.ListingErrors[0].ID != in.projects[49] {
		t.Errorf("listing errors = %+v; want one, naming project %d", rep.ListingErrors, in.projects[49])
	}
	if len(rep.Stuck) != 2 || rep.Stuck[0].State != "started" {
		t.Errorf("stuck = %+v; want projects 30 and 40 in started", rep.Stuck)
	}

	// The bound held at every pause, on the fake's side.
	if clock.watch.max > maxRunning {
		t.Errorf("the fake held %d unfinished moves at once; the bound is %d", clock.watch.max, maxRunning)
	}
	if clock.watch.max < maxRunning-2 {
		t.Errorf("the fake held at most %d unfinished moves; the drain should use its %d slots", clock.watch.max, maxRunning)
	}
	// No container got two moves that did not fail.
	for c, n := range movesPerContainer(t, in.srv) {
		if n > 1 {
			t.Errorf("%s has %d moves that did not fail; want at most 1", c, n)
		}
	}
	t.Logf("%d containers, %d moved, %d GitLab requests, at most %d unfinished moves", total, rep.Totals.Moved, rep.Requests, clock.watch.max)
	if events[drain.EventMoved] != rep.Totals.Moved {
		t.Errorf("%d moved events for %d moved", events[drain.EventMoved], rep.Totals.Moved)
	}
}

func TestDrainAgainstTheFake(t *testing.T) {
	t.Parallel()
	testDrain(t, 150, 20, 10)
}

func TestDrainThousandProjects(t *testing.T) {
	t.Parallel()
	testDrain(t, 1000, 100, 50)
}
