package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// servePagedRecords serves model "uploads" as a keyset pager of records 1
// to total, two a page.
func servePagedRecords(t *testing.T, ts *testServer, total int64) *pager {
	p := &pager{t: t, style: pageKeyset, perPage: 2, item: func(id int64) string {
		return fmt.Sprintf(`{"record_identifier":%d,"model_class":"Upload","created_at":null,"file_size":1}`, id)
	}}
	for id := range total {
		p.ids = append(p.ids, id+1)
	}
	ts.mux.Handle("GET /admin/data_management/uploads", p)
	return p
}

func TestPrefetchYieldsTheSameSequence(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithPrefetch(true))
	p := servePagedRecords(t, ts, 7)
	ids, errs := drainIDs(t, anySeq(ts.client.DataManagement.All(t.Context(), ModelUploads, nil)), 20)
	if len(errs) != 0 {
		t.Fatalf("All() with prefetch errors = %v; want none", errs)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 6, 7}, ids); diff != "" {
		t.Errorf("All() with prefetch ids mismatch (-want +got):\n%s", diff)
	}
	const path = "/api/v4/admin/data_management/uploads"
	next := func(after int64) url.Values {
		return url.Values{"cursor": {pageCursor(after)}, "pagination": {"keyset"}}
	}
	wantURIs := requestURIs(path, url.Values{"pagination": {"keyset"}}, next(2), next(4), next(6))
	if diff := cmp.Diff(wantURIs, p.requests()); diff != "" {
		t.Errorf("All() with prefetch requests mismatch (-want +got):\n%s", diff)
	}
}

func TestPrefetchOverlapsFetchingAndConsuming(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithPrefetch(true))
	seen := make(chan string, 8)
	p := servePagedRecords(t, ts, 4)
	p.onRequest = func(r *http.Request) { seen <- r.URL.Query().Get("cursor") }
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a hang guard, not a timing assertion
	defer cancel()
	first := true
	for _, err := range ts.client.DataManagement.All(ctx, ModelUploads, nil) {
		if err != nil {
			t.Fatalf("All() error = %v", err)
		}
		if first {
			first = false
			// Still inside the first page's first item: the next page
			// must be requested without the loop going on.
			if c := <-seen; c != "" {
				t.Fatalf("first request cursor = %q; want none", c)
			}
			select {
			case c := <-seen:
				if want := pageCursor(2); c != want {
					t.Errorf("request made while page 1 was consumed has cursor %q; want %q", c, want)
				}
			case <-ctx.Done():
				t.Fatal("page 2 was not requested while page 1 was being consumed")
			}
		}
	}
}

func TestPrefetchStopsCleanly(t *testing.T) {
	t.Parallel()
	t.Run("break", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithPrefetch(true))
		p := servePagedRecords(t, ts, 100)
		for _, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, nil) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		// The read-ahead was cancelled and joined before the loop
		// returned: nothing more reaches the server afterwards.
		atReturn := len(p.requests())
		ts.server.Close()
		if later := len(p.requests()); atReturn < 1 || atReturn > 2 || later != atReturn {
			t.Errorf("requests: %d at return, %d later; want 1 or 2 and no more", atReturn, later)
		}
	})
	t.Run("error on the page fetched ahead", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithPrefetch(true))
		servePagedRecords(t, ts, 6).failPage = 2
		var items, errs int
		for _, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, nil) {
			if err != nil {
				errs++
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
					t.Errorf("All() error = %v; want the 500 APIError", err)
				}
				continue
			}
			items++
		}
		if items != 2 || errs != 1 {
			t.Errorf("All() yielded %d items and %d errors; want 2 then 1", items, errs)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithPrefetch(true))
		servePagedRecords(t, ts, 100)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var items int
		var last error
		for _, err := range ts.client.DataManagement.All(ctx, ModelUploads, nil) {
			if err != nil {
				last = err
				continue
			}
			items++
			if items == 3 {
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) || items != 3 {
			t.Errorf("All() = %d items, last error %v; want 3 then context.Canceled", items, last)
		}
	})
}
