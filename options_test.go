package gitlabdata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hangUntilCancelled is a handler that never answers: it returns only when
// the client gives up on the request.
func hangUntilCancelled(calls *counter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		<-r.Context().Done()
	}
}

// WithTimeout bounds every attempt, whatever http.Client carries the
// request; GET is retried after a timeout, POST is not.
func TestWithTimeoutBoundsEachAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []ClientOption
		call     func(ctx context.Context, c *Client) error
		attempts int
	}{
		{
			name: "GET with the default http client",
			call: func(ctx context.Context, c *Client) error {
				_, _, err := c.ProjectRepositoryStorageMoves.Get(ctx, 1)
				return err
			},
			attempts: 3,
		},
		{
			name: "GET with a caller's http client without timeout",
			opts: []ClientOption{WithHTTPClient(&http.Client{})},
			call: func(ctx context.Context, c *Client) error {
				_, _, err := c.ProjectRepositoryStorageMoves.Get(ctx, 1)
				return err
			},
			attempts: 3,
		},
		{
			name: "POST is not retried after a timeout",
			call: func(ctx context.Context, c *Client) error {
				_, _, err := c.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, 1, ScheduleStorageMoveRequest{})
				return err
			},
			attempts: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls counter
			opts := append([]ClientOption{WithTimeout(20 * time.Millisecond)}, tc.opts...)
			ts := setup(t, opts...)
			ts.client.retry = RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}
			ts.client.sleep = func(context.Context, time.Duration) error { return nil }
			ts.mux.HandleFunc("/", hangUntilCancelled(&calls))

			err := tc.call(t.Context(), ts.client)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v; want one matching context.DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), "no answer within 20ms (WithTimeout)") || !strings.HasPrefix(err.Error(), "gitlabdata: ") {
				t.Errorf("error = %q; want the gitlabdata: prefix and the timeout named", err)
			}
			if got := calls.get(); got != tc.attempts {
				t.Errorf("server saw %d attempts; want %d", got, tc.attempts)
			}
		})
	}
}

func TestWithTimeoutValues(t *testing.T) {
	t.Parallel()
	if _, err := NewClient("https://gitlab.example.com", testToken, WithTimeout(-time.Second)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("NewClient(WithTimeout(-1s)) error = %v; want ErrInvalidArgument", err)
	}
	for _, tc := range []struct {
		opts []ClientOption
		want time.Duration
	}{
		{nil, DefaultTimeout},
		{[]ClientOption{WithTimeout(0)}, 0},
		{[]ClientOption{WithTimeout(5 * time.Second)}, 5 * time.Second},
	} {
		c, err := NewClient("https://gitlab.example.com", testToken, tc.opts...)
		if err != nil {
			t.Fatalf("NewClient() error = %v", err)
		}
		if c.timeout != tc.want {
			t.Errorf("per-attempt timeout = %v; want %v", c.timeout, tc.want)
		}
	}
}

// A request that never reaches GitLab says so, with the method, path and
// attempts, and still unwraps to a *url.Error without the host.
func TestTransportErrorNamesRequestAndAttempts(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close() // nothing listens there any more

	c, err := NewClient(base, testToken, WithRetry(RetryPolicy{MaxAttempts: 2, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	_, _, err = c.ProjectRepositoryStorageMoves.Get(t.Context(), 7)
	const prefix = "gitlabdata: GET /api/v4/project_repository_storage_moves/7: no answer from GitLab after 2 attempts: "
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("Get() error = %v; want it to start with %q", err, prefix)
	}
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		t.Fatalf("Get() error = %v; want one that unwraps to *url.Error", err)
	}
	if uerr.URL != "/api/v4/project_repository_storage_moves/7" {
		t.Errorf("url.Error.URL = %q; want the path only", uerr.URL)
	}
}

func TestWithOAuthTokenSendsBearer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		opts                []ClientOption
		wantPrivate, wantAu string
	}{
		{"personal access token", nil, testToken, ""},
		{"OAuth token", []ClientOption{WithOAuthToken()}, "", "Bearer " + testToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, tc.opts...)
			ts.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
				testHeader(t, r, "PRIVATE-TOKEN", tc.wantPrivate)
				testHeader(t, r, "Authorization", tc.wantAu)
				serveJSON(w, http.StatusOK, `{"version":"18.9.0-ee","revision":"abc"}`)
			})
			if _, _, err := ts.client.Version(t.Context()); err != nil {
				t.Fatalf("Version() error = %v", err)
			}
		})
	}
}

// An OAuth token follows the same origin rule as a personal token: a
// redirect to another host is refused and that host sees nothing.
func TestWithOAuthTokenNeverLeavesTheOrigin(t *testing.T) {
	t.Parallel()
	var elsewhere counter
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.inc()
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the other host got an Authorization header")
		}
	}))
	t.Cleanup(other.Close)
	ts := setup(t, WithOAuthToken())
	ts.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v4/version", http.StatusFound)
	})
	_, _, err := ts.client.Version(t.Context())
	if err == nil || !errors.Is(err, errRedirectRefused) {
		t.Fatalf("Version() error = %v; want the redirect refused", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q contains the token", err)
	}
	if n := elsewhere.get(); n != 0 {
		t.Errorf("the other host got %d requests; want 0", n)
	}
}

// logRecords decodes the JSON lines a slog.JSONHandler wrote, dropping the
// time and duration, which change from run to run.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if _, ok := rec["duration"]; !ok {
			t.Errorf("log record %v has no duration", rec)
		}
		delete(rec, "time")
		delete(rec, "duration")
		out = append(out, rec)
	}
	return out
}

func TestWithLoggerOneRecordPerAttempt(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := setup(t, WithLogger(logger))
	ts.client.retry = RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Second}
	var calls counter
	ts.mux.HandleFunc("GET /projects", func(w http.ResponseWriter, r *http.Request) {
		if calls.inc() == 1 {
			w.Header().Set("Retry-After", "0")
			serveJSON(w, http.StatusTooManyRequests, `{"message":"429 Too Many Requests"}`)
			return
		}
		serveJSON(w, http.StatusOK, `[]`)
	})
	query := url.Values{"private_token": {"leaked-" + testToken}, "search": {"x"}}
	if _, err := ts.client.Do(t.Context(), http.MethodGet, "projects", query, nil, nil); err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	const path = "/api/v4/projects?private_token=REDACTED&search=x"
	want := []map[string]any{
		{
			"level": "WARN", "msg": "gitlabdata request", "method": "GET", "path": path,
			"attempt": 1.0, "status": 429.0, "request_id": "01JTESTREQUESTID",
			"error":    "429 Too Many Requests",
			"retry_in": 0.0, "retry_reason": "429 Too Many Requests, as GitLab asked",
		},
		{
			"level": "DEBUG", "msg": "gitlabdata request", "method": "GET", "path": path,
			"attempt": 2.0, "status": 200.0, "request_id": "01JTESTREQUESTID",
		},
	}
	if diff := cmp.Diff(want, logRecords(t, &buf)); diff != "" {
		t.Errorf("log records mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(buf.String(), testToken) {
		t.Errorf("the log contains the token:\n%s", buf.String())
	}
}

// Without WithLogger the Client logs nothing, not even to slog's default.
func TestNoLoggerByDefault(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://gitlab.example.com", testToken)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if c.log != nil {
		t.Errorf("default logger = %v; want none", c.log)
	}
	if _, err := NewClient("https://gitlab.example.com", testToken, WithLogger(nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("NewClient(WithLogger(nil)) error = %v; want ErrInvalidArgument", err)
	}
}

func TestNewClientBaseURLSaysWhatToPass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, base, want string
	}{
		{"empty", "", "base URL is empty; pass your GitLab instance's URL, such as https://gitlab.example.com"},
		{"blank", "   ", "base URL is empty; pass your GitLab instance's URL, such as https://gitlab.example.com"},
		{"no scheme", "gitlab.example.com", `base URL "gitlab.example.com" needs an http:// or https:// scheme, as in https://gitlab.example.com`},
		{"API v3", "https://gitlab.example.com/api/v3", `base URL "https://gitlab.example.com/api/v3" points at "/api/v3"; pass the instance URL (https://gitlab.example.com) or its API v4 root (https://gitlab.example.com/api/v4)`},
		{"below API v4", "https://gitlab.example.com/api/v4/admin/", `base URL "https://gitlab.example.com/api/v4/admin/" points at "/api/v4/admin"; pass the instance URL (https://gitlab.example.com) or its API v4 root (https://gitlab.example.com/api/v4)`},
		{"relative root with v3", "https://example.com/gitlab/api/v3", `base URL "https://example.com/gitlab/api/v3" points at "/api/v3"; pass the instance URL (https://example.com/gitlab) or its API v4 root (https://example.com/gitlab/api/v4)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tc.base, testToken)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("NewClient(%q) error = %v; want ErrInvalidArgument", tc.base, err)
			}
			if want := "gitlabdata: invalid argument: " + tc.want; err.Error() != want {
				t.Errorf("NewClient(%q) error\n got %q\nwant %q", tc.base, err, want)
			}
		})
	}
	for base, want := range map[string]string{
		"https://example.com/gitlab":         "https://example.com/gitlab/api/v4/",
		"https://example.com/gitlab/api/v4/": "https://example.com/gitlab/api/v4/",
		"http://127.0.0.1:8080":              "http://127.0.0.1:8080/api/v4/",
	} {
		c, err := NewClient(base, testToken)
		if err != nil {
			t.Fatalf("NewClient(%q) error = %v", base, err)
		}
		if got := c.BaseURL(); got != want {
			t.Errorf("NewClient(%q).BaseURL() = %q; want %q", base, got, want)
		}
	}
}

// One iter.Seq2 value may be ranged from several goroutines at once; each
// range sees the whole listing. Run with -race.
func TestAllRangedConcurrently(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ts.mux.HandleFunc("GET /project_repository_storage_moves", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			serveJSON(w, http.StatusOK, `[{"id":1,"state":"finished"}]`)
			return
		}
		w.Header().Set("X-Next-Page", "2")
		serveJSON(w, http.StatusOK, `[{"id":3,"state":"started"},{"id":2,"state":"failed"}]`)
	})
	seq := ts.client.ProjectRepositoryStorageMoves.All(t.Context(), nil)
	const ranges = 8
	results := make(chan []int64, ranges)
	for range ranges {
		go func() {
			var ids []int64
			for m, err := range seq {
				if err != nil {
					t.Errorf("All() error = %v", err)
					break
				}
				ids = append(ids, m.ID)
			}
			results <- ids
		}()
	}
	for range ranges {
		if diff := cmp.Diff([]int64{3, 2, 1}, <-results); diff != "" {
			t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestStatusHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		message string
		want    string
	}{
		{401, "401 Unauthorized", "GitLab refused the token as missing, wrong, expired or revoked: use an administrator's access token; an OAuth token needs WithOAuthToken"},
		{403, "403 Forbidden", "this API needs an administrator's token, and admin mode where the instance enables it"},
		{403, "insufficient_scope: The request requires higher privileges than provided by the access token.", "the token lacks a scope: reads need read_api or api, changes need api"},
		{403, "insufficient_granular_scope", "the token lacks GitLab's granular permissions for this API (read_admin_data_management to read, update_admin_data_management to recalculate)"},
		{404, "404 Not Found", ""},
	}
	for _, tc := range tests {
		if got := statusHint(tc.status, tc.message); got != tc.want {
			t.Errorf("statusHint(%d, %q) = %q; want %q", tc.status, tc.message, got, tc.want)
		}
		e := &APIError{StatusCode: tc.status, Message: tc.message, Method: "GET", Path: "/api/v4/x", Hint: tc.want}
		if tc.want != "" && !strings.Contains(e.Error(), "("+tc.want+")") {
			t.Errorf("APIError{%d, %q}.Error() = %q; want the hint in it", tc.status, tc.message, e.Error())
		}
	}
}
