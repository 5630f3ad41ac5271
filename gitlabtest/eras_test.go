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
		{"19.2.0-ee", gitlabtest.Version{Major: 19, Minor: 2}, gitlabtest.EraGranular, ""},
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

// The model names each release accepts, written out from corrections #1
// rather than derived from the fake's tables. Only 18.9's and 19.2's sets
// are confirmed; 18.8 and 18.10 to 19.1 are the project's inference.
var (
	names18_7 = []string{
		"ci_job_artifact", "ci_pipeline_artifact", "ci_secure_file", "container_repository",
		"dependency_proxy_blob", "dependency_proxy_manifest", "design_management_repository",
		"group_wiki_repository", "lfs_object", "merge_request_diff", "packages_package_file",
		"pages_deployment", "project", "projects_wiki_repository", "snippet_repository",
		"terraform_state_version", "upload",
	}
	names18_8 = []string{
		"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
		"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
		"group_wiki_repositories", "lfs_objects", "merge_request_diffs",
		"packages_nuget_symbols", "packages_package_files", "pages_deployments", "projects",
		"projects_wiki_repositories", "snippet_repositories", "supply_chain_attestations",
		"terraform_state_versions", "uploads",
	}
	names18_9  = sortedUnion(names18_8, "packages_helm_metadata_caches")
	names18_10 = sortedUnion(names18_9, "geo_abuse_report_uploads", "geo_project_uploads")
	names18_11 = sortedUnion(names18_10, "geo_group_uploads", "geo_user_uploads",
		"geo_design_management_action_uploads", "geo_achievement_uploads")
	names19_0 = sortedUnion(names18_11, "geo_bulk_import_export_upload_uploads")
	names19_2 = []string{
		"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
		"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
		"geo_abuse_report_uploads", "geo_achievement_uploads", "geo_ai_vectorizable_file_uploads",
		"geo_alert_management_metric_image_uploads", "geo_appearance_uploads",
		"geo_bulk_import_export_upload_uploads", "geo_dependency_list_export_part_uploads",
		"geo_dependency_list_export_uploads", "geo_design_management_action_uploads", "geo_group_uploads",
		"geo_import_export_upload_uploads", "geo_issuable_metric_image_uploads",
		"geo_organization_detail_uploads", "geo_personal_snippet_uploads",
		"geo_project_import_export_relation_export_upload_uploads", "geo_project_topic_uploads",
		"geo_project_uploads", "geo_user_permission_export_upload_uploads", "geo_user_uploads",
		"geo_vulnerability_archive_export_uploads", "geo_vulnerability_export_part_uploads",
		"geo_vulnerability_export_uploads", "geo_vulnerability_remediation_uploads",
		"group_wiki_repositories", "lfs_objects", "merge_request_diffs",
		"packages_debian_project_component_files", "packages_helm_metadata_caches", "packages_nuget_symbols",
		"packages_package_files", "pages_deployments", "projects", "projects_wiki_repositories",
		"snippet_repositories", "supply_chain_attestations", "terraform_state_versions", "uploads",
	}
)

// sortedUnion returns names plus more, sorted, in a new slice.
func sortedUnion(names []string, more ...string) []string {
	out := append(slices.Clone(names), more...)
	slices.Sort(out)
	return out
}

// namesPerRelease is the table of the tests below: a release and the names
// it accepts.
var namesPerRelease = []struct {
	version string
	want    []string
}{
	{"18.3", names18_7},
	{"18.7", names18_7},
	{"18.8", names18_8},
	{"18.9.1", names18_9},
	{"18.10", names18_10},
	{"18.11.2", names18_11},
	{"19.0", names19_0},
	{"19.1", names19_0},
	{"19.2", names19_2},
	{"20.1", names19_2},
}

func TestModelNamesOf(t *testing.T) {
	t.Parallel()
	counts := map[string]int{}
	for _, tt := range namesPerRelease {
		v, err := gitlabtest.ParseVersion(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		got := gitlabtest.ModelNamesOf(v)
		var gotStrings []string
		for _, n := range got {
			gotStrings = append(gotStrings, string(n))
		}
		if diff := cmp.Diff(tt.want, gotStrings); diff != "" {
			t.Errorf("ModelNamesOf(%s) mismatch (-want +got):\n%s", v, diff)
		}
		counts[tt.version] = len(got)
		if len(got) > 0 {
			got[0] = "changed"
			if again := gitlabtest.ModelNamesOf(v); again[0] == "changed" {
				t.Errorf("ModelNamesOf(%s) shares its slice between calls", v)
			}
		}
	}
	// The sizes corrections #1 gives.
	if diff := cmp.Diff(map[string]int{
		"18.3": 17, "18.7": 17, "18.8": 19, "18.9.1": 20, "18.10": 22, "18.11.2": 26, "19.0": 27, "19.1": 27, "19.2": 44, "20.1": 44,
	}, counts); diff != "" {
		t.Errorf("ModelNamesOf sizes mismatch (-want +got):\n%s", diff)
	}
	if got := gitlabtest.ModelNamesOf(gitlabtest.Version{Major: 18, Minor: 2}); got != nil {
		t.Errorf("ModelNamesOf(18.2) = %q; want nil (no Data management API)", got)
	}
	// ModelNames(era) is the set of the era's newest release.
	for era, v := range map[gitlabtest.Era]gitlabtest.Version{
		gitlabtest.EraSingular: {Major: 18, Minor: 7},
		gitlabtest.EraPlural:   {Major: 18, Minor: 9},
		gitlabtest.EraGranular: gitlabtest.NewestVersion,
	} {
		if diff := cmp.Diff(gitlabtest.ModelNamesOf(v), gitlabtest.ModelNames(era)); diff != "" {
			t.Errorf("ModelNames(%v) vs ModelNamesOf(%s) mismatch (-want +got):\n%s", era, v, diff)
		}
	}
}

// TestModelNamesAgreeWithSDK compares the fake's own list of the newest
// model names with gitlabdata.ModelNames: the SDK has a constant for each
// of the 44 names of 19.2, and no other.
func TestModelNamesAgreeWithSDK(t *testing.T) {
	t.Parallel()
	fake := gitlabtest.ModelNamesOf(gitlabtest.NewestVersion)
	sdk := gitlabdata.ModelNames()
	slices.Sort(sdk)
	if diff := cmp.Diff(fake, sdk); diff != "" {
		t.Errorf("gitlabdata.ModelNames() vs the fake's newest names mismatch (-fake +sdk):\n%s", diff)
	}
	if diff := cmp.Diff(fake, gitlabtest.ModelNames(gitlabtest.EraGranular)); diff != "" {
		t.Errorf("ModelNames(EraGranular) vs ModelNamesOf(NewestVersion) mismatch (-want +got):\n%s", diff)
	}
}

// TestReleaseAcceptsExactlyItsModelNames asks each release for every name
// any release knows (and a few no release knows): exactly the release's
// own names answer 200, every other one the 400 of Grape's values check,
// so a name of a newer release is refused by an older one.
func TestReleaseAcceptsExactlyItsModelNames(t *testing.T) {
	t.Parallel()
	universe := sortedUnion(names18_7, names19_2...)
	universe = append(universe, "virtual_registries_cache_entries", "LFS_OBJECTS", "Lfs_object", "geo_uploads", "upload_s")
	for _, tt := range namesPerRelease {
		v, err := gitlabtest.ParseVersion(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		srv := newFake(t, gitlabtest.WithVersion(v))
		var accepted []string
		for _, n := range universe {
			got := adminDo(t, srv, "GET", "/admin/data_management/"+n, "")
			switch {
			case got.status == 200 && got.body == "[]":
				accepted = append(accepted, n)
			case got.status == 400 && got.body == `{"error":"model_name does not have a valid value"}`:
			default:
				t.Errorf("%s: GET %s = %d %s; want 200 [] or the model_name 400", v, n, got.status, got.body)
			}
		}
		if diff := cmp.Diff(tt.want, accepted); diff != "" {
			t.Errorf("%s accepts model names mismatch (-want +got):\n%s", v, diff)
		}
	}
}

// A model the release does not have is reachable once AcceptModel widens
// the set, on every era (by its singular form on 18.3 to 18.7), and the
// SDK sends a name it has no constant for as it is.
func TestAcceptModelWidensTheRelease(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		version     string
		model, path string
	}{
		{"18.7", "geo_project_uploads", "geo_project_upload"},
		{"18.8", "packages_helm_metadata_caches", "packages_helm_metadata_caches"},
		{"18.10", "geo_user_uploads", "geo_user_uploads"},
		{"19.1", "packages_debian_project_component_files", "packages_debian_project_component_files"},
		{"19.2", "geo_future_thing_uploads", "geo_future_thing_uploads"},
	} {
		v, err := gitlabtest.ParseVersion(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		srv := newFake(t, gitlabtest.WithVersion(v))
		srv.AddRecords(gitlabdata.ModelName(tt.model), 2, gitlabdata.ChecksumStateSucceeded)
		wantJSON(t, tt.version+" GET "+tt.path+" before AcceptModel", adminDo(t, srv, "GET", "/admin/data_management/"+tt.path, ""),
			400, `{"error":"model_name does not have a valid value"}`)
		srv.AcceptModel(gitlabdata.ModelName(tt.model))
		var ids []string
		for r, err := range fakeClient(t, srv).DataManagement.All(t.Context(), gitlabdata.ModelName(tt.model), nil) {
			if err != nil {
				t.Fatalf("%s: All(%s) error = %v", tt.version, tt.model, err)
			}
			ids = append(ids, r.RecordIdentifier.String())
		}
		if diff := cmp.Diff([]string{"1", "2"}, ids); diff != "" {
			t.Errorf("%s: All(%s) after AcceptModel mismatch (-want +got):\n%s", tt.version, tt.model, diff)
		}
	}
}

// Composite ids live only in models a test seeds with
// AddCompositeRecords, which accepts the model on every era.
func TestCompositeRecordsOnEveryEra(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		version, path string
	}{
		{"18.7", "virtual_registries_cache_entry"},
		{"18.9", "virtual_registries_cache_entries"},
		{"19.2", "virtual_registries_cache_entries"},
	} {
		v, err := gitlabtest.ParseVersion(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		srv := newFake(t, gitlabtest.WithVersion(v))
		wantJSON(t, tt.version+" GET "+tt.path+" unseeded", adminDo(t, srv, "GET", "/admin/data_management/"+tt.path, ""),
			400, `{"error":"model_name does not have a valid value"}`)
		ids := srv.AddCompositeRecords("virtual_registries_cache_entries", 2, 2)
		got := adminDo(t, srv, "GET", "/admin/data_management/"+tt.path, "")
		var recs []gitlabdata.ModelRecord
		if err := json.Unmarshal([]byte(got.body), &recs); err != nil || got.status != 200 {
			t.Fatalf("%s: GET %s = %d %s, %v", tt.version, tt.path, got.status, got.body, err)
		}
		var gotIDs []gitlabdata.RecordID
		for _, r := range recs {
			gotIDs = append(gotIDs, r.RecordIdentifier)
		}
		if diff := cmp.Diff(ids, gotIDs); diff != "" || !gotIDs[0].IsComposite() {
			t.Errorf("%s: GET %s ids mismatch (-want +got):\n%s", tt.version, tt.path, diff)
		}
		// A model accepted first and seeded afterwards works the same.
		srv.AcceptModel("cache_entries")
		srv.AddCompositeRecords("cache_entries", 1, 3)
		path := "cache_entries"
		if v.Era() == gitlabtest.EraSingular {
			path = "cache_entry"
		}
		got = adminDo(t, srv, "GET", "/admin/data_management/"+path+"/"+gitlabdata.CompositeRecordID("1", "1", "2").String(), "")
		if got.status != 200 || !strings.HasPrefix(got.body, `{"record_identifier":"MSAxIDI=","model_class":"CacheEntry",`) {
			t.Errorf("%s: GET %s/<composite id> = %d %s; want the record", tt.version, path, got.status, got.body)
		}
	}
}

func TestVersionEndpointPerEra(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		opt  gitlabtest.ServerOption
		want string
	}{
		{nil, "19.2.0-ee"},
		{gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 11}), "18.11.0-ee"},
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
	// 19.2 and later check the Data management permissions (corrections
	// #1); releases before do not.
	for _, tt := range []struct {
		version gitlabtest.Version
		status  int
		want    string
	}{
		{gitlabtest.Version{Major: 18, Minor: 9}, 200, `[]`},
		{gitlabtest.Version{Major: 18, Minor: 10}, 200, `[]`},
		{gitlabtest.Version{Major: 19, Minor: 1}, 200, `[]`},
		{gitlabtest.Version{Major: 19, Minor: 2}, 403, denied("read_admin_data_management")},
		{gitlabtest.Version{Major: 20, Minor: 1}, 403, denied("read_admin_data_management")},
	} {
		srv := newFake(t, gitlabtest.WithVersion(tt.version))
		srv.AddToken(gitlabtest.Token{Token: "fine-none", Admin: true, Granular: true})
		wantJSON(t, tt.version.String()+" fine-grained token", doRaw(t, srv, "GET", "/admin/data_management/uploads", "fine-none", ""), tt.status, tt.want)
	}
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
