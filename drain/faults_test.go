package drain_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// haltOf fails the test unless err is a *HaltError, and returns it.
func haltOf(t *testing.T, err error) *drain.HaltError {
	t.Helper()
	var h *drain.HaltError
	if !errors.As(err, &h) || !errors.Is(err, drain.ErrHalted) {
		t.Fatalf("error = %v; want a *drain.HaltError", err)
	}
	return h
}

// Before it lists anything, a drain makes sure it talks to GitLab with an
// administrator's token, in Plan as in Run.
func TestPreflightRefusesWhatIsNotAnAdministratorsGitLab(t *testing.T) {
	t.Parallel()
	htmlServer := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprint(w, "<html><body>Directory listing</body></html>")
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	for _, tc := range []struct {
		name, url, token string
		want             drain.HaltError
	}{
		{"nothing listening", closed, "t", drain.HaltError{What: "cannot reach GitLab", Endpoint: "GET /api/v4/user", Status: "connection refused"}},
		{"a web server that is not GitLab", htmlServer(http.StatusNotFound), "t", drain.HaltError{What: "the server does not answer as GitLab's API", Endpoint: "GET /api/v4/user", Status: "404"}},
		{"a page instead of JSON", htmlServer(http.StatusOK), "t", drain.HaltError{What: "the server does not answer as GitLab's API", Endpoint: "GET /api/v4/user", Status: "not GitLab's JSON"}},
		{"a token GitLab does not know", "", "glpat-unknown", drain.HaltError{What: "GitLab refused the token", Endpoint: "GET /api/v4/user", Status: "401"}},
		{"a user's token", "", "glpat-user", drain.HaltError{What: "the token of user1 is not an administrator's", Endpoint: "GET /api/v4/user", Status: "200 without is_admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := drainFleet(t)
			h.srv.AddProjects(26, "default")
			h.srv.AddToken(gitlabtest.Token{Token: "glpat-user", Username: "user1"})
			url := tc.url
			if url == "" {
				url = h.srv.URL()
			}
			c, err := gitlabdata.NewClient(url, tc.token, gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatal(err)
			}
			d, err := drain.New(c, h.options(drain.Options{From: "default", To: gitlabdata.String("storage2")}))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := d.Plan(t.Context())
			got := haltOf(t, err)
			if plan != nil {
				t.Errorf("Plan() = %+v; want no plan", plan)
			}
			diff(t, "Plan() halt", tc.want, drain.HaltError{What: got.What, Endpoint: got.Endpoint, Status: got.Status})
			rep, err := d.Run(t.Context())
			haltOf(t, err)
			checkCounts(t, rep)
			if rep == nil || rep.Halted == "" || rep.Totals.Found != 0 {
				t.Errorf("Run() report = %+v; want an empty report that says why it halted", rep)
			}
			if tc.url == "" && h.requests("GET /projects") != 0 {
				t.Errorf("%d project listings sent; want none before the token is known to be an administrator's", h.requests("GET /projects"))
			}
		})
	}
	t.Run("admin words", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddToken(gitlabtest.Token{Token: "glpat-user"})
		c, _ := gitlabdata.NewClient(h.srv.URL(), "glpat-user")
		d, _ := drain.New(c, drain.Options{From: "default"})
		_, err := d.Plan(t.Context())
		if err == nil || !strings.Contains(err.Error(), "administrator") || !strings.Contains(err.Error(), "admin_mode") {
			t.Errorf("Plan() = %v; want it to say an administrator's token (and admin mode) is needed", err)
		}
	})
}

// A GitLab that keeps failing stops the drain soon, with few requests:
// the breaker (5 failed requests in a row), rate limits waited out then
// the breaker, and a Retry-After beyond a minute.
func TestBreakerStopsAFailingGitLab(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    gitlabtest.Fault
		what     string
		status   string
		requests int // at most, to GET /projects
		pauses   []time.Duration
	}{
		{"500 on every project listing", gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 500},
			"GitLab keeps failing", "500", 10, nil},
		{"502 from the proxy", gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 502},
			"GitLab keeps failing: 5 failed requests in a row", "502", 5, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{"a 429 storm", gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, RetryAfter: gitlabtest.Seconds(3)},
			"GitLab keeps rate-limiting the drain: 5 failed requests in a row", "429", 5, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"an application limit of 10 minutes", gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, ApplicationLimit: true},
			"GitLab rate-limits this token", "429", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := drainFleet(t)
			h.srv.AddProjects(30, "default")
			h.srv.InjectFault(tc.fault)
			rep, err := h.drain(drain.Options{Kinds: []drain.Kind{drain.KindProject}}).Run(t.Context())
			got := haltOf(t, err)
			checkCounts(t, rep)
			if !strings.HasPrefix(got.What, tc.what) || got.Status != tc.status || got.Endpoint != "GET /api/v4/projects" {
				t.Errorf("halt = %q; want %q (GET /api/v4/projects %s)", got.Error(), tc.what, tc.status)
			}
			if n := h.requests("GET /projects"); n > tc.requests || n == 0 {
				t.Errorf("%d requests to GET /projects; want 1 to %d", n, tc.requests)
			}
			if tc.pauses != nil {
				diff(t, "pauses", tc.pauses, h.sleeps)
			}
			if len(h.posts()) != 0 {
				t.Errorf("schedule calls %v; want none", h.posts())
			}
		})
	}
	t.Run("retry after", func(t *testing.T) {
		t.Parallel()
		h := drainFleet(t)
		h.srv.AddProjects(3, "default")
		h.srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, ApplicationLimit: true})
		rep, err := h.drain(drain.Options{}).Run(t.Context())
		got := haltOf(t, err)
		checkCounts(t, rep)
		if want := t0.Add(600 * time.Second); !got.RetryAt.Equal(want) || !strings.Contains(got.Advice, "10m0s") {
			t.Errorf("halt %q, retry at %v; want 10 minutes, at %v", got.Error(), got.RetryAt, want)
		}
	})
}

// Retry-After of a 429 the client gave up on is waited out, then the
// request is sent again.
func TestRateLimitedListingWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(2, "default")
	h.srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, Count: 1, RetryAfter: gitlabtest.Seconds(7)})
	rep := h.run(drain.Options{})
	if !rep.Empty() || rep.Totals.Moved != 2 {
		t.Fatalf("moved %d, remaining %v; want 2 and none", rep.Totals.Moved, remaining(rep))
	}
	if h.sleeps[0] != 7*time.Second {
		t.Errorf("first pause %v; want Retry-After 7s", h.sleeps[0])
	}
}

// One broken project turns every listing page that holds it into a 500: it
// is narrowed down with a few requests, reported, and stepped over; the
// rest of the storage drains.
func TestOneBrokenProjectIsSteppedOver(t *testing.T) {
	t.Parallel()
	h := drainFleet(t)
	h.srv.AddProjects(300, "default")
	h.srv.UpdateProject(163, func(p *gitlabtest.Project) { p.Broken = true })
	d := h.drain(drain.Options{Kinds: []drain.Kind{drain.KindProject}})
	plan, err := d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Moves) != 299 || len(plan.ListingErrors) != 1 || plan.ListingErrors[0].ID != 163 {
		t.Errorf("plan: %d moves, listing errors %+v; want 299 and project 163", len(plan.Moves), plan.ListingErrors)
	}
	// 3 pages of 100, the failing one asked twice, and the narrowing.
	if n := h.requests("GET /projects"); n > 25 {
		t.Errorf("%d requests to GET /projects to list 300 projects around a broken one; want at most 25", n)
	}
	h.srv.ResetRequests()
	rep := h.run(drain.Options{Kinds: []drain.Kind{drain.KindProject}})
	diff(t, "Run() remaining", map[string]string{"project/163": "unknown/listing_error"}, remaining(rep))
}

// A server that answers 200 with the wrong shape mid-run is not GitLab's
// JSON: the breaker stops the drain.
func TestBreakerOnAnswersThatAreNotGitLabs(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := drainFleet(t)
	h.srv.AddProjects(3, "default")
	fake, _ := url.Parse(h.srv.URL())
	toFake := httputil.NewSingleHostReverseProxy(fake)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/projects" {
			calls.Add(1)
			fmt.Fprint(w, "<html>maintenance</html>")
			return
		}
		toFake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, _ := gitlabdata.NewClient(srv.URL, h.srv.Token(), gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	d, _ := drain.New(c, h.options(drain.Options{From: "default", To: gitlabdata.String("storage2"), Kinds: []drain.Kind{drain.KindProject}}))
	rep, err := d.Run(t.Context())
	got := haltOf(t, err)
	checkCounts(t, rep)
	if got.Status != "not GitLab's JSON" || calls.Load() != 5 {
		t.Errorf("halt %q after %d project listings; want not GitLab's JSON after 5", got.Error(), calls.Load())
	}
}
