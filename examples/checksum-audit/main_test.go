package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Not parallel: t.Setenv makes sure a developer's GITLAB_URL is never used.
func TestChecksumAuditAgainstTheDemoInstance(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"-fix", "-models", "lfs_objects"}, &out, &errs)
	if err != nil {
		t.Fatalf("run() error = %v\nstderr: %s", err, errs.String())
	}
	got := out.String()
	// The demo instance's LFS objects: 80 records, of which 9 pending,
	// 4 started, 62 succeeded, 4 failed and 1 disabled.
	wantRow := []string{"lfs_objects", "80", "9", "4", "62", "4", "1", "0"}
	if row := findRow(got, "lfs_objects"); len(row) < len(wantRow) || strings.Join(row[:len(wantRow)], " ") != strings.Join(wantRow, " ") {
		t.Errorf("lfs_objects row = %q; want it to start with %q\n%s", row, wantRow, got)
	}
	for _, want := range []string{
		"using the embedded fake GitLab",
		"GitLab 19.2.0-ee\n",
		"lfs_objects 108 (LfsObject): Error during verification: File not found in object storage",
		"Queued checksum recalculation of 4 failed lfs_objects records.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// fakeEnv serves a demo fake as GitLab version v through GITLAB_URL.
func fakeEnv(t *testing.T, v string, opts ...gitlabtest.ServerOption) *gitlabtest.Server {
	t.Helper()
	version, err := gitlabtest.ParseVersion(v)
	if err != nil {
		t.Fatalf("ParseVersion(%q) error = %v", v, err)
	}
	srv := gitlabtest.NewServer(append([]gitlabtest.ServerOption{gitlabtest.WithVersion(version), gitlabtest.WithDemoData()}, opts...)...)
	t.Cleanup(srv.Close)
	t.Setenv("GITLAB_URL", srv.URL())
	t.Setenv("GITLAB_TOKEN", srv.Token())
	return srv
}

// The same audit works unchanged on every era, and -strict makes failed
// checksums exit 3 on each. The SDK lists each release's own models, so
// none is refused.
func TestChecksumAuditOnEveryEra(t *testing.T) {
	tests := []struct {
		version, banner, lfsName string
		fixLine                  string
	}{
		{"18.5", "GitLab 18.5.0-ee: an early Data management API", "lfs_object", "Recalculated 4 failed lfs_object records one by one (this GitLab ignores bulk filters): 0 now verify, 4 still fail."},
		{"18.9", "GitLab 18.9.0-ee\n", "lfs_objects", "Queued checksum recalculation of 4 failed lfs_objects records."},
		{"18.11", "GitLab 18.11.0-ee\n", "lfs_objects", "Queued checksum recalculation of 4 failed lfs_objects records."},
		{"19.2", "GitLab 19.2.0-ee\n", "lfs_objects", "Queued checksum recalculation of 4 failed lfs_objects records."},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			fakeEnv(t, tc.version)
			var out, errs bytes.Buffer
			err := run(t.Context(), []string{"-strict", "-fix"}, &out, &errs)
			var code exitCode
			if !errors.As(err, &code) || code != exitFailed {
				t.Fatalf("run(-strict) error = %v; want exit status 3\nstdout: %s\nstderr: %s", err, out.String(), errs.String())
			}
			got := out.String()
			wantRow := []string{tc.lfsName, "80", "9", "4", "62", "4", "1", "0"}
			if row := findRow(got, tc.lfsName); len(row) < len(wantRow) || strings.Join(row[:len(wantRow)], " ") != strings.Join(wantRow, " ") {
				t.Errorf("%s row = %q; want it to start with %q\n%s", tc.lfsName, row, wantRow, got)
			}
			for _, want := range []string{tc.banner, tc.fixLine} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "Not served") {
				t.Errorf("output reports models not served:\n%s", got)
			}
		})
	}
}

// Auditing several models at once gives the same report, in the same order,
// as one at a time (times aside).
func TestChecksumAuditConcurrencyKeepsTheReport(t *testing.T) {
	fakeEnv(t, "18.11") // with models the SDK lists but the server refuses
	report := func(concurrency string) string {
		var out, errs bytes.Buffer
		if err := run(t.Context(), []string{"-concurrency", concurrency}, &out, &errs); err != nil {
			t.Fatalf("run(-concurrency %s) error = %v", concurrency, err)
		}
		var lines []string
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line) // column widths follow the times
			if len(f) == 9 && f[0] != "MODEL" && strings.HasSuffix(f[8], "s") {
				f = f[:8] // drop the TIME column
			}
			lines = append(lines, strings.Join(f, " "))
		}
		return strings.Join(lines, "\n")
	}
	if one, eight := report("1"), report("8"); one != eight {
		t.Errorf("reports differ:\n-concurrency 1:\n%s\n-concurrency 8:\n%s", one, eight)
	}
}

// -counts gives the same table as listing every record, with a few requests
// per model; with -strict it still exits 3 on failed checksums.
func TestChecksumAuditCountsMatchTheListing(t *testing.T) {
	srv := fakeEnv(t, "19.2")
	table := func(args ...string) (string, int) {
		before := len(srv.Requests())
		var out, errs bytes.Buffer
		err := run(t.Context(), args, &out, &errs)
		var code exitCode
		if !errors.As(err, &code) || code != exitFailed {
			t.Fatalf("run(%q) error = %v; want exit status 3", args, err)
		}
		var rows []string // the table, MODEL to TOTAL, without the TIME column
		inTable := false
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			inTable = inTable || len(f) > 0 && f[0] == "MODEL"
			if inTable && len(f) == 9 {
				rows = append(rows, strings.Join(f[:8], " "))
			}
			if len(f) > 0 && f[0] == "TOTAL" {
				break
			}
		}
		return strings.Join(rows, "\n"), len(srv.Requests()) - before
	}
	listed, listRequests := table("-strict")
	counted, countRequests := table("-strict", "-counts")
	if listed != counted {
		t.Errorf("tables differ:\nlisting:\n%s\n-counts:\n%s", listed, counted)
	}
	// 44 models: 1 version request, then 6 per model against 1 page per
	// small model (the demo's are below 100 records).
	if want := 1 + 44*6; countRequests != want {
		t.Errorf("-counts made %d requests; want %d (listing made %d)", countRequests, want, listRequests)
	}
}

// When the API is not there, the audit says why in one line.
func TestChecksumAuditExplainsAbsentAPI(t *testing.T) {
	srv := fakeEnv(t, "18.9")
	srv.SetFeatureFlag("geo_primary_verification_view", false)
	var out, errs bytes.Buffer
	err := run(t.Context(), nil, &out, &errs)
	if err == nil || !strings.HasPrefix(err.Error(), "the Data management API is not available on this server") ||
		!strings.Contains(err.Error(), "geo_primary_verification_view") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run() error = %v; want one line on why the API is not available", err)
	}
}

func TestChecksumAuditRefusesServersBefore18_3(t *testing.T) {
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version":"17.11.2-ee","revision":"abc"}`))
	}))
	t.Cleanup(old.Close)
	t.Setenv("GITLAB_URL", old.URL)
	t.Setenv("GITLAB_TOKEN", "glpat-test")
	var out, errs bytes.Buffer
	err := run(t.Context(), nil, &out, &errs)
	if err == nil || err.Error() != "GitLab 17.11.2-ee has no Data management API: it came with GitLab 18.3" {
		t.Errorf("run() error = %v; want the one-line explanation", err)
	}
}

// A mistyped model name is an error that suggests the right one, never a
// silent "healthy".
func TestChecksumAuditRefusesUnknownModels(t *testing.T) {
	fakeEnv(t, "18.9")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"-strict", "-models", "lfs_objects,lfs_objcts"}, &out, &errs)
	want := `-models: this server does not know the model "lfs_objcts"; did you mean lfs_objects? ModelNamesFor lists the names each GitLab version accepts`
	if err == nil || err.Error() != want {
		t.Errorf("run() error = %v; want %q", err, want)
	}
}

func TestChecksumAuditRejectsBadFlags(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	for _, args := range [][]string{{"-no-such-flag"}, {"-concurrency", "0"}, {"-show-failed", "-1"}, {"extra"}, {"-models", ","}} {
		var out, errs bytes.Buffer
		if err := run(t.Context(), args, &out, &errs); err == nil {
			t.Errorf("run(%q) error = nil; want an error", args)
		}
	}
}

// findRow returns the whitespace-separated fields of the first line that
// starts with name.
func findRow(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}
