package moves

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/internal/wire"
)

// This file lists the containers on a storage and reads them one by one,
// through the GitLab endpoints the SDK does not wrap (Client.Do).

// wireProject is a project as a listing shows it.
type wireProject wire.Project

func (p wireProject) container() Container {
	c := Container{Kind: KindProject, ID: p.ID, Path: p.PathWithNamespace, Storage: p.RepositoryStorage}
	c.Size, c.HasSize = wire.Project(p).Size()
	return c
}

// wireOther is a group or a snippet: GitLab gives the size of neither
// (statistics.wiki_size of a group is the sum of its projects' wikis,
// corrections #20), and repository_storage is null for a group without a
// wiki repository.
type wireOther struct {
	ID                int64   `json:"id"`
	FullPath          string  `json:"full_path"` // groups
	Title             string  `json:"title"`     // snippets
	RepositoryStorage *string `json:"repository_storage"`
}

func (w wireOther) container(k Kind) Container {
	c := Container{Kind: k, ID: w.ID, Path: w.FullPath}
	if k == KindSnippet {
		c.Path = w.Title
	}
	if w.RepositoryStorage != nil {
		c.Storage = *w.RepositoryStorage
	}
	return c
}

// perPage is the page size of the container listings (GitLab's maximum).
const perPage = 100

// projectPage asks for one keyset page of the projects on storage with ids
// in (after, before); before 0 means no upper bound. Pending-delete
// projects are included: they stay on the storage otherwise unseen
// (corrections #19). It returns the projects on storage, how many rows the
// page had and the last row's id.
func (r *runner) projectPage(ctx context.Context, storage string, after, before int64, stats, counted bool) (found []Container, rows int, last int64, err error) {
	q := url.Values{
		"repository_storage": {storage}, "pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"},
		"per_page": {strconv.Itoa(perPage)}, "include_pending_delete": {"true"},
	}
	if stats {
		q.Set("statistics", "true")
	}
	if after > 0 {
		q.Set("id_after", strconv.FormatInt(after, 10))
	}
	if before > 0 {
		q.Set("id_before", strconv.FormatInt(before, 10))
	}
	var page []wireProject
	f := func() (*gitlabdata.Response, error) {
		page = nil
		return r.gl.c.Do(ctx, http.MethodGet, "projects", q, nil, &page)
	}
	if counted {
		err = r.gl.call(ctx, "GET projects", f)
	} else {
		err = r.gl.probe(ctx, "GET projects", f)
	}
	if err != nil || len(page) == 0 {
		return nil, 0, 0, err
	}
	found = make([]Container, 0, len(page))
	for _, p := range page {
		if p.RepositoryStorage == storage {
			found = append(found, p.container())
		}
	}
	return found, len(page), page[len(page)-1].ID, nil
}

// listing is what a listing of one kind found.
type listing struct {
	found []Container
	errs  []ListingError
}

// listProjects lists the projects on storage with ids in (after, before) by
// keyset on id, so that projects leaving the storage meanwhile make it
// skip nothing. A page that keeps failing with GitLab's 500 is narrowed
// down to the projects that break it, which are reported and stepped
// over; other failures are tried again until the breaker stops the drain.
func (r *runner) listProjects(ctx context.Context, storage string, after, before int64, stats bool) (listing, error) {
	var l listing
	bugs := 0
	for {
		// A window stops short of a project known to be broken, which is
		// reported again without a request.
		stop := r.nextBroken(after, before)
		page, rows, last, err := r.projectPage(ctx, storage, after, stop, stats, true)
		if err != nil {
			var h *HaltError
			switch {
			case errors.As(err, &h), ctx.Err() != nil:
				return l, err
			case classify(err, nil) == answered:
				return l, err
			case classify(err, nil) == transient:
				// The breaker counted it and bounds this.
				if err := r.gl.backoff(ctx); err != nil {
					return l, err
				}
				continue
			}
			if bugs++; bugs < 2 {
				if err := r.gl.backoff(ctx); err != nil {
					return l, err
				}
				continue
			}
			found, broken, next, nerr := r.narrow(ctx, storage, after, stop, stats, err)
			l.found = append(l.found, found...)
			if nerr != nil {
				return l, nerr
			}
			for _, id := range broken {
				r.broken[id] = err.Error()
				l.errs = append(l.errs, ListingError{Kind: KindProject, AfterID: after, ID: id, Error: err.Error()})
			}
			after, bugs = next, 0
			continue
		}
		bugs = 0
		l.found = append(l.found, page...)
		switch {
		case rows == perPage:
			after = last
		case stop != before:
			l.errs = append(l.errs, ListingError{Kind: KindProject, AfterID: after, ID: stop, Error: r.broken[stop]})
			after = stop
		default:
			return l, nil
		}
	}
}

// nextBroken is the first project known to be broken in (after, before),
// or before.
func (r *runner) nextBroken(after, before int64) int64 {
	stop := before
	for id := range r.broken {
		if id > after && (stop == 0 || id < stop) {
			stop = id
		}
	}
	return stop
}

// maxProbes bounds the requests that narrow down one failing page.
const maxProbes = 40

// narrow finds the projects that break the keyset page after "after": it
// lists id windows from there, doubling them while they answer, until one
// fails; a binary search in that window finds the id whose one-id window
// fails. That project is broken once the window after it answers. It
// returns the projects listed on the way, the broken ids, and the id to go
// on after. When one-id windows keep failing, the whole listing fails, not
// a project: a *HaltError.
func (r *runner) narrow(ctx context.Context, storage string, after, before int64, stats bool, pageErr error) (found []Container, broken []int64, next int64, err error) {
	lo, hi := after, int64(0) // listed up to lo; (lo, hi) fails when hi > 0
	span := int64(1)
	listed := 0
	for range maxProbes {
		top := lo + span + 1
		if hi > 0 {
			top = lo + (hi-lo)/2 + 1
		}
		if before > 0 && top > before {
			top = before
		}
		if top <= lo+1 {
			return found, broken, lo, nil // the window up to before is listed
		}
		page, rows, last, perr := r.projectPage(ctx, storage, lo, top, stats, false)
		switch {
		case perr == nil:
			found = append(found, page...)
			listed += rows
			if rows == perPage {
				lo = last
			} else {
				lo = top - 1
			}
			switch {
			case hi > 0:
			case len(broken) > 0:
				return found, broken, lo, nil // they are broken: the window after them answers
			case listed >= perPage:
				return found, nil, lo, nil // the failure went away
			default:
				span = min(span*2, 1<<40)
			}
		case classify(perr, nil) != serverBug:
			var h *HaltError
			if errors.As(perr, &h) || ctx.Err() != nil {
				return found, broken, lo, perr
			}
			if err := r.o.Sleep(ctx, time.Second); err != nil { // no answer: wait before the next probe
				return found, broken, lo, err
			}
		case top > lo+2:
			hi = top
		default: // the window of one id fails
			broken = append(broken, lo+1)
			if len(broken) == 3 {
				return found, nil, lo, &HaltError{What: "GitLab keeps failing: every window of the listing fails, not one project",
					Endpoint: r.gl.label("GET projects"), Status: status(perr), Advice: "check GitLab's health (its logs), then run again", Err: perr}
			}
			lo, hi, span = lo+1, 0, 1
		}
	}
	return found, nil, lo, &HaltError{What: fmt.Sprintf("GitLab keeps failing: a listing page fails and %d narrowing requests did not find why", maxProbes),
		Endpoint: r.gl.label("GET projects"), Status: status(pageErr), Advice: "check GitLab's logs for the failing request, then run again", Err: pageErr}
}

// projectsAmong lists the projects on storage whose ids are among ids
// (sorted), by keyset windows over runs of nearby ids. It returns the ids
// on storage, and those a listing error names.
func (r *runner) projectsAmong(ctx context.Context, storage string, ids []int64) (on, unknown map[int64]bool, err error) {
	on, unknown = map[int64]bool{}, map[int64]bool{}
	// A window spans ids at most this far apart: a page answers a window
	// whose ids are dense, and a sparse batch does not list everything
	// between its ids.
	const gap = 1000
	for start := 0; start < len(ids); {
		end := start + 1
		for end < len(ids) && ids[end]-ids[end-1] <= gap {
			end++
		}
		l, err := r.listProjects(ctx, storage, ids[start]-1, ids[end-1]+1, false)
		for _, c := range l.found {
			on[c.ID] = true
		}
		for _, le := range l.errs {
			unknown[le.ID] = true
		}
		r.listingErrors = append(r.listingErrors, l.errs...)
		if err != nil {
			return on, unknown, err
		}
		start = end
	}
	return on, unknown, nil
}

// listOther lists the group wikis or snippets on storage, page by page
// (GitLab pages them by offset only: corrections #21). A page that keeps
// failing is reported and skipped. Rows shift while moves finish, so a
// container missing from this listing may still be on storage: only a read
// by id says it left.
func (r *runner) listOther(ctx context.Context, storage string, k Kind) (listing, error) {
	path, ep := "groups", "GET groups"
	if k == KindSnippet {
		path, ep = "snippets/all", "GET snippets/all"
	}
	var l listing
	for page, fails := 1, 0; ; {
		q := url.Values{"repository_storage": {storage}, "per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}
		if k == KindGroupWiki {
			q.Set("order_by", "id")
			q.Set("sort", "asc")
		}
		var rows []wireOther
		resp, err := r.gl.get(ctx, ep, path, q, &rows)
		if err != nil {
			var h *HaltError
			switch {
			case errors.As(err, &h), ctx.Err() != nil, classify(err, resp) == answered:
				return l, err
			}
			if fails++; fails < 3 {
				if err := r.gl.backoff(ctx); err != nil {
					return l, err
				}
				continue
			}
			l.errs = append(l.errs, ListingError{Kind: k, Page: page, Error: err.Error()})
			page, fails = page+1, 0
			continue
		}
		fails = 0
		for _, w := range rows {
			if c := w.container(k); c.Storage == storage {
				l.found = append(l.found, c)
			}
		}
		if len(rows) < perPage || resp.NextPage == 0 && resp.Page != 0 {
			return l, nil
		}
		page++
	}
}

// list lists one kind on storage.
func (r *runner) list(ctx context.Context, storage string, k Kind) (listing, error) {
	if k == KindProject {
		return r.listProjects(ctx, storage, 0, 0, true)
	}
	return r.listOther(ctx, storage, k)
}

// readStorage reads a group wiki's or a snippet's storage by id (GitLab
// shows it to administrators); exists is false on 404.
func (r *runner) readStorage(ctx context.Context, k Kind, id int64) (storage string, exists bool, err error) {
	path, ep := "groups/"+strconv.FormatInt(id, 10), "GET groups/:id"
	q := url.Values{"with_projects": {"false"}}
	if k == KindSnippet {
		path, ep, q = "snippets/"+strconv.FormatInt(id, 10), "GET snippets/:id", nil
	}
	var w wireOther
	if _, err := r.gl.get(ctx, ep, path, q, &w); err != nil {
		if errors.Is(err, gitlabdata.ErrNotFound) {
			return "", false, nil
		}
		return "", false, err
	}
	return w.container(k).Storage, true, nil
}
