package gitlabdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// moveSim is a deterministic stand-in for GitLab's project storage moves:
// every listing or GET advances each unfinished move by one state, so the
// test never depends on time.
type moveSim struct {
	mu       sync.Mutex
	moves    []*RepositoryStorageMove // oldest first
	owner    map[int64]int64          // move id -> project id
	behavior map[int64]string         // project id -> "readonly", "error", "fails", "429once"
	posts    map[int64]int            // project id -> POSTs received
	lists    int                      // listing requests
	gets     int                      // single-move GETs
	hidden   map[int64]bool           // move ids left out of listings
	onPost   func(projectID int64)    // called before answering a POST
}

// newMoveSim mounts a moveSim on ts; every request must carry the token.
func newMoveSim(t *testing.T, ts *testServer, behavior map[int64]string) *moveSim {
	sim := &moveSim{owner: map[int64]int64{}, behavior: behavior, posts: map[int64]int{}, hidden: map[int64]bool{}}
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			testHeader(t, r, "PRIVATE-TOKEN", testToken)
			testHeader(t, r, "Accept", "application/json")
			h(w, r)
		}
	}
	ts.mux.HandleFunc("POST /projects/{id}/repository_storage_moves", authed(sim.schedule))
	ts.mux.HandleFunc("GET /project_repository_storage_moves", authed(sim.list))
	ts.mux.HandleFunc("GET /project_repository_storage_moves/{id}", authed(sim.get))
	return sim
}

func (sim *moveSim) schedule(w http.ResponseWriter, r *http.Request) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	sim.mu.Lock()
	sim.posts[pid]++
	n, hook := sim.posts[pid], sim.onPost
	sim.mu.Unlock()
	if hook != nil {
		hook(pid)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	switch sim.behavior[pid] {
	case "readonly":
		serveJSON(w, http.StatusBadRequest, `{"message":{"project":["is read-only"]}}`)
		return
	case "error":
		serveJSON(w, http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`)
		return
	case "429once":
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			serveJSON(w, http.StatusTooManyRequests, `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`)
			return
		}
	}
	m := &RepositoryStorageMove{
		ID: int64(len(sim.moves) + 1), State: StorageMoveStateScheduled,
		CreatedAt:         time.Date(2026, 11, 20, 10, 0, len(sim.moves), 0, time.UTC),
		SourceStorageName: "default", DestinationStorageName: "storage2",
	}
	sim.moves = append(sim.moves, m)
	sim.owner[m.ID] = pid
	sim.write(w, http.StatusCreated, m)
}

// advanceLocked moves every unfinished move one state on.
func (sim *moveSim) advanceLocked() {
	for _, m := range sim.moves {
		fails := sim.behavior[sim.owner[m.ID]] == "fails"
		switch {
		case m.State == StorageMoveStateScheduled:
			m.State = StorageMoveStateStarted
		case m.State == StorageMoveStateStarted && fails:
			m.State, m.ErrorMessage = StorageMoveStateFailed, String("Failed to replicate repository")
		case m.State == StorageMoveStateStarted:
			m.State = StorageMoveStateReplicated
		case m.State == StorageMoveStateReplicated:
			m.State = StorageMoveStateFinished
		}
	}
}

func (sim *moveSim) list(w http.ResponseWriter, r *http.Request) {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	sim.lists++
	sim.advanceLocked()
	var newest []any
	for _, m := range slices.Backward(sim.moves) {
		if !sim.hidden[m.ID] {
			newest = append(newest, sim.wire(m))
		}
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	per = max(per, 1)
	from, to := min((page-1)*per, len(newest)), min(page*per, len(newest))
	w.Header().Set("X-Page", strconv.Itoa(page))
	if to < len(newest) {
		w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
	}
	body, _ := json.Marshal(newest[from:to])
	serveJSON(w, http.StatusOK, string(body))
}

func (sim *moveSim) get(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	sim.mu.Lock()
	defer sim.mu.Unlock()
	sim.gets++
	sim.advanceLocked()
	if id < 1 || id > int64(len(sim.moves)) {
		serveJSON(w, http.StatusNotFound, `{"message":"404 Not found"}`)
		return
	}
	sim.write(w, http.StatusOK, sim.moves[id-1])
}

func (sim *moveSim) wire(m *RepositoryStorageMove) ProjectRepositoryStorageMove {
	return ProjectRepositoryStorageMove{RepositoryStorageMove: *m, Project: &ProjectIdentity{ID: sim.owner[m.ID]}}
}

func (sim *moveSim) write(w http.ResponseWriter, status int, m *RepositoryStorageMove) {
	body, _ := json.Marshal(sim.wire(m))
	serveJSON(w, status, string(body))
}

func (sim *moveSim) postCounts() map[int64]int {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return maps.Clone(sim.posts)
}

// eventLog records OnEvent calls; Evacuate serialises them, and the mutex
// lets the race detector check that it does.
type eventLog struct {
	mu     sync.Mutex
	events []EvacuationEvent
}

func (l *eventLog) add(ev EvacuationEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// byContainer returns each container's outcomes in the order reported.
func (l *eventLog) byContainer() map[int64][]EvacuationOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64][]EvacuationOutcome{}
	for _, ev := range l.events {
		out[ev.ContainerID] = append(out[ev.ContainerID], ev.Outcome)
	}
	return out
}

func TestEvacuateMixedOutcomes(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithRetry(RetryPolicy{MaxAttempts: 3}))
	sim := newMoveSim(t, ts, map[int64]string{3: "readonly", 4: "error", 5: "fails", 7: "429once"})
	var log eventLog
	ids := slices.Values([]int64{1, 2, 3, 4, 5, 6, 7, 1, 2})
	sum, err := ts.client.ProjectRepositoryStorageMoves.Evacuate(t.Context(), ids, &EvacuateOptions{
		DestinationStorageName: String("storage2"),
		Concurrency:            2,
		OnEvent:                log.add,
	})
	if err != nil {
		t.Fatalf("Evacuate() error = %v", err)
	}
	wantSum := EvacuationSummary{Scheduled: 5, Skipped: 1, ScheduleFailed: 1, Finished: 4, Failed: 1, Duplicates: 2}
	if diff := cmp.Diff(wantSum, sum); diff != "" {
		t.Errorf("Evacuate() summary mismatch (-want +got):\n%s", diff)
	}
	wantOutcomes := map[int64][]EvacuationOutcome{
		1: {EvacuationScheduled, EvacuationFinished},
		2: {EvacuationScheduled, EvacuationFinished},
		3: {EvacuationSkipped},
		4: {EvacuationScheduleFailed},
		5: {EvacuationScheduled, EvacuationFailed},
		6: {EvacuationScheduled, EvacuationFinished},
		7: {EvacuationScheduled, EvacuationFinished},
	}
	if diff := cmp.Diff(wantOutcomes, log.byContainer()); diff != "" {
		t.Errorf("Evacuate() outcomes mismatch (-want +got):\n%s", diff)
	}
	// Every project is scheduled once; 7 was retried once after its 429,
	// and 4's 500 was not retried, because a POST is only retried on 429.
	wantPosts := map[int64]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 2}
	if diff := cmp.Diff(wantPosts, sim.postCounts()); diff != "" {
		t.Errorf("POSTs per project mismatch (-want +got):\n%s", diff)
	}
	for _, ev := range log.events {
		switch ev.Outcome {
		case EvacuationSkipped, EvacuationScheduleFailed:
			var apiErr *APIError
			if !errors.As(ev.Err, &apiErr) || ev.Move != nil {
				t.Errorf("%s event for %d: Err = %v, Move = %v; want an *APIError and no move", ev.Outcome, ev.ContainerID, ev.Err, ev.Move)
			}
		case EvacuationFailed:
			var failed *MoveFailedError
			if !errors.As(ev.Err, &failed) || failed.Message != "Failed to replicate repository" || ev.Move.State != StorageMoveStateFailed {
				t.Errorf("failed event for %d: Err = %v, Move = %+v; want a *MoveFailedError with GitLab's message", ev.ContainerID, ev.Err, ev.Move)
			}
		case EvacuationFinished:
			if ev.Err != nil || ev.Move.State != StorageMoveStateFinished {
				t.Errorf("finished event for %d: Err = %v, state %q", ev.ContainerID, ev.Err, ev.Move.State)
			}
		}
	}
}

func TestEvacuateBoundsConcurrency(t *testing.T) {
	t.Parallel()
	const limit, total = 3, 10
	ts := setup(t)
	sim := newMoveSim(t, ts, nil)

	var (
		mu       sync.Mutex
		inFlight int
		peak     int
		pulled   int
	)
	arrived := make(chan struct{}, total)
	release := make(chan struct{})
	sim.onPost = func(int64) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release // hold every schedule call until the test has looked
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	ids := func(yield func(int64) bool) {
		for id := int64(1); id <= total; id++ {
			mu.Lock()
			pulled++
			mu.Unlock()
			if !yield(id) {
				return
			}
		}
	}

	done := make(chan error, 1)
	var sum EvacuationSummary
	go func() {
		var err error
		sum, err = ts.client.ProjectRepositoryStorageMoves.Evacuate(t.Context(), ids, &EvacuateOptions{Concurrency: limit})
		done <- err
	}()
	for range limit {
		<-arrived
	}
	// All three slots are held: Evacuate may have taken one more id, which
	// waits for a slot, but no more.
	mu.Lock()
	heldInFlight, heldPulled := inFlight, pulled
	mu.Unlock()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Evacuate() error = %v", err)
	}
	if heldInFlight != limit || heldPulled > limit+1 {
		t.Errorf("while %d calls were held: %d in flight, %d ids taken; want %d in flight and at most %d taken", limit, heldInFlight, heldPulled, limit, limit+1)
	}
	if peak != limit {
		t.Errorf("peak schedule calls in flight = %d; want %d", peak, limit)
	}
	if sum.Scheduled != total || sum.Finished != total {
		t.Errorf("Evacuate() summary = %+v; want %d scheduled and finished", sum, total)
	}
}

func TestEvacuateCancellation(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	sim := newMoveSim(t, ts, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sim.onPost = func(pid int64) {
		if pid == 3 {
			cancel()
		}
	}
	var pulled int
	ids := func(yield func(int64) bool) {
		for id := int64(1); id <= 1000; id++ {
			pulled++
			if !yield(id) {
				return
			}
		}
	}
	var log eventLog
	sum, err := ts.client.ProjectRepositoryStorageMoves.Evacuate(ctx, ids, &EvacuateOptions{Concurrency: 1, OnEvent: log.add})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Evacuate() error = %v; want context.Canceled", err)
	}
	// With one call at a time, projects 1 and 2 were scheduled, 3 was cut
	// off and reported nothing, and no later id was taken but the one
	// waiting for a slot.
	if pulled > 4 {
		t.Errorf("Evacuate() took %d ids after cancellation; want at most 4", pulled)
	}
	if sum.Scheduled != 2 || sum.ScheduleFailed != 0 {
		t.Errorf("Evacuate() summary = %+v; want 2 scheduled, none failed", sum)
	}
	// Every goroutine has ended: nothing reports or requests after return.
	events, posts := len(log.events), sim.postCounts()
	ts.server.Close() // waits for any handler still running
	if len(log.events) != events {
		t.Errorf("events after Evacuate returned: %d then %d", events, len(log.events))
	}
	if diff := cmp.Diff(posts, sim.postCounts()); diff != "" {
		t.Errorf("POSTs after Evacuate returned (-at return +later):\n%s", diff)
	}
}

func TestEvacuateFollowsMovesCheaply(t *testing.T) {
	t.Parallel()
	const total = 250
	ts := setup(t)
	sim := newMoveSim(t, ts, nil)
	sim.mu.Lock()
	sim.hidden[17] = true // a move the listing misses is fetched by id
	sim.mu.Unlock()
	sum, err := ts.client.ProjectRepositoryStorageMoves.Evacuate(t.Context(), seq(1, total), &EvacuateOptions{Concurrency: 8})
	if err != nil {
		t.Fatalf("Evacuate() error = %v", err)
	}
	if sum.Finished != total {
		t.Fatalf("Evacuate() summary = %+v; want %d finished", sum, total)
	}
	sim.mu.Lock()
	lists, gets := sim.lists, sim.gets
	sim.mu.Unlock()
	// Following 250 moves costs a few pages per poll, not a GET per move
	// per poll: each move needs at most 4 polls to finish.
	if gets == 0 || gets > 8 {
		t.Errorf("single-move GETs = %d; want the hidden move fetched by id, a few times at most", gets)
	}
	if limit := 4 * 3 * (total/100 + 1); lists > limit {
		t.Errorf("listing pages = %d; want at most %d", lists, limit)
	}
}

func TestEvacuateRejectsBadInput(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	sim := newMoveSim(t, ts, nil)
	svc := ts.client.ProjectRepositoryStorageMoves
	tests := []struct {
		name string
		ids  iter.Seq[int64]
		opts *EvacuateOptions
	}{
		{"nil ids", nil, nil},
		{"negative concurrency", seq(1, 2), &EvacuateOptions{Concurrency: -1}},
		{"empty destination", seq(1, 2), &EvacuateOptions{DestinationStorageName: String("")}},
		{"negative wait", seq(1, 2), &EvacuateOptions{Wait: WaitOptions{MinDelay: -1}}},
	}
	for _, tc := range tests {
		if _, err := svc.Evacuate(t.Context(), tc.ids, tc.opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Evacuate(%s) error = %v; want ErrInvalidArgument", tc.name, err)
		}
	}
	if posts := sim.postCounts(); len(posts) != 0 {
		t.Errorf("requests sent for invalid input: %v", posts)
	}
	// A bad id fails alone; the others go on.
	sum, err := svc.Evacuate(t.Context(), slices.Values([]int64{-4, 1}), nil)
	if err != nil || sum.ScheduleFailed != 1 || sum.Finished != 1 {
		t.Errorf("Evacuate(-4, 1) = %+v, %v; want 1 schedule failure and 1 finished", sum, err)
	}
}

func TestEvacuateEmptyAndGroups(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	sum, err := ts.client.GroupRepositoryStorageMoves.Evacuate(t.Context(), seq(1, 0), nil)
	if err != nil || sum != (EvacuationSummary{}) {
		t.Errorf("Evacuate(no ids) = %+v, %v; want an empty summary", sum, err)
	}
	var n counter
	ts.mux.HandleFunc("POST /groups/{id}/repository_storage_moves", func(w http.ResponseWriter, r *http.Request) {
		n.inc()
		serveJSON(w, http.StatusCreated, fmt.Sprintf(`{"id":1,"created_at":"2026-11-20T10:00:00Z","state":"finished","source_storage_name":"default","destination_storage_name":"storage2","error_message":null,"group":{"id":%s,"web_url":"https://gitlab.example.com/groups/g","name":"g"}}`, r.PathValue("id")))
	})
	sum, err = ts.client.GroupRepositoryStorageMoves.Evacuate(t.Context(), seq(9, 9), nil)
	if err != nil || sum.Finished != 1 || n.get() != 1 {
		t.Errorf("group Evacuate = %+v, %v after %d POSTs; want 1 finished after 1", sum, err, n.get())
	}
}

// seq yields from..to inclusive.
func seq(from, to int64) iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for id := from; id <= to; id++ {
			if !yield(id) {
				return
			}
		}
	}
}
