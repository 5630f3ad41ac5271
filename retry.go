package gitlabdata

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RetryPolicy says how a Client retries. Zero fields take the values of
// [DefaultRetryPolicy].
//
// GET requests are retried on 429, 502, 503 and 504, on transient
// transport errors and on attempts that ran out of time ([WithTimeout]);
// other methods only on 429, because GitLab throttles a request before
// running it, whereas a POST that met a 502 may have scheduled a storage
// move already. The wait is GitLab's Retry-After or RateLimit-Reset when
// sent, else a random pause of up to MinDelay·2^(attempt-1), never more than
// MaxDelay. When GitLab asks for more than MaxDelay, the Client does not
// wait: it returns the [*APIError] with RetryAfter set.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included. Default 3;
	// 1 disables retries.
	MaxAttempts int
	// MinDelay is the base of the exponential backoff. Default 500ms.
	MinDelay time.Duration
	// MaxDelay caps each wait. Default 30s.
	MaxDelay time.Duration
}

// DefaultRetryPolicy returns the policy of a Client built without
// [WithRetry]: 3 attempts, backoff from 500ms, waits of at most 30s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}
}

// WithRetry sets the retry policy. RetryPolicy{MaxAttempts: 1} disables
// retries.
func WithRetry(p RetryPolicy) ClientOption {
	return func(cfg *clientConfig) error {
		if p.MaxAttempts < 0 || p.MinDelay < 0 || p.MaxDelay < 0 {
			return fmt.Errorf("%w: retry policy fields must not be negative", ErrInvalidArgument)
		}
		def := DefaultRetryPolicy()
		if p.MaxAttempts == 0 {
			p.MaxAttempts = def.MaxAttempts
		}
		if p.MinDelay == 0 {
			p.MinDelay = def.MinDelay
		}
		if p.MaxDelay == 0 {
			p.MaxDelay = def.MaxDelay
		}
		cfg.retry = p
		return nil
	}
}

// maxDrain bounds how much of an unread body is discarded so that the
// connection can be reused; larger leftovers just close it.
const maxDrain = 256 << 10

// attempt is what one try of a request came to.
type attempt struct {
	n        int
	resp     *Response // nil when no answer came
	err      error     // nil on success
	started  time.Time
	wait     time.Duration // before the next attempt, when retrying
	reason   string        // why it is retried
	timedOut bool          // the attempt hit the Client's timeout
	ctxDone  bool          // the caller's context ended
}

// do runs req with retries and decodes the answer into out.
func (c *Client) do(req *http.Request, out any) (*Response, error) {
	ctx := req.Context()
	for n := 1; ; n++ {
		a := c.try(req, n, out)
		retry := c.retryable(req.Method, &a)
		c.logAttempt(req, &a, retry)
		if !retry {
			return a.resp, c.finalError(req, &a)
		}
		if err := c.sleep(ctx, a.wait); err != nil {
			return a.resp, fmt.Errorf("gitlabdata: %s %s: waiting %s to retry (%s): %w", req.Method, redactedURI(req.URL), a.wait.Round(time.Millisecond), a.reason, err)
		}
	}
}

// try sends one attempt of req, bounded by the Client's timeout, and reads
// and decodes its answer.
func (c *Client) try(req *http.Request, n int, out any) attempt {
	a := attempt{n: n, started: time.Now()}
	ctx := req.Context()
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	r := req.Clone(ctx)
	if req.GetBody != nil {
		r.Body, _ = req.GetBody()
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		a.ctxDone = req.Context().Err() != nil
		a.timedOut = !a.ctxDone && ctx.Err() != nil
		a.err = err
		return a
	}
	defer closeBody(resp)
	a.resp = newResponse(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := newAPIError(resp, req.Method, redactedURI(req.URL))
		apiErr.RetryAfter, _ = retryAfter(resp.Header, time.Now())
		a.err = apiErr
		return a
	}
	if err := readAndDecode(resp, out); err != nil {
		a.timedOut = req.Context().Err() == nil && ctx.Err() != nil
		if mt := notJSON(resp.Header.Get("Content-Type")); mt != "" {
			// A sign-in page, a proxy's page: the URL is not GitLab's API.
			err = fmt.Errorf("the answer is %s, not GitLab's API: check that the base URL is your GitLab's URL (%w)", mt, err)
		}
		a.err = fmt.Errorf("gitlabdata: decoding %s %s: %w", req.Method, redactedURI(req.URL), err)
	}
	return a
}

// retryable decides whether a is worth another attempt and, if so, sets
// how long to wait and why.
func (c *Client) retryable(method string, a *attempt) bool {
	if a.err == nil || a.ctxDone || a.n >= c.retry.MaxAttempts {
		return false
	}
	var apiErr *APIError
	switch {
	case errors.As(a.err, &apiErr):
		if !retryableStatus(method, apiErr.StatusCode) {
			return false
		}
		a.reason = fmt.Sprintf("%d %s", apiErr.StatusCode, http.StatusText(apiErr.StatusCode))
		if wait, asked := retryAfter(headerOf(a.resp), time.Now()); asked {
			if wait > c.retry.MaxDelay {
				return false // the caller decides; APIError.RetryAfter says how long
			}
			a.wait, a.reason = wait, a.reason+", as GitLab asked"
			return true
		}
	case a.resp != nil: // a 2xx body that failed to decode
		if !a.timedOut || !isIdempotent(method) {
			return false
		}
		a.reason = "reading the answer timed out"
	default:
		if !isIdempotent(method) || !(a.timedOut || transientTransportError(a.err)) {
			return false
		}
		a.reason = "no answer: " + transportCause(a.err)
		if a.timedOut {
			a.reason = fmt.Sprintf("no answer within %s", c.timeout)
		}
	}
	a.wait = c.backoff(a.n)
	return true
}

func headerOf(r *Response) http.Header {
	if r == nil {
		return nil
	}
	return r.Header
}

// finalError is the error a request returns after its last attempt.
func (c *Client) finalError(req *http.Request, a *attempt) error {
	if a.err == nil || a.resp != nil {
		return a.err
	}
	path := redactedURI(req.URL)
	if err := req.Context().Err(); err != nil {
		return fmt.Errorf("gitlabdata: %s %s: %w", req.Method, path, err)
	}
	return &transportError{method: req.Method, path: path, attempts: a.n, timeout: c.timeout, timedOut: a.timedOut, err: a.err}
}

// transportError is a request that got no answer from GitLab. It unwraps to
// the *url.Error net/http returned (with the URL's secrets redacted), so
// errors.Is(err, context.DeadlineExceeded) and errors.As with *url.Error
// keep working.
type transportError struct {
	method, path string
	attempts     int
	timeout      time.Duration
	timedOut     bool
	err          error
}

func (e *transportError) Error() string {
	tries := "1 attempt"
	if e.attempts > 1 {
		tries = fmt.Sprintf("%d attempts", e.attempts)
	}
	cause := transportCause(e.err)
	if e.timedOut {
		cause = fmt.Sprintf("no answer within %s (WithTimeout)", e.timeout)
	}
	return fmt.Sprintf("gitlabdata: %s %s: no answer from GitLab after %s: %s", e.method, e.path, tries, cause)
}

func (e *transportError) Unwrap() error {
	var uerr *url.Error
	if errors.As(e.err, &uerr) {
		return &url.Error{Op: uerr.Op, URL: e.path, Err: uerr.Err}
	}
	return e.err
}

// transportCause is the error text without the URL net/http puts in front.
func transportCause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}

// logAttempt writes one record for a, when the Client has a logger.
func (c *Client) logAttempt(req *http.Request, a *attempt, retry bool) {
	if c.log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", redactedURI(req.URL)),
		slog.Int("attempt", a.n),
		slog.Duration("duration", time.Since(a.started)),
	}
	if a.resp != nil {
		attrs = append(attrs, slog.Int("status", a.resp.StatusCode))
		if a.resp.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", a.resp.RequestID))
		}
	} else {
		attrs = append(attrs, slog.Int("status", 0))
	}
	level := slog.LevelDebug
	if a.err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", errorText(a)))
	}
	if retry {
		attrs = append(attrs, slog.Duration("retry_in", a.wait), slog.String("retry_reason", a.reason))
	}
	c.log.LogAttrs(req.Context(), level, "gitlabdata request", attrs...)
}

// errorText is a's error for a log record, which already names the
// method, path, status and request id: GitLab's message, or the cause of a
// failed transport.
func errorText(a *attempt) string {
	var apiErr *APIError
	switch {
	case errors.As(a.err, &apiErr) && apiErr.Message != "":
		return apiErr.Message
	case apiErr != nil:
		return http.StatusText(apiErr.StatusCode)
	case a.resp == nil:
		return transportCause(a.err)
	}
	return a.err.Error()
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

// secretQueryWords mark query parameters whose values are never shown.
var secretQueryWords = []string{"token", "password", "passwd", "secret", "key", "signature"}

// redactedURI is u's path and query for errors and logs, with the values of
// secret-looking query parameters replaced by "REDACTED".
func redactedURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.EscapedPath() + "?[unparsable query]"
	}
	changed := false
	for k, vs := range q {
		lk := strings.ToLower(k)
		for _, w := range secretQueryWords {
			if strings.Contains(lk, w) {
				for i := range vs {
					vs[i] = "REDACTED"
				}
				changed = true
				break
			}
		}
	}
	if !changed {
		return u.RequestURI()
	}
	return u.EscapedPath() + "?" + q.Encode()
}
