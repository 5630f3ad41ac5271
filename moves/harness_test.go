package moves_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
)

// This file is the package's test harness: a fake GitLab on a simulated
// clock that the run's pauses drive, behind a front that can play
// Sidekiq's queue metrics, and the checks every test ends with.

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	srv    *gitlabtest.Server
	client *gitlabdata.Client
	now    atomic.Int64 // unix ns
	steps  time.Duration

	mu sync.Mutex
	// queue is what GET /sidekiq/queue_metrics answers for "default";
	// status 0 serves it, another status answers that status.
	queue       struct{ latency, backlog int64 }
	queueStatus int
	// onPause runs at every simulated second of the run's pauses, before
	// the fake steps.
	onPause func()
	events  []moves.Event
	posts   int // schedule calls received
	sleeps  int
}

// newHarness starts a fake with storages default, storage2 and storage3
// (weights 100) and a client through the front that makes one attempt per
// request.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t}
	h.now.Store(t0.UnixNano())
	h.srv = gitlabtest.NewServer(gitlabtest.WithSeed(1), gitlabtest.WithClock(h.clock))
	t.Cleanup(h.srv.Close)
	h.srv.AddStorage("storage2", 100)
	h.srv.AddStorage("storage3", 100)
	front := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(front.Close)
	c, err := gitlabdata.NewClient(front.URL, h.srv.Token(), gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	h.client = c
	return h
}

func (h *harness) clock() time.Time { return time.Unix(0, h.now.Load()).UTC() }

// serve answers the Sidekiq queue metrics itself and passes the rest to
// the fake, counting the schedule calls.
func (h *harness) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/repository_storage_moves") {
		h.posts++
	}
	q, status := h.queue, h.queueStatus
	h.mu.Unlock()
	if r.URL.Path == "/api/v4/sidekiq/queue_metrics" {
		w.Header().Set("Content-Type", "application/json")
		if status != 0 {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": http.StatusText(status)})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"queues": map[string]any{
			"default": map[string]int64{"backlog": q.backlog, "latency": q.latency},
			"mailers": map[string]int64{"backlog": 0, "latency": 0},
		}})
		return
	}
	h.srv.Handler().ServeHTTP(w, r)
}

func (h *harness) setQueue(latency, backlog int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queue.latency, h.queue.backlog = latency, backlog
}

func (h *harness) schedulePosts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.posts
}

// options sets the harness's clock and event log in o.
func (h *harness) options(o moves.Options) moves.Options {
	o.Now = h.clock
	o.Sleep = h.sleep
	next := o.OnEvent
	o.OnEvent = func(ev moves.Event) {
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
	h.now.Add(int64(d))
	h.mu.Lock()
	h.sleeps++
	h.mu.Unlock()
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

// run runs plan with o, fails the test on an error, and checks the counts.
func (h *harness) run(plan *moves.Plan, o moves.Options) *moves.Report {
	h.t.Helper()
	m, err := moves.New(h.client, plan, h.options(o))
	if err != nil {
		h.t.Fatal(err)
	}
	rep, err := m.Run(h.t.Context())
	if err != nil {
		h.t.Fatalf("Run() error = %v", err)
	}
	checkCounts(h.t, rep)
	return rep
}

// eventsOf returns the events of type t.
func (h *harness) eventsOf(t moves.EventType) []moves.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []moves.Event
	for _, ev := range h.events {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// projectsOn adds n projects of size bytes each on storage.
func (h *harness) projectsOn(storage string, n int, size int64) []int64 {
	var ids []int64
	for range n {
		ids = append(ids, h.srv.AddProject(gitlabtest.Project{Storage: storage, RepositorySize: size}))
	}
	return ids
}

// move is a planned move of project id from its storage to to.
func (h *harness) move(id int64, to, unit string) moves.Move {
	h.t.Helper()
	p, ok := h.srv.Project(id)
	if !ok {
		h.t.Fatalf("no project %d", id)
	}
	return moves.Move{Container: moves.Container{Kind: moves.KindProject, ID: id, Storage: p.Storage, Size: p.RepositorySize, HasSize: true}, To: to, Unit: unit}
}

// storageOf is where the fake holds project id.
func (h *harness) storageOf(id int64) string {
	p, _ := h.srv.Project(id)
	return p.Storage
}

// checkCounts asserts that every container is counted in exactly one
// outcome.
func checkCounts(t *testing.T, rep *moves.Report) {
	t.Helper()
	if rep == nil {
		t.Fatal("no report")
	}
	for _, k := range append([]*moves.KindReport{&rep.Totals}, rep.Kinds...) {
		if k.Sum() != k.Found {
			t.Errorf("%s: found %d but the outcomes sum to %d: %+v", k.Kind, k.Found, k.Sum(), k)
		}
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}
