package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Not parallel: t.Setenv makes sure a developer's GITLAB_URL is never used.
func TestEvacuateStorageAgainstTheDemoInstance(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"-to", "storage2", "-strict"}, strings.NewReader(""), &out, &errs)
	// The demo instance has 25 projects on "default"; moves of project 25
	// fail on purpose, which -strict reports.
	var failed movesFailed
	if !errors.As(err, &failed) || failed.Failed != 1 {
		t.Fatalf("run(-strict) error = %v; want one failed move\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"Moving 25 projects from default to storage2, 4 at a time.",
		"project 25    failed",
		"Summary: 25 scheduled, 24 finished, 1 failed, 0 skipped (already moving), 0 not scheduled, 0 duplicate ids",
		"Move durations: fastest",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestEvacuateStorageProjectList(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"-projects", "-"}, strings.NewReader("1\n2\n\n2\n"), &out, &errs)
	if err != nil {
		t.Fatalf("run(-projects -) error = %v", err)
	}
	if want := "Summary: 2 scheduled, 2 finished, 0 failed, 0 skipped (already moving), 0 not scheduled, 1 duplicate ids"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	for _, bad := range []string{"1,x", "0", "-3"} {
		if err := run(t.Context(), []string{"-projects", bad}, strings.NewReader(""), &out, &errs); err == nil || !strings.Contains(err.Error(), "is not a positive integer") {
			t.Errorf("run(-projects %s) error = %v; want a bad-id error", bad, err)
		}
	}
}
