package moves

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// gitlab is how a drain talks to GitLab: every call goes through call,
// which counts it, paces on rate limits, waits out short 429s, feeds the
// breaker and turns what cannot go on into a *HaltError.
type gitlab struct {
	c        *gitlabdata.Client
	o        *Options
	ops      map[Kind]*kindOps
	br       *breaker
	requests int
	// offset is GitLab's clock minus the drain's, from the Date header of
	// the last answer.
	offset time.Duration
	root   string // the API root's path, such as /api/v4/
	doer   string // what runs, in messages: "drain" or "run"
}

func newGitLab(c *gitlabdata.Client, o *Options) *gitlab {
	root := "/api/v4/"
	if u, err := url.Parse(c.BaseURL()); err == nil {
		root = u.Path
	}
	return &gitlab{c: c, o: o, ops: newKindOps(c), br: newBreaker(o.MaxRequestFailures), root: root}
}

// failure classifies an error of a GitLab call.
type failure int

const (
	answered  failure = iota // GitLab answered with a 4xx about the request (not the server's health)
	transient                // no answer, a 5xx, or an answer that is not GitLab's JSON
	serverBug                // GitLab's own 500: a broken container can cause it
)

func classify(err error, resp *gitlabdata.Response) failure {
	var apiErr *gitlabdata.APIError
	switch {
	case errors.As(err, &apiErr):
		switch {
		case apiErr.StatusCode == http.StatusInternalServerError && apiErr.Message != "":
			return serverBug
		case apiErr.StatusCode >= 500 || apiErr.Message == "" && len(apiErr.Body) > 0:
			return transient
		}
		return answered
	case resp != nil: // a 2xx answer that is not JSON of the expected shape
		return transient
	}
	return transient
}

// call runs f, one GitLab request named by endpoint (such as "GET
// projects"). A 429 is waited out (up to MaxRetryAfter) and sent again;
// every other error is returned once the breaker noted it (a caller that
// tries again waits backoff first). It returns a *HaltError when the drain
// must stop.
func (g *gitlab) call(ctx context.Context, endpoint string, f func() (*gitlabdata.Response, error)) error {
	return g.send(ctx, endpoint, true, f)
}

// probe is call without the breaker: for the requests that narrow down a
// broken project, which fail by design.
func (g *gitlab) probe(ctx context.Context, endpoint string, f func() (*gitlabdata.Response, error)) error {
	return g.send(ctx, endpoint, false, f)
}

func (g *gitlab) send(ctx context.Context, endpoint string, counted bool, f func() (*gitlabdata.Response, error)) error {
	for {
		g.requests++
		resp, err := f()
		if resp != nil {
			if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
				g.offset = d.Sub(g.o.Now())
			}
		}
		if err == nil {
			if counted {
				g.br.record(endpoint, false)
			}
			g.pace(ctx, resp.Rate)
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if h := g.authHalt(endpoint, err); h != nil {
			return h
		}
		var apiErr *gitlabdata.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
			wait := apiErr.RetryAfter
			if wait <= 0 {
				wait = time.Second << min(g.br.streak(), 5)
			}
			if wait > g.o.MaxRetryAfter {
				at := g.o.Now().Add(wait).UTC()
				return &HaltError{What: "GitLab rate-limits this token", Endpoint: g.label(endpoint), Status: "429",
					Advice:  fmt.Sprintf("it asks to wait %s: rerun after %s, or raise the limit (GitLab's application limits, such as projects_api for GET /projects)", wait, at.Format("15:04:05 MST")),
					RetryAt: at, Err: err}
			}
			if trip := g.br.record(endpoint, true); trip != "" {
				return g.halt(endpoint, trip, err)
			}
			if serr := g.o.Sleep(ctx, wait); serr != nil {
				return serr
			}
			continue
		}
		if classify(err, resp) == answered {
			if counted {
				g.br.record(endpoint, false)
			}
			return err
		}
		if counted {
			if trip := g.br.record(endpoint, true); trip != "" {
				return g.halt(endpoint, trip, err)
			}
		}
		return err
	}
}

// backoff waits before a failed request is sent again: 1s, 2s, 4s, ...
// with the failures in a row.
func (g *gitlab) backoff(ctx context.Context) error {
	return g.o.Sleep(ctx, time.Second<<min(max(g.br.streak()-1, 0), 5))
}

// again says how to go on after a halt.
func (g *gitlab) again() string {
	if g.o.Journal != nil {
		return "run again on the same journal"
	}
	return "run again"
}

// halt is the breaker's *HaltError.
func (g *gitlab) halt(endpoint, trip string, err error) *HaltError {
	again := g.again()
	if errors.Is(err, gitlabdata.ErrRateLimited) {
		return &HaltError{What: "GitLab keeps rate-limiting the " + g.doer + ": " + trip, Endpoint: g.label(endpoint), Status: status(err),
			Advice: "wait for the limit to reset (or raise it), then " + again, Err: err}
	}
	advice := "check GitLab's health"
	if rid := requestID(err); rid != "" {
		advice += " (its logs, request id " + rid + ")"
	}
	return &HaltError{What: "GitLab keeps failing: " + trip, Endpoint: g.label(endpoint), Status: status(err), Advice: advice + ", then " + again, Err: err}
}

// authHalt stops on 401 and 403: no retry or skip helps.
func (g *gitlab) authHalt(endpoint string, err error) *HaltError {
	switch {
	case errors.Is(err, gitlabdata.ErrUnauthorized):
		return &HaltError{What: "GitLab refused the token", Endpoint: g.label(endpoint), Status: "401",
			Advice: "use an administrator's personal access token with the api scope (check GITLAB_TOKEN, and that it has not expired)", Err: err}
	case errors.Is(err, gitlabdata.ErrForbidden):
		return &HaltError{What: "the token has no administrator access", Endpoint: g.label(endpoint), Status: "403",
			Advice: "use an administrator's token; where Admin Mode is on, it needs the admin_mode scope", Err: err}
	}
	return nil
}

// label turns "GET projects/:id" into "GET /api/v4/projects/:id", under
// the path of the client's base URL.
func (g *gitlab) label(endpoint string) string {
	method, path, _ := strings.Cut(endpoint, " ")
	return method + " " + g.root + path
}

// status is the HTTP status of err, or what stands for it.
func status(err error) string {
	var apiErr *gitlabdata.APIError
	var uerr *url.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.StatusCode)
	case errors.As(err, &dns):
		return "host not found"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &uerr) && uerr.Timeout():
		return "no answer in time"
	case errors.As(err, &uerr):
		msg := uerr.Err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return msg
	}
	return "not GitLab's JSON"
}

func requestID(err error) string {
	var apiErr *gitlabdata.APIError
	if errors.As(err, &apiErr) {
		return apiErr.RequestID
	}
	return ""
}

// pace waits when GitLab says few requests are left in the window: it
// spreads the rest of the window over the remaining requests.
func (g *gitlab) pace(ctx context.Context, rl gitlabdata.RateLimit) {
	if rl.Limit <= 0 || rl.Remaining <= 0 && rl.Reset.IsZero() || rl.Remaining > rl.Limit/10 {
		return
	}
	left := rl.Reset.Sub(g.o.Now())
	if left <= 0 {
		return
	}
	wait := left / time.Duration(rl.Remaining+1)
	_ = g.o.Sleep(ctx, min(wait, time.Minute))
}

// get is call for one GET of path into out.
func (g *gitlab) get(ctx context.Context, endpoint, path string, q url.Values, out any) (*gitlabdata.Response, error) {
	var resp *gitlabdata.Response
	err := g.call(ctx, endpoint, func() (*gitlabdata.Response, error) {
		var err error
		resp, err = g.c.Do(ctx, http.MethodGet, path, q, nil, out)
		return resp, err
	})
	return resp, err
}

// preflight makes sure the drain talks to GitLab with an administrator's
// token before it lists anything: GitLab hides repository_storage from
// everyone else and ignores the storage filter, so a storage would look
// empty (corrections #18).
func (r *runner) preflight(ctx context.Context) error {
	const ep = "GET user"
	var user struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
		IsAdmin  *bool  `json:"is_admin"`
	}
	resp, err := r.gl.get(ctx, ep, "user", nil, &user)
	if err != nil {
		var h *HaltError
		switch {
		case errors.As(err, &h), ctx.Err() != nil:
			return err
		case resp == nil && !isAPIError(err):
			return &HaltError{What: "cannot reach GitLab", Endpoint: r.gl.label(ep), Status: status(err),
				Advice: "check the URL (GITLAB_URL) and that GitLab is up", Err: err}
		case classify(err, resp) == serverBug:
			return &HaltError{What: "GitLab failed", Endpoint: r.gl.label(ep), Status: status(err), Advice: "check GitLab's health, then run again", Err: err}
		}
		return r.gl.notGitLab(ep, err)
	}
	switch {
	case user.ID == 0 || user.Username == "":
		return r.gl.notGitLab(ep, fmt.Errorf("the answer is not a GitLab user"))
	case user.IsAdmin == nil || !*user.IsAdmin:
		return &HaltError{What: fmt.Sprintf("the token of %s is not an administrator's", user.Username), Endpoint: r.gl.label(ep), Status: "200 without is_admin",
			Advice: "GitLab hides repository_storage from other users, so the storage would look empty: use an administrator's token (with the admin_mode scope where Admin Mode is on)"}
	}
	if err := r.checkWeights(ctx); err != nil {
		return err
	}
	_, err = r.calm(ctx) // a queue that is not there stops the run before any move
	return err
}

func isAPIError(err error) bool {
	var apiErr *gitlabdata.APIError
	return errors.As(err, &apiErr)
}

func (g *gitlab) notGitLab(ep string, err error) *HaltError {
	return &HaltError{What: "the server does not answer as GitLab's API", Endpoint: g.label(ep), Status: status(err),
		Advice: "check the URL (GITLAB_URL): it is GitLab's address, such as https://gitlab.example.com", Err: err}
}

// checkWeights reads the storage weights: a storage emptied and its
// destination must be configured storages, and without a destination the
// storage emptied should have weight 0; the sources and destinations of
// moves must be configured storages.
func (r *runner) checkWeights(ctx context.Context) error {
	var settings struct {
		Weights map[string]int `json:"repository_storages_weighted"`
	}
	if _, err := r.gl.get(ctx, "GET application/settings", "application/settings", nil, &settings); err != nil {
		var h *HaltError
		if errors.As(err, &h) || ctx.Err() != nil {
			return err
		}
		if r.empty != nil && r.empty.To == nil {
			r.warn(fmt.Sprintf("no destination: GitLab picks one by weight, and may pick %s itself unless its weight is 0 (the weights could not be read: %v)", r.empty.From, err))
		}
		return nil
	}
	w := settings.Weights
	if len(w) == 0 {
		return nil
	}
	if r.empty == nil {
		return r.checkPlanStorages(w)
	}
	from, to := r.empty.From, r.empty.To
	if _, ok := w[from]; !ok {
		return fmt.Errorf("%s: storage %q is not configured (storages: %s)", r.name, from, names(w))
	}
	if to != nil {
		if _, ok := w[*to]; !ok {
			return fmt.Errorf("%s: destination storage %q is not configured (storages: %s)", r.name, *to, names(w))
		}
		return nil
	}
	receivers := 0
	for name, weight := range w {
		if name != from && weight > 0 {
			receivers++
		}
	}
	switch {
	case receivers == 0:
		return &HaltError{What: "no storage can receive the moves", Endpoint: r.gl.label("GET application/settings"), Status: "200",
			Advice: fmt.Sprintf("without a destination GitLab picks one by weight, and every storage but %s has weight 0: give the new storage a weight (Admin > Settings > Repository), or name the destination", from)}
	case w[from] > 0:
		r.warn(fmt.Sprintf("no destination: GitLab picks one by weight, and %s has weight %d, so moves may land back on it (they are reported as not moved); set its weight to 0 first", from, w[from]))
	}
	return nil
}

// checkPlanStorages makes sure every source and destination of the plan is
// a configured storage, and warns about destinations of weight 0 (GitLab
// places no new repository there: usually a storage being emptied).
func (r *runner) checkPlanStorages(w map[string]int) error {
	zero := map[string]int{}
	for _, m := range r.plan.Moves {
		for _, s := range []string{m.Storage, m.To} {
			if _, ok := w[s]; !ok {
				return fmt.Errorf("%s: %s %d: storage %q is not configured (storages: %s)", r.name, m.Kind, m.ID, s, names(w))
			}
		}
		if w[m.To] == 0 {
			zero[m.To]++
		}
	}
	for s, n := range zero {
		r.warn(fmt.Sprintf("%d moves go to %s, whose weight is 0 (GitLab places no new repository there)", n, s))
	}
	return nil
}
