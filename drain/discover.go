package drain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// ListingError is a listing page that kept failing and was skipped.
type ListingError struct {
	Kind Kind `json:"kind"`
	// AfterID is the last id listed before the failing page (projects),
	// Page the failing offset page (group wikis, snippets).
	AfterID int64 `json:"after_id,omitempty"`
	Page    int   `json:"page,omitempty"`
	// ID is the container that breaks the page, when the drain could
	// narrow it down (projects); it is reported as remaining, unknown.
	ID    int64  `json:"id,omitempty"`
	Error string `json:"error"`
}

// pageAttempts is how often a failing listing page is asked for.
const pageAttempts = 3

// fatal reports errors that end the drain: no retry or skip helps.
func fatal(err error) bool {
	return errors.Is(err, gitlabdata.ErrUnauthorized) || errors.Is(err, gitlabdata.ErrForbidden) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, gitlabdata.ErrInvalidArgument)
}

// call runs one request, waiting out 429s the client gave up on (their
// Retry-After) and pacing on RateLimit-Remaining.
func (r *runner) call(ctx context.Context, f func() (*gitlabdata.Response, error)) error {
	for attempt := 0; ; attempt++ {
		r.requests++
		resp, err := f()
		if resp != nil && err == nil {
			r.pace(ctx, resp.Rate)
		}
		var apiErr *gitlabdata.APIError
		if err != nil && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests && attempt < 5 {
			wait := apiErr.RetryAfter
			if wait <= 0 {
				wait = time.Second << attempt
			}
			if serr := r.d.opts.Sleep(ctx, wait); serr != nil {
				return serr
			}
			continue
		}
		return err
	}
}

// pace waits when GitLab says few requests are left in the window: it
// spreads the rest of the window over the remaining requests.
func (r *runner) pace(ctx context.Context, rl gitlabdata.RateLimit) {
	if rl.Limit <= 0 || rl.Remaining <= 0 && rl.Reset.IsZero() || rl.Remaining > rl.Limit/10 {
		return
	}
	left := rl.Reset.Sub(r.d.opts.Now())
	if left <= 0 {
		return
	}
	wait := left / time.Duration(rl.Remaining+1)
	_ = r.d.opts.Sleep(ctx, min(wait, time.Minute))
}

type wireProject struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	RepositoryStorage string `json:"repository_storage"`
	Statistics        *struct {
		RepositorySize int64 `json:"repository_size"`
	} `json:"statistics"`
}

type wireGroup struct {
	ID                int64  `json:"id"`
	FullPath          string `json:"full_path"`
	RepositoryStorage string `json:"repository_storage"`
	Statistics        *struct {
		WikiSize int64 `json:"wiki_size"`
	} `json:"statistics"`
}

type wireSnippet struct {
	ID                int64  `json:"id"`
	Title             string `json:"title"`
	RepositoryStorage string `json:"repository_storage"`
}

// projectPage asks for one keyset page of the projects on storage with
// ids in (after, before); before 0 means no upper bound.
func (r *runner) projectPage(ctx context.Context, storage string, after, before int64, perPage int) ([]wireProject, bool, error) {
	q := url.Values{
		"repository_storage": {storage}, "statistics": {"true"}, "pagination": {"keyset"},
		"order_by": {"id"}, "sort": {"asc"}, "per_page": {strconv.Itoa(perPage)},
	}
	if after > 0 {
		q.Set("id_after", strconv.FormatInt(after, 10))
	}
	if before > 0 {
		q.Set("id_before", strconv.FormatInt(before, 10))
	}
	var out []wireProject
	var more bool
	err := r.call(ctx, func() (*gitlabdata.Response, error) {
		out = nil
		resp, err := r.d.c.Do(ctx, http.MethodGet, "projects", q, nil, &out)
		more = err == nil && resp != nil && resp.NextLink != ""
		return resp, err
	})
	return out, more, err
}

func (p wireProject) container() Container {
	c := Container{Kind: KindProject, ID: p.ID, Path: p.PathWithNamespace, Storage: p.RepositoryStorage}
	if p.Statistics != nil {
		c.Size, c.HasSize = p.Statistics.RepositorySize, true
	}
	return c
}

// listProjects lists the projects on storage with ids in (after, before)
// by keyset on id, so that projects leaving the storage meanwhile make it
// skip nothing. A page that keeps failing is narrowed down to the project
// that breaks it, which is reported and stepped over.
func (r *runner) listProjects(ctx context.Context, storage string, after, before int64) ([]Container, []ListingError, error) {
	var out []Container
	var lerrs []ListingError
	for {
		var page []wireProject
		var more bool
		var err error
		for try := 0; try < pageAttempts; try++ {
			if page, more, err = r.projectPage(ctx, storage, after, before, 100); err == nil || fatal(err) {
				break
			}
		}
		if err != nil {
			if fatal(err) {
				return out, lerrs, err
			}
			// Step forward one project at a time to the broken one.
			broken, next, items, ferr := r.findBroken(ctx, storage, after, before)
			out = append(out, items...)
			if ferr != nil {
				return out, lerrs, ferr
			}
			if broken == 0 { // the page works now
				after = next
				continue
			}
			lerrs = append(lerrs, ListingError{Kind: KindProject, AfterID: next, ID: broken, Error: err.Error()})
			r.emit(Event{Type: EventListingError, Kind: KindProject, ID: broken, Error: err.Error()})
			after = broken
			continue
		}
		for _, p := range page {
			if p.RepositoryStorage == "" || p.RepositoryStorage == storage {
				out = append(out, p.container())
			}
		}
		if !more || len(page) == 0 {
			return out, lerrs, nil
		}
		after = page[len(page)-1].ID
	}
}

// findBroken walks single-project pages from after; when one fails it
// finds the id of the project that breaks it by searching id windows.
// It returns the broken id (0 if a hundred pages worked), the id to go on
// after, and the projects read on the way.
func (r *runner) findBroken(ctx context.Context, storage string, after, before int64) (int64, int64, []Container, error) {
	var items []Container
	for range 100 {
		page, more, err := r.projectPage(ctx, storage, after, before, 1)
		if err == nil {
			if len(page) == 0 {
				return 0, after, items, nil
			}
			if page[0].RepositoryStorage == "" || page[0].RepositoryStorage == storage {
				items = append(items, page[0].container())
			}
			after = page[0].ID
			if !more {
				return 0, after, items, nil
			}
			continue
		}
		if fatal(err) {
			return 0, after, items, err
		}
		// The first project after "after" is broken: a window (after, hi)
		// fails when it holds it and answers empty when it does not. Keep
		// lo < broken < hi.
		lo, hi := after, after+2
		for before == 0 || hi < before {
			_, _, werr := r.projectPage(ctx, storage, after, hi, 1)
			if werr != nil {
				if fatal(werr) {
					return 0, after, items, werr
				}
				break
			}
			lo, hi = hi-1, after+(hi-after)*2
		}
		if before > 0 && hi > before {
			hi = before
		}
		for hi-lo > 2 {
			mid := lo + (hi-lo)/2
			_, _, werr := r.projectPage(ctx, storage, after, mid+1, 1)
			switch {
			case werr != nil && fatal(werr):
				return 0, after, items, werr
			case werr != nil:
				hi = mid + 1
			default:
				lo = mid
			}
		}
		return lo + 1, after, items, nil
	}
	return 0, after, items, nil
}

// listOffset lists group wikis or snippets on storage page by page,
// skipping a page that keeps failing.
func (r *runner) listOffset(ctx context.Context, kind Kind, storage string) ([]Container, []ListingError, bool, error) {
	path := "groups"
	if kind == KindSnippet {
		path = "snippets/all"
	}
	var out []Container
	var lerrs []ListingError
	unfiltered := false
	for page := 1; ; page++ {
		q := url.Values{"repository_storage": {storage}, "per_page": {"100"}, "page": {strconv.Itoa(page)}}
		if kind == KindGroupWiki {
			q.Set("statistics", "true")
			q.Set("order_by", "id")
			q.Set("sort", "asc")
		}
		var groups []wireGroup
		var snippets []wireSnippet
		var resp *gitlabdata.Response
		var err error
		for try := 0; try < pageAttempts; try++ {
			err = r.call(ctx, func() (*gitlabdata.Response, error) {
				groups, snippets = nil, nil
				var out any = &groups
				if kind == KindSnippet {
					out = &snippets
				}
				resp, err = r.d.c.Do(ctx, http.MethodGet, path, q, nil, out)
				return resp, err
			})
			if err == nil || fatal(err) {
				break
			}
		}
		if err != nil {
			var apiErr *gitlabdata.APIError
			if fatal(err) || errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
				return out, lerrs, unfiltered, err
			}
			lerrs = append(lerrs, ListingError{Kind: kind, Page: page, Error: err.Error()})
			r.emit(Event{Type: EventListingError, Kind: kind, Error: fmt.Sprintf("page %d: %v", page, err)})
			if page > 1000 {
				return out, lerrs, unfiltered, nil
			}
			continue
		}
		for _, g := range groups {
			if g.RepositoryStorage == "" {
				unfiltered = true
				continue
			}
			if g.RepositoryStorage == storage {
				c := Container{Kind: KindGroupWiki, ID: g.ID, Path: g.FullPath, Storage: g.RepositoryStorage}
				if g.Statistics != nil {
					c.Size, c.HasSize = g.Statistics.WikiSize, true
				}
				out = append(out, c)
			}
		}
		for _, s := range snippets {
			if s.RepositoryStorage == "" {
				unfiltered = true
				continue
			}
			if s.RepositoryStorage == storage {
				out = append(out, Container{Kind: KindSnippet, ID: s.ID, Path: s.Title, Storage: s.RepositoryStorage})
			}
		}
		if resp == nil || resp.NextPage <= page {
			return out, lerrs, unfiltered, nil
		}
	}
}

// list lists one kind on storage.
func (r *runner) list(ctx context.Context, kind Kind, storage string) ([]Container, []ListingError, error) {
	if kind == KindProject {
		return r.listProjects(ctx, storage, 0, 0)
	}
	out, lerrs, unfiltered, err := r.listOffset(ctx, kind, storage)
	if unfiltered {
		r.warn(fmt.Sprintf("GitLab did not say on which storage some %ss are (not an administrator's token, or a GitLab without the field): those were left out", kind))
	}
	return out, lerrs, err
}
