package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The tests that run the tool's binary against cmd/gitlabfake share the
// binaries, built once.
var bins struct {
	once       sync.Once
	dir        string
	fake, tool string
	err        error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binaries builds cmd/gitlabfake and the tool, once per test run.
func binaries(t *testing.T) (fake, tool string) {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "evacuate-storage-test")
		if bins.err != nil {
			return
		}
		for _, b := range []struct{ pkg, out string }{
			{"github.com/gitlabdata/gitlabdata/cmd/gitlabfake", "gitlabfake"},
			{"github.com/gitlabdata/gitlabdata/examples/evacuate-storage", "evacuate-storage"},
		} {
			path := filepath.Join(bins.dir, b.out)
			if out, err := exec.Command("go", "build", "-o", path, b.pkg).CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
		bins.fake, bins.tool = filepath.Join(bins.dir, "gitlabfake"), filepath.Join(bins.dir, "evacuate-storage")
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.fake, bins.tool
}

// fakeProcess is a running cmd/gitlabfake.
type fakeProcess struct {
	t     *testing.T
	base  string // without /api/v4
	token string
}

// startFake runs cmd/gitlabfake with the demo off, n projects on
// "default", storage2 (weight 100) and default (weight 0), and returns it.
func startFake(t *testing.T, n int, extra ...string) *fakeProcess {
	t.Helper()
	fakeBin, _ := binaries(t)
	token := "glpat-test-admin-token"
	args := append([]string{"-listen", "127.0.0.1:0", "-token", token, "-demo=false", "-projects", fmt.Sprint(n), "-step", "20ms", "-seed", "1"}, extra...)
	cmd := exec.Command(fakeBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading gitlabfake's first line: %v", err)
	}
	// "gitlabfake serving http://127.0.0.1:PORT/api/v4 as GitLab …"
	f := strings.Fields(line)
	if len(f) < 3 {
		t.Fatalf("gitlabfake said %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	p := &fakeProcess{t: t, base: strings.TrimSuffix(f[2], "/api/v4"), token: token}
	p.control(http.MethodPut, "/storages/storage2", `{"weight":100}`)
	p.control(http.MethodPut, "/storages/default", `{"weight":0}`)
	p.control(http.MethodDelete, "/requests", "")
	return p
}

// control calls the fake's control plane and decodes its answer into out
// (when not nil).
func (p *fakeProcess) control(method, path, body string, out ...any) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+"/-/fake"+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if len(out) > 0 {
		if err := json.NewDecoder(resp.Body).Decode(out[0]); err != nil {
			p.t.Fatal(err)
		}
	}
}

// loggedRequest is one entry of the fake's request log.
type loggedRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// requests returns the fake's request log.
func (p *fakeProcess) requests() []loggedRequest {
	var log []loggedRequest
	p.control(http.MethodGet, "/requests", "", &log)
	return log
}

// env is the environment of the tool against p with token.
func (p *fakeProcess) env(token string) []string {
	return append(os.Environ(), "GITLAB_URL="+p.base, "GITLAB_TOKEN="+token)
}
