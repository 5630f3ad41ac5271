package gitlabdata

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// urlRecorder records the URL of every request before sending it on.
type urlRecorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *urlRecorder) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

func TestResponseCursorsFromHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		header         http.Header
		wantNext, prev string
	}{
		{
			name:     "X-NEXT-CURSOR wins over the Link",
			header:   http.Header{"Link": {`<https://gitlab.example.com/api/v4/x?cursor=fromlink>; rel="next"`}, "X-Next-Cursor": {"fromheader"}, "X-Prev-Cursor": {"back"}},
			wantNext: "fromheader", prev: "back",
		},
		{
			name:     "Link only",
			header:   http.Header{"Link": {`<https://gitlab.example.com/api/v4/x?cursor=fromlink>; rel="next"`}},
			wantNext: "fromlink",
		},
		{
			name:   "last page with a previous one",
			header: http.Header{"X-Prev-Cursor": {"back"}},
			prev:   "back",
		},
		{name: "empty first page", header: http.Header{}},
	}
	for _, tc := range tests {
		r := newResponse(&http.Response{StatusCode: 200, Header: tc.header})
		if r.NextCursor != tc.wantNext || r.PrevCursor != tc.prev {
			t.Errorf("%s: NextCursor %q, PrevCursor %q; want %q, %q", tc.name, r.NextCursor, r.PrevCursor, tc.wantNext, tc.prev)
		}
	}
}

// GitLab writes its configured external host into Link. When that is not
// the client's address, keyset listings go on with X-NEXT-CURSOR against
// the client's own base URL, keeping the caller's parameters, and nothing
// is sent to the external host.
func TestKeysetFollowsNextCursorWhenLinkIsExternal(t *testing.T) {
	t.Parallel()
	var rec urlRecorder
	ts := setup(t, WithHTTPClient(&http.Client{Transport: &rec}))
	pages := map[string]string{
		"":   `[{"record_identifier":1},{"record_identifier":2}]`,
		"c2": `[{"record_identifier":3},{"record_identifier":4}]`,
		"c3": `[{"record_identifier":5}]`,
	}
	next := map[string]string{"": "c2", "c2": "c3"}
	ts.mux.HandleFunc("GET /admin/data_management/uploads", func(w http.ResponseWriter, r *http.Request) {
		cur := r.URL.Query().Get("cursor")
		if n := next[cur]; n != "" {
			w.Header().Set("Link", `<https://gitlab.external.example/api/v4/admin/data_management/uploads?cursor=`+n+`&order_by=id&pagination=keyset&per_page=2&sort=asc>; rel="next"`)
			w.Header().Set("X-Next-Cursor", n)
		}
		if cur != "" {
			w.Header().Set("X-Prev-Cursor", "p"+cur)
		}
		serveJSON(w, http.StatusOK, pages[cur])
	})
	var ids []string
	for rec, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, &ListModelRecordsOptions{PerPage: 2, ChecksumState: ChecksumStateFailed}) {
		if err != nil {
			t.Fatalf("All() error = %v", err)
		}
		ids = append(ids, rec.RecordIdentifier.String())
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5"}, ids); diff != "" {
		t.Errorf("All() ids mismatch (-want +got):\n%s", diff)
	}
	base := ts.server.URL + "/api/v4/admin/data_management/uploads?"
	q := func(cursor string) string {
		v := url.Values{"checksum_state": {"failed"}, "pagination": {"keyset"}, "per_page": {"2"}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		return base + v.Encode()
	}
	if diff := cmp.Diff([]string{q(""), q("c2"), q("c3")}, rec.sent()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	for _, u := range rec.sent() {
		if strings.Contains(u, "external") {
			t.Errorf("a request went to the external host: %s", u)
		}
	}
}

func TestKeysetNextCursorThatRepeatsIsAStall(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	var calls counter
	ts.mux.HandleFunc("GET /admin/data_management/uploads", func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		w.Header().Set("X-Next-Cursor", "same")
		serveJSON(w, http.StatusOK, `[{"record_identifier":1}]`)
	})
	var errs []error
	for _, err := range ts.client.DataManagement.All(t.Context(), ModelUploads, nil) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "pagination stalled: X-NEXT-CURSOR repeats the current cursor") {
		t.Errorf("All() errors = %v; want one stall error", errs)
	}
	if n := calls.get(); n != 2 {
		t.Errorf("server saw %d requests; want 2", n)
	}
}
