package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// servePagedRecords serves model "uploads" in keyset pages of two records
// (ids 1..total) chosen by the request's cursor, and reports each page
// request's cursor on seen (if not nil). failCursor answers 500.
func servePagedRecords(ts *testServer, total int, failCursor string, seen chan<- string) *counter {
	var n counter
	ts.mux.HandleFunc("GET /admin/data_management/uploads", func(w http.ResponseWriter, r *http.Request) {
		n.inc()
		cursor := r.URL.Query().Get("cursor")
		if seen != nil {
			seen <- cursor
		}
		if cursor == failCursor && failCursor != "" {
			serveJSON(w, http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`)
			return
		}
		start := 1
		if cursor != "" {
			start, _ = strconv.Atoi(cursor)
		}
		var recs []string
		for id := start; id < start+2 && id <= total; id++ {
			recs = append(recs, fmt.Sprintf(`{"record_identifier":%d,"model_class":"Upload","created_at":null,"file_size":1}`, id))
		}
		if start+2 <= total {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v4/admin/data_management/uploads?cursor=%d&pagination=keyset>; rel="next"`, ts.server.URL, start+2))
		}
		serveJSON(w, http.StatusOK, "["+strings.Join(recs, ",")+"]")
	})
	return &n
}

func TestPrefetchYieldsTheSameSequence(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithPrefetch(true))
	n := servePagedRecords(ts, 7, "", nil)
	var got []string
	for rec, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, nil) {
		if err != nil {
			t.Fatalf("All() error = %v", err)
		}
		got = append(got, rec.RecordIdentifier.String())
	}
	if strings.Join(got, ",") != "1,2,3,4,5,6,7" || n.get() != 4 {
		t.Errorf("All() with prefetch = %v after %d requests; want 1..7 after 4", got, n.get())
	}
}

func TestPrefetchOverlapsFetchingAndConsuming(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithPrefetch(true))
	seen := make(chan string, 8)
	servePagedRecords(ts, 4, "", seen)
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
				if c != "3" {
					t.Errorf("request made while page 1 was consumed has cursor %q; want 3", c)
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
		n := servePagedRecords(ts, 100, "", nil)
		for _, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, nil) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		// The read-ahead was cancelled and joined before the loop
		// returned: nothing more reaches the server afterwards.
		atReturn := n.get()
		ts.server.Close()
		if atReturn < 1 || atReturn > 2 || n.get() != atReturn {
			t.Errorf("requests: %d at return, %d later; want 1 or 2 and no more", atReturn, n.get())
		}
	})
	t.Run("error on the page fetched ahead", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithPrefetch(true))
		servePagedRecords(ts, 6, "3", nil)
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
		servePagedRecords(ts, 100, "", nil)
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
