package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// result is how one run of the tool's binary ended.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runTool runs the tool's binary with env and args, killing it after
// limit.
func runTool(t *testing.T, env []string, limit time.Duration, args ...string) result {
	t.Helper()
	_, tool := binaries(t)
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running the tool: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the tool ran longer than %s\nstdout:\n%s\nstderr:\n%s", limit, res.stdout, res.stderr)
	}
	return res
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}

// notGitLab serves like `python3 -m http.server`: a directory listing at
// /, 404 "File not found" pages elsewhere; it counts the requests.
func notGitLab(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/" {
			fmt.Fprint(w, "<!DOCTYPE HTML><html><title>Directory listing for /</title><body><ul><li>a.txt</li></ul></body></html>")
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE HTML><html><title>Error response</title><body><p>Error code: 404</p><p>Message: File not found.</p></body></html>")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// TestFaultMatrix runs the tool's binary against unhealthy servers: every
// case ends soon, with one clear line on standard error, few requests and
// the documented exit code.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	type faultCase struct {
		name  string
		setup func(t *testing.T) (env []string, count func() int)
		args  []string
		code  int
		line  string // the last line of standard error (a regexp)
		max   int    // requests, at most
		limit time.Duration
	}
	withFake := func(n int, setup func(f *fakeProcess), path string) func(t *testing.T) ([]string, func() int) {
		return func(t *testing.T) ([]string, func() int) {
			f := startFake(t, n)
			token := f.token
			if setup != nil {
				setup(f)
				if strings.HasPrefix(path, "token:") {
					token, path = strings.TrimPrefix(path, "token:"), ""
				}
			}
			return f.env(token), func() int {
				c := 0
				for _, r := range f.requests() {
					if path == "" || r.Method+" "+r.Path == path {
						c++
					}
				}
				return c
			}
		}
	}
	closed := func(t *testing.T) ([]string, func() int) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return append(os.Environ(), "GITLAB_URL=http://"+addr, "GITLAB_TOKEN=t"), func() int { return 0 }
	}
	apply := []string{"-to", "storage2", "-apply", "-poll", "20ms"}
	for _, tc := range []faultCase{
		{name: "nothing listening", setup: closed, args: apply, code: exitCannotRun,
			line: `^evacuate-storage: cannot reach GitLab \(GET /api/v4/user connection refused\): check the URL`, limit: 90 * time.Second},
		{name: "a server that is not GitLab", setup: func(t *testing.T) ([]string, func() int) {
			url, n := notGitLab(t)
			return append(os.Environ(), "GITLAB_URL="+url, "GITLAB_TOKEN=t"), func() int { return int(n.Load()) }
		}, args: apply, code: exitCannotRun, max: 50, limit: 60 * time.Second,
			line: `^evacuate-storage: the server does not answer as GitLab's API \(GET /api/v4/user 404\): check the URL`},
		{name: "an unresolvable host", setup: func(t *testing.T) ([]string, func() int) {
			return append(os.Environ(), "GITLAB_URL=http://gitlab.invalid", "GITLAB_TOKEN=t"), func() int { return 0 }
		}, args: apply, code: exitCannotRun, limit: 60 * time.Second,
			line: `^evacuate-storage: cannot reach GitLab \(GET /api/v4/user .+\): check the URL`},
		{name: "a user's token", setup: withFake(26, func(f *fakeProcess) {
			f.control(http.MethodPost, "/tokens", `{"token":"glpat-user","admin":false}`)
		}, "token:glpat-user"), args: []string{}, code: exitCannotRun, max: 1, limit: 30 * time.Second,
			line: `^evacuate-storage: the token of .+ is not an administrator's \(GET /api/v4/user 200 without is_admin\): .*administrator's token`},
		{name: "GET /projects always 500", setup: withFake(30, func(f *fakeProcess) {
			f.control(http.MethodPost, "/faults", `{"method":"GET","path":"/api/v4/projects/**","status":500}`)
		}, "GET /api/v4/projects"), args: apply, code: exitCannotRun, max: 60, limit: 60 * time.Second,
			line: `^evacuate-storage: GitLab keeps failing.* \(GET /api/v4/projects 500\): check GitLab's`},
		{name: "a 429 storm", setup: withFake(30, func(f *fakeProcess) {
			f.control(http.MethodPost, "/faults", `{"method":"GET","path":"/api/v4/projects","status":429,"retry_after":1}`)
		}, "GET /api/v4/projects"), args: apply, code: exitCannotRun, max: 20, limit: 60 * time.Second,
			line: `^evacuate-storage: GitLab keeps rate-limiting the drain: 5 failed requests in a row \(GET /api/v4/projects 429\): wait for the limit to reset`},
		{name: "an application limit of 10 minutes", setup: withFake(30, func(f *fakeProcess) {
			f.control(http.MethodPost, "/faults", `{"method":"GET","path":"/api/v4/projects","status":429,"application_limit":true}`)
		}, "GET /api/v4/projects"), args: apply, code: exitCannotRun, max: 1, limit: 30 * time.Second,
			line: `^evacuate-storage: GitLab rate-limits this token \(GET /api/v4/projects 429\): it asks to wait 10m0s: rerun after`},
		{name: "one bad page", setup: withFake(30, func(f *fakeProcess) {
			f.control(http.MethodPut, "/projects/13", `{"broken":true}`)
		}, "GET /api/v4/projects"), args: apply, code: exitRemaining, max: 60, limit: 60 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, count := tc.setup(t)
			res := runTool(t, env, tc.limit, tc.args...)
			n := count()
			t.Logf("| %s | %d requests | %.1f s | exit %d |", tc.name, n, res.took.Seconds(), res.code)
			if res.code != tc.code {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			if tc.max > 0 && n > tc.max {
				t.Errorf("%d requests; want at most %d", n, tc.max)
			}
			if tc.line != "" {
				if got := lastLine(res.stderr); !regexp.MustCompile(tc.line).MatchString(got) {
					t.Errorf("last line of stderr = %q; want %q", got, tc.line)
				}
				if strings.Count(strings.TrimSpace(res.stderr), "\n") > 0 {
					t.Errorf("stderr has more than one line:\n%s", res.stderr)
				}
			}
			if tc.code == exitCannotRun && strings.Contains(res.stdout, "is empty") {
				t.Errorf("a run that could not run says the storage is empty:\n%s", res.stdout)
			}
			if tc.code == exitRemaining && !strings.Contains(res.stdout, "unknown (the listing page that holds it keeps failing)") {
				t.Errorf("the broken project is not reported as unknown:\n%s", res.stdout)
			}
		})
	}
}

// Two runs of one storage without a journal: the second is refused at
// once (a lock per instance and storage), and the first goes on.
func TestTwoRunsOfOneStorage(t *testing.T) {
	t.Parallel()
	f := startFake(t, 20)
	f.control(http.MethodPost, "/faults", `{"method":"POST","latency":"300ms"}`)
	_, tool := binaries(t)
	first := exec.Command(tool, "-to", "storage2", "-apply", "-poll", "20ms")
	first.Env = f.env(f.token)
	var firstOut bytes.Buffer
	first.Stdout = &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !scheduling(f); {
		if time.Now().After(deadline) {
			t.Fatal("the first run scheduled nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := runTool(t, f.env(f.token), 30*time.Second, "-to", "storage2", "-apply")
	if res.code != exitCannotRun || !strings.Contains(res.stderr, "another process on this machine is draining") {
		t.Errorf("second run: exit %d, stderr %q; want 1, another process is draining", res.code, res.stderr)
	}
	if err := first.Wait(); err != nil {
		t.Errorf("first run: %v\n%s", err, firstOut.String())
	}
	if !strings.Contains(firstOut.String(), "Storage default is empty.") {
		t.Errorf("the first run did not drain the storage:\n%s", firstOut.String())
	}
}

// SIGTERM (systemd, Kubernetes, timeout) stops a run as Ctrl-C does: exit
// 4 and the summary.
func TestSIGTERMInterrupts(t *testing.T) {
	t.Parallel()
	f := startFake(t, 20)
	f.control(http.MethodPost, "/faults", `{"method":"POST","latency":"200ms"}`)
	_, tool := binaries(t)
	cmd := exec.Command(tool, "-to", "storage2", "-apply", "-poll", "20ms")
	cmd.Env = f.env(f.token)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !scheduling(f); {
		if time.Now().After(deadline) {
			t.Fatal("the run scheduled nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted || !strings.Contains(out.String(), "Interrupted: ") {
		t.Errorf("after SIGTERM: %v; want exit %d and the summary\n%s", err, exitInterrupted, out.String())
	}
}

// scheduling reports whether the fake has received a schedule call.
func scheduling(f *fakeProcess) bool {
	for _, r := range f.requests() {
		if r.Method == http.MethodPost {
			return true
		}
	}
	return false
}

// Two runs on one journal: the second is refused at once, naming the
// journal, and the first goes on.
func TestTwoRunsOnOneJournal(t *testing.T) {
	t.Parallel()
	f := startFake(t, 20)
	f.control(http.MethodPost, "/faults", `{"method":"POST","latency":"300ms"}`)
	journal := filepath.Join(t.TempDir(), "drain.jsonl")
	_, tool := binaries(t)
	first := exec.Command(tool, "-to", "storage2", "-apply", "-poll", "20ms", "-journal", journal)
	first.Env = f.env(f.token)
	var firstOut bytes.Buffer
	first.Stdout = &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); lines(journal) < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the first run wrote no journal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := runTool(t, f.env(f.token), 30*time.Second, "-to", "storage2", "-apply", "-journal", journal)
	if res.code != exitCannotRun || !strings.Contains(res.stderr, "locked by another run") || !strings.Contains(res.stderr, journal) {
		t.Errorf("second run: exit %d, stderr %q; want 1, the journal named as locked", res.code, res.stderr)
	}
	if err := first.Wait(); err != nil {
		t.Errorf("first run: %v\n%s", err, firstOut.String())
	}
	if !strings.Contains(firstOut.String(), "Storage default is empty.") {
		t.Errorf("the first run did not drain the storage:\n%s", firstOut.String())
	}
}

// While Sidekiq's queue of the move workers is busy the binary sends no
// schedule call; it says when it pauses and resumes, and drains the
// storage once the queue is calm.
func TestBackPressurePausesScheduling(t *testing.T) {
	t.Parallel()
	f := startFake(t, 20)
	f.control(http.MethodPut, "/sidekiq/queues/default", `{"latency":90}`)
	_, tool := binaries(t)
	cmd := exec.Command(tool, "-to", "storage2", "-apply", "-poll", "20ms", "-max-queue-latency", "30s")
	cmd.Env = f.env(f.token)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		checks := 0
		for _, r := range f.requests() {
			if r.Method == http.MethodPost {
				t.Fatalf("a schedule call was sent while the queue was busy: %s %s", r.Method, r.Path)
			}
			if strings.HasSuffix(r.Path, "/sidekiq/queue_metrics") {
				checks++
			}
		}
		if checks >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not read the queue three times")
		}
	}
	f.control(http.MethodDelete, "/sidekiq/queues/default", "")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"scheduling paused: Sidekiq queue default: oldest job waited 1m30s, above 30s; at most 2 moves running from now on",
		"scheduling resumed: Sidekiq queue default", "Storage default is empty."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
