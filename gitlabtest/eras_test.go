package gitlabtest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    gitlabtest.Version
		wantEra gitlabtest.Era
		wantErr string
	}{
		{"18.5", gitlabtest.Version{Major: 18, Minor: 5}, gitlabtest.EraSingular, ""},
		{"18.5.2-ee", gitlabtest.Version{Major: 18, Minor: 5, Patch: 2}, gitlabtest.EraSingular, ""},
		{"v18.7", gitlabtest.Version{Major: 18, Minor: 7}, gitlabtest.EraSingular, ""},
		{"18.8", gitlabtest.Version{Major: 18, Minor: 8}, gitlabtest.EraPlural, ""},
		{"18.9.1", gitlabtest.Version{Major: 18, Minor: 9, Patch: 1}, gitlabtest.EraPlural, ""},
		{"18.10", gitlabtest.Version{Major: 18, Minor: 10}, gitlabtest.EraGranular, ""},
		{"19.0", gitlabtest.Version{Major: 19}, gitlabtest.EraGranular, ""},
		{"18.2", gitlabtest.Version{}, 0, "gitlabtest: version 18.2.0-ee has no Data management API (it first shipped in 18.3)"},
		{"18", gitlabtest.Version{}, 0, `gitlabtest: version "18": want MAJOR.MINOR or MAJOR.MINOR.PATCH`},
		{"18.x", gitlabtest.Version{}, 0, `gitlabtest: version "18.x": "x" is not a number`},
	}
	for _, tt := range tests {
		got, err := gitlabtest.ParseVersion(tt.in)
		var gotErr string
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr || got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, %q; want %+v, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			continue
		}
		if err == nil && got.Era() != tt.wantEra {
			t.Errorf("ParseVersion(%q).Era() = %v; want %v", tt.in, got.Era(), tt.wantEra)
		}
	}
}

func TestModelNamesPerEra(t *testing.T) {
	t.Parallel()
	names := func(era gitlabtest.Era) []string {
		var out []string
		for _, n := range gitlabtest.ModelNames(era) {
			out = append(out, string(n))
		}
		return out
	}
	singular, plural, newest := names(gitlabtest.EraSingular), names(gitlabtest.EraPlural), names(gitlabtest.EraGranular)
	if len(singular) != 17 || len(plural) != 20 || len(newest) != 44 {
		t.Errorf("ModelNames sizes = %d, %d, %d; want 17, 20, 44", len(singular), len(plural), len(newest))
	}
	for _, tt := range []struct {
		names []string
		name  string
		want  bool
	}{
		{singular, "lfs_object", true}, {singular, "lfs_objects", false},
		{plural, "packages_helm_metadata_caches", true}, {plural, "packages_debian_project_component_files", false},
		{newest, "packages_helm_metadata_caches", true}, {newest, "packages_debian_project_component_files", true},
		{newest, "geo_project_uploads", true}, {newest, "geo_vulnerability_remediation_uploads", true},
		{plural, "geo_project_uploads", false}, {newest, "virtual_registries_cache_entries", false},
	} {
		if got := slices.Contains(tt.names, tt.name); got != tt.want {
			t.Errorf("era list has %q = %t; want %t", tt.name, got, tt.want)
		}
	}
	if !slices.IsSorted(newest) {
		t.Errorf("ModelNames(EraGranular) is not sorted: %q", newest)
	}
}

// TestModelNamesAgreeWithSDK compares the fake's own list of the newest
// model names with gitlabdata.ModelNames. Every SDK name must be one the
// newest GitLab accepts. The SDK lists the 20 documented names today and
// is to list all 44 (corrections #1); once it has as many names as the
// fake, the two lists must be equal.
func TestModelNamesAgreeWithSDK(t *testing.T) {
	t.Parallel()
	fake := gitlabtest.ModelNames(gitlabtest.EraGranular)
	sdk := gitlabdata.ModelNames()
	var unknown []gitlabdata.ModelName
	for _, n := range sdk {
		if !slices.Contains(fake, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		t.Errorf("gitlabdata.ModelNames() has names newest GitLab does not accept: %q", unknown)
	}
	if len(sdk) >= len(fake) {
		slices.Sort(sdk)
		if diff := cmp.Diff(fake, sdk); diff != "" {
			t.Errorf("gitlabdata.ModelNames() vs the fake's newest names mismatch (-fake +sdk):\n%s", diff)
		}
	}
}

func TestEraAcceptsExactlyItsModelNames(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"18.5", "18.9", "18.11"} {
		ver, err := gitlabtest.ParseVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		srv := newFake(t, gitlabtest.WithVersion(ver))
		accepted := gitlabtest.ModelNames(ver.Era())
		for _, n := range accepted {
			wantJSON(t, v+" GET "+string(n), adminDo(t, srv, "GET", "/admin/data_management/"+string(n), ""), 200, `[]`)
		}
		var outsiders []string
		for _, era := range []gitlabtest.Era{gitlabtest.EraSingular, gitlabtest.EraPlural, gitlabtest.EraGranular} {
			for _, n := range gitlabtest.ModelNames(era) {
				if !slices.Contains(accepted, n) {
					outsiders = append(outsiders, string(n))
				}
			}
		}
		outsiders = append(outsiders, "virtual_registries_cache_entries", "LFS_OBJECTS", "Lfs_object")
		for _, n := range outsiders {
			wantJSON(t, v+" GET "+n, adminDo(t, srv, "GET", "/admin/data_management/"+n, ""), 400,
				`{"error":"model_name does not have a valid value"}`)
		}
	}
}

func TestVersionEndpointPerEra(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		opt  gitlabtest.ServerOption
		want string
	}{
		{nil, "18.11.0-ee"},
		{gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 5, Patch: 2}), "18.5.2-ee"},
		{gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}), "18.9.0-ee"},
		{gitlabtest.WithLegacy(), "18.7.0-ee"},
	} {
		srv := newFake(t, tt.opt)
		got := adminDo(t, srv, "GET", "/version", "")
		var v struct {
			Version  string `json:"version"`
			Revision string `json:"revision"`
		}
		if err := json.Unmarshal([]byte(got.body), &v); err != nil || got.status != 200 {
			t.Fatalf("GET /version = %d %s, %v", got.status, got.body, err)
		}
		if v.Version != tt.want || len(v.Revision) != 11 || strings.Trim(v.Revision, "0123456789abcdef") != "" {
			t.Errorf("GET /version = %+v; want version %s and an 11-digit hex revision", v, tt.want)
		}
		if srv.Version().String() != tt.want {
			t.Errorf("Version() = %s; want %s", srv.Version(), tt.want)
		}
	}
}

func TestFeatureFlag(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}))
	srv.AddUserToken("user-token", false)
	srv.AddRecords(gitlabdata.ModelUploads, 2, gitlabdata.ChecksumStateSucceeded)
	if !srv.SetFeatureFlag("geo_primary_verification_view", false) {
		t.Fatal("SetFeatureFlag(geo_primary_verification_view) = false on 18.9; want true")
	}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/admin/data_management/uploads"},
		{"GET", "/admin/data_management/uploads/1"},
		{"GET", "/admin/data_management/NOPE?per_page=0"}, // the flag comes before validation
		{"PUT", "/admin/data_management/uploads/1/checksum"},
		{"PUT", "/admin/data_management/uploads/checksum"},
	} {
		wantJSON(t, tt.method+" "+tt.path+" with the flag off", adminDo(t, srv, tt.method, tt.path, ""), 404, `{"message":"404 Not Found"}`)
	}
	// Authentication comes first; other APIs are not behind the flag.
	wantJSON(t, "non-admin with the flag off", doRaw(t, srv, "GET", "/admin/data_management/uploads", "user-token", ""), 403, `{"message":"403 Forbidden"}`)
	wantJSON(t, "storage moves with the flag off", adminDo(t, srv, "GET", "/project_repository_storage_moves", ""), 200, `[]`)
	srv.SetFeatureFlag("geo_primary_verification_view", true)
	if got := adminDo(t, srv, "GET", "/admin/data_management/uploads", ""); got.status != 200 {
		t.Errorf("GET uploads with the flag on = %d; want 200", got.status)
	}

	newest := newFake(t)
	if newest.SetFeatureFlag("geo_primary_verification_view", false) {
		t.Error("SetFeatureFlag on the newest era = true; want false (the flag is gone)")
	}
	if got := adminDo(t, newest, "GET", "/admin/data_management/uploads", ""); got.status != 200 {
		t.Errorf("GET uploads on the newest era = %d; want 200", got.status)
	}
}

func TestWithoutGeo(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithoutGeo())
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStateSucceeded)
	wantJSON(t, "GET uploads/1 without Geo", adminDo(t, srv, "GET", "/admin/data_management/uploads/1", ""), 200,
		`{"record_identifier":1,"model_class":"Upload","created_at":"2025-01-06T09:01:00.000Z","file_size":8943}`)
	wantJSON(t, "checksum_state filter without Geo", adminDo(t, srv, "GET", "/admin/data_management/uploads?checksum_state=failed", ""), 400,
		`{"message":"400 Bad request - Upload is not a verifiable model."}`)
	for _, path := range []string{"/admin/data_management/uploads/1/checksum", "/admin/data_management/uploads/checksum"} {
		wantJSON(t, "PUT "+path+" without Geo", adminDo(t, srv, "PUT", path, ""), 400,
			`{"message":"400 Bad request - Endpoint only available on primary site."}`)
	}
	// Parameter validation still comes first.
	wantJSON(t, "PUT with a bad model without Geo", adminDo(t, srv, "PUT", "/admin/data_management/nope/checksum", ""), 400,
		`{"error":"model_name does not have a valid value"}`)
	srv.SetGeo(true)
	if got := adminDo(t, srv, "PUT", "/admin/data_management/uploads/1/checksum", ""); got.status != 200 {
		t.Errorf("PUT after SetGeo(true) = %d %s; want 200", got.status, got.body)
	}
}

func TestGranularPermissions(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStateSucceeded)
	srv.AddToken(gitlabtest.Token{Token: "fine-none", Admin: true, Granular: true})
	srv.AddToken(gitlabtest.Token{Token: "fine-read", Admin: true, Granular: true,
		Permissions: []string{"read_admin_data_management", "read_repository_storage_move"}})
	srv.AddToken(gitlabtest.Token{Token: "fine-user", Granular: true, Permissions: []string{"read_admin_data_management"}})
	denied := func(perm string) string {
		return `{"error":"insufficient_granular_scope","error_description":"Access denied: Your Personal Access Token lacks the required permissions: [` + perm + `]."}`
	}
	tests := []struct {
		name, token, method, path string
		status                    int
		want                      string
	}{
		{"no permissions, DM list", "fine-none", "GET", "/admin/data_management/uploads", 403, denied("read_admin_data_management")},
		{"no permissions, before validation", "fine-none", "GET", "/admin/data_management/NOPE", 403, denied("read_admin_data_management")},
		{"no permissions, moves", "fine-none", "GET", "/project_repository_storage_moves", 403, denied("read_repository_storage_move")},
		{"no permissions, schedule", "fine-read", "POST", "/project_repository_storage_moves", 403, denied("create_repository_storage_move")},
		{"read only, PUT", "fine-read", "PUT", "/admin/data_management/uploads/checksum", 403, denied("update_admin_data_management")},
		{"read, GET", "fine-read", "GET", "/project_repository_storage_moves", 200, `[]`},
		{"permission but not admin", "fine-user", "GET", "/admin/data_management/uploads", 403, `{"message":"403 Forbidden"}`},
		{"version needs no permission", "fine-none", "GET", "/version", 200, ""},
	}
	for _, tt := range tests {
		got := doRaw(t, srv, tt.method, tt.path, tt.token, "")
		if tt.want == "" {
			if got.status != tt.status {
				t.Errorf("%s: %s %s = %d; want %d", tt.name, tt.method, tt.path, got.status, tt.status)
			}
			continue
		}
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}
	// 18.9 has no granular check.
	old := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}))
	old.AddToken(gitlabtest.Token{Token: "fine-none", Admin: true, Granular: true})
	wantJSON(t, "18.9 fine-grained token", doRaw(t, old, "GET", "/admin/data_management/uploads", "fine-none", ""), 200, `[]`)
}

func TestBulkIdentifiersMatchingNothingQueueEverything(t *testing.T) {
	t.Parallel()
	for _, opt := range []gitlabtest.ServerOption{nil, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}), gitlabtest.WithLegacy()} {
		srv := newFake(t, opt)
		srv.AddRecords(gitlabdata.ModelUploads, 3, gitlabdata.ChecksumStateSucceeded)
		model := "uploads"
		if srv.Version().Era() == gitlabtest.EraSingular {
			model = "upload"
		}
		got := adminDo(t, srv, "PUT", "/admin/data_management/"+model+"/checksum", `{"identifiers":[99]}`)
		wantJSON(t, srv.Version().String()+" bulk", got, 200, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
		var states []gitlabdata.ChecksumState
		for id := int64(1); id <= 3; id++ {
			r, _ := srv.Record(gitlabdata.ModelUploads, gitlabdata.IntRecordID(id))
			states = append(states, r.ChecksumInformation.ChecksumState)
		}
		if diff := cmp.Diff([]gitlabdata.ChecksumState{"pending", "pending", "pending"}, states); diff != "" {
			t.Errorf("%s: states after a bulk recalculation of unknown ids mismatch (-want +got):\n%s", srv.Version(), diff)
		}
	}
}

// cursorJSON decodes a keyset cursor.
func cursorJSON(t *testing.T, c string) string {
	t.Helper()
	b, err := base64.URLEncoding.DecodeString(c)
	if err != nil {
		t.Fatalf("cursor %q is not padded url-safe base64: %v", c, err)
	}
	return string(b)
}

func TestKeysetCursorsBothWays(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddRecords(gitlabdata.ModelUploads, 12, gitlabdata.ChecksumStateSucceeded)
	cursor := func(key, kd string) string {
		return base64.URLEncoding.EncodeToString([]byte(`{"id":"` + key + `","_kd":"` + kd + `"}`))
	}
	ids := func(body string) []int64 {
		var recs []gitlabdata.ModelRecord
		if err := json.Unmarshal([]byte(body), &recs); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		var out []int64
		for _, r := range recs {
			n, _ := r.RecordIdentifier.Int()
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name, query string
		ids         []int64
		next, prev  string // decoded cursor JSON, "" for none
		link        bool
	}{
		{"first page", "", []int64{1, 2, 3}, `{"id":"3","_kd":"n"}`, "", true},
		{"forward", "&cursor=" + cursor("3", "n"), []int64{4, 5, 6}, `{"id":"6","_kd":"n"}`, `{"id":"4","_kd":"p"}`, true},
		{"last page", "&cursor=" + cursor("9", "n"), []int64{10, 11, 12}, "", `{"id":"10","_kd":"p"}`, false},
		{"backward from 10", "&cursor=" + cursor("10", "p"), []int64{7, 8, 9}, `{"id":"9","_kd":"n"}`, `{"id":"7","_kd":"p"}`, true},
		{"backward to the start", "&cursor=" + cursor("3", "p"), []int64{1, 2}, `{"id":"2","_kd":"n"}`, "", true},
		{"backward, descending", "&sort=desc&cursor=" + cursor("5", "p"), []int64{8, 7, 6}, `{"id":"6","_kd":"n"}`, `{"id":"8","_kd":"p"}`, true},
		{"forward, descending", "&sort=desc&cursor=" + cursor("5", "n"), []int64{4, 3, 2}, `{"id":"2","_kd":"n"}`, `{"id":"4","_kd":"p"}`, true},
		{"past the end", "&cursor=" + cursor("12", "n"), nil, "", "", false},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, "GET", "/admin/data_management/uploads?pagination=keyset&per_page=3"+tt.query, "")
		if got.status != 200 {
			t.Fatalf("%s: status %d %s", tt.name, got.status, got.body)
		}
		if diff := cmp.Diff(tt.ids, ids(got.body)); diff != "" {
			t.Errorf("%s: ids mismatch (-want +got):\n%s", tt.name, diff)
		}
		var next, prev string
		if c := got.header.Get("X-Next-Cursor"); c != "" {
			next = cursorJSON(t, c)
		}
		if c := got.header.Get("X-Prev-Cursor"); c != "" {
			prev = cursorJSON(t, c)
		}
		if next != tt.next || prev != tt.prev {
			t.Errorf("%s: X-NEXT-CURSOR %s, X-PREV-CURSOR %s; want %s, %s", tt.name, next, prev, tt.next, tt.prev)
		}
		link := got.header.Get("Link")
		if wantLink := tt.link; (link != "") != wantLink ||
			(wantLink && link != `<`+srv.URL()+`/api/v4/admin/data_management/uploads?cursor=`+
				strings.ReplaceAll(got.header.Get("X-Next-Cursor"), "=", "%3D")+
				`&model_name=uploads&order_by=id&page=1&pagination=keyset&per_page=3&sort=`+map[bool]string{true: "desc", false: "asc"}[strings.Contains(tt.query, "desc")]+`>; rel="next"`) {
			t.Errorf("%s: Link = %q (want one: %t) for the next cursor %q", tt.name, link, wantLink, got.header.Get("X-Next-Cursor"))
		}
	}
	// An empty first page has no pagination headers.
	got := adminDo(t, srv, "GET", "/admin/data_management/lfs_objects?pagination=keyset", "")
	if diff := cmp.Diff(map[string]string{"Link": "<absent>", "X-Next-Cursor": "<absent>", "X-Prev-Cursor": "<absent>"},
		headerOf(got.header, "Link", "X-Next-Cursor", "X-Prev-Cursor")); diff != "" || got.body != "[]" {
		t.Errorf("empty keyset page = %s, headers mismatch (-want +got):\n%s", got.body, diff)
	}
}

func TestKeysetPrimaryKeysAndNullCreatedAt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		model gitlabdata.ModelName
		pk    string
		class string
	}{
		{gitlabdata.ModelSnippetRepositories, "snippet_id", "SnippetRepository"},
		{gitlabdata.ModelGroupWikiRepositories, "group_id", "GroupWikiRepository"},
	} {
		srv := newFake(t)
		srv.AddRecords(tt.model, 3, gitlabdata.ChecksumStatePending)
		got := adminDo(t, srv, "GET", fmt.Sprintf("/admin/data_management/%s?pagination=keyset&per_page=2", tt.model), "")
		wantBody := fmt.Sprintf(`[{"record_identifier":1,"model_class":%q,"created_at":null,"file_size":null,"checksum_information":{"checksum":null,"last_checksum":null,"checksum_state":"pending","checksum_retry_count":0,"checksum_retry_at":null,"checksum_failure":null}},`+
			`{"record_identifier":2,"model_class":%q,"created_at":null,"file_size":null,"checksum_information":{"checksum":null,"last_checksum":null,"checksum_state":"pending","checksum_retry_count":0,"checksum_retry_at":null,"checksum_failure":null}}]`, tt.class, tt.class)
		wantJSON(t, string(tt.model)+" keyset", got, 200, wantBody)
		next := got.header.Get("X-Next-Cursor")
		if c := cursorJSON(t, next); c != `{"`+tt.pk+`":"2","_kd":"n"}` {
			t.Errorf("%s cursor = %s; want it keyed by %s", tt.model, c, tt.pk)
		}
		if link := got.header.Get("Link"); !strings.Contains(link, "&order_by="+tt.pk+"&") {
			t.Errorf("%s Link = %q; want order_by=%s", tt.model, link, tt.pk)
		}
		got = adminDo(t, srv, "GET", fmt.Sprintf("/admin/data_management/%s?pagination=keyset&per_page=2&cursor=%s", tt.model, next), "")
		if got.status != 200 || !strings.HasPrefix(got.body, `[{"record_identifier":3,`) {
			t.Errorf("%s second page = %d %s; want record 3", tt.model, got.status, got.body)
		}
	}
}

func TestFirstReleaseHasNoBulkRecalculation(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 3}))
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStateSucceeded)
	wantJSON(t, "18.3 bulk PUT", adminDo(t, srv, "PUT", "/admin/data_management/upload/checksum", ""), 404, `{"error":"404 Not Found"}`)
	if got := adminDo(t, srv, "PUT", "/admin/data_management/upload/1/checksum", ""); got.status != 200 {
		t.Errorf("18.3 single PUT = %d %s; want 200", got.status, got.body)
	}
	wantJSON(t, "18.3 composite id", adminDo(t, srv, "GET", "/admin/data_management/upload/MSAy", ""), 400, `{"error":"id is invalid"}`)
	got := adminDo(t, srv, "GET", "/admin/data_management/upload?checksum_state=nonsense&identifiers[]=99", "")
	if got.status != 200 || !strings.HasPrefix(got.body, `[{"record_identifier":1,`) {
		t.Errorf("18.3 list with filters = %d %s; want them ignored", got.status, got.body)
	}
	wantJSON(t, "18.4 bulk PUT", adminDo(t, newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 4})), "PUT", "/admin/data_management/upload/checksum", ""),
		200, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
}

func TestSingularEraFindsRecordsSeededEitherWay(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 6}))
	srv.AddRecords("lfs_objects", 2, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords("upload", 3, gitlabdata.ChecksumStateSucceeded)
	for path, want := range map[string]int{"lfs_object": 2, "upload": 3} {
		got := adminDo(t, srv, "GET", "/admin/data_management/"+path, "")
		if n := strings.Count(got.body, `"record_identifier"`); got.status != 200 || n != want {
			t.Errorf("GET %s = %d with %d records; want 200 with %d", path, got.status, n, want)
		}
	}
}
