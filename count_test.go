package gitlabdata_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

func TestCountWithOneRequestPerState(t *testing.T) {
	t.Parallel()
	srv, client := fakeAt(t, "18.11", 3) // 3 failed uploads
	srv.AddRecords(gitlabdata.ModelUploads, 2, gitlabdata.ChecksumStateSucceeded)
	got, err := client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, nil)
	if err != nil {
		t.Fatalf("Count() error = %v", err)
	}
	want := &gitlabdata.RecordCounts{
		Total: gitlabdata.Count{N: 5},
		ByState: map[gitlabdata.ChecksumState]gitlabdata.Count{
			"pending": {N: 0}, "started": {N: 0}, "succeeded": {N: 2}, "failed": {N: 3}, "disabled": {N: 0},
		},
		Requests: 7, // GET /version once, then one listing per count
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Count() mismatch (-want +got):\n%s", diff)
	}
	var queries []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/v4/admin/data_management/uploads" {
			queries = append(queries, r.RawQuery)
		}
	}
	wantQueries := []string{"pagination=offset&per_page=1"}
	for _, st := range gitlabdata.ChecksumStates() {
		wantQueries = append(wantQueries, "checksum_state="+string(st)+"&pagination=offset&per_page=1")
	}
	if diff := cmp.Diff(wantQueries, queries); diff != "" {
		t.Errorf("Count() queries mismatch (-want +got):\n%s", diff)
	}
}

// Above 10,000 records GitLab omits X-Total: a lower bound, or a walk when
// asked for an exact count.
func TestCountAboveTenThousand(t *testing.T) {
	t.Parallel()
	_, client := fakeAt(t, "18.11", 10_050)
	only := &gitlabdata.CountOptions{States: []gitlabdata.ChecksumState{gitlabdata.ChecksumStateFailed}}
	got, err := client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, only)
	if err != nil {
		t.Fatalf("Count() error = %v", err)
	}
	bound := gitlabdata.Count{N: 10_001, AtLeast: true}
	want := &gitlabdata.RecordCounts{Total: bound, ByState: map[gitlabdata.ChecksumState]gitlabdata.Count{"failed": bound}, Requests: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Count() mismatch (-want +got):\n%s", diff)
	}
	if s := bound.String(); s != ">=10001" {
		t.Errorf("Count.String() = %q; want >=10001", s)
	}

	exact := &gitlabdata.CountOptions{States: []gitlabdata.ChecksumState{gitlabdata.ChecksumStateFailed}, Exact: true}
	got, err = client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, exact)
	if err != nil {
		t.Fatalf("Count(Exact) error = %v", err)
	}
	n := gitlabdata.Count{N: 10_050}
	want = &gitlabdata.RecordCounts{Total: n, ByState: map[gitlabdata.ChecksumState]gitlabdata.Count{"failed": n}, Requests: 2 * (1 + 101)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Count(Exact) mismatch (-want +got):\n%s", diff)
	}
}

// GitLab 18.3 to 18.7 never send totals: a page of 100 counts exactly up to
// 100, and a walk counts beyond.
func TestCountOnLegacy(t *testing.T) {
	t.Parallel()
	srv, client := fakeAt(t, "18.5", 3)
	srv.AddRecords(gitlabdata.ModelUploads, 150, gitlabdata.ChecksumStateSucceeded)
	only := []gitlabdata.ChecksumState{gitlabdata.ChecksumStateFailed, gitlabdata.ChecksumStateSucceeded}
	got, err := client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, &gitlabdata.CountOptions{States: only})
	if err != nil {
		t.Fatalf("Count() error = %v", err)
	}
	atLeast := gitlabdata.Count{N: 101, AtLeast: true}
	want := &gitlabdata.RecordCounts{Total: atLeast, ByState: map[gitlabdata.ChecksumState]gitlabdata.Count{"failed": {N: 3}, "succeeded": atLeast}, Requests: 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Count() mismatch (-want +got):\n%s", diff)
	}
	got, err = client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, &gitlabdata.CountOptions{States: only, Exact: true})
	if err != nil {
		t.Fatalf("Count(Exact) error = %v", err)
	}
	want = &gitlabdata.RecordCounts{Total: gitlabdata.Count{N: 153}, ByState: map[gitlabdata.ChecksumState]gitlabdata.Count{"failed": {N: 3}, "succeeded": {N: 150}}, Requests: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Count(Exact) mismatch (-want +got):\n%s", diff)
	}
	var queries []string
	for _, r := range srv.Requests() {
		if r.Path == "/api/v4/admin/data_management/uploads" {
			t.Errorf("a plural name went to the 18.5 server: %s?%s", r.Path, r.RawQuery)
		}
		if r.Path == "/api/v4/admin/data_management/upload" {
			queries = append(queries, r.RawQuery)
		}
	}
	wantQueries := []string{
		"pagination=offset&per_page=100",                                          // total, a lower bound
		"checksum_state=failed&pagination=offset&per_page=100",                    // exact
		"checksum_state=succeeded&pagination=offset&per_page=100",                 // a lower bound
		"pagination=offset&per_page=100", "page=2&pagination=offset&per_page=100", // Exact: the walk goes on from page 1
		"checksum_state=failed&pagination=offset&per_page=100",
		"checksum_state=succeeded&pagination=offset&per_page=100", "checksum_state=succeeded&page=2&pagination=offset&per_page=100",
	}
	if diff := cmp.Diff(wantQueries, queries); diff != "" {
		t.Errorf("listings mismatch (-want +got):\n%s", diff)
	}
}

// Without Geo, GitLab refuses the state filter; the total is still counted.
func TestCountWithoutGeo(t *testing.T) {
	t.Parallel()
	_, client := fakeAt(t, "18.11", 4, gitlabtest.WithoutGeo())
	got, err := client.DataManagement.Count(t.Context(), gitlabdata.ModelUploads, nil)
	if err != nil {
		t.Fatalf("Count() error = %v", err)
	}
	if got.Total != (gitlabdata.Count{N: 4}) || got.ByState != nil || got.StatesError == nil {
		t.Errorf("Count() = %+v; want a total of 4, no states and the reason", got)
	}
}
