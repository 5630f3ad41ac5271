package gitlabtest_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// seedRecords adds five integer-keyed upload records with known fields:
// ids 1..5, states succeeded, failed (failing), pending, succeeded,
// disabled.
func seedRecords(srv *gitlabtest.Server) []*gitlabdata.ModelRecord {
	created := time.Date(2025, 2, 5, 11, 27, 10, 173_000_000, time.UTC)
	states := []gitlabdata.ChecksumState{"succeeded", "failed", "pending", "succeeded", "disabled"}
	var out []*gitlabdata.ModelRecord
	for i, st := range states {
		id := int64(i + 1)
		ci := &gitlabdata.ChecksumInformation{ChecksumState: st, ChecksumRetryCount: ptr(int64(0))}
		switch st {
		case "succeeded":
			ci.Checksum = ptr(fmt.Sprintf("%064d", id))
			ci.LastChecksum = ptr(created.Add(time.Hour))
		case "failed":
			ci.LastChecksum = ptr(created.Add(time.Hour))
			ci.ChecksumRetryCount = ptr(int64(2))
			ci.ChecksumRetryAt = ptr(created.Add(2 * time.Hour))
			ci.ChecksumFailure = gitlabdata.String("Checksum does not match")
		}
		r := gitlabdata.ModelRecord{
			RecordIdentifier: gitlabdata.IntRecordID(id), ModelClass: "Upload",
			CreatedAt: ptr(created.Add(time.Duration(i) * time.Minute)), FileSize: ptr(1000 * id),
			ChecksumInformation: ci,
		}
		srv.AddRecord(gitlabdata.ModelUploads, r)
		out = append(out, &r)
	}
	return out
}

func TestDataManagementListOffset(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	want := seedRecords(srv)
	client := fakeClient(t, srv)
	got, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{PerPage: 2, Page: 2})
	if err != nil {
		t.Fatalf("List error = %v", err)
	}
	if diff := cmp.Diff(want[2:4], got); diff != "" {
		t.Errorf("List(page 2) mismatch (-want +got):\n%s", diff)
	}
	base := srv.URL() + "/api/v4/admin/data_management/uploads?"
	link := func(page int, rel string) string {
		return fmt.Sprintf(`<%smodel_name=uploads&page=%d&per_page=2&sort=asc>; rel="%s"`, base, page, rel)
	}
	wantH := map[string]string{
		"X-Page": "2", "X-Per-Page": "2", "X-Next-Page": "3", "X-Prev-Page": "1", "X-Total": "5", "X-Total-Pages": "3",
		"Link": strings.Join([]string{link(1, "prev"), link(3, "next"), link(1, "first"), link(3, "last")}, ", "),
	}
	if diff := cmp.Diff(wantH, headerOf(resp.Header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("List(page 2) headers mismatch (-want +got):\n%s", diff)
	}

	// Offset mode ignores sort=desc: always ascending by key.
	got, _, err = client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{Sort: gitlabdata.SortDesc})
	if err != nil {
		t.Fatalf("List(sort=desc) error = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(sort=desc, offset) mismatch (-want +got):\n%s", diff)
	}

	var all []*gitlabdata.ModelRecord
	for r, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{Pagination: gitlabdata.PaginationOffset, PerPage: 2}) {
		if err != nil {
			t.Fatalf("All(offset) error = %v", err)
		}
		all = append(all, r)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("All(offset) mismatch (-want +got):\n%s", diff)
	}
}

func TestDataManagementRawJSON(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seedRecords(srv)
	srv.AddRecord("projects", gitlabdata.ModelRecord{})
	got := adminDo(t, srv, http.MethodGet, "/admin/data_management/uploads/2", "")
	wantJSON(t, "GET uploads/2", got, 200, `{"record_identifier":2,"model_class":"Upload","created_at":"2025-02-05T11:28:10.173Z","file_size":2000,`+
		`"checksum_information":{"checksum":null,"last_checksum":"2025-02-05T12:27:10.173Z","checksum_state":"failed","checksum_retry_count":2,`+
		`"checksum_retry_at":"2025-02-05T13:27:10.173Z","checksum_failure":"Checksum does not match"}}`)
	got = adminDo(t, srv, http.MethodGet, "/admin/data_management/projects/1", "")
	wantJSON(t, "GET projects/1 without checksum information", got, 200, `{"record_identifier":1,"model_class":"Project","created_at":null,"file_size":null}`)
}

func TestDataManagementKeyset(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	want := seedRecords(srv)
	client := fakeClient(t, srv)
	opts := &gitlabdata.ListModelRecordsOptions{Pagination: gitlabdata.PaginationKeyset, PerPage: 2}
	got, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, opts)
	if err != nil {
		t.Fatalf("List(keyset) error = %v", err)
	}
	if diff := cmp.Diff(want[:2], got); diff != "" {
		t.Errorf("List(keyset page 1) mismatch (-want +got):\n%s", diff)
	}
	cursor := base64.URLEncoding.EncodeToString([]byte(`{"id":"2","_kd":"n"}`))
	wantH := map[string]string{
		"X-Page": "<absent>", "X-Per-Page": "<absent>", "X-Next-Page": "<absent>", "X-Prev-Page": "<absent>",
		"X-Total": "<absent>", "X-Total-Pages": "<absent>",
		"Link": fmt.Sprintf(`<%s/api/v4/admin/data_management/uploads?cursor=%s&model_name=uploads&order_by=id&page=1&pagination=keyset&per_page=2&sort=asc>; rel="next"`,
			srv.URL(), url.QueryEscape(cursor)),
	}
	if diff := cmp.Diff(wantH, headerOf(resp.Header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("List(keyset page 1) headers mismatch (-want +got):\n%s", diff)
	}
	if resp.NextCursor != cursor {
		t.Errorf("NextCursor = %q; want %q", resp.NextCursor, cursor)
	}

	// The last page has no Link.
	opts.Cursor = base64.URLEncoding.EncodeToString([]byte(`{"id":"4","_kd":"n"}`))
	got, resp, err = client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, opts)
	if err != nil {
		t.Fatalf("List(keyset last page) error = %v", err)
	}
	if diff := cmp.Diff(want[4:], got); diff != "" {
		t.Errorf("List(keyset last page) mismatch (-want +got):\n%s", diff)
	}
	if l, ok := resp.Header["Link"]; ok {
		t.Errorf("last keyset page Link = %q; want none", l)
	}

	// Descending, across pages, with a state filter; an unpadded cursor
	// works too.
	var ids []string
	for r, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{Sort: gitlabdata.SortDesc, PerPage: 1}) {
		if err != nil {
			t.Fatalf("All(desc) error = %v", err)
		}
		ids = append(ids, r.RecordIdentifier.String())
	}
	if diff := cmp.Diff([]string{"5", "4", "3", "2", "1"}, ids); diff != "" {
		t.Errorf("All(desc) mismatch (-want +got):\n%s", diff)
	}
	got, _, err = client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{
		Pagination: gitlabdata.PaginationKeyset, Sort: gitlabdata.SortDesc, ChecksumState: gitlabdata.ChecksumStateSucceeded,
		Cursor: strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(`{"id":"4","_kd":"n"}`)), "="),
	})
	if err != nil {
		t.Fatalf("List(desc, succeeded, after 4) error = %v", err)
	}
	if diff := cmp.Diff([]*gitlabdata.ModelRecord{want[0]}, got); diff != "" {
		t.Errorf("List(desc, succeeded, after 4) mismatch (-want +got):\n%s", diff)
	}

	// per_page is not capped in keyset mode.
	srv.AddRecords(gitlabdata.ModelLFSObjects, 150, gitlabdata.ChecksumStateSucceeded)
	got, _, err = client.DataManagement.List(t.Context(), gitlabdata.ModelLFSObjects, &gitlabdata.ListModelRecordsOptions{Pagination: gitlabdata.PaginationKeyset, PerPage: 120})
	if err != nil || len(got) != 120 {
		t.Errorf("List(keyset, per_page=120) = %d records, %v; want 120", len(got), err)
	}
}

func TestDataManagementListErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seedRecords(srv)
	srv.AcceptModel("virtual_registries_cache_entries")
	srv.DisableVerification("virtual_registries_cache_entries")
	b64 := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, query string
		status      int
		want        string
	}{
		{"bad sort", "uploads?sort=up", 400, `{"error":"sort does not have a valid value"}`},
		{"bad checksum_state", "uploads?checksum_state=done", 400, `{"error":"checksum_state does not have a valid value"}`},
		{"per_page 0", "uploads?per_page=0", 400, `{"error":"per_page has a value not allowed"}`},
		{"per_page not a number", "uploads?per_page=ten", 400, `{"error":"per_page is invalid"}`},
		{"page not a number", "uploads?page=x", 400, `{"error":"page is invalid"}`},
		{"several errors", "uploads?per_page=0&sort=up", 400, `{"error":"per_page has a value not allowed, sort does not have a valid value"}`},
		{"upper case model", "UPLOADS", 400, `{"error":"model_name does not have a valid value"}`},
		{"singular model", "upload", 400, `{"error":"model_name does not have a valid value"}`},
		{"unknown model", "widgets", 400, `{"error":"model_name does not have a valid value"}`},
		{"empty model", "/1", 400, `{"error":"model_name does not have a valid value"}`},
		{"scalar identifiers", "uploads?identifiers=1", 400, `{"error":"identifiers is invalid"}`},
		{"malformed base64", "uploads?identifiers[]=rand123", 400, `{"message":"400 Bad request - invalid base64"}`},
		{"mixed ids", "uploads?identifiers[]=1&identifiers[]=" + b64("1 2"), 400, `{"message":"400 Bad request - invalid base64"}`},
		{"no space", "uploads?identifiers[]=" + b64("12"), 400, `{"message":"400 Bad request - Invalid composite key format"}`},
		{"state filter on unverifiable model", "virtual_registries_cache_entries?checksum_state=failed", 400,
			`{"message":"400 Bad request - VirtualRegistriesCacheEntry is not a verifiable model."}`},
		{"bad cursor", "uploads?pagination=keyset&cursor=%21%21", 500, `{"message":"500 Internal Server Error"}`},
		{"cursor without id", "uploads?pagination=keyset&cursor=" + b64(`{"_kd":"n"}`), 500, `{"message":"500 Internal Server Error"}`},
		{"known model without records", "ci_secure_files", 200, `[]`},
		{"escaped model name", "lfs%5Fobjects", 200, `[]`},
		{"empty identifiers means no filter", "lfs_objects?identifiers[]=", 200, `[]`},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, http.MethodGet, "/admin/data_management/"+tt.query, "")
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}
}

func TestDataManagementIdentifiers(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seedRecords(srv)
	comp := srv.AddCompositeRecords("virtual_registries_cache_entries", 3, 2)
	client := fakeClient(t, srv)
	ids := func(rs []*gitlabdata.ModelRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.RecordIdentifier.String())
		}
		return out
	}
	got, _, err := client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{
		Identifiers: []gitlabdata.RecordID{gitlabdata.IntRecordID(4), gitlabdata.IntRecordID(1), gitlabdata.IntRecordID(99)},
	})
	if err != nil {
		t.Fatalf("List(identifiers 4,1,99) error = %v", err)
	}
	if diff := cmp.Diff([]string{"1", "4"}, ids(got)); diff != "" {
		t.Errorf("List(identifiers 4,1,99) mismatch (-want +got):\n%s", diff)
	}
	wantComp := []gitlabdata.RecordID{gitlabdata.CompositeRecordID("1", "1"), gitlabdata.CompositeRecordID("2", "1"), gitlabdata.CompositeRecordID("3", "1")}
	if diff := cmp.Diff(wantComp, comp); diff != "" {
		t.Errorf("AddCompositeRecords ids mismatch (-want +got):\n%s", diff)
	}
	unpadded := gitlabdata.ParseRecordID(strings.TrimRight(comp[2].String(), "="))
	got, _, err = client.DataManagement.List(t.Context(), "virtual_registries_cache_entries", &gitlabdata.ListModelRecordsOptions{
		Identifiers: []gitlabdata.RecordID{unpadded, comp[0]},
	})
	if err != nil {
		t.Fatalf("List(composite identifiers) error = %v", err)
	}
	if diff := cmp.Diff([]string{comp[0].String(), comp[2].String()}, ids(got)); diff != "" {
		t.Errorf("List(composite identifiers) mismatch (-want +got):\n%s", diff)
	}
}

func TestDataManagementGet(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	want := seedRecords(srv)
	comp := srv.AddCompositeRecords("virtual_registries_cache_entries", 2, 3)
	client := fakeClient(t, srv)
	got, _, err := client.DataManagement.Get(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(3))
	if err != nil {
		t.Fatalf("Get(3) error = %v", err)
	}
	if diff := cmp.Diff(want[2], got); diff != "" {
		t.Errorf("Get(3) mismatch (-want +got):\n%s", diff)
	}
	gotC, _, err := client.DataManagement.Get(t.Context(), "virtual_registries_cache_entries", comp[1])
	if err != nil {
		t.Fatalf("Get(%s) error = %v", comp[1], err)
	}
	stored, _ := srv.Record("virtual_registries_cache_entries", comp[1])
	wantC := &gitlabdata.ModelRecord{
		RecordIdentifier: gitlabdata.CompositeRecordID("2", "1", "2"), ModelClass: "VirtualRegistriesCacheEntry",
		CreatedAt: ptr(time.Date(2025, 1, 6, 9, 2, 0, 0, time.UTC)), FileSize: ptr(int64(2048 + 2*31)),
		ChecksumInformation: &gitlabdata.ChecksumInformation{
			Checksum:           stored.ChecksumInformation.Checksum,
			LastChecksum:       ptr(time.Date(2025, 1, 6, 10, 2, 0, 0, time.UTC)),
			ChecksumState:      "succeeded",
			ChecksumRetryCount: ptr(int64(0)),
		},
	}
	if diff := cmp.Diff(wantC, gotC); diff != "" {
		t.Errorf("Get(%s) mismatch (-want +got):\n%s", comp[1], diff)
	}
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"unknown id", "uploads/77", 404, `{"message":"404 77 Not Found"}`},
		{"id echoed as an integer", "uploads/077", 404, `{"message":"404 77 Not Found"}`},
		{"unknown composite", "virtual_registries_cache_entries/OSA5", 404, `{"message":"404 OSA5 Not Found"}`},
		{"unpadded composite", "virtual_registries_cache_entries/" + strings.TrimRight(comp[1].String(), "="), 200, ""},
		{"alphanumeric id", "uploads/rand123", 400, `{"message":"400 Bad request - invalid base64"}`},
		{"base64 without a space", "uploads/MTI=", 400, `{"message":"400 Bad request - Invalid composite key format"}`},
		{"unseeded model", "ci_secure_files/1", 404, `{"message":"404 1 Not Found"}`},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, http.MethodGet, "/admin/data_management/"+tt.path, "")
		if tt.want == "" {
			if got.status != tt.status {
				t.Errorf("%s: status = %d; want %d (%s)", tt.name, got.status, tt.status, got.body)
			}
			continue
		}
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}
}

func TestRecalculateChecksum(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	want := seedRecords(srv)
	srv.AddCompositeRecords("virtual_registries_cache_entries", 1, 2)
	client := fakeClient(t, srv)

	// Record 3 is pending: it is verified now and gets the stable checksum.
	got, _, err := client.DataManagement.RecalculateChecksum(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(3))
	if err != nil {
		t.Fatalf("RecalculateChecksum(3) error = %v", err)
	}
	w := *want[2]
	w.ChecksumInformation = &gitlabdata.ChecksumInformation{
		Checksum: got.ChecksumInformation.Checksum, LastChecksum: &testNow, ChecksumState: "succeeded", ChecksumRetryCount: ptr(int64(0)),
	}
	if diff := cmp.Diff(&w, got); diff != "" {
		t.Errorf("RecalculateChecksum(3) mismatch (-want +got):\n%s", diff)
	}
	if sum := got.ChecksumInformation.Checksum; sum == nil || len(*sum) != 64 {
		t.Errorf("checksum = %v; want 64 hex digits", sum)
	}
	again, _, err := client.DataManagement.RecalculateChecksum(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(3))
	if err != nil || *again.ChecksumInformation.Checksum != *got.ChecksumInformation.Checksum {
		t.Errorf("second RecalculateChecksum(3) = %v, %v; want the same checksum", again, err)
	}
	// A record seeded with an explicit checksum keeps it.
	got, _, err = client.DataManagement.RecalculateChecksum(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(1))
	if err != nil || *got.ChecksumInformation.Checksum != *want[0].ChecksumInformation.Checksum {
		t.Errorf("RecalculateChecksum(1) = %v, %v; want the seeded checksum", got, err)
	}

	// Record 2 was seeded with a failure: verification fails again.
	raw := adminDo(t, srv, http.MethodPut, "/admin/data_management/uploads/2/checksum", "")
	wantJSON(t, "PUT uploads/2/checksum", raw, 400, `{"message":"400 Bad request - Verifying uploads/2 failed."}`)
	rec, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(2))
	wantCI := &gitlabdata.ChecksumInformation{
		LastChecksum: &testNow, ChecksumState: "failed", ChecksumRetryCount: ptr(int64(3)),
		ChecksumRetryAt: ptr(testNow.Add(8 * time.Minute)), ChecksumFailure: gitlabdata.String("Checksum does not match"),
	}
	if diff := cmp.Diff(wantCI, rec.ChecksumInformation); diff != "" {
		t.Errorf("record 2 after a failed verification mismatch (-want +got):\n%s", diff)
	}
	// Clearing the failure lets the next verification succeed.
	if !srv.SetVerificationFailure(gitlabdata.ModelUploads, gitlabdata.IntRecordID(2), "") {
		t.Fatalf("SetVerificationFailure(uploads, 2) = false")
	}
	got, _, err = client.DataManagement.RecalculateChecksum(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(2))
	if err != nil || got.ChecksumInformation.ChecksumState != "succeeded" || got.ChecksumInformation.ChecksumFailure != nil {
		t.Errorf("RecalculateChecksum(2) after clearing = %+v, %v; want succeeded without failure", got, err)
	}

	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"unknown record", "uploads/42/checksum", 404, `{"message":"404 42 Not Found"}`},
		{"composite id", "virtual_registries_cache_entries/MSAx/checksum", 400, `{"error":"record_identifier is invalid"}`},
		{"bad model", "Uploads/1/checksum", 400, `{"error":"model_name does not have a valid value"}`},
	}
	for _, tt := range tests {
		wantJSON(t, tt.name, adminDo(t, srv, http.MethodPut, "/admin/data_management/"+tt.path, ""), tt.status, tt.want)
	}
	srv.DisableVerification(gitlabdata.ModelUploads)
	wantJSON(t, "unverifiable model", adminDo(t, srv, http.MethodPut, "/admin/data_management/uploads/1/checksum", ""),
		400, `{"message":"400 Bad request - Upload is not a verifiable model."}`)
	rec, _ = srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(1))
	if rec.ChecksumInformation != nil {
		t.Errorf("record of an unverifiable model has checksum information %+v", rec.ChecksumInformation)
	}
}

func TestRecalculateChecksumsBulk(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seedRecords(srv)
	client := fakeClient(t, srv)
	states := func() []gitlabdata.ChecksumState {
		var out []gitlabdata.ChecksumState
		for r, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, nil) {
			if err != nil {
				t.Fatalf("All error = %v", err)
			}
			out = append(out, r.ChecksumInformation.ChecksumState)
		}
		return out
	}

	raw := adminDo(t, srv, http.MethodPut, "/admin/data_management/uploads/checksum", `{"checksum_state":"succeeded","identifiers":[4,5]}`)
	wantJSON(t, "bulk PUT", raw, 200, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
	if diff := cmp.Diff([]gitlabdata.ChecksumState{"succeeded", "failed", "pending", "pending", "disabled"}, states()); diff != "" {
		t.Errorf("states after bulk (succeeded, ids 4,5) mismatch (-want +got):\n%s", diff)
	}

	// Everything not pending becomes pending; Step verifies.
	if _, _, err := client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads, gitlabdata.RecalculateChecksumsRequest{AllowAllRecords: true}); err != nil {
		t.Fatalf("RecalculateChecksums error = %v", err)
	}
	steps := [][]gitlabdata.ChecksumState{
		{"pending", "pending", "pending", "pending", "pending"},
		{"started", "started", "started", "started", "started"},
		{"succeeded", "failed", "succeeded", "succeeded", "succeeded"},
	}
	for i, want := range steps {
		if i > 0 {
			srv.Step()
		}
		if diff := cmp.Diff(want, states()); diff != "" {
			t.Errorf("states after %d steps mismatch (-want +got):\n%s", i, diff)
		}
	}
	rec, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(2))
	if ci := rec.ChecksumInformation; ci.Checksum != nil || *ci.ChecksumRetryCount != 3 || *ci.ChecksumFailure != "Checksum does not match" || !ci.ChecksumRetryAt.Equal(testNow.Add(8*time.Minute)) {
		t.Errorf("failed record = %+v; want no checksum, 3 retries, the failure text and a retry time", ci)
	}

	// Query params work too; identifiers matching nothing requeue every
	// record in the state (GitLab's quirk).
	raw = adminDo(t, srv, http.MethodPut, "/admin/data_management/uploads/checksum?checksum_state=failed&identifiers[]=999", "")
	wantJSON(t, "bulk PUT with query params", raw, 200, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
	if diff := cmp.Diff([]gitlabdata.ChecksumState{"succeeded", "pending", "succeeded", "succeeded", "succeeded"}, states()); diff != "" {
		t.Errorf("states after bulk (failed, unknown id) mismatch (-want +got):\n%s", diff)
	}

	errs := []struct{ name, path, body, want string }{
		{"pending filter", "uploads/checksum", `{"checksum_state":"pending"}`, `{"error":"checksum_state does not have a valid value"}`},
		{"scalar identifiers", "uploads/checksum", `{"identifiers":"1"}`, `{"error":"identifiers is invalid"}`},
		{"mixed identifiers", "uploads/checksum", `{"identifiers":[1,"MSAy"]}`, `{"message":"400 Bad request - invalid base64"}`},
		{"bad model", "upload/checksum", `{}`, `{"error":"model_name does not have a valid value"}`},
	}
	for _, tt := range errs {
		wantJSON(t, tt.name, adminDo(t, srv, http.MethodPut, "/admin/data_management/"+tt.path, tt.body), 400, tt.want)
	}
	srv.DisableVerification(gitlabdata.ModelUploads)
	_, _, err := client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads, gitlabdata.RecalculateChecksumsRequest{AllowAllRecords: true})
	if apiErr := asAPIError(t, "RecalculateChecksums on an unverifiable model", err); apiErr.StatusCode != 400 || apiErr.Message != "400 Bad request - Upload is not a verifiable model." {
		t.Errorf("RecalculateChecksums on an unverifiable model = %d %q; want 400 not verifiable", apiErr.StatusCode, apiErr.Message)
	}
}

func TestAddRecordRoundTrip(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	for _, want := range seedRecords(srv) {
		got, ok := srv.Record(gitlabdata.ModelUploads, want.RecordIdentifier)
		if !ok {
			t.Fatalf("Record(%s) not found", want.RecordIdentifier)
		}
		if diff := cmp.Diff(*want, got); diff != "" {
			t.Errorf("Record(%s) mismatch (-want +got):\n%s", want.RecordIdentifier, diff)
		}
	}
	// Zero ids are assigned after the largest; same ids replace.
	if id := srv.AddRecord(gitlabdata.ModelUploads, gitlabdata.ModelRecord{}); id != gitlabdata.IntRecordID(6) {
		t.Errorf("AddRecord(zero id) = %v; want 6", id)
	}
	srv.AddRecord(gitlabdata.ModelUploads, gitlabdata.ModelRecord{RecordIdentifier: gitlabdata.IntRecordID(6), FileSize: ptr(int64(9))})
	if got, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(6)); got.FileSize == nil || *got.FileSize != 9 {
		t.Errorf("Record(6) after replacing = %+v; want file size 9", got)
	}
	if id := srv.AddRecord(gitlabdata.ModelUploads, gitlabdata.ModelRecord{RecordIdentifier: gitlabdata.ParseRecordID("!!")}); id != (gitlabdata.RecordID{}) {
		t.Errorf("AddRecord(invalid composite id) = %v; want the zero RecordID", id)
	}
	if first := srv.AddRecords(gitlabdata.ModelUploads, 3, gitlabdata.ChecksumStateFailed); first != 7 {
		t.Errorf("AddRecords first id = %d; want 7", first)
	}
	failed, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(8))
	if ci := failed.ChecksumInformation; ci.ChecksumState != "failed" || ci.ChecksumFailure == nil || *ci.ChecksumRetryCount != 1 {
		t.Errorf("generated failed record = %+v; want failed with a failure text and 1 retry", ci)
	}
}

func TestTotalsAboveTenThousand(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddRecords(gitlabdata.ModelLFSObjects, 10_000, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelUploads, 10_001, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelCIJobArtifacts, 10_000, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelCIJobArtifacts, 1, gitlabdata.ChecksumStateFailed)
	srv.AddRecords(gitlabdata.ModelCIJobArtifacts, 1, gitlabdata.ChecksumStateSucceeded)
	tests := []struct {
		path, total, pages, next string
		last                     bool
	}{
		{"lfs_objects?per_page=100&page=100", "10000", "100", "", true},
		{"uploads?per_page=100&page=100", "<absent>", "<absent>", "101", false},
		{"uploads?per_page=100&page=101", "<absent>", "<absent>", "", false},
		{"ci_job_artifacts?checksum_state=succeeded", "<absent>", "<absent>", "2", false},
		{"ci_job_artifacts?checksum_state=failed", "1", "1", "", true},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, http.MethodGet, "/admin/data_management/"+tt.path, "")
		h := headerOf(got.header, "X-Total", "X-Total-Pages", "X-Next-Page")
		want := map[string]string{"X-Total": tt.total, "X-Total-Pages": tt.pages, "X-Next-Page": tt.next}
		if diff := cmp.Diff(want, h); diff != "" || got.status != 200 {
			t.Errorf("GET %s = %d, headers mismatch (-want +got):\n%s", tt.path, got.status, diff)
		}
		if hasLast := strings.Contains(got.header.Get("Link"), `rel="last"`); hasLast != tt.last {
			t.Errorf("GET %s Link = %q; rel=last present %v, want %v", tt.path, got.header.Get("Link"), hasLast, tt.last)
		}
	}
}

func TestMillionRecords(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	first := srv.AddRecords(gitlabdata.ModelCIJobArtifacts, 1_000_000, gitlabdata.ChecksumStatePending)
	client := fakeClient(t, srv)
	got, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelCIJobArtifacts, &gitlabdata.ListModelRecordsOptions{
		Pagination: gitlabdata.PaginationKeyset, Sort: gitlabdata.SortDesc, PerPage: 3,
	})
	if err != nil {
		t.Fatalf("List error = %v", err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.RecordIdentifier.String())
	}
	if diff := cmp.Diff([]string{"1000000", "999999", "999998"}, ids); first != 1 || diff != "" || resp.NextCursor == "" {
		t.Errorf("first = %d, newest records mismatch (-want +got):\n%s", first, diff)
	}
	page, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelCIJobArtifacts, &gitlabdata.ListModelRecordsOptions{Page: 5000, PerPage: 100})
	if err != nil || len(page) != 100 || page[0].RecordIdentifier != gitlabdata.IntRecordID(499_901) || resp.Total != 0 || resp.NextPage != 5001 {
		t.Errorf("List(page 5000) = %d records from %v, total %d, next %d, %v; want 100 from 499901, no total, next 5001",
			len(page), page[0].RecordIdentifier, resp.Total, resp.NextPage, err)
	}
	srv.Step()
	rec, _ := srv.Record(gitlabdata.ModelCIJobArtifacts, gitlabdata.IntRecordID(777_777))
	if rec.ChecksumInformation.ChecksumState != gitlabdata.ChecksumStateStarted {
		t.Errorf("record 777777 after a step = %q; want started", rec.ChecksumInformation.ChecksumState)
	}
}

func TestDataManagementAuth(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddUserToken("user-token", false)
	_, _, err := srv.Client().DataManagement.List(t.Context(), gitlabdata.ModelProjects, nil)
	if err != nil {
		t.Errorf("admin List error = %v", err)
	}
	c, err := gitlabdata.NewClient(srv.URL(), "user-token", gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient error = %v", err)
	}
	if _, _, err := c.DataManagement.List(t.Context(), gitlabdata.ModelProjects, nil); !errors.Is(err, gitlabdata.ErrForbidden) {
		t.Errorf("non-admin List error = %v; want ErrForbidden", err)
	}
}
