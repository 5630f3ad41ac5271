package gitlabdata

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testToken = "glpat-test-SECRET-token"

// testServer is a local GitLab stand-in: handlers are mounted on mux under
// /api/v4/, and any request outside /api/v4/ fails the test.
type testServer struct {
	mux    *http.ServeMux
	server *httptest.Server
	client *Client

	mu     sync.Mutex
	sleeps []time.Duration // waits the client asked for, in order
}

// setup starts a server and a client pointed at it with retries disabled
// and an instant, recording sleep.
func setup(t *testing.T, opts ...ClientOption) *testServer {
	t.Helper()
	ts := &testServer{mux: http.NewServeMux()}
	root := http.NewServeMux()
	root.Handle("/api/v4/", http.StripPrefix("/api/v4", ts.mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside /api/v4/: %s %s", r.Method, r.URL)
		http.Error(w, "outside the API", http.StatusNotFound)
	})
	ts.server = httptest.NewServer(root)
	t.Cleanup(ts.server.Close)

	opts = append([]ClientOption{WithRetry(RetryPolicy{MaxAttempts: 1})}, opts...)
	c, err := NewClient(ts.server.URL, testToken, opts...)
	if err != nil {
		t.Fatalf("NewClient(%q) error = %v", ts.server.URL, err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		ts.mu.Lock()
		ts.sleeps = append(ts.sleeps, d)
		ts.mu.Unlock()
		return ctx.Err()
	}
	ts.client = c
	return ts
}

// recordedSleeps returns the waits the client asked for so far.
func (ts *testServer) recordedSleeps() []time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]time.Duration(nil), ts.sleeps...)
}

// counter counts requests to a handler; safe for concurrent handlers.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("request method = %s; want %s", r.Method, want)
	}
}

// testQuery compares the whole query exactly.
func testQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	got := r.URL.Query()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s %s query mismatch (-want +got):\n%s", r.Method, r.URL.Path, diff)
	}
}

func testHeader(t *testing.T, r *http.Request, key, want string) {
	t.Helper()
	if got := r.Header.Get(key); got != want {
		t.Errorf("request header %s = %q; want %q", key, got, want)
	}
}

// testJSONBody decodes the request body and compares it with want, which is
// decoded the same way (so numbers compare as float64).
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("reading request body: %v", err)
	}
	var got, wantV any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("request body %q is not JSON: %v", raw, err)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatalf("want body %q is not JSON: %v", want, err)
	}
	if diff := cmp.Diff(wantV, got); diff != "" {
		t.Errorf("%s %s body mismatch (-want +got):\n%s", r.Method, r.URL.Path, diff)
	}
	testHeader(t, r, "Content-Type", "application/json")
}

// testNoBody checks that a request carries no body.
func testNoBody(t *testing.T, r *http.Request) {
	t.Helper()
	raw, _ := io.ReadAll(r.Body)
	if len(raw) != 0 {
		t.Errorf("%s %s body = %q; want none", r.Method, r.URL.Path, raw)
	}
}

// readFixture returns testdata/name.json.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// fixtureHeader returns the headers in testdata/name.headers ("Key: value"
// lines as GitLab sends them), or an empty header if the file is absent.
func fixtureHeader(t testing.TB, name string) http.Header {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".headers"))
	if errors.Is(err, os.ErrNotExist) {
		return http.Header{}
	}
	if err != nil {
		t.Fatalf("reading fixture headers: %v", err)
	}
	defer f.Close()
	// A trailing blank line ends the header block for textproto.
	r := textproto.NewReader(bufio.NewReader(io.MultiReader(f, strings.NewReader("\r\n\r\n"))))
	h, err := r.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("parsing testdata/%s.headers: %v", name, err)
	}
	return http.Header(h)
}

// serveFixture writes testdata/name.json with its recorded headers, then
// the extra headers given, and status.
func serveFixture(t testing.TB, w http.ResponseWriter, status int, name string, extra http.Header) {
	t.Helper()
	body := readFixture(t, name)
	for k, vs := range fixtureHeader(t, name) {
		w.Header()[k] = vs
	}
	for k, vs := range extra {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveJSON writes body as JSON with status and the standard GitLab
// request id header.
func serveJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "01JTESTREQUESTID")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// mustTime parses an RFC 3339 time for expected values.
func mustTime(t testing.TB, s string) *time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return &tm
}
