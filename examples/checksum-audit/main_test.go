package main

import (
	"bytes"
	"strings"
	"testing"
)

// Not parallel: t.Setenv makes sure a developer's GITLAB_URL is never used.
func TestChecksumAuditAgainstTheDemoInstance(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"-fix", "-models", "lfs_objects,no_such_models"}, &out, &errs)
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
		"no_such_models  (not on this server)",
		"lfs_objects 108 (LfsObject): Error during verification: File not found in object storage",
		"Queued checksum recalculation of 4 failed lfs_objects records.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestChecksumAuditRejectsBadFlags(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	if err := run(t.Context(), []string{"-no-such-flag"}, &out, &errs); err == nil {
		t.Error("run(-no-such-flag) error = nil; want an error")
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
