package gitlabdata

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fixtureRequestID is the X-Request-Id of the data-management fixtures.
const fixtureRequestID = "01J9Z3QK4F6M0T7Y8V2B1C5D9E"

const recordsPath = "/api/v4/admin/data_management/"

// wantProjectRecord is testdata/datamanagement_get_project.json, also the
// first record of datamanagement_list_offset.json.
func wantProjectRecord(t *testing.T) *ModelRecord {
	return &ModelRecord{
		RecordIdentifier: IntRecordID(1),
		ModelClass:       "Project",
		CreatedAt:        mustTime(t, "2025-02-05T11:27:10.173Z"),
		ChecksumInformation: &ChecksumInformation{
			Checksum:           String("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
			LastChecksum:       mustTime(t, "2025-07-24T14:22:18.643Z"),
			ChecksumState:      ChecksumStateSucceeded,
			ChecksumRetryCount: ptr[int64](0),
		},
	}
}

// One page of each recorded answer shape: the request List sends, what the
// records decode to and what the Response reads from the headers.
func TestDataManagementList(t *testing.T) {
	t.Parallel()
	const entryClass = "VirtualRegistries::Packages::Maven::Cache::Remote::Entry"
	project3 := wantProjectRecord(t)
	project3.RecordIdentifier = IntRecordID(3)
	tests := []struct {
		name      string
		model     ModelName
		opts      *ListModelRecordsOptions
		query     url.Values
		rawQuery  string // where escaping is under test
		fixture   string
		want      []*ModelRecord
		wantResp  *Response  // Header aside; nil: not under test
		wantParts [][]string // Parts() of composite ids
	}{
		{
			name:    "offset page",
			model:   ModelProjects,
			opts:    &ListModelRecordsOptions{Page: 2, PerPage: 2},
			query:   url.Values{"page": {"2"}, "per_page": {"2"}},
			fixture: "datamanagement_list_offset",
			want: []*ModelRecord{
				project3,
				{
					RecordIdentifier: IntRecordID(4),
					ModelClass:       "Project",
					CreatedAt:        mustTime(t, "2025-02-06T08:01:44.902Z"),
					ChecksumInformation: &ChecksumInformation{
						ChecksumState:      ChecksumStateFailed,
						ChecksumRetryCount: ptr[int64](2),
						ChecksumRetryAt:    mustTime(t, "2025-07-24T15:02:18.643Z"),
						ChecksumFailure:    String("Error during verification: 14:connection refused"),
					},
				},
			},
			wantResp: &Response{
				StatusCode: http.StatusOK, RequestID: fixtureRequestID,
				Page: 2, PerPage: 2, NextPage: 3, PrevPage: 1, Total: 5, TotalPages: 3,
				NextLink: "{{BASE}}" + recordsPath + "projects?model_name=projects&page=3&per_page=2&sort=asc",
			},
		},
		{
			// E2 servers page without counts: no X-Total, no rel="last",
			// empty X-Next-Page.
			name:    "legacy integer states",
			model:   "lfs_object",
			fixture: "datamanagement_list_legacy",
			want: []*ModelRecord{
				{
					RecordIdentifier:    IntRecordID(11),
					ModelClass:          "LfsObject",
					CreatedAt:           mustTime(t, "2024-11-02T09:14:03.511Z"),
					FileSize:            ptr[int64](1048576),
					ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStatePending},
				},
				{
					RecordIdentifier:    IntRecordID(12),
					ModelClass:          "LfsObject",
					CreatedAt:           mustTime(t, "2024-11-02T09:15:40.027Z"),
					FileSize:            ptr[int64](524288),
					ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStateStarted, ChecksumRetryCount: ptr[int64](0)},
				},
				{
					RecordIdentifier: IntRecordID(13),
					ModelClass:       "LfsObject",
					CreatedAt:        mustTime(t, "2024-11-03T17:42:12.900Z"),
					FileSize:         ptr[int64](7340032),
					ChecksumInformation: &ChecksumInformation{
						Checksum:           String("3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"),
						LastChecksum:       mustTime(t, "2025-07-20T03:11:59.120Z"),
						ChecksumState:      ChecksumStateSucceeded,
						ChecksumRetryCount: ptr[int64](0),
					},
				},
				{
					RecordIdentifier: IntRecordID(14),
					ModelClass:       "LfsObject",
					CreatedAt:        mustTime(t, "2024-11-04T10:00:00.000Z"),
					FileSize:         ptr[int64](0),
					ChecksumInformation: &ChecksumInformation{
						LastChecksum:       mustTime(t, "2025-07-20T03:12:30.004Z"),
						ChecksumState:      ChecksumStateFailed,
						ChecksumRetryCount: ptr[int64](1),
						ChecksumRetryAt:    mustTime(t, "2025-07-20T03:17:30.004Z"),
						ChecksumFailure:    String("Verification timed out after 28800"),
					},
				},
				{
					RecordIdentifier:    IntRecordID(15),
					ModelClass:          "LfsObject",
					CreatedAt:           mustTime(t, "2024-11-05T21:30:45.615Z"),
					FileSize:            ptr[int64](2048),
					ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStateDisabled},
				},
			},
			wantResp: &Response{StatusCode: http.StatusOK, RequestID: fixtureRequestID, Page: 1, PerPage: 20},
		},
		{
			// cmp tells a nil ChecksumInformation from an empty one.
			name:    "checksum information absent when Geo is off",
			model:   ModelUploads,
			fixture: "datamanagement_list_geo_off",
			want: []*ModelRecord{
				{RecordIdentifier: IntRecordID(7001), ModelClass: "Upload", CreatedAt: mustTime(t, "2025-03-11T12:05:33.480Z"), FileSize: ptr[int64](48213)},
				{RecordIdentifier: IntRecordID(7002), ModelClass: "Upload", CreatedAt: mustTime(t, "2025-03-12T07:45:09.215Z"), FileSize: ptr[int64](1024)},
			},
		},
		{
			name:    "checksum information present with nulls",
			model:   ModelCIJobArtifacts,
			opts:    &ListModelRecordsOptions{ChecksumState: ChecksumStatePending},
			query:   url.Values{"checksum_state": {"pending"}},
			fixture: "datamanagement_list_pending",
			want: []*ModelRecord{{
				RecordIdentifier:    IntRecordID(5150),
				ModelClass:          "Ci::JobArtifact",
				CreatedAt:           mustTime(t, "2025-07-30T16:20:01.337Z"),
				FileSize:            ptr[int64](3312),
				ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStatePending},
			}},
		},
		{
			name:     "composite keys",
			model:    "virtual_registries_packages_maven_cache_remote_entries",
			opts:     &ListModelRecordsOptions{Identifiers: []RecordID{CompositeRecordID("1", "2"), CompositeRecordID("12", "34")}},
			query:    url.Values{"identifiers[]": {"MSAy", "MTIgMzQ="}},
			rawQuery: "identifiers%5B%5D=MSAy&identifiers%5B%5D=MTIgMzQ%3D",
			fixture:  "datamanagement_list_composite",
			want: []*ModelRecord{
				{RecordIdentifier: CompositeRecordID("1", "2"), ModelClass: entryClass, CreatedAt: mustTime(t, "2025-06-01T10:00:00.000Z"), FileSize: ptr[int64](15360)},
				{RecordIdentifier: CompositeRecordID("12", "34"), ModelClass: entryClass, CreatedAt: mustTime(t, "2025-06-02T11:30:27.842Z"), FileSize: ptr[int64](884736)},
			},
			wantParts: [][]string{{"1", "2"}, {"12", "34"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			refuseOthers(t, ts)
			expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/" + string(tc.model),
				query: tc.query, rawQuery: tc.rawQuery, fixture: tc.fixture})

			got, resp, err := ts.client.DataManagement.List(t.Context(), tc.model, tc.opts)
			if err != nil {
				t.Fatalf("List(%s, %+v) error = %v", tc.model, tc.opts, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List(%s, %+v) mismatch (-want +got):\n%s", tc.model, tc.opts, diff)
			}
			if tc.wantResp != nil {
				want := *tc.wantResp
				want.NextLink = strings.ReplaceAll(want.NextLink, "{{BASE}}", ts.server.URL)
				if diff := cmp.Diff(&want, resp, cmpopts.IgnoreFields(Response{}, "Header")); diff != "" {
					t.Errorf("List(%s, %+v) response mismatch (-want +got):\n%s", tc.model, tc.opts, diff)
				}
				// The Header is the answer's.
				wantPages := ""
				if want.TotalPages != 0 {
					wantPages = strconv.Itoa(want.TotalPages)
				}
				if got := resp.Header.Get("X-Total-Pages"); got != wantPages {
					t.Errorf("List(%s, %+v) Header X-Total-Pages = %q; want %q", tc.model, tc.opts, got, wantPages)
				}
			}
			for i, want := range tc.wantParts {
				if !got[i].RecordIdentifier.IsComposite() {
					t.Errorf("record %d: IsComposite() = false; want true", i)
				}
				parts, err := got[i].RecordIdentifier.Parts()
				if err != nil {
					t.Fatalf("record %d: Parts() error = %v", i, err)
				}
				if diff := cmp.Diff(want, parts); diff != "" {
					t.Errorf("record %d: Parts() mismatch (-want +got):\n%s", i, diff)
				}
			}
		})
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
				Identifiers:   intIDs(1, 2, 30),
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
			opts:      &ListModelRecordsOptions{Identifiers: intIDs(9007199254740993)},
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
			refuseOthers(t, ts)
			expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/lfs_objects",
				query: tc.wantQuery, rawQuery: tc.wantRaw, json: "[]"})
			got, _, err := ts.client.DataManagement.List(t.Context(), ModelLFSObjects, tc.opts)
			if err != nil {
				t.Fatalf("List(lfs_objects, %+v) error = %v", tc.opts, err)
			}
			if diff := cmp.Diff([]*ModelRecord{}, got); diff != "" {
				t.Errorf("List(lfs_objects, %+v) mismatch (-want +got):\n%s", tc.opts, diff)
			}
		})
	}
}

func TestDataManagementAllKeyset(t *testing.T) {
	t.Parallel()
	const cursor = "eyJpZCI6IjIiLCJfa2QiOiJuIn0="
	const path = "/admin/data_management/snippet_repositories"
	// The next link is followed as GitLab wrote it.
	wantURIs := []string{
		recordsPath + "snippet_repositories?pagination=keyset&per_page=2",
		recordsPath + "snippet_repositories?cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D&model_name=snippet_repositories&order_by=id&page=1&pagination=keyset&per_page=2&sort=asc",
	}
	tests := []struct {
		name     string
		brk      bool // break after the first item
		wantIDs  []int64
		wantURIs []string
	}{
		{"follows next link until it is absent", false, []int64{1, 2, 3}, wantURIs},
		{"break sends no further request", true, []int64{1}, wantURIs[:1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			refuseOthers(t, ts)
			p := fixturePager(t, ts, path, pageKeyset, []int64{1, 2, 3}, "datamanagement_keyset_page1", "datamanagement_keyset_page2")
			limit := 20
			if tc.brk {
				limit = 1
			}
			var got []int64
			for rec, err := range ts.client.DataManagement.All(t.Context(), ModelSnippetRepositories, &ListModelRecordsOptions{PerPage: 2}) {
				if err != nil {
					t.Fatalf("All(snippet_repositories) error = %v", err)
				}
				got = append(got, itemID(rec))
				if len(got) == limit {
					break
				}
			}
			if diff := cmp.Diff(tc.wantIDs, got); diff != "" {
				t.Errorf("All(snippet_repositories) ids mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantURIs, p.requests()); diff != "" {
				t.Errorf("All(snippet_repositories) requests mismatch (-want +got):\n%s", diff)
			}
		})
	}

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
			refuseOthers(t, ts)
			expect(t, ts, route{method: http.MethodGet, path: path, query: tc.query, fixture: "datamanagement_keyset_page2"})
			got := recordIDs(t, ts.client.DataManagement.All(t.Context(), ModelSnippetRepositories, tc.opts))
			if diff := cmp.Diff([]int64{3}, got); diff != "" {
				t.Errorf("All(snippet_repositories, %s) ids mismatch (-want +got):\n%s", tc.label, diff)
			}
		})
	}
}

// An E2 server (GitLab 18.3 to 18.7) ignores pagination=keyset and pages by
// offset; All must still walk every page. A caller who asks for offset
// paging gets it.
func TestDataManagementAllOffsetPages(t *testing.T) {
	t.Parallel()
	noLink := func(h http.Header, _ *http.Request, _ int) { h.Del("Link") }
	tests := []struct {
		name     string
		model    ModelName
		opts     ListModelRecordsOptions
		fixtures []string
		tweak    func(h http.Header, r *http.Request, n int)
		wantIDs  []int64
		wantURIs []string // what the client sends for pages 1 and 2
	}{
		{
			name:     "old server, next link",
			model:    "lfs_object",
			fixtures: []string{"datamanagement_legacy_page1", "datamanagement_legacy_page2"},
			wantIDs:  []int64{21, 22, 23},
			wantURIs: requestURIs(recordsPath+"lfs_object",
				url.Values{"pagination": {"keyset"}, "per_page": {"2"}},
				url.Values{"model_name": {"lfs_object"}, "page": {"2"}, "pagination": {"keyset"}, "per_page": {"2"}}),
		},
		{
			name:     "old server, X-Next-Page only",
			model:    "lfs_object",
			fixtures: []string{"datamanagement_legacy_page1", "datamanagement_legacy_page2"},
			tweak:    noLink,
			wantIDs:  []int64{21, 22, 23},
			wantURIs: requestURIs(recordsPath+"lfs_object",
				url.Values{"pagination": {"keyset"}, "per_page": {"2"}},
				url.Values{"page": {"2"}, "pagination": {"keyset"}, "per_page": {"2"}}),
		},
		{
			name:     "offset asked",
			model:    ModelUploads,
			opts:     ListModelRecordsOptions{Pagination: PaginationOffset},
			fixtures: []string{"datamanagement_offset_page1", "datamanagement_offset_page2"},
			wantIDs:  []int64{101, 102, 103},
			wantURIs: requestURIs(recordsPath+"uploads",
				url.Values{"pagination": {"offset"}, "per_page": {"2"}},
				url.Values{"model_name": {"uploads"}, "page": {"2"}, "pagination": {"offset"}, "per_page": {"2"}, "sort": {"asc"}}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			refuseOthers(t, ts)
			p := fixturePager(t, ts, "/admin/data_management/"+string(tc.model), pageOffsetHeaders, tc.wantIDs, tc.fixtures...)
			p.tweak = tc.tweak
			opts := tc.opts
			opts.PerPage = 2
			before := opts
			got := recordIDs(t, ts.client.DataManagement.All(t.Context(), tc.model, &opts))
			if diff := cmp.Diff(tc.wantIDs, got); diff != "" {
				t.Errorf("All(%s, %+v) ids mismatch (-want +got):\n%s", tc.model, before, diff)
			}
			if diff := cmp.Diff(tc.wantURIs, p.requests()); diff != "" {
				t.Errorf("All(%s, %+v) requests mismatch (-want +got):\n%s", tc.model, before, diff)
			}
			if diff := cmp.Diff(before, opts); diff != "" {
				t.Errorf("All(%s) changed the caller's options (-want +got):\n%s", tc.model, diff)
			}
		})
	}
}

func TestDataManagementAllDoesNotMutateOptions(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	refuseOthers(t, ts)
	expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/projects",
		query: url.Values{"identifiers[]": {"5", "9"}, "pagination": {"keyset"}, "per_page": {"2"}},
		json:  "[]", times: 2}) // each range starts again from opts

	// Spare capacity would reveal an append into the caller's array.
	backing := intIDs(5, 9, 77)
	opts := &ListModelRecordsOptions{Identifiers: backing[:2], PerPage: 2}
	before := ListModelRecordsOptions{Identifiers: intIDs(5, 9), PerPage: 2}

	seq := ts.client.DataManagement.All(t.Context(), ModelProjects, opts)
	for range 2 {
		if got := recordIDs(t, seq); len(got) != 0 {
			t.Errorf("All(projects) yielded %v; want nothing", got)
		}
	}
	if diff := cmp.Diff(before, *opts); diff != "" {
		t.Errorf("All(projects) changed the caller's options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(intIDs(5, 9, 77), backing); diff != "" {
		t.Errorf("All(projects) wrote into the caller's identifiers array (-want +got):\n%s", diff)
	}
}

func TestDataManagementGet(t *testing.T) {
	t.Parallel()
	const entryClass = "VirtualRegistries::Packages::Maven::Cache::Remote::Entry"
	composite := &ModelRecord{
		RecordIdentifier: CompositeRecordID("1", "?ab~c"),
		ModelClass:       entryClass,
		CreatedAt:        mustTime(t, "2025-06-03T14:45:00.250Z"),
		FileSize:         ptr[int64](2097152),
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
			want:        wantProjectRecord(t),
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
			refuseOthers(t, ts)
			expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/{model}/{id}", fixture: tc.fixture,
				check: func(r *http.Request) {
					if got := r.URL.EscapedPath(); got != tc.wantEscaped {
						t.Errorf("escaped path = %q; want %q", got, tc.wantEscaped)
					}
					if got := r.PathValue("model"); got != string(tc.model) {
						t.Errorf("model segment = %q; want %q", got, tc.model)
					}
					if got := r.PathValue("id"); got != tc.wantText {
						t.Errorf("id segment = %q; want %q", got, tc.wantText)
					}
				}})
			got, resp, err := ts.client.DataManagement.Get(t.Context(), tc.model, tc.id)
			if err != nil {
				t.Fatalf("Get(%s, %s) error = %v", tc.model, tc.id, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Get(%s, %s) mismatch (-want +got):\n%s", tc.model, tc.id, diff)
			}
			if resp.StatusCode != http.StatusOK || resp.RequestID != fixtureRequestID {
				t.Errorf("Get(%s, %s) response status %d, request id %q; want 200, %q", tc.model, tc.id, resp.StatusCode, resp.RequestID, fixtureRequestID)
			}
		})
	}
}

// Failures GitLab reports come back as an *APIError with the answer's
// details, matching exactly the sentinels GitLab's status stands for.
func TestDataManagementErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		route    route
		call     func(context.Context, *DataManagementService) (*ModelRecord, *Response, error)
		want     *APIError
		wantIs   error  // the one sentinel matched, or nil for none
		wantText string // err.Error(), where under test
	}{
		{
			name:  "Get unknown record",
			route: route{method: http.MethodGet, path: "/admin/data_management/projects/123", status: http.StatusNotFound, json: `{"message":"404 123 Not Found"}`},
			call: func(ctx context.Context, s *DataManagementService) (*ModelRecord, *Response, error) {
				return s.Get(ctx, ModelProjects, IntRecordID(123))
			},
			want: &APIError{
				StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: recordsPath + "projects/123",
				Message: "404 123 Not Found", RequestID: testRequestID, Body: []byte(`{"message":"404 123 Not Found"}`),
			},
			wantIs: ErrNotFound,
		},
		{
			name: "RecalculateChecksum verification failed",
			route: route{method: http.MethodPut, path: "/admin/data_management/uploads/1/checksum", status: http.StatusBadRequest,
				json: `{"message":"400 Bad request - Verifying uploads/1 failed."}`},
			call: func(ctx context.Context, s *DataManagementService) (*ModelRecord, *Response, error) {
				return s.RecalculateChecksum(ctx, ModelUploads, IntRecordID(1))
			},
			want: &APIError{
				StatusCode: http.StatusBadRequest, Method: http.MethodPut, Path: recordsPath + "uploads/1/checksum",
				Message: "400 Bad request - Verifying uploads/1 failed.", RequestID: testRequestID,
				Body: []byte(`{"message":"400 Bad request - Verifying uploads/1 failed."}`),
			},
		},
		{
			name: "RecalculateChecksums status error in a 200",
			route: route{method: http.MethodPut, path: "/admin/data_management/uploads/checksum", body: `{"identifiers":[3]}`,
				fixture: "datamanagement_bulk_error"},
			call: func(ctx context.Context, s *DataManagementService) (*ModelRecord, *Response, error) {
				_, resp, err := s.RecalculateChecksums(ctx, ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: intIDs(3)})
				return nil, resp, err
			},
			want: &APIError{
				StatusCode: http.StatusOK, Method: http.MethodPut, Path: recordsPath + "uploads/checksum",
				Message: "No table found from X", RequestID: fixtureRequestID,
				Body: []byte(`{"status":"error","message":"No table found from X"}`),
			},
			wantText: "gitlabdata: PUT /api/v4/admin/data_management/uploads/checksum: GitLab reported a failure: No table found from X (request id " + fixtureRequestID + ")",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			refuseOthers(t, ts)
			expect(t, ts, tc.route)
			rec, resp, err := tc.call(t.Context(), ts.client.DataManagement)
			if rec != nil {
				t.Errorf("%s record = %+v; want nil", tc.name, rec)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%s error = %v; want *APIError", tc.name, err)
			}
			if diff := cmp.Diff(tc.want, apiErr); diff != "" {
				t.Errorf("%s error mismatch (-want +got):\n%s", tc.name, diff)
			}
			checkErrorSentinels(t, err, tc.wantIs)
			if tc.wantText != "" && err.Error() != tc.wantText {
				t.Errorf("%s error text = %q; want %q", tc.name, err.Error(), tc.wantText)
			}
			if resp == nil || resp.StatusCode != tc.want.StatusCode {
				t.Errorf("%s response = %+v; want status %d", tc.name, resp, tc.want.StatusCode)
			}
		})
	}
}

func TestDataManagementRecalculateChecksum(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	refuseOthers(t, ts)
	// PUT is not retried: expect sees exactly one request.
	expect(t, ts, route{method: http.MethodPut, path: "/admin/data_management/uploads/1/checksum", fixture: "datamanagement_checksum_upload"})

	got, resp, err := ts.client.DataManagement.RecalculateChecksum(t.Context(), ModelUploads, IntRecordID(1))
	if err != nil {
		t.Fatalf("RecalculateChecksum(uploads, 1) error = %v", err)
	}
	want := &ModelRecord{
		RecordIdentifier: IntRecordID(1),
		ModelClass:       "Upload",
		CreatedAt:        mustTime(t, "2025-01-15T13:37:00.042Z"),
		FileSize:         ptr[int64](1337),
		ChecksumInformation: &ChecksumInformation{
			Checksum:           String("18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"),
			LastChecksum:       mustTime(t, "2025-08-01T09:30:00.512Z"),
			ChecksumState:      ChecksumStateSucceeded,
			ChecksumRetryCount: ptr[int64](0),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RecalculateChecksum(uploads, 1) mismatch (-want +got):\n%s", diff)
	}
	if resp.StatusCode != http.StatusOK || resp.RequestID != fixtureRequestID {
		t.Errorf("RecalculateChecksum(uploads, 1) response status %d, request id %q; want 200, %q", resp.StatusCode, resp.RequestID, fixtureRequestID)
	}
}

func TestDataManagementRecalculateChecksums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     RecalculateChecksumsRequest
		wantBody string
	}{
		{name: "every record, consented", opts: RecalculateChecksumsRequest{AllowAllRecords: true}, wantBody: `{}`},
		{
			name:     "state and integer ids",
			opts:     RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, ChecksumState: ChecksumStateFailed, Identifiers: intIDs(1, 2)},
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
			refuseOthers(t, ts)
			expect(t, ts, route{method: http.MethodPut, path: "/admin/data_management/uploads/checksum", body: tc.wantBody, fixture: "datamanagement_bulk_success"})
			_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), ModelUploads, tc.opts)
			if err != nil {
				t.Fatalf("RecalculateChecksums(uploads, %+v) error = %v", tc.opts, err)
			}
			if resp.StatusCode != http.StatusOK || resp.RequestID != fixtureRequestID {
				t.Errorf("RecalculateChecksums(uploads, %+v) response status %d, request id %q; want 200, %q", tc.opts, resp.StatusCode, resp.RequestID, fixtureRequestID)
			}
		})
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
		{"IntRecordID(0) identifier", ModelProjects, &ListModelRecordsOptions{Identifiers: intIDs(1, 0)}},
		{"negative identifier", ModelProjects, &ListModelRecordsOptions{Identifiers: intIDs(-1)}},
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
		{"negative identifier", ModelUploads, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: intIDs(2, -7)}},
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
			requests := refuseOthers(t, ts)
			recs, resp, err := ts.client.DataManagement.List(t.Context(), tc.model, tc.opts)
			if recs != nil || resp != nil {
				t.Errorf("List(%q, %+v) = %v, %v; want nil, nil", tc.model, tc.opts, recs, resp)
			}
			check(t, "List", err, requests)
		})
		t.Run("All/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			requests := refuseOthers(t, ts)
			seq := ts.client.DataManagement.All(t.Context(), tc.model, tc.opts)
			if n := requests.get(); n != 0 {
				t.Errorf("All(%q) sent %d requests before ranging; want 0", tc.model, n)
			}
			err := onlyError(t, anySeq(seq))
			check(t, "All", err, requests)
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
				requests := refuseOthers(t, ts)
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
			requests := refuseOthers(t, ts)
			_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), tc.model, tc.opts)
			if resp != nil {
				t.Errorf("RecalculateChecksums(%q, %+v) response = %v; want nil", tc.model, tc.opts, resp)
			}
			check(t, "RecalculateChecksums", err, requests)
		})
	}
}

// A recalculation without a filter selects every record of the model: it
// is refused before any request unless the caller consents.
func TestRecalculateEveryRecordNeedsConsent(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	requests := refuseOthers(t, ts)
	_, resp, err := ts.client.DataManagement.RecalculateChecksums(t.Context(), ModelLFSObjects, RecalculateChecksumsRequest{})
	if !errors.Is(err, ErrUnsafe) || resp != nil || !strings.Contains(err.Error(), "every record of lfs_objects; set AllowAllRecords to consent") {
		t.Errorf("RecalculateChecksums(lfs_objects, {}) = %v, %v; want ErrUnsafe naming the model and AllowAllRecords", resp, err)
	}
	if n := requests.get(); n != 0 {
		t.Errorf("%d requests sent; want 0", n)
	}
}
