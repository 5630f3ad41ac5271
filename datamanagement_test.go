package gitlabdata

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dmRequestID is the X-Request-Id of most data-management fixtures.
const dmRequestID = "01J9Z3QK4F6M0T7Y8V2B1C5D9E"

// dmFixture is a recorded GitLab answer: testdata/<name>.json and the
// headers in testdata/<name>.headers. Header values may hold {{BASE}}, the
// test server URL, so Link headers point at the test server.
type dmFixture struct {
	body   []byte
	header http.Header
}

// dmLoad reads a fixture in the test goroutine, so handlers never call t.Fatal.
func dmLoad(t *testing.T, name string) dmFixture {
	t.Helper()
	return dmFixture{body: readFixture(t, name), header: fixtureHeader(t, name)}
}

// serve writes the fixture with status 200, leaving out the headers in drop.
func (f dmFixture) serve(w http.ResponseWriter, base string, drop ...string) {
	for k, vs := range f.header {
		for _, v := range vs {
			w.Header().Add(k, strings.ReplaceAll(v, "{{BASE}}", base))
		}
	}
	for _, k := range drop {
		w.Header().Del(k)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.body)
}

// dmServeJSON writes a JSON body (an error body, or a small inline answer)
// with GitLab's headers.
func dmServeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", dmRequestID)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// dmRefuseOthers fails the test on any API request no handler expects and
// counts such requests.
func dmRefuseOthers(t *testing.T, ts *testServer) *counter {
	t.Helper()
	var n counter
	ts.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.inc()
		t.Errorf("unexpected request %s %s", r.Method, r.URL.RequestURI())
		dmServeJSON(w, http.StatusNotFound, `{"error":"404 Not Found"}`)
	})
	return &n
}

// dmServeFixture mounts a handler on path that checks a request of method
// (token, Accept, the exact query, and the JSON body, or no body and no
// Content-Type when wantBody is "") and answers with the fixture. It returns
// the request count.
func dmServeFixture(t *testing.T, ts *testServer, method, path, fixture string, wantQuery url.Values, wantBody string) *counter {
	t.Helper()
	fx := dmLoad(t, fixture)
	base := ts.server.URL
	var calls counter
	ts.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		testMethod(t, r, method)
		testQuery(t, r, wantQuery)
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		testHeader(t, r, "Accept", "application/json")
		if wantBody == "" {
			testNoBody(t, r)
			testHeader(t, r, "Content-Type", "")
		} else {
			testJSONBody(t, r, wantBody)
		}
		fx.serve(w, base)
	})
	return &calls
}

// dmServeTwoPages mounts a GET handler on path that answers the first
// request (no page parameter) with fixture page1 and page=2 with page2,
// checking each exact query; the headers in drop are left out of both.
func dmServeTwoPages(t *testing.T, ts *testServer, path, page1, page2 string, query1, query2 url.Values, drop ...string) *counter {
	t.Helper()
	fx1, fx2 := dmLoad(t, page1), dmLoad(t, page2)
	base := ts.server.URL
	var calls counter
	ts.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		testMethod(t, r, http.MethodGet)
		testNoBody(t, r)
		switch p := r.URL.Query().Get("page"); p {
		case "":
			testQuery(t, r, query1)
			fx1.serve(w, base, drop...)
		case "2":
			testQuery(t, r, query2)
			fx2.serve(w, base, drop...)
		default:
			t.Errorf("unexpected page %q", p)
			dmServeJSON(w, http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`)
		}
	})
	return &calls
}

// dmIDs collects the record ids of an All iteration and fails on an error.
func dmIDs(t *testing.T, seq func(func(*ModelRecord, error) bool)) []RecordID {
	t.Helper()
	var ids []RecordID
	for rec, err := range seq {
		if err != nil {
			t.Fatalf("All() yielded error: %v", err)
		}
		ids = append(ids, rec.RecordIdentifier)
	}
	return ids
}

func dmIntIDs(ids ...int64) []RecordID {
	out := make([]RecordID, len(ids))
	for i, id := range ids {
		out[i] = IntRecordID(id)
	}
	return out
}

func TestDataManagementListOffsetPage(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	base := ts.server.URL
	calls := dmServeFixture(t, ts, http.MethodGet, "/admin/data_management/projects", "datamanagement_list_offset",
		url.Values{"page": {"2"}, "per_page": {"2"}}, "")

	got, resp, err := ts.client.DataManagement.List(t.Context(), ModelProjects, &ListModelRecordsOptions{Page: 2, PerPage: 2})
	if err != nil {
		t.Fatalf("List(projects, page 2) error = %v", err)
	}
	want := []*ModelRecord{
		{
			RecordIdentifier: IntRecordID(3),
			ModelClass:       "Project",
			CreatedAt:        mustTime(t, "2025-02-05T11:27:10.173Z"),
			ChecksumInformation: &ChecksumInformation{
				Checksum:           Ptr("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
				LastChecksum:       mustTime(t, "2025-07-24T14:22:18.643Z"),
				ChecksumState:      ChecksumStateSucceeded,
				ChecksumRetryCount: Ptr[int64](0),
			},
		},
		{
			RecordIdentifier: IntRecordID(4),
			ModelClass:       "Project",
			CreatedAt:        mustTime(t, "2025-02-06T08:01:44.902Z"),
			ChecksumInformation: &ChecksumInformation{
				ChecksumState:      ChecksumStateFailed,
				ChecksumRetryCount: Ptr[int64](2),
				ChecksumRetryAt:    mustTime(t, "2025-07-24T15:02:18.643Z"),
				ChecksumFailure:    Ptr("Error during verification: 14:connection refused"),
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(projects, page 2) mismatch (-want +got):\n%s", diff)
	}

	wantResp := &Response{
		StatusCode: http.StatusOK,
		RequestID:  dmRequestID,
		Page:       2,
		PerPage:    2,
		NextPage:   3,
		PrevPage:   1,
		Total:      5,
		TotalPages: 3,
		NextLink:   base + "/api/v4/admin/data_management/projects?model_name=projects&page=3&per_page=2&sort=asc",
	}
	if diff := cmp.Diff(wantResp, resp, cmpopts.IgnoreFields(Response{}, "Header")); diff != "" {
		t.Errorf("List(projects, page 2) response mismatch (-want +got):\n%s", diff)
	}
	if got := resp.Header.Get("X-Total-Pages"); got != "3" {
		t.Errorf("List(projects, page 2) Header X-Total-Pages = %q; want %q", got, "3")
	}
	if n := calls.get(); n != 1 {
		t.Errorf("List(projects, page 2) sent %d requests; want 1", n)
	}
}

func TestDataManagementListQueryEncoding(t *testing.T) {
	t.Parallel()
	cursor := "eyJpZCI6IjIiLCJfa2QiOiJuIn0="
	type queryCase struct {
		name      string
		opts      *ListModelRecordsOptions
		wantQuery url.Values
		wantRaw   string // bracket and base64 escaping are under test
	}
	tests := []queryCase{
		{name: "nil options", opts: nil, wantQuery: url.Values{}, wantRaw: ""},
		{name: "zero options", opts: &ListModelRecordsOptions{}, wantQuery: url.Values{}, wantRaw: ""},
		{
			name: "every field with integer ids",
			opts: &ListModelRecordsOptions{
				ChecksumState: ChecksumStateFailed,
				Identifiers:   dmIntIDs(1, 2, 30),
				Pagination:    PaginationKeyset,
				Sort:          SortDesc,
				PerPage:       50,
				Page:          3,
				Cursor:        cursor,
			},
			wantQuery: url.Values{
				"checksum_state": {"failed"},
				"identifiers[]":  {"1", "2", "30"},
				"pagination":     {"keyset"},
				"sort":           {"desc"},
				"per_page":       {"50"},
				"page":           {"3"},
				"cursor":         {cursor},
			},
			wantRaw: "checksum_state=failed&cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D" +
				"&identifiers%5B%5D=1&identifiers%5B%5D=2&identifiers%5B%5D=30" +
				"&page=3&pagination=keyset&per_page=50&sort=desc",
		},
		{
			name: "composite ids",
			opts: &ListModelRecordsOptions{
				Identifiers: []RecordID{CompositeRecordID("1", "2"), CompositeRecordID("12", "34"), ParseRecordID("MSA/YWJ+Yw==")},
				Pagination:  PaginationOffset,
				Sort:        SortAsc,
			},
			wantQuery: url.Values{
				"identifiers[]": {"MSAy", "MTIgMzQ=", "MSA/YWJ+Yw=="},
				"pagination":    {"offset"},
				"sort":          {"asc"},
			},
			wantRaw: "identifiers%5B%5D=MSAy&identifiers%5B%5D=MTIgMzQ%3D&identifiers%5B%5D=MSA%2FYWJ%2BYw%3D%3D" +
				"&pagination=offset&sort=asc",
		},
		{
			name:      "one identifier",
			opts:      &ListModelRecordsOptions{Identifiers: dmIntIDs(9007199254740993)},
			wantQuery: url.Values{"identifiers[]": {"9007199254740993"}},
			wantRaw:   "identifiers%5B%5D=9007199254740993",
		},
	}
	for _, state := range []ChecksumState{ChecksumStatePending, ChecksumStateStarted, ChecksumStateSucceeded, ChecksumStateFailed, ChecksumStateDisabled} {
		tests = append(tests, queryCase{
			name:      "checksum state " + string(state),
			opts:      &ListModelRecordsOptions{ChecksumState: state},
			wantQuery: url.Values{"checksum_state": {string(state)}},
			wantRaw:   "checksum_state=" + string(state),
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			dmRefuseOthers(t, ts)
			var calls counter
			ts.mux.HandleFunc("/admin/data_management/lfs_objects", func(w http.ResponseWriter, r *http.Request) {
				calls.inc()
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, tc.wantQuery)
				if r.URL.RawQuery != tc.wantRaw {
					t.Errorf("raw query = %q; want %q", r.URL.RawQuery, tc.wantRaw)
				}
				testNoBody(t, r)
				dmServeJSON(w, http.StatusOK, "[]")
			})
			got, _, err := ts.client.DataManagement.List(t.Context(), ModelLFSObjects, tc.opts)
			if err != nil {
				t.Fatalf("List(lfs_objects, %+v) error = %v", tc.opts, err)
			}
			if diff := cmp.Diff([]*ModelRecord{}, got); diff != "" {
				t.Errorf("List(lfs_objects, %+v) mismatch (-want +got):\n%s", tc.opts, diff)
			}
			if n := calls.get(); n != 1 {
				t.Errorf("List sent %d requests; want 1", n)
			}
		})
	}
}

func TestDataManagementListLegacyIntegerStates(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	calls := dmServeFixture(t, ts, http.MethodGet, "/admin/data_management/lfs_object", "datamanagement_list_legacy", url.Values{}, "")

	got, resp, err := ts.client.DataManagement.List(t.Context(), ModelName("lfs_object"), nil)
	if err != nil {
		t.Fatalf("List(lfs_object) error = %v", err)
	}
	want := []*ModelRecord{
		{
			RecordIdentifier: IntRecordID(11),
			ModelClass:       "LfsObject",
			CreatedAt:        mustTime(t, "2024-11-02T09:14:03.511Z"),
			FileSize:         Ptr[int64](1048576),
			ChecksumInformation: &ChecksumInformation{
				ChecksumState: ChecksumStatePending,
			},
		},
		{
			RecordIdentifier: IntRecordID(12),
			ModelClass:       "LfsObject",
			CreatedAt:        mustTime(t, "2024-11-02T09:15:40.027Z"),
			FileSize:         Ptr[int64](524288),
			ChecksumInformation: &ChecksumInformation{
				ChecksumState:      ChecksumStateStarted,
				ChecksumRetryCount: Ptr[int64](0),
			},
		},
		{
			RecordIdentifier: IntRecordID(13),
			ModelClass:       "LfsObject",
			CreatedAt:        mustTime(t, "2024-11-03T17:42:12.900Z"),
			FileSize:         Ptr[int64](7340032),
			ChecksumInformation: &ChecksumInformation{
				Checksum:           Ptr("3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"),
				LastChecksum:       mustTime(t, "2025-07-20T03:11:59.120Z"),
				ChecksumState:      ChecksumStateSucceeded,
				ChecksumRetryCount: Ptr[int64](0),
			},
		},
		{
			RecordIdentifier: IntRecordID(14),
			ModelClass:       "LfsObject",
			CreatedAt:        mustTime(t, "2024-11-04T10:00:00.000Z"),
			FileSize:         Ptr[int64](0),
			ChecksumInformation: &ChecksumInformation{
				LastChecksum:       mustTime(t, "2025-07-20T03:12:30.004Z"),
				ChecksumState:      ChecksumStateFailed,
				ChecksumRetryCount: Ptr[int64](1),
				ChecksumRetryAt:    mustTime(t, "2025-07-20T03:17:30.004Z"),
				ChecksumFailure:    Ptr("Verification timed out after 28800"),
			},
		},
		{
			RecordIdentifier: IntRecordID(15),
			ModelClass:       "LfsObject",
			CreatedAt:        mustTime(t, "2024-11-05T21:30:45.615Z"),
			FileSize:         Ptr[int64](2048),
			ChecksumInformation: &ChecksumInformation{
				ChecksumState: ChecksumStateDisabled,
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(lfs_object) mismatch (-want +got):\n%s", diff)
	}
	// E2 servers page without counts: no X-Total, no rel="last", empty X-Next-Page.
	wantResp := &Response{StatusCode: http.StatusOK, RequestID: dmRequestID, Page: 1, PerPage: 20}
	if diff := cmp.Diff(wantResp, resp, cmpopts.IgnoreFields(Response{}, "Header")); diff != "" {
		t.Errorf("List(lfs_object) response mismatch (-want +got):\n%s", diff)
	}
	if n := calls.get(); n != 1 {
		t.Errorf("List(lfs_object) sent %d requests; want 1", n)
	}
}

func TestDataManagementListChecksumInformation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		model   ModelName
		opts    *ListModelRecordsOptions
		query   url.Values
		want    []*ModelRecord
	}{
		{
			name:    "absent when Geo is off",
			fixture: "datamanagement_list_geo_off",
			model:   ModelUploads,
			query:   url.Values{},
			want: []*ModelRecord{
				{RecordIdentifier: IntRecordID(7001), ModelClass: "Upload", CreatedAt: mustTime(t, "2025-03-11T12:05:33.480Z"), FileSize: Ptr[int64](48213)},
				{RecordIdentifier: IntRecordID(7002), ModelClass: "Upload", CreatedAt: mustTime(t, "2025-03-12T07:45:09.215Z"), FileSize: Ptr[int64](1024)},
			},
		},
		{
			name:    "present with nulls",
			fixture: "datamanagement_list_pending",
			model:   ModelCIJobArtifacts,
			opts:    &ListModelRecordsOptions{ChecksumState: ChecksumStatePending},
			query:   url.Values{"checksum_state": {"pending"}},
			want: []*ModelRecord{{
				RecordIdentifier:    IntRecordID(5150),
				ModelClass:          "Ci::JobArtifact",
				CreatedAt:           mustTime(t, "2025-07-30T16:20:01.337Z"),
				FileSize:            Ptr[int64](3312),
				ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStatePending},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			dmRefuseOthers(t, ts)
			dmServeFixture(t, ts, http.MethodGet, "/admin/data_management/"+string(tc.model), tc.fixture, tc.query, "")
			got, _, err := ts.client.DataManagement.List(t.Context(), tc.model, tc.opts)
			if err != nil {
				t.Fatalf("List(%s) error = %v", tc.model, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List(%s) mismatch (-want +got):\n%s", tc.model, diff)
			}
			for i, rec := range got {
				if (rec.ChecksumInformation == nil) != (tc.want[i].ChecksumInformation == nil) {
					t.Errorf("List(%s)[%d].ChecksumInformation = %v; want nil: %t", tc.model, i, rec.ChecksumInformation, tc.want[i].ChecksumInformation == nil)
				}
			}
		})
	}
}

func TestDataManagementListCompositeKeys(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	fx := dmLoad(t, "datamanagement_list_composite")
	base := ts.server.URL
	model := ModelName("virtual_registries_packages_maven_cache_remote_entries")
	ts.mux.HandleFunc("/admin/data_management/"+string(model), func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, url.Values{"identifiers[]": {"MSAy", "MTIgMzQ="}})
		if want := "identifiers%5B%5D=MSAy&identifiers%5B%5D=MTIgMzQ%3D"; r.URL.RawQuery != want {
			t.Errorf("raw query = %q; want %q", r.URL.RawQuery, want)
		}
		fx.serve(w, base)
	})

	opts := &ListModelRecordsOptions{Identifiers: []RecordID{CompositeRecordID("1", "2"), CompositeRecordID("12", "34")}}
	got, _, err := ts.client.DataManagement.List(t.Context(), model, opts)
	if err != nil {
		t.Fatalf("List(%s) error = %v", model, err)
	}
	const class = "VirtualRegistries::Packages::Maven::Cache::Remote::Entry"
	want := []*ModelRecord{
		{RecordIdentifier: CompositeRecordID("1", "2"), ModelClass: class, CreatedAt: mustTime(t, "2025-06-01T10:00:00.000Z"), FileSize: Ptr[int64](15360)},
		{RecordIdentifier: CompositeRecordID("12", "34"), ModelClass: class, CreatedAt: mustTime(t, "2025-06-02T11:30:27.842Z"), FileSize: Ptr[int64](884736)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(%s) mismatch (-want +got):\n%s", model, diff)
	}
	wantParts := [][]string{{"1", "2"}, {"12", "34"}}
	for i, rec := range got {
		if !rec.RecordIdentifier.IsComposite() {
			t.Errorf("record %d: IsComposite() = false; want true", i)
		}
		parts, err := rec.RecordIdentifier.Parts()
		if err != nil {
			t.Fatalf("record %d: Parts() error = %v", i, err)
		}
		if diff := cmp.Diff(wantParts[i], parts); diff != "" {
			t.Errorf("record %d: Parts() mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func TestDataManagementAllKeyset(t *testing.T) {
	t.Parallel()
	const cursor = "eyJpZCI6IjIiLCJfa2QiOiJuIn0="
	// keysetServer serves snippet_repositories in two keyset pages chosen by
	// the cursor parameter.
	keysetServer := func(t *testing.T, firstQuery url.Values) (*testServer, *counter) {
		ts := setup(t)
		dmRefuseOthers(t, ts)
		page1 := dmLoad(t, "datamanagement_keyset_page1")
		page2 := dmLoad(t, "datamanagement_keyset_page2")
		base := ts.server.URL
		var calls counter
		ts.mux.HandleFunc("/admin/data_management/snippet_repositories", func(w http.ResponseWriter, r *http.Request) {
			calls.inc()
			testMethod(t, r, http.MethodGet)
			testNoBody(t, r)
			switch c := r.URL.Query().Get("cursor"); c {
			case "":
				testQuery(t, r, firstQuery)
				page1.serve(w, base)
			case cursor:
				// The next link is followed as GitLab wrote it.
				testQuery(t, r, url.Values{
					"cursor":     {cursor},
					"model_name": {"snippet_repositories"},
					"order_by":   {"id"},
					"page":       {"1"},
					"pagination": {"keyset"},
					"per_page":   {"2"},
					"sort":       {"asc"},
				})
				if want := "cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D&model_name=snippet_repositories&order_by=id&page=1&pagination=keyset&per_page=2&sort=asc"; r.URL.RawQuery != want {
					t.Errorf("raw query = %q; want %q", r.URL.RawQuery, want)
				}
				page2.serve(w, base)
			default:
				t.Errorf("unexpected cursor %q", c)
				dmServeJSON(w, http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`)
			}
		})
		return ts, &calls
	}

	t.Run("follows next link until it is absent", func(t *testing.T) {
		t.Parallel()
		ts, calls := keysetServer(t, url.Values{"pagination": {"keyset"}, "per_page": {"2"}})
		got := dmIDs(t, ts.client.DataManagement.All(t.Context(), ModelSnippetRepositories, &ListModelRecordsOptions{PerPage: 2}))
		if diff := cmp.Diff(dmIntIDs(1, 2, 3), got); diff != "" {
			t.Errorf("All(snippet_repositories) ids mismatch (-want +got):\n%s", diff)
		}
		if n := calls.get(); n != 2 {
			t.Errorf("All(snippet_repositories) sent %d requests; want 2", n)
		}
	})

	// One-page walks that check what the first request asks for.
	onePage := []struct {
		name, label string // label names the options in messages
		opts        *ListModelRecordsOptions
		query       url.Values
	}{
		{"nil options ask for keyset", "nil", nil, url.Values{"pagination": {"keyset"}}},
		{
			"caller's cursor and sort are sent", "cursor",
			&ListModelRecordsOptions{Pagination: PaginationKeyset, PerPage: 2, Sort: SortAsc, Cursor: cursor},
			url.Values{"cursor": {cursor}, "pagination": {"keyset"}, "per_page": {"2"}, "sort": {"asc"}},
		},
	}
	for _, tc := range onePage {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			dmRefuseOthers(t, ts)
			calls := dmServeFixture(t, ts, http.MethodGet, "/admin/data_management/snippet_repositories", "datamanagement_keyset_page2", tc.query, "")
			got := dmIDs(t, ts.client.DataManagement.All(t.Context(), ModelSnippetRepositories, tc.opts))
			if diff := cmp.Diff(dmIntIDs(3), got); diff != "" {
				t.Errorf("All(snippet_repositories, %s) ids mismatch (-want +got):\n%s", tc.label, diff)
			}
			if n := calls.get(); n != 1 {
				t.Errorf("All(snippet_repositories, %s) sent %d requests; want 1", tc.label, n)
			}
		})
	}

	t.Run("break sends no further request", func(t *testing.T) {
		t.Parallel()
		ts, calls := keysetServer(t, url.Values{"pagination": {"keyset"}, "per_page": {"2"}})
		var got []RecordID
		for rec, err := range ts.client.DataManagement.All(t.Context(), ModelSnippetRepositories, &ListModelRecordsOptions{PerPage: 2}) {
			if err != nil {
				t.Fatalf("All(snippet_repositories) error = %v", err)
			}
			got = append(got, rec.RecordIdentifier)
			break
		}
		if diff := cmp.Diff(dmIntIDs(1), got); diff != "" {
			t.Errorf("All(snippet_repositories) ids mismatch (-want +got):\n%s", diff)
		}
		if n := calls.get(); n != 1 {
			t.Errorf("All(snippet_repositories) sent %d requests after break; want 1", n)
		}
	})
}

// An E2 server (GitLab 18.3 to 18.7) ignores pagination=keyset and pages by
// offset; All must still walk every page.
func TestDataManagementAllOldServerOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		drop       []string   // headers removed from the answers
		page2Query url.Values // what the client must send for page 2
	}{
		{
			name: "next link",
			page2Query: url.Values{
				"model_name": {"lfs_object"},
				"page":       {"2"},
				"pagination": {"keyset"},
				"per_page":   {"2"},
			},
		},
		{
			name:       "X-Next-Page only",
			drop:       []string{"Link"},
			page2Query: url.Values{"page": {"2"}, "pagination": {"keyset"}, "per_page": {"2"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			dmRefuseOthers(t, ts)
			calls := dmServeTwoPages(t, ts, "/admin/data_management/lfs_object", "datamanagement_legacy_page1", "datamanagement_legacy_page2",
				url.Values{"pagination": {"keyset"}, "per_page": {"2"}}, tc.page2Query, tc.drop...)
			got := dmIDs(t, ts.client.DataManagement.All(t.Context(), ModelName("lfs_object"), &ListModelRecordsOptions{PerPage: 2}))
			if diff := cmp.Diff(dmIntIDs(21, 22, 23), got); diff != "" {
				t.Errorf("All(lfs_object) ids mismatch (-want +got):\n%s", diff)
			}
			if n := calls.get(); n != 2 {
				t.Errorf("All(lfs_object) sent %d requests; want 2", n)
			}
		})
	}
}

func TestDataManagementAllOffsetRespected(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	calls := dmServeTwoPages(t, ts, "/admin/data_management/uploads", "datamanagement_offset_page1", "datamanagement_offset_page2",
		url.Values{"pagination": {"offset"}, "per_page": {"2"}},
		url.Values{"model_name": {"uploads"}, "page": {"2"}, "pagination": {"offset"}, "per_page": {"2"}, "sort": {"asc"}})
	opts := &ListModelRecordsOptions{Pagination: PaginationOffset, PerPage: 2}
	got := dmIDs(t, ts.client.DataManagement.All(t.Context(), ModelUploads, opts))
	if diff := cmp.Diff(dmIntIDs(101, 102, 103), got); diff != "" {
		t.Errorf("All(uploads, offset) ids mismatch (-want +got):\n%s", diff)
	}
	if n := calls.get(); n != 2 {
		t.Errorf("All(uploads, offset) sent %d requests; want 2", n)
	}
	if opts.Pagination != PaginationOffset {
		t.Errorf("All changed opts.Pagination to %q", opts.Pagination)
	}
}

func TestDataManagementAllDoesNotMutateOptions(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	var calls counter
	ts.mux.HandleFunc("/admin/data_management/projects", func(w http.ResponseWriter, r *http.Request) {
		calls.inc()
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, url.Values{"identifiers[]": {"5", "9"}, "pagination": {"keyset"}, "per_page": {"2"}})
		dmServeJSON(w, http.StatusOK, "[]")
	})

	// Spare capacity would reveal an append into the caller's array.
	backing := []RecordID{IntRecordID(5), IntRecordID(9), IntRecordID(77)}
	opts := &ListModelRecordsOptions{Identifiers: backing[:2], PerPage: 2}
	before := ListModelRecordsOptions{Identifiers: dmIntIDs(5, 9), PerPage: 2}

	seq := ts.client.DataManagement.All(t.Context(), ModelProjects, opts)
	for range 2 { // each range starts again from opts
		if got := dmIDs(t, seq); len(got) != 0 {
			t.Errorf("All(projects) yielded %v; want nothing", got)
		}
	}
	if diff := cmp.Diff(before, *opts); diff != "" {
		t.Errorf("All(projects) changed the caller's options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(dmIntIDs(5, 9, 77), backing); diff != "" {
		t.Errorf("All(projects) wrote into the caller's identifiers array (-want +got):\n%s", diff)
	}
	if n := calls.get(); n != 2 {
		t.Errorf("ranging All(projects) twice sent %d requests; want 2", n)
	}
}

func TestDataManagementGet(t *testing.T) {
	t.Parallel()
	const entryClass = "VirtualRegistries::Packages::Maven::Cache::Remote::Entry"
	composite := &ModelRecord{
		RecordIdentifier: CompositeRecordID("1", "?ab~c"),
		ModelClass:       entryClass,
		CreatedAt:        mustTime(t, "2025-06-03T14:45:00.250Z"),
		FileSize:         Ptr[int64](2097152),
	}
	tests := []struct {
		name        string
		model       ModelName
		id          RecordID
		wantText    string // id.String()
		wantEscaped string // the request path as sent
		fixture     string
		want        *ModelRecord
	}{
		{
			name:        "integer",
			model:       ModelProjects,
			id:          IntRecordID(1),
			wantText:    "1",
			wantEscaped: "/admin/data_management/projects/1",
			fixture:     "datamanagement_get_project",
			want: &ModelRecord{
				RecordIdentifier: IntRecordID(1),
				ModelClass:       "Project",
				CreatedAt:        mustTime(t, "2025-02-05T11:27:10.173Z"),
				ChecksumInformation: &ChecksumInformation{
					Checksum:           Ptr("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
					LastChecksum:       mustTime(t, "2025-07-24T14:22:18.643Z"),
					ChecksumState:      ChecksumStateSucceeded,
					ChecksumRetryCount: Ptr[int64](0),
				},
			},
		},
		{
			name:        "url-safe composite with - _ =",
			model:       ModelName("virtual_registries_packages_maven_cache_remote_entries"),
			id:          CompositeRecordID("1", "?ab~c"),
			wantText:    "MSA_YWJ-Yw==",
			wantEscaped: "/admin/data_management/virtual_registries_packages_maven_cache_remote_entries/MSA_YWJ-Yw==",
			fixture:     "datamanagement_get_composite",
			want:        composite,
		},
		{
			// GitLab decodes the standard alphabet too and answers with
			// the URL-safe form.
			name:        "standard base64 with / and +",
			model:       ModelName("virtual_registries_packages_maven_cache_remote_entries"),
			id:          ParseRecordID("MSA/YWJ+Yw=="),
			wantText:    "MSA/YWJ+Yw==",
			wantEscaped: "/admin/data_management/virtual_registries_packages_maven_cache_remote_entries/MSA%2FYWJ+Yw==",
			fixture:     "datamanagement_get_composite",
			want:        composite,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.id.String(); got != tc.wantText {
				t.Fatalf("%#v.String() = %q; want %q", tc.id, got, tc.wantText)
			}
			ts := setup(t)
			dmRefuseOthers(t, ts)
			fx := dmLoad(t, tc.fixture)
			base := ts.server.URL
			var calls counter
			ts.mux.HandleFunc("GET /admin/data_management/{model}/{id}", func(w http.ResponseWriter, r *http.Request) {
				calls.inc()
				testMethod(t, r, http.MethodGet)
				if got := r.URL.EscapedPath(); got != tc.wantEscaped {
					t.Errorf("escaped path = %q; want %q", got, tc.wantEscaped)
				}
				if got := r.PathValue("model"); got != string(tc.model) {
					t.Errorf("model segment = %q; want %q", got, tc.model)
				}
				if got := r.PathValue("id"); got != tc.wantText {
					t.Errorf("id segment = %q; want %q", got, tc.wantText)
				}
				testQuery(t, r, url.Values{})
				testNoBody(t, r)
				fx.serve(w, base)
			})
			got, resp, err := ts.client.DataManagement.Get(t.Context(), tc.model, tc.id)
			if err != nil {
				t.Fatalf("Get(%s, %s) error = %v", tc.model, tc.id, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Get(%s, %s) mismatch (-want +got):\n%s", tc.model, tc.id, diff)
			}
			if resp.StatusCode != http.StatusOK || resp.RequestID != dmRequestID {
				t.Errorf("Get(%s, %s) response status %d, request id %q; want 200, %q", tc.model, tc.id, resp.StatusCode, resp.RequestID, dmRequestID)
			}
			if n := calls.get(); n != 1 {
				t.Errorf("Get sent %d requests; want 1", n)
			}
		})
	}
}

func TestDataManagementGetNotFound(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	ts.mux.HandleFunc("/admin/data_management/projects/123", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		dmServeJSON(w, http.StatusNotFound, `{"message":"404 123 Not Found"}`)
	})

	rec, resp, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(123))
	if rec != nil {
		t.Errorf("Get(projects, 123) record = %+v; want nil", rec)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(projects, 123) error = %v; want ErrNotFound", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Get(projects, 123) error %T is not *APIError", err)
	}
	want := &APIError{
		StatusCode: http.StatusNotFound,
		Method:     http.MethodGet,
		Path:       "/api/v4/admin/data_management/projects/123",
		Message:    "404 123 Not Found",
		RequestID:  dmRequestID,
		Body:       []byte(`{"message":"404 123 Not Found"}`),
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("Get(projects, 123) error mismatch (-want +got):\n%s", diff)
	}
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("Get(projects, 123) response = %+v; want status 404", resp)
	}
}

func TestDataManagementRecalculateChecksum(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	calls := dmServeFixture(t, ts, http.MethodPut, "/admin/data_management/uploads/1/checksum", "datamanagement_checksum_upload", url.Values{}, "")

	got, resp, err := ts.client.DataManagement.RecalculateChecksum(t.Context(), ModelUploads, IntRecordID(1))
	if err != nil {
		t.Fatalf("RecalculateChecksum(uploads, 1) error = %v", err)
	}
	want := &ModelRecord{
		RecordIdentifier: IntRecordID(1),
		ModelClass:       "Upload",
		CreatedAt:        mustTime(t, "2025-01-15T13:37:00.042Z"),
		FileSize:         Ptr[int64](1337),
		ChecksumInformation: &ChecksumInformation{
			Checksum:           Ptr("18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"),
			LastChecksum:       mustTime(t, "2025-08-01T09:30:00.512Z"),
			ChecksumState:      ChecksumStateSucceeded,
			ChecksumRetryCount: Ptr[int64](0),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RecalculateChecksum(uploads, 1) mismatch (-want +got):\n%s", diff)
	}
	if resp.RequestID != dmRequestID {
		t.Errorf("RecalculateChecksum(uploads, 1) RequestID = %q; want %q", resp.RequestID, dmRequestID)
	}
	if n := calls.get(); n != 1 {
		t.Errorf("RecalculateChecksum sent %d requests; want 1 (PUT is not retried)", n)
	}
}

func TestDataManagementRecalculateChecksumVerificationFailed(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	const body = `{"message":"400 Bad request - Verifying uploads/1 failed."}`
	ts.mux.HandleFunc("/admin/data_management/uploads/1/checksum", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPut)
		testNoBody(t, r)
		dmServeJSON(w, http.StatusBadRequest, body)
	})

	rec, _, err := ts.client.DataManagement.RecalculateChecksum(t.Context(), ModelUploads, IntRecordID(1))
	if rec != nil {
		t.Errorf("RecalculateChecksum(uploads, 1) record = %+v; want nil", rec)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("RecalculateChecksum(uploads, 1) error = %v; want *APIError", err)
	}
	want := &APIError{
		StatusCode: http.StatusBadRequest,
		Method:     http.MethodPut,
		Path:       "/api/v4/admin/data_management/uploads/1/checksum",
		Message:    "400 Bad request - Verifying uploads/1 failed.",
		RequestID:  dmRequestID,
		Body:       []byte(body),
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("RecalculateChecksum(uploads, 1) error mismatch (-want +got):\n%s", diff)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument) {
		t.Errorf("RecalculateChecksum(uploads, 1) error %v matches a sentinel; want none", err)
	}
}

func TestDataManagementRecalculateChecksums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     RecalculateChecksumsRequest
		wantBody string
	}{
		{name: "empty options", opts: RecalculateChecksumsRequest{}, wantBody: `{}`},
		{
			name:     "state and integer ids",
			opts:     RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateFailed, Identifiers: dmIntIDs(1, 2)},
			wantBody: `{"checksum_state":"failed","identifiers":[1,2]}`,
		},
		{
			name:     "composite ids",
			opts:     RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: []RecordID{CompositeRecordID("1", "2"), CompositeRecordID("12", "34")}},
			wantBody: `{"identifiers":["MSAy","MTIgMzQ="]}`,
		},
		{name: "started", opts: RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateStarted}, wantBody: `{"checksum_state":"started"}`},
		{name: "succeeded", opts: RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateSucceeded}, wantBody: `{"checksum_state":"succeeded"}`},
		{name: "disabled", opts: RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateDisabled}, wantBody: `{"checksum_state":"disabled"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			dmRefuseOthers(t, ts)
			calls := dmServeFixture(t, ts, http.MethodPut, "/admin/data_management/uploads/checksum", "datamanagement_bulk_success", url.Values{}, tc.wantBody)
			_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), ModelUploads, tc.opts)
			if err != nil {
				t.Fatalf("RecalculateChecksums(uploads, %+v) error = %v", tc.opts, err)
			}
			if resp.StatusCode != http.StatusOK || resp.RequestID != dmRequestID {
				t.Errorf("RecalculateChecksums(uploads, %+v) response status %d, request id %q; want 200, %q", tc.opts, resp.StatusCode, resp.RequestID, dmRequestID)
			}
			if n := calls.get(); n != 1 {
				t.Errorf("RecalculateChecksums sent %d requests; want 1", n)
			}
		})
	}
}

func TestDataManagementRecalculateChecksumsStatusError(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	dmRefuseOthers(t, ts)
	calls := dmServeFixture(t, ts, http.MethodPut, "/admin/data_management/uploads/checksum", "datamanagement_bulk_error", url.Values{}, `{"identifiers":[3]}`)

	_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: dmIntIDs(3)})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("RecalculateChecksums(uploads) error = %v; want *APIError", err)
	}
	want := &APIError{
		StatusCode: http.StatusOK,
		Method:     http.MethodPut,
		Path:       "/api/v4/admin/data_management/uploads/checksum",
		Message:    "No table found from X",
		RequestID:  dmRequestID,
		Body:       []byte(`{"status":"error","message":"No table found from X"}`),
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("RecalculateChecksums(uploads) error mismatch (-want +got):\n%s", diff)
	}
	wantMsg := "gitlabdata: PUT /api/v4/admin/data_management/uploads/checksum: GitLab reported a failure: No table found from X (request id " + dmRequestID + ")"
	if got := err.Error(); got != wantMsg {
		t.Errorf("RecalculateChecksums(uploads) error text = %q; want %q", got, wantMsg)
	}
	for _, sentinel := range []error{ErrInvalidArgument, ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited} {
		if errors.Is(err, sentinel) {
			t.Errorf("RecalculateChecksums(uploads) error matches %v; want no sentinel", sentinel)
		}
	}
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Errorf("RecalculateChecksums(uploads) response = %+v; want status 200", resp)
	}
	if n := calls.get(); n != 1 {
		t.Errorf("RecalculateChecksums(uploads) sent %d requests; want 1", n)
	}
}

func TestDataManagementValidation(t *testing.T) {
	t.Parallel()
	badModels := []struct {
		name  string
		model ModelName
	}{
		{"empty model", ""},
		{"uppercase model", "LFS_OBJECTS"},
		{"mixed-case model", "Projects"},
		{"model with slash", "lfs/objects"},
		{"model dot-dot", ".."},
		{"model dot", "."},
		{"model with space", "lfs objects"},
		{"model with hyphen", "lfs-objects"},
		{"model with escape", "lfs%5Fobjects"},
		{"model too long", ModelName(strings.Repeat("a", 256))},
	}
	type listCase struct {
		name  string
		model ModelName
		opts  *ListModelRecordsOptions
	}
	listCases := []listCase{
		{"mixed integer and composite identifiers", ModelProjects, &ListModelRecordsOptions{Identifiers: []RecordID{IntRecordID(1), CompositeRecordID("1", "2")}}},
		{"zero RecordID identifier", ModelProjects, &ListModelRecordsOptions{Identifiers: []RecordID{{}}}},
		{"IntRecordID(0) identifier", ModelProjects, &ListModelRecordsOptions{Identifiers: dmIntIDs(1, 0)}},
		{"negative identifier", ModelProjects, &ListModelRecordsOptions{Identifiers: dmIntIDs(-1)}},
		{"unknown checksum state", ModelProjects, &ListModelRecordsOptions{ChecksumState: "verified"}},
		{"checksum state with prefix", ModelProjects, &ListModelRecordsOptions{ChecksumState: "verification_failed"}},
		{"capitalised checksum state", ModelProjects, &ListModelRecordsOptions{ChecksumState: "Succeeded"}},
		{"integer-text checksum state", ModelProjects, &ListModelRecordsOptions{ChecksumState: "2"}},
		{"bad sort", ModelProjects, &ListModelRecordsOptions{Sort: "ascending"}},
		{"upper-case sort", ModelProjects, &ListModelRecordsOptions{Sort: "DESC"}},
		{"bad pagination", ModelProjects, &ListModelRecordsOptions{Pagination: "cursor"}},
		{"upper-case pagination", ModelProjects, &ListModelRecordsOptions{Pagination: "Keyset"}},
		{"negative page", ModelProjects, &ListModelRecordsOptions{Page: -1}},
		{"negative per_page", ModelProjects, &ListModelRecordsOptions{PerPage: -1}},
	}
	for _, m := range badModels {
		listCases = append(listCases, listCase{m.name, m.model, nil})
	}
	type recordCase struct {
		name  string
		model ModelName
		id    RecordID
	}
	recordCases := []recordCase{
		{"zero RecordID", ModelProjects, RecordID{}},
		{"IntRecordID(0)", ModelProjects, IntRecordID(0)},
		{"IntRecordID(-1)", ModelProjects, IntRecordID(-1)},
		{"ParseRecordID of empty text", ModelProjects, ParseRecordID("")},
	}
	for _, m := range badModels {
		recordCases = append(recordCases, recordCase{m.name, m.model, IntRecordID(1)})
	}
	type bulkCase struct {
		name  string
		model ModelName
		opts  RecalculateChecksumsRequest
	}
	bulkCases := []bulkCase{
		{"pending state", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStatePending}},
		{"unknown state", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: "verified"}},
		{"mixed identifiers", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: []RecordID{CompositeRecordID("1", "2"), IntRecordID(3)}}},
		{"zero identifier", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: []RecordID{{}}}},
		{"negative identifier", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: dmIntIDs(2, -7)}},
	}
	for _, m := range badModels {
		bulkCases = append(bulkCases, bulkCase{m.name, m.model, RecalculateChecksumsRequest{}})
	}

	// check asserts a refusal before any request.
	check := func(t *testing.T, call string, err error, requests *counter) {
		t.Helper()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s error = %v; want ErrInvalidArgument", call, err)
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			t.Errorf("%s error is an *APIError; want a local refusal", call)
		}
		if n := requests.get(); n != 0 {
			t.Errorf("%s sent %d requests; want 0", call, n)
		}
	}

	for _, tc := range listCases {
		t.Run("List/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			requests := dmRefuseOthers(t, ts)
			recs, resp, err := ts.client.DataManagement.List(t.Context(), tc.model, tc.opts)
			if recs != nil || resp != nil {
				t.Errorf("List(%q, %+v) = %v, %v; want nil, nil", tc.model, tc.opts, recs, resp)
			}
			check(t, "List", err, requests)
		})
		t.Run("All/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			requests := dmRefuseOthers(t, ts)
			seq := ts.client.DataManagement.All(t.Context(), tc.model, tc.opts)
			if n := requests.get(); n != 0 {
				t.Errorf("All(%q) sent %d requests before ranging; want 0", tc.model, n)
			}
			var yields int
			var firstErr error
			for rec, err := range seq {
				yields++
				if rec != nil {
					t.Errorf("All(%q) yielded record %+v; want none", tc.model, rec)
				}
				if yields == 1 {
					firstErr = err
				}
			}
			if yields != 1 {
				t.Errorf("All(%q, %+v) yielded %d times; want exactly 1", tc.model, tc.opts, yields)
			}
			check(t, "All", firstErr, requests)
		})
	}
	// Get and RecalculateChecksum take and return the same things.
	recordMethods := []struct {
		name string
		call func(*DataManagementService, context.Context, ModelName, RecordID) (*ModelRecord, *Response, error)
	}{
		{"Get", (*DataManagementService).Get},
		{"RecalculateChecksum", (*DataManagementService).RecalculateChecksum},
	}
	for _, tc := range recordCases {
		for _, m := range recordMethods {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				requests := dmRefuseOthers(t, ts)
				rec, resp, err := m.call(ts.client.DataManagement, t.Context(), tc.model, tc.id)
				if rec != nil || resp != nil {
					t.Errorf("%s(%q, %#v) = %v, %v; want nil, nil", m.name, tc.model, tc.id, rec, resp)
				}
				check(t, m.name, err, requests)
			})
		}
	}
	for _, tc := range bulkCases {
		t.Run("RecalculateChecksums/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			requests := dmRefuseOthers(t, ts)
			_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), tc.model, tc.opts)
			if resp != nil {
				t.Errorf("RecalculateChecksums(%q, %+v) response = %v; want nil", tc.model, tc.opts, resp)
			}
			check(t, "RecalculateChecksums", err, requests)
		})
	}
}

// The context passed to a call reaches the request: a cancelled one sends
// nothing useful and reports context.Canceled.
func TestDataManagementListCancelledContext(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	requests := dmRefuseOthers(t, ts)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := ts.client.DataManagement.List(ctx, ModelProjects, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List(cancelled ctx) error = %v; want context.Canceled", err)
	}
	if n := requests.get(); n != 0 {
		t.Errorf("List(cancelled ctx) sent %d requests; want 0", n)
	}
}
