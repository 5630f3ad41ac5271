package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
)

// lines counts the complete lines of a file.
func lines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestCrashAndResume kills the tool with SIGKILL at several points of a
// drain (after a seeded number of journal lines) and reruns it on its
// journal until it ends: every project must have been moved exactly once,
// and the final report must match the fake.
func TestCrashAndResume(t *testing.T) {
	t.Parallel()
	_, toolBin := binaries(t)
	fake := startFake(t, 30)
	fake.control(http.MethodPut, "/projects/7", `{"move_failure":"14:connection refused"}`)

	journal := filepath.Join(t.TempDir(), "drain.jsonl")
	args := []string{"-to", "storage2", "-apply", "-json", "-journal", journal, "-poll", "20ms", "-max-running", "3", "-retries", "1"}
	env := fake.env(fake.token)
	rng := rand.New(rand.NewPCG(10, 11))
	killed := 0
	for range 5 {
		at := lines(journal) + 3 + rng.IntN(25) // kill after this many journal lines
		cmd := exec.Command(toolBin, args...)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
	wait:
		for {
			select {
			case err := <-done:
				t.Logf("run ended before its kill point (%d lines): %v", at, err)
				break wait
			case <-time.After(2 * time.Millisecond):
				if lines(journal) >= at {
					cmd.Process.Kill() // SIGKILL
					<-done
					killed++
					break wait
				}
			}
		}
	}
	if killed < 3 {
		t.Errorf("only %d runs were killed; the test needs kill points inside the drain", killed)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(toolBin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRemaining {
		t.Fatalf("final run: %v; want exit status %d (project 7 fails)\n%s", err, exitRemaining, stderr.String())
	}
	var rep drain.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("final run printed no drain.Report: %v\n%s", err, stdout.String())
	}
	got := []int{rep.Totals.Found, rep.Totals.Moved, rep.Totals.Failed, rep.Totals.Sum()}
	if diff := cmp.Diff([]int{30, 29, 1, 30}, got); diff != "" {
		t.Errorf("final report found, moved, failed, sum of outcomes (-want +got):\n%s\n%s", diff, stderr.String())
	}
	if len(rep.Remaining) != 1 || rep.Remaining[0].ID != 7 || rep.Remaining[0].Outcome != drain.OutcomeFailed {
		t.Errorf("remaining = %+v; want project 7, failed", rep.Remaining)
	}

	// The fake's ground truth: one move that did not fail per project.
	client, err := gitlabdata.NewClient(fake.base, fake.token)
	if err != nil {
		t.Fatal(err)
	}
	want, perProject := map[int64]int{}, map[int64]int{}
	for id := int64(1); id <= 30; id++ {
		if id != 7 {
			want[id] = 1
		}
	}
	for m, err := range client.ProjectRepositoryStorageMoves.All(t.Context(), &gitlabdata.ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		if m.State != gitlabdata.StorageMoveStateFailed {
			perProject[m.Project.ID]++
		}
	}
	if diff := cmp.Diff(want, perProject); diff != "" {
		t.Errorf("moves that did not fail, per project (-want +got):\n%s", diff)
	}
	var left []struct {
		ID int64 `json:"id"`
	}
	if _, err := client.Do(t.Context(), http.MethodGet, "projects", url.Values{"repository_storage": {"default"}}, nil, &left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != 7 {
		t.Errorf("projects on default = %+v; want only project 7", left)
	}
}
