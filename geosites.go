package gitlabdata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GeoSitesService reads the Geo sites of an instance and their status, as
// the primary site knows them. It needs an administrator's token (and
// admin mode where the instance enables it).
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/
type GeoSitesService struct{ c *Client }

// ListGeoSitesOptions pages a listing of Geo sites or of their status.
type ListGeoSitesOptions struct {
	// Page is the page to fetch, from 1.
	Page int `url:"page,omitempty"`
	// PerPage is the page size: GitLab's default 20, at most 100.
	PerPage int `url:"per_page,omitempty"`
}

func (o *ListGeoSitesOptions) validate() error {
	if o == nil {
		return nil
	}
	return validatePaging(o.Page, o.PerPage)
}

// GeoSite is a Geo site: the primary, or a secondary that replicates it.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-configuration-about-all-geo-sites
type GeoSite struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	InternalURL string `json:"internal_url"`
	Primary     bool   `json:"primary"`
	Enabled     bool   `json:"enabled"`
	// Current is true for the site that answered the request.
	Current                          bool `json:"current"`
	FilesMaxCapacity                 int  `json:"files_max_capacity"`
	ReposMaxCapacity                 int  `json:"repos_max_capacity"`
	VerificationMaxCapacity          int  `json:"verification_max_capacity"`
	ContainerRepositoriesMaxCapacity int  `json:"container_repositories_max_capacity"`
	// SelectiveSyncType is "namespaces", "shards", "organizations", or ""
	// when the site replicates everything.
	SelectiveSyncType            string   `json:"selective_sync_type"`
	SelectiveSyncShards          []string `json:"selective_sync_shards"`
	SelectiveSyncNamespaceIDs    []int64  `json:"selective_sync_namespace_ids"`
	SelectiveSyncOrganizationIDs []int64  `json:"selective_sync_organization_ids,omitempty"`
	// MinimumReverificationInterval is in days.
	MinimumReverificationInterval int `json:"minimum_reverification_interval"`
	// SyncObjectStorage is nil for the primary (GitLab leaves it out).
	SyncObjectStorage           *bool        `json:"sync_object_storage,omitempty"`
	WebEditURL                  string       `json:"web_edit_url"`
	WebGeoReplicationDetailsURL string       `json:"web_geo_replication_details_url,omitempty"`
	Links                       GeoSiteLinks `json:"_links"`
}

// GeoSiteLinks are the API URLs of a site.
type GeoSiteLinks struct {
	Self   string `json:"self"`
	Status string `json:"status"`
	Repair string `json:"repair"`
}

// Selective reports whether the site replicates only part of the
// primary's data (by namespace, shard or organization).
func (s *GeoSite) Selective() bool { return s.SelectiveSyncType != "" }

// GeoSiteStatus is what a Geo site last reported of itself: its health,
// replication lag, event-log cursor and, for every data type it
// replicates, its counts. The primary's row counts what it holds and has
// checksummed; a secondary's row counts what it has synced and verified.
// Unix timestamps GitLab sends as 0 are the zero time.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-status-about-all-geo-sites
type GeoSiteStatus struct {
	GeoSiteID int64
	// Healthy is GitLab's verdict: the status is less than an hour old and
	// reports no failure. Health is "Healthy" or the failure's message;
	// HealthStatus "Healthy" or "Unhealthy".
	Healthy      bool
	Health       string
	HealthStatus string
	// MissingOAuthApplication is true for a secondary without its OAuth
	// application (users cannot sign in to it).
	MissingOAuthApplication bool
	// DBReplicationLagSeconds is nil on the primary, or when the secondary
	// detects no replication.
	DBReplicationLagSeconds *int64
	// LastEventID is the newest Geo event-log entry the site has seen;
	// CursorLastEventID the one a secondary has processed (nil on the
	// primary). Their times are zero when GitLab sends 0.
	LastEventID               *int64
	LastEventTime             time.Time
	CursorLastEventID         *int64
	CursorLastEventTime       time.Time
	LastSuccessfulStatusCheck time.Time
	// UpdatedAt is when the status row was last written; GitLab deems a
	// status older than an hour outdated (unhealthy).
	UpdatedAt          time.Time
	Version, Revision  string
	SelectiveSyncType  string
	StorageShardsMatch bool
	// Primary-only replication slot figures (nil on a secondary).
	ReplicationSlotsCount               *int64
	ReplicationSlotsUsedCount           *int64
	ReplicationSlotsMaxRetainedWALBytes *int64
	ReplicationSlotsUsedInPercentage    float64
	// RepositoriesCount is GitLab's alias of the project_repositories
	// count.
	RepositoriesCount                       *int64
	ContainerRepositoriesReplicationEnabled *bool
	// DataTypes holds every data type the status names, by GitLab's
	// status name (such as "project_repositories" or "lfs_objects"),
	// including types the SDK does not know. See DataTypeModel for the
	// Data management model of each.
	DataTypes map[string]*GeoDataTypeStatus
	// Other holds the keys the SDK does not decode into a field, as sent
	// (compacted).
	Other map[string]json.RawMessage
}

// GeoDataTypeStatus is the ten counts and two percentages a Geo status
// gives one data type. A count is nil when GitLab sends null: on the
// primary for the secondary-side counts and the reverse, and for a data
// type whose replication or verification is off.
type GeoDataTypeStatus struct {
	// Count is the primary's number of records on the primary's row, the
	// registry count on a secondary's.
	Count *int64
	// Primary side: records to checksum, checksummed, checksum failed.
	ChecksumTotalCount  *int64
	ChecksummedCount    *int64
	ChecksumFailedCount *int64
	// Secondary side: registry rows, synced, failed to sync, to verify,
	// verified, verification failed.
	RegistryCount           *int64
	SyncedCount             *int64
	FailedCount             *int64
	VerificationTotalCount  *int64
	VerifiedCount           *int64
	VerificationFailedCount *int64
	// SyncedInPercentage and VerifiedInPercentage are GitLab's percentages
	// of the registry rows ("100.00%" is 100).
	SyncedInPercentage   float64
	VerifiedInPercentage float64
}

// Replicated reports whether the site sends any count of the data type: a
// data type whose counts are all null is not replicated there.
func (d *GeoDataTypeStatus) Replicated() bool {
	for _, p := range d.counts() {
		if *p != nil {
			return true
		}
	}
	return false
}

// counts lists the count fields by their key suffix, longest first, so
// that "_verification_failed_count" is matched before "_failed_count".
func (d *GeoDataTypeStatus) counts() map[string]**int64 {
	return map[string]**int64{
		"_verification_failed_count": &d.VerificationFailedCount,
		"_verification_total_count":  &d.VerificationTotalCount,
		"_checksum_failed_count":     &d.ChecksumFailedCount,
		"_checksum_total_count":      &d.ChecksumTotalCount,
		"_checksummed_count":         &d.ChecksummedCount,
		"_registry_count":            &d.RegistryCount,
		"_verified_count":            &d.VerifiedCount,
		"_synced_count":              &d.SyncedCount,
		"_failed_count":              &d.FailedCount,
		"_count":                     &d.Count,
	}
}

// countSuffixes are the keys of counts, longest first.
var countSuffixes = func() []string {
	s := slices.Collect(maps.Keys((&GeoDataTypeStatus{}).counts()))
	slices.SortFunc(s, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return s
}()

// notDataTypes are status key prefixes that end like a data type's count
// but are not one.
var notDataTypes = []string{"repositories", "replication_slots", "projects"}

// UnmarshalJSON decodes GitLab's status JSON: the fixed keys into fields,
// every "<type>_..._count" and "<type>_..._in_percentage" into DataTypes.
// A name is a data type when its "_registry_count" or
// "_checksum_total_count" key is present.
func (s *GeoSiteStatus) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*s = GeoSiteStatus{DataTypes: map[string]*GeoDataTypeStatus{}, Other: map[string]json.RawMessage{}}
	fixed := map[string]any{
		"geo_node_id": &s.GeoSiteID, "healthy": &s.Healthy, "health": &s.Health, "health_status": &s.HealthStatus,
		"missing_oauth_application": &s.MissingOAuthApplication, "db_replication_lag_seconds": &s.DBReplicationLagSeconds,
		"last_event_id": &s.LastEventID, "cursor_last_event_id": &s.CursorLastEventID,
		"version": &s.Version, "revision": &s.Revision, "storage_shards_match": &s.StorageShardsMatch,
		"replication_slots_count": &s.ReplicationSlotsCount, "replication_slots_used_count": &s.ReplicationSlotsUsedCount,
		"replication_slots_max_retained_wal_bytes":   &s.ReplicationSlotsMaxRetainedWALBytes,
		"repositories_count":                         &s.RepositoriesCount,
		"container_repositories_replication_enabled": &s.ContainerRepositoriesReplicationEnabled,
	}
	unix := map[string]*time.Time{
		"last_event_timestamp": &s.LastEventTime, "cursor_last_event_timestamp": &s.CursorLastEventTime,
		"last_successful_status_check_timestamp": &s.LastSuccessfulStatusCheck,
	}
	types := map[string]bool{}
	for k := range raw {
		for _, marker := range []string{"_registry_count", "_checksum_total_count"} {
			if name, ok := strings.CutSuffix(k, marker); ok && !slices.Contains(notDataTypes, name) {
				types[name] = true
			}
		}
	}
	for k, v := range raw {
		if p, ok := fixed[k]; ok {
			if err := json.Unmarshal(v, p); err != nil {
				return fmt.Errorf("geo status key %s: %w", k, err)
			}
			continue
		}
		if p, ok := unix[k]; ok {
			t, err := unixTime(v)
			if err != nil {
				return fmt.Errorf("geo status key %s: %w", k, err)
			}
			*p = t
			continue
		}
		switch k {
		case "updated_at":
			if string(v) != "null" {
				if err := json.Unmarshal(v, &s.UpdatedAt); err != nil {
					return fmt.Errorf("geo status key %s: %w", k, err)
				}
			}
			continue
		case "selective_sync_type":
			var t *string
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("geo status key %s: %w", k, err)
			}
			if t != nil {
				s.SelectiveSyncType = *t
			}
			continue
		case "replication_slots_used_in_percentage":
			pct, err := percentage(v)
			if err != nil {
				return fmt.Errorf("geo status key %s: %w", k, err)
			}
			s.ReplicationSlotsUsedInPercentage = pct
			continue
		}
		if name, field, ok := dataTypeKey(k, types); ok {
			d := s.DataTypes[name]
			if d == nil {
				d = &GeoDataTypeStatus{}
				s.DataTypes[name] = d
			}
			if err := d.set(field, v); err != nil {
				return fmt.Errorf("geo status key %s: %w", k, err)
			}
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return fmt.Errorf("geo status key %s: %w", k, err)
		}
		s.Other[k] = compact.Bytes()
	}
	for name := range types {
		if s.DataTypes[name] == nil {
			s.DataTypes[name] = &GeoDataTypeStatus{}
		}
	}
	return nil
}

// dataTypeKey splits a status key of a data type in types into the type's
// name and the key's suffix.
func dataTypeKey(k string, types map[string]bool) (name, suffix string, ok bool) {
	for _, suffix := range append([]string{"_synced_in_percentage", "_verified_in_percentage"}, countSuffixes...) {
		if name, found := strings.CutSuffix(k, suffix); found && types[name] {
			return name, suffix, true
		}
	}
	return "", "", false
}

// set decodes the value of one of its keys.
func (d *GeoDataTypeStatus) set(suffix string, v json.RawMessage) error {
	switch suffix {
	case "_synced_in_percentage":
		pct, err := percentage(v)
		d.SyncedInPercentage = pct
		return err
	case "_verified_in_percentage":
		pct, err := percentage(v)
		d.VerifiedInPercentage = pct
		return err
	}
	return json.Unmarshal(v, d.counts()[suffix])
}

// percentage reads GitLab's "NN.NN%" (or a bare number).
func percentage(v json.RawMessage) (float64, error) {
	if string(v) == "null" {
		return 0, nil
	}
	var text string
	if err := json.Unmarshal(v, &text); err != nil {
		var n float64
		if json.Unmarshal(v, &n) == nil {
			return n, nil
		}
		return 0, err
	}
	n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(text), "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("percentage %q: want a number such as \"99.50%%\"", text)
	}
	return n, nil
}

// unixTime reads Unix seconds; 0 and null are the zero time.
func unixTime(v json.RawMessage) (time.Time, error) {
	var n *int64
	if err := json.Unmarshal(v, &n); err != nil {
		return time.Time{}, err
	}
	if n == nil || *n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(*n, 0).UTC(), nil
}

// DataTypeModel returns the Data management model of a Geo data type: the
// status names "project_repositories", "job_artifacts",
// "pipeline_artifacts", "package_files" and "project_wiki_repositories"
// are the models projects, ci_job_artifacts, ci_pipeline_artifacts,
// packages_package_files and projects_wiki_repositories; an upload type
// "<x>_uploads" is the model "geo_<x>_uploads"; any other name is its own
// model.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/
func DataTypeModel(dataType string) ModelName {
	if m, ok := dataTypeModels[dataType]; ok {
		return m
	}
	if x, ok := strings.CutSuffix(dataType, "_uploads"); ok && x != "" {
		return ModelName("geo_" + x + "_uploads")
	}
	return ModelName(dataType)
}

// ModelDataType is the inverse of DataTypeModel: the Geo status name of a
// Data management model.
func ModelDataType(model ModelName) string {
	for t, m := range dataTypeModels {
		if m == model {
			return t
		}
	}
	if x, ok := strings.CutPrefix(string(model), "geo_"); ok {
		if y, ok := strings.CutSuffix(x, "_uploads"); ok && y != "" {
			return y + "_uploads"
		}
	}
	return string(model)
}

// dataTypeModels are the data types whose status name is not their model
// name (geo-and-fleet.md §1.4).
var dataTypeModels = map[string]ModelName{
	"project_repositories":      ModelProjects,
	"job_artifacts":             ModelCIJobArtifacts,
	"pipeline_artifacts":        ModelCIPipelineArtifacts,
	"package_files":             ModelPackagesPackageFiles,
	"project_wiki_repositories": ModelProjectsWikiRepositories,
}

// List returns one page of the Geo sites, the primary first.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-configuration-about-all-geo-sites
func (s *GeoSitesService) List(ctx context.Context, opts *ListGeoSitesOptions) ([]*GeoSite, *Response, error) {
	u, err := s.listURL(opts, "geo_sites")
	return listPage[GeoSite](ctx, s.c, u, err)
}

// All returns every Geo site across pages (offset pagination). It is lazy,
// may be ranged more than once, and stops after the first error.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-configuration-about-all-geo-sites
func (s *GeoSitesService) All(ctx context.Context, opts *ListGeoSitesOptions) iter.Seq2[*GeoSite, error] {
	u, err := s.listURL(opts, "geo_sites")
	return all[GeoSite](ctx, s.c, u, err)
}

// Get returns one Geo site.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-configuration-about-a-specific-geo-site
func (s *GeoSitesService) Get(ctx context.Context, id int64) (*GeoSite, *Response, error) {
	u, err := s.siteURL(id)
	return callOne[GeoSite](ctx, s.c, "GET", u, err, nil)
}

// ListStatus returns one page of the sites' status, as the primary holds
// them (a site that never reported has none).
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-status-about-all-geo-sites
func (s *GeoSitesService) ListStatus(ctx context.Context, opts *ListGeoSitesOptions) ([]*GeoSiteStatus, *Response, error) {
	u, err := s.listURL(opts, "geo_sites", "status")
	return listPage[GeoSiteStatus](ctx, s.c, u, err)
}

// AllStatus returns the status of every site across pages (offset
// pagination). It is lazy, may be ranged more than once, and stops after
// the first error.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-status-about-all-geo-sites
func (s *GeoSitesService) AllStatus(ctx context.Context, opts *ListGeoSitesOptions) iter.Seq2[*GeoSiteStatus, error] {
	u, err := s.listURL(opts, "geo_sites", "status")
	return all[GeoSiteStatus](ctx, s.c, u, err)
}

// Status returns the status of one site: the live status for the site
// answering, the last reported one for the others.
//
// GitLab API docs: https://docs.gitlab.com/api/geo_sites/#retrieve-status-about-a-specific-geo-site
func (s *GeoSitesService) Status(ctx context.Context, id int64) (*GeoSiteStatus, *Response, error) {
	u, err := s.siteURL(id, "status")
	return callOne[GeoSiteStatus](ctx, s.c, "GET", u, err, nil)
}

func (s *GeoSitesService) listURL(opts *ListGeoSitesOptions, segments ...string) (*url.URL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return s.c.endpoint(segments, opts)
}

func (s *GeoSitesService) siteURL(id int64, more ...string) (*url.URL, error) {
	if id <= 0 {
		return nil, fmt.Errorf("%w: Geo site id %d: want a positive id", ErrInvalidArgument, id)
	}
	return s.c.endpoint(append([]string{"geo_sites", strconv.FormatInt(id, 10)}, more...), nil)
}
