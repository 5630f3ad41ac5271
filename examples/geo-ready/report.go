package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what -json prints: one object per run.
//
//	verdict           "go" or "no-go"
//	mode              "weeks_before" or "final" (-final)
//	checked_at        GitLab's clock (its Date header) when the status was read
//	instance, version the primary's API root and GitLab version
//	primary           the primary site's name; secondaries the others'
//	thresholds        the limits applied
//	checks            every check: site, check, subject (a data type or a
//	                  model), result ("pass", "fail", "accepted", "notice"),
//	                  seen, limit, action (what to do, when not a pass) and
//	                  reason (of the exception that accepts it)
//	stale_exceptions  exceptions that accepted nothing, with why ("no
//	                  longer fails", "no such site", "no such model ...")
//	since             with -since: the checks that fail now and did not
//	                  (new), failed and pass now (fixed), failed and are
//	                  accepted now (accepted)
//	requests          GitLab requests sent (all GET)
type Report struct {
	Verdict         string           `json:"verdict"`
	Mode            string           `json:"mode"`
	CheckedAt       time.Time        `json:"checked_at"`
	Instance        string           `json:"instance"`
	Version         string           `json:"version"`
	Primary         string           `json:"primary"`
	Secondaries     []string         `json:"secondaries"`
	Thresholds      Thresholds       `json:"thresholds"`
	Checks          []Check          `json:"checks"`
	StaleExceptions []StaleException `json:"stale_exceptions"`
	Since           *Since           `json:"since,omitempty"`
	Requests        int              `json:"requests"`
}

// Since compares a run with an earlier one (-since).
type Since struct {
	Previous time.Time `json:"previous"`
	New      []Check   `json:"new"`
	Fixed    []Check   `json:"fixed"`
	Accepted []Check   `json:"accepted"`
}

// readReport reads a report of an earlier run (-since).
func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var prev Report
	if err := json.Unmarshal(b, &prev); err != nil {
		return nil, fmt.Errorf("%s: not a report of geo-ready -json: %v", path, err)
	}
	if prev.Verdict == "" {
		return nil, fmt.Errorf("%s: not a report of geo-ready -json (no verdict)", path)
	}
	return &prev, nil
}

// compare fills r.Since from the earlier report prev.
func (r *Report) compare(prev *Report) {
	failedBefore := map[string]Check{}
	for _, c := range prev.Checks {
		if c.Result == fail {
			failedBefore[c.key()] = c
		}
	}
	s := &Since{Previous: prev.CheckedAt, New: []Check{}, Fixed: []Check{}, Accepted: []Check{}}
	now := map[string]Check{}
	for _, c := range r.Checks {
		now[c.key()] = c
		if _, before := failedBefore[c.key()]; c.Result == fail && !before {
			s.New = append(s.New, c)
		}
	}
	for k, c := range failedBefore {
		switch now[k].Result {
		case fail:
		case accepted:
			s.Accepted = append(s.Accepted, now[k])
		default:
			s.Fixed = append(s.Fixed, c)
		}
	}
	byKey := func(cs []Check) { sort.Slice(cs, func(i, j int) bool { return cs[i].key() < cs[j].key() }) }
	byKey(s.Fixed)
	byKey(s.Accepted)
	r.Since = s
}

// siteLevel are the checks of a whole site, always shown.
var siteLevel = map[string]bool{"healthy": true, "status_age": true, "db_replication_lag": true, "events_behind": true,
	"storage_shards_match": true, "oauth_application": true, "version": true, "status": true, "secondaries": true}

// printHuman prints the table: the checks of each site, the data-type
// checks that are not a pass (and a line for those that are), then what to
// do for each failure.
func printHuman(w io.Writer, r *Report) {
	mode := fmt.Sprintf("weeks before a failover (-final for the last check before it): lag at most %s, at most %d events behind, status at most %s old, at least %.2f%% synced and %.2f%% verified",
		time.Duration(r.Thresholds.MaxLag), r.Thresholds.MaxEventsBehind, time.Duration(r.Thresholds.MaxStatusAge), r.Thresholds.MinSynced, r.Thresholds.MinVerified)
	if r.Mode == "final" {
		mode = fmt.Sprintf("final (right before a failover): lag 0, 0 events behind, status at most %s old, 100%% synced and verified, every data type replicated", time.Duration(r.Thresholds.MaxStatusAge))
	}
	fmt.Fprintf(w, "Geo failover readiness of GitLab %s, %s\n", r.Version, r.CheckedAt.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "Mode: %s\n", mode)
	fmt.Fprintf(w, "Sites: %s (primary)", r.Primary)
	for _, s := range r.Secondaries {
		fmt.Fprintf(w, ", %s", s)
	}
	fmt.Fprintln(w)
	if len(r.Secondaries) == 0 {
		fmt.Fprintln(w, "No secondary site: only the primary's checksums are checked.")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tCHECK\tSUBJECT\tRESULT\tSEEN\tLIMIT")
	counts := map[string]int{}
	subjects := map[string]map[string]bool{} // site -> subject -> every check passed
	for _, c := range r.Checks {
		counts[c.Result]++
		if c.Subject != "" && (c.Check != "status_checksum_failures" || c.Result != pass) {
			if subjects[c.Site] == nil {
				subjects[c.Site] = map[string]bool{}
			}
			if ok, seen := subjects[c.Site][c.Subject]; !seen || ok {
				subjects[c.Site][c.Subject] = c.Result == pass
			}
		}
		if c.Result == pass && !siteLevel[c.Check] {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Site, c.Check, c.Subject, strings.ToUpper(result(c.Result)), c.Seen, c.Limit)
	}
	empty := map[string]int{}
	for _, c := range r.Checks {
		if c.Check == "data_type" && c.Seen == "empty" {
			empty[c.Site]++
		}
	}
	for _, site := range append([]string{r.Primary}, r.Secondaries...) {
		ok := 0
		for _, passed := range subjects[site] {
			if passed {
				ok++
			}
		}
		what := fmt.Sprintf("%d data types", len(subjects[site]))
		seen := fmt.Sprintf("%d synced and verified (%d empty)", ok, empty[site])
		if site == r.Primary {
			what = fmt.Sprintf("%d models", len(subjects[site]))
			seen = fmt.Sprintf("%d without a failed checksum", ok)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", site, "all", what, "", seen)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s: %d pass, %d fail, %d accepted, %s; %s, all GET.\n",
		plural(int64(len(r.Checks)), "check", "checks"), counts[pass], counts[fail], counts[accepted], plural(int64(counts[notice]), "notice", "notices"),
		plural(int64(r.Requests), "GitLab request", "GitLab requests"))
	if counts[fail] > 0 {
		fmt.Fprintln(w, "\nWhat to do:")
		for _, c := range r.Checks {
			if c.Result == fail {
				fmt.Fprintf(w, "  - %s %s%s: %s\n", c.Site, c.Check, subject(c), c.Action)
			}
		}
	}
	if counts[notice] > 0 {
		fmt.Fprintln(w, "\nNotices (not a no-go in this mode):")
		for _, c := range r.Checks {
			if c.Result == notice {
				fmt.Fprintf(w, "  - %s %s%s: %s\n", c.Site, c.Check, subject(c), c.Action)
			}
		}
	}
	if counts[accepted] > 0 {
		fmt.Fprintln(w, "\nAccepted by -exceptions:")
		for _, c := range r.Checks {
			if c.Result == accepted {
				fmt.Fprintf(w, "  - %s %s%s: %s (%s)\n", c.Site, c.Check, subject(c), c.Seen, c.Reason)
			}
		}
	}
	if len(r.StaleExceptions) > 0 {
		fmt.Fprintln(w, "\nStale exceptions (they accepted nothing: fix or remove them):")
		for _, x := range r.StaleExceptions {
			if x.Model != "" {
				fmt.Fprintf(w, "  - model %s, records %s: %s (%s)\n", x.Model, strings.Join(x.RecordIDs, ", "), x.Why, x.Reason)
			} else {
				fmt.Fprintf(w, "  - site %s, data type %s: %s (%s)\n", x.Site, x.DataType, x.Why, x.Reason)
			}
		}
	}
	if s := r.Since; s != nil {
		fmt.Fprintf(w, "\nSince the run of %s: %s, %d fixed, %d accepted.\n", s.Previous.Format("2006-01-02 15:04 MST"),
			plural(int64(len(s.New)), "new failure", "new failures"), len(s.Fixed), len(s.Accepted))
		for _, c := range s.New {
			fmt.Fprintf(w, "  new:      %s %s%s: %s\n", c.Site, c.Check, subject(c), c.Seen)
		}
		for _, c := range s.Fixed {
			fmt.Fprintf(w, "  fixed:    %s %s%s\n", c.Site, c.Check, subject(c))
		}
		for _, c := range s.Accepted {
			fmt.Fprintf(w, "  accepted: %s %s%s (%s)\n", c.Site, c.Check, subject(c), c.Reason)
		}
	}
	if r.Verdict == "go" {
		fmt.Fprintln(w, "\nGO: every check passed (or is accepted).")
	} else {
		fmt.Fprintf(w, "\nNO-GO: %s failed.\n", plural(int64(counts[fail]), "check", "checks"))
	}
}

func subject(c Check) string {
	if c.Subject == "" {
		return ""
	}
	return " " + c.Subject
}

func result(r string) string {
	if r == pass {
		return "ok"
	}
	if r == fail {
		return "no-go"
	}
	return r
}

// writeMetrics writes the run's figures in Prometheus's text format to
// path, atomically (for node_exporter's textfile collector). A nil r is a
// run where the gate could not run: up 0, ready 0, and no other figure.
func writeMetrics(path string, r *Report, failedRecords map[string]int, now time.Time) error {
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	up, ready := 0, 0
	if r != nil {
		up = 1
	}
	if r != nil && r.Verdict == "go" {
		ready = 1
	}
	gauge("gitlabdata_geo_gate_up", "Whether the last run of the Geo failover-readiness gate could read GitLab (1) or not (0).")
	fmt.Fprintf(&b, "gitlabdata_geo_gate_up %d\n", up)
	gauge("gitlabdata_geo_ready", "Whether the last Geo failover-readiness gate said go (1), or no-go or could not run (0).")
	fmt.Fprintf(&b, "gitlabdata_geo_ready %d\n", ready)
	gauge("gitlabdata_geo_last_attempt_timestamp_seconds", "When the gate last ran (the local clock).")
	fmt.Fprintf(&b, "gitlabdata_geo_last_attempt_timestamp_seconds %d\n", now.Unix())
	if r != nil {
		r.writeFigures(&b, gauge, failedRecords)
	}
	return writeFileAtomic(path, b.String())
}

// writeFigures writes the figures of a run that read GitLab.
func (r *Report) writeFigures(b *strings.Builder, gauge func(name, help string), failedRecords map[string]int) {
	gauge("gitlabdata_geo_last_run_timestamp_seconds", "When the gate last read the sites' status (GitLab's clock).")
	fmt.Fprintf(b, "gitlabdata_geo_last_run_timestamp_seconds %d\n", r.CheckedAt.Unix())
	gauge("gitlabdata_geo_checks", "Checks of the last run by result.")
	counts := map[string]int{}
	for _, c := range r.Checks {
		counts[c.Result]++
	}
	for _, res := range []string{pass, fail, accepted, notice} {
		fmt.Fprintf(b, "gitlabdata_geo_checks{result=%q} %d\n", res, counts[res])
	}
	for _, m := range []struct{ check, name, help string }{
		{"db_replication_lag", "gitlabdata_geo_db_replication_lag_seconds", "A secondary's database replication lag."},
		{"events_behind", "gitlabdata_geo_events_behind", "Geo events a secondary's log cursor is behind the primary."},
		{"status_age", "gitlabdata_geo_status_age_seconds", "Age of a secondary's last status."},
		{"failures", "gitlabdata_geo_failed_items", "Failed and verification-failed items of a data type on a secondary."},
	} {
		gauge(m.name, m.help)
		for _, c := range r.Checks {
			if c.Check == m.check && c.Seen != "unknown" && c.Seen != "never" {
				labels := fmt.Sprintf("site=%q", c.Site)
				if c.Subject != "" {
					labels += fmt.Sprintf(",data_type=%q", c.Subject)
				}
				fmt.Fprintf(b, "%s{%s} %g\n", m.name, labels, c.value)
			}
		}
	}
	gauge("gitlabdata_checksum_failed_records", "Records whose checksum failed on the primary, per Data management model.")
	models := make([]string, 0, len(failedRecords))
	for m := range failedRecords {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		fmt.Fprintf(b, "gitlabdata_checksum_failed_records{model=%q} %d\n", m, failedRecords[m])
	}
}

// checkWritable tells, before any request, whether writeFileAtomic can
// write path: its directory exists and takes a new file.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory: name a file, such as %s", path, filepath.Join(path, "geo_ready.prom"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".geo-ready-*.prom")
	if err != nil {
		return fmt.Errorf("cannot write next to %s: %w", path, err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// writeFileAtomic replaces path with text: a reader sees the old file or
// the new one, never half of one.
func writeFileAtomic(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".geo-ready-*.prom")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
