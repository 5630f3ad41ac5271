package rebalance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/internal/wire"
)

// Fleet is what a plan is made from: the storages' weights and the
// projects on the storages balanced.
type Fleet struct {
	// Instance is the API root (Client.BaseURL).
	Instance string `json:"instance"`
	// Weights are the storages' weights for new repositories
	// (application settings' repository_storages_weighted).
	Weights  map[string]int `json:"weights"`
	Projects []Project      `json:"projects"`
	// Requests is how many GitLab requests reading the fleet took.
	Requests int `json:"requests"`
}

// Project is a project on a storage balanced.
type Project struct {
	ID   int64  `json:"id"`
	Path string `json:"path"`
	// Storage is its repository storage; Size its repository_size.
	Storage string `json:"storage"`
	Size    int64  `json:"size"`
	// ForkedFrom is the project it was forked from (0: not a fork).
	ForkedFrom int64 `json:"forked_from,omitempty"`
}

// maxAttempts bounds the requests for one page that GitLab answers with
// its 500.
const maxAttempts = 3

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// perPage is the page size of the listings (GitLab's maximum).
const perPage = 100

// ReadFleet reads the weights and the projects of the storages to
// balance. It first makes sure the token is an administrator's: GitLab
// hides repository_storage from anyone else, so every storage would look
// empty.
func (r *Rebalancer) ReadFleet(ctx context.Context) (*Fleet, error) {
	f := &Fleet{Instance: r.c.BaseURL()}
	get := func(path string, q url.Values, out any) error {
		for attempt := 1; ; attempt++ {
			f.Requests++
			_, err := r.c.Do(ctx, http.MethodGet, path, q, nil, out)
			var apiErr *gitlabdata.APIError
			// The client retries what is worth it, but not GitLab's own
			// 500, which a listing page can answer once under load.
			if err == nil || attempt == maxAttempts || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
				return err
			}
			if werr := sleep(ctx, time.Duration(attempt)*time.Second); werr != nil {
				return err
			}
		}
	}
	var user struct {
		Username string `json:"username"`
		IsAdmin  *bool  `json:"is_admin"`
	}
	if err := get("user", nil, &user); err != nil {
		return nil, fmt.Errorf("rebalance: checking the token (GET /user): %w", err)
	}
	if user.IsAdmin == nil || !*user.IsAdmin {
		return nil, fmt.Errorf("rebalance: the token of %q is not an administrator's: GitLab hides repository_storage from other users, "+
			"so every storage would look empty; use an administrator's token (with the admin_mode scope where Admin Mode is on)", user.Username)
	}
	var settings struct {
		Weights map[string]int `json:"repository_storages_weighted"`
	}
	if err := get("application/settings", nil, &settings); err != nil {
		return nil, fmt.Errorf("rebalance: reading the storage weights (GET /application/settings): %w", err)
	}
	f.Weights = settings.Weights
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range r.opts.Capacities {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		if _, ok := f.Weights[name]; !ok && len(f.Weights) > 0 {
			return nil, fmt.Errorf("%w: storage %q is not configured in GitLab (storages: %s)", ErrInvalidOptions, name, storageNames(f.Weights))
		}
		if err := r.listStorage(ctx, f, name, get); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// listStorage lists the projects on storage by keyset on id, so that
// projects moving meanwhile make it skip nothing.
func (r *Rebalancer) listStorage(ctx context.Context, f *Fleet, storage string, get func(string, url.Values, any) error) error {
	for after := int64(0); ; {
		q := url.Values{
			"repository_storage": {storage}, "statistics": {"true"}, "include_pending_delete": {"true"},
			"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}, "per_page": {strconv.Itoa(perPage)},
		}
		if after > 0 {
			q.Set("id_after", strconv.FormatInt(after, 10))
		}
		var page []wire.Project
		if err := get("projects", q, &page); err != nil {
			return fmt.Errorf("rebalance: listing the projects on %s (GET /projects): %w", storage, err)
		}
		for _, p := range page {
			if p.ID <= after {
				return errors.New("rebalance: GitLab listed the projects out of order: is it GitLab 17.0 or later?")
			}
			after = p.ID
			if p.RepositoryStorage != storage {
				continue // moved meanwhile: it is listed on its new storage, if that one is balanced
			}
			size, _ := p.Size()
			f.Projects = append(f.Projects, Project{ID: p.ID, Path: p.PathWithNamespace, Storage: storage, Size: size, ForkedFrom: p.ForkedFrom()})
		}
		if len(page) < perPage {
			return ctx.Err()
		}
	}
}

func storageNames(w map[string]int) string {
	var s []string
	for n := range w {
		s = append(s, n)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
