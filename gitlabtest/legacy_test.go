package gitlabtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestLegacyModelNames(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithLegacy())
	want := seedRecords(srv)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"uploads", 400, `{"error":"model_name does not have a valid value"}`},
		{"Upload", 400, `{"error":"model_name does not have a valid value"}`},
		{"container_repository", 200, `[]`},
		{"upload/2", 200, `{"record_identifier":2,"model_class":"Upload","created_at":"2025-02-05T11:28:10.173Z","file_size":2000,` +
			`"checksum_information":{"checksum":null,"last_checksum":"2025-02-05T12:27:10.173Z","checksum_state":3,"checksum_retry_count":2,` +
			`"checksum_retry_at":"2025-02-05T13:27:10.173Z","checksum_failure":"Checksum does not match"}}`},
		{"upload?sort=sideways&cursor=!!", 200, ""}, // sort and cursor are not declared
	}
	for _, tt := range tests {
		got := adminDo(t, srv, "GET", "/admin/data_management/"+tt.path, "")
		if tt.want == "" {
			if got.status != tt.status {
				t.Errorf("GET %s = %d; want %d (%s)", tt.path, got.status, tt.status, got.body)
			}
			continue
		}
		wantJSON(t, "GET "+tt.path, got, tt.status, tt.want)
	}
	// The SDK decodes integer states.
	got, _, err := fakeClient(t, srv).DataManagement.List(t.Context(), gitlabdata.ModelUploads.Singular(), nil)
	if err != nil {
		t.Fatalf("List(upload) error = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(upload) mismatch (-want +got):\n%s", diff)
	}
	wantJSON(t, "PUT upload/2/checksum", adminDo(t, srv, "PUT", "/admin/data_management/upload/2/checksum", ""),
		400, `{"message":"400 Bad request - Verifying upload/2 failed."}`)
}

func TestLegacyPagination(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithLegacy())
	srv.AddRecords(gitlabdata.ModelLFSObjects, 5, gitlabdata.ChecksumStateSucceeded)
	base := srv.URL() + "/api/v4/admin/data_management/lfs_object?"
	link := func(q, rel string) string { return "<" + base + q + `>; rel="` + rel + `"` }
	tests := []struct {
		query string
		want  map[string]string
	}{
		{"per_page=2&page=2", map[string]string{
			"X-Page": "2", "X-Per-Page": "2", "X-Next-Page": "3", "X-Prev-Page": "1", "X-Total": "<absent>", "X-Total-Pages": "<absent>",
			"Link": strings.Join([]string{
				link("model_name=lfs_object&page=1&per_page=2", "prev"), link("model_name=lfs_object&page=3&per_page=2", "next"),
				link("model_name=lfs_object&page=1&per_page=2", "first"),
			}, ", "),
		}},
		// pagination=keyset is ignored: offset headers, no cursor.
		{"pagination=keyset&per_page=2&page=3", map[string]string{
			"X-Page": "3", "X-Per-Page": "2", "X-Next-Page": "", "X-Prev-Page": "2", "X-Total": "<absent>", "X-Total-Pages": "<absent>",
			"Link": strings.Join([]string{
				link("model_name=lfs_object&page=2&pagination=keyset&per_page=2", "prev"),
				link("model_name=lfs_object&page=1&pagination=keyset&per_page=2", "first"),
			}, ", "),
		}},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, "GET", "/admin/data_management/lfs_object?"+tt.query, "")
		if diff := cmp.Diff(tt.want, headerOf(got.header, offsetHeaderKeys...)); diff != "" || got.status != 200 {
			t.Errorf("GET lfs_object?%s = %d, headers mismatch (-want +got):\n%s", tt.query, got.status, diff)
		}
	}
	// All falls back to offset pages.
	var ids []string
	for r, err := range fakeClient(t, srv).DataManagement.All(t.Context(), "lfs_object", &gitlabdata.ListModelRecordsOptions{PerPage: 2}) {
		if err != nil {
			t.Fatalf("All(lfs_object) error = %v", err)
		}
		ids = append(ids, r.RecordIdentifier.String())
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5"}, ids); diff != "" {
		t.Errorf("All(lfs_object) mismatch (-want +got):\n%s", diff)
	}
	// Storage moves are not affected by legacy mode.
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves", "")
	if got.header.Get("X-Total") != "0" {
		t.Errorf("storage moves X-Total = %q; want 0", got.header.Get("X-Total"))
	}
}

func TestLegacyBulkIgnoresFilters(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithLegacy())
	seedRecords(srv)
	got := adminDo(t, srv, "PUT", "/admin/data_management/upload/checksum", `{"checksum_state":"pending","identifiers":[1]}`)
	wantJSON(t, "legacy bulk PUT", got, 200, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
	var states []string
	for i := 1; i <= 5; i++ {
		r, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(int64(i)))
		states = append(states, string(r.ChecksumInformation.ChecksumState))
	}
	if diff := cmp.Diff([]string{"pending", "pending", "pending", "pending", "pending"}, states); diff != "" {
		t.Errorf("states after a legacy bulk PUT mismatch (-want +got):\n%s", diff)
	}
	got = adminDo(t, srv, "GET", "/version", "")
	if !strings.Contains(got.body, `"version":"18.7.0-ee"`) {
		t.Errorf("legacy version = %s; want 18.7.0-ee", got.body)
	}
}

func TestDemoData(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithDemoData())
	client := fakeClient(t, srv)

	totals := map[string]int{}
	for _, path := range []string{"project_repository_storage_moves", "group_repository_storage_moves", "snippet_repository_storage_moves"} {
		got := adminDo(t, srv, "GET", "/"+path, "")
		var n int
		fmt.Sscan(got.header.Get("X-Total"), &n)
		totals[path] = n
	}
	if diff := cmp.Diff(map[string]int{"project_repository_storage_moves": 6, "group_repository_storage_moves": 2, "snippet_repository_storage_moves": 1}, totals); diff != "" {
		t.Errorf("demo storage moves mismatch (-want +got):\n%s", diff)
	}
	states := map[gitlabdata.StorageMoveState]int{}
	for m, err := range client.ProjectRepositoryStorageMoves.All(t.Context(), nil) {
		if err != nil {
			t.Fatalf("All error = %v", err)
		}
		states[m.State]++
		if (m.State == "failed" || m.State == "cleanup failed") && (m.ErrorMessage == nil || *m.ErrorMessage == "") {
			t.Errorf("demo move %d is %q without an error message", m.ID, m.State)
		}
	}
	if diff := cmp.Diff(map[gitlabdata.StorageMoveState]int{"finished": 4, "failed": 1, "cleanup failed": 1}, states); diff != "" {
		t.Errorf("demo project move states mismatch (-want +got):\n%s", diff)
	}

	// Records: ten models of the newest release, a few hundred records,
	// some failed with a text, every one with an integer id and checksum
	// information.
	perModel := map[gitlabdata.ModelName]int{}
	failed := 0
	for _, model := range gitlabtest.ModelNamesOf(srv.Version()) {
		for r, err := range client.DataManagement.All(t.Context(), model, &gitlabdata.ListModelRecordsOptions{PerPage: 100}) {
			if err != nil {
				t.Fatalf("All(%s) error = %v", model, err)
			}
			perModel[model]++
			if _, ok := r.RecordIdentifier.Int(); !ok || r.ChecksumInformation == nil {
				t.Errorf("demo record %s/%s has a composite id or no checksum information", model, r.RecordIdentifier)
				continue
			}
			if ci := r.ChecksumInformation; ci.ChecksumState == gitlabdata.ChecksumStateFailed {
				failed++
				if ci.ChecksumFailure == nil || *ci.ChecksumFailure == "" {
					t.Errorf("failed demo record %s/%s has no checksum_failure", model, r.RecordIdentifier)
				}
			}
		}
	}
	if diff := cmp.Diff(map[gitlabdata.ModelName]int{
		"ci_job_artifacts": 90, "group_wiki_repositories": 5, "lfs_objects": 80, "merge_request_diffs": 20,
		"packages_package_files": 25, "projects": 30, "projects_wiki_repositories": 10, "snippet_repositories": 4,
		"terraform_state_versions": 8, "uploads": 60,
	}, perModel); diff != "" || failed < 5 {
		t.Errorf("demo records per model mismatch (-want +got), %d failed (want 5 or more):\n%s", failed, diff)
	}
	// No GitLab serves a model with composite ids, and neither does the demo.
	wantJSON(t, "demo GET virtual_registries_cache_entries", adminDo(t, srv, "GET", "/admin/data_management/virtual_registries_cache_entries", ""),
		400, `{"error":"model_name does not have a valid value"}`)

	// 25 writable projects live on "default"; a bulk schedule without a
	// destination schedules nothing (corrections #10), one with a
	// destination moves them all.
	if got := adminDo(t, srv, "POST", "/project_repository_storage_moves", `{"source_storage_name":"default"}`); got.status != 202 {
		t.Fatalf("bulk schedule without a destination = %d %s; want 202", got.status, got.body)
	}
	if n := len(srv.ProjectsOnStorage("default")); n != 25 {
		t.Fatalf("projects on default = %d; want 25", n)
	}
	for m, err := range client.ProjectRepositoryStorageMoves.All(t.Context(), nil) {
		if err == nil && m.State == "scheduled" {
			t.Errorf("move %d is scheduled after a bulk schedule without a destination", m.ID)
		}
	}
	if _, err := client.ProjectRepositoryStorageMoves.ScheduleAll(t.Context(), gitlabdata.ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: gitlabdata.String("storage2")}); err != nil {
		t.Fatalf("ScheduleAll error = %v", err)
	}
	scheduled := 0
	for m, err := range client.ProjectRepositoryStorageMoves.All(t.Context(), nil) {
		if err != nil {
			t.Fatalf("All error = %v", err)
		}
		if m.State == "scheduled" {
			scheduled++
			if m.DestinationStorageName == "storage3" {
				t.Errorf("move %d goes to storage3, whose weight is 0", m.ID)
			}
		}
	}
	if scheduled != 25 {
		t.Errorf("ScheduleAll from default scheduled %d moves; want 25", scheduled)
	}
}
