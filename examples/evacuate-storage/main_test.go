package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Not parallel: t.Setenv makes sure a developer's GITLAB_URL is never used.
func TestDryRunChangesNothingAndWarnsAboutWeights(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	if code := run(t.Context(), nil, &out, &errs); code != exitEmpty {
		t.Fatalf("run() = %d; want %d\n%s%s", code, exitEmpty, out.String(), errs.String())
	}
	for _, want := range []string{
		"Plan: move 33 containers (25.9 GiB) off default to the storage GitLab picks by weight, id order, at most 4 running:",
		"warning: no destination: GitLab picks one by weight, and default has weight 100",
		"    1  group_wiki      9  platform ",
		"   30  project        25  platform/legacy-monolith ",
		"Dry run: nothing was changed (4 GitLab requests, all GET). Run again with -apply to move 33 containers, 25.9 GiB.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestApplyJSONReportsTheDemoFailure(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	code := run(t.Context(), []string{"-to", "storage2", "-apply", "-json", "-retries", "1"}, &out, &errs)
	if code != exitRemaining {
		t.Fatalf("run() = %d; want %d\n%s", code, exitRemaining, errs.String())
	}
	var got struct {
		Moved, Failed, Stuck, Remaining int
		Kinds                           map[string]struct{ Moved, Remaining int }
		Containers                      []struct {
			Kind   string
			ID     int64
			Reason string
			Errors []string
		} `json:"remaining_containers"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	if got.Moved != 32 || got.Failed != 1 || got.Stuck != 0 || got.Remaining != 1 {
		t.Errorf("totals moved %d failed %d stuck %d remaining %d; want 32 1 0 1", got.Moved, got.Failed, got.Stuck, got.Remaining)
	}
	wantKinds := map[string]struct{ Moved, Remaining int }{"group_wiki": {4, 0}, "snippet": {4, 0}, "project": {24, 1}}
	if diff := cmp.Diff(wantKinds, got.Kinds); diff != "" {
		t.Errorf("kinds mismatch (-want +got):\n%s", diff)
	}
	if len(got.Containers) != 1 || got.Containers[0].ID != 25 || got.Containers[0].Reason != "failed" || len(got.Containers[0].Errors) != 2 {
		t.Errorf("remaining = %+v; want project 25, failed twice", got.Containers)
	}
}

func TestBadFlagsCannotRun(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	for _, args := range [][]string{
		{"-order", "random"}, {"-kinds", "wiki"}, {"-from", "default", "-to", "default"}, {"-nope"}, {"extra"},
		{"-max-running", "0"}, {"-apply", "extra", "-journal", "glpat-secret"},
	} {
		var out, errs bytes.Buffer
		if code := run(t.Context(), args, &out, &errs); code != exitCannotRun {
			t.Errorf("run(%q) = %d; want %d", args, code, exitCannotRun)
		}
		if strings.Contains(out.String()+errs.String(), "glpat-secret") {
			t.Errorf("run(%q) echoed the words after a stray argument:\n%s", args, errs.String())
		}
	}
}
