package gitlabdata

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Response carries what GitLab said about a request besides its body: the
// status, request id, pagination headers and rate-limit headers. It copies
// what callers need from the *http.Response, which is closed by the time a
// method returns.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/#pagination
type Response struct {
	StatusCode int
	// Header holds the response headers. The *http.Response they came with
	// is not kept, so they are the Response's own.
	Header http.Header
	// RequestID is GitLab's X-Request-Id.
	RequestID string

	// Offset pagination (X-Page, X-Per-Page, X-Next-Page, X-Prev-Page,
	// X-Total, X-Total-Pages). NextPage is 0 on the last page. Total and
	// TotalPages are 0 when unknown: GitLab leaves them out above 10,000
	// records, in keyset mode, and on servers older than 18.8 for data
	// management.
	Page, PerPage, NextPage, PrevPage, Total, TotalPages int

	// NextLink is the Link rel="next" URL exactly as GitLab sent it, or ""
	// on the last page.
	NextLink string
	// NextCursor resumes a keyset listing after this page: GitLab's
	// X-NEXT-CURSOR header, else the cursor parameter of NextLink. Pass it
	// as ListModelRecordsOptions.Cursor to resume a listing later.
	NextCursor string
	// PrevCursor is GitLab's X-PREV-CURSOR: a cursor for the page before
	// this one, "" on the first page.
	PrevCursor string

	// Rate holds the RateLimit-* and Retry-After headers.
	Rate RateLimit
}

// RateLimit holds GitLab's rate-limit headers. GitLab sends RateLimit-* on
// throttled answers and, depending on its settings, on others; Retry-After
// only on 429. Fields are zero when a header is absent or malformed.
//
// GitLab docs: https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/
type RateLimit struct {
	Name       string    // RateLimit-Name, e.g. "throttle_authenticated_api"
	Limit      int       // RateLimit-Limit, requests per minute
	Observed   int       // RateLimit-Observed
	Remaining  int       // RateLimit-Remaining
	Reset      time.Time // RateLimit-Reset, when the window ends
	RetryAfter time.Duration
}

func newResponse(resp *http.Response) *Response {
	h := resp.Header
	r := &Response{
		StatusCode: resp.StatusCode,
		Header:     h,
		RequestID:  h.Get("X-Request-Id"),
		Page:       headerInt(h, "X-Page"),
		PerPage:    headerInt(h, "X-Per-Page"),
		NextPage:   headerInt(h, "X-Next-Page"),
		PrevPage:   headerInt(h, "X-Prev-Page"),
		Total:      headerInt(h, "X-Total"),
		TotalPages: headerInt(h, "X-Total-Pages"),
		Rate: RateLimit{
			Name:      h.Get("RateLimit-Name"),
			Limit:     headerInt(h, "RateLimit-Limit"),
			Observed:  headerInt(h, "RateLimit-Observed"),
			Remaining: headerInt(h, "RateLimit-Remaining"),
		},
	}
	if reset := headerInt(h, "RateLimit-Reset"); reset > 0 {
		r.Rate.Reset = time.Unix(int64(reset), 0)
	}
	r.Rate.RetryAfter, _ = parseRetryAfter(h.Get("Retry-After"), time.Now())
	if links := h.Values("Link"); len(links) > 0 {
		r.NextLink = parseLinkHeader(strings.Join(links, ", "))["next"]
		if u, err := url.Parse(r.NextLink); err == nil && r.NextLink != "" {
			r.NextCursor = u.Query().Get("cursor")
		}
	}
	if c := strings.TrimSpace(h.Get("X-Next-Cursor")); c != "" {
		r.NextCursor = c
	}
	r.PrevCursor = strings.TrimSpace(h.Get("X-Prev-Cursor"))
	return r
}

// headerInt reads a non-negative integer header; absent, empty or malformed
// values read as 0.
func headerInt(h http.Header, key string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(key)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// retryAfter is how long GitLab asked us to wait: Retry-After (seconds or
// HTTP date), else RateLimit-Reset (epoch seconds). asked is false when
// neither header is usable.
func retryAfter(h http.Header, now time.Time) (wait time.Duration, asked bool) {
	if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if reset := headerInt(h, "RateLimit-Reset"); reset > 0 {
		return max(time.Unix(int64(reset), 0).Sub(now), 0), true
	}
	return 0, false
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || secs > 1<<31 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
