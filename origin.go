package gitlabdata

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// This file decides which URLs may receive the token: only the scheme, host
// and port of the base URL, and for followed links only paths under the API
// root.

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

// underBase reports whether u's path lies under the API root, with no dot
// segments that could climb out of it.
func underBase(base, u *url.URL) bool {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, base.EscapedPath()) {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
