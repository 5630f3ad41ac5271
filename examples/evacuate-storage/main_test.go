package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata/drain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

// Not parallel: t.Setenv makes sure a developer's GITLAB_URL is never used.
func TestDryRunChangesNothingAndWarnsAboutWeights(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	journal := filepath.Join(t.TempDir(), "drain.jsonl")
	var out, errs bytes.Buffer
	if code := run(t.Context(), []string{"-journal", journal}, &out, &errs); code != exitEmpty {
		t.Fatalf("run() = %d; want %d\n%s%s", code, exitEmpty, out.String(), errs.String())
	}
	for _, want := range []string{
		"Journal " + journal + " does not exist yet: -apply creates it.",
		"Plan: move 33 containers (25.9 GiB, 8 of unknown size) off default to the storage GitLab picks by weight, id order, at most 4 running:",
		"warning: no destination: GitLab picks one by weight, and default has weight 100",
		"    1  group_wiki      9  platform ",
		"   30  project        25  platform/legacy-monolith ",
		"Dry run: nothing was changed (5 GitLab requests, all GET). Run again with -apply to move 33 containers, 25.9 GiB.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(journal); !os.IsNotExist(err) {
		t.Errorf("the dry run created the journal (%v)", err)
	}
}

// -json prints drain.Plan and drain.Report exactly as the library
// marshals them (lists as [], never null).
func TestJSONIsThePlanAndTheReport(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	if code := run(t.Context(), []string{"-to", "storage2", "-json"}, &out, &errs); code != exitEmpty {
		t.Fatalf("dry run = %d\n%s", code, errs.String())
	}
	var plan drain.Plan
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil || len(plan.Moves) != 33 {
		t.Fatalf("stdout is not a drain.Plan of 33 moves: %v\n%s", err, out.String())
	}
	golden(t, "plan.json", out.Bytes())

	out.Reset()
	errs.Reset()
	code := run(t.Context(), []string{"-to", "storage2", "-apply", "-json", "-retries", "1"}, &out, &errs)
	if code != exitRemaining {
		t.Fatalf("run() = %d; want %d\n%s", code, exitRemaining, errs.String())
	}
	var rep drain.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a drain.Report: %v\n%s", err, out.String())
	}
	if rep.Totals.Found != 33 || rep.Totals.Moved != 32 || rep.Totals.Failed != 1 || rep.Totals.Sum() != 33 {
		t.Errorf("totals %+v; want 33 found, 32 moved, 1 failed", rep.Totals)
	}
	if len(rep.Remaining) != 1 || rep.Remaining[0].ID != 25 || rep.Remaining[0].Outcome != drain.OutcomeFailed || len(rep.Remaining[0].Errors) != 2 {
		t.Errorf("remaining = %+v; want project 25, failed twice", rep.Remaining)
	}
	// What changes from run to run (times, durations, request counts, move
	// ids: the demo's clock runs on its own) is zeroed before the
	// comparison with the golden file.
	rep.Started, rep.Elapsed, rep.Requests = time.Time{}, 0, 0
	for i := range rep.Remaining {
		if rep.Remaining[i].Move == 0 {
			t.Errorf("remaining %+v has no move", rep.Remaining[i])
		}
		rep.Remaining[i].Move = 0
	}
	for _, k := range append(rep.Kinds, &rep.Totals) {
		k.Fastest, k.Median, k.Slowest = 0, 0, 0
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	golden(t, "report.json", append(b, '\n'))
	if !bytes.Contains(out.Bytes(), []byte(`"listing_errors": []`)) || bytes.Contains(out.Bytes(), []byte("null")) {
		t.Errorf("the report has a null list:\n%s", out.String())
	}
}

func TestHumanReportGroupsWhatRemainsByKind(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	var out, errs bytes.Buffer
	if code := run(t.Context(), []string{"-to", "storage2", "-apply", "-retries", "0"}, &out, &errs); code != exitRemaining {
		t.Fatalf("run() = %d; want %d\n%s%s", code, exitRemaining, out.String(), errs.String())
	}
	for _, want := range []string{
		"platform/legacy-monolith         failed (-retries used up): ",
		"Remaining on default: 1\n  project (1):\n        25  platform/legacy-monolith         failed (-retries used up) after 1 failed attempt, last: ",
		"all            33     32      1      0         0       0             0     0       0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "-journal") {
		t.Errorf("the output speaks of -journal, which was not given:\n%s", out.String())
	}
}

// Ctrl-C: exit 4, and a summary that says what still runs.
func TestInterruptedExits4(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	ctx, cancel := context.WithCancel(t.Context())
	var out, errs bytes.Buffer
	w := &cancelAfter{w: &out, match: "moved in", cancel: cancel}
	code := run(ctx, []string{"-to", "storage2", "-apply"}, w, &errs)
	if code != exitInterrupted {
		t.Fatalf("run() = %d; want %d\n%s%s", code, exitInterrupted, out.String(), errs.String())
	}
	for _, want := range []string{"not_attempted (the run was interrupted first)", "Interrupted: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// cancelAfter cancels when a line with match is written.
type cancelAfter struct {
	w      *bytes.Buffer
	match  string
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.match)) {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestBadFlagsExit2WithTheUsage(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-order", "random"}, `-order "random": want id, smallest or largest`},
		{[]string{"-kinds", "wiki"}, `-kinds: unknown kind "wiki"`},
		{[]string{"-kinds", "project,project"}, `-kinds: "project" is given twice`},
		{[]string{"-stuck-after", "5"}, "a duration takes a unit, such as 30s or 1h"},
		{[]string{"-from", "default", "-to", "default"}, `-to "default": the destination must be another storage than -from`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"extra"}, "unexpected argument at position 1"},
		{[]string{"-max-running", "0"}, "-max-running 0: want at least 1"},
		{[]string{"-retries", "-1"}, "-retries -1: want 0 or more"},
		{[]string{"-stuck-after", "0"}, "-stuck-after 0s: want a duration above 0"},
		{[]string{"-poll", "0"}, "-poll 0s: want a duration above 0"},
		{[]string{"-max-bytes", "5XB"}, `unknown unit "XB"`},
		{[]string{"-until", "25:00"}, `-until "25:00": want a time such as 06:00`},
		{[]string{"-journal", dir, "-apply"}, "-journal " + dir + ": not a regular file"},
		{[]string{"-apply", "extra", "-journal", "glpat-secret"}, "unexpected argument at position 2"},
		{[]string{"-apply", "-metrics", "9101"}, "-metrics 9101: want host:port, such as 127.0.0.1:9101"},
		{[]string{"-apply", "-metrics", "127.0.0.1:99999"}, `-metrics 127.0.0.1:99999: port "99999": want a number from 0 to 65535`},
		{[]string{"-apply", "-metrics", busy.Addr().String()}, "-metrics " + busy.Addr().String() + ": cannot listen: bind: address already in use"},
		{[]string{"-metrics", "127.0.0.1:0"}, "-metrics goes with -apply: a dry run moves nothing to measure"},
		{[]string{"-apply", "-metrics-linger", "1m"}, "-metrics-linger goes with -metrics ADDR"},
		{[]string{"-apply", "-metrics", "127.0.0.1:0", "-metrics-linger", "-1s"}, "-metrics-linger -1s: want 0 or a duration"},
		{[]string{"-metrics-linger", "30"}, "a duration takes a unit, such as 30s or 1h"},
	} {
		var out, errs bytes.Buffer
		if code := run(t.Context(), tc.args, &out, &errs); code != exitBadFlags {
			t.Errorf("run(%q) = %d; want %d", tc.args, code, exitBadFlags)
		}
		if !strings.Contains(lastLine(errs.String()), tc.want) || !strings.HasPrefix(errs.String(), "Usage: evacuate-storage") {
			t.Errorf("run(%q) said %q last; want the usage, then %q", tc.args, lastLine(errs.String()), tc.want)
		}
		if strings.Contains(out.String()+errs.String(), "glpat-secret") {
			t.Errorf("run(%q) echoed the words after a stray argument", tc.args)
		}
	}
}

func TestUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 22, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"23:00":                now.Add(30 * time.Minute),
		"06:00":                time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC),
		"2026-12-04T01:00:00Z": time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC),
	} {
		if got, err := parseUntil(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseUntil("2026-12-01T00:00:00Z", now); err == nil {
		t.Error("parseUntil of a past time succeeded")
	}
}
