package gitlabdata

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewClientBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"https://gitlab.example.com", "https://gitlab.example.com/api/v4/"},
		{"https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"},
		{"https://gitlab.example.com/api/v4", "https://gitlab.example.com/api/v4/"},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com/api/v4/"},
		{"http://gitlab.example.com:8080/gitlab", "http://gitlab.example.com:8080/gitlab/api/v4/"},
		{"http://gitlab.example.com:8080/gitlab/", "http://gitlab.example.com:8080/gitlab/api/v4/"},
		{"http://gitlab.example.com:8080/gitlab/api/v4/", "http://gitlab.example.com:8080/gitlab/api/v4/"},
		{"  https://gitlab.example.com  ", "https://gitlab.example.com/api/v4/"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000/api/v4/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.in, testToken)
			if err != nil {
				t.Fatalf("NewClient(%q) error = %v", tt.in, err)
			}
			if got := c.BaseURL(); got != tt.want {
				t.Errorf("NewClient(%q).BaseURL() = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewClientInvalidArguments(t *testing.T) {
	t.Parallel()
	// Every refused base URL points at this server, so a client that slipped
	// through and sent anything would show up in the counter.
	var hits counter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.inc()
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	}))
	t.Cleanup(srv.Close)
	// Runs once every parallel subtest has finished.
	t.Cleanup(func() {
		if n := hits.get(); n != 0 {
			t.Errorf("server received %d requests; want 0", n)
		}
	})
	hostPort := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name  string
		base  string
		token string
		opts  []ClientOption
	}{
		{name: "empty base URL", base: "", token: testToken},
		{name: "host only", base: "gitlab.example.com", token: testToken},
		{name: "host and port only", base: hostPort, token: testToken},
		{name: "ftp scheme", base: "ftp://" + hostPort, token: testToken},
		{name: "scheme only", base: "https://", token: testToken},
		{name: "user and password", base: "http://user:pass@" + hostPort, token: testToken},
		{name: "query", base: srv.URL + "/?private=1", token: testToken},
		{name: "fragment", base: srv.URL + "/api/v4#frag", token: testToken},
		{name: "empty token", base: srv.URL, token: ""},
		{name: "blank token", base: srv.URL, token: " \t "},
		{name: "token with newline", base: srv.URL, token: "glpat-abc\nX-Injected: 1"},
		{name: "token with carriage return", base: srv.URL, token: "glpat-abc\r"},
		{name: "nil http client", base: srv.URL, token: testToken, opts: []ClientOption{WithHTTPClient(nil)}},
		{name: "user agent with newline", base: srv.URL, token: testToken, opts: []ClientOption{WithUserAgent("tool/1.0\r\nX-Injected: 1")}},
		{name: "negative max attempts", base: srv.URL, token: testToken, opts: []ClientOption{WithRetry(RetryPolicy{MaxAttempts: -1})}},
		{name: "negative min delay", base: srv.URL, token: testToken, opts: []ClientOption{WithRetry(RetryPolicy{MinDelay: -time.Second})}},
		{name: "negative max delay", base: srv.URL, token: testToken, opts: []ClientOption{WithRetry(RetryPolicy{MaxDelay: -time.Second})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.base, tt.token, tt.opts...)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("NewClient(%q) error = %v; want ErrInvalidArgument", tt.base, err)
			}
			if c != nil {
				t.Errorf("NewClient(%q) client = %p; want nil", tt.base, c)
			}
			if !strings.HasPrefix(err.Error(), "gitlabdata: invalid argument: ") {
				t.Errorf("NewClient(%q) error = %q; want the prefix %q", tt.base, err, "gitlabdata: invalid argument: ")
			}
			if tt.token != "" && strings.TrimSpace(tt.token) != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("NewClient(%q) error = %q; it repeats the token", tt.base, err)
			}
		})
	}
}

// A base URL refused by NewClient may carry a password or a token in its
// user info or query; the error must not repeat it.
func TestNewClientRefusalRedactsSecrets(t *testing.T) {
	t.Parallel()
	const secret = "s3cretPa55"
	tests := []struct {
		name string
		base string
	}{
		{"user info with a scheme error", "ftp://alice:" + secret + "@gitlab.example.com"},
		{"user info without a host", "https://alice:" + secret + "@/gitlab"},
		{"user info that does not parse", "https://alice:" + secret + " x@gitlab.example.com"},
		{"user info with a query", "https://alice:" + secret + "@gitlab.example.com/?a=1"},
		{"token in the query", "https://gitlab.example.com/api/v4?private_token=" + secret},
		{"token in the query with a scheme error", "ftp://gitlab.example.com/?private_token=" + secret},
		{"token in the query without a host", "https:///api/v4?private_token=" + secret},
		{"token in the fragment with a scheme error", "gitlab.example.com/#private_token=" + secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tt.base, testToken)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("NewClient(%q) error = %v; want ErrInvalidArgument", tt.base, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("NewClient(%q) error = %q; it repeats the secret %q", tt.base, err, secret)
			}
		})
	}
}

func TestNewClientRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []ClientOption
		want RetryPolicy
	}{
		{"no option", nil, RetryPolicy{MaxAttempts: 3, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}},
		{"zero policy", []ClientOption{WithRetry(RetryPolicy{})}, DefaultRetryPolicy()},
		{"only max attempts", []ClientOption{WithRetry(RetryPolicy{MaxAttempts: 5})},
			RetryPolicy{MaxAttempts: 5, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}},
		{"retries disabled", []ClientOption{WithRetry(RetryPolicy{MaxAttempts: 1})},
			RetryPolicy{MaxAttempts: 1, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}},
		{"only delays", []ClientOption{WithRetry(RetryPolicy{MinDelay: time.Millisecond, MaxDelay: time.Minute})},
			RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Minute}},
		{"last option wins", []ClientOption{WithRetry(RetryPolicy{MaxAttempts: 7}), WithRetry(RetryPolicy{MaxAttempts: 2})},
			RetryPolicy{MaxAttempts: 2, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient("https://gitlab.example.com", testToken, tt.opts...)
			if err != nil {
				t.Fatalf("NewClient() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, c.retry); diff != "" {
				t.Errorf("NewClient(%s) retry policy mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestNewClientDefaultHTTPClient(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://gitlab.example.com", testToken)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if c.hc.Timeout != 0 || c.timeout != DefaultTimeout || DefaultTimeout != 60*time.Second {
		t.Errorf("http client Timeout = %v, per-attempt timeout = %v; want 0 (the bound is per attempt) and DefaultTimeout (60s)", c.hc.Timeout, c.timeout)
	}
	if c.hc.CheckRedirect == nil {
		t.Error("default http client has no CheckRedirect; want the same-origin policy")
	}
	if c.hc == http.DefaultClient {
		t.Error("NewClient uses http.DefaultClient; want its own client")
	}
	for name, svc := range map[string]any{
		"DataManagement":                c.DataManagement,
		"ProjectRepositoryStorageMoves": c.ProjectRepositoryStorageMoves,
		"GroupRepositoryStorageMoves":   c.GroupRepositoryStorageMoves,
		"SnippetRepositoryStorageMoves": c.SnippetRepositoryStorageMoves,
	} {
		if svc == nil {
			t.Errorf("Client.%s is nil", name)
		}
	}
}

func TestClientRequestHeaders(t *testing.T) {
	t.Parallel()
	agents := []struct {
		name string
		opts []ClientOption
		want string
	}{
		{"default agent", nil, "gitlabdata/" + SDKVersion},
		{"with product", []ClientOption{WithUserAgent("mytool/1.0")}, "gitlabdata/" + SDKVersion + " mytool/1.0"},
	}
	if SDKVersion == "" {
		t.Fatal("SDKVersion is empty")
	}
	for _, ua := range agents {
		for _, tc := range sdkCalls {
			t.Run(ua.name+"/"+tc.method+" "+tc.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t, ua.opts...)
				var hits counter
				ts.mux.HandleFunc(tc.path, func(w http.ResponseWriter, r *http.Request) {
					hits.inc()
					testMethod(t, r, tc.method)
					testQuery(t, r, url.Values{})
					testHeader(t, r, "User-Agent", ua.want)
					testHeader(t, r, "PRIVATE-TOKEN", testToken)
					testHeader(t, r, "Accept", "application/json")
					if got := r.Header.Values("Authorization"); len(got) != 0 {
						t.Errorf("Authorization header = %q; want none", got)
					}
					if tc.body != "" {
						testJSONBody(t, r, tc.body)
					} else {
						testNoBody(t, r)
						if got, ok := r.Header["Content-Type"]; ok {
							t.Errorf("Content-Type = %q on a request without a body; want none", got)
						}
					}
					serveJSON(w, tc.okCode, tc.okBody)
				})
				if err := tc.do(t.Context(), ts.client); err != nil {
					t.Fatalf("%s %s error = %v", tc.method, tc.path, err)
				}
				if n := hits.get(); n != 1 {
					t.Errorf("server received %d requests; want 1", n)
				}
			})
		}
	}
}

func TestClientWithHTTPClient(t *testing.T) {
	t.Parallel()
	rt := newRecordingTransport(t, "")
	var redirectChecks counter
	callerCheck := func(*http.Request, []*http.Request) error {
		redirectChecks.inc()
		return nil
	}
	hc := &http.Client{Transport: rt, CheckRedirect: callerCheck, Timeout: 7 * time.Second}

	ts := setup(t, WithHTTPClient(hc))
	if ts.client.hc == hc {
		t.Fatal("Client uses the caller's *http.Client itself; want a copy")
	}
	if ts.client.hc.Transport != rt {
		t.Error("the copy does not use the caller's Transport")
	}
	if ts.client.hc.Timeout != 7*time.Second {
		t.Errorf("the copy's Timeout = %v; want the caller's 7s", ts.client.hc.Timeout)
	}

	// An old singular model name answers with a same-origin redirect.
	ts.mux.HandleFunc("/admin/data_management/project/1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		http.Redirect(w, r, "/api/v4/admin/data_management/projects/1", http.StatusMovedPermanently)
	})
	ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		serveJSON(w, http.StatusOK, recordJSON)
	})
	got, _, err := ts.client.DataManagement.Get(t.Context(), ModelName("project"), IntRecordID(1))
	if err != nil {
		t.Fatalf("Get(project, 1) error = %v", err)
	}
	if diff := cmp.Diff(wantRecord(t), got); diff != "" {
		t.Errorf("Get(project, 1) mismatch (-want +got):\n%s", diff)
	}
	wantSent := []string{ // the request and the redirect
		ts.server.URL + "/api/v4/admin/data_management/project/1",
		ts.server.URL + "/api/v4/admin/data_management/projects/1",
	}
	if diff := cmp.Diff(wantSent, rt.sent()); diff != "" {
		t.Errorf("caller's Transport requests mismatch (-want +got):\n%s", diff)
	}
	if n := redirectChecks.get(); n != 1 {
		t.Errorf("caller's CheckRedirect ran %d times; want 1", n)
	}

	// The caller's client is untouched: its CheckRedirect is still its own,
	// which allows a cross-origin redirect the Client's copy would refuse.
	other, _ := http.NewRequest(http.MethodGet, "http://other.example:1/", nil)
	if err := hc.CheckRedirect(other, nil); err != nil {
		t.Errorf("caller's CheckRedirect = %v; want the caller's own function, unchanged", err)
	}
	if n := redirectChecks.get(); n != 2 {
		t.Errorf("caller's CheckRedirect ran %d times; want 2", n)
	}
}

// A base URL with a relative URL root ("/gitlab") sends requests under it.
func TestClientRelativeURLRoot(t *testing.T) {
	t.Parallel()
	var hits counter
	mux := http.NewServeMux()
	mux.HandleFunc("/gitlab/api/v4/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
		hits.inc()
		testMethod(t, r, http.MethodGet)
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		serveJSON(w, http.StatusOK, recordJSON)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside /gitlab/api/v4/: %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	c, err := NewClient(srv.URL+"/gitlab", testToken, WithRetry(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if got, want := c.BaseURL(), srv.URL+"/gitlab/api/v4/"; got != want {
		t.Errorf("BaseURL() = %q; want %q", got, want)
	}
	got, _, err := c.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	if err != nil {
		t.Fatalf("Get(projects, 1) error = %v", err)
	}
	if diff := cmp.Diff(wantRecord(t), got); diff != "" {
		t.Errorf("Get(projects, 1) mismatch (-want +got):\n%s", diff)
	}
	if n := hits.get(); n != 1 {
		t.Errorf("server received %d requests; want 1", n)
	}
}

func TestClientDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		wantErr     string
	}{
		{"not JSON", "", "<html>oops</html>", "gitlabdata: decoding GET /api/v4/admin/data_management/projects/1: invalid character '<' looking for beginning of value"},
		{"an HTML page", "text/html; charset=utf-8", "<html>Sign in</html>", "gitlabdata: decoding GET /api/v4/admin/data_management/projects/1: " +
			"the answer is text/html, not GitLab's API: check that the base URL is your GitLab's URL (invalid character '<' looking for beginning of value)"},
		{"empty body", "", "", "gitlabdata: decoding GET /api/v4/admin/data_management/projects/1: empty response body"},
		{"wrong type", "", `{"record_identifier":true}`, "gitlabdata: decoding GET /api/v4/admin/data_management/projects/1: gitlabdata: record_identifier true is neither an integer nor a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/projects/1", json: tt.body, contentType: tt.contentType})
			_, resp, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
			if err == nil {
				t.Fatal("Get() error = nil; want a decoding error")
			}
			if got := err.Error(); got != tt.wantErr {
				t.Errorf("Get() error = %q; want %q", got, tt.wantErr)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				t.Errorf("Get() error is an *APIError (%v); want a decoding error", apiErr)
			}
			if resp == nil || resp.StatusCode != http.StatusOK || resp.RequestID != testRequestID {
				t.Errorf("Get() response = %+v; want status 200 and request id %s", resp, testRequestID)
			}
		})
	}
}

func TestClientTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more

	c, err := NewClient(base, testToken, WithRetry(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	_, _, err = c.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		t.Fatalf("Get() error = %v (%T); want a *url.Error", err, err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("Get() error is an *APIError; want a transport error")
	}
}

// A context cancelled before the call sends nothing and waits for nothing,
// whatever the call, and says which request it stopped.
func TestClientContextCanceledBeforeRequest(t *testing.T) {
	t.Parallel()
	calls := append([]sdkCallCase{{
		name: "List", method: http.MethodGet, path: "/admin/data_management/projects",
		do: func(ctx context.Context, c *Client) error {
			_, _, err := c.DataManagement.List(ctx, ModelProjects, nil)
			return err
		},
	}}, sdkCalls...)
	for _, call := range calls {
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(RetryPolicy{MaxAttempts: 3}))
			requests := refuseOthers(t, ts)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := call.do(ctx, ts.client)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s() error = %v; want context.Canceled", call.name, err)
			}
			if want := "gitlabdata: " + call.method + " /api/v4" + call.path + ": context canceled"; err.Error() != want {
				t.Errorf("%s() error = %q; want %q", call.name, err, want)
			}
			if n := requests.get(); n != 0 {
				t.Errorf("%s() sent %d requests; want 0", call.name, n)
			}
			if s := ts.recordedSleeps(); len(s) != 0 {
				t.Errorf("recorded sleeps = %v; want none", s)
			}
		})
	}
}
