package gitlabtest

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

const (
	// maxBody bounds how much of a request body the fake reads and records.
	maxBody = 1 << 20
	// maxLogged bounds the request log; older requests are dropped.
	maxLogged = 100_000
)

// Server is an in-process fake GitLab serving the Data management API,
// the repository storage moves APIs, the Geo sites API and Sidekiq's
// queue metrics under /api/v4. Create it with [NewServer] and stop it with
// [Server.Close]. All methods are safe for concurrent use, also while
// requests are being served.
type Server struct {
	cfg  config
	srv  *httptest.Server
	done chan struct{} // closed by Close: stops the clock and latency waits
	// clockDone is closed when the clock goroutine has returned.
	clockDone chan struct{}
	once      sync.Once

	// offset is added to the clock (AdvanceClock), in nanoseconds.
	offset atomic.Int64

	mu     sync.Mutex
	rng    *rand.Rand
	tokens map[string]tokenInfo
	flags  map[string]bool // feature flags of the era
	noGeo  bool            // SetGeo(false): not a Geo primary
	geo    geoState        // Geo sites: secondaries, status overrides
	// sidekiq holds the overrides of GET /sidekiq/queue_metrics by queue.
	sidekiq  map[string]SidekiqQueueOverride
	steps    int64          // calls of Step, events of the Geo event log
	storages []storageShard // in configuration order
	projects map[int64]*Project
	// forks holds the ids of each project's direct forks; storageUsed
	// the sum of the repository sizes of the projects on each storage.
	forks       map[int64]*idIndex
	storageUsed map[string]int64
	groups      map[int64]*Group
	snippets    map[int64]*Snippet
	// idx indexes the containers of each kind by id, with counts by
	// storage and visibility; projectPaths and groupPaths find them by
	// full path in lower case; namespaces holds each namespace's
	// projects and the sums of their sizes.
	idx          [kindCount]containerIndex
	projectPaths map[string][]int64
	groupPaths   map[string][]int64
	namespaces   map[string]*namespaceInfo
	users        map[string]*user
	maxUserID    int64
	moves        [kindCount]moveStore
	models       map[gitlabdata.ModelName]*modelStore
	// extraModels are accepted beyond the era's names (AcceptModel).
	extraModels map[gitlabdata.ModelName]bool
	requests    []RecordedRequest
	failN       int
	faults      []*Fault // scoped faults, in the order injected
	retryAfter  int      // Retry-After of a throttled answer, in seconds
	failStatus  int
	redirectN   int
	redirectTo  string
}

// ServerOption configures a [Server] in [NewServer].
type ServerOption func(*config)

type config struct {
	demo     bool
	fleet    bool // WithFleetDemo, which replaces demo
	version  Version
	latency  time.Duration
	step     time.Duration
	token    string
	listener net.Listener
	seeded   bool
	noGeo    bool
	// geoSecondaries is the number of simulated Geo secondaries, when
	// geoSecondariesSet; else 1 with the demo data, 0 without.
	geoSecondaries    int
	geoSecondariesSet bool
	// retryAfter is the default Retry-After of a 429, in seconds.
	retryAfter int
	external   string
	projects   int
	seed       uint64
	now        func() time.Time
}

// WithDemoData seeds a realistic instance from data embedded in the package:
// three storages ("default" weight 100, "storage2" weight 50, "storage3"
// weight 0); 30 projects (25 on "default"), 5 groups and 5 snippets; a few
// finished, failed and "cleanup failed" storage moves; and about 330 Data
// management records across ten models that every release from 18.8 on
// serves (and 18.3 to 18.7 by their singular names), with a mix of
// checksum states, including failed ones with their checksum_failure
// (which fail again when re-verified). No GitLab model has composite
// (base64) ids: seed those with [Server.AddCompositeRecords].
// Moves of project 25 (platform/legacy-monolith) fail and moves of project
// 30 (data-science/large-datasets) end "cleanup failed". The demo instance
// has one simulated Geo secondary (site 2) besides the primary, unless
// [WithGeoSecondaries] sets another number.
func WithDemoData() ServerOption { return func(c *config) { c.demo = true } }

// WithLegacy makes the server behave like GitLab 18.3 to 18.7 for the Data
// management API: singular model names only (a plural name answers 400),
// checksum_state sent as an integer, no X-Total, X-Total-Pages or rel="last",
// pagination=keyset, sort and cursor ignored, and bulk recalculation that
// ignores its filters and requeues every record of the model.
//
// It is the same as WithVersion(Version{18, 7, 0}).
func WithLegacy() ServerOption { return WithVersion(Version{18, 7, 0}) }

// WithVersion makes the server behave like GitLab version v (see [Era]):
// its model names, checksum_state encoding, pagination, feature flag and
// token checks, and GET /api/v4/version answers v. The default is
// [NewestVersion]. A version older than [OldestVersion] counts as it.
func WithVersion(v Version) ServerOption {
	return func(c *config) {
		if v.less(OldestVersion) {
			v = OldestVersion
		}
		c.version = v
	}
}

// WithExternalURL sets GitLab's configured external URL (gitlab.host and
// gitlab.port, such as "https://gitlab.example.com"): Link headers and
// web_url fields carry it whatever address the request was sent to, as
// GitLab's do (corrections #16). By default they carry the scheme http and
// the Host of the request.
func WithExternalURL(u string) ServerOption {
	return func(c *config) { c.external = strings.TrimSuffix(strings.TrimSpace(u), "/") }
}

// WithProjects adds n projects named "project-<id>" on the "default"
// storage (after the demo data, if any), with repository sizes derived
// from their ids: enough to drain a storage.
func WithProjects(n int) ServerOption { return func(c *config) { c.projects = max(n, 0) } }

// WithoutGeo makes the server an instance without Geo (not a Geo primary):
// records carry no checksum_information, a checksum_state filter answers
// 400 "<Class> is not a verifiable model.", checksum recalculations
// answer 400 "Endpoint only available on primary site.", and there are no
// Geo sites (GET /api/v4/geo_sites and /geo_sites/status answer [], a
// site or its status 404). See also [Server.SetGeo].
func WithoutGeo() ServerOption { return func(c *config) { c.noGeo = true } }

// WithGeoSecondaries sets the number of simulated Geo secondary sites
// that GET /api/v4/geo_sites lists after the primary (site 1): sites 2 to
// n+1, fully synced and verified copies of the primary (see the package
// documentation, "Geo sites"). The default is 0, or 1 with
// [WithDemoData]; WithGeoSecondaries(0) leaves the demo with the primary
// only. A negative n counts as 0.
func WithGeoSecondaries(n int) ServerOption {
	return func(c *config) { c.geoSecondaries, c.geoSecondariesSet = max(n, 0), true }
}

// WithLatency delays every request by d before it is handled. The wait ends
// early when the client goes away or the server closes.
func WithLatency(d time.Duration) ServerOption {
	return func(c *config) { c.latency = max(d, 0) }
}

// WithStepInterval starts a background clock that calls [Server.Step] every
// d. With 0 (the default) storage moves and checksums only advance when the
// test calls Step. [Server.Close] stops the clock and waits for it.
func WithStepInterval(d time.Duration) ServerOption {
	return func(c *config) { c.step = max(d, 0) }
}

// WithAdminToken sets the administrator's token. The default is a random
// "glpat-" token; read it with [Server.Token].
func WithAdminToken(tok string) ServerOption { return func(c *config) { c.token = tok } }

// WithListener serves on l instead of a new listener on a random local
// port, for example to serve on a fixed address. The server takes ownership
// of l and closes it in [Server.Close].
func WithListener(l net.Listener) ServerOption { return func(c *config) { c.listener = l } }

// WithSeed makes random choices (the destination storage picked by weight)
// repeatable.
func WithSeed(seed uint64) ServerOption {
	return func(c *config) { c.seeded, c.seed = true, seed }
}

// WithClock sets the server's clock, used for the created_at of new
// projects, snippets and storage moves, for checksum times and for the
// request log. The default is time.Now. A fixed clock makes whole responses
// predictable in tests. now is called while the server holds its lock: it
// must be fast and must not call the Server.
func WithClock(now func() time.Time) ServerOption {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// NewServer starts a fake GitLab on a local port (or on the listener of
// [WithListener]) and returns it. The instance has one storage, "default"
// with weight 100, and no other data unless [WithDemoData] is given; it is
// a Geo primary (Geo site 1) without secondaries unless
// [WithGeoSecondaries] or [WithDemoData] add some.
func NewServer(opts ...ServerOption) *Server {
	cfg := config{now: time.Now, version: NewestVersion, retryAfter: 1}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.token == "" {
		cfg.token = randomToken()
	}
	if !cfg.seeded {
		cfg.seed = rand.Uint64()
	}
	s := &Server{
		cfg:          cfg,
		done:         make(chan struct{}),
		rng:          rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		tokens:       map[string]tokenInfo{cfg.token: {admin: true, username: "root"}},
		flags:        make(map[string]bool),
		noGeo:        cfg.noGeo,
		retryAfter:   cfg.retryAfter,
		projects:     make(map[int64]*Project),
		groups:       make(map[int64]*Group),
		snippets:     make(map[int64]*Snippet),
		projectPaths: make(map[string][]int64),
		groupPaths:   make(map[string][]int64),
		namespaces:   make(map[string]*namespaceInfo),
		users:        make(map[string]*user),
		models:       make(map[gitlabdata.ModelName]*modelStore),
		extraModels:  make(map[gitlabdata.ModelName]bool),
	}
	if s.era() != EraGranular {
		s.flags[flagVerificationView] = true
	}
	switch {
	case cfg.geoSecondariesSet:
		s.geo.secondaries = cfg.geoSecondaries
	case cfg.demo && !cfg.fleet:
		s.geo.secondaries = 1
	}
	s.users["root"] = &user{id: 1, username: "root", name: "Administrator", email: "admin@example.com", created: s.now()}
	s.maxUserID = 1
	s.AddStorage("default", 100)
	switch {
	case cfg.fleet:
		s.loadFleet()
	case cfg.demo:
		if err := s.loadDemo(); err != nil {
			// The demo data is embedded and checked by the tests; this
			// cannot happen in a released build.
			panic("gitlabtest: embedded demo data: " + err.Error())
		}
	}
	if cfg.projects > 0 {
		s.AddProjects(cfg.projects, "default")
	}
	h := http.HandlerFunc(s.serveHTTP)
	if cfg.listener != nil {
		s.srv = &httptest.Server{Listener: cfg.listener, Config: &http.Server{Handler: h}}
		s.srv.Start()
	} else {
		s.srv = httptest.NewServer(h)
	}
	if cfg.step > 0 {
		s.clockDone = make(chan struct{})
		go s.clock(cfg.step)
	}
	return s
}

// clock calls Step every d until Close.
func (s *Server) clock(d time.Duration) {
	defer close(s.clockDone)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.Step()
		}
	}
}

// now is the server's clock: WithClock's (or time.Now) plus AdvanceClock's
// offset.
func (s *Server) now() time.Time { return s.cfg.now().Add(time.Duration(s.offset.Load())) }

// AdvanceClock moves the server's clock forward by d (a negative d moves
// it back) for everything stamped from now on: created_at of new moves,
// projects and snippets, checksum times, and the request log. It does not
// Step; combine the two to age moves in progress.
func (s *Server) AdvanceClock(d time.Duration) { s.offset.Add(int64(d)) }

// Version returns the GitLab version the server emulates.
func (s *Server) Version() Version { return s.cfg.version }

func (s *Server) era() Era { return s.cfg.version.Era() }

// legacy reports whether the server is in the singular era (18.3 to 18.7).
func (s *Server) legacy() bool { return s.era() == EraSingular }

// URL returns the server's base URL, such as "http://127.0.0.1:41234",
// without /api/v4. Pass it to [gitlabdata.NewClient].
func (s *Server) URL() string { return s.srv.URL }

// Token returns the administrator's token.
func (s *Server) Token() string { return s.cfg.token }

// Client returns a client for the server, authenticated with the
// administrator's token, with the SDK's default retry policy. Use NewClient
// to pass options.
func (s *Server) Client() *gitlabdata.Client {
	// NewClient fails only for invalid options, and none are given here.
	c, _ := s.NewClient()
	return c
}

// NewClient returns a client for the server, authenticated with the
// administrator's token and configured by opts (for example
// gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}) to see every
// injected fault). It fails only if an option is invalid.
func (s *Server) NewClient(opts ...gitlabdata.ClientOption) (*gitlabdata.Client, error) {
	opts = append([]gitlabdata.ClientOption{gitlabdata.WithHTTPClient(s.srv.Client())}, opts...)
	return gitlabdata.NewClient(s.URL(), s.cfg.token, opts...)
}

// Close stops the background clock, waits for it, and shuts the server
// down, waiting for requests in flight. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		if s.clockDone != nil {
			<-s.clockDone
		}
		s.srv.Close()
	})
}

// AddUserToken registers token for a user, as [Server.AddToken] with
// Token and Admin only. Requests with the token of a user who is not an
// administrator get 403 {"message":"403 Forbidden"} from the
// administrators' routes; requests with an unknown token or none get 401
// {"message":"401 Unauthorized"}.
func (s *Server) AddUserToken(token string, admin bool) {
	s.AddToken(Token{Token: token, Admin: admin})
}

// Token describes a personal access token for [Server.AddToken].
type Token struct {
	// Token is the secret sent in PRIVATE-TOKEN or as a bearer token.
	Token string
	// Admin makes the token's user an administrator; other users get
	// 403 {"message":"403 Forbidden"} from every route but GET /version,
	// GET /user and the container routes GitLab opens to every user
	// (which show them less).
	Admin bool
	// Granular makes it a fine-grained token that holds only Permissions.
	// On 18.10 and later a route whose permission it lacks answers 403
	// {"error":"insufficient_granular_scope","error_description":"…"}
	// before the administrator check. The routes need
	// read_admin_data_management (Data management GETs),
	// update_admin_data_management (its PUTs),
	// read_repository_storage_move (storage move GETs) and
	// create_repository_storage_move (their POSTs). Older eras ignore it.
	Granular    bool
	Permissions []string
	// Username is the user the token belongs to, as GET /user shows it;
	// the user is created if needed (see [Server.AddUser]). By default
	// an administrator's token belongs to root (id 1) and another token
	// to a user of its own, named "user<id>". Whether the user is an
	// administrator is the token's Admin: the fake keeps it per token,
	// not per user.
	Username string
}

// AddToken registers a token, or replaces the one with the same secret
// (re-added without a Username, a token keeps its user).
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addTokenLocked(t)
}

func (s *Server) addTokenLocked(t Token) tokenInfo {
	username := t.Username
	if username == "" {
		prev, ok := s.tokens[t.Token]
		switch {
		case t.Admin:
			username = "root"
		case ok && prev.username != "root":
			username = prev.username
		default:
			username = s.newUserLocked().username
		}
	}
	s.userLocked(username)
	ti := tokenInfo{admin: t.Admin, granular: t.Granular, perms: slices.Clone(t.Permissions), username: username}
	s.tokens[t.Token] = ti
	return ti
}

// flagVerificationView is the feature flag of the Data management API on
// 18.3 to 18.9.
const flagVerificationView = "geo_primary_verification_view"

// SetFeatureFlag switches a feature flag and reports whether the server's
// era has it. The only one is geo_primary_verification_view (18.3 to
// 18.9, on by default here): off, every Data management route answers 404
// {"message":"404 Not Found"} after authentication.
func (s *Server) SetFeatureFlag(name string, enabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.flags[name]; !ok {
		return false
	}
	s.flags[name] = enabled
	return true
}

func (s *Server) flagEnabled(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flags[name]
}

// SetGeo makes the server a Geo primary (true, the default) or an
// instance without Geo (false); see [WithoutGeo]. Without Geo the Geo
// sites are gone; switched back on, they return with their status
// overrides.
func (s *Server) SetGeo(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noGeo = !enabled
}

// Step advances every storage move in progress and every checksum in
// progress by one state: scheduled → started → replicated → finished for
// moves (or failed / cleanup failed, see [Project]), and pending → started →
// succeeded or failed for checksums.
func (s *Server) Step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.steps++
	s.stepMovesLocked()
	for _, m := range s.models {
		m.step(now)
	}
}

// RecordedRequest is one request the server received.
type RecordedRequest struct {
	Method string
	// Path is the escaped path, such as
	// "/api/v4/admin/data_management/projects".
	Path     string
	RawQuery string
	// Body is the request body (at most 1 MiB).
	Body []byte
	// Status is the status code sent, or 0 if the client went away or the
	// server closed before an answer.
	Status int
	// RequestID is the X-Request-Id sent with the answer.
	RequestID string
	// Time is when the request arrived, by the server's clock.
	Time time.Time
}

// Requests returns the requests received so far, oldest first: all of
// them, or the last 100,000 on a server that received more.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedRequest, len(s.requests))
	copy(out, s.requests)
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// FailNext makes the next n requests under /api/v4 fail with status before
// any other processing: 429 answers like GitLab's Rack::Attack throttle
// (text/plain "Retry later\n" with RateLimit-* headers and Retry-After: 1,
// or the seconds of [WithRetryAfter] / [Server.SetRetryAfter]),
// 502, 503 and 504 answer an HTML error page as a proxy would, and any other
// status answers GitLab's JSON {"message":"<code> <text>"}. n <= 0 cancels
// pending failures.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus = max(n, 0), status
}

// RedirectNext answers the next n requests under /api/v4 with 302 Found to
// location, for example to check that a client does not follow a redirect
// to another host with its token. Redirects are served before failures set
// by [Server.FailNext]. n <= 0 cancels pending redirects.
func (s *Server) RedirectNext(n int, location string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectN, s.redirectTo = max(n, 0), location
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); p == controlPrefix || strings.HasPrefix(p, controlPrefix+"/") {
		s.serveControl(rw, r)
		return
	}
	arrived := s.now()
	rid := newRequestID(arrived)
	rw.Header().Set("X-Request-Id", rid)
	// GitLab's Date is its own clock; the fake's is WithClock's.
	rw.Header().Set("Date", arrived.UTC().Format(http.TimeFormat))
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if len(body) == 0 {
		body = nil
	}
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		// A bug in the fake answers like GitLab's unhandled exceptions
		// instead of dropping the connection.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if w.status == 0 {
				writeJSON(w, http.StatusInternalServerError, jsonMessage("500 Internal Server Error"))
			}
		}
		s.mu.Lock()
		if len(s.requests) >= maxLogged {
			s.requests = s.requests[1:]
		}
		s.requests = append(s.requests, RecordedRequest{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Body: body, Status: w.status, RequestID: rid, Time: arrived,
		})
		s.mu.Unlock()
	}()
	if !s.delay(r) {
		return
	}
	path := r.URL.EscapedPath()
	rest, isAPI := strings.CutPrefix(path, "/api/v4/")
	if !isAPI && path != "/api/v4" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, notFoundPage)
		return
	}
	fa, ok := s.takeFault(r)
	if !ok {
		return
	}
	if fa != nil && !fa.afterServing {
		s.writeFault(w, r, fa)
		return
	}
	var served http.ResponseWriter = w
	if fa != nil {
		// Serve the request, then lose its answer.
		defer s.writeFault(w, r, fa)
		served = &lostAnswer{h: http.Header{}}
	}
	c := &call{s: s, w: served, r: r, body: body, rid: rid}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// GitLab's HandleMalformedStrings middleware answers this way.
		served.Header().Set("Content-Type", "text/plain")
		served.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(served, "Bad Request")
		return
	}
	c.query = q
	s.route(c, rest)
}

// delay waits the configured latency; false means the client went away or
// the server is closing.
func (s *Server) delay(r *http.Request) bool {
	if s.cfg.latency <= 0 {
		return true
	}
	return s.wait(r, s.cfg.latency)
}

// wait waits d; false means the client went away or the server is closing.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// faultAnswer is what a pending redirect, a FailNext failure or a scoped
// fault makes the server answer instead of GitLab's answer.
type faultAnswer struct {
	redirect     string
	status       int
	retryAfter   *int
	appLimit     bool
	afterServing bool
}

// takeFault returns the redirect, FailNext failure or scoped fault that
// matches r, after waiting a scoped fault's latency; nil means none (or
// only a latency). ok is false when the client went away meanwhile.
func (s *Server) takeFault(r *http.Request) (fa *faultAnswer, ok bool) {
	s.mu.Lock()
	var latency time.Duration
	switch {
	case s.redirectN > 0:
		s.redirectN--
		fa = &faultAnswer{redirect: s.redirectTo}
	case s.failN > 0:
		s.failN--
		fa = &faultAnswer{status: s.failStatus}
	default:
		if f := s.takeFaultLocked(r); f != nil {
			latency = f.Latency
			if f.Status != 0 {
				fa = &faultAnswer{status: f.Status, retryAfter: f.RetryAfter, appLimit: f.ApplicationLimit, afterServing: f.AfterServing}
			}
		}
	}
	s.mu.Unlock()
	if latency > 0 && !s.wait(r, latency) {
		return nil, false
	}
	return fa, true
}

// writeFault answers r as fa says.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, fa *faultAnswer) {
	h := w.Header()
	if fa.redirect != "" {
		h.Set("Location", fa.redirect)
		w.WriteHeader(http.StatusFound)
		return
	}
	s.mu.Lock()
	defaultRetry := s.retryAfter
	s.mu.Unlock()
	status, retryAfter := fa.status, fa.retryAfter
	if retryAfter != nil {
		h.Set("Retry-After", strconv.Itoa(max(*retryAfter, 0)))
	}
	switch {
	case status == http.StatusTooManyRequests && fa.appLimit:
		after := defaultRetry
		if interval, ok := applicationLimitInterval(r); ok {
			after = interval
		}
		if retryAfter != nil {
			after = max(*retryAfter, 0)
		}
		h.Set("Retry-After", strconv.Itoa(after))
		writeJSON(w, status, []byte(`{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`))
	case status == http.StatusTooManyRequests:
		after := defaultRetry
		if retryAfter != nil {
			after = max(*retryAfter, 0)
		}
		reset := s.now().Add(time.Duration(after) * time.Second).Truncate(time.Second)
		h.Set("Content-Type", "text/plain")
		h.Set("RateLimit-Name", "throttle_authenticated_api")
		h.Set("RateLimit-Limit", "120")
		h.Set("RateLimit-Observed", "121")
		h.Set("RateLimit-Remaining", "0")
		h.Set("RateLimit-Reset", fmt.Sprint(reset.Unix()))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
		h.Set("Retry-After", strconv.Itoa(after))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "Retry later\n")
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, proxyErrorPage, status, http.StatusText(status))
	default:
		writeJSON(w, status, jsonMessage(fmt.Sprintf("%d %s", status, http.StatusText(status))))
	}
}

// lostAnswer is where the answer of a request goes when a fault with
// AfterServing replaces it.
type lostAnswer struct{ h http.Header }

func (l *lostAnswer) Header() http.Header         { return l.h }
func (l *lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (l *lostAnswer) WriteHeader(int)             {}

// Handler returns the fake's HTTP handler, to serve it in process without
// a socket (an http.RoundTripper that calls it), as benchmarks do. Latency,
// faults, the clock and the request log apply as they do over the network;
// the client's base URL is still [Server.URL].
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

const notFoundPage = `<!DOCTYPE html>
<html><head><title>The page you're looking for could not be found (404)</title></head>
<body><h1>404</h1><p>The page could not be found or you don't have permission to view it.</p></body></html>
`

const proxyErrorPage = `<!DOCTYPE html>
<html><head><title>GitLab is not responding (%[1]d)</title></head>
<body><h1>%[1]d</h1><h2>%[2]s</h2><p>GitLab did not answer in time. Try again in a few moments.</p></body></html>
`

// user is a user of the instance: a snippet author or a token's owner.
type user struct {
	id                                 int64
	username, name, publicEmail, email string
	created                            time.Time
}

// User is a user of the fake instance, for [Server.AddUser].
type User struct {
	// Username identifies the user (Snippet.AuthorUsername).
	Username string
	// Name defaults to the username.
	Name string
	// PublicEmail is the address the user made public; "" by default,
	// as GitLab sends for a user who made none public.
	PublicEmail string
}

// AddUser adds a user, or changes the name and public email of the one
// with the same username.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	su := s.userLocked(u.Username)
	if u.Name != "" {
		su.name = u.Name
	}
	su.publicEmail = u.PublicEmail
}

// userLocked returns the user with username, creating it if needed.
func (s *Server) userLocked(username string) *user {
	if username == "" {
		username = "root"
	}
	if u, ok := s.users[username]; ok {
		return u
	}
	s.maxUserID++
	u := &user{id: s.maxUserID, username: username, name: username, email: username + "@example.com", created: s.now()}
	s.users[username] = u
	return u
}

// newUserLocked creates a user named "user<id>" (the next free such name)
// for a token given no Username.
func (s *Server) newUserLocked() *user {
	for n := s.maxUserID + 1; ; n++ {
		name := "user" + strconv.FormatInt(n, 10)
		if _, taken := s.users[name]; !taken {
			return s.userLocked(name)
		}
	}
}

var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newRequestID returns a 26-character ULID-like id, as GitLab's
// X-Request-Id looks: 48 bits of milliseconds, then 80 random bits.
func newRequestID(now time.Time) string {
	var b [20]byte // 16 used; base32 of 16 bytes is 26 characters
	binary.BigEndian.PutUint64(b[0:8], uint64(now.UnixMilli())<<16)
	binary.BigEndian.PutUint64(b[6:14], rand.Uint64())
	binary.BigEndian.PutUint64(b[12:20], rand.Uint64())
	return crockford.EncodeToString(b[:16])
}

// randomToken returns a token in the format of a GitLab personal access
// token.
func randomToken() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := []byte("glpat-")
	for range 20 {
		b = append(b, alphabet[rand.IntN(len(alphabet))])
	}
	return string(b)
}
