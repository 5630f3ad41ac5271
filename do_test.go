package gitlabdata

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type projectsQuery struct {
	RepositoryStorage string `url:"repository_storage"`
	Statistics        bool   `url:"statistics,omitempty"`
	PerPage           int    `url:"per_page,omitempty"`
}

type project struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
}

func TestDoGetDecodesAndPages(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ts.mux.HandleFunc("/projects", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, url.Values{"repository_storage": {"default"}, "statistics": {"true"}, "per_page": {"2"}})
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		testNoBody(t, r)
		w.Header().Set("X-Next-Page", "2")
		w.Header().Set("X-Page", "1")
		serveJSON(w, http.StatusOK, `[{"id":1,"path_with_namespace":"a/b"},{"id":2,"path_with_namespace":"a/c"}]`)
	})
	var got []project
	resp, err := ts.client.Do(t.Context(), http.MethodGet, "projects",
		projectsQuery{RepositoryStorage: "default", Statistics: true, PerPage: 2}, nil, &got)
	if err != nil {
		t.Fatalf("Do(GET projects) error = %v", err)
	}
	want := []project{{1, "a/b"}, {2, "a/c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Do(GET projects) mismatch (-want +got):\n%s", diff)
	}
	if resp.NextPage != 2 || resp.RequestID != "01JTESTREQUESTID" {
		t.Errorf("Do(GET projects) response NextPage %d, RequestID %q; want 2, 01JTESTREQUESTID", resp.NextPage, resp.RequestID)
	}
}

func TestDoSendsBodyAndEscapedPath(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ts.mux.HandleFunc("/projects/{id}/repository_storage_moves", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		if got := r.URL.EscapedPath(); got != "/projects/group%2Fproject/repository_storage_moves" {
			t.Errorf("escaped path = %q; want the %%2F kept", got)
		}
		testJSONBody(t, r, `{"destination_storage_name":"storage2"}`)
		serveJSON(w, http.StatusCreated, `{"id":5,"state":"scheduled"}`)
	})
	var got RepositoryStorageMove
	_, err := ts.client.Do(t.Context(), http.MethodPost, "/projects/group%2Fproject/repository_storage_moves", nil,
		json.RawMessage(`{"destination_storage_name":"storage2"}`), &got)
	if err != nil {
		t.Fatalf("Do(POST) error = %v", err)
	}
	if diff := cmp.Diff(RepositoryStorageMove{ID: 5, State: StorageMoveStateScheduled}, got); diff != "" {
		t.Errorf("Do(POST) mismatch (-want +got):\n%s", diff)
	}
}

// Paths that are not relative to the API root are refused before any
// request.
func TestDoRefusesPathsOutsideTheAPIRoot(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	var calls counter
	ts.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls.inc() })
	for _, path := range []string{
		"",
		"/",
		"https://evil.example.com/api/v4/projects",
		"//evil.example.com/api/v4/projects",
		"projects?owned=true",
		"projects#top",
		"/api/v4/projects",
		"api/v4",
		"../admin",
		"projects/../../../x",
		"projects/%2e%2e/x",
	} {
		_, err := ts.client.Do(t.Context(), http.MethodGet, path, nil, nil, nil)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Do(GET %q) error = %v; want ErrInvalidArgument", path, err)
		}
	}
	if _, err := ts.client.Do(nil, http.MethodGet, "projects", nil, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Do(nil ctx) error = %v; want ErrInvalidArgument", err)
	}
	if _, err := ts.client.Do(t.Context(), "BAD METHOD", "projects", nil, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Do(BAD METHOD) error = %v; want ErrInvalidArgument", err)
	}
	if n := calls.get(); n != 0 {
		t.Errorf("server saw %d requests; want 0", n)
	}
}

// Do retries as the wrapped calls do: GET on 503, POST only on 429; and it
// returns GitLab's error as an *APIError.
func TestDoRetriesByMethodAndReturnsAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method   string
		status   int
		attempts int
	}{
		{http.MethodGet, http.StatusServiceUnavailable, 3},
		{http.MethodPost, http.StatusServiceUnavailable, 1},
		{http.MethodPost, http.StatusTooManyRequests, 3},
		{http.MethodGet, http.StatusNotFound, 1},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			ts.client.retry = RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Second}
			ts.client.sleep = func(context.Context, time.Duration) error { return nil }
			var calls counter
			ts.mux.HandleFunc("/projects/9", func(w http.ResponseWriter, r *http.Request) {
				calls.inc()
				serveJSON(w, tc.status, `{"message":"`+http.StatusText(tc.status)+`"}`)
			})
			_, err := ts.client.Do(t.Context(), tc.method, "projects/9", nil, nil, nil)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Do() error = %v; want *APIError", err)
			}
			want := &APIError{
				StatusCode: tc.status, Method: tc.method, Path: "/api/v4/projects/9",
				Message: http.StatusText(tc.status), RequestID: "01JTESTREQUESTID",
				Body: []byte(`{"message":"` + http.StatusText(tc.status) + `"}`),
			}
			if diff := cmp.Diff(want, apiErr); diff != "" {
				t.Errorf("Do() error mismatch (-want +got):\n%s", diff)
			}
			if n := calls.get(); n != tc.attempts {
				t.Errorf("server saw %d attempts; want %d", n, tc.attempts)
			}
		})
	}
}
