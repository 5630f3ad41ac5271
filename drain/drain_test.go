package drain_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// instance is a fake GitLab seeded for a drain of "default" to "storage2",
// with the failures a real drain meets, and the ground truth of how each
// container must end.
type instance struct {
	*harness
	projects, snippets, groups []int64
	transient                  map[string]bool // fails once, then moves
	want                       map[string]string
}

func newInstance(t *testing.T, nProjects, nSnippets, nGroups int) *instance {
	in := &instance{harness: drainFleet(t), transient: map[string]bool{}, want: map[string]string{}}
	srv := in.srv
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
		case 80: // GET /projects shows it only with include_pending_delete
			p.PendingDelete = true
		}
		id := srv.AddProject(p)
		in.projects = append(in.projects, id)
		switch i {
		case 10, 20:
			in.want[ref(drain.KindProject, id)] = "failed/retries_used"
		case 5, 15, 25:
			in.transient[ref(drain.KindProject, id)] = true
		case 30, 40:
			in.want[ref(drain.KindProject, id)] = "stuck/stuck"
		case 50:
			in.want[ref(drain.KindProject, id)] = "unknown/listing_error"
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
			in.want[ref(drain.KindSnippet, id)] = "failed/retries_used"
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
	// A group without a wiki repository is on no storage: not drained.
	srv.AddGroup(gitlabtest.Group{NoWiki: true})
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

// moveWatcher counts the unfinished moves the fake holds at every pause.
// It reads the newest moves of each kind down to the oldest one it saw
// unfinished, except the moves of containers the test holds stuck, which
// stay unfinished by construction (the test checks them at the end).
type moveWatcher struct {
	c     *gitlabdata.Client
	stuck map[string]bool
	open  map[drain.Kind]map[int64]bool
	held  map[drain.Kind]map[int64]bool
	max   int
	err   error
}

func (w *moveWatcher) check(ctx context.Context) {
	if w.err != nil {
		return
	}
	total := 0
	for _, k := range drain.Kinds() {
		if w.open[k] == nil {
			w.open[k], w.held[k] = map[int64]bool{}, map[int64]bool{}
		}
		oldest := int64(0)
		for id := range w.open[k] {
			if oldest == 0 || id < oldest {
				oldest = id
			}
		}
		open := map[int64]bool{}
		for m, err := range allMoves(ctx, w.c, k) {
			if err != nil {
				w.err = err
				return
			}
			if w.held[k][m.ID] || (oldest != 0 && m.ID < oldest) {
				break
			}
			if m.State.Terminal() {
				if oldest == 0 {
					break // nothing was open: the newest moves have ended
				}
				continue
			}
			if w.stuck[m.container] {
				w.held[k][m.ID] = true
			} else {
				open[m.ID] = true
			}
		}
		w.open[k] = open
		total += len(open) + len(w.held[k])
	}
	w.max = max(w.max, total)
}

type ownedMove struct {
	gitlabdata.RepositoryStorageMove
	container string
}

func allMoves(ctx context.Context, c *gitlabdata.Client, k drain.Kind) iter.Seq2[ownedMove, error] {
	opts := &gitlabdata.ListStorageMovesOptions{PerPage: 100}
	switch k {
	case drain.KindProject:
		return owning(c.ProjectRepositoryStorageMoves.All(ctx, opts), func(m *gitlabdata.ProjectRepositoryStorageMove) ownedMove {
			return ownedMove{m.RepositoryStorageMove, ref(k, m.Project.ID)}
		})
	case drain.KindGroupWiki:
		return owning(c.GroupRepositoryStorageMoves.All(ctx, opts), func(m *gitlabdata.GroupRepositoryStorageMove) ownedMove {
			return ownedMove{m.RepositoryStorageMove, ref(k, m.Group.ID)}
		})
	}
	return owning(c.SnippetRepositoryStorageMoves.All(ctx, opts), func(m *gitlabdata.SnippetRepositoryStorageMove) ownedMove {
		return ownedMove{m.RepositoryStorageMove, ref(k, m.Snippet.ID)}
	})
}

// owning turns a listing of one kind's moves into ownedMoves.
func owning[M any](s iter.Seq2[*M, error], f func(*M) ownedMove) iter.Seq2[ownedMove, error] {
	return func(yield func(ownedMove, error) bool) {
		for m, err := range s {
			if err != nil {
				yield(ownedMove{}, err)
				return
			}
			if !yield(f(m), nil) {
				return
			}
		}
	}
}

// testDrain drains an instance with every kind of trouble and checks the
// report against the fake's ground truth, the bound on running moves at
// every pause, and that no container got two moves.
func testDrain(t *testing.T, nProjects, nSnippets, nGroups int) {
	in := newInstance(t, nProjects, nSnippets, nGroups)
	const maxRunning = 8
	stuck := map[string]bool{}
	for c, w := range in.want {
		if w == "stuck/stuck" {
			stuck[c] = true
		}
	}
	w := &moveWatcher{c: in.srv.Client(), stuck: stuck, open: map[drain.Kind]map[int64]bool{}, held: map[drain.Kind]map[int64]bool{}}
	in.onPause = func() { w.check(t.Context()) }
	rep := in.run(drain.Options{MaxRunning: maxRunning, Retries: 1, StuckAfter: 10 * time.Minute, OnEvent: in.heal})
	if w.err != nil {
		t.Fatalf("watching the fake's moves: %v", w.err)
	}

	diff(t, "Run() remaining (outcome/reason)", in.want, remaining(rep))
	truth := onStorage(in.srv, "default", in.snippets, in.groups)
	got := map[string]bool{}
	for _, r := range rep.Remaining {
		got[ref(r.Kind, r.ID)] = true
	}
	diff(t, "containers on default: the fake against the report", truth, got)

	total := nProjects + nSnippets + nGroups
	wantTotals := drain.KindReport{Kind: "all", Found: total, Moved: total - len(in.want), Failed: 3, Stuck: 2, Unknown: 1, Reattached: 1, Retried: 7}
	gotTotals := drain.KindReport{Kind: rep.Totals.Kind, Found: rep.Totals.Found, Moved: rep.Totals.Moved, Failed: rep.Totals.Failed, Stuck: rep.Totals.Stuck,
		NotMoved: rep.Totals.NotMoved, Skipped: rep.Totals.Skipped, NotAttempted: rep.Totals.NotAttempted, Gone: rep.Totals.Gone, Unknown: rep.Totals.Unknown,
		Reattached: rep.Totals.Reattached, Retried: rep.Totals.Retried}
	diff(t, "Run() totals (4 transient failures and 3 permanent ones retried once)", wantTotals, gotTotals)
	if len(rep.ListingErrors) != 1 || rep.ListingErrors[0].ID != in.projects[49] {
		t.Errorf("listing errors = %+v; want one, naming project %d", rep.ListingErrors, in.projects[49])
	}
	if len(rep.Stuck) != 2 || rep.Stuck[0].State != "started" {
		t.Errorf("stuck = %+v; want projects 30 and 40 in started", rep.Stuck)
	}
	if w.max > maxRunning {
		t.Errorf("the fake held %d unfinished moves at once; the bound is %d", w.max, maxRunning)
	}
	if w.max < maxRunning-2 {
		t.Errorf("the fake held at most %d unfinished moves; the drain should use its %d slots", w.max, maxRunning)
	}
	atMostOneMove(t, in.srv)
	t.Logf("%d containers, %d moved, %d GitLab calls, at most %d unfinished moves", total, rep.Totals.Moved, rep.Requests, w.max)
}

func TestDrainAgainstTheFake(t *testing.T) {
	t.Parallel()
	testDrain(t, 150, 20, 10)
}

func TestDrainThousandProjects(t *testing.T) {
	t.Parallel()
	testDrain(t, 1000, 100, 50)
}
