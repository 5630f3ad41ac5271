package gitlabdata

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-cleanhttp"
)

// Version is the SDK version sent in the User-Agent header.
const Version = "0.1.0"

const (
	defaultTimeout = 60 * time.Second
	apiPath        = "/api/v4/"
	// maxDrain bounds how much of an unread body is discarded so that the
	// connection can be reused; larger leftovers just close it.
	maxDrain = 256 << 10
)

// Client talks to one GitLab instance. Create one per process and reuse it:
// it is safe for concurrent use and holds a pool of connections.
type Client struct {
	// DataManagement lists Geo data records and recalculates checksums.
	DataManagement *DataManagementService
	// ProjectRepositoryStorageMoves moves project repositories between
	// Gitaly storages.
	ProjectRepositoryStorageMoves *ProjectRepositoryStorageMovesService
	// GroupRepositoryStorageMoves moves group wiki repositories.
	GroupRepositoryStorageMoves *GroupRepositoryStorageMovesService
	// SnippetRepositoryStorageMoves moves snippet repositories.
	SnippetRepositoryStorageMoves *SnippetRepositoryStorageMovesService

	base  *url.URL     // always ends in /api/v4/
	auth  *credentials // behind a pointer so %+v never prints the token
	hc    *http.Client
	ua    string
	retry RetryPolicy
	// prefetch makes All fetch the next page while the caller consumes one.
	prefetch bool
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// credentials holds the token two pointers away from Client, so that no fmt
// verb can print it: fmt only dereferences one level. Its String and
// GoString methods redact it too.
type credentials struct{ token *string }

func (*credentials) String() string   { return "[redacted]" }
func (*credentials) GoString() string { return "[redacted]" }

// ClientOption configures a Client in [NewClient].
type ClientOption func(*clientConfig) error

type clientConfig struct {
	hc       *http.Client
	ua       string
	retry    RetryPolicy
	prefetch bool
}

// WithHTTPClient makes the Client send its requests through a copy of hc.
// The copy's CheckRedirect refuses redirects to another scheme, host or port
// before calling hc's own. hc must not be nil.
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

// RetryPolicy says how a Client retries. Zero fields take their defaults.
//
// GET requests are retried on 429, 502, 503 and 504 and on transient
// transport errors; other methods only on 429, because GitLab throttles a
// request before running it, whereas a POST that met a 502 may have
// scheduled a storage move already. The wait is GitLab's Retry-After or
// RateLimit-Reset when sent, else a random pause of up to
// MinDelay·2^(attempt-1), never more than MaxDelay. When GitLab asks for
// more than MaxDelay, the Client does not wait: it returns the [*APIError]
// with RetryAfter set.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included. Default 3;
	// 1 disables retries.
	MaxAttempts int
	// MinDelay is the base of the exponential backoff. Default 500ms.
	MinDelay time.Duration
	// MaxDelay caps each wait. Default 30s.
	MaxDelay time.Duration
}

// DefaultRetryPolicy is the policy of a Client built without [WithRetry].
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// WithRetry sets the retry policy. RetryPolicy{MaxAttempts: 1} disables
// retries.
func WithRetry(p RetryPolicy) ClientOption {
	return func(cfg *clientConfig) error {
		if p.MaxAttempts < 0 || p.MinDelay < 0 || p.MaxDelay < 0 {
			return fmt.Errorf("%w: retry policy fields must not be negative", ErrInvalidArgument)
		}
		if p.MaxAttempts == 0 {
			p.MaxAttempts = DefaultRetryPolicy.MaxAttempts
		}
		if p.MinDelay == 0 {
			p.MinDelay = DefaultRetryPolicy.MinDelay
		}
		if p.MaxDelay == 0 {
			p.MaxDelay = DefaultRetryPolicy.MaxDelay
		}
		cfg.retry = p
		return nil
	}
}

// NewClient returns a Client for the GitLab instance at baseURL, such as
// "https://gitlab.example.com" or "https://gitlab.example.com/api/v4/".
// token is a personal access token of an administrator; it is sent in the
// PRIVATE-TOKEN header, only to baseURL's scheme, host and port.
//
// NewClient fails with [ErrInvalidArgument] when the token is empty or
// baseURL has no http(s) scheme or host, or carries credentials, a query or
// a fragment.
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
	cfg := clientConfig{retry: DefaultRetryPolicy}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	var hc http.Client
	if cfg.hc != nil {
		hc = *cfg.hc
	} else {
		hc = *cleanhttp.DefaultPooledClient()
		hc.Timeout = defaultTimeout
	}
	hc.CheckRedirect = sameOriginRedirects(base, hc.CheckRedirect)

	ua := "gitlabdata/" + Version
	if cfg.ua != "" {
		ua += " " + cfg.ua
	}
	c := &Client{
		base:     base,
		auth:     &credentials{token: &token},
		hc:       &hc,
		ua:       ua,
		retry:    cfg.retry,
		prefetch: cfg.prefetch,
		sleep:    sleepContext,
	}
	c.DataManagement = &DataManagementService{c: c}
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

func normalizeBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Parse's error repeats the input, which may hold a password.
		return nil, fmt.Errorf("%w: base URL is not a valid URL", ErrInvalidArgument)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%w: base URL must not carry credentials; pass the token to NewClient", ErrInvalidArgument)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: base URL must not have a query or fragment", ErrInvalidArgument)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: base URL %q needs an http or https scheme", ErrInvalidArgument, u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("%w: base URL %q has no host", ErrInvalidArgument, u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/api/v4") {
		p += "/api/v4"
	}
	u.Path, u.RawPath = p+"/", ""
	return u, nil
}

// Redirect errors; neither is retried.
var (
	errRedirectRefused  = errors.New("gitlabdata: refusing redirect")
	errTooManyRedirects = errors.New("gitlabdata: stopped after 10 redirects")
)

// sameOriginRedirects refuses a redirect to another scheme, host or port:
// net/http forwards custom headers such as PRIVATE-TOKEN to any host.
func sameOriginRedirects(base *url.URL, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(base, req.URL) {
			return fmt.Errorf("%w to %s://%s: only %s://%s receives the token",
				errRedirectRefused, req.URL.Scheme, req.URL.Host, base.Scheme, base.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errTooManyRedirects
		}
		return nil
	}
}

// sameOrigin compares scheme, host and port, filling in default ports.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
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
	if opts != nil {
		q, err := query.Values(opts)
		if err != nil {
			return nil, fmt.Errorf("%w: encoding query: %v", ErrInvalidArgument, err)
		}
		u.RawQuery = q.Encode()
	}
	return &u, nil
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
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("PRIVATE-TOKEN", *c.auth.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// checkContext refuses a nil context, which would otherwise panic deep in
// the standard library.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("%w: context is nil; use context.Background()", ErrInvalidArgument)
	}
	return nil
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

// do runs req with retries and decodes the answer into out.
func (c *Client) do(req *http.Request, out any) (*Response, error) {
	ctx := req.Context()
	path := req.URL.RequestURI()
	for attempt := 1; ; attempt++ {
		try := req.Clone(ctx)
		if req.GetBody != nil {
			try.Body, _ = req.GetBody()
		}
		resp, err := c.hc.Do(try)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("gitlabdata: %s %s: %w", req.Method, path, ctx.Err())
			}
			if attempt < c.retry.MaxAttempts && isIdempotent(req.Method) && transientTransportError(err) {
				if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
					return nil, fmt.Errorf("gitlabdata: %s %s: %w", req.Method, path, serr)
				}
				continue
			}
			return nil, err
		}
		r := newResponse(resp)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			err := readAndDecode(resp, out)
			closeBody(resp)
			if err != nil {
				return r, fmt.Errorf("gitlabdata: decoding %s %s: %w", req.Method, path, err)
			}
			return r, nil
		}
		apiErr := newAPIError(resp, req.Method, path)
		closeBody(resp)
		wait, asked := retryAfter(resp.Header, time.Now())
		apiErr.RetryAfter = wait
		if attempt >= c.retry.MaxAttempts || !retryableStatus(req.Method, resp.StatusCode) {
			return r, apiErr
		}
		if !asked {
			wait = c.backoff(attempt)
		} else if wait > c.retry.MaxDelay {
			return r, apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return r, fmt.Errorf("gitlabdata: %s %s: waiting to retry: %w", req.Method, path, err)
		}
	}
}

// closeBody drains a bounded remainder so the connection goes back to the
// pool, then closes the body.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
}

func isIdempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

func retryableStatus(method string, status int) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	if !isIdempotent(method) {
		return false
	}
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// transientTransportError is true for network failures worth another try,
// and false for TLS and certificate failures and refused redirects.
func transientTransportError(err error) bool {
	var (
		uerr      *url.Error
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
	)
	switch {
	case !errors.As(err, &uerr), errors.Is(err, errRedirectRefused), errors.Is(err, errTooManyRedirects):
		return false
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return false
	}
	return true
}

// backoff is a full-jitter pause in (0, min(MaxDelay, MinDelay·2^(attempt-1))].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.retry.MinDelay << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > c.retry.MaxDelay {
		ceiling = c.retry.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + 1
}

// sleepContext waits d, or returns the context's error if it ends first.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
