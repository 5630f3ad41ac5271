package gitlabdata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-cleanhttp"
)

// SDKVersion is the version of this package, sent in the User-Agent header.
const SDKVersion = "0.2.0"

// DefaultTimeout bounds each attempt of a request when [WithTimeout] is not
// given.
const DefaultTimeout = 60 * time.Second

// Client talks to one GitLab instance. Create one per process and reuse it:
// it is safe for concurrent use and holds a pool of connections.
type Client struct {
	// DataManagement lists Geo data records and recalculates checksums.
	DataManagement *DataManagementService
	// GeoSites reads the Geo sites and their replication status.
	GeoSites *GeoSitesService
	// ProjectRepositoryStorageMoves moves project repositories between
	// Gitaly storages.
	ProjectRepositoryStorageMoves *ProjectRepositoryStorageMovesService
	// GroupRepositoryStorageMoves moves group wiki repositories.
	GroupRepositoryStorageMoves *GroupRepositoryStorageMovesService
	// SnippetRepositoryStorageMoves moves snippet repositories.
	SnippetRepositoryStorageMoves *SnippetRepositoryStorageMovesService
	// Sidekiq reads the backlog and latency of Sidekiq's queues.
	Sidekiq *SidekiqService

	base    *url.URL     // always ends in /api/v4/
	auth    *credentials // behind a pointer so %+v never prints the token
	hc      *http.Client
	ua      string
	retry   RetryPolicy
	timeout time.Duration // per attempt; 0 means none
	log     *slog.Logger  // nil: quiet
	// prefetch makes All fetch the next page while the caller consumes one.
	prefetch bool
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	facts *serverFacts // what the Client learned about the server's era
}

// credentials holds the token two pointers away from Client, so that no fmt
// verb can print it: fmt only dereferences one level. Its String and
// GoString methods redact it too.
type credentials struct {
	token  *string
	bearer bool // send "Authorization: Bearer" instead of PRIVATE-TOKEN
}

func (*credentials) String() string   { return "[redacted]" }
func (*credentials) GoString() string { return "[redacted]" }

// set puts the token in the header GitLab expects for its kind.
func (a *credentials) set(h http.Header) {
	if a.bearer {
		h.Set("Authorization", "Bearer "+*a.token)
		return
	}
	h.Set("PRIVATE-TOKEN", *a.token)
}

// ClientOption configures a Client in [NewClient].
type ClientOption func(*clientConfig) error

type clientConfig struct {
	hc       *http.Client
	ua       string
	retry    RetryPolicy
	timeout  time.Duration
	log      *slog.Logger
	bearer   bool
	prefetch bool
}

// WithHTTPClient makes the Client send its requests through a copy of hc.
// The copy's CheckRedirect refuses redirects to another scheme, host or port
// before calling hc's own. hc's Timeout, if any, still applies on top of
// [WithTimeout]. hc must not be nil.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(cfg *clientConfig) error {
		if hc == nil {
			return fmt.Errorf("%w: http client is nil", ErrInvalidArgument)
		}
		cfg.hc = hc
		return nil
	}
}

// WithUserAgent appends product (such as "storage-janitor/1.2") to the
// User-Agent header "gitlabdata/<version>".
func WithUserAgent(product string) ClientOption {
	return func(cfg *clientConfig) error {
		if strings.ContainsAny(product, "\r\n") {
			return fmt.Errorf("%w: user agent contains a line break", ErrInvalidArgument)
		}
		cfg.ua = product
		return nil
	}
}

// WithTimeout bounds each attempt of a request: sending it, waiting for the
// answer and reading its body. The default is [DefaultTimeout]; 0 removes
// the bound, leaving only the context's deadline. The bound holds whatever
// http.Client [WithHTTPClient] supplies.
//
// How the limits combine: a request makes at most RetryPolicy.MaxAttempts
// attempts, each bounded by d, with a wait between two attempts bounded by
// RetryPolicy.MaxDelay. The context's deadline bounds all of it: when it
// passes, the attempt in flight or the wait ends at once. So without a
// deadline a request that never gets an answer returns after about
// MaxAttempts·d plus the waits (3 × 60 s plus at most 2 s by default); an
// attempt that timed out is retried for GET only.
func WithTimeout(d time.Duration) ClientOption {
	return func(cfg *clientConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: timeout %s is negative; use 0 for none", ErrInvalidArgument, d)
		}
		cfg.timeout = d
		return nil
	}
}

// WithOAuthToken makes the Client send its token as an OAuth 2 access
// token, in "Authorization: Bearer <token>", instead of the PRIVATE-TOKEN
// header used for personal, group and project access tokens. The same rules
// hold: the token goes only to the base URL's scheme, host and port, and
// never appears in errors or logs.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/authentication/#oauth-20-tokens
func WithOAuthToken() ClientOption {
	return func(cfg *clientConfig) error {
		cfg.bearer = true
		return nil
	}
}

// WithLogger makes the Client log one record per attempt of every request:
// method, path, status (0 when no answer came), duration, attempt number
// and GitLab's request id, and before a retry how long it waits and why.
// Successful attempts log at Debug, failed ones at Warn. The token is never
// logged, and query values whose names suggest a secret (token, password,
// secret, key, signature) are redacted. Without this option the Client logs
// nothing.
func WithLogger(l *slog.Logger) ClientOption {
	return func(cfg *clientConfig) error {
		if l == nil {
			return fmt.Errorf("%w: logger is nil; leave the option out for no logging", ErrInvalidArgument)
		}
		cfg.log = l
		return nil
	}
}

// WithPrefetch makes every All iterator fetch the next page while the loop
// consumes the current one, so GitLab's latency and the caller's work
// overlap. At most one page is fetched ahead. When the loop ends early, the
// page in flight is cancelled and its goroutine waited for, so one request
// more than the loop consumed may have reached GitLab. Off by default.
func WithPrefetch(on bool) ClientOption {
	return func(cfg *clientConfig) error {
		cfg.prefetch = on
		return nil
	}
}

// NewClient returns a Client for the GitLab instance at baseURL, such as
// "https://gitlab.example.com", "https://gitlab.example.com/api/v4" or, for
// an instance under a relative URL root, "https://example.com/gitlab".
// token is an administrator's access token; it is sent in the PRIVATE-TOKEN
// header ("Authorization: Bearer" with [WithOAuthToken]), only to baseURL's
// scheme, host and port.
//
// NewClient fails with [ErrInvalidArgument] when the token is empty, or
// baseURL is empty, has no http(s) scheme or host, carries credentials, a
// query or a fragment, or points at another API than v4 or below its root
// (such as ".../api/v3" or ".../api/v4/admin").
func NewClient(baseURL, token string, opts ...ClientOption) (*Client, error) {
	base, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("%w: token is empty", ErrInvalidArgument)
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, fmt.Errorf("%w: token contains a line break", ErrInvalidArgument)
	}
	cfg := clientConfig{retry: DefaultRetryPolicy(), timeout: DefaultTimeout}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	var hc http.Client
	if cfg.hc != nil {
		hc = *cfg.hc
	} else {
		hc = *cleanhttp.DefaultPooledClient() // no Timeout: the per-attempt bound is ours
	}
	hc.CheckRedirect = sameOriginRedirects(base, hc.CheckRedirect)

	ua := "gitlabdata/" + SDKVersion
	if cfg.ua != "" {
		ua += " " + cfg.ua
	}
	c := &Client{
		base:     base,
		auth:     &credentials{token: &token, bearer: cfg.bearer},
		hc:       &hc,
		ua:       ua,
		retry:    cfg.retry,
		timeout:  cfg.timeout,
		log:      cfg.log,
		prefetch: cfg.prefetch,
		sleep:    sleepContext,
		facts:    &serverFacts{},
	}
	c.DataManagement = &DataManagementService{c: c}
	c.GeoSites = &GeoSitesService{c: c}
	c.Sidekiq = &SidekiqService{c: c}
	c.ProjectRepositoryStorageMoves = &ProjectRepositoryStorageMovesService{
		moves: storageMoves[ProjectRepositoryStorageMove, *ProjectRepositoryStorageMove]{c: c, kind: projectMoves},
	}
	c.GroupRepositoryStorageMoves = &GroupRepositoryStorageMovesService{
		moves: storageMoves[GroupRepositoryStorageMove, *GroupRepositoryStorageMove]{c: c, kind: groupMoves},
	}
	c.SnippetRepositoryStorageMoves = &SnippetRepositoryStorageMovesService{
		moves: storageMoves[SnippetRepositoryStorageMove, *SnippetRepositoryStorageMove]{c: c, kind: snippetMoves},
	}
	return c, nil
}

// BaseURL returns the API root the Client sends requests to, ending in
// "/api/v4/".
func (c *Client) BaseURL() string { return c.base.String() }

const apiRoot = "/api/v4"

func normalizeBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: base URL is empty; pass your GitLab instance's URL, such as https://gitlab.example.com", ErrInvalidArgument)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the input, which may hold a password.
		return nil, fmt.Errorf("%w: base URL is not a valid URL; pass one such as https://gitlab.example.com", ErrInvalidArgument)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%w: base URL must not carry credentials; pass the token to NewClient", ErrInvalidArgument)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("%w: base URL must not have a query or fragment", ErrInvalidArgument)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: base URL %q needs an http:// or https:// scheme, as in https://gitlab.example.com", ErrInvalidArgument, u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("%w: base URL %q has no host", ErrInvalidArgument, u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if i := strings.Index(p+"/", "/api/"); i >= 0 {
		root, rest := p[:i], p[i:]
		if rest != apiRoot {
			return nil, fmt.Errorf("%w: base URL %q points at %q; pass the instance URL (%s) or its API v4 root (%s)",
				ErrInvalidArgument, u.Redacted(), rest, withPath(u, root), withPath(u, root+apiRoot))
		}
		p = root
	}
	u.Path, u.RawPath = p+apiRoot+"/", ""
	return u, nil
}

// withPath renders u with another path, for error messages.
func withPath(u *url.URL, p string) string {
	v := *u
	v.Path, v.RawPath = p, ""
	if p == "" {
		v.Path = "/"
	}
	return strings.TrimSuffix(v.String(), "/")
}

// endpoint resolves path segments under the API root, escaping each one so
// that a base64 record id with "/", "+" or "=" reaches GitLab intact, and
// encodes opts with go-querystring.
func (c *Client) endpoint(segments []string, opts any) (*url.URL, error) {
	var raw, decoded strings.Builder
	for i, seg := range segments {
		if seg == "" || seg == "." || seg == ".." {
			return nil, fmt.Errorf("%w: path segment %q", ErrInvalidArgument, seg)
		}
		if i > 0 {
			raw.WriteByte('/')
			decoded.WriteByte('/')
		}
		raw.WriteString(url.PathEscape(seg))
		decoded.WriteString(seg)
	}
	u := *c.base
	u.Path = c.base.Path + decoded.String()
	u.RawPath = c.base.EscapedPath() + raw.String()
	q, err := encodeQuery(opts)
	if err != nil {
		return nil, err
	}
	u.RawQuery = q
	return &u, nil
}

// encodeQuery encodes url.Values as they are and anything else with
// go-querystring's struct tags; nil gives no query.
func encodeQuery(opts any) (string, error) {
	switch q := opts.(type) {
	case nil:
		return "", nil
	case url.Values:
		return q.Encode(), nil
	}
	v, err := query.Values(opts)
	if err != nil {
		return "", fmt.Errorf("%w: encoding query: %v", ErrInvalidArgument, err)
	}
	return v.Encode(), nil
}

// newRequest is the one place requests are built: it marshals the body once
// (so retries can replay it) and sets the token and the standard headers.
func (c *Client) newRequest(ctx context.Context, method string, u *url.URL, body any) (*http.Request, error) {
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%w: encoding request body: %v", ErrInvalidArgument, err)
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInvalidArgument, method, redactedURI(u), err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	c.auth.set(req.Header)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// call sends one request (retrying per the policy) and decodes a 2xx JSON
// body into out, unless out is nil.
func (c *Client) call(ctx context.Context, method string, u *url.URL, body, out any) (*Response, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	return c.do(req, out)
}

// callOne makes one request whose answer is a single object; err, if set,
// is returned without any request.
func callOne[T any](ctx context.Context, c *Client, method string, u *url.URL, err error, body any) (*T, *Response, error) {
	if err != nil {
		return nil, nil, err
	}
	out := new(T)
	resp, err := c.call(ctx, method, u, body, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Do sends a request to an endpoint of GitLab's REST API that this package
// does not wrap, with the same token, retries, error model and origin rules
// as the wrapped calls, and decodes a JSON answer into out.
//
//   - path is relative to the API root, such as "projects" or
//     "/projects/group%2Fproject" (escape segments yourself); absolute URLs,
//     a path starting with api/v4, a query or fragment in path, and dot
//     segments are refused before any request.
//   - query is nil, a url.Values, or a struct with go-querystring url tags.
//   - body is nil or a value encoded as JSON (a json.RawMessage is sent as
//     is).
//   - out is nil (the answer's body is ignored) or a pointer that
//     encoding/json can decode into.
//
// GET and HEAD are retried like the wrapped listings; other methods only on
// 429, because GitLab has no idempotency keys. A non-2xx answer is an
// [*APIError]. The [Response] carries the pagination headers, so a listing
// can be paged by passing Response.NextPage as the page parameter (or
// NextCursor as cursor) of the next call; NextLink, an absolute URL, is not
// a path Do takes.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/
func (c *Client) Do(ctx context.Context, method, path string, query, body, out any) (*Response, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	if u.RawQuery, err = encodeQuery(query); err != nil {
		return nil, err
	}
	return c.call(ctx, method, u, body, out)
}

// resolve turns a path relative to the API root into a URL under it.
func (c *Client) resolve(path string) (*url.URL, error) {
	p, err := url.Parse(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: path %q is not a valid URL path", ErrInvalidArgument, path)
	case p.Scheme != "" || p.Host != "" || strings.HasPrefix(path, "//"):
		return nil, fmt.Errorf("%w: path must be relative to the API root %s, not an absolute URL", ErrInvalidArgument, c.base.Redacted())
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "" || strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("%w: path %q has a query or fragment; pass the query as its own argument", ErrInvalidArgument, path)
	}
	rel := strings.TrimPrefix(p.EscapedPath(), "/")
	switch {
	case rel == "":
		return nil, fmt.Errorf("%w: path is empty; pass an endpoint such as \"projects\"", ErrInvalidArgument)
	case rel == "api/v4" || strings.HasPrefix(rel, "api/v4/"):
		return nil, fmt.Errorf("%w: path %q repeats the API root; pass it relative to %s, as %q", ErrInvalidArgument, path, c.base.Redacted(), strings.TrimPrefix(rel, "api/v4/"))
	}
	for _, seg := range strings.Split(p.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("%w: path %q has a dot segment", ErrInvalidArgument, path)
		}
	}
	u := *c.base
	u.Path = c.base.Path + strings.TrimPrefix(p.Path, "/")
	u.RawPath = c.base.EscapedPath() + rel
	return &u, nil
}
