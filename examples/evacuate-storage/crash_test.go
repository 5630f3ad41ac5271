package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
)

// build compiles a command of the module into dir.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// startFake runs cmd/gitlabfake with 30 projects on "default" and returns
// its base URL.
func startFake(t *testing.T, bin, token string) string {
	t.Helper()
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-token", token, "-demo=false", "-projects", "30", "-step", "20ms", "-seed", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading gitlabfake's first line: %v", err)
	}
	// "gitlabfake serving http://127.0.0.1:PORT/api/v4 as GitLab …"
	f := strings.Fields(line)
	if len(f) < 3 {
		t.Fatalf("gitlabfake said %q", line)
	}
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(discard{}) }()
	return strings.TrimSuffix(f[2], "/api/v4")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func control(t *testing.T, method, url, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}

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
	dir := t.TempDir()
	fakeBin := build(t, dir, "github.com/gitlabdata/gitlabdata/cmd/gitlabfake", "gitlabfake")
	toolBin := build(t, dir, "github.com/gitlabdata/gitlabdata/examples/evacuate-storage", "evacuate-storage")
	const token = "glpat-crash-test-token"
	base := startFake(t, fakeBin, token)
	control(t, http.MethodPut, base+"/-/fake/storages/storage2", `{"weight":100}`)
	control(t, http.MethodPut, base+"/-/fake/storages/default", `{"weight":0}`)
	control(t, http.MethodPut, base+"/-/fake/projects/7", `{"move_failure":"14:connection refused"}`)

	journal := filepath.Join(dir, "drain.jsonl")
	args := []string{"-to", "storage2", "-apply", "-json", "-journal", journal, "-poll", "20ms", "-max-running", "3", "-retries", "1"}
	env := append(os.Environ(), "GITLAB_URL="+base, "GITLAB_TOKEN="+token)
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
	var rep struct {
		Moved, Failed, Stuck, Remaining int
		Containers                      []struct {
			ID     int64
			Reason string
		} `json:"remaining_containers"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("final run printed no JSON object: %v\n%s", err, stdout.String())
	}
	if got, want := fmt.Sprint(rep.Moved, rep.Failed, rep.Stuck, rep.Remaining), "29 1 0 1"; got != want {
		t.Errorf("final report moved, failed, stuck, remaining = %s; want %s\n%s", got, want, stderr.String())
	}
	if len(rep.Containers) != 1 || rep.Containers[0].ID != 7 || rep.Containers[0].Reason != "failed" {
		t.Errorf("remaining = %+v; want project 7, failed", rep.Containers)
	}

	// The fake's ground truth: one move that did not fail per project.
	client, err := gitlabdata.NewClient(base, token)
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[int64]int{}, map[int64]int{}
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
			got[m.Project.ID]++
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
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
