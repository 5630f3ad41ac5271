package gitlabdata

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
)

// parseLinkHeader parses an RFC 8288 Link header into a map from relation
// type to URL. It copes with commas and semicolons inside <...>, parameters
// in any order, quoted or bare rel values, several relation types in one rel
// ("next last"), and parameters without a value. The first link of a
// relation wins. Malformed parts are skipped; it never panics.
func parseLinkHeader(header string) map[string]string {
	links := make(map[string]string)
	s := header
	for {
		start := strings.IndexByte(s, '<')
		if start < 0 {
			return links
		}
		end := strings.IndexByte(s[start:], '>')
		if end < 0 {
			return links
		}
		target := s[start+1 : start+end]
		s = s[start+end+1:]
		// The parameters run to the next comma outside quotes.
		params, rest := splitLinkParams(s)
		s = rest
		for _, rel := range strings.Fields(linkParam(params, "rel")) {
			rel = strings.ToLower(rel)
			if _, seen := links[rel]; !seen {
				links[rel] = target
			}
		}
	}
}

// splitLinkParams returns the parameter part of one link value and what
// follows the comma that ends it. A "<" outside quotes also ends it, so a
// missing comma between two links is tolerated.
func splitLinkParams(s string) (params, rest string) {
	i, stop := indexUnquoted(s, ",<")
	if stop == ',' {
		return s[:i], s[i+1:]
	}
	return s[:i], s[i:]
}

// indexUnquoted returns the index of the first byte of stops in s that is
// outside a quoted string, and that byte; len(s) and 0 if there is none.
func indexUnquoted(s, stops string) (int, byte) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(stops, c) >= 0:
			return i, c
		}
	}
	return len(s), 0
}

// linkParam returns the value of parameter name in "; a=b; rel=\"next\"".
// Semicolons inside quoted values do not split parameters.
func linkParam(params, name string) string {
	for len(params) > 0 {
		var p string
		p, params = cutParam(params)
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// cutParam splits off the first ";"-separated parameter, honouring quotes.
func cutParam(s string) (param, rest string) {
	i, stop := indexUnquoted(s, ";")
	if stop == 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// nextPage returns the URL of the page after cur, or nil on the last page.
//
// It follows Link rel="next" when GitLab sends one that stays under the
// base URL, keeping every parameter GitLab put in it. GitLab writes its
// configured external host into Link, which may not be the address the
// client uses: then, and when there is no Link, the next page is the
// current URL with cursor set to X-NEXT-CURSOR (keyset) or page set to
// X-Next-Page (offset; also older servers that ignore pagination=keyset).
// So nothing is ever sent to another origin, and a next link elsewhere is
// an error only when neither header says where to go. A page that does not
// advance is an error rather than an endless loop.
func (c *Client) nextPage(cur *url.URL, resp *Response) (*url.URL, error) {
	if resp.NextLink != "" {
		next, err := url.Parse(resp.NextLink)
		if err != nil {
			return nil, fmt.Errorf("gitlabdata: malformed next link %q: %w", resp.NextLink, err)
		}
		if sameOrigin(c.base, next) && underBase(c.base, next) {
			if next.String() == cur.String() {
				return nil, fmt.Errorf("gitlabdata: pagination stalled: next link %q repeats the current page", resp.NextLink)
			}
			return next, nil
		}
		if resp.Header.Get("X-Next-Cursor") == "" && resp.NextPage == 0 {
			return nil, fmt.Errorf("gitlabdata: refusing next link %q: it is outside %s and GitLab sent neither X-NEXT-CURSOR nor X-Next-Page (if GitLab's external URL differs from the client's base URL, use the external URL)", resp.NextLink, c.base)
		}
	}
	q := cur.Query()
	if cursor := resp.Header.Get("X-Next-Cursor"); cursor != "" {
		if cursor == q.Get("cursor") {
			return nil, fmt.Errorf("gitlabdata: pagination stalled: X-NEXT-CURSOR repeats the current cursor")
		}
		q.Set("cursor", cursor)
		return withQuery(cur, q), nil
	}
	if resp.NextPage == 0 {
		return nil, nil
	}
	page := resp.Page
	if page == 0 {
		page, _ = strconv.Atoi(q.Get("page"))
		page = max(page, 1)
	}
	if resp.NextPage <= page {
		return nil, fmt.Errorf("gitlabdata: pagination stalled: X-Next-Page %d does not follow page %d", resp.NextPage, page)
	}
	q.Set("page", strconv.Itoa(resp.NextPage))
	return withQuery(cur, q), nil
}

// withQuery is u with its query replaced.
func withQuery(u *url.URL, q url.Values) *url.URL {
	next := *u
	next.RawQuery = q.Encode()
	return &next
}

// page is one fetched page of a listing.
type page[T any] struct {
	items []*T
	resp  *Response
	url   *url.URL
	err   error
}

// fetchPage fetches the page at u; shared is the listing's table of shared
// strings, or nil for a page on its own.
func fetchPage[T any](ctx context.Context, c *Client, u *url.URL, shared *jsonscan.Shared) page[T] {
	p := page[T]{url: u}
	p.resp, p.err = c.call(ctx, http.MethodGet, u, nil, pageInto{&p.items, shared})
	return p
}

// listPage fetches one page of a listing for a List method; err, if set, is
// returned without any request.
func listPage[T any](ctx context.Context, c *Client, u *url.URL, err error) ([]*T, *Response, error) {
	if err != nil {
		return nil, nil, err
	}
	p := fetchPage[T](ctx, c, u, nil)
	if p.err != nil {
		return nil, p.resp, p.err
	}
	return p.items, p.resp, nil
}

// readAhead is a page being fetched in the background.
type readAhead[T any] struct {
	done   chan page[T]
	cancel context.CancelFunc
}

func startReadAhead[T any](ctx context.Context, c *Client, u *url.URL, shared *jsonscan.Shared) *readAhead[T] {
	ctx, cancel := context.WithCancel(ctx)
	ra := &readAhead[T]{done: make(chan page[T], 1), cancel: cancel}
	go func() { ra.done <- fetchPage[T](ctx, c, u, shared) }()
	return ra
}

// wait returns the page; abandon cancels it. Both wait for the goroutine.
func (ra *readAhead[T]) wait() page[T] {
	p := <-ra.done
	ra.cancel()
	return p
}

func (ra *readAhead[T]) abandon() {
	ra.cancel()
	<-ra.done
}

// all walks every page from first and yields each item. It is the one
// iterator behind every All method; see the package documentation for its
// contract (lazy, re-rangeable, one error then stop). argErr, if set, is
// yielded on the first step without any request.
//
// With the client's prefetch on, the next page is fetched while the caller
// consumes the current one: at most one page ahead, cancelled and waited
// for when the caller stops early, so no goroutine outlives the loop.
func all[T any](ctx context.Context, c *Client, first *url.URL, argErr error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		err := argErr // never assign a captured variable: ranges may run concurrently
		if err == nil {
			err = checkContext(ctx)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		var ahead *readAhead[T] // the next page, when prefetching
		defer func() {
			if ahead != nil {
				ahead.abandon()
			}
		}()
		// Local: every range starts again at the first page, with a table
		// of its own. Pages are decoded one at a time, so they can share it.
		shared := new(jsonscan.Shared)
		cur := fetchPage[T](ctx, c, first, shared)
		for {
			if cur.err != nil {
				yield(nil, cur.err)
				return
			}
			next, nextErr := c.nextPage(cur.url, cur.resp)
			if next != nil && c.prefetch {
				ahead = startReadAhead[T](ctx, c, next, shared)
			}
			for _, item := range cur.items {
				if item == nil {
					continue // a JSON null in the array: never yield (nil, nil)
				}
				if err := ctx.Err(); err != nil {
					yield(nil, fmt.Errorf("gitlabdata: iteration stopped: %w", err))
					return
				}
				if !yield(item, nil) {
					return
				}
			}
			switch {
			case nextErr != nil:
				yield(nil, nextErr)
				return
			case next == nil:
				return
			case ahead != nil:
				cur = ahead.wait()
				ahead = nil
			default:
				cur = fetchPage[T](ctx, c, next, shared)
			}
		}
	}
}
