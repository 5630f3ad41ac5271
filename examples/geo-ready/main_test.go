package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// fleet starts a fake primary with two secondaries and records of two
// models, on a fixed clock, and points the tool at it. Not parallel:
// t.Setenv.
func fleet(t *testing.T, opts ...gitlabtest.ServerOption) *gitlabtest.Server {
	t.Helper()
	srv := gitlabtest.NewServer(append([]gitlabtest.ServerOption{gitlabtest.WithGeoSecondaries(2), gitlabtest.WithSeed(1),
		gitlabtest.WithClock(func() time.Time { return testNow })}, opts...)...)
	t.Cleanup(srv.Close)
	srv.AddRecords(gitlabdata.ModelLFSObjects, 10, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecords(gitlabdata.ModelProjects, 20, gitlabdata.ChecksumStateSucceeded)
	t.Setenv("GITLAB_URL", srv.URL())
	t.Setenv("GITLAB_TOKEN", srv.Token())
	return srv
}

// gate runs the tool and returns its exit code and output.
func runGate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(t.Context(), args, &out, &errs)
	return code, out.String(), errs.String()
}

// report runs the tool with -json and decodes the report.
func report(t *testing.T, args ...string) (int, *Report) {
	t.Helper()
	code, out, errs := runGate(t, append([]string{"-json"}, args...)...)
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not a report (exit %d): %v\n%s\n%s", code, err, out, errs)
	}
	return code, &r
}

// failing lists the failing checks as "site check subject".
func failing(r *Report) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Result == fail {
			out = append(out, strings.TrimSpace(c.Site+" "+c.Check+" "+c.Subject))
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The scenario: go, then no-go after one override, then go again
// with an exceptions file; every request a GET.
func TestGoThenNoGoThenAccepted(t *testing.T) {
	srv := fleet(t)
	code, r := report(t)
	if code != exitGo || r.Verdict != "go" || len(failing(r)) != 0 {
		t.Fatalf("first run: exit %d, verdict %s, failing %v; want go", code, r.Verdict, failing(r))
	}
	if diff := cmp.Diff([]string{"gitlab-secondary-1", "gitlab-secondary-2"}, r.Secondaries); diff != "" {
		t.Errorf("secondaries mismatch (-want +got):\n%s", diff)
	}
	srv.OverrideGeoSiteStatus(3, map[string]any{"lfs_objects_failed_count": 3, "lfs_objects_synced_count": 7})
	code, r = report(t)
	if diff := cmp.Diff([]string{"gitlab-secondary-2 synced lfs_objects", "gitlab-secondary-2 failures lfs_objects"}, failing(r)); code != exitNoGo || diff != "" {
		t.Errorf("after the override: exit %d, failing mismatch (-want +got):\n%s", code, diff)
	}
	exc := writeFile(t, "exceptions.json", `{"exceptions":[
		{"site":"gitlab-secondary-2","data_type":"lfs_objects","max_failed":3,"reason":"three objects of a deleted project (INC-7)"}]}`)
	// The accepted failures count as synced: no need to lower -min-synced.
	code, r = report(t, "-exceptions", exc)
	if code != exitGo || r.Verdict != "go" {
		t.Errorf("with the exception: exit %d, failing %v; want go", code, failing(r))
	}
	var acceptedChecks []string
	for _, c := range r.Checks {
		if c.Result == accepted {
			acceptedChecks = append(acceptedChecks, c.Site+" "+c.Check+" "+c.Subject+": "+c.Reason)
		}
	}
	if diff := cmp.Diff([]string{"gitlab-secondary-2 failures lfs_objects: three objects of a deleted project (INC-7)"}, acceptedChecks); diff != "" {
		t.Errorf("accepted mismatch (-want +got):\n%s", diff)
	}
	for _, req := range srv.Requests() {
		if req.Method != "GET" {
			t.Errorf("the gate sent %s %s", req.Method, req.Path)
		}
	}
	t.Logf("%d GitLab requests in the last run", r.Requests)
}

// Each secondary condition, broken by an override, fails its check (or
// is a notice where the issue says so).
func TestEachSecondaryCondition(t *testing.T) {
	for _, tc := range []struct {
		name     string
		override map[string]any
		args     []string
		failing  []string
		notice   string
	}{
		{"unhealthy", map[string]any{"healthy": false, "health": "Geo database configuration file is missing.", "health_status": "Unhealthy"}, nil,
			[]string{"gitlab-secondary-1 healthy"}, ""},
		{"status stale", map[string]any{"last_successful_status_check_timestamp": testNow.Add(-11 * time.Minute).Unix()}, nil,
			[]string{"gitlab-secondary-1 status_age"}, ""},
		{"never reported", map[string]any{"last_successful_status_check_timestamp": 0}, nil, []string{"gitlab-secondary-1 status_age"}, ""},
		{"lag", map[string]any{"db_replication_lag_seconds": 400}, nil, []string{"gitlab-secondary-1 db_replication_lag"}, ""},
		{"no replication", map[string]any{"db_replication_lag_seconds": json.RawMessage("null")}, nil, []string{"gitlab-secondary-1 db_replication_lag"}, ""},
		{"events behind", map[string]any{"cursor_last_event_id": -2000}, nil, []string{"gitlab-secondary-1 events_behind"}, ""},
		{"no cursor", map[string]any{"cursor_last_event_id": json.RawMessage("null")}, nil, []string{"gitlab-secondary-1 events_behind"}, ""},
		// A cursor time of 0 is unknown, not 50 years behind.
		{"cursor time 0", map[string]any{"cursor_last_event_timestamp": 0}, nil, nil, ""},
		{"shards differ", map[string]any{"storage_shards_match": false}, nil, []string{"gitlab-secondary-1 storage_shards_match"}, ""},
		{"other version", map[string]any{"version": "19.1.3-ee"}, nil, []string{"gitlab-secondary-1 version"}, ""},
		{"no OAuth application", map[string]any{"missing_oauth_application": true}, nil, []string{"gitlab-secondary-1 oauth_application"}, ""},
		{"registry rows missing", map[string]any{"project_repositories_registry_count": 10, "project_repositories_synced_count": 10}, nil,
			[]string{"gitlab-secondary-1 registry_rows project_repositories"}, ""},
		{"verification failed", map[string]any{"project_repositories_verification_failed_count": 1, "project_repositories_verified_count": 19}, nil,
			[]string{"gitlab-secondary-1 verified project_repositories", "gitlab-secondary-1 failures project_repositories"}, ""},
		{"failures of an empty data type", map[string]any{"ci_secure_files_failed_count": 2}, nil,
			[]string{"gitlab-secondary-1 failures ci_secure_files"}, ""},
		{"within the weeks-before thresholds", map[string]any{"db_replication_lag_seconds": 30, "cursor_last_event_id": -10}, nil, nil, ""},
		{"the same in the final check", map[string]any{"db_replication_lag_seconds": 30, "cursor_last_event_id": -10}, []string{"-final"},
			[]string{"gitlab-secondary-1 db_replication_lag", "gitlab-secondary-1 events_behind"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fleet(t)
			override := tc.override
			if v, ok := override["cursor_last_event_id"].(int); ok && v < 0 { // relative to the primary's last event
				st, _, err := srv.Client().GeoSites.Status(t.Context(), 1)
				if err != nil {
					t.Fatal(err)
				}
				override["cursor_last_event_id"] = *st.LastEventID + int64(v)
			}
			if !srv.OverrideGeoSiteStatus(2, override) {
				t.Fatal("override refused")
			}
			_, r := report(t, tc.args...)
			if diff := cmp.Diff(tc.failing, failing(r)); diff != "" {
				t.Errorf("failing checks mismatch (-want +got):\n%s", diff)
			}
			if (r.Verdict == "go") != (len(tc.failing) == 0) {
				t.Errorf("verdict %s with failing %v", r.Verdict, failing(r))
			}
		})
	}
}

// A data type a secondary sends no counts for is not replicated: reported,
// a no-go only in the final check.
func TestNotReplicated(t *testing.T) {
	srv := fleet(t)
	nulls := map[string]any{}
	for _, suffix := range []string{"_count", "_registry_count", "_synced_count", "_failed_count", "_verification_total_count", "_verified_count", "_verification_failed_count"} {
		nulls["lfs_objects"+suffix] = json.RawMessage("null")
	}
	srv.OverrideGeoSiteStatus(2, nulls)
	code, r := report(t)
	if code != exitGo {
		t.Errorf("weeks before: exit %d, failing %v; want go", code, failing(r))
	}
	found := false
	for _, c := range r.Checks {
		found = found || c.Check == "replicated" && c.Subject == "lfs_objects" && c.Result == notice
	}
	if !found {
		t.Error("no notice that lfs_objects is not replicated on gitlab-secondary-1")
	}
	code, r = report(t, "-final")
	if diff := cmp.Diff([]string{"gitlab-secondary-1 replicated lfs_objects"}, failing(r)); code != exitNoGo || diff != "" {
		t.Errorf("final: exit %d, failing mismatch (-want +got):\n%s", code, diff)
	}
}

// The primary's failed checksums, by record, accepted by id; an exception
// that matches nothing is stale.
func TestPrimaryChecksumFailuresAndStaleExceptions(t *testing.T) {
	srv := fleet(t)
	first := srv.AddRecords(gitlabdata.ModelUploads, 2, gitlabdata.ChecksumStateFailed)
	ids := []string{strconv.FormatInt(first, 10), strconv.FormatInt(first+1, 10)}
	_, r := report(t)
	if diff := cmp.Diff([]string{"gitlab-primary checksum_failures uploads"}, failing(r)); diff != "" {
		t.Errorf("failing mismatch (-want +got):\n%s", diff)
	}
	exc := writeFile(t, "x.json", `{"exceptions":[
		{"model":"uploads","record_ids":["`+ids[0]+`","`+ids[1]+`","999"],"reason":"known"},
		{"site":"gitlab-secondary-2","data_type":"uploads","max_failed":1,"reason":"fixed since"}]}`)
	code, r := report(t, "-exceptions", exc)
	if code != exitGo {
		t.Errorf("exit %d, failing %v; want go", code, failing(r))
	}
	want := []StaleException{
		{Exception{Model: "uploads", RecordIDs: []string{"999"}, Reason: "known"}, "no longer fails"},
		{Exception{Site: "gitlab-secondary-2", DataType: "uploads", MaxFailed: ptr(int64(1)), Reason: "fixed since"}, "no longer fails"},
	}
	if diff := cmp.Diff(want, r.StaleExceptions); diff != "" {
		t.Errorf("stale exceptions mismatch (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// An exception that names a site or a model this instance does not have
// is stale, and says so; record ids may be written as numbers.
func TestExceptionsOfNothing(t *testing.T) {
	fleet(t)
	exc := writeFile(t, "x.json", `{"exceptions":[
		{"site":"gitlab-secondary-9","data_type":"lfs_objects","max_failed":1,"reason":"old site"},
		{"model":"no_such_things","record_ids":[12, "13"],"reason":"typo"}]}`)
	code, r := report(t, "-exceptions", exc)
	if code != exitGo {
		t.Errorf("exit %d, failing %v; want go", code, failing(r))
	}
	want := []StaleException{
		{Exception{Site: "gitlab-secondary-9", DataType: "lfs_objects", MaxFailed: ptr(int64(1)), Reason: "old site"}, "no such site"},
		{Exception{Model: "no_such_things", RecordIDs: []string{"12", "13"}, Reason: "typo"}, "no such model on this GitLab release"},
	}
	if diff := cmp.Diff(want, r.StaleExceptions); diff != "" {
		t.Errorf("stale exceptions mismatch (-want +got):\n%s", diff)
	}
}

// A primary with no secondary is a no-go: there is nothing to fail over to.
func TestNoSecondary(t *testing.T) {
	fleet(t, gitlabtest.WithGeoSecondaries(0))
	code, r := report(t)
	if diff := cmp.Diff([]string{"gitlab-primary secondaries"}, failing(r)); code != exitNoGo || diff != "" {
		t.Errorf("exit %d, failing mismatch (-want +got):\n%s", code, diff)
	}
}

// In the final check too, failures accepted by an exception count as
// synced and verified.
func TestFinalWithAcceptedFailures(t *testing.T) {
	srv := fleet(t)
	srv.OverrideGeoSiteStatus(3, map[string]any{"lfs_objects_failed_count": 1, "lfs_objects_synced_count": 9,
		"lfs_objects_verification_failed_count": 1, "lfs_objects_verified_count": 8})
	exc := writeFile(t, "x.json", `{"exceptions":[{"site":"gitlab-secondary-2","data_type":"lfs_objects","max_failed":2,"reason":"INC-9"}]}`)
	if code, r := report(t, "-final", "-exceptions", exc); code != exitGo {
		t.Errorf("exit %d, failing %v; want go", code, failing(r))
	}
	short := writeFile(t, "y.json", `{"exceptions":[{"site":"gitlab-secondary-2","data_type":"lfs_objects","max_failed":1,"reason":"INC-9"}]}`)
	code, r := report(t, "-final", "-exceptions", short)
	want := []string{"gitlab-secondary-2 synced lfs_objects", "gitlab-secondary-2 verified lfs_objects", "gitlab-secondary-2 failures lfs_objects"}
	if diff := cmp.Diff(want, failing(r)); code != exitNoGo || diff != "" {
		t.Errorf("max_failed too small: exit %d, failing mismatch (-want +got):\n%s", code, diff)
	}
	for _, c := range r.Checks {
		if c.Check == "failures" && c.Result == fail && !strings.Contains(c.Action, "an exception accepts only 1") {
			t.Errorf("action %q does not say the exception is too small", c.Action)
		}
	}
}

// On a release before the plural model names, the demo with its
// exceptions is a go too: exceptions name models either way.
func TestLegacyRelease(t *testing.T) {
	srv := gitlabtest.NewServer(gitlabtest.WithDemoData(), gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 5}))
	t.Cleanup(srv.Close)
	t.Setenv("GITLAB_URL", srv.URL())
	t.Setenv("GITLAB_TOKEN", srv.Token())
	code, r := report(t, "-exceptions", "demo-exceptions.json")
	if code != exitGo || len(r.StaleExceptions) != 0 {
		t.Errorf("exit %d, failing %v, stale %v; want go and no stale exception", code, failing(r), r.StaleExceptions)
	}
}

// -since says what is new and what got fixed; -metrics-file writes the
// figures for node_exporter.
func TestSinceAndMetrics(t *testing.T) {
	srv := fleet(t)
	srv.OverrideGeoSiteStatus(2, map[string]any{"db_replication_lag_seconds": 900})
	code, out, _ := runGate(t, "-json")
	if code != exitNoGo {
		t.Fatalf("first run: exit %d", code)
	}
	prev := writeFile(t, "prev.json", out)
	srv.ResetGeoSiteStatus(2)
	srv.OverrideGeoSiteStatus(3, map[string]any{"storage_shards_match": false})
	metrics := filepath.Join(t.TempDir(), "geo.prom")
	code, r := report(t, "-since", prev, "-metrics-file", metrics)
	if code != exitNoGo || r.Since == nil {
		t.Fatalf("second run: exit %d, since %v", code, r.Since)
	}
	key := func(cs []Check) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.key())
		}
		return out
	}
	if diff := cmp.Diff([]string{"gitlab-secondary-2|storage_shards_match|"}, key(r.Since.New)); diff != "" {
		t.Errorf("new mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gitlab-secondary-1|db_replication_lag|"}, key(r.Since.Fixed)); diff != "" {
		t.Errorf("fixed mismatch (-want +got):\n%s", diff)
	}
	exc := writeFile(t, "x.json", `{"exceptions":[{"site":"gitlab-secondary-2","data_type":"lfs_objects","max_failed":1,"reason":"INC-9"}]}`)
	srv.OverrideGeoSiteStatus(3, map[string]any{"storage_shards_match": true, "lfs_objects_failed_count": 1, "lfs_objects_synced_count": 9})
	code, third, _ := runGate(t, "-json")
	if code != exitNoGo {
		t.Fatalf("third run: exit %d", code)
	}
	_, r = report(t, "-since", writeFile(t, "third.json", third), "-exceptions", exc)
	if diff := cmp.Diff([]string{"gitlab-secondary-2|failures|lfs_objects"}, key(r.Since.Accepted)); diff != "" {
		t.Errorf("accepted mismatch (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"gitlabdata_geo_ready 0\n",
		`gitlabdata_geo_checks{result="fail"} 1` + "\n",
		`gitlabdata_geo_db_replication_lag_seconds{site="gitlab-secondary-1"} 0` + "\n",
		`gitlabdata_geo_failed_items{site="gitlab-secondary-2",data_type="lfs_objects"} 0` + "\n",
		`gitlabdata_checksum_failed_records{model="lfs_objects"} 0` + "\n",
		"# TYPE gitlabdata_geo_events_behind gauge\n",
	} {
		if !strings.Contains(string(b), line) {
			t.Errorf("metrics file lacks %q:\n%s", line, b)
		}
	}
}

// The report's JSON shape, pinned by a golden file (GitLab's clock is the
// fake's fixed one; the instance URL and the revision are normalized).
func TestJSONReport(t *testing.T) {
	srv := fleet(t)
	srv.OverrideGeoSiteStatus(2, map[string]any{"healthy": false, "health": "Geo tracking database schema version does not match the latest migration.", "health_status": "Unhealthy"})
	_, out, _ := runGate(t, "-json")
	got := strings.ReplaceAll(out, srv.URL(), "http://gitlab.test")
	path := filepath.Join("testdata", "report.json")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("report.json mismatch (-want +got):\n%s", diff)
	}
}

// The embedded demo: no-go for its deliberate checksum failures, go with
// the shipped exceptions.
func TestDemo(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	code, out, errs := runGate(t)
	if code != exitNoGo || !strings.Contains(out, "NO-GO: 7 checks failed.") {
		t.Errorf("demo: exit %d; want 3 and 7 failures\n%s\n%s", code, out, errs)
	}
	code, out, errs = runGate(t, "-exceptions", "demo-exceptions.json")
	if code != exitGo || !strings.Contains(out, "GO: every check passed (or is accepted).") || strings.Contains(out, "Stale exceptions") {
		t.Errorf("demo with its exceptions: exit %d; want 0\n%s\n%s", code, out, errs)
	}
}

func TestBadInputExits2Or1(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	dir := t.TempDir()
	notReport := writeFile(t, "e.json", `{}`)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-max-status-age", "0"}, exitBadFlags, "-max-status-age 0s: want a duration above 0"},
		{[]string{"-min-synced", "101"}, exitBadFlags, "-min-synced 101: want a percentage"},
		{[]string{"-final", "-max-lag", "1m"}, exitBadFlags, "-max-lag does not go with -final"},
		{[]string{"stray"}, exitBadFlags, "unexpected argument at position 1"},
		{[]string{"-exceptions", filepath.Join(dir, "none.json")}, exitBadFlags, "no such file"},
		{[]string{"-exceptions", writeFile(t, "a.json", `{"exceptions":[{"model":"projects","record_ids":["1"]}]}`)}, exitBadFlags, "exception 1: a reason is required"},
		{[]string{"-exceptions", writeFile(t, "b.json", `{"exceptions":[{"site":"s","data_type":"d","reason":"r"}]}`)}, exitBadFlags, "site, data_type and max_failed go together"},
		{[]string{"-exceptions", writeFile(t, "c.json", `{"exceptions":[{"site":"s","data_type":"d","max_failed":1,"model":"m","record_ids":["1"],"reason":"r"}]}`)}, exitBadFlags, "give either"},
		{[]string{"-exceptions", writeFile(t, "d.json", `{"exception":[]}`)}, exitBadFlags, `unknown field "exception"`},
		{[]string{"-exceptions", writeFile(t, "f.json", `{"exceptions":[]} {}`)}, exitBadFlags, "something follows the JSON object"},
		{[]string{"-exceptions", writeFile(t, "g.json", `{"exceptions":[{"site":"s","data_type":"d","max_failed":-1,"reason":"r"}]}`)}, exitBadFlags, "max_failed -1"},
		{[]string{"-since", notReport}, exitBadFlags, "geo-ready: -since " + notReport + ": not a report of geo-ready -json"},
		{[]string{"-timeout", "0"}, exitBadFlags, "-timeout 0s: want a duration above 0"},
		{[]string{"-metrics-file", dir}, exitBadFlags, "is a directory: name a file"},
		{[]string{"-metrics-file", filepath.Join(dir, "no", "such", "dir.prom")}, exitBadFlags, "cannot write next to"},
	} {
		code, _, errs := runGate(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("geo-ready %q: exit %d, stderr ends %q; want %d and %q", tc.args, code, lastLine(errs), tc.code, tc.want)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Without an administrator's token the gate cannot run, and says why.
func TestNotAnAdministrator(t *testing.T) {
	srv := fleet(t)
	srv.AddToken(gitlabtest.Token{Token: "glpat-user"})
	t.Setenv("GITLAB_TOKEN", "glpat-user")
	metrics := filepath.Join(t.TempDir(), "geo.prom")
	code, _, errs := runGate(t, "-metrics-file", metrics)
	if code != exitCannotRun || !strings.Contains(errs, "403") || !strings.Contains(errs, "administrator's token") {
		t.Errorf("exit %d, stderr %q; want 1 and the admin hint", code, errs)
	}
	// A dashboard sees that the gate could not run, not an old verdict.
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"gitlabdata_geo_gate_up 0\n", "gitlabdata_geo_ready 0\n"} {
		if !strings.Contains(string(b), line) {
			t.Errorf("metrics file lacks %q:\n%s", line, b)
		}
	}
	if strings.Contains(string(b), "gitlabdata_geo_checks") {
		t.Errorf("metrics file of a run that could not read GitLab has check counts:\n%s", b)
	}
}

// A URL that answers a web page instead of GitLab's API is named as such.
func TestNotGitLab(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html>Sign in</html>")
	}))
	t.Cleanup(page.Close)
	t.Setenv("GITLAB_URL", page.URL)
	t.Setenv("GITLAB_TOKEN", "glpat-x")
	code, _, errs := runGate(t)
	if want := "the answer is text/html, not GitLab's API: check that the base URL is your GitLab's URL"; code != exitCannotRun || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, lastLine(errs), want)
	}
}
