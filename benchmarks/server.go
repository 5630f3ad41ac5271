package main

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	token = "glpat-benchmark-0000000000"
	// perPage is the only page size the server serves.
	perPage          = 100
	model            = "lfs_objects"
	recordsPath      = "/api/v4/admin/data_management/" + model
	movesPath        = "/api/v4/project_repository_storage_moves"
	groupMovesPath   = "/api/v4/group_repository_storage_moves"
	snippetMovesPath = "/api/v4/snippet_repository_storage_moves"
	// maxCounted is the largest listing for which GitLab sends X-Total,
	// X-Total-Pages and rel="last" (spec §1.3).
	maxCounted = 10_000
)

// page is one pre-rendered answer, with its body also gzip-compressed.
type page struct {
	header   http.Header
	body, gz []byte
	// gzLength is the Content-Length of the compressed body.
	gzLength []string
}

// dataset is a whole listing, rendered once and served byte for byte the
// same to every contender.
type dataset struct {
	pages []page
	// index maps the request's cursor (keyset) or page number (offset)
	// to a page.
	index map[string]int
	items int
	// sum is the sum of all ids, to check what a contender decoded.
	sum       int64
	jsonBytes int
	// gzBytes is the size of all compressed bodies.
	gzBytes int
}

// dsInfo is what the harness needs to know of a dataset: its size, for
// the report, and its id sum, to check what a contender saw. A server child
// sends it to the parent as JSON.
type dsInfo struct {
	Items     int   `json:"items"`
	Pages     int   `json:"pages"`
	Sum       int64 `json:"sum"`
	JSONBytes int   `json:"json_bytes"`
	GzBytes   int   `json:"gz_bytes"`
}

func (d *dataset) info() dsInfo {
	return dsInfo{Items: d.items, Pages: len(d.pages), Sum: d.sum, JSONBytes: d.jsonBytes, GzBytes: d.gzBytes}
}

// pageBytes is the average JSON size of one page.
func (d dsInfo) pageBytes() float64 { return float64(d.JSONBytes) / float64(d.Pages) }

// server serves the listings from pre-rendered pages and counts the TCP
// connections it accepts.
type server struct {
	URL string
	srv *http.Server
	// data holds the dataset served at each listing's path.
	data map[string]*atomic.Pointer[dataset]
	// gzip makes the server answer a request that accepts gzip with the
	// compressed body, as GitLab's bundled NGINX does for application/json.
	gzip atomic.Bool
	// latency is slept before each answer.
	latency atomic.Int64
	// rejected counts answers other than 200: a contender that sends the
	// wrong request shows up here.
	rejected atomic.Int64

	mu sync.Mutex
	// accepted counts connections accepted since resetConnections, used
	// those of them that carried at least one request. net/http's client
	// dials a spare connection when its next request comes before the
	// previous connection is back in its pool, and then may never use it;
	// on a busy machine that makes accepted exceed used.
	accepted, used int
	conns          map[net.Conn]*connInfo
}

type connInfo struct {
	state http.ConnState
	// counted is whether the connection was accepted since the last
	// reset, and used whether it has carried a request since then.
	counted, used bool
}

func newServer() (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + ln.Addr().String(), conns: make(map[net.Conn]*connInfo), data: make(map[string]*atomic.Pointer[dataset])}
	for _, k := range kinds {
		s.data[k.path] = new(atomic.Pointer[dataset])
	}
	s.srv = &http.Server{
		Handler:           s,
		ConnState:         s.connState,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) Close() error { return s.srv.Close() }

// store makes the server serve ds at path.
func (s *server) store(path string, ds *dataset) { s.data[path].Store(ds) }

func (s *server) connState(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.accepted++
		s.conns[c] = &connInfo{state: state, counted: true}
		return
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
		return
	}
	ci := s.conns[c]
	ci.state = state
	if state == http.StateActive && ci.counted && !ci.used {
		ci.used = true
		s.used++
	}
}

// resetConnections closes the idle connections left by earlier runs and
// zeroes the counts, so that the next run's counts are its own.
func (s *server) resetConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, ci := range s.conns {
		ci.counted = false
		if ci.state == http.StateIdle {
			_ = c.Close()
		}
	}
	s.accepted, s.used = 0, 0
}

// The server is a target for measure in its own process.

func (s *server) base() string { return s.URL }

func (s *server) reset() error {
	s.resetConnections()
	return nil
}

// stats reports no CPU time: in this process it is the contenders' too.
func (s *server) stats() (serverStats, error) {
	accepted, used := s.connections()
	return serverStats{Accepted: accepted, Used: used, Refused: s.rejected.Load()}, nil
}

// connections returns how many connections were accepted and how many of
// them carried requests since resetConnections.
func (s *server) connections() (accepted, used int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.used
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("PRIVATE-TOKEN") != token {
		s.reject(w, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
		return
	}
	if d := time.Duration(s.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	q := r.URL.Query()
	slot, ok := s.data[r.URL.Path]
	if !ok || slot.Load() == nil {
		s.reject(w, http.StatusNotFound, `{"error":"404 Not Found"}`)
		return
	}
	ds, key := slot.Load(), q.Get("page")
	if r.URL.Path == recordsPath {
		if q.Get("pagination") != "keyset" {
			s.reject(w, http.StatusBadRequest, `{"error":"this server serves keyset pages only"}`)
			return
		}
		key = q.Get("cursor")
	} else if key == "" {
		key = "1"
	}
	if q.Get("per_page") != strconv.Itoa(perPage) {
		s.reject(w, http.StatusBadRequest, `{"error":"this server serves per_page=100 only"}`)
		return
	}
	i, ok := ds.index[key]
	if !ok {
		s.reject(w, http.StatusBadRequest, `{"error":"unknown cursor or page"}`)
		return
	}
	pg := ds.pages[i]
	h := w.Header()
	for k, v := range pg.header {
		h[k] = v
	}
	body := pg.body
	if s.gzip.Load() && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h["Content-Encoding"] = gzipEncoding
		h["Content-Length"] = pg.gzLength
		body = pg.gz
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

var gzipEncoding = []string{"gzip"}

func (s *server) reject(w http.ResponseWriter, status int, body string) {
	s.rejected.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Rendering. Field names and order follow GitLab's entities (spec §2.3 and
// §3.3); times are sent the way Rails sends them, in UTC with milliseconds.

const railsTime = "2006-01-02T15:04:05.000Z07:00"

type wireRecord struct {
	RecordIdentifier    int64         `json:"record_identifier"`
	ModelClass          string        `json:"model_class"`
	CreatedAt           string        `json:"created_at"`
	FileSize            int64         `json:"file_size"`
	ChecksumInformation *wireChecksum `json:"checksum_information"`
}

type wireChecksum struct {
	Checksum           *string `json:"checksum"`
	LastChecksum       *string `json:"last_checksum"`
	ChecksumState      string  `json:"checksum_state"`
	ChecksumRetryCount int     `json:"checksum_retry_count"`
	ChecksumRetryAt    *string `json:"checksum_retry_at"`
	ChecksumFailure    *string `json:"checksum_failure"`
}

type wireMove struct {
	ID                     int64        `json:"id"`
	CreatedAt              string       `json:"created_at"`
	State                  string       `json:"state"`
	SourceStorageName      string       `json:"source_storage_name"`
	DestinationStorageName string       `json:"destination_storage_name"`
	ErrorMessage           *string      `json:"error_message"`
	Project                wireIdentity `json:"project"`
}

// wireMoveBase is what the three kinds of storage move share.
type wireMoveBase struct {
	ID                     int64   `json:"id"`
	CreatedAt              string  `json:"created_at"`
	State                  string  `json:"state"`
	SourceStorageName      string  `json:"source_storage_name"`
	DestinationStorageName string  `json:"destination_storage_name"`
	ErrorMessage           *string `json:"error_message"`
}

type wireGroupMove struct {
	wireMoveBase
	Group struct {
		ID     int64  `json:"id"`
		WebURL string `json:"web_url"`
		Name   string `json:"name"`
	} `json:"group"`
}

type wireSnippetMove struct {
	wireMoveBase
	Snippet wireSnippet `json:"snippet"`
}

type wireSnippet struct {
	ID            int64    `json:"id"`
	Title         string   `json:"title"`
	Description   *string  `json:"description"`
	Visibility    string   `json:"visibility"`
	Author        wireUser `json:"author"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
	ProjectID     *int64   `json:"project_id"`
	WebURL        string   `json:"web_url"`
	RawURL        string   `json:"raw_url"`
	SSHURLToRepo  string   `json:"ssh_url_to_repo"`
	HTTPURLToRepo string   `json:"http_url_to_repo"`
}

type wireUser struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	PublicEmail string `json:"public_email"`
	Name        string `json:"name"`
	State       string `json:"state"`
	Locked      bool   `json:"locked"`
	AvatarURL   string `json:"avatar_url"`
	WebURL      string `json:"web_url"`
}

type wireIdentity struct {
	ID                int64   `json:"id"`
	Description       *string `json:"description"`
	Name              string  `json:"name"`
	NameWithNamespace string  `json:"name_with_namespace"`
	Path              string  `json:"path"`
	PathWithNamespace string  `json:"path_with_namespace"`
	CreatedAt         string  `json:"created_at"`
}

// renderer holds the deterministic randomness shared by both listings.
type renderer struct {
	rnd   *rand.Rand
	epoch time.Time
}

func newRenderer(seed uint64) *renderer {
	return &renderer{
		rnd:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		epoch: time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC),
	}
}

func (g *renderer) time(maxDays int) string {
	d := time.Duration(g.rnd.Int64N(int64(maxDays) * 24 * int64(time.Hour)))
	return g.epoch.Add(d).Truncate(time.Millisecond).Format(railsTime)
}

func (g *renderer) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

// requestID looks like the ULIDs GitLab sends in X-Request-Id.
func (g *renderer) requestID() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01J")
	for len(b) < 26 {
		b = append(b, alphabet[g.rnd.IntN(len(alphabet))])
	}
	return string(b)
}

// header holds the headers every GitLab API answer carries.
func (g *renderer) header(body []byte) http.Header {
	h := make(http.Header)
	h.Set("Cache-Control", "max-age=0, private, must-revalidate")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Etag", fmt.Sprintf(`W/"%x"`, md5.Sum(body)))
	h.Set("Vary", "Accept-Encoding, Origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Request-Id", g.requestID())
	h.Set("X-Runtime", fmt.Sprintf("%.6f", 0.02+g.rnd.Float64()*0.07))
	return h
}

func (g *renderer) record(id int64) wireRecord {
	r := wireRecord{
		RecordIdentifier: id,
		ModelClass:       "LfsObject",
		CreatedAt:        g.time(365),
		FileSize:         1024 + g.rnd.Int64N(64<<20),
	}
	ci := &wireChecksum{}
	switch p := g.rnd.IntN(100); {
	case p < 90:
		sum, at := g.hex(64), g.time(400)
		ci.Checksum, ci.LastChecksum, ci.ChecksumState = &sum, &at, "succeeded"
	case p < 95:
		at, failure := g.time(400), "Error during verification: File is not checksummable"
		ci.ChecksumState, ci.ChecksumRetryCount, ci.ChecksumRetryAt, ci.ChecksumFailure = "failed", 1+g.rnd.IntN(5), &at, &failure
	default:
		ci.ChecksumState = "pending"
	}
	r.ChecksumInformation = ci
	return r
}

func (g *renderer) move(id int64) wireMove {
	project := 1000 + id
	ns := fmt.Sprintf("group-%d", project%97)
	name := fmt.Sprintf("service-%d", project)
	m := wireMove{
		ID:                     id,
		CreatedAt:              g.time(200),
		State:                  "finished",
		SourceStorageName:      "default",
		DestinationStorageName: fmt.Sprintf("gitaly-%d", 1+id%3),
		Project: wireIdentity{
			ID:                project,
			Name:              name,
			NameWithNamespace: "Group " + ns + " / " + name,
			Path:              name,
			PathWithNamespace: ns + "/" + name,
			CreatedAt:         g.time(60),
		},
	}
	if id%3 != 0 {
		d := "Backend service " + name + " for the platform team."
		m.Project.Description = &d
	}
	switch p := g.rnd.IntN(100); {
	case p < 4:
		msg := "Failed to replicate repository: 13:CHECKSUM mismatch"
		m.State, m.ErrorMessage = "failed", &msg
	case p < 7:
		m.State = "scheduled"
	case p < 10:
		m.State = "started"
	}
	return m
}

// moveBase renders the shared fields: mostly finished, some failed with an
// error message, a few scheduled or started.
func (g *renderer) moveBase(id int64) wireMoveBase {
	m := wireMoveBase{
		ID:                     id,
		CreatedAt:              g.time(200),
		State:                  "finished",
		SourceStorageName:      "default",
		DestinationStorageName: fmt.Sprintf("gitaly-%d", 1+id%3),
	}
	switch p := g.rnd.IntN(100); {
	case p < 4:
		msg := "Failed to replicate repository: 13:CHECKSUM mismatch"
		m.State, m.ErrorMessage = "failed", &msg
	case p < 7:
		m.State = "scheduled"
	case p < 10:
		m.State = "started"
	}
	return m
}

func (g *renderer) groupMove(id int64) wireGroupMove {
	m := wireGroupMove{wireMoveBase: g.moveBase(id)}
	m.Group.ID = 500 + id
	m.Group.Name = fmt.Sprintf("group-%d", m.Group.ID)
	m.Group.WebURL = "https://gitlab.example.com/groups/" + m.Group.Name
	return m
}

func (g *renderer) snippetMove(id int64) wireSnippetMove {
	sid := 2000 + id
	user := 1 + id%250
	sn := wireSnippet{
		ID:         sid,
		Title:      fmt.Sprintf("Deploy notes %d", sid),
		Visibility: []string{"private", "internal", "public"}[id%3],
		Author: wireUser{
			ID:        user,
			Username:  fmt.Sprintf("user%d", user),
			Name:      fmt.Sprintf("User %d", user),
			State:     "active",
			AvatarURL: "https://secure.gravatar.com/avatar/" + g.hex(64) + "?s=80&d=identicon",
			WebURL:    fmt.Sprintf("https://gitlab.example.com/user%d", user),
		},
		CreatedAt:     g.time(300),
		UpdatedAt:     g.time(300),
		WebURL:        fmt.Sprintf("https://gitlab.example.com/-/snippets/%d", sid),
		RawURL:        fmt.Sprintf("https://gitlab.example.com/-/snippets/%d/raw", sid),
		SSHURLToRepo:  fmt.Sprintf("ssh://git@gitlab.example.com/snippets/%d.git", sid),
		HTTPURLToRepo: fmt.Sprintf("https://gitlab.example.com/snippets/%d.git", sid),
	}
	if id%4 == 0 {
		sn.Author.PublicEmail = fmt.Sprintf("user%d@example.com", user)
	}
	if id%2 == 0 {
		project := 1000 + id%700
		sn.ProjectID = &project
		sn.WebURL = fmt.Sprintf("https://gitlab.example.com/group-%d/service-%d/-/snippets/%d", project%97, project, sid)
		sn.RawURL = sn.WebURL + "/raw"
	}
	if id%3 != 0 {
		d := "Runbook for the platform team."
		sn.Description = &d
	}
	return wireSnippetMove{wireMoveBase: g.moveBase(id), Snippet: sn}
}

// marshal renders v as GitLab does: compact, and without escaping <, > and
// & (the avatar URLs hold "&d=identicon" as is).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func cursorAfter(id int64) string {
	return base64.URLEncoding.EncodeToString([]byte(`{"id":"` + strconv.FormatInt(id, 10) + `","_kd":"n"}`))
}

// renderRecords renders n data management records, ids 1..n ascending, as
// keyset pages of perPage. Each page but the last carries only a Link
// rel="next" whose query is the request's parameters plus cursor=, in
// alphabetical order (spec §1.4, §2.6).
func renderRecords(base string, n int) (*dataset, error) {
	g := newRenderer(1)
	ds := &dataset{index: map[string]int{"": 0}, items: n}
	var bodies [][]byte
	for first := 1; first <= n; first += perPage {
		last := min(first+perPage-1, n)
		recs := make([]wireRecord, 0, last-first+1)
		for id := first; id <= last; id++ {
			recs = append(recs, g.record(int64(id)))
			ds.sum += int64(id)
		}
		body, err := marshal(recs)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
		h := g.header(body)
		if last < n {
			q := url.Values{
				"cursor": {cursorAfter(int64(last))}, "model_name": {model}, "order_by": {"id"},
				"page": {"1"}, "pagination": {"keyset"}, "per_page": {strconv.Itoa(perPage)}, "sort": {"asc"},
			}
			h.Set("Link", "<"+base+recordsPath+"?"+q.Encode()+`>; rel="next"`)
			ds.index[cursorAfter(int64(last))] = len(bodies)
		}
		ds.pages = append(ds.pages, page{header: h})
	}
	return ds, ds.place(bodies)
}

// renderMoves renders n project repository storage moves, newest (id n)
// first, as offset pages of perPage with GitLab's offset headers (spec
// §1.3): X-Total, X-Total-Pages and rel="last" only up to 10,000 moves.
func renderMoves(base string, n int) (*dataset, error) {
	return renderOffset(base, movesPath, n, 2, func(g *renderer, id int64) any { return g.move(id) })
}

// renderGroupMoves renders n group repository storage moves the same way.
func renderGroupMoves(base string, n int) (*dataset, error) {
	return renderOffset(base, groupMovesPath, n, 3, func(g *renderer, id int64) any { return g.groupMove(id) })
}

// renderSnippetMoves renders n snippet repository storage moves the same way.
func renderSnippetMoves(base string, n int) (*dataset, error) {
	return renderOffset(base, snippetMovesPath, n, 4, func(g *renderer, id int64) any { return g.snippetMove(id) })
}

// renderOffset renders n items of an offset listing at path, newest (id n)
// first; item renders one.
func renderOffset(base, path string, n int, seed uint64, item func(*renderer, int64) any) (*dataset, error) {
	g := newRenderer(seed)
	ds := &dataset{index: make(map[string]int), items: n}
	total := (n + perPage - 1) / perPage
	counted := n <= maxCounted
	link := func(p int) string {
		q := url.Values{"page": {strconv.Itoa(p)}, "per_page": {strconv.Itoa(perPage)}}
		return "<" + base + path + "?" + q.Encode() + ">"
	}
	var bodies [][]byte
	for p := 1; p <= total; p++ {
		hi := int64(n - (p-1)*perPage)
		lo := max(hi-perPage+1, 1)
		moves := make([]any, 0, hi-lo+1)
		for id := hi; id >= lo; id-- {
			moves = append(moves, item(g, id))
			ds.sum += id
		}
		body, err := marshal(moves)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
		h := g.header(body)
		next, prev := "", ""
		var links []string
		if p > 1 {
			prev = strconv.Itoa(p - 1)
			links = append(links, link(p-1)+`; rel="prev"`)
		}
		if p < total {
			next = strconv.Itoa(p + 1)
			links = append(links, link(p+1)+`; rel="next"`)
		}
		links = append(links, link(1)+`; rel="first"`)
		if counted {
			links = append(links, link(total)+`; rel="last"`)
		}
		h.Set("Link", strings.Join(links, ", "))
		h.Set("X-Next-Page", next)
		h.Set("X-Page", strconv.Itoa(p))
		h.Set("X-Per-Page", strconv.Itoa(perPage))
		h.Set("X-Prev-Page", prev)
		if counted {
			h.Set("X-Total", strconv.Itoa(n))
			h.Set("X-Total-Pages", strconv.Itoa(total))
		}
		ds.index[strconv.Itoa(p)] = p - 1
		ds.pages = append(ds.pages, page{header: h})
	}
	return ds, ds.place(bodies)
}

// place copies the page bodies, and their gzip-compressed forms, into one
// block outside the Go heap (where the platform allows), so that the
// server's data neither shows in the heap figures nor raises the garbage
// collector's heap goal for the clients. The level is gzip's fastest, the
// default of NGINX's gzip_comp_level.
func (d *dataset) place(bodies [][]byte) error {
	gz := make([][]byte, len(bodies))
	for i, b := range bodies {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return err
		}
		if _, err := zw.Write(b); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		gz[i] = buf.Bytes()
		d.jsonBytes += len(b)
		d.gzBytes += len(gz[i])
	}
	arena, err := offHeap(d.jsonBytes + d.gzBytes)
	if err != nil {
		return err
	}
	off := 0
	carve := func(b []byte) []byte {
		out := arena[off : off+len(b) : off+len(b)]
		copy(out, b)
		off += len(b)
		return out
	}
	for i, b := range bodies {
		d.pages[i].body = carve(b)
		d.pages[i].gz = carve(gz[i])
		d.pages[i].gzLength = []string{strconv.Itoa(len(gz[i]))}
	}
	return nil
}
