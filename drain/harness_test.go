package drain_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// This file is the package's one test harness: a fake GitLab on a
// simulated clock that the drain's pauses drive, the ground truth read
// from the fake, and the checks every drain test ends with.

// t0 is when every simulated drain starts.
var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// clock is a simulated clock shared by the drain and the fake.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness runs drains against a fake whose moves advance one state per
// simulated second of the drain's pauses. It records every pause and
// every event.
type harness struct {
	t      *testing.T
	srv    *gitlabtest.Server
	client *gitlabdata.Client
	clock  *clock
	// onPause, if set, runs at every pause of a second or more, before
	// the fake steps (a test's script: heal a failure, move a container).
	onPause func()
	mu      sync.Mutex
	sleeps  []time.Duration
	events  []drain.Event
	steps   time.Duration // simulated time not yet turned into steps
}

// newHarness starts a fake with opts on the harness clock and a client
// that makes one attempt per request.
func newHarness(t *testing.T, opts ...gitlabtest.ServerOption) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock()}
	h.srv = gitlabtest.NewServer(append([]gitlabtest.ServerOption{gitlabtest.WithSeed(1), gitlabtest.WithClock(h.clock.Now)}, opts...)...)
	t.Cleanup(h.srv.Close)
	c, err := h.srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	h.client = c
	return h
}

// drainFleet is the usual instance of these tests: storage2 with weight
// 100 and default (the storage drained) with weight 0.
func drainFleet(t *testing.T, opts ...gitlabtest.ServerOption) *harness {
	h := newHarness(t, opts...)
	h.srv.AddStorage("storage2", 100)
	h.srv.SetStorageWeight("default", 0)
	return h
}

// options sets the harness's clock and event log in o.
func (h *harness) options(o drain.Options) drain.Options {
	o.Now = h.clock.Now
	o.Sleep = h.sleep
	next := o.OnEvent
	o.OnEvent = func(ev drain.Event) {
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		if next != nil {
			next(ev)
		}
	}
	return o
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.sleeps = append(h.sleeps, d)
	h.mu.Unlock()
	h.clock.advance(d)
	h.steps += d
	for h.steps >= time.Second {
		h.steps -= time.Second
		if h.onPause != nil {
			h.onPause()
		}
		h.srv.Step()
	}
	return ctx.Err()
}

// drain returns a Drain of default to storage2 with o's other options.
func (h *harness) drain(o drain.Options) *drain.Drain {
	h.t.Helper()
	if o.From == "" {
		o.From = "default"
	}
	if o.To == nil {
		o.To = gitlabdata.String("storage2")
	}
	d, err := drain.New(h.client, h.options(o))
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// run drains with o, fails the test on an error, and checks the counts.
func (h *harness) run(o drain.Options) *drain.Report {
	h.t.Helper()
	rep, err := h.drain(o).Run(h.t.Context())
	if err != nil {
		h.t.Fatalf("Run() error = %v", err)
	}
	checkCounts(h.t, rep)
	return rep
}

// checkCounts checks what every report must hold: each kind's found is
// the sum of its outcomes, the totals sum the kinds, and every container
// not moved nor gone is listed as remaining.
func checkCounts(t *testing.T, rep *drain.Report) {
	t.Helper()
	var sum drain.KindReport
	for _, k := range append(rep.Kinds, &rep.Totals) {
		if k.Found != k.Sum() {
			t.Errorf("%s: found %d, but the outcomes add up to %d: %+v", k.Kind, k.Found, k.Sum(), *k)
		}
	}
	for _, k := range rep.Kinds {
		sum.Found += k.Found
		sum.Moved += k.Moved
		sum.Gone += k.Gone
	}
	if sum.Found != rep.Totals.Found || sum.Moved != rep.Totals.Moved || sum.Gone != rep.Totals.Gone {
		t.Errorf("totals found/moved/gone %d/%d/%d; the kinds add up to %d/%d/%d", rep.Totals.Found, rep.Totals.Moved, rep.Totals.Gone, sum.Found, sum.Moved, sum.Gone)
	}
	if want := rep.Totals.Found - rep.Totals.Moved - rep.Totals.Gone; len(rep.Remaining) != want {
		t.Errorf("%d remaining listed; found - moved - gone = %d", len(rep.Remaining), want)
	}
}

// ref names a container in test maps.
func ref(k drain.Kind, id int64) string { return fmt.Sprintf("%s/%d", k, id) }

// remaining maps each remaining container to "outcome/reason".
func remaining(rep *drain.Report) map[string]string {
	out := map[string]string{}
	for _, r := range rep.Remaining {
		out[ref(r.Kind, r.ID)] = string(r.Outcome) + "/" + string(r.Reason)
	}
	return out
}

// eventsOf returns the types of the events about one container, in order.
func (h *harness) eventsOf(k drain.Kind, id int64) []drain.EventType {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []drain.EventType
	for _, ev := range h.events {
		if ev.Kind == k && ev.ID == id {
			out = append(out, ev.Type)
		}
	}
	return out
}

// requests counts the fake's requests by "METHOD /path" (the path
// without /api/v4), or all of them for "".
func (h *harness) requests(match string) int {
	n := 0
	for _, r := range h.srv.Requests() {
		if match == "" || r.Method+" "+strings.TrimPrefix(r.Path, "/api/v4") == match {
			n++
		}
	}
	return n
}

// posts lists the paths of the schedule calls the fake received.
func (h *harness) posts() []string {
	var out []string
	for _, r := range h.srv.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, strings.TrimPrefix(r.Path, "/api/v4"))
		}
	}
	return out
}

// movesPerContainer counts, per container, the moves the fake holds that
// did not fail.
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
	opts := &gitlabdata.ListStorageMovesOptions{PerPage: 100}
	for m, err := range c.ProjectRepositoryStorageMoves.All(ctx, opts) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindProject, m.Project.ID, m.State)
	}
	for m, err := range c.GroupRepositoryStorageMoves.All(ctx, opts) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindGroupWiki, m.Group.ID, m.State)
	}
	for m, err := range c.SnippetRepositoryStorageMoves.All(ctx, opts) {
		if err != nil {
			t.Fatal(err)
		}
		count(drain.KindSnippet, m.Snippet.ID, m.State)
	}
	return n
}

// onStorage is the fake's ground truth: the containers on storage.
func onStorage(srv *gitlabtest.Server, storage string, snippets, groups []int64) map[string]bool {
	out := map[string]bool{}
	for _, id := range srv.ProjectsOnStorage(storage) {
		out[ref(drain.KindProject, id)] = true
	}
	for _, id := range snippets {
		if s, _ := srv.Snippet(id); s.Storage == storage {
			out[ref(drain.KindSnippet, id)] = true
		}
	}
	for _, id := range groups {
		if g, _ := srv.Group(id); g.Storage == storage {
			out[ref(drain.KindGroupWiki, id)] = true
		}
	}
	return out
}

// atMostOneMove fails the test when a container got two moves that did
// not fail: the drain scheduled it twice.
func atMostOneMove(t *testing.T, srv *gitlabtest.Server) {
	t.Helper()
	var twice []string
	for c, n := range movesPerContainer(t, srv) {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d)", c, n))
		}
	}
	sort.Strings(twice)
	if len(twice) > 0 {
		t.Errorf("containers with more than one move that did not fail: %v", twice)
	}
}

// diff fails the test with a (-want +got) diff of what.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(drain.KindReport{})); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}
