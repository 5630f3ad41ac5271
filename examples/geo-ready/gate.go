package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// Thresholds are the limits the gate holds the sites to.
type Thresholds struct {
	MaxStatusAge    Duration `json:"max_status_age"`
	MaxLag          Duration `json:"max_db_replication_lag"`
	MaxEventsBehind int64    `json:"max_events_behind"`
	// MinSynced and MinVerified are percentages (100 in the final check).
	MinSynced   float64 `json:"min_synced_percent"`
	MinVerified float64 `json:"min_verified_percent"`
	// NotReplicated is a no-go in the final check only.
	NotReplicatedFails bool `json:"not_replicated_fails"`
}

// Duration is a time.Duration that marshals as "10m0s".
type Duration time.Duration

// MarshalText writes the duration as Go prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Results of a check.
const (
	pass     = "pass"     // within the limit
	fail     = "fail"     // out of the limit: no-go
	accepted = "accepted" // out of the limit, but an exception accepts it
	notice   = "notice"   // reported, not a no-go in this mode
)

// Check is one condition the gate looked at.
type Check struct {
	Site string `json:"site"`
	// Check names the condition, such as "healthy" or "sync_failures".
	Check string `json:"check"`
	// Subject is the data type or model, for the checks of one.
	Subject string `json:"subject,omitempty"`
	Result  string `json:"result"`
	// Seen is what the gate saw, Limit what it allows.
	Seen  string `json:"seen"`
	Limit string `json:"limit,omitempty"`
	// Action says what to do next, for a check that is not a pass.
	Action string `json:"action,omitempty"`
	// Reason is the reason of the exception that accepts it.
	Reason string `json:"reason,omitempty"`
	// value is Seen as a number, for the metrics.
	value float64
}

// key names a check across runs (-since).
func (c Check) key() string { return c.Site + "|" + c.Check + "|" + c.Subject }

// gate gathers what GitLab says and checks it.
type gate struct {
	c      *gitlabdata.Client
	t      Thresholds
	exc    *exceptions
	checks []Check
	// Primary and Secondaries describe the sites.
	primary     *gitlabdata.GeoSite
	secondaries []*gitlabdata.GeoSite
	version     *gitlabdata.ServerVersion
	// failedRecords counts the primary's failed checksums per model.
	failedRecords map[gitlabdata.ModelName]int
	checkedAt     time.Time
}

func (g *gate) add(c Check) { g.checks = append(g.checks, c) }

// run reads the sites, their status and the primary's checksums, and
// checks every condition.
func (g *gate) run(ctx context.Context) error {
	v, _, err := g.c.Version(ctx)
	if err != nil {
		return fmt.Errorf("asking GitLab for its version: %w", err)
	}
	g.version = v
	sites, err := g.sites(ctx)
	if err != nil {
		return err
	}
	for _, s := range sites {
		if s.Primary {
			g.primary = s
		} else {
			g.secondaries = append(g.secondaries, s)
		}
	}
	if g.primary == nil {
		return errors.New("GitLab lists no primary Geo site: this instance does not use Geo, or the token sees no sites")
	}
	statuses, err := g.statuses(ctx)
	if err != nil {
		return err
	}
	pst := statuses[g.primary.ID]
	if pst == nil {
		return fmt.Errorf("the primary site %s has no status yet: wait a minute (Geo computes it every minute) and run again", g.primary.Name)
	}
	if err := g.checkPrimary(ctx, pst); err != nil {
		return err
	}
	if len(g.secondaries) == 0 {
		g.add(Check{Site: g.primary.Name, Check: "secondaries", Seen: "none", Limit: "at least 1", Result: fail,
			Action: "there is no secondary site to fail over to: add one (Admin > Geo > Sites)"})
	}
	for _, s := range g.secondaries {
		g.checkSecondary(s, statuses[s.ID], pst)
	}
	g.exc.checkNames(sites, models(*v))
	return nil
}

func (g *gate) sites(ctx context.Context) ([]*gitlabdata.GeoSite, error) {
	var out []*gitlabdata.GeoSite
	for s, err := range g.c.GeoSites.All(ctx, &gitlabdata.ListGeoSitesOptions{PerPage: 100}) {
		if err != nil {
			return nil, fmt.Errorf("listing the Geo sites: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// statuses reads every site's status, and GitLab's clock from the Date of
// the answer (a status's age is measured on GitLab's clock).
func (g *gate) statuses(ctx context.Context) (map[int64]*gitlabdata.GeoSiteStatus, error) {
	out := map[int64]*gitlabdata.GeoSiteStatus{}
	for page := 1; page > 0; {
		list, resp, err := g.c.GeoSites.ListStatus(ctx, &gitlabdata.ListGeoSitesOptions{Page: page, PerPage: 100})
		if err != nil {
			return nil, fmt.Errorf("reading the Geo sites' status: %w", err)
		}
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil && g.checkedAt.IsZero() {
			g.checkedAt = t.UTC()
		}
		for _, st := range list {
			out[st.GeoSiteID] = st
		}
		page = resp.NextPage
	}
	if g.checkedAt.IsZero() {
		g.checkedAt = time.Now().UTC()
	}
	return out, nil
}

// checkPrimary checks the primary's checksums: per model through the Data
// management API, and per data type in its own status.
func (g *gate) checkPrimary(ctx context.Context, st *gitlabdata.GeoSiteStatus) error {
	g.failedRecords = map[gitlabdata.ModelName]int{}
	name := g.primary.Name
	for _, model := range models(*g.version) {
		c, err := g.c.DataManagement.Count(ctx, model, &gitlabdata.CountOptions{States: []gitlabdata.ChecksumState{gitlabdata.ChecksumStateFailed}})
		var apiErr *gitlabdata.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
			g.add(Check{Site: name, Check: "checksum_failures", Subject: string(model), Result: notice, Seen: "not served",
				Action: "this GitLab does not serve the model: nothing to check"})
			continue
		case err != nil:
			return fmt.Errorf("counting the failed checksums of %s: %w", model, err)
		case c.ByState == nil:
			g.add(Check{Site: name, Check: "checksum_failures", Subject: string(model), Result: notice, Seen: "verification off",
				Action: "Geo does not verify this model: its records have no checksum"})
			continue
		}
		n := c.ByState[gitlabdata.ChecksumStateFailed]
		g.failedRecords[model] = n.N
		check := Check{Site: name, Check: "checksum_failures", Subject: string(model), Seen: n.String(), Limit: "0", value: float64(n.N)}
		if n.N == 0 {
			check.Result = pass
			g.exc.noRecordFailures(model)
			g.add(check)
			continue
		}
		ids, err := g.failedIDs(ctx, model)
		if err != nil {
			return err
		}
		g.judgeRecords(check, model, ids)
	}
	for _, dataType := range sortedTypes(st) {
		d := st.DataTypes[dataType]
		if d.ChecksumFailedCount == nil {
			continue
		}
		n := *d.ChecksumFailedCount
		model := gitlabdata.DataTypeModel(dataType)
		if counted, ok := g.failedRecords[model]; ok && n > 0 && int(n) <= counted {
			continue // the same failures as the model's records: judged above
		}
		check := Check{Site: name, Check: "status_checksum_failures", Subject: dataType, Seen: fmt.Sprint(n), Limit: "0", Result: pass, value: float64(n)}
		if n > 0 {
			if reason, ok, covered := g.exc.acceptFailures(name, dataType, n); ok {
				check.Result, check.Reason = accepted, reason
			} else {
				check.Result = fail
				check.Action = fmt.Sprintf("the primary's status counts %d failed checksums of %s that its Data management API does not list (it may not serve %s): look at Admin > Geo > Sites on the primary; accept them with a site exception (site %q, data_type %q, max_failed)%s",
					n, dataType, model, name, dataType, tooSmall(covered))
			}
		}
		g.add(check)
	}
	return nil
}

// models are the Data management models of release v, by their plural
// names on every release (the SDK sends GitLab 18.3 to 18.7 the singular
// form), so that they match Geo's data types and the exceptions.
func models(v gitlabdata.ServerVersion) []gitlabdata.ModelName {
	names := gitlabdata.ModelNamesFor(v)
	if v.AtLeast(18, 8) {
		return names
	}
	var out []gitlabdata.ModelName
	for _, plural := range gitlabdata.ModelNames() {
		if slices.Contains(names, plural.Singular()) {
			out = append(out, plural)
		}
	}
	return out
}

// maxListed bounds the failed records listed for one model.
const maxListed = 1000

// failedIDs lists the failed records of model (at most maxListed).
func (g *gate) failedIDs(ctx context.Context, model gitlabdata.ModelName) ([]string, error) {
	var ids []string
	for rec, err := range g.c.DataManagement.All(ctx, model, &gitlabdata.ListModelRecordsOptions{ChecksumState: gitlabdata.ChecksumStateFailed, PerPage: 100}) {
		if err != nil {
			return nil, fmt.Errorf("listing the failed records of %s: %w", model, err)
		}
		ids = append(ids, rec.RecordIdentifier.String())
		if len(ids) == maxListed {
			break
		}
	}
	return ids, nil
}

// judgeRecords splits the failed records of model into accepted ones and
// the others.
func (g *gate) judgeRecords(check Check, model gitlabdata.ModelName, failed []string) {
	acceptedIDs, reason := g.exc.acceptRecords(model, failed)
	left := len(failed) - len(acceptedIDs)
	switch {
	case left == 0 && len(failed) > 0 && check.value <= float64(len(failed)):
		check.Result, check.Reason = accepted, reason
		check.Seen = fmt.Sprintf("%s (%s %s)", check.Seen, recordWord(len(acceptedIDs)), strings.Join(acceptedIDs, ", "))
	default:
		check.Result = fail
		var others []string
		for _, id := range failed {
			if !slices.Contains(acceptedIDs, id) {
				others = append(others, id)
			}
		}
		shown := others[:min(len(others), 10)]
		more := ""
		if len(others) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(others)-len(shown))
		}
		check.Action = fmt.Sprintf("%s %s%s of %s failed their checksum on the primary: fix them and recalculate (checksum-audit -models %s -fix), or accept them in -exceptions with a reason",
			recordWord(len(others)), strings.Join(shown, ", "), more, model, model)
	}
	g.add(check)
}

func recordWord(n int) string {
	if n == 1 {
		return "record"
	}
	return "records"
}

// checkSecondary checks one secondary's status against the primary's.
func (g *gate) checkSecondary(site *gitlabdata.GeoSite, st, pst *gitlabdata.GeoSiteStatus) {
	name := site.Name
	if st == nil {
		g.add(Check{Site: name, Check: "status", Result: fail, Seen: "none",
			Action: "the secondary never reported its status: check that its Geo services run and that it reaches the primary"})
		return
	}
	healthy := Check{Site: name, Check: "healthy", Seen: "healthy", Result: pass}
	if !st.Healthy {
		healthy.Result, healthy.Seen = fail, "unhealthy"
		if h := strings.TrimSpace(st.Health); h != "" && h != "Healthy" {
			healthy.Seen += ": " + h
		}
		healthy.Action = "fix what the secondary reports (gitlab-rake gitlab:geo:check on it); a status over an hour old is unhealthy too"
	}
	g.add(healthy)

	age := Check{Site: name, Check: "status_age", Limit: time.Duration(g.t.MaxStatusAge).String(), Result: pass}
	if st.LastSuccessfulStatusCheck.IsZero() {
		age.Result, age.Seen = fail, "never"
		age.Action = "the secondary has not reported its status: check its Geo services (Geo::MetricsUpdateWorker runs every minute)"
	} else {
		d := max(g.checkedAt.Sub(st.LastSuccessfulStatusCheck).Round(time.Second), 0) // a clock ahead of GitLab's is not younger than now
		age.Seen, age.value = d.String(), d.Seconds()
		if d > time.Duration(g.t.MaxStatusAge) {
			age.Result = fail
			age.Action = "the secondary's status is stale: check that it reaches the primary and that its Sidekiq runs"
		}
	}
	g.add(age)

	lag := Check{Site: name, Check: "db_replication_lag", Limit: time.Duration(g.t.MaxLag).String(), Result: pass}
	switch {
	case st.DBReplicationLagSeconds == nil:
		lag.Result, lag.Seen = fail, "unknown"
		lag.Action = "the secondary detects no database replication: check PostgreSQL streaming replication"
	default:
		d := time.Duration(*st.DBReplicationLagSeconds) * time.Second
		lag.Seen, lag.value = d.String(), d.Seconds()
		if d > time.Duration(g.t.MaxLag) {
			lag.Result = fail
			lag.Action = "the database replica is behind: wait, or check the replication link"
		}
	}
	g.add(lag)

	events := Check{Site: name, Check: "events_behind", Limit: fmt.Sprint(g.t.MaxEventsBehind), Result: pass}
	switch {
	case pst.LastEventID == nil && st.LastEventID == nil:
		events.Seen = "0 (no Geo event yet)"
	case st.CursorLastEventID == nil || pst.LastEventID == nil:
		events.Result, events.Seen = fail, "unknown"
		events.Action = "the secondary reports no event-log cursor: check its Geo log cursor (geo-logcursor)"
	default:
		behind := *pst.LastEventID - *st.CursorLastEventID
		if st.LastEventID != nil {
			behind = max(behind, *st.LastEventID-*st.CursorLastEventID)
		}
		behind = max(behind, 0) // a cursor ahead of the primary's last event: the primary's status is the older one
		events.Seen, events.value = fmt.Sprint(behind), float64(behind)
		if st.CursorLastEventTime.IsZero() {
			events.Seen += " (cursor time unknown)"
		}
		if behind > g.t.MaxEventsBehind {
			events.Result = fail
			events.Action = "the secondary's log cursor is behind the primary's events: wait, or check geo-logcursor"
		}
	}
	g.add(events)

	g.add(same(name, "storage_shards_match", st.StorageShardsMatch, "the secondary's storage configuration differs from the primary's: make them match"))
	g.add(same(name, "oauth_application", !st.MissingOAuthApplication, "the secondary has no OAuth application: repair it (Admin > Geo > Sites > Repair)"))
	version := Check{Site: name, Check: "version", Seen: strings.TrimSpace(st.Version + " " + st.Revision), Limit: pst.Version + " " + pst.Revision, Result: pass}
	if version.Seen == "" {
		version.Seen = "unknown"
	}
	if st.Version != pst.Version || st.Revision != pst.Revision {
		version.Result = fail
		version.Action = "upgrade the sites to the same GitLab version and revision"
	}
	g.add(version)

	for _, dataType := range sortedTypes(st) {
		g.checkDataType(site, dataType, st.DataTypes[dataType], pst.DataTypes[dataType])
	}
}

// same is a check that is a pass when ok.
func same(site, name string, ok bool, action string) Check {
	c := Check{Site: site, Check: name, Seen: fmt.Sprint(ok), Limit: "true", Result: pass}
	if !ok {
		c.Result, c.Action = fail, action
	}
	return c
}

// checkDataType checks one data type of a secondary, as GitLab's own
// check does (percentages of the registry rows) plus what it leaves out:
// the registry rows against the primary's count (unless the site syncs
// selectively), and the failures, which an exception may accept (accepted
// items then count as synced or verified).
func (g *gate) checkDataType(site *gitlabdata.GeoSite, dataType string, d, p *gitlabdata.GeoDataTypeStatus) {
	name := site.Name
	if !d.Replicated() {
		c := Check{Site: name, Check: "replicated", Subject: dataType, Seen: "no counts", Result: notice,
			Action: "the secondary sends no counts for this data type: its replication is off (or not yet enabled); a no-go with -final"}
		if g.t.NotReplicatedFails {
			c.Result = fail
			c.Action = "the secondary sends no counts for this data type: enable its replication, or wait until it reports"
		}
		g.add(c)
		return
	}
	registry, failed, vfailed := value(d.RegistryCount), value(d.FailedCount), value(d.VerificationFailedCount)
	primary := int64(-1) // unknown, or not comparable (selective sync)
	if p != nil && p.Count != nil && !site.Selective() {
		primary = *p.Count
	}
	if max(primary, 0) == 0 && registry == 0 && failed+vfailed == 0 {
		g.add(Check{Site: name, Check: "data_type", Subject: dataType, Seen: "empty", Result: pass})
		return
	}
	failures := g.failures(site, dataType, failed, vfailed)
	acceptedFailed := failures.Result == accepted
	if primary >= 0 {
		rows := Check{Site: name, Check: "registry_rows", Subject: dataType, Seen: fmt.Sprintf("%d of the primary's %d", registry, primary),
			Limit: fmt.Sprintf("%.2f%%", g.t.MinSynced), Result: pass, value: float64(registry)}
		switch {
		case registry < primary && percent(registry, primary) < g.t.MinSynced:
			rows.Result = fail
			rows.Action = fmt.Sprintf("the secondary tracks %s fewer than the primary holds: it has not discovered them yet; wait for its registry to catch up (Geo::Secondary::RegistryConsistencyWorker)", plural(primary-registry, "item", "items"))
		case registry > primary:
			rows.Seen += fmt.Sprintf(" (%d more: rows of items gone from the primary, which GitLab removes)", registry-primary)
		}
		g.add(rows)
	}
	synced := value(d.SyncedCount)
	if acceptedFailed {
		synced += failed
	}
	g.share(name, dataType, "synced", synced, registry, g.t.MinSynced,
		"not every item is synced yet: wait for the secondary to catch up, or look at its sync queue (Admin > Geo > Sites > Replication details)")
	if d.VerificationTotalCount != nil {
		verified := value(d.VerifiedCount)
		if acceptedFailed { // an item that failed to sync is not verified either
			verified += failed + vfailed
		}
		g.share(name, dataType, "verified", verified, registry, g.t.MinVerified,
			"not every item is verified yet: wait for verification, or look at the verification queue")
	}
	g.add(failures)
}

// percent is part of whole in percent; 100 for an empty whole.
func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 100
	}
	return 100 * float64(part) / float64(whole)
}

// share checks that part of whole is at least min percent.
func (g *gate) share(site, dataType, what string, part, whole int64, minPercent float64, action string) {
	pct := percent(part, whole)
	c := Check{Site: site, Check: what, Subject: dataType, Seen: fmt.Sprintf("%d of %d (%.2f%%)", part, whole, pct),
		Limit: fmt.Sprintf("%.2f%%", minPercent), Result: pass, value: pct}
	if pct < minPercent {
		c.Result, c.Action = fail, action
	}
	g.add(c)
}

// failures is the check of the failed and verification-failed counts of a
// data type, which an exception may accept up to its max_failed.
func (g *gate) failures(site *gitlabdata.GeoSite, dataType string, failed, verificationFailed int64) Check {
	n := failed + verificationFailed
	c := Check{Site: site.Name, Check: "failures", Subject: dataType, Seen: fmt.Sprintf("%d failed, %d failed verification", failed, verificationFailed),
		Limit: "0", Result: pass, value: float64(n)}
	if n > 0 {
		reason, ok, covered := g.exc.acceptFailures(site.Name, dataType, n)
		if ok {
			c.Result, c.Reason = accepted, reason
		} else {
			c.Result = fail
			c.Action = "resync or reverify them (Admin > Geo > Sites > Replication details > " + dataType + "), or accept them in -exceptions with a reason" + tooSmall(covered)
		}
	}
	return c
}

// tooSmall says that an exception covers fewer failures than there are.
func tooSmall(covered int64) string {
	if covered < 0 {
		return ""
	}
	return fmt.Sprintf(" (an exception accepts only %d: raise its max_failed if the rest are acceptable too)", covered)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func value(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func sortedTypes(st *gitlabdata.GeoSiteStatus) []string {
	out := make([]string, 0, len(st.DataTypes))
	for t := range st.DataTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// verdict is go when no check failed.
func (g *gate) verdict() string {
	for _, c := range g.checks {
		if c.Result == fail {
			return "no-go"
		}
	}
	return "go"
}
