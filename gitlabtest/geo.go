package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// geoState is what the fake keeps of its Geo sites: the number of
// simulated secondaries, the status overrides per site, and the latest
// event id a status showed with the time it was first shown.
type geoState struct {
	secondaries int
	// overrides holds each site's overridden status keys; a value of
	// JSON null makes the key null.
	overrides map[int64]map[string]json.RawMessage
	// lastEventID and lastEventAt are the event id of the last status
	// computed and the fake's clock when that id was first seen.
	lastEventID int64
	lastEventAt time.Time
}

// GeoSite describes one of the fake's Geo sites, as [Server.GeoSites]
// returns them.
type GeoSite struct {
	// ID is the site's id: 1 for the primary, 2 and up for the
	// secondaries.
	ID int64
	// Name is "gitlab-primary" or "gitlab-secondary-<n>".
	Name string
	// URL ends with "/": the external URL of [WithExternalURL] (or
	// [Server.URL]) for the primary, "http://secondary-<n>.gitlab.example/"
	// for secondary n.
	URL string
	// Primary is true for site 1 only.
	Primary bool
}

// GeoSites returns the instance's Geo sites in id order: the primary
// (site 1) and the simulated secondaries of [WithGeoSecondaries]; none on
// an instance without Geo ([WithoutGeo], [Server.SetGeo]).
func (s *Server) GeoSites() []GeoSite {
	s.mu.Lock()
	n := s.geoSiteCountLocked()
	s.mu.Unlock()
	origin := s.cfg.external
	if origin == "" {
		origin = s.URL()
	}
	out := make([]GeoSite, 0, n)
	for id := int64(1); id <= int64(n); id++ {
		out = append(out, GeoSite{ID: id, Name: geoSiteName(id), URL: geoSiteURL(id, origin), Primary: id == 1})
	}
	return out
}

// geoSiteCountLocked is the number of Geo sites: none without Geo, else
// the primary and the secondaries.
func (s *Server) geoSiteCountLocked() int {
	if s.noGeo {
		return 0
	}
	return 1 + s.geo.secondaries
}

func geoSiteName(id int64) string {
	if id == 1 {
		return "gitlab-primary"
	}
	return "gitlab-secondary-" + strconv.FormatInt(id-1, 10)
}

// geoSiteURL is a site's url: the fake's origin for the primary.
func geoSiteURL(id int64, origin string) string {
	if id == 1 {
		return origin + "/"
	}
	return "http://secondary-" + strconv.FormatInt(id-1, 10) + ".gitlab.example/"
}

// OverrideGeoSiteStatus merges fields into the status of Geo site id, as
// GET /api/v4/geo_sites/:id/status and GET /api/v4/geo_sites/status show
// it, over the values the fake computes. Each value is encoded with
// encoding/json; a key whose value is nil drops that key's override (the
// key shows its computed value again), and json.RawMessage("null") or
// map[string]any{"null": true} makes the key null. Overridden keys keep
// their place in GitLab's key order; keys GitLab does not send are added
// at the end, in alphabetical order. No other key is derived from an
// overridden one: overriding healthy does not change health or
// health_status, nor a count its percentage. For example:
//
//	srv.OverrideGeoSiteStatus(2, map[string]any{
//		"healthy": false, "health": "Geo database configuration file is missing.",
//		"health_status": "Unhealthy", "db_replication_lag_seconds": 120,
//	})
//
// It reports false, and changes nothing, when there is no such site or a
// value cannot be encoded. The same is served on the control plane as PUT
// /-/fake/geo/sites/ID/status.
func (s *Server) OverrideGeoSiteStatus(id int64, fields map[string]any) bool {
	raw := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		if v == nil {
			raw[k] = nil
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		raw[k] = b
	}
	_, ok := s.overrideGeoStatus(id, raw)
	return ok
}

// overrideGeoStatus merges raw (nil drops an override) into site id's
// overrides and returns the overrides in effect.
func (s *Server) overrideGeoStatus(id int64, raw map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > int64(s.geoSiteCountLocked()) {
		return nil, false
	}
	ov := s.geo.overrides[id]
	if ov == nil {
		ov = make(map[string]json.RawMessage)
		if s.geo.overrides == nil {
			s.geo.overrides = make(map[int64]map[string]json.RawMessage)
		}
		s.geo.overrides[id] = ov
	}
	for k, v := range raw {
		if v == nil {
			delete(ov, k)
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err == nil {
			v = buf.Bytes()
		}
		if string(v) == `{"null":true}` {
			v = json.RawMessage("null")
		}
		ov[k] = v
	}
	out := make(map[string]json.RawMessage, len(ov))
	for k, v := range ov {
		out[k] = v
	}
	return out, true
}

// ResetGeoSiteStatus drops every override of Geo site id's status (see
// [Server.OverrideGeoSiteStatus]) and reports whether the site exists.
// The control plane serves it as DELETE /-/fake/geo/sites/ID/status.
func (s *Server) ResetGeoSiteStatus(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > int64(s.geoSiteCountLocked()) {
		return false
	}
	delete(s.geo.overrides, id)
	return true
}

// geoDataType is one replicable of the status: the :model_name the Data
// management API knows it by (plural) and the name of its status keys.
type geoDataType struct {
	model  gitlabdata.ModelName // plural model name
	status string               // <r> of the <r>_* keys
}

// geoReplicatorOrder is the order of GitLab 18.9's
// Gitlab::Geo::REPLICATOR_CLASSES, by model name, which is the order of
// the status keys. Models of later releases follow in alphabetical order.
var geoReplicatorOrder = []gitlabdata.ModelName{
	"ci_secure_files", "container_repositories", "dependency_proxy_blobs", "dependency_proxy_manifests",
	"design_management_repositories", "group_wiki_repositories", "ci_job_artifacts", "lfs_objects",
	"merge_request_diffs", "packages_package_files", "pages_deployments", "ci_pipeline_artifacts",
	"projects", "projects_wiki_repositories", "snippet_repositories", "terraform_state_versions",
	"uploads", "packages_nuget_symbols", "supply_chain_attestations", "packages_helm_metadata_caches",
}

// geoStatusName maps a plural model name to the name of its status keys
// (spec §1.4): the replicator's replicable name, pluralized.
func geoStatusName(model gitlabdata.ModelName) string {
	switch model {
	case "projects":
		return "project_repositories"
	case "ci_job_artifacts":
		return "job_artifacts"
	case "ci_pipeline_artifacts":
		return "pipeline_artifacts"
	case "packages_package_files":
		return "package_files"
	case "projects_wiki_repositories":
		return "project_wiki_repositories"
	}
	if owner, ok := strings.CutPrefix(string(model), "geo_"); ok && strings.HasSuffix(owner, "_uploads") {
		return owner
	}
	return string(model)
}

// pluralModelName returns the plural form of a model name of any era.
func pluralModelName(name gitlabdata.ModelName) gitlabdata.ModelName {
	for _, p := range replicatorModelNames {
		if p == string(name) {
			return name
		}
	}
	for _, p := range replicatorModelNames {
		if singularize(p) == string(name) {
			return gitlabdata.ModelName(p)
		}
	}
	return name
}

// geoDataTypes returns the data types of release v's status: one per model
// name of the release ([ModelNamesOf]), in GitLab's order.
func geoDataTypes(v Version) []geoDataType {
	names := ModelNamesOf(v)
	plural := make([]gitlabdata.ModelName, len(names))
	for i, n := range names {
		plural[i] = pluralModelName(n)
	}
	out := make([]geoDataType, 0, len(plural))
	for _, m := range geoReplicatorOrder {
		if slices.Contains(plural, m) {
			out = append(out, geoDataType{model: m, status: geoStatusName(m)})
		}
	}
	for _, m := range plural {
		if !slices.Contains(geoReplicatorOrder, m) {
			out = append(out, geoDataType{model: m, status: geoStatusName(m)})
		}
	}
	return out
}

// geoCounts are the primary's counts of one data type.
type geoCounts struct {
	records                             int64
	checksumTotal, checksummed, cFailed int64
	verification                        bool // verification enabled
}

// geoSnapshot is what every status of one request is computed from.
type geoSnapshot struct {
	types       []geoDataType
	counts      []geoCounts
	sites       int
	lastEventID int64
	lastEventAt time.Time
	now         time.Time
	overrides   map[int64]map[string]json.RawMessage
}

// geoSnapshotLocked counts the records of the release's models and
// updates the event counter.
func (s *Server) geoSnapshotLocked() geoSnapshot {
	snap := geoSnapshot{types: geoDataTypes(s.cfg.version), sites: s.geoSiteCountLocked(), now: s.now()}
	snap.counts = make([]geoCounts, len(snap.types))
	for i, dt := range snap.types {
		c := geoCounts{verification: true}
		store := dt.model
		if s.legacy() {
			// A store seeded under the singular name wins, as requests find it.
			if name, ok := s.resolveModelLocked(singularize(string(dt.model))); ok {
				store = name
			}
		}
		if m, ok := s.models[store]; ok {
			c.verification = !m.noVerify
			c.records = int64(len(m.recs))
			for j := range m.recs {
				switch m.recs[j].state {
				case stateDisabled:
					continue
				case stateSucceeded:
					c.checksummed++
				case stateFailed:
					c.cFailed++
				}
				c.checksumTotal++
			}
		}
		snap.counts[i] = c
	}
	// The event log grows with the instance: every record, storage move
	// and Step counts as one event.
	id := s.steps
	for _, m := range s.models {
		id += int64(len(m.recs))
	}
	for k := range s.moves {
		id += int64(len(s.moves[k].byTime))
	}
	if id != s.geo.lastEventID || s.geo.lastEventAt.IsZero() {
		s.geo.lastEventID, s.geo.lastEventAt = id, snap.now
	}
	snap.lastEventID, snap.lastEventAt = id, s.geo.lastEventAt
	snap.overrides = make(map[int64]map[string]json.RawMessage, len(s.geo.overrides))
	for site, ov := range s.geo.overrides {
		cp := make(map[string]json.RawMessage, len(ov))
		for k, v := range ov {
			cp[k] = v
		}
		snap.overrides[site] = cp
	}
	return snap
}

// kv is one key of a JSON object rendered in order.
type kv struct {
	k string
	v any
}

// percentage formats count/total as GitLab's number_to_percentage with
// precision 2; 0 when total is 0.
func percentage(count, total int64) string {
	if total == 0 {
		return "0.00%"
	}
	return strconv.FormatFloat(float64(count)/float64(total)*100, 'f', 2, 64) + "%"
}

// statusJSON renders site id's status (API::Entities::GeoSiteStatus) with
// its overrides.
func (snap *geoSnapshot) statusJSON(id int64, origin, version, revision string) []byte {
	primary := id == 1
	var out []kv
	add := func(k string, v any) { out = append(out, kv{k, v}) }
	add("geo_node_id", id)
	add("projects_count", nil)
	if primary {
		add("container_repositories_replication_enabled", nil)
	} else {
		add("container_repositories_replication_enabled", true)
	}
	// nullable returns v, or nil when ok is false.
	nullable := func(v int64, ok bool) any {
		if !ok {
			return nil
		}
		return v
	}
	var repositories any
	for i, dt := range snap.types {
		c := snap.counts[i]
		r := dt.status
		if primary {
			// Collected only for replicators whose verification is
			// enabled (load_primary_ssf_replicable_data).
			add(r+"_count", nullable(c.records, c.verification))
			add(r+"_checksum_total_count", nullable(c.checksumTotal, c.verification))
			add(r+"_checksummed_count", nullable(c.checksummed, c.verification))
			add(r+"_checksum_failed_count", nullable(c.cFailed, c.verification))
			for _, k := range []string{"_synced_count", "_failed_count", "_registry_count", "_verification_total_count", "_verified_count", "_verification_failed_count"} {
				add(r+k, nil)
			}
		} else {
			// Fully synced, and verified where verification is on.
			add(r+"_count", c.records)
			add(r+"_checksum_total_count", nil)
			add(r+"_checksummed_count", nil)
			add(r+"_checksum_failed_count", nil)
			add(r+"_synced_count", c.records)
			add(r+"_failed_count", int64(0))
			add(r+"_registry_count", c.records)
			add(r+"_verification_total_count", nullable(c.records, c.verification))
			add(r+"_verified_count", nullable(c.records, c.verification))
			add(r+"_verification_failed_count", nullable(0, c.verification))
		}
		if dt.model == "projects" {
			repositories = out[len(out)-10].v
		}
	}
	for _, k := range []string{"git_fetch_event_count_weekly", "git_push_event_count_weekly", "proxy_remote_requests_event_count_weekly", "proxy_local_requests_event_count_weekly"} {
		if primary {
			add(k, nil)
		} else {
			add(k, int64(0))
		}
	}
	add("repositories_checked_in_percentage", "0.00%")
	secondaries := int64(snap.sites - 1)
	if primary {
		add("replication_slots_used_in_percentage", percentage(secondaries, secondaries))
	} else {
		add("replication_slots_used_in_percentage", "0.00%")
	}
	for i, dt := range snap.types {
		c := snap.counts[i]
		if primary {
			add(dt.status+"_synced_in_percentage", "0.00%")
			add(dt.status+"_verified_in_percentage", "0.00%")
			continue
		}
		add(dt.status+"_synced_in_percentage", percentage(c.records, c.records))
		verified := int64(0)
		if c.verification {
			verified = c.records
		}
		add(dt.status+"_verified_in_percentage", percentage(verified, c.records))
	}
	add("repositories_count", repositories)
	if primary {
		add("replication_slots_count", secondaries)
		add("replication_slots_used_count", secondaries)
	} else {
		add("replication_slots_count", nil)
		add("replication_slots_used_count", nil)
	}
	add("healthy", true)
	add("health", "Healthy")
	add("health_status", "Healthy")
	add("missing_oauth_application", false)
	if primary {
		add("db_replication_lag_seconds", nil)
		add("replication_slots_max_retained_wal_bytes", int64(0))
	} else {
		add("db_replication_lag_seconds", int64(0))
		add("replication_slots_max_retained_wal_bytes", nil)
	}
	add("repositories_checked_count", nil)
	add("repositories_checked_failed_count", nil)
	// No event yet: a null id and timestamp 0, as GitLab sends.
	var eventID any
	var eventTS int64
	if snap.lastEventID > 0 {
		eventID, eventTS = snap.lastEventID, snap.lastEventAt.Unix()
	}
	add("last_event_id", eventID)
	add("last_event_timestamp", eventTS)
	if primary {
		add("cursor_last_event_id", nil)
		add("cursor_last_event_timestamp", int64(0))
	} else {
		add("cursor_last_event_id", eventID)
		add("cursor_last_event_timestamp", eventTS)
	}
	add("last_successful_status_check_timestamp", snap.now.Unix())
	add("version", version)
	add("revision", revision)
	add("selective_sync_type", nil)
	add("namespaces", []any{})
	add("updated_at", gitlabTime(snap.now))
	add("storage_shards_match", true)
	site := origin + "/api/v4/geo_sites/" + strconv.FormatInt(id, 10)
	add("_links", map[string]string{"self": site + "/status", "site": site})

	if ov := snap.overrides[id]; len(ov) > 0 {
		keys := make([]string, 0, len(ov))
		for k := range ov {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			i := slices.IndexFunc(out, func(e kv) bool { return e.k == k })
			if i < 0 {
				out = append(out, kv{k, ov[k]})
			} else {
				out[i].v = ov[k]
			}
		}
	}
	return appendObject(nil, out)
}

// appendObject renders kvs as a JSON object in their order.
func appendObject(b []byte, kvs []kv) []byte {
	b = append(b, '{')
	for i, e := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.k)
		b = append(b, ':')
		if m, ok := e.v.(map[string]string); ok {
			// _links: self first.
			b = append(b, `{"self":`...)
			b = appendString(b, m["self"])
			for _, k := range []string{"site", "status", "repair"} {
				if v, ok := m[k]; ok {
					b = append(b, ',')
					b = appendString(b, k)
					b = append(b, ':')
					b = appendString(b, v)
				}
			}
			b = append(b, '}')
			continue
		}
		b = append(b, mustJSON(e.v)...)
	}
	return append(b, '}')
}

// siteJSON renders site id as API::Entities::GeoSite: the capacities are
// GitLab's database defaults, no selective sync, and the organization ids
// left out (their feature flag is off by default).
func siteJSON(id int64, origin, firstType string) []byte {
	primary := id == 1
	url := geoSiteURL(id, origin)
	idText := strconv.FormatInt(id, 10)
	out := []kv{
		{"id", id}, {"name", geoSiteName(id)}, {"url", url}, {"internal_url", url},
		{"primary", primary}, {"enabled", true}, {"current", primary},
		{"files_max_capacity", 10}, {"repos_max_capacity", 10}, {"verification_max_capacity", 10},
		{"container_repositories_max_capacity", 2},
		{"selective_sync_type", nil}, {"selective_sync_shards", []string{}}, {"selective_sync_namespace_ids", []int64{}},
		{"minimum_reverification_interval", 90},
	}
	if !primary {
		out = append(out, kv{"sync_object_storage", false})
	}
	out = append(out, kv{"web_edit_url", origin + "/admin/geo/sites/" + idText + "/edit"})
	if !primary {
		out = append(out, kv{"web_geo_replication_details_url", url + "admin/geo/sites/" + idText + "/replication/" + firstType})
	}
	api := origin + "/api/v4/geo_sites/" + idText
	out = append(out, kv{"_links", map[string]string{"self": api, "status": api + "/status", "repair": api + "/repair"}})
	return appendObject(nil, out)
}

// matchGeo routes the Geo sites API (administrators only); nil means no
// Geo route. POST /geo_sites, PUT and DELETE /geo_sites/:id and POST
// /geo_sites/:id/repair are not served (the catch-all 404).
func (s *Server) matchGeo(c *call, segs []string) map[string]handler {
	if segs[0] != "geo_sites" {
		return nil
	}
	switch n := len(segs); {
	case n == 1:
		return map[string]handler{http.MethodGet: {fn: s.listGeoSites}}
	case n == 2 && segs[1] == "status":
		return map[string]handler{http.MethodGet: {fn: s.listGeoStatuses}}
	case n == 2 && segs[1] != "":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.getGeoSite(c, segs[1]) }}}
	case n == 3 && segs[1] != "" && segs[2] == "status":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.getGeoStatus(c, segs[1]) }}}
	}
	return nil
}

// geoPage validates the pagination params and returns the page of site
// ids, or ok false after a 400.
func (s *Server) geoPage(c *call) (first, last int64, op offsetPage, ok bool) {
	var errs paramErrors
	p := parsePaging(c.query, &errs, true)
	if errs.send(c) {
		return 0, 0, offsetPage{}, false
	}
	s.mu.Lock()
	total := s.geoSiteCountLocked()
	s.mu.Unlock()
	start, end := p.bounds(total)
	op = newOffsetPage(p, total <= countLimit, total, end-start, end < total)
	return int64(start) + 1, int64(end), op, true
}

// listGeoSites serves GET /geo_sites: every site by id, offset pagination.
func (s *Server) listGeoSites(c *call) {
	first, last, op, ok := s.geoPage(c)
	if !ok {
		return
	}
	origin := c.origin()
	firstType := geoDataTypes(s.cfg.version)[0].status
	b := []byte{'['}
	for id := first; id <= last; id++ {
		if id > first {
			b = append(b, ',')
		}
		b = append(b, siteJSON(id, origin, firstType)...)
	}
	b = append(b, ']')
	c.setOffsetHeaders(op, nil)
	c.raw(http.StatusOK, b)
}

// listGeoStatuses serves GET /geo_sites/status: one status per site, by
// site id, offset pagination.
func (s *Server) listGeoStatuses(c *call) {
	first, last, op, ok := s.geoPage(c)
	if !ok {
		return
	}
	origin := c.origin()
	s.mu.Lock()
	snap := s.geoSnapshotLocked()
	s.mu.Unlock()
	last = min(last, int64(snap.sites)) // sites may have gone meanwhile
	v := s.cfg.version
	b := []byte{'['}
	for id := first; id <= last; id++ {
		if id > first {
			b = append(b, ',')
		}
		b = append(b, snap.statusJSON(id, origin, v.String(), v.revision())...)
	}
	b = append(b, ']')
	c.setOffsetHeaders(op, nil)
	c.raw(http.StatusOK, b)
}

// geoSiteID reads the Integer :id, answering 400 for a non-integer and
// GitLab's RecordNotFound 404 for an unknown site.
func (s *Server) geoSiteID(c *call, param string) (int64, bool) {
	id, ok := parseInt(param)
	if !ok {
		c.grapeError(http.StatusBadRequest, "id is invalid")
		return 0, false
	}
	s.mu.Lock()
	n := s.geoSiteCountLocked()
	s.mu.Unlock()
	if id < 1 || id > int64(n) {
		c.message(http.StatusNotFound, "404 Not found")
		return 0, false
	}
	return id, true
}

// getGeoSite serves GET /geo_sites/:id.
func (s *Server) getGeoSite(c *call, param string) {
	id, ok := s.geoSiteID(c, param)
	if !ok {
		return
	}
	c.raw(http.StatusOK, siteJSON(id, c.origin(), geoDataTypes(s.cfg.version)[0].status))
}

// getGeoStatus serves GET /geo_sites/:id/status. The refresh param is
// validated as a Boolean and ignored, as in GitLab.
func (s *Server) getGeoStatus(c *call, param string) {
	var errs paramErrors
	boolParam(c.query, "refresh", &errs)
	if errs.send(c) {
		return
	}
	id, ok := s.geoSiteID(c, param)
	if !ok {
		return
	}
	s.mu.Lock()
	snap := s.geoSnapshotLocked()
	s.mu.Unlock()
	v := s.cfg.version
	c.raw(http.StatusOK, snap.statusJSON(id, c.origin(), v.String(), v.revision()))
}

// controlGeoStatus serves PUT and DELETE /-/fake/geo/sites/ID/status.
func (s *Server) controlGeoStatus(w http.ResponseWriter, method, sub string, body []byte) {
	idText, ok := strings.CutPrefix(sub, "sites/")
	idText, ok2 := strings.CutSuffix(idText, "/status")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || !ok2 || err != nil {
		controlError(w, http.StatusNotFound, "want "+method+" "+controlPrefix+"/geo/sites/ID/status")
		return
	}
	unknown := func() {
		s.mu.Lock()
		n := s.geoSiteCountLocked()
		s.mu.Unlock()
		msg := fmt.Sprintf("no Geo site %d: the sites are 1 (the primary) to %d", id, n)
		switch n {
		case 0:
			msg = fmt.Sprintf("no Geo site %d: the instance has no Geo (PUT %s/geo {\"enabled\":true})", id, controlPrefix)
		case 1:
			msg = fmt.Sprintf("no Geo site %d: the only site is 1, the primary", id)
		}
		controlError(w, http.StatusNotFound, msg)
	}
	if method == http.MethodDelete {
		if !s.ResetGeoSiteStatus(id) {
			unknown()
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var fields map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		controlError(w, http.StatusBadRequest, `body must be a JSON object of status keys, such as {"healthy":false,"db_replication_lag_seconds":120}; null drops a key's override, {"null":true} makes the key null`)
		return
	}
	for k, v := range fields {
		if string(v) == "null" {
			fields[k] = nil
		}
	}
	ov, ok := s.overrideGeoStatus(id, fields)
	if !ok {
		unknown()
		return
	}
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]kv, 0, len(keys))
	for _, k := range keys {
		out = append(out, kv{k, ov[k]})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	b := appendObject([]byte(`{"id":`+strconv.FormatInt(id, 10)+`,"overrides":`), out)
	_, _ = w.Write(append(b, "}\n"...))
}
