package gitlabdata

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testToken = "glpat-test-SECRET-token"

// testRequestID is the X-Request-Id that serveJSON answers with.
const testRequestID = "01JTESTREQUESTID"

// testServer is a local GitLab stand-in: handlers are mounted on mux under
// /api/v4/, and any request that no handler takes, in /api/v4/ or outside
// it, fails the test.
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
	root.Handle("/api/v4/", http.StripPrefix("/api/v4", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := ts.mux.Handler(r); pattern == "" {
			t.Errorf("request no handler expects: %s %s", r.Method, r.URL)
		}
		ts.mux.ServeHTTP(w, r)
	})))
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

// fixture is a recorded GitLab answer: testdata/<name>.json (or the file
// testdata/<name> where name has an extension, as error_bad_gateway.html)
// and the headers in testdata/<name without extension>.headers. Header values may hold {{BASE}}, the test
// server URL, so that Link headers point at the test server.
type fixture struct {
	name   string
	body   []byte
	header http.Header
}

// loadFixture reads a fixture in the test goroutine, so handlers never
// call t.Fatal.
func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	ext := filepath.Ext(name)
	if ext == "" {
		return fixture{name: name, body: readFixture(t, name), header: fixtureHeader(t, name)}
	}
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return fixture{name: name, body: body, header: fixtureHeader(t, strings.TrimSuffix(name, ext))}
}

// write answers with the fixture's headers ({{BASE}} replaced by base), the
// extra headers, and status. Without a recorded Content-Type the answer is
// application/json.
func (f fixture) write(w http.ResponseWriter, status int, base string, extra http.Header) {
	for k, vs := range f.header {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, strings.ReplaceAll(v, "{{BASE}}", base))
		}
	}
	for k, vs := range extra {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(f.body)
}

// serveFixture writes testdata/name.json with its recorded headers, then
// the extra headers given, and status.
func serveFixture(t testing.TB, w http.ResponseWriter, status int, name string, extra http.Header) {
	t.Helper()
	loadFixture(t, name).write(w, status, "", extra)
}

// serveJSON writes body as JSON with status and the standard GitLab
// request id header.
func serveJSON(w http.ResponseWriter, status int, body string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("X-Request-Id", testRequestID)
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

// refuseOthers fails the test on any API request that no other handler
// takes, and counts such requests.
func refuseOthers(t *testing.T, ts *testServer) *counter {
	t.Helper()
	var n counter
	ts.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.inc()
		t.Errorf("unexpected request %s %s", r.Method, r.URL.RequestURI())
		serveJSON(w, http.StatusNotFound, `{"error":"404 Not Found"}`)
	})
	return &n
}

// route is one endpoint a test expects to be called, and its answer.
type route struct {
	method, path string                // path is a mux pattern below /api/v4
	query        url.Values            // the exact query; nil or empty for none
	rawQuery     string                // the exact raw query, where escaping is under test
	body         string                // the JSON body; "" for no body and no Content-Type
	status       int                   // 0 means 200
	fixture      string                // answer with testdata/<fixture>.json and its headers,
	json         string                // or else with this JSON and serveJSON's headers
	contentType  string                // with json: the Content-Type, if not application/json
	times        int                   // exactly how many requests; 0 means 1
	check        func(r *http.Request) // more checks, if set
}

// expect mounts rt on ts. Each request must carry the method, query, body,
// token and Accept header of rt (a request with no query must have an empty
// raw query); at the end of the test the number of
// requests must be rt.times. It returns the request count.
func expect(t *testing.T, ts *testServer, rt route) *counter {
	t.Helper()
	var fx fixture
	if rt.fixture != "" {
		fx = loadFixture(t, rt.fixture)
	}
	status, want := rt.status, rt.times
	if status == 0 {
		status = http.StatusOK
	}
	if want == 0 {
		want = 1
	}
	base := ts.server.URL
	var calls counter
	ts.mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		testQuery(t, r, rt.query)
		if (rt.rawQuery != "" || len(rt.query) == 0) && r.URL.RawQuery != rt.rawQuery {
			t.Errorf("%s %s raw query = %q; want %q", r.Method, r.URL.Path, r.URL.RawQuery, rt.rawQuery)
		}
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		testHeader(t, r, "Accept", "application/json")
		if rt.body == "" {
			testNoBody(t, r)
			testHeader(t, r, "Content-Type", "")
		} else {
			testJSONBody(t, r, rt.body)
		}
		if rt.check != nil {
			rt.check(r)
		}
		if rt.fixture != "" {
			fx.write(w, status, base, nil)
			return
		}
		if rt.contentType != "" {
			w.Header().Set("Content-Type", rt.contentType)
		}
		serveJSON(w, status, rt.json)
	})
	t.Cleanup(func() {
		if n := calls.get(); n != want {
			t.Errorf("%s %s got %d requests; want %d", rt.method, rt.path, n, want)
		}
	})
	return &calls
}

// recordJSON is the Data management record of the GitLab docs
// (spec §2.3), with a real-looking checksum.
const recordJSON = `{
  "record_identifier": 1,
  "model_class": "Project",
  "created_at": "2025-02-05T11:27:10.173Z",
  "file_size": null,
  "checksum_information": {
    "checksum": "6e1b9a2ec1e2b5d2e0a0d3f1c8f3d7b4a9e1c2d3",
    "last_checksum": "2025-07-24T14:22:18.643Z",
    "checksum_state": "succeeded",
    "checksum_retry_count": 0,
    "checksum_retry_at": null,
    "checksum_failure": null
  }
}`

func wantRecord(t *testing.T) *ModelRecord {
	t.Helper()
	return &ModelRecord{
		RecordIdentifier: IntRecordID(1),
		ModelClass:       "Project",
		CreatedAt:        mustTime(t, "2025-02-05T11:27:10.173Z"),
		ChecksumInformation: &ChecksumInformation{
			Checksum:           String("6e1b9a2ec1e2b5d2e0a0d3f1c8f3d7b4a9e1c2d3"),
			LastChecksum:       mustTime(t, "2025-07-24T14:22:18.643Z"),
			ChecksumState:      ChecksumStateSucceeded,
			ChecksumRetryCount: ptr[int64](0),
		},
	}
}

// moveJSON is a scheduled project move as GitLab sends it after
// MR !136643 (spec §3.3): testdata/storagemoves_project.json, which
// decodes to projectMovesWant(t).get.
const moveJSON = `{"id":1,"created_at":"2023-11-13T02:57:43.523Z","state":"scheduled","source_storage_name":"default","destination_storage_name":"gitaly-1","error_message":null,"project":{"id":13,"description":"Sapiente cumque unde eos quae est.","name":"Underscore","name_with_namespace":"I User0 / Underscore","path":"Underscore","path_with_namespace":"i-user-0-1699826750/Underscore","created_at":"2023-11-12T22:09:10.639Z"}}`

// sdkCallCase is one SDK call with the request it must send and GitLab's
// answer on success.
type sdkCallCase struct {
	name   string
	method string
	path   string // as the mux sees it, under /api/v4
	body   string // expected JSON body; "" for none
	okCode int
	okBody string
	do     func(ctx context.Context, c *Client) error
}

// sdkCalls are one call of each HTTP method and body shape the SDK sends.
var sdkCalls = []sdkCallCase{
	{
		name: "Get", method: http.MethodGet, path: "/admin/data_management/projects/1",
		okCode: http.StatusOK, okBody: recordJSON,
		do: func(ctx context.Context, c *Client) error {
			_, _, err := c.DataManagement.Get(ctx, ModelProjects, IntRecordID(1))
			return err
		},
	},
	{
		name: "ScheduleForProject", method: http.MethodPost, path: "/projects/13/repository_storage_moves",
		body:   `{"destination_storage_name":"gitaly-1"}`,
		okCode: http.StatusCreated, okBody: moveJSON,
		do: func(ctx context.Context, c *Client) error {
			_, _, err := c.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, 13, ScheduleStorageMoveRequest{DestinationStorageName: String("gitaly-1")})
			return err
		},
	},
	{
		name: "ScheduleAll", method: http.MethodPost, path: "/project_repository_storage_moves",
		body:   `{"source_storage_name":"default","destination_storage_name":"gitaly-1"}`,
		okCode: http.StatusAccepted, okBody: `{"message":"202 Accepted"}`,
		do: func(ctx context.Context, c *Client) error {
			_, err := c.ProjectRepositoryStorageMoves.ScheduleAll(ctx, ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: String("gitaly-1")})
			return err
		},
	},
	{
		name: "RecalculateChecksum", method: http.MethodPut, path: "/admin/data_management/projects/1/checksum",
		okCode: http.StatusOK, okBody: recordJSON,
		do: func(ctx context.Context, c *Client) error {
			_, _, err := c.DataManagement.RecalculateChecksum(ctx, ModelProjects, IntRecordID(1))
			return err
		},
	},
	{
		name: "RecalculateChecksums", method: http.MethodPut, path: "/admin/data_management/projects/checksum",
		body:   `{"checksum_state":"failed"}`,
		okCode: http.StatusOK, okBody: `{"status":"success","message":"Batch update job has been successfully enqueued."}`,
		do: func(ctx context.Context, c *Client) error {
			_, _, err := c.DataManagement.RecalculateChecksums(ctx, ModelProjects, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateFailed})
			return err
		},
	},
}

// sdkCall is the sdkCalls entry of this name.
func sdkCall(name string) sdkCallCase {
	for _, c := range sdkCalls {
		if c.name == name {
			return c
		}
	}
	panic("no SDK call " + name)
}

// callServer serves one sdkCallCase with an answer chosen per attempt and
// records every request body.
type callServer struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rs *callServer) attempts() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.bodies)
}

// mount registers call's handler. answer writes the response to attempt n
// (from 1).
func (rs *callServer) mount(t *testing.T, ts *testServer, call sdkCallCase, answer func(w http.ResponseWriter, n int)) {
	t.Helper()
	ts.mux.HandleFunc(call.path, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, call.method)
		testQuery(t, r, url.Values{})
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		rs.mu.Lock()
		rs.bodies = append(rs.bodies, raw)
		n := len(rs.bodies)
		rs.mu.Unlock()
		answer(w, n)
	})
}

// checkBodies asserts that every attempt carried call's body, byte for byte
// the same each time.
func (rs *callServer) checkBodies(t *testing.T, call sdkCallCase) {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for i, raw := range rs.bodies {
		if call.body == "" {
			if len(raw) != 0 {
				t.Errorf("%s attempt %d body = %q; want none", call.name, i+1, raw)
			}
			continue
		}
		var got, want any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("%s attempt %d body %q is not JSON: %v", call.name, i+1, raw, err)
			continue
		}
		_ = json.Unmarshal([]byte(call.body), &want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s attempt %d body mismatch (-want +got):\n%s", call.name, i+1, diff)
		}
		if string(raw) != string(rs.bodies[0]) {
			t.Errorf("%s attempt %d body = %q; want the first attempt's %q", call.name, i+1, raw, rs.bodies[0])
		}
	}
}

// recordingTransport records the URL of every request the client sends. If
// other is not "", it dials any host other than 127.0.0.1 at the address
// other, so that no test reaches out.
type recordingTransport struct {
	tr   *http.Transport
	mu   sync.Mutex
	urls []string
}

func newRecordingTransport(t *testing.T, other string) *recordingTransport {
	var d net.Dialer
	rec := &recordingTransport{tr: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); other != "" && host != "127.0.0.1" {
				addr = other
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(rec.tr.CloseIdleConnections)
	return rec
}

func (rec *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec.mu.Lock()
	rec.urls = append(rec.urls, r.URL.String())
	rec.mu.Unlock()
	return rec.tr.RoundTrip(r)
}

func (rec *recordingTransport) sent() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.urls...)
}

// ---- the scripted pager ----

// pageStyle is how a pager links its pages.
type pageStyle int

const (
	pageOffsetLinks   pageStyle = iota // X-* headers and Link, as storage-move listings
	pageOffsetHeaders                  // X-* headers only, no Link
	pageKeyset                         // Link rel="next" with cursor= only
)

// pager is the one fake GitLab listing of the root tests. It holds the
// items ids in pages of perPage and serves the page the request asks for,
// by its page parameter (offset styles) or its cursor (keyset), never by
// how many requests came before. It records every request URI.
//
// Each page is the JSON of item(id) for its ids with the style's headers,
// or, with fixtures, testdata/fixtures[n-1] and its recorded headers (the
// pager then adds only a Link the fixture lacks, and only for
// pageOffsetLinks and pageKeyset).
type pager struct {
	t       *testing.T
	style   pageStyle
	ids     []int64
	perPage int
	item    func(id int64) string
	// fixtures, if set, are the pages' answers in order.
	fixtures []string
	// linkQuery is merged into the query of every Link href it writes.
	linkQuery url.Values
	// tweak, if set, edits the headers of the answer for page n (from 1).
	tweak func(h http.Header, r *http.Request, n int)
	// failPage, if not 0, answers 500 for that page.
	failPage int
	// nulls puts JSON nulls around the items of every page.
	nulls bool
	// onRequest, if set, sees each request before it is answered.
	onRequest func(r *http.Request)

	mu   sync.Mutex
	uris []string // request URIs, in order
}

func (p *pager) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.uris...)
}

// pagerMaxRequests stops a client that keeps asking for pages without
// yielding anything, which a bound on the loop cannot catch.
const pagerMaxRequests = 50

// pageCursor is the cursor GitLab gives after the record with this id.
func pageCursor(id int64) string {
	return base64.URLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"id":"%d","_kd":"n"}`, id)))
}

// linkTo is the request's URL as the client sent it with set merged into
// the query, built the way GitLab builds Link hrefs (params sorted by name).
func linkTo(r *http.Request, set ...url.Values) string {
	sent, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		panic(err)
	}
	q := sent.Query()
	for _, s := range set {
		for k, v := range s {
			q[k] = v
		}
	}
	return "http://" + r.Host + sent.EscapedPath() + "?" + q.Encode()
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.uris = append(p.uris, r.RequestURI)
	runaway := len(p.uris) > pagerMaxRequests
	p.mu.Unlock()
	if runaway {
		p.t.Errorf("more than %d requests; last %s", pagerMaxRequests, r.RequestURI)
		serveJSON(w, http.StatusBadRequest, `{"error":"runaway pagination"}`)
		return
	}
	if p.onRequest != nil {
		p.onRequest(r)
	}
	testMethod(p.t, r, http.MethodGet)
	testHeader(p.t, r, "PRIVATE-TOKEN", testToken)
	testHeader(p.t, r, "Accept", "application/json")
	testNoBody(p.t, r)

	q := r.URL.Query()
	start := 0
	if p.style == pageKeyset {
		if c := q.Get("cursor"); c != "" {
			start = p.afterCursor(c)
		}
	} else if pg := q.Get("page"); pg != "" {
		n, err := strconv.Atoi(pg)
		if err != nil || n < 1 {
			p.t.Errorf("request %s: bad page %q", r.RequestURI, pg)
			n = 1
		}
		start = (n - 1) * p.perPage
	}
	n := start/p.perPage + 1
	if n == p.failPage {
		serveJSON(w, http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`)
		return
	}
	start = min(start, len(p.ids))
	end := min(start+p.perPage, len(p.ids))
	pages := max((len(p.ids)+p.perPage-1)/p.perPage, 1)

	var fx fixture
	h := w.Header()
	if p.fixtures != nil {
		if n > len(p.fixtures) {
			p.t.Errorf("request %s asks for page %d; the fixtures have %d", r.RequestURI, n, len(p.fixtures))
			serveJSON(w, http.StatusBadRequest, `{"error":"no such page"}`)
			return
		}
		fx = loadFixture(p.t, p.fixtures[n-1])
		for k, vs := range fx.header {
			for _, v := range vs {
				h.Add(k, strings.ReplaceAll(v, "{{BASE}}", "http://"+r.Host))
			}
		}
	} else {
		h.Set("X-Request-Id", fmt.Sprintf("01JPAGE%d", n))
	}
	if p.fixtures == nil || h.Get("Link") == "" {
		p.writeLink(h, r, n, pages, end)
	}
	if p.fixtures == nil && p.style != pageKeyset {
		next, prev := "", ""
		if n > 1 {
			prev = strconv.Itoa(n - 1)
		}
		if n < pages {
			next = strconv.Itoa(n + 1)
		}
		h.Set("X-Next-Page", next)
		h.Set("X-Page", strconv.Itoa(n))
		h.Set("X-Per-Page", strconv.Itoa(p.perPage))
		h.Set("X-Prev-Page", prev)
		h.Set("X-Total", strconv.Itoa(len(p.ids)))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	if p.tweak != nil {
		p.tweak(h, r, n)
	}
	if p.fixtures != nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(fx.body)
		return
	}

	var items []string
	for _, id := range p.ids[start:end] {
		if p.nulls {
			items = append(items, "null")
		}
		items = append(items, p.item(id))
	}
	if p.nulls {
		items = append(items, "null")
	}
	serveJSON(w, http.StatusOK, "["+strings.Join(items, ",")+"]")
}

// writeLink sets the Link header of page n of pages, whose last item is
// ids[end-1].
func (p *pager) writeLink(h http.Header, r *http.Request, n, pages, end int) {
	switch p.style {
	case pageKeyset:
		if end < len(p.ids) {
			next := linkTo(r, p.linkQuery, url.Values{"cursor": {pageCursor(p.ids[end-1])}})
			h.Set("Link", "<"+next+`>; rel="next"`)
		}
	case pageOffsetLinks:
		href := func(page int) string {
			return "<" + linkTo(r, url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(p.perPage)}}, p.linkQuery) + ">"
		}
		var links []string
		if n > 1 {
			links = append(links, href(n-1)+`; rel="prev"`)
		}
		if n < pages {
			links = append(links, href(n+1)+`; rel="next"`)
		}
		links = append(links, href(1)+`; rel="first"`, href(pages)+`; rel="last"`)
		h.Set("Link", strings.Join(links, ", "))
	}
}

// afterCursor is the index of the item after the one the cursor names.
func (p *pager) afterCursor(c string) int {
	raw, err := base64.URLEncoding.DecodeString(c)
	var attrs struct{ ID string }
	if err == nil {
		err = json.Unmarshal(raw, &attrs)
	}
	if err != nil {
		p.t.Errorf("bad cursor %q: %v", c, err)
		return len(p.ids)
	}
	for i, id := range p.ids {
		if strconv.FormatInt(id, 10) == attrs.ID {
			return i + 1
		}
	}
	p.t.Errorf("cursor %q names no item", c)
	return len(p.ids)
}

// recordIDs ranges a data-management All and fails on an error.
func recordIDs(t *testing.T, seq iter.Seq2[*ModelRecord, error]) []int64 {
	t.Helper()
	ids, errs := drainIDs(t, anySeq(seq), 20)
	if len(errs) != 0 {
		t.Fatalf("All() errors = %v; want none", errs)
	}
	return ids
}

// fixturePager mounts a pager of fixture pages on path: ids in pages
// of two, the page chosen by cursor (keyset) or page (offset); the Link
// headers are the fixtures' own.
func fixturePager(t *testing.T, ts *testServer, path string, style pageStyle, ids []int64, fixtures ...string) *pager {
	p := &pager{t: t, style: style, ids: ids, perPage: 2, fixtures: fixtures}
	ts.mux.Handle("GET "+path, p)
	return p
}

// requestURIs are the URIs of requests to path with these queries, in order.
func requestURIs(path string, queries ...url.Values) []string {
	var uris []string
	for _, q := range queries {
		uri := path
		if len(q) > 0 {
			uri += "?" + q.Encode()
		}
		uris = append(uris, uri)
	}
	return uris
}

// ---- iterators ----

// anySeq hides the item type so one table can drive every All method; a
// nil item stays nil.
func anySeq[T any](seq iter.Seq2[*T, error]) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for v, err := range seq {
			var item any
			if v != nil {
				item = v
			}
			if !yield(item, err) {
				return
			}
		}
	}
}

// itemID is the id of a storage move or the integer id of a record.
func itemID(v any) int64 {
	switch v := v.(type) {
	case *ProjectRepositoryStorageMove:
		return v.ID
	case *GroupRepositoryStorageMove:
		return v.ID
	case *SnippetRepositoryStorageMove:
		return v.ID
	case *ModelRecord:
		n, _ := v.RecordIdentifier.Int()
		return n
	}
	return -1
}

// drain ranges seq for at most limit steps, so that a looping iterator
// fails the test instead of hanging it. It reports steps that break the
// contract: (nil, nil), an item with an error, anything after an error.
func drain(t *testing.T, seq iter.Seq2[any, error], limit int) (items []any, errs []error) {
	t.Helper()
	steps := 0
	for v, err := range seq {
		steps++
		if steps > limit {
			t.Errorf("iterator still yielding after %d steps", limit)
			break
		}
		if len(errs) > 0 {
			t.Errorf("step %d = (%v, %v) came after the error %v", steps, v, err, errs[0])
		}
		switch {
		case v == nil && err == nil:
			t.Errorf("step %d yielded (nil, nil)", steps)
		case v != nil && err != nil:
			t.Errorf("step %d yielded both an item and the error %v", steps, err)
		case err != nil:
			errs = append(errs, err)
		default:
			items = append(items, v)
		}
	}
	return items, errs
}

// onlyError ranges seq, checks that it yields exactly one step, an error
// with no item, and returns that error.
func onlyError(t *testing.T, seq iter.Seq2[any, error]) error {
	t.Helper()
	items, errs := drain(t, seq, 5)
	if len(items) != 0 || len(errs) != 1 {
		t.Fatalf("iterator yielded items %v and errors %v; want a single error", items, errs)
	}
	return errs[0]
}

// drainIDs is drain reporting the items' ids.
func drainIDs(t *testing.T, seq iter.Seq2[any, error], limit int) (ids []int64, errs []error) {
	t.Helper()
	items, errs := drain(t, seq, limit)
	for _, v := range items {
		ids = append(ids, itemID(v))
	}
	return ids, errs
}

// intIDs are integer record ids.
func intIDs(ids ...int64) []RecordID {
	out := make([]RecordID, len(ids))
	for i, id := range ids {
		out[i] = IntRecordID(id)
	}
	return out
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
