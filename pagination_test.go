package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The REST docs' offset example (spec §1.3).
const (
	docsPrev = "https://gitlab.example.com/api/v4/projects/8/issues/8/notes?page=1&per_page=3"
	docsNext = "https://gitlab.example.com/api/v4/projects/8/issues/8/notes?page=3&per_page=3"
	docsLink = `<` + docsPrev + `>; rel="prev", <` + docsNext + `>; rel="next", <` + docsPrev + `>; rel="first", <` + docsNext + `>; rel="last"`

	// The REST docs' keyset example and the data management one (spec §1.4, §2.6).
	docsGroupsNext  = "https://gitlab.example.com/api/v4/groups?pagination=keyset&per_page=50&order_by=name&sort=asc&cursor=eyJuYW1lIjoiRmxpZ2h0anMiLCJpZCI6IjI2IiwiX2tkIjoibiJ9"
	docsRecordsNext = "https://gitlab.example.com/api/v4/admin/data_management/snippet_repositories?cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D&model_name=snippet_repositories&order_by=id&page=1&pagination=keyset&per_page=2&sort=asc"
)

func TestParseLinkHeader(t *testing.T) {
	t.Parallel()
	const u = "https://gitlab.example.com/api/v4/projects?page=2"
	tests := []struct {
		name   string
		header string
		want   map[string]string
	}{
		{
			name:   "REST docs offset example",
			header: docsLink,
			want:   map[string]string{"prev": docsPrev, "next": docsNext, "first": docsPrev, "last": docsNext},
		},
		{
			name:   "REST docs keyset example",
			header: `<` + docsGroupsNext + `>; rel="next"`,
			want:   map[string]string{"next": docsGroupsNext},
		},
		{
			name:   "data management keyset with escaped cursor",
			header: `<` + docsRecordsNext + `>; rel="next"`,
			want:   map[string]string{"next": docsRecordsNext},
		},
		{
			name: "commas inside the URLs",
			header: `<https://gitlab.example.com/api/v4/admin/data_management/projects?identifiers=1,2&page=2>; rel="next", ` +
				`<https://gitlab.example.com/api/v4/admin/data_management/projects?identifiers=1,2&page=1>; rel="first"`,
			want: map[string]string{
				"next":  "https://gitlab.example.com/api/v4/admin/data_management/projects?identifiers=1,2&page=2",
				"first": "https://gitlab.example.com/api/v4/admin/data_management/projects?identifiers=1,2&page=1",
			},
		},
		{
			name:   "semicolons inside the URL",
			header: `<https://gitlab.example.com/api/v4/x;v=1?a=b;rel=prev>; rel="next"`,
			want:   map[string]string{"next": "https://gitlab.example.com/api/v4/x;v=1?a=b;rel=prev"},
		},
		{
			name:   "rel is not the first parameter",
			header: `<` + u + `>; foo=bar; rel="next"`,
			want:   map[string]string{"next": u},
		},
		{
			name:   "unquoted rel",
			header: `<` + u + `>; rel=next`,
			want:   map[string]string{"next": u},
		},
		{
			name:   "several relation types in one rel",
			header: `<` + u + `>; rel="next last"`,
			want:   map[string]string{"next": u, "last": u},
		},
		{
			name:   "parameter without a value",
			header: `<` + u + `>; foo; rel="next"`,
			want:   map[string]string{"next": u},
		},
		{
			name:   "upper-case parameter name and value",
			header: `<` + u + `>; REL="Next"`,
			want:   map[string]string{"next": u},
		},
		{
			name:   "spaces and tabs everywhere",
			header: " \t<a>\t;\trel = \"prev\" ,\t <b> ;  rel=next\t",
			want:   map[string]string{"prev": "a", "next": "b"},
		},
		{
			name:   "comma and angle brackets inside a quoted value",
			header: `<` + u + `>; title="page 2, <b>"; rel="next"`,
			want:   map[string]string{"next": u},
		},
		{
			name:   "semicolon inside a quoted value",
			header: `<a>; title="x; rel=next; y"; rel="prev"`,
			want:   map[string]string{"prev": "a"},
		},
		{
			name:   "links without a comma between them",
			header: `<a>; rel="prev" <b>; rel="next"`,
			want:   map[string]string{"prev": "a", "next": "b"},
		},
		{
			name:   "first link of a relation wins",
			header: `<a>; rel="next", <b>; rel="next", <c>; rel="NEXT"`,
			want:   map[string]string{"next": "a"},
		},
		{
			name:   "empty rel",
			header: `<a>; rel=""`,
			want:   map[string]string{},
		},
		{
			name:   "no rel",
			header: `<a>; title="next"`,
			want:   map[string]string{},
		},
		{name: "empty string", header: "", want: map[string]string{}},
		{name: "garbage", header: "garbage", want: map[string]string{}},
		{name: "parameters without a link", header: `rel="next"; <`, want: map[string]string{}},
		{name: "nested angle brackets", header: `<<<>>>; rel`, want: map[string]string{}},
		{
			name:   "missing closing bracket",
			header: `<` + u + `; rel="next"`,
			want:   map[string]string{},
		},
		{
			name:   "missing closing bracket in the second link",
			header: `<a>; rel="prev", <b; rel="next"`,
			want:   map[string]string{"prev": "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseLinkHeader(tt.header)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseLinkHeader(%q) mismatch (-want +got):\n%s", tt.header, diff)
			}
		})
	}
}

// linkToken keeps the RFC 9110 token characters of s, or gives "next".
func linkToken(s string) string {
	tok := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9',
			strings.ContainsRune("!#$%&'*+-.^_`|~", r):
			return r
		}
		return -1
	}, s)
	if tok == "" {
		return "next"
	}
	return tok
}

func FuzzParseLink(f *testing.F) {
	for _, seed := range []string{
		docsLink,
		`<` + docsGroupsNext + `>; rel="next"`,
		`<` + docsRecordsNext + `>; rel="next"`,
		`<https://h/api/v4/x?identifiers=1,2&page=2>; foo; REL=Next, <b>; rel="prev last"`,
		" \t<a>\t;\trel = \"prev\" ,\t <b> ;  rel=next\t",
		`<a>; title="x, <y>; \"z\""; rel="next"`,
		`<a; rel="next"`, `<<<>>>`, `"<a>"; rel="next`, "", "\xff<\xfe>; rel=\xc0",
	} {
		f.Add(seed, "https://gitlab.example.com/api/v4/projects?page=2", "next", "https://gitlab.example.com/api/v4/projects?page=1", "prev", true)
	}
	f.Add("", "https://h/a,b;c=d e", "NEXT", "", "next", false)
	f.Add("", "x", "next", "y", "Last", true)

	f.Fuzz(func(t *testing.T, header, url1, rel1, url2, rel2 string, quoted bool) {
		// Any input: no panic, and every URL is one that sat between <>.
		for rel, target := range parseLinkHeader(header) {
			if !strings.Contains(header, "<"+target+">") {
				t.Errorf("parseLinkHeader(%q)[%q] = %q; not a <URL> of the input", header, rel, target)
			}
			if rel == "" || rel != strings.ToLower(rel) || strings.ContainsAny(rel, " \t\r\n") {
				t.Errorf("parseLinkHeader(%q) has relation %q; want a non-empty lower-case token", header, rel)
			}
		}

		// A well-formed header built from two (URL, rel) pairs parses back.
		clean := func(r rune) rune {
			if strings.ContainsRune(`<>"`, r) {
				return -1
			}
			return r
		}
		url1, url2 = strings.Map(clean, url1), strings.Map(clean, url2)
		rel1, rel2 = linkToken(rel1), linkToken(rel2)
		value := func(rel string) string {
			if quoted {
				return `"` + rel + `"`
			}
			return rel
		}
		built := "<" + url1 + ">; rel=" + value(rel1) + ", <" + url2 + `>; title="a, <b>; c"; rel=` + value(rel2)
		want := map[string]string{strings.ToLower(rel1): url1}
		if _, dup := want[strings.ToLower(rel2)]; !dup {
			want[strings.ToLower(rel2)] = url2
		}
		if diff := cmp.Diff(want, parseLinkHeader(built)); diff != "" {
			t.Errorf("parseLinkHeader(%q) mismatch (-want +got):\n%s", built, diff)
		}
	})
}

// headerLines builds a header from "Key: value" lines, as GitLab sends them.
func headerLines(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		h.Add(k, strings.TrimSpace(v))
	}
	return h
}

func TestResponseFromHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header http.Header
		want   Response // Header and StatusCode are filled in from the input
	}{
		{
			name:   "REST docs offset example",
			status: http.StatusOK,
			header: headerLines("link: "+docsLink, "x-next-page: 3", "x-page: 2", "x-per-page: 3", "x-prev-page: 1",
				"x-total: 8", "x-total-pages: 3", "X-Request-Id: 01HF3D1PQ5S7U9W1Y3A5C7E9"),
			want: Response{
				RequestID: "01HF3D1PQ5S7U9W1Y3A5C7E9",
				Page:      2, PerPage: 3, NextPage: 3, PrevPage: 1, Total: 8, TotalPages: 3,
				NextLink: docsNext,
			},
		},
		{
			name:   "only page: empty next and prev",
			status: http.StatusOK,
			header: headerLines("X-Next-Page: ", "X-Page: 1", "X-Per-Page: 20", "X-Prev-Page: ", "X-Total: 0", "X-Total-Pages: 1"),
			want:   Response{Page: 1, PerPage: 20, TotalPages: 1},
		},
		{
			name:   "more than 10,000 records: no totals",
			status: http.StatusOK,
			header: headerLines(`Link: <https://gitlab.example.com/api/v4/x?page=2&per_page=100>; rel="next", <https://gitlab.example.com/api/v4/x?page=1&per_page=100>; rel="first"`,
				"X-Next-Page: 2", "X-Page: 1", "X-Per-Page: 100", "X-Prev-Page: "),
			want: Response{Page: 1, PerPage: 100, NextPage: 2, NextLink: "https://gitlab.example.com/api/v4/x?page=2&per_page=100"},
		},
		{
			name:   "malformed numbers read as 0",
			status: http.StatusOK,
			header: headerLines("X-Page: abc", "X-Per-Page: -5", "X-Next-Page: 2.5", "X-Prev-Page: 0x1",
				"X-Total: 99999999999999999999999", "X-Total-Pages: ", "RateLimit-Limit: sixty",
				"RateLimit-Observed: -1", "RateLimit-Remaining: 1e3", "RateLimit-Reset: -1700000000", "Retry-After: soon"),
			want: Response{},
		},
		{
			name:   "numbers with surrounding spaces",
			status: http.StatusOK,
			header: http.Header{"X-Page": {" 4 "}, "X-Next-Page": {"\t5"}},
			want:   Response{Page: 4, NextPage: 5},
		},
		{
			name:   "keyset page with next link",
			status: http.StatusOK,
			header: headerLines("Link: <"+docsRecordsNext+`>; rel="next"`, "X-Request-Id: 01JKEYSET"),
			want: Response{
				RequestID:  "01JKEYSET",
				NextLink:   docsRecordsNext,
				NextCursor: "eyJpZCI6IjIiLCJfa2QiOiJuIn0=",
			},
		},
		{
			name:   "keyset last page: no Link",
			status: http.StatusOK,
			header: headerLines("X-Request-Id: 01JKEYSETLAST"),
			want:   Response{RequestID: "01JKEYSETLAST"},
		},
		{
			name:   "Link split over two header lines",
			status: http.StatusOK,
			header: http.Header{"Link": {`<https://gitlab.example.com/api/v4/x?cursor=a>; rel="prev"`, `<https://gitlab.example.com/api/v4/x?cursor=b>; rel="next"`}},
			want:   Response{NextLink: "https://gitlab.example.com/api/v4/x?cursor=b", NextCursor: "b"},
		},
		{
			name:   "Rack::Attack throttle",
			status: http.StatusTooManyRequests,
			header: headerLines("Content-Type: text/plain", "RateLimit-Name: throttle_authenticated_api", "RateLimit-Limit: 60",
				"RateLimit-Observed: 67", "RateLimit-Remaining: 0", "RateLimit-Reset: 1609844400",
				"RateLimit-ResetTime: Tue, 05 Jan 2021 11:00:00 GMT", "Retry-After: 30"),
			want: Response{Rate: RateLimit{
				Name: "throttle_authenticated_api", Limit: 60, Observed: 67, Remaining: 0,
				Reset: time.Unix(1609844400, 0), RetryAfter: 30 * time.Second,
			}},
		},
		{
			name:   "Retry-After as a past HTTP date",
			status: http.StatusTooManyRequests,
			header: headerLines("Retry-After: Tue, 05 Jan 2021 11:00:00 GMT"),
			want:   Response{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := newResponse(&http.Response{StatusCode: tt.status, Header: tt.header.Clone()})
			want := tt.want
			want.StatusCode = tt.status
			want.Header = tt.header
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("newResponse(%v) mismatch (-want +got):\n%s", tt.header, diff)
			}
		})
	}
}

// TestResponseHeaderIsItsOwn checks that each Response holds its answer's
// headers, without a copy, and that no two Responses share them: net/http
// gives every answer a new Header, and the *http.Response is not kept.
func TestResponseHeaderIsItsOwn(t *testing.T) {
	t.Parallel()
	first := newResponse(&http.Response{StatusCode: http.StatusOK, Header: headerLines("X-Page: 1", "X-Request-Id: 01JFIRST")})
	second := newResponse(&http.Response{StatusCode: http.StatusOK, Header: headerLines("X-Page: 2", "X-Request-Id: 01JSECOND")})
	if diff := cmp.Diff(headerLines("X-Page: 1", "X-Request-Id: 01JFIRST"), first.Header); diff != "" {
		t.Errorf("Response.Header mismatch (-want +got):\n%s", diff)
	}
	first.Header.Set("X-Request-Id", "changed")
	if v := second.Header.Get("X-Request-Id"); v != "01JSECOND" {
		t.Errorf("the second Response's X-Request-Id = %q after the first's changed; want %q", v, "01JSECOND")
	}
}

// ---- iterator contract ----

// iterIDs are the items a pager holds unless a test says otherwise: five
// items, three pages of two.
var iterIDs = []int64{101, 102, 103, 104, 105}

func moveItemJSON(id int64) string {
	return fmt.Sprintf(`{"id":%d,"created_at":"2023-11-13T02:57:43.523Z","state":"finished","source_storage_name":"default","destination_storage_name":"gitaly-1","error_message":null,"project":{"id":13,"description":null,"name":"Underscore","name_with_namespace":"I User0 / Underscore","path":"Underscore","path_with_namespace":"i-user-0-1699826750/Underscore","created_at":"2023-11-12T22:09:10.639Z"}}`, id)
}

func recordItemJSON(id int64) string {
	return fmt.Sprintf(`{"record_identifier":%d,"model_class":"SnippetRepository","created_at":"2025-02-05T11:27:10.173Z","file_size":null}`, id)
}

type iterCase struct {
	name    string
	style   pageStyle
	pattern string // mux pattern of the listing
	// linkQuery is what GitLab adds to the keyset next link.
	linkQuery url.Values
	item      func(id int64) string
	seq       func(ctx context.Context, c *Client) iter.Seq2[any, error]
	// wantURIs are the requests for iterIDs in pages of two.
	wantURIs []string
}

func iterCases() []iterCase {
	movesAll := func(ctx context.Context, c *Client) iter.Seq2[any, error] {
		return anySeq(c.ProjectRepositoryStorageMoves.All(ctx, &ListStorageMovesOptions{PerPage: 2}))
	}
	recordsAll := func(ctx context.Context, c *Client) iter.Seq2[any, error] {
		return anySeq(c.DataManagement.All(ctx, ModelSnippetRepositories, &ListModelRecordsOptions{PerPage: 2}))
	}
	const movesPath = "/api/v4/project_repository_storage_moves"
	const recordsPath = "/api/v4/admin/data_management/snippet_repositories"
	movesURIs := requestURIs(movesPath,
		url.Values{"per_page": {"2"}},
		url.Values{"page": {"2"}, "per_page": {"2"}},
		url.Values{"page": {"3"}, "per_page": {"2"}})
	keysetNext := func(after int64) url.Values {
		return url.Values{"cursor": {pageCursor(after)}, "model_name": {"snippet_repositories"}, "order_by": {"id"},
			"page": {"1"}, "pagination": {"keyset"}, "per_page": {"2"}, "sort": {"asc"}}
	}
	return []iterCase{
		{
			name: "storage moves, offset with Link", style: pageOffsetLinks,
			pattern: "GET /project_repository_storage_moves", item: moveItemJSON, seq: movesAll,
			wantURIs: movesURIs,
		},
		{
			name: "storage moves, X-Next-Page only", style: pageOffsetHeaders,
			pattern: "GET /project_repository_storage_moves", item: moveItemJSON, seq: movesAll,
			wantURIs: movesURIs,
		},
		{
			name: "data management, keyset", style: pageKeyset,
			pattern: "GET /admin/data_management/snippet_repositories", item: recordItemJSON, seq: recordsAll,
			linkQuery: url.Values{"model_name": {"snippet_repositories"}, "order_by": {"id"}, "page": {"1"}, "sort": {"asc"}},
			wantURIs: requestURIs(recordsPath,
				url.Values{"pagination": {"keyset"}, "per_page": {"2"}},
				keysetNext(102), keysetNext(104)),
		},
		{
			name: "data management, keyset asked, offset answered", style: pageOffsetHeaders,
			pattern: "GET /admin/data_management/snippet_repositories", item: recordItemJSON, seq: recordsAll,
			wantURIs: requestURIs(recordsPath,
				url.Values{"pagination": {"keyset"}, "per_page": {"2"}},
				url.Values{"page": {"2"}, "pagination": {"keyset"}, "per_page": {"2"}},
				url.Values{"page": {"3"}, "pagination": {"keyset"}, "per_page": {"2"}}),
		},
	}
}

// iterHeadersOnlyCase is the storage-move listing paged by X-Next-Page alone.
func iterHeadersOnlyCase() iterCase {
	for _, tc := range iterCases() {
		if tc.style == pageOffsetHeaders && tc.item != nil && tc.pattern == "GET /project_repository_storage_moves" {
			return tc
		}
	}
	panic("no X-Next-Page storage-move case")
}

// serve mounts a pager for tc holding iterIDs in pages of two.
func (tc iterCase) serve(t *testing.T, ts *testServer) *pager {
	t.Helper()
	s := &pager{t: t, style: tc.style, ids: iterIDs, perPage: 2, item: tc.item, linkQuery: tc.linkQuery}
	ts.mux.Handle(tc.pattern, s)
	return s
}

// runIterCases runs body as a parallel subtest for each case, with a fresh client
// and a pager for the case holding iterIDs in pages of two.
func runIterCases(t *testing.T, cases []iterCase, body func(t *testing.T, tc iterCase, ts *testServer, srv *pager)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			body(t, tc, ts, tc.serve(t, ts))
		})
	}
}

// iterLinkCases are the cases whose server sends a Link header.
func iterLinkCases() []iterCase {
	var cases []iterCase
	for _, tc := range iterCases() {
		if tc.style != pageOffsetHeaders {
			cases = append(cases, tc)
		}
	}
	return cases
}

// TestIteratorWalks ranges every All over pages the pager scripts: the items
// yielded, the errors, and exactly which requests were sent.
func TestIteratorWalks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		linksOnly bool           // only the cases whose server sends Link
		script    func(p *pager) // changes to the default five items in three pages
		wantIDs   []int64
		wantErr   int // the error's status, -1 for an error without one, 0 for none
		requests  int // how many of the case's wantURIs are sent
	}{
		{name: "every page in order", wantIDs: iterIDs, requests: 3},
		{
			name:   "JSON nulls between items are skipped",
			script: func(p *pager) { p.nulls = true }, wantIDs: iterIDs, requests: 3,
		},
		{
			name:   "an empty first page ends the walk",
			script: func(p *pager) { p.ids = nil }, requests: 1,
		},
		{
			name:    "an error on page 2 comes after page 1's items, once",
			script:  func(p *pager) { p.failPage = 2 },
			wantIDs: []int64{101, 102}, wantErr: http.StatusInternalServerError, requests: 2,
		},
		{
			name: "a next link repeating the page is an error", linksOnly: true,
			script: func(p *pager) {
				p.tweak = func(h http.Header, r *http.Request, _ int) {
					h.Set("Link", "<http://"+r.Host+r.RequestURI+`>; rel="next"`)
				}
			},
			wantIDs: []int64{101, 102}, wantErr: -1, requests: 1,
		},
	}
	for _, tt := range tests {
		cases := iterCases()
		if tt.linksOnly {
			cases = iterLinkCases()
		}
		for _, tc := range cases {
			t.Run(tt.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				srv := tc.serve(t, ts)
				if tt.script != nil {
					tt.script(srv)
				}
				ids, errs := drainIDs(t, tc.seq(t.Context(), ts.client), 30)
				if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
					t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
				}
				switch {
				case tt.wantErr == 0 && len(errs) != 0:
					t.Errorf("All() errors = %v; want none", errs)
				case tt.wantErr != 0 && len(errs) != 1:
					t.Errorf("All() errors = %v; want exactly 1", errs)
				case tt.wantErr > 0:
					var apiErr *APIError
					if !errors.As(errs[0], &apiErr) || apiErr.StatusCode != tt.wantErr {
						t.Errorf("All() error = %v; want an *APIError with status %d", errs[0], tt.wantErr)
					}
				}
				if diff := cmp.Diff(tc.wantURIs[:tt.requests], srv.requests()); diff != "" {
					t.Errorf("All() requests mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestIteratorLazy(t *testing.T) {
	t.Parallel()
	runIterCases(t, iterCases(), func(t *testing.T, tc iterCase, ts *testServer, srv *pager) {
		seq := tc.seq(t.Context(), ts.client)
		if n := len(srv.requests()); n != 0 {
			t.Fatalf("All() without ranging made %d requests; want 0", n)
		}
		ids, _ := drainIDs(t, seq, 20)
		if len(ids) != len(iterIDs) || len(srv.requests()) != 3 {
			t.Errorf("ranging after the delay gave %d items in %d requests; want %d in 3", len(ids), len(srv.requests()), len(iterIDs))
		}
	})
}

func TestIteratorBreak(t *testing.T) {
	t.Parallel()
	runIterCases(t, iterCases(), func(t *testing.T, tc iterCase, ts *testServer, srv *pager) {
		var got []int64
		for v, err := range tc.seq(t.Context(), ts.client) {
			if err != nil {
				t.Fatalf("All() error = %v", err)
			}
			got = append(got, itemID(v))
			break
		}
		if diff := cmp.Diff([]int64{101}, got); diff != "" {
			t.Errorf("All() ids before break mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(tc.wantURIs[:1], srv.requests()); diff != "" {
			t.Errorf("All() requests with break mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestIteratorRangeTwice(t *testing.T) {
	t.Parallel()
	runIterCases(t, iterCases(), func(t *testing.T, tc iterCase, ts *testServer, srv *pager) {
		seq := tc.seq(t.Context(), ts.client)
		first, errs1 := drainIDs(t, seq, 20)
		second, errs2 := drainIDs(t, seq, 20)
		if len(errs1)+len(errs2) != 0 {
			t.Fatalf("All() errors = %v, %v; want none", errs1, errs2)
		}
		if diff := cmp.Diff(iterIDs, first); diff != "" {
			t.Errorf("All() first range mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("All() second range differs from the first (-first +second):\n%s", diff)
		}
		want := append(append([]string(nil), tc.wantURIs...), tc.wantURIs...)
		if diff := cmp.Diff(want, srv.requests()); diff != "" {
			t.Errorf("All() requests over two ranges mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestIteratorContextCanceled(t *testing.T) {
	t.Parallel()
	for _, tc := range iterCases() {
		// Cancel after the first item (mid-page) and after the second (the
		// last of page 1, so the next step would fetch page 2).
		for _, after := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/after item %d", tc.name, after), func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				srv := tc.serve(t, ts)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()

				var ids []int64
				var errs []error
				steps := 0
				for v, err := range tc.seq(ctx, ts.client) {
					if steps++; steps > 10 {
						t.Error("iterator kept going after the context was cancelled")
						break
					}
					if err != nil {
						errs = append(errs, err)
						continue
					}
					ids = append(ids, itemID(v))
					if len(ids) == after {
						cancel()
					}
				}
				if diff := cmp.Diff(iterIDs[:after], ids); diff != "" {
					t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
				}
				if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
					t.Errorf("All() errors = %v; want exactly one matching context.Canceled", errs)
				}
				if diff := cmp.Diff(tc.wantURIs[:1], srv.requests()); diff != "" {
					t.Errorf("All() requests mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestIteratorRefusesForeignNextLink(t *testing.T) {
	t.Parallel()
	targets := []struct {
		name string
		link func(main, other *url.URL) string
	}{
		{"other host", func(main, _ *url.URL) string {
			return "http://gitlab-other.test:" + main.Port() + "/api/v4/admin/data_management/snippet_repositories?cursor=x"
		}},
		{"other port", func(_, other *url.URL) string {
			return "http://" + other.Host + "/api/v4/project_repository_storage_moves?page=2&per_page=2"
		}},
		{"other scheme", func(main, _ *url.URL) string {
			return "https://" + main.Host + "/api/v4/project_repository_storage_moves?page=2&per_page=2"
		}},
		{"outside the API root", func(main, _ *url.URL) string {
			return "http://" + main.Host + "/admin/data_management/snippet_repositories?cursor=x"
		}},
		{"API root look-alike", func(main, _ *url.URL) string {
			return "http://" + main.Host + "/api/v40/project_repository_storage_moves?page=2"
		}},
		{"dot segments leaving the API root", func(main, _ *url.URL) string {
			return "http://" + main.Host + "/api/v4/../../-/snippets?page=2"
		}},
		{"encoded dot segments leaving the API root", func(main, _ *url.URL) string {
			return "http://" + main.Host + "/api/v4/%2e%2e/%2E%2E/-/snippets?page=2"
		}},
		{"malformed", func(main, _ *url.URL) string {
			return "http://" + main.Hostname() + ":%zz/api/v4/x"
		}},
	}
	for _, tc := range iterLinkCases() {
		for _, target := range targets {
			t.Run(tc.name+"/"+target.name, func(t *testing.T) {
				t.Parallel()
				var otherHits counter
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					otherHits.inc()
					t.Errorf("other server got %s %s with PRIVATE-TOKEN %q", r.Method, r.URL, r.Header.Get("PRIVATE-TOKEN"))
				}))
				t.Cleanup(other.Close)
				rec := newRecordingTransport(t, other.Listener.Addr().String())
				ts := setup(t, WithHTTPClient(&http.Client{Transport: rec}))
				mainURL, _ := url.Parse(ts.server.URL)
				otherURL, _ := url.Parse(other.URL)
				link := target.link(mainURL, otherURL)

				srv := tc.serve(t, ts)
				srv.tweak = func(h http.Header, _ *http.Request, n int) {
					if strings.Contains(h.Get("Link"), `rel="next"`) { // pages that have a next page
						h.Set("Link", "<"+link+`>; rel="next"`)
					}
				}

				ids, errs := drainIDs(t, tc.seq(t.Context(), ts.client), 20)
				// With X-Next-Page beside the Link, the listing goes on against
				// the client's own base URL; without it, the link is an error.
				wantIDs, wantErrs, wantURIs := []int64{101, 102}, 1, tc.wantURIs[:1]
				if tc.style == pageOffsetLinks && target.name != "malformed" {
					wantIDs, wantErrs, wantURIs = iterIDs, 0, tc.wantURIs
				}
				if diff := cmp.Diff(wantIDs, ids); diff != "" {
					t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
				}
				if len(errs) != wantErrs {
					t.Errorf("All() with next link %q yielded errors %v; want %d", link, errs, wantErrs)
				}
				var sent []string
				for _, u := range wantURIs {
					sent = append(sent, ts.server.URL+u)
				}
				if diff := cmp.Diff(sent, rec.sent()); diff != "" {
					t.Errorf("requests sent with next link %q mismatch (-want +got):\n%s", link, diff)
				}
				if n := otherHits.get(); n != 0 {
					t.Errorf("other server got %d requests; want 0", n)
				}
			})
		}
	}
}

func TestIteratorStalledNextPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tweak    func(h http.Header, r *http.Request, n int)
		wantIDs  []int64
		requests int
	}{
		{
			name:     "X-Next-Page equals X-Page",
			tweak:    func(h http.Header, _ *http.Request, n int) { h.Set("X-Next-Page", strconv.Itoa(n)) },
			wantIDs:  []int64{101, 102},
			requests: 1,
		},
		{
			name:     "X-Next-Page equals the requested page, no X-Page",
			tweak:    func(h http.Header, _ *http.Request, n int) { h.Del("X-Page"); h.Set("X-Next-Page", strconv.Itoa(n)) },
			wantIDs:  []int64{101, 102},
			requests: 1,
		},
		{
			name: "X-Next-Page goes back",
			tweak: func(h http.Header, _ *http.Request, n int) {
				if n == 2 {
					h.Set("X-Next-Page", "1")
				}
			},
			wantIDs:  []int64{101, 102, 103, 104},
			requests: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			tc := iterHeadersOnlyCase()
			srv := tc.serve(t, ts)
			srv.tweak = tt.tweak

			ids, errs := drainIDs(t, tc.seq(t.Context(), ts.client), 20)
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
			}
			if len(errs) != 1 {
				t.Errorf("All() errors = %v; want exactly 1 for a stalled page", errs)
			}
			if n := len(srv.requests()); n != tt.requests {
				t.Errorf("All() made %d requests; want %d", n, tt.requests)
			}
		})
	}
}

func TestIteratorEmptyNextPageEnds(t *testing.T) {
	t.Parallel()
	// X-Next-Page decides even when the totals promise more pages.
	for _, next := range []string{"", "0"} {
		t.Run(fmt.Sprintf("X-Next-Page %q", next), func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			tc := iterHeadersOnlyCase()
			srv := tc.serve(t, ts)
			srv.tweak = func(h http.Header, _ *http.Request, _ int) { h.Set("X-Next-Page", next) }

			ids, errs := drainIDs(t, tc.seq(t.Context(), ts.client), 20)
			if len(errs) != 0 {
				t.Fatalf("All() errors = %v; want none", errs)
			}
			if diff := cmp.Diff([]int64{101, 102}, ids); diff != "" {
				t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantURIs[:1], srv.requests()); diff != "" {
				t.Errorf("All() requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
