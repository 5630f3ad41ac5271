package gitlabdata

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func i64(n int64) *int64 { return &n }

func TestGeoSitesListAndGet(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	expect(t, ts, route{method: "GET", path: "/geo_sites", query: url.Values{"per_page": {"50"}}, fixture: "geosites_list"})
	expect(t, ts, route{method: "GET", path: "/geo_sites/2", fixture: "geosites_get"})
	sites, resp, err := ts.client.GeoSites.List(t.Context(), &ListGeoSitesOptions{PerPage: 50})
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	if len(sites) != 3 || resp.Total != 3 || resp.RequestID != "01JBGEO5ITES0000000000000A" {
		t.Fatalf("List() = %d sites, total %d, request id %q", len(sites), resp.Total, resp.RequestID)
	}
	want := &GeoSite{
		ID: 2, Name: "gitlab-dr", URL: "https://dr.gitlab.example.com/", InternalURL: "https://dr.gitlab.example.com/",
		Enabled: true, FilesMaxCapacity: 10, ReposMaxCapacity: 25, VerificationMaxCapacity: 100, ContainerRepositoriesMaxCapacity: 10,
		SelectiveSyncShards: []string{}, SelectiveSyncNamespaceIDs: []int64{}, MinimumReverificationInterval: 90,
		SyncObjectStorage: new(bool), WebEditURL: "https://gitlab.example.com/admin/geo/sites/2/edit",
		WebGeoReplicationDetailsURL: "https://dr.gitlab.example.com/admin/geo/sites/2/replication/lfs_objects",
		Links: GeoSiteLinks{Self: "https://gitlab.example.com/api/v4/geo_sites/2", Status: "https://gitlab.example.com/api/v4/geo_sites/2/status",
			Repair: "https://gitlab.example.com/api/v4/geo_sites/2/repair"},
	}
	if diff := cmp.Diff(want, sites[1]); diff != "" {
		t.Errorf("List() site 2 mismatch (-want +got):\n%s", diff)
	}
	got, _, err := ts.client.GeoSites.Get(t.Context(), 2)
	if err != nil {
		t.Fatalf("Get(2) error = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get(2) mismatch (-want +got):\n%s", diff)
	}
	if !sites[0].Primary || sites[0].Selective() || !sites[2].Selective() {
		t.Errorf("primary %v, selective %v %v; want the first site primary and the third selective", sites[0].Primary, sites[0].Selective(), sites[2].Selective())
	}
}

// Every data type is decoded generically, including one the SDK has never
// heard of; nulls stay nil, "NN.NN%" is a number, and a Unix 0 the zero
// time.
func TestGeoSiteStatusDecodesEveryDataType(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	expect(t, ts, route{method: "GET", path: "/geo_sites/status", fixture: "geosites_status"})
	expect(t, ts, route{method: "GET", path: "/geo_sites/2/status", fixture: "geosites_status_one"})
	var statuses []*GeoSiteStatus
	for st, err := range ts.client.GeoSites.AllStatus(t.Context(), nil) {
		if err != nil {
			t.Fatalf("AllStatus() error = %v", err)
		}
		statuses = append(statuses, st)
	}
	if len(statuses) != 2 {
		t.Fatalf("AllStatus() gave %d statuses; want 2", len(statuses))
	}
	primary, secondary := statuses[0], statuses[1]
	one, _, err := ts.client.GeoSites.Status(t.Context(), 2)
	if err != nil {
		t.Fatalf("Status(2) error = %v", err)
	}
	if diff := cmp.Diff(secondary, one); diff != "" {
		t.Errorf("Status(2) and the listing's status of site 2 differ (-list +one):\n%s", diff)
	}
	types := func(s *GeoSiteStatus) []string {
		var out []string
		for name := range s.DataTypes {
			out = append(out, name)
		}
		return out
	}
	wantTypes := []string{"ci_secure_files", "container_repositories", "job_artifacts", "lfs_objects", "project_repositories", "project_uploads"}
	if diff := cmp.Diff(wantTypes, slices.Sorted(slices.Values(types(secondary)))); diff != "" {
		t.Errorf("data types mismatch (-want +got):\n%s", diff)
	}
	wantLFS := &GeoDataTypeStatus{Count: i64(58), SyncedCount: i64(56), FailedCount: i64(2), RegistryCount: i64(58),
		VerificationTotalCount: i64(58), VerifiedCount: i64(58), VerificationFailedCount: i64(0), SyncedInPercentage: 96.55, VerifiedInPercentage: 100}
	if diff := cmp.Diff(wantLFS, secondary.DataTypes["lfs_objects"]); diff != "" {
		t.Errorf("secondary lfs_objects mismatch (-want +got):\n%s", diff)
	}
	wantProjects := &GeoDataTypeStatus{Count: i64(40), ChecksumTotalCount: i64(40), ChecksummedCount: i64(39), ChecksumFailedCount: i64(1)}
	if diff := cmp.Diff(wantProjects, primary.DataTypes["project_repositories"]); diff != "" {
		t.Errorf("primary project_repositories mismatch (-want +got):\n%s", diff)
	}
	if d := secondary.DataTypes["project_repositories"]; d.VerificationFailedCount == nil || *d.VerificationFailedCount != 1 || d.FailedCount == nil || *d.FailedCount != 0 {
		t.Errorf("secondary project_repositories verification failed %v, failed %v; want 1 and 0 (the longest suffix first)", d.VerificationFailedCount, d.FailedCount)
	}
	if d := secondary.DataTypes["ci_secure_files"]; !d.Replicated() || d.SyncedInPercentage != 0 {
		t.Errorf("an empty data type: replicated %v, synced %v%%; want true, 0", d.Replicated(), d.SyncedInPercentage)
	}
	if (&GeoDataTypeStatus{}).Replicated() {
		t.Error("a data type with every count null reports Replicated")
	}
	wantFixed := GeoSiteStatus{
		GeoSiteID: 2, Healthy: false, Health: "Geo tracking database schema version does not match the latest migration.",
		HealthStatus: "Unhealthy", DBReplicationLagSeconds: i64(4), LastEventID: i64(2209), LastEventTime: time.Unix(1764759600, 0).UTC(),
		CursorLastEventID: i64(2190), CursorLastEventTime: time.Unix(1764759480, 0).UTC(),
		LastSuccessfulStatusCheck: time.Unix(1764759590, 0).UTC(), UpdatedAt: time.Date(2025, 12, 3, 10, 59, 50, 0, time.UTC),
		Version: "19.2.0-ee", Revision: "6d8a1c0b7f2", StorageShardsMatch: true, RepositoriesCount: i64(40),
		ContainerRepositoriesReplicationEnabled: new(bool),
	}
	*wantFixed.ContainerRepositoriesReplicationEnabled = true
	got := *secondary
	got.DataTypes, got.Other = nil, nil
	if diff := cmp.Diff(wantFixed, got); diff != "" {
		t.Errorf("secondary fixed fields mismatch (-want +got):\n%s", diff)
	}
	if !primary.CursorLastEventTime.IsZero() || primary.CursorLastEventID != nil || primary.ReplicationSlotsUsedInPercentage != 50 || *primary.ReplicationSlotsMaxRetainedWALBytes != 4096 {
		t.Errorf("primary cursor %v/%v, slots %v%%; want none, zero time, 50%%", primary.CursorLastEventID, primary.CursorLastEventTime, primary.ReplicationSlotsUsedInPercentage)
	}
	// What is not a data type stays in Other, as sent.
	for _, k := range []string{"repositories_checked_in_percentage", "projects_count", "git_fetch_event_count_weekly", "namespaces", "_links", "repositories_checked_count"} {
		if _, ok := secondary.Other[k]; !ok {
			t.Errorf("Other lacks %q", k)
		}
	}
	for _, name := range []string{"repositories", "replication_slots", "projects", "git_fetch_event"} {
		if _, ok := secondary.DataTypes[name]; ok {
			t.Errorf("%q decoded as a data type", name)
		}
	}
}

func TestGeoSiteStatusRefusesBadValues(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"geo_node_id":"two"}`,
		`{"lfs_objects_registry_count":1,"lfs_objects_synced_in_percentage":"ninety%"}`,
		`{"last_event_timestamp":"yesterday"}`,
		`[1]`,
	} {
		var st GeoSiteStatus
		if err := json.Unmarshal([]byte(body), &st); err == nil {
			t.Errorf("Unmarshal(%s) succeeded; want an error", body)
		}
	}
}

func TestGeoSitesRefusesBadIDsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	refuseOthers(t, ts)
	for _, id := range []int64{0, -1} {
		if _, _, err := ts.client.GeoSites.Get(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Get(%d) error = %v; want ErrInvalidArgument", id, err)
		}
		if _, _, err := ts.client.GeoSites.Status(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Status(%d) error = %v; want ErrInvalidArgument", id, err)
		}
	}
	if _, _, err := ts.client.GeoSites.List(t.Context(), &ListGeoSitesOptions{PerPage: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("List(per_page -1) error = %v; want ErrInvalidArgument", err)
	}
}

// A token without admin mode gets GitLab's 403; the error says what token
// the Geo API needs.
func TestGeoSitesForbidden(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	expect(t, ts, route{method: "GET", path: "/geo_sites/status", status: http.StatusForbidden, json: `{"message":"403 Forbidden"}`})
	_, _, err := ts.client.GeoSites.ListStatus(t.Context(), nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrForbidden) || apiErr.Hint != "this API needs an administrator's token, and admin mode where the instance enables it" {
		t.Errorf("ListStatus() error = %v; want a 403 with the admin hint", err)
	}
}

func TestDataTypeModels(t *testing.T) {
	t.Parallel()
	for dataType, model := range map[string]ModelName{
		"project_repositories":      ModelProjects,
		"job_artifacts":             ModelCIJobArtifacts,
		"pipeline_artifacts":        ModelCIPipelineArtifacts,
		"package_files":             ModelPackagesPackageFiles,
		"project_wiki_repositories": ModelProjectsWikiRepositories,
		"lfs_objects":               ModelLFSObjects,
		"uploads":                   ModelUploads,
		"project_uploads":           "geo_project_uploads",
		"abuse_report_uploads":      "geo_abuse_report_uploads",
		"new_things":                "new_things",
	} {
		if got := DataTypeModel(dataType); got != model {
			t.Errorf("DataTypeModel(%q) = %q; want %q", dataType, got, model)
		}
		if got := ModelDataType(model); got != dataType {
			t.Errorf("ModelDataType(%q) = %q; want %q", model, got, dataType)
		}
	}
	// Every model the SDK knows maps to a data type and back.
	for _, m := range ModelNames() {
		if back := DataTypeModel(ModelDataType(m)); back != m {
			t.Errorf("DataTypeModel(ModelDataType(%q)) = %q", m, back)
		}
	}
}
