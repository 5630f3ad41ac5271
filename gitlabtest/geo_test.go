package gitlabtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// seedGeo gives the golden instance records in three models: projects
// with every kind of count, uploads with a disabled checksum, and LFS
// objects without verification.
func seedGeo(srv *gitlabtest.Server) {
	srv.AddRecords(gitlabdata.ModelProjects, 3, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelProjects, 1, gitlabdata.ChecksumStateFailed)
	srv.AddRecords(gitlabdata.ModelProjects, 1, gitlabdata.ChecksumStatePending)
	srv.AddRecords(gitlabdata.ModelUploads, 2, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStateDisabled)
	srv.AddRecords(gitlabdata.ModelLFSObjects, 2, gitlabdata.ChecksumStateSucceeded)
	srv.DisableVerification(gitlabdata.ModelLFSObjects)
}

// indentJSON pretty-prints body as the golden files are written, or
// returns it unchanged if it is not JSON.
func indentJSON(body string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(body), "", "  "); err != nil {
		return body
	}
	return buf.String() + "\n"
}

// objectKeys returns the keys of the JSON object body, in order.
func objectKeys(t *testing.T, body string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body %.80s is not a JSON object", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("reading keys: %v", err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("reading value of %v: %v", tok, err)
		}
	}
	return keys
}

// geoStatus gets a site's status as a map.
func geoStatus(t *testing.T, srv *gitlabtest.Server, id int64) map[string]any {
	t.Helper()
	got := adminDo(t, srv, "GET", fmt.Sprintf("/geo_sites/%d/status", id), "")
	if got.status != 200 {
		t.Fatalf("GET /geo_sites/%d/status = %d %s", id, got.status, got.body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got.body), &m); err != nil {
		t.Fatalf("GET /geo_sites/%d/status: %v", id, err)
	}
	return m
}

// pick returns the named keys of m.
func pick(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			v = "<absent>"
		}
		out[k] = v
	}
	return out
}

func TestGeoStatusGolden(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}), gitlabtest.WithGeoSecondaries(1),
		gitlabtest.WithExternalURL("https://gitlab.example.com"))
	seedGeo(srv)
	var bodies []string
	for _, tt := range []struct {
		path, golden string
	}{
		{"/geo_sites/1/status", "testdata/geo_status_primary.json"},
		{"/geo_sites/2/status", "testdata/geo_status_secondary.json"},
	} {
		want, err := os.ReadFile(tt.golden)
		if err != nil {
			t.Fatal(err)
		}
		got := adminDo(t, srv, "GET", tt.path, "")
		if got.status != 200 || got.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %q; want 200 application/json", tt.path, got.status, got.header.Get("Content-Type"))
		}
		if diff := cmp.Diff(string(want), indentJSON(got.body)); diff != "" {
			t.Errorf("GET %s mismatch with %s (-want +got):\n%s", tt.path, tt.golden, diff)
		}
		bodies = append(bodies, got.body)
	}
	// The listing holds the same statuses, by site id.
	got := adminDo(t, srv, "GET", "/geo_sites/status", "")
	if diff := cmp.Diff("["+strings.Join(bodies, ",")+"]", got.body); diff != "" {
		t.Errorf("GET /geo_sites/status mismatch (-want +got):\n%s", diff)
	}
}

func TestGeoSitesJSON(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithGeoSecondaries(1), gitlabtest.WithExternalURL("https://gitlab.example.com"))
	primary := `{"id":1,"name":"gitlab-primary","url":"https://gitlab.example.com/","internal_url":"https://gitlab.example.com/",` +
		`"primary":true,"enabled":true,"current":true,"files_max_capacity":10,"repos_max_capacity":10,` +
		`"verification_max_capacity":10,"container_repositories_max_capacity":2,"selective_sync_type":null,` +
		`"selective_sync_shards":[],"selective_sync_namespace_ids":[],"minimum_reverification_interval":90,` +
		`"web_edit_url":"https://gitlab.example.com/admin/geo/sites/1/edit","_links":{` +
		`"self":"https://gitlab.example.com/api/v4/geo_sites/1","status":"https://gitlab.example.com/api/v4/geo_sites/1/status",` +
		`"repair":"https://gitlab.example.com/api/v4/geo_sites/1/repair"}}`
	secondary := `{"id":2,"name":"gitlab-secondary-1","url":"http://secondary-1.gitlab.example/","internal_url":"http://secondary-1.gitlab.example/",` +
		`"primary":false,"enabled":true,"current":false,"files_max_capacity":10,"repos_max_capacity":10,` +
		`"verification_max_capacity":10,"container_repositories_max_capacity":2,"selective_sync_type":null,` +
		`"selective_sync_shards":[],"selective_sync_namespace_ids":[],"minimum_reverification_interval":90,` +
		`"sync_object_storage":false,"web_edit_url":"https://gitlab.example.com/admin/geo/sites/2/edit",` +
		`"web_geo_replication_details_url":"http://secondary-1.gitlab.example/admin/geo/sites/2/replication/ci_secure_files","_links":{` +
		`"self":"https://gitlab.example.com/api/v4/geo_sites/2","status":"https://gitlab.example.com/api/v4/geo_sites/2/status",` +
		`"repair":"https://gitlab.example.com/api/v4/geo_sites/2/repair"}}`
	wantJSON(t, "GET /geo_sites", adminDo(t, srv, "GET", "/geo_sites", ""), 200, "["+primary+","+secondary+"]")
	wantJSON(t, "GET /geo_sites/1", adminDo(t, srv, "GET", "/geo_sites/1", ""), 200, primary)
	wantJSON(t, "GET /geo_sites/2", adminDo(t, srv, "GET", "/geo_sites/2/", ""), 200, secondary)
	want := []gitlabtest.GeoSite{
		{ID: 1, Name: "gitlab-primary", URL: "https://gitlab.example.com/", Primary: true},
		{ID: 2, Name: "gitlab-secondary-1", URL: "http://secondary-1.gitlab.example/"},
	}
	if diff := cmp.Diff(want, srv.GeoSites()); diff != "" {
		t.Errorf("GeoSites() mismatch (-want +got):\n%s", diff)
	}

	// Without an external URL, the primary's url and the links use the
	// request's origin.
	plain := newFake(t)
	got := adminDo(t, plain, "GET", "/geo_sites/1", "")
	var site struct {
		URL   string            `json:"url"`
		Links map[string]string `json:"_links"`
	}
	if err := json.Unmarshal([]byte(got.body), &site); err != nil {
		t.Fatalf("GET /geo_sites/1: %v (%s)", err, got.body)
	}
	if site.URL != plain.URL()+"/" || site.Links["status"] != plain.URL()+"/api/v4/geo_sites/1/status" {
		t.Errorf("GET /geo_sites/1 url %q, status link %q; want %s/ and its API", site.URL, site.Links["status"], plain.URL())
	}
	if diff := cmp.Diff([]gitlabtest.GeoSite{{ID: 1, Name: "gitlab-primary", URL: plain.URL() + "/", Primary: true}}, plain.GeoSites()); diff != "" {
		t.Errorf("GeoSites() without secondaries mismatch (-want +got):\n%s", diff)
	}
}

func TestGeoDataTypesPerRelease(t *testing.T) {
	t.Parallel()
	older := []string{
		"ci_secure_files", "container_repositories", "dependency_proxy_blobs", "dependency_proxy_manifests",
		"design_management_repositories", "group_wiki_repositories", "job_artifacts", "lfs_objects",
		"merge_request_diffs", "package_files", "pages_deployments", "pipeline_artifacts",
		"project_repositories", "project_wiki_repositories", "snippet_repositories", "terraform_state_versions", "uploads",
	}
	v189 := append(slices.Clone(older), "packages_nuget_symbols", "supply_chain_attestations", "packages_helm_metadata_caches")
	v192 := append(slices.Clone(v189),
		"abuse_report_uploads", "achievement_uploads", "ai_vectorizable_file_uploads", "alert_management_metric_image_uploads",
		"appearance_uploads", "bulk_import_export_upload_uploads", "dependency_list_export_part_uploads",
		"dependency_list_export_uploads", "design_management_action_uploads", "group_uploads", "import_export_upload_uploads",
		"issuable_metric_image_uploads", "organization_detail_uploads", "personal_snippet_uploads",
		"project_import_export_relation_export_upload_uploads", "project_topic_uploads", "project_uploads",
		"user_permission_export_upload_uploads", "user_uploads", "vulnerability_archive_export_uploads",
		"vulnerability_export_part_uploads", "vulnerability_export_uploads", "vulnerability_remediation_uploads",
		"packages_debian_project_component_files")
	tests := []struct {
		version gitlabtest.Version
		want    []string
	}{
		{gitlabtest.Version{Major: 18, Minor: 7}, older},
		{gitlabtest.Version{Major: 18, Minor: 9}, v189},
		{gitlabtest.Version{Major: 19, Minor: 2}, v192},
	}
	suffixes := []string{"_count", "_checksum_total_count", "_checksummed_count", "_checksum_failed_count",
		"_synced_count", "_failed_count", "_registry_count", "_verification_total_count", "_verified_count",
		"_verification_failed_count"}
	for _, tt := range tests {
		srv := newFake(t, gitlabtest.WithVersion(tt.version), gitlabtest.WithGeoSecondaries(1))
		for _, id := range []int64{1, 2} {
			got := adminDo(t, srv, "GET", fmt.Sprintf("/geo_sites/%d/status", id), "")
			keys := objectKeys(t, got.body)
			// The data types, in order, are the prefixes of the
			// *_checksum_total_count keys.
			var types []string
			for _, k := range keys {
				if r, ok := strings.CutSuffix(k, "_checksum_total_count"); ok {
					types = append(types, r)
				}
			}
			if diff := cmp.Diff(tt.want, types); diff != "" {
				t.Errorf("%s site %d data types mismatch (-want +got):\n%s", tt.version, id, diff)
			}
			if n := len(gitlabtest.ModelNamesOf(tt.version)); len(types) != n {
				t.Errorf("%s site %d has %d data types; ModelNamesOf has %d", tt.version, id, len(types), n)
			}
			// Each data type's ten counts come together, in GitLab's
			// order, after geo_node_id, projects_count and
			// container_repositories_replication_enabled; its two
			// percentages follow the usage keys.
			var wantCounts, wantPercent []string
			for _, r := range tt.want {
				for _, s := range suffixes {
					wantCounts = append(wantCounts, r+s)
				}
				wantPercent = append(wantPercent, r+"_synced_in_percentage", r+"_verified_in_percentage")
			}
			n := len(wantCounts)
			if len(keys) < 3+n+6+len(wantPercent) {
				t.Fatalf("%s site %d has %d keys", tt.version, id, len(keys))
			}
			if diff := cmp.Diff(wantCounts, keys[3:3+n]); diff != "" {
				t.Errorf("%s site %d count keys mismatch (-want +got):\n%s", tt.version, id, diff)
			}
			if diff := cmp.Diff(wantPercent, keys[3+n+6:3+n+6+len(wantPercent)]); diff != "" {
				t.Errorf("%s site %d percentage keys mismatch (-want +got):\n%s", tt.version, id, diff)
			}
		}
	}

	// 18.3 to 18.7 count the records a request finds by the singular
	// name, also those seeded under it.
	legacy := newFake(t, gitlabtest.WithLegacy())
	legacy.AddRecords(gitlabdata.ModelLFSObjects, 2, gitlabdata.ChecksumStateSucceeded)
	legacy.AddRecords("snippet_repository", 3, gitlabdata.ChecksumStateFailed)
	got := pick(geoStatus(t, legacy, 1), "lfs_objects_count", "lfs_objects_checksummed_count",
		"snippet_repositories_count", "snippet_repositories_checksum_failed_count")
	want := map[string]any{"lfs_objects_count": 2.0, "lfs_objects_checksummed_count": 2.0,
		"snippet_repositories_count": 3.0, "snippet_repositories_checksum_failed_count": 3.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("18.7 primary counts mismatch (-want +got):\n%s", diff)
	}
}

func TestGeoAuthAndErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithGeoSecondaries(1))
	srv.AddUserToken("user-token", false)
	for _, path := range []string{"/geo_sites", "/geo_sites/status", "/geo_sites/1", "/geo_sites/2/status"} {
		wantJSON(t, "no token "+path, doRaw(t, srv, "GET", path, "", ""), 401, `{"message":"401 Unauthorized"}`)
		wantJSON(t, "non-admin "+path, doRaw(t, srv, "GET", path, "user-token", ""), 403, `{"message":"403 Forbidden"}`)
	}
	tests := []struct {
		name, method, path string
		status             int
		want               string
	}{
		{"unknown site", "GET", "/geo_sites/3", 404, `{"message":"404 Not found"}`},
		{"unknown status", "GET", "/geo_sites/3/status", 404, `{"message":"404 Not found"}`},
		{"site 0", "GET", "/geo_sites/0/status", 404, `{"message":"404 Not found"}`},
		{"id not an integer", "GET", "/geo_sites/primary", 400, `{"error":"id is invalid"}`},
		{"status id not an integer", "GET", "/geo_sites/x/status", 400, `{"error":"id is invalid"}`},
		{"refresh not a boolean", "GET", "/geo_sites/1/status?refresh=maybe", 400, `{"error":"refresh is invalid"}`},
		{"per_page 0", "GET", "/geo_sites/status?per_page=0", 400, `{"error":"per_page has a value not allowed"}`},
		{"page not an integer", "GET", "/geo_sites?page=x", 400, `{"error":"page is invalid"}`},
		{"POST /geo_sites is not served", "POST", "/geo_sites", 404, `{"error":"404 Not Found"}`},
		{"PUT /geo_sites/:id is not served", "PUT", "/geo_sites/2", 404, `{"error":"404 Not Found"}`},
		{"DELETE /geo_sites/:id is not served", "DELETE", "/geo_sites/2", 404, `{"error":"404 Not Found"}`},
		{"repair is not served", "POST", "/geo_sites/2/repair", 404, `{"error":"404 Not Found"}`},
		{"unknown sub-path", "GET", "/geo_sites/2/nope", 404, `{"error":"404 Not Found"}`},
	}
	for _, tt := range tests {
		wantJSON(t, tt.name, adminDo(t, srv, tt.method, tt.path, ""), tt.status, tt.want)
	}
	// The catch-all 404 comes before authentication.
	wantJSON(t, "unknown path without a token", doRaw(t, srv, "POST", "/geo_sites", "", ""), 404, `{"error":"404 Not Found"}`)
	if got := adminDo(t, srv, "GET", "/geo_sites/1/status?refresh=true", ""); got.status != 200 {
		t.Errorf("GET /geo_sites/1/status?refresh=true = %d; want 200", got.status)
	}
}

func TestGeoStatusPagination(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithGeoSecondaries(3), gitlabtest.WithExternalURL("https://gitlab.example.com"))
	got := adminDo(t, srv, "GET", "/geo_sites/status?per_page=3&page=2", "")
	want := map[string]string{
		"X-Page": "2", "X-Per-Page": "3", "X-Next-Page": "", "X-Prev-Page": "1", "X-Total": "4", "X-Total-Pages": "2",
		"Link": `<https://gitlab.example.com/api/v4/geo_sites/status?page=1&per_page=3>; rel="prev", ` +
			`<https://gitlab.example.com/api/v4/geo_sites/status?page=1&per_page=3>; rel="first", ` +
			`<https://gitlab.example.com/api/v4/geo_sites/status?page=2&per_page=3>; rel="last"`,
	}
	if diff := cmp.Diff(want, headerOf(got.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("GET /geo_sites/status page 2 headers mismatch (-want +got):\n%s", diff)
	}
	var page []struct {
		ID int64 `json:"geo_node_id"`
	}
	if err := json.Unmarshal([]byte(got.body), &page); err != nil || len(page) != 1 || page[0].ID != 4 {
		t.Errorf("GET /geo_sites/status page 2 = %s (%v); want the status of site 4", got.body, err)
	}
	got = adminDo(t, srv, "GET", "/geo_sites?per_page=2", "")
	want = map[string]string{
		"X-Page": "1", "X-Per-Page": "2", "X-Next-Page": "2", "X-Prev-Page": "", "X-Total": "4", "X-Total-Pages": "2",
		"Link": `<https://gitlab.example.com/api/v4/geo_sites?page=2&per_page=2>; rel="next", ` +
			`<https://gitlab.example.com/api/v4/geo_sites?page=1&per_page=2>; rel="first", ` +
			`<https://gitlab.example.com/api/v4/geo_sites?page=2&per_page=2>; rel="last"`,
	}
	if diff := cmp.Diff(want, headerOf(got.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("GET /geo_sites page 1 headers mismatch (-want +got):\n%s", diff)
	}
	if ids := objectIDs(t, got.body, "id"); !slices.Equal(ids, []int64{1, 2}) {
		t.Errorf("GET /geo_sites page 1 ids = %v; want [1 2]", ids)
	}
	// Past the last page: empty.
	wantJSON(t, "GET /geo_sites/status page 3", adminDo(t, srv, "GET", "/geo_sites/status?per_page=2&page=3", ""), 200, `[]`)
}

// objectIDs returns the key field of each object of the JSON array body.
func objectIDs(t *testing.T, body, key string) []int64 {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("%s is not an array of objects: %v", body, err)
	}
	var ids []int64
	for _, it := range items {
		f, _ := it[key].(float64)
		ids = append(ids, int64(f))
	}
	return ids
}

func TestGeoStatusOverrides(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithGeoSecondaries(2))
	srv.AddRecords(gitlabdata.ModelProjects, 4, gitlabdata.ChecksumStateSucceeded)
	keys := []string{"healthy", "health", "health_status", "project_repositories_failed_count",
		"db_replication_lag_seconds", "cursor_last_event_id", "selective_sync_type", "custom"}
	computed := map[string]any{"healthy": true, "health": "Healthy", "health_status": "Healthy",
		"project_repositories_failed_count": 0.0, "db_replication_lag_seconds": 0.0, "cursor_last_event_id": 4.0,
		"selective_sync_type": nil, "custom": "<absent>"}
	if diff := cmp.Diff(computed, pick(geoStatus(t, srv, 2), keys...)); diff != "" {
		t.Fatalf("computed status mismatch (-want +got):\n%s", diff)
	}
	order := objectKeys(t, adminDo(t, srv, "GET", "/geo_sites/2/status", "").body)

	// Through the Go method: numbers, strings, booleans and a forced null.
	if !srv.OverrideGeoSiteStatus(2, map[string]any{
		"healthy": false, "health": "Geo database configuration file is missing.", "health_status": "Unhealthy",
		"project_repositories_failed_count": 3, "db_replication_lag_seconds": 120,
		"cursor_last_event_id": json.RawMessage("null"), "selective_sync_type": "namespaces", "custom": []int{1},
	}) {
		t.Fatal("OverrideGeoSiteStatus(2) = false; want true")
	}
	overridden := map[string]any{"healthy": false, "health": "Geo database configuration file is missing.",
		"health_status": "Unhealthy", "project_repositories_failed_count": 3.0, "db_replication_lag_seconds": 120.0,
		"cursor_last_event_id": nil, "selective_sync_type": "namespaces", "custom": []any{1.0}}
	if diff := cmp.Diff(overridden, pick(geoStatus(t, srv, 2), keys...)); diff != "" {
		t.Errorf("overridden status mismatch (-want +got):\n%s", diff)
	}
	// GitLab's order stays; the unknown key comes last.
	if diff := cmp.Diff(append(slices.Clone(order), "custom"), objectKeys(t, adminDo(t, srv, "GET", "/geo_sites/2/status", "").body)); diff != "" {
		t.Errorf("key order after overrides mismatch (-want +got):\n%s", diff)
	}
	// The listing shows the same; other sites keep the computed values.
	var list []map[string]any
	if err := json.Unmarshal([]byte(adminDo(t, srv, "GET", "/geo_sites/status", "").body), &list); err != nil || len(list) != 3 {
		t.Fatalf("GET /geo_sites/status = %v, %v; want 3 statuses", list, err)
	}
	if diff := cmp.Diff(overridden, pick(list[1], keys...)); diff != "" {
		t.Errorf("listed site 2 mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(computed, pick(list[2], keys...)); diff != "" {
		t.Errorf("listed site 3 mismatch (-want +got):\n%s", diff)
	}
	// nil drops one override; the others stay.
	srv.OverrideGeoSiteStatus(2, map[string]any{"db_replication_lag_seconds": nil, "custom": nil})
	want := maps(overridden, map[string]any{"db_replication_lag_seconds": 0.0, "custom": "<absent>"})
	if diff := cmp.Diff(want, pick(geoStatus(t, srv, 2), keys...)); diff != "" {
		t.Errorf("after dropping two overrides mismatch (-want +got):\n%s", diff)
	}
	if !srv.ResetGeoSiteStatus(2) {
		t.Error("ResetGeoSiteStatus(2) = false; want true")
	}
	if diff := cmp.Diff(computed, pick(geoStatus(t, srv, 2), keys...)); diff != "" {
		t.Errorf("after ResetGeoSiteStatus mismatch (-want +got):\n%s", diff)
	}
	// Unknown sites and values that are not JSON.
	if srv.OverrideGeoSiteStatus(4, map[string]any{"healthy": false}) || srv.OverrideGeoSiteStatus(0, nil) || srv.ResetGeoSiteStatus(4) {
		t.Error("OverrideGeoSiteStatus or ResetGeoSiteStatus of an unknown site = true; want false")
	}
	if srv.OverrideGeoSiteStatus(2, map[string]any{"healthy": false, "bad": func() {}}) {
		t.Error("OverrideGeoSiteStatus with a func value = true; want false")
	}
	if got := geoStatus(t, srv, 2)["healthy"]; got != true {
		t.Errorf("healthy after a refused override = %v; want true (nothing changed)", got)
	}

	// Through the control plane.
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"merge", "PUT", "/-/fake/geo/sites/1/status",
			`{"healthy":false,"health":"Geo database configuration file is missing.","last_event_id":{"null": true},"replication_slots_used_count":0}`,
			200, `{"id":1,"overrides":{"health":"Geo database configuration file is missing.","healthy":false,"last_event_id":null,"replication_slots_used_count":0}}` + "\n"},
		{"null drops an override", "PUT", "/-/fake/geo/sites/1/status", `{"health":null}`,
			200, `{"id":1,"overrides":{"healthy":false,"last_event_id":null,"replication_slots_used_count":0}}` + "\n"},
		{"array", "PUT", "/-/fake/geo/sites/1/status", `[{"healthy":false}]`, 400, ctlNotObject},
		{"string", "PUT", "/-/fake/geo/sites/1/status", `"healthy"`, 400, ctlNotObject},
		{"empty body", "PUT", "/-/fake/geo/sites/1/status", ``, 400, ctlNotObject},
		{"invalid JSON", "PUT", "/-/fake/geo/sites/1/status", `{"healthy":`, 400, ctlNotObject},
		{"unknown site", "PUT", "/-/fake/geo/sites/4/status", `{}`, 404, `{"error":"no Geo site 4: the sites are 1 (the primary) to 3"}` + "\n"},
		{"unknown site reset", "DELETE", "/-/fake/geo/sites/9/status", ``, 404, `{"error":"no Geo site 9: the sites are 1 (the primary) to 3"}` + "\n"},
		{"not a site path", "PUT", "/-/fake/geo/sites/1", `{}`, 404, `{"error":"want PUT /-/fake/geo/sites/ID/status"}` + "\n"},
		{"not an id", "DELETE", "/-/fake/geo/sites/one/status", ``, 404, `{"error":"want DELETE /-/fake/geo/sites/ID/status"}` + "\n"},
	}
	for _, tt := range tests {
		got := control(t, srv, tt.method, tt.path, tt.body)
		if got.status != tt.status || got.body != tt.want {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	primaryKeys := []string{"healthy", "health", "last_event_id", "replication_slots_used_count", "replication_slots_count"}
	wantPrimary := map[string]any{"healthy": false, "health": "Healthy", "last_event_id": nil, "replication_slots_used_count": 0.0, "replication_slots_count": 2.0}
	if diff := cmp.Diff(wantPrimary, pick(geoStatus(t, srv, 1), primaryKeys...)); diff != "" {
		t.Errorf("primary after control overrides mismatch (-want +got):\n%s", diff)
	}
	if got := control(t, srv, "DELETE", "/-/fake/geo/sites/1/status", ""); got.status != 204 || got.body != "" {
		t.Errorf("DELETE /-/fake/geo/sites/1/status = %d %q; want 204 and no body", got.status, got.body)
	}
	wantPrimary = map[string]any{"healthy": true, "health": "Healthy", "last_event_id": 4.0, "replication_slots_used_count": 2.0, "replication_slots_count": 2.0}
	if diff := cmp.Diff(wantPrimary, pick(geoStatus(t, srv, 1), primaryKeys...)); diff != "" {
		t.Errorf("primary after DELETE mismatch (-want +got):\n%s", diff)
	}
}

const ctlNotObject = `{"error":"body must be a JSON object of status keys, such as {\"healthy\":false,\"db_replication_lag_seconds\":120}; null drops a key's override, {\"null\":true} makes the key null"}` + "\n"

// maps returns a copy of base with changes applied.
func maps(base, changes map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func TestGeoStatusFollowsRecordsAndClock(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithGeoSecondaries(1))
	keys := []string{"uploads_count", "uploads_checksum_total_count", "uploads_checksummed_count", "uploads_checksum_failed_count",
		"uploads_synced_count", "uploads_verified_count", "uploads_synced_in_percentage",
		"last_event_id", "last_event_timestamp", "cursor_last_event_id", "cursor_last_event_timestamp",
		"last_successful_status_check_timestamp", "updated_at"}
	now := testNow.Unix()
	fresh := map[string]any{"uploads_count": 0.0, "uploads_checksum_total_count": 0.0, "uploads_checksummed_count": 0.0,
		"uploads_checksum_failed_count": 0.0, "uploads_synced_count": nil, "uploads_verified_count": nil,
		"uploads_synced_in_percentage": "0.00%", "last_event_id": nil, "last_event_timestamp": 0.0,
		"cursor_last_event_id": nil, "cursor_last_event_timestamp": 0.0,
		"last_successful_status_check_timestamp": float64(now), "updated_at": "2025-07-24T14:22:18.643Z"}
	if diff := cmp.Diff(fresh, pick(geoStatus(t, srv, 1), keys...)); diff != "" {
		t.Errorf("primary of an empty instance mismatch (-want +got):\n%s", diff)
	}

	srv.AddRecords(gitlabdata.ModelUploads, 2, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStatePending)
	srv.AdvanceClock(time.Minute)
	primary := map[string]any{"uploads_count": 3.0, "uploads_checksum_total_count": 3.0, "uploads_checksummed_count": 2.0,
		"uploads_checksum_failed_count": 0.0, "uploads_synced_count": nil, "uploads_verified_count": nil,
		"uploads_synced_in_percentage": "0.00%", "last_event_id": 3.0, "last_event_timestamp": float64(now + 60),
		"cursor_last_event_id": nil, "cursor_last_event_timestamp": 0.0,
		"last_successful_status_check_timestamp": float64(now + 60), "updated_at": "2025-07-24T14:23:18.643Z"}
	if diff := cmp.Diff(primary, pick(geoStatus(t, srv, 1), keys...)); diff != "" {
		t.Errorf("primary after 3 records mismatch (-want +got):\n%s", diff)
	}

	// A failed record counts as failed on the primary; the secondary is
	// fully synced all the same. The event id grows, and its time is when
	// a status first showed it.
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStateFailed)
	srv.AdvanceClock(time.Minute)
	secondary := map[string]any{"uploads_count": 4.0, "uploads_checksum_total_count": nil, "uploads_checksummed_count": nil,
		"uploads_checksum_failed_count": nil, "uploads_synced_count": 4.0, "uploads_verified_count": 4.0,
		"uploads_synced_in_percentage": "100.00%", "last_event_id": 4.0, "last_event_timestamp": float64(now + 120),
		"cursor_last_event_id": 4.0, "cursor_last_event_timestamp": float64(now + 120),
		"last_successful_status_check_timestamp": float64(now + 120), "updated_at": "2025-07-24T14:24:18.643Z"}
	if diff := cmp.Diff(secondary, pick(geoStatus(t, srv, 2), keys...)); diff != "" {
		t.Errorf("secondary after a failed record mismatch (-want +got):\n%s", diff)
	}
	srv.AdvanceClock(time.Minute)
	primary = maps(primary, map[string]any{"uploads_count": 4.0, "uploads_checksum_total_count": 4.0,
		"uploads_checksum_failed_count": 1.0, "last_event_id": 4.0, "last_event_timestamp": float64(now + 120),
		"last_successful_status_check_timestamp": float64(now + 180), "updated_at": "2025-07-24T14:25:18.643Z"})
	if diff := cmp.Diff(primary, pick(geoStatus(t, srv, 1), keys...)); diff != "" {
		t.Errorf("primary after a failed record mismatch (-want +got):\n%s", diff)
	}

	// Step verifies the pending record (pending → started → succeeded)
	// and counts as an event each time.
	srv.Step()
	srv.Step()
	got := pick(geoStatus(t, srv, 1), "uploads_checksummed_count", "uploads_checksum_failed_count", "last_event_id", "last_event_timestamp")
	want := map[string]any{"uploads_checksummed_count": 3.0, "uploads_checksum_failed_count": 1.0, "last_event_id": 6.0, "last_event_timestamp": float64(now + 180)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("primary after two steps mismatch (-want +got):\n%s", diff)
	}
}

func TestGeoDemoAndWithoutGeo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []gitlabtest.ServerOption
		sites int
	}{
		{"default", nil, 1},
		{"demo", []gitlabtest.ServerOption{gitlabtest.WithDemoData()}, 2},
		{"demo without secondaries", []gitlabtest.ServerOption{gitlabtest.WithGeoSecondaries(0), gitlabtest.WithDemoData()}, 1},
		{"demo with 3 secondaries", []gitlabtest.ServerOption{gitlabtest.WithDemoData(), gitlabtest.WithGeoSecondaries(3)}, 4},
		{"negative", []gitlabtest.ServerOption{gitlabtest.WithGeoSecondaries(-2)}, 1},
		{"without Geo", []gitlabtest.ServerOption{gitlabtest.WithDemoData(), gitlabtest.WithoutGeo()}, 0},
	} {
		srv := newFake(t, tt.opts...)
		if n := len(srv.GeoSites()); n != tt.sites {
			t.Errorf("%s: %d sites; want %d", tt.name, n, tt.sites)
		}
		got := adminDo(t, srv, "GET", "/geo_sites/status", "")
		if x := got.header.Get("X-Total"); x != fmt.Sprint(tt.sites) {
			t.Errorf("%s: GET /geo_sites/status X-Total = %q; want %d", tt.name, x, tt.sites)
		}
	}

	// The demo's secondary mirrors the demo records.
	demo := newFake(t, gitlabtest.WithDemoData())
	got := pick(geoStatus(t, demo, 2), "project_repositories_count", "project_repositories_synced_count", "lfs_objects_verified_count")
	want := map[string]any{"project_repositories_count": 30.0, "project_repositories_synced_count": 30.0, "lfs_objects_verified_count": 80.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo secondary mismatch (-want +got):\n%s", diff)
	}

	// Without Geo there are no sites; switched back on, they return with
	// their overrides.
	srv := newFake(t, gitlabtest.WithGeoSecondaries(1))
	srv.OverrideGeoSiteStatus(2, map[string]any{"healthy": false})
	if got := control(t, srv, "PUT", "/-/fake/geo", `{"enabled":false}`); got.status != 200 {
		t.Fatalf("PUT /-/fake/geo = %d", got.status)
	}
	wantJSON(t, "GET /geo_sites without Geo", adminDo(t, srv, "GET", "/geo_sites", ""), 200, `[]`)
	got2 := adminDo(t, srv, "GET", "/geo_sites/status", "")
	wantJSON(t, "GET /geo_sites/status without Geo", got2, 200, `[]`)
	wantHeaders := map[string]string{"X-Page": "1", "X-Per-Page": "20", "X-Next-Page": "", "X-Prev-Page": "", "X-Total": "0", "X-Total-Pages": "1",
		"Link": `<` + srv.URL() + `/api/v4/geo_sites/status?page=1&per_page=20>; rel="first", <` + srv.URL() + `/api/v4/geo_sites/status?page=1&per_page=20>; rel="last"`}
	if diff := cmp.Diff(wantHeaders, headerOf(got2.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("empty listing headers mismatch (-want +got):\n%s", diff)
	}
	for _, path := range []string{"/geo_sites/1", "/geo_sites/1/status", "/geo_sites/2/status"} {
		wantJSON(t, "GET "+path+" without Geo", adminDo(t, srv, "GET", path, ""), 404, `{"message":"404 Not found"}`)
	}
	if srv.OverrideGeoSiteStatus(1, map[string]any{"healthy": false}) || srv.ResetGeoSiteStatus(1) || len(srv.GeoSites()) != 0 {
		t.Error("without Geo: OverrideGeoSiteStatus or ResetGeoSiteStatus found site 1, or GeoSites() is not empty")
	}
	if got := control(t, srv, "PUT", "/-/fake/geo/sites/1/status", `{}`); got.status != 404 ||
		got.body != `{"error":"no Geo site 1: the instance has no Geo (PUT /-/fake/geo {\"enabled\":true})"}`+"\n" {
		t.Errorf("control override without Geo = %d %s; want 404", got.status, got.body)
	}
	srv.SetGeo(true)
	if got := geoStatus(t, srv, 2)["healthy"]; got != false {
		t.Errorf("site 2 healthy after SetGeo(true) = %v; want false (the override kept)", got)
	}
	one := newFake(t)
	if got := control(t, one, "DELETE", "/-/fake/geo/sites/2/status", ``); got.status != 404 ||
		got.body != `{"error":"no Geo site 2: the only site is 1, the primary"}`+"\n" {
		t.Errorf("control reset of site 2 without secondaries = %d %s; want 404", got.status, got.body)
	}
}

// TestGeoStatusWithClient reads the statuses with a plain client, as a tool
// would: the primary's and the secondaries' last_event_id agree.
func TestGeoStatusWithClient(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithDemoData(), gitlabtest.WithGeoSecondaries(2))
	client := fakeClient(t, srv)
	var statuses []struct {
		ID          int64  `json:"geo_node_id"`
		LastEventID int64  `json:"last_event_id"`
		Cursor      *int64 `json:"cursor_last_event_id"`
		Health      string `json:"health_status"`
	}
	resp, err := client.Do(t.Context(), "GET", "geo_sites/status", nil, nil, &statuses)
	if err != nil {
		t.Fatalf("GET geo_sites/status error = %v", err)
	}
	if resp.Total != 3 || len(statuses) != 3 {
		t.Fatalf("GET geo_sites/status = %d statuses, X-Total %d; want 3", len(statuses), resp.Total)
	}
	for _, st := range statuses[1:] {
		if st.Cursor == nil || *st.Cursor != statuses[0].LastEventID || st.Health != "Healthy" {
			t.Errorf("site %d cursor %v, health %q; want the primary's last event %d and Healthy", st.ID, st.Cursor, st.Health, statuses[0].LastEventID)
		}
	}
}

// Make a Geo secondary unhealthy and lagging, read its status as a
// failover check would, then put it back.
func ExampleServer_OverrideGeoSiteStatus() {
	srv := gitlabtest.NewServer(gitlabtest.WithGeoSecondaries(1))
	defer srv.Close()
	srv.AddRecords(gitlabdata.ModelProjects, 10, gitlabdata.ChecksumStateSucceeded)

	type status struct {
		Healthy        bool   `json:"healthy"`
		Health         string `json:"health"`
		Lag            *int   `json:"db_replication_lag_seconds"`
		LastEvent      *int64 `json:"last_event_id"`
		Cursor         *int64 `json:"cursor_last_event_id"`
		ProjectsSynced string `json:"project_repositories_synced_in_percentage"`
	}
	show := func() {
		var st status
		if _, err := srv.Client().Do(context.Background(), "GET", "geo_sites/2/status", nil, nil, &st); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("healthy=%t health=%q lag=%d events behind=%d projects synced %s\n",
			st.Healthy, st.Health, *st.Lag, *st.LastEvent-*st.Cursor, st.ProjectsSynced)
	}
	show()
	srv.OverrideGeoSiteStatus(2, map[string]any{
		"healthy": false, "health": "Geo database configuration file is missing.", "health_status": "Unhealthy",
		"db_replication_lag_seconds": 120, "cursor_last_event_id": 7, "project_repositories_synced_in_percentage": "70.00%",
	})
	show()
	srv.ResetGeoSiteStatus(2)
	show()
	// Output:
	// healthy=true health="Healthy" lag=0 events behind=0 projects synced 100.00%
	// healthy=false health="Geo database configuration file is missing." lag=120 events behind=3 projects synced 70.00%
	// healthy=true health="Healthy" lag=0 events behind=0 projects synced 100.00%
}
