package gitlabtest_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// testNow is the fixed clock of the servers the tests start.
var testNow = time.Date(2025, 7, 24, 14, 22, 18, 643_000_000, time.UTC)

// newFake starts a server with a fixed clock and seed, closed when the test
// ends.
func newFake(t *testing.T, opts ...gitlabtest.ServerOption) *gitlabtest.Server {
	t.Helper()
	opts = append([]gitlabtest.ServerOption{
		gitlabtest.WithClock(func() time.Time { return testNow }),
		gitlabtest.WithSeed(1),
	}, opts...)
	srv := gitlabtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// fakeClient is a client of srv without retries.
func fakeClient(t *testing.T, srv *gitlabtest.Server) *gitlabdata.Client {
	t.Helper()
	c, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	return c
}

// rawResp is an answer read in full.
type rawResp struct {
	status int
	header http.Header
	body   string
}

// doRaw sends one request to srv with token (none when ""), for
// assertions on exact bodies and headers. path is relative to /api/v4 and
// may carry a query.
func doRaw(t *testing.T, srv *gitlabtest.Server, method, path, token, body string) rawResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL()+"/api/v4"+path, rd)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) error = %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return rawResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// adminDo sends a request with the administrator's token.
func adminDo(t *testing.T, srv *gitlabtest.Server, method, path, body string) rawResp {
	t.Helper()
	return doRaw(t, srv, method, path, srv.Token(), body)
}

// wantJSON checks the status, the JSON content type and the exact body.
func wantJSON(t *testing.T, what string, got rawResp, status int, body string) {
	t.Helper()
	if got.status != status {
		t.Errorf("%s status = %d; want %d (body %s)", what, got.status, status, got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s Content-Type = %q; want application/json", what, ct)
	}
	if got.body != body {
		t.Errorf("%s body = %s; want %s", what, got.body, body)
	}
}

// asAPIError returns err as an *APIError or fails the test.
func asAPIError(t *testing.T, what string, err error) *gitlabdata.APIError {
	t.Helper()
	var apiErr *gitlabdata.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s error = %v; want an *APIError", what, err)
	}
	return apiErr
}

// headerOf returns the values of the named headers, with "<absent>" for a
// missing one.
func headerOf(h http.Header, keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if vs, ok := h[http.CanonicalHeaderKey(k)]; ok {
			out[k] = strings.Join(vs, "|")
		} else {
			out[k] = "<absent>"
		}
	}
	return out
}

// offsetHeaderKeys are the headers of an offset page.
var offsetHeaderKeys = []string{"X-Page", "X-Per-Page", "X-Next-Page", "X-Prev-Page", "X-Total", "X-Total-Pages", "Link"}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
