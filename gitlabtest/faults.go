package gitlabtest

import (
	"net/http"
	"path"
	"strings"
	"time"
)

// Fault is a failure injected with [Server.InjectFault]: requests that
// match Method and Path wait Latency and then answer Status, Count times.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path matches the escaped request path, with path.Match patterns
	// ("*" stands for one path segment or part of one), such as
	// "/api/v4/projects/*/repository_storage_moves"; a pattern ending
	// in "/**" also matches everything below it. "" matches every path
	// under /api/v4.
	Path string
	// Status is the status to answer, in the body GitLab (or its proxy)
	// sends for it: 429 as the Rack::Attack throttle, 502, 503 and 504 as
	// an HTML proxy page, anything else as {"message":"<code> <text>"}.
	// 0 answers normally after Latency.
	Status int
	// ApplicationLimit makes a 429 answer like GitLab's application rate
	// limits (such as the one on GET /projects) instead of Rack::Attack:
	// JSON {"message":{"error":"This endpoint has been requested too many
	// times. Try again later."}} with Retry-After and no RateLimit-*
	// headers. Without RetryAfter, Retry-After is the interval of the
	// route's limit (corrections #24): 600 for GET /projects
	// (projects_api, 10 minutes), 60 for GET /projects/:id (project_api),
	// GET /groups (groups_api) and GET /groups/:id (group_api); other
	// paths have no such limit in GitLab and get the server's default.
	ApplicationLimit bool
	// Count is how many matching requests the fault applies to; 0 means
	// every one until [Server.ClearFaults].
	Count int
	// Latency delays each matching request before it is answered.
	Latency time.Duration
	// AfterServing serves the request first, its effects kept (a move is
	// scheduled), and then answers Status instead of GitLab's answer: an
	// answer lost by a proxy or the network. It needs a Status.
	AfterServing bool
	// RetryAfter, when set, is sent as Retry-After (in seconds, 0 allowed)
	// with any Status; for 429 it also sets RateLimit-Reset. When nil a
	// 429 carries the server's default (1 s, or [WithRetryAfter]), or
	// the interval of the route's limit with ApplicationLimit, and other
	// statuses carry no Retry-After.
	RetryAfter *int
}

// matches reports whether the fault applies to r.
func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path == "" {
		return true
	}
	p := r.URL.EscapedPath()
	if prefix, ok := strings.CutSuffix(f.Path, "/**"); ok {
		if ok, _ := path.Match(prefix, p); ok {
			return true
		}
		for i := len(p) - 1; i > 0; i-- {
			if p[i] == '/' {
				if ok, _ := path.Match(prefix, p[:i]); ok {
					return true
				}
			}
		}
		return false
	}
	ok, _ := path.Match(f.Path, p)
	return ok
}

// applicationLimitInterval is the interval, in seconds, of GitLab's
// application rate limit on the route of r, if it has one.
func applicationLimitInterval(r *http.Request) (int, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return 0, false
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/")
	if !ok {
		return 0, false
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] == "projects":
		return 600, true // projects_api: 10 minutes
	case len(segs) == 2 && segs[0] == "projects" && segs[1] != "":
		return 60, true // project_api
	case len(segs) == 1 && segs[0] == "groups":
		return 60, true // groups_api
	case len(segs) == 2 && segs[0] == "groups" && segs[1] != "":
		return 60, true // group_api
	}
	return 0, false
}

// InjectFault adds a scoped fault. Faults are tried in the order they were
// added, after [Server.RedirectNext] and [Server.FailNext]; the first that
// matches a request under /api/v4 is used (and counted), before
// authentication and routing. For example, to throttle the second page of
// a listing once, telling the client it may retry at once:
//
//	srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects",
//		Status: 429, Count: 1, RetryAfter: gitlabtest.Seconds(0)})
func (s *Server) InjectFault(f Fault) {
	if f.RetryAfter != nil {
		ra := max(*f.RetryAfter, 0)
		f.RetryAfter = &ra
	}
	f.Count = max(f.Count, 0)
	f.Latency = max(f.Latency, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Faults returns the scoped faults still active, with their remaining
// counts.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		c := *f
		if f.RetryAfter != nil {
			ra := *f.RetryAfter
			c.RetryAfter = &ra
		}
		out = append(out, c)
	}
	return out
}

// ClearFaults removes every scoped fault and cancels [Server.FailNext]
// and [Server.RedirectNext].
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.failN, s.redirectN = 0, 0
}

// takeFaultLocked returns a copy of the first fault matching r, counting
// it, or nil.
func (s *Server) takeFaultLocked(r *http.Request) *Fault {
	for i, f := range s.faults {
		if !f.matches(r) {
			continue
		}
		c := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &c
	}
	return nil
}

// WithRetryAfter sets the Retry-After, in seconds, of a throttled (429)
// answer from [Server.FailNext] or a [Fault] without its own; the default
// is 1. With 0 a client that honours Retry-After retries at once, so tests
// of rate limiting need not wait.
func WithRetryAfter(seconds int) ServerOption {
	return func(c *config) { c.retryAfter = max(seconds, 0) }
}

// SetRetryAfter changes the default Retry-After of [WithRetryAfter].
func (s *Server) SetRetryAfter(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = max(seconds, 0)
}

// Seconds returns a pointer to n, for [Fault.RetryAfter].
func Seconds(n int) *int { return &n }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
