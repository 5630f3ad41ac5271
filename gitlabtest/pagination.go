package gitlabtest

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
	// countLimit is where GitLab stops counting: above it the total
	// headers and rel="last" are left out.
	countLimit = 10_000
)

// paging holds the pagination params of a request after Grape's checks.
type paging struct {
	page    int // from 1
	perPage int // as used for the query
	// linkPerPage is the per_page GitLab echoes in Link hrefs: the page
	// size used (clamped to 100 in offset mode, the default for a
	// negative or missing value).
	linkPerPage int64
}

// parsePaging reads page and per_page. clamp applies Kaminari's maximum
// (offset mode); keyset mode uses per_page as sent.
func parsePaging(q map[string][]string, errs *paramErrors, clamp bool) paging {
	p := paging{page: 1, perPage: defaultPerPage, linkPerPage: defaultPerPage}
	if v, ok := last(q, "page"); ok && v != "" {
		if n, ok := parseInt(v); !ok {
			errs.add("page is invalid")
		} else if n > 1 {
			p.page = int(min(n, 1<<40))
		}
	}
	if v, ok := last(q, "per_page"); ok && v != "" {
		switch n, ok := parseInt(v); {
		case !ok:
			errs.add("per_page is invalid")
		case n == 0:
			errs.add("per_page has a value not allowed")
		default:
			if n > 0 {
				p.perPage = int(min(n, 1<<31))
			}
			if clamp && p.perPage > maxPerPage {
				p.perPage = maxPerPage
			}
		}
	}
	// Links repeat the page size used, not the one sent (corrections #6).
	p.linkPerPage = int64(p.perPage)
	return p
}

// offsetPage describes one offset page for the headers.
type offsetPage struct {
	paging
	counted    bool // total known (at most countLimit matches)
	total      int
	hasNext    bool
	empty      bool // the page holds no item
	totalPages int
}

// newOffsetPage computes the page metadata. total is the number of matches
// (counted) or ignored; hasNext says whether an item follows the page.
// bounds is the slice [start:end] of total items that page p shows.
func (p paging) bounds(total int) (start, end int) {
	start = min((p.page-1)*p.perPage, total)
	return start, min(start+p.perPage, total)
}

func newOffsetPage(p paging, counted bool, total int, pageLen int, hasNext bool) offsetPage {
	op := offsetPage{paging: p, counted: counted, total: total, hasNext: hasNext, empty: pageLen == 0}
	if counted {
		op.totalPages = max(1, (total+p.perPage-1)/p.perPage)
		op.hasNext = p.page < op.totalPages
	}
	return op
}

// outOfRange mirrors Kaminari: past the last page there is neither a
// previous nor a next page.
func (op offsetPage) outOfRange() bool {
	if op.counted {
		return op.page > op.totalPages || op.total == 0
	}
	return op.empty
}

func (op offsetPage) nextPage() int {
	if op.hasNext && !op.outOfRange() {
		return op.page + 1
	}
	return 0
}

func (op offsetPage) prevPage() int {
	if op.page > 1 && !op.outOfRange() {
		return op.page - 1
	}
	return 0
}

// setOffsetHeaders writes X-Page, X-Per-Page, X-Next-Page, X-Prev-Page,
// Link and, when counted, X-Total and X-Total-Pages, as GitLab's
// OffsetHeaderBuilder does.
func (c *call) setOffsetHeaders(op offsetPage, defaults map[string]string) {
	h := c.w.Header()
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	h.Set("X-Per-Page", strconv.Itoa(op.perPage))
	h.Set("X-Page", strconv.Itoa(op.page))
	h.Set("X-Next-Page", itoa(op.nextPage()))
	h.Set("X-Prev-Page", itoa(op.prevPage()))
	link := func(page int, rel string) string {
		return "<" + c.linkURL(defaults, map[string]string{
			"page":     strconv.Itoa(page),
			"per_page": strconv.FormatInt(op.linkPerPage, 10),
		}) + `>; rel="` + rel + `"`
	}
	var links []string
	if p := op.prevPage(); p > 0 {
		links = append(links, link(p, "prev"))
	}
	if p := op.nextPage(); p > 0 {
		links = append(links, link(p, "next"))
	}
	links = append(links, link(1, "first"))
	if op.counted {
		links = append(links, link(op.totalPages, "last"))
		h.Set("X-Total", strconv.Itoa(op.total))
		h.Set("X-Total-Pages", strconv.Itoa(op.totalPages))
	}
	h.Set("Link", strings.Join(links, ", "))
}

// linkURL builds a pagination href the way GitLab does: the request path on
// the host the request was sent to, and a query made of the request's params, the path
// params and the declared defaults, with overrides, rendered like Rails'
// to_query (each key=value escaped, then sorted).
func (c *call) linkURL(defaults, overrides map[string]string) string {
	params := make(map[string][]string)
	for k, vs := range c.query {
		if strings.HasSuffix(k, "[]") {
			params[k] = vs
		} else if len(vs) > 0 {
			params[k] = vs[len(vs)-1:]
		}
	}
	for _, pp := range c.pathParams {
		params[pp[0]] = []string{pp[1]}
	}
	for k, v := range defaults {
		if _, ok := params[k]; !ok {
			params[k] = []string{v}
		}
	}
	for k, v := range overrides {
		params[k] = []string{v}
	}
	return c.origin() + c.r.URL.EscapedPath() + "?" + toQuery(params)
}

// toQuery renders params like Rails' Hash#to_query.
func toQuery(params map[string][]string) string {
	pairs := make([]string, 0, len(params))
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}
