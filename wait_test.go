package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serveStates answers GET /<path> with a move whose state is states[n] on
// the n-th request (the last state repeats), checks each request, and
// counts them.
func serveStates(t *testing.T, ts *testServer, path string, errMsg string, states ...StorageMoveState) *counter {
	var n counter
	ts.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, nil)
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		testNoBody(t, r)
		i := min(n.inc(), len(states)) - 1
		msg := "null"
		if errMsg != "" && states[i] != StorageMoveStateScheduled && states[i] != StorageMoveStateStarted {
			msg = fmt.Sprintf("%q", errMsg)
		}
		serveJSON(w, http.StatusOK, fmt.Sprintf(`{"id":7,"created_at":"2026-11-20T10:00:00.000Z","state":%q,"source_storage_name":"default","destination_storage_name":"storage2","error_message":%s,"project":{"id":3,"description":null,"name":"p","name_with_namespace":"g / p","path":"p","path_with_namespace":"g/p","created_at":"2026-01-01T00:00:00.000Z"}}`, states[i], msg))
	})
	return &n
}

func TestWaitPolls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		states   []StorageMoveState
		opts     *WaitOptions
		want     StorageMoveState
		requests int
		// ceilings bound the pauses: each in [d/2, d]; nil: not under test.
		ceilings []time.Duration
	}{
		{
			// 100ms, 200ms, then capped at 300ms.
			name:     "until terminal",
			states:   []StorageMoveState{StorageMoveStateScheduled, StorageMoveStateStarted, StorageMoveStateReplicated, StorageMoveStateFinished},
			opts:     &WaitOptions{MinDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond},
			want:     StorageMoveStateFinished,
			requests: 4,
			ceilings: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
		},
		{
			name:     "until replicated",
			states:   []StorageMoveState{StorageMoveStateStarted, StorageMoveStateReplicated, StorageMoveStateFinished},
			opts:     &WaitOptions{UntilReplicated: true},
			want:     StorageMoveStateReplicated,
			requests: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			n := serveStates(t, ts, "/project_repository_storage_moves/7", "", tc.states...)
			move, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 7, tc.opts)
			if err != nil {
				t.Fatalf("Wait(7, %+v) error = %v", tc.opts, err)
			}
			want := &ProjectRepositoryStorageMove{
				RepositoryStorageMove: RepositoryStorageMove{
					ID: 7, CreatedAt: *mustTime(t, "2026-11-20T10:00:00.000Z"), State: tc.want,
					SourceStorageName: "default", DestinationStorageName: "storage2",
				},
				Project: &ProjectIdentity{
					ID: 3, Name: "p", NameWithNamespace: "g / p", Path: "p", PathWithNamespace: "g/p",
					CreatedAt: mustTime(t, "2026-01-01T00:00:00.000Z"),
				},
			}
			if diff := cmp.Diff(want, move); diff != "" {
				t.Errorf("Wait(7, %+v) mismatch (-want +got):\n%s", tc.opts, diff)
			}
			if got := n.get(); got != tc.requests {
				t.Errorf("Wait(7, %+v) made %d requests; want %d", tc.opts, got, tc.requests)
			}
			if tc.ceilings == nil {
				return
			}
			sleeps := ts.recordedSleeps()
			if len(sleeps) != len(tc.ceilings) {
				t.Fatalf("Wait(7) slept %v; want %d pauses", sleeps, len(tc.ceilings))
			}
			for i, d := range sleeps {
				if d < tc.ceilings[i]/2 || d > tc.ceilings[i] {
					t.Errorf("pause %d = %v; want within [%v, %v]", i, d, tc.ceilings[i]/2, tc.ceilings[i])
				}
			}
		})
	}
}

func TestWaitReportsFailure(t *testing.T) {
	t.Parallel()
	for _, final := range []StorageMoveState{StorageMoveStateFailed, StorageMoveStateCleanupFailed} {
		t.Run(string(final), func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			serveStates(t, ts, "/project_repository_storage_moves/7", "Failed to replicate repository", StorageMoveStateStarted, final)
			move, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 7, nil)
			if !errors.Is(err, ErrMoveFailed) {
				t.Fatalf("Wait(7) error = %v; want ErrMoveFailed", err)
			}
			var failed *MoveFailedError
			if !errors.As(err, &failed) {
				t.Fatalf("Wait(7) error %T is not a *MoveFailedError", err)
			}
			want := &MoveFailedError{ID: 7, State: final, Message: "Failed to replicate repository"}
			if diff := cmp.Diff(want, failed); diff != "" {
				t.Errorf("Wait(7) error mismatch (-want +got):\n%s", diff)
			}
			wantText := fmt.Sprintf("gitlabdata: storage move 7 ended %q: Failed to replicate repository", string(final))
			if err.Error() != wantText {
				t.Errorf("Wait(7) error text = %q; want %q", err, wantText)
			}
			if move == nil || move.State != final {
				t.Errorf("Wait(7) move = %+v; want the final move in state %q", move, final)
			}
		})
	}
}

func TestWaitStopsOnContextAndErrors(t *testing.T) {
	t.Parallel()
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		ts := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		n := expect(t, ts, route{method: http.MethodGet, path: "/project_repository_storage_moves/7",
			json: `{"id":7,"created_at":"2026-11-20T10:00:00Z","state":"started","source_storage_name":"default","destination_storage_name":"storage2","error_message":null,"project":null}`})
		// A real hour-long pause, cancelled as it starts: it must end at once.
		ts.client.sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return sleepContext(ctx, d)
		}
		move, err := ts.client.ProjectRepositoryStorageMoves.Wait(ctx, 7, &WaitOptions{MinDelay: time.Hour})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait error = %v; want context.Canceled", err)
		}
		if move == nil || move.State != StorageMoveStateStarted || n.get() != 1 {
			t.Errorf("Wait = %+v after %d requests; want the started move after 1", move, n.get())
		}
	})
	t.Run("not found is returned at once", func(t *testing.T) {
		t.Parallel()
		ts := setup(t)
		n := expect(t, ts, route{method: http.MethodGet, path: "/project_repository_storage_moves/7",
			status: http.StatusNotFound, json: `{"message":"404 Not found"}`})
		if _, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 7, nil); !errors.Is(err, ErrNotFound) || n.get() != 1 {
			t.Errorf("Wait error = %v after %d requests; want ErrNotFound after 1", err, n.get())
		}
	})
	t.Run("transient errors are retried by the client policy only", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			attempts, wantRequests int
			wantErr                bool
		}{{attempts: 3, wantRequests: 2}, {attempts: 1, wantRequests: 1, wantErr: true}} {
			ts := setup(t, WithRetry(RetryPolicy{MaxAttempts: tc.attempts}))
			var n counter
			ts.mux.HandleFunc("GET /project_repository_storage_moves/7", func(w http.ResponseWriter, r *http.Request) {
				if n.inc() == 1 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				serveJSON(w, http.StatusOK, `{"id":7,"created_at":"2026-11-20T10:00:00Z","state":"finished","source_storage_name":"a","destination_storage_name":"b","error_message":null,"project":null}`)
			})
			_, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 7, nil)
			if (err != nil) != tc.wantErr || n.get() != tc.wantRequests {
				t.Errorf("MaxAttempts %d: Wait error = %v after %d requests; want error %v after %d", tc.attempts, err, n.get(), tc.wantErr, tc.wantRequests)
			}
		}
	})
	t.Run("invalid options", func(t *testing.T) {
		t.Parallel()
		ts := setup(t)
		for _, opts := range []*WaitOptions{{MinDelay: -1}, {MaxDelay: -time.Second}} {
			if _, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 7, opts); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Wait(%+v) error = %v; want ErrInvalidArgument", opts, err)
			}
		}
		if _, err := ts.client.ProjectRepositoryStorageMoves.Wait(t.Context(), 0, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Wait(0) error = %v; want ErrInvalidArgument", err)
		}
	})
}

func TestWaitGroupAndSnippetMoves(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	serveStates(t, ts, "/group_repository_storage_moves/7", "", StorageMoveStateFinished)
	serveStates(t, ts, "/snippet_repository_storage_moves/7", "", StorageMoveStateFinished)
	if m, err := ts.client.GroupRepositoryStorageMoves.Wait(t.Context(), 7, nil); err != nil || m.State != StorageMoveStateFinished {
		t.Errorf("GroupRepositoryStorageMoves.Wait(7) = %+v, %v; want finished", m, err)
	}
	if m, err := ts.client.SnippetRepositoryStorageMoves.Wait(t.Context(), 7, nil); err != nil || m.State != StorageMoveStateFinished {
		t.Errorf("SnippetRepositoryStorageMoves.Wait(7) = %+v, %v; want finished", m, err)
	}
}
