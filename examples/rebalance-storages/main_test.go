package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

// fleet starts the demo fleet, points the tool at it, and returns the
// -capacity flag of its storages. Not parallel: t.Setenv.
func fleet(t *testing.T) (*gitlabtest.Server, string) {
	t.Helper()
	srv := gitlabtest.NewServer(gitlabtest.WithFleetDemo(), gitlabtest.WithStepInterval(5*time.Millisecond))
	t.Cleanup(srv.Close)
	t.Setenv("GITLAB_URL", srv.URL())
	t.Setenv("GITLAB_TOKEN", srv.Token())
	caps := map[string]int64{}
	for _, s := range srv.Storages() {
		caps[s.Name] = s.CapacityBytes
	}
	return srv, capacityFlag(caps)
}

// tool runs the tool and returns its exit code and output.
func tool(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(t.Context(), append([]string{"-poll", "10ms"}, args...), &out, &errs)
	return code, out.String(), errs.String()
}

// shares is each storage's share of its capacity, in percent.
func shares(srv *gitlabtest.Server) map[string]float64 {
	out := map[string]float64{}
	for _, s := range srv.Storages() {
		out[s.Name] = 100 * float64(s.UsedBytes) / float64(s.CapacityBytes)
	}
	return out
}

// forkNetworksWhole asserts that every fork network is on one storage.
func forkNetworksWhole(t *testing.T, srv *gitlabtest.Server) {
	t.Helper()
	ids := []int64{}
	for _, s := range srv.Storages() {
		ids = append(ids, srv.ProjectsOnStorage(s.Name)...)
	}
	root := func(id int64) int64 {
		for {
			p, _ := srv.Project(id)
			if p.ForkedFromID == 0 {
				return id
			}
			id = p.ForkedFromID
		}
	}
	on := map[int64]map[string]bool{}
	for _, id := range ids {
		p, _ := srv.Project(id)
		r := root(id)
		if on[r] == nil {
			on[r] = map[string]bool{}
		}
		on[r][p.Storage] = true
	}
	networks := 0
	for r, s := range on {
		if len(s) > 1 {
			t.Errorf("fork network of project %d is on %d storages", r, len(s))
		}
		networks++
	}
	if networks == len(ids) {
		t.Error("the fleet has no fork network")
	}
}

// The scenario: one applied rebalance brings every storage into
// the band, moving at most 1.1x the lower bound plus the largest unit,
// never to weight 0 nor to a project's own storage, keeping fork networks
// whole; the second run plans nothing.
func TestApplyBalancesAndTheSecondRunPlansNothing(t *testing.T) {
	srv, caps := fleet(t)
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	code, out, errs := tool(t, "-capacity", caps, "-plan-out", planFile)
	if code != exitBalanced {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	var plan rebalance.Plan
	b, _ := os.ReadFile(planFile)
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	if limit := int64(1.1*float64(plan.LowerBound)) + plan.LargestUnit; plan.MovedBytes > limit || plan.LowerBound == 0 {
		t.Errorf("the plan moves %d bytes for a lower bound of %d (largest unit %d)", plan.MovedBytes, plan.LowerBound, plan.LargestUnit)
	}
	weights := map[string]int{}
	for _, s := range srv.Storages() {
		weights[s.Name] = s.Weight
	}
	for _, m := range plan.Moves {
		if p, _ := srv.Project(m.ID); m.To == p.Storage || weights[m.To] == 0 {
			t.Errorf("project %d (on %s) planned to %s, weight %d", m.ID, p.Storage, m.To, weights[m.To])
		}
	}
	srv.ResetRequests()

	code, out, errs = tool(t, "-apply-plan", planFile, "-journal", filepath.Join(dir, "j"))
	if code != exitBalanced || !strings.Contains(out, "Balanced: every storage is at or below 70.0%.") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	for name, share := range shares(srv) {
		if share > 70 {
			t.Errorf("%s is %.1f%% full after the rebalance", name, share)
		}
	}
	forkNetworksWhole(t, srv)
	var posted []int64
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			var id int64
			parts := strings.Split(r.Path, "/")
			_ = json.Unmarshal([]byte(parts[4]), &id)
			posted = append(posted, id)
		}
	}
	var planned []int64
	for _, m := range plan.Moves {
		planned = append(planned, m.ID)
	}
	slices.Sort(posted)
	slices.Sort(planned)
	if !slices.Equal(posted, planned) {
		t.Errorf("-apply-plan scheduled %v; the plan has %v", posted, planned)
	}

	code, out, _ = tool(t, "-capacity", caps)
	if code != exitBalanced || !strings.Contains(out, "Every storage is in the band: nothing to move.") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
}

// -revert moves back what a journal moved.
func TestRevert(t *testing.T) {
	srv, caps := fleet(t)
	before := shares(srv)
	journal := filepath.Join(t.TempDir(), "j")
	if code, out, errs := tool(t, "-capacity", caps, "-apply", "-journal", journal); code != exitBalanced {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := tool(t, "-revert", journal, "-apply", "-journal", journal+".revert")
	if code != exitBalanced || !strings.Contains(out, "Reverting "+journal+": ") {
		t.Fatalf("revert: exit %d\n%s%s", code, out, errs)
	}
	if after := shares(srv); !mapsEqual(before, after) {
		t.Errorf("usage after the revert %v; want it as before %v", after, before)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// During a latency spike of Sidekiq's queue no schedule call is sent, and
// scheduling resumes within two checks after it; the operator sees both.
func TestBackPressureSpike(t *testing.T) {
	srv, caps := fleet(t)
	spike := 90 * time.Second
	srv.OverrideSidekiqQueue("default", gitlabtest.SidekiqQueueOverride{Latency: &spike})
	resetAt := make(chan int, 1)
	go func() {
		for {
			time.Sleep(5 * time.Millisecond)
			n := 0
			reqs := srv.Requests()
			for _, r := range reqs {
				if strings.HasSuffix(r.Path, "/sidekiq/queue_metrics") {
					n++
				}
			}
			if n >= 3 {
				srv.ResetSidekiqQueue("default")
				resetAt <- len(srv.Requests())
				return
			}
		}
	}()
	code, out, errs := tool(t, "-capacity", caps, "-apply", "-max-queue-latency", "30s")
	if code != exitBalanced {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{" paused: Sidekiq queue default: oldest job waited 1m30s, above 30s; at most 2 moves running from now on", " resumed: Sidekiq queue default"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	reset := <-resetAt
	reqs := srv.Requests()
	checks := 0
	for i, r := range reqs {
		switch {
		case r.Method == "POST" && i < reset-1:
			t.Errorf("a schedule call was sent during the spike: %s %s", r.Method, r.Path)
		case r.Method == "POST":
			if checks > 2 {
				t.Errorf("scheduling resumed after %d checks of the queue; want at most 2", checks)
			}
			return
		case i >= reset && strings.HasSuffix(r.Path, "/sidekiq/queue_metrics"):
			checks++
		}
	}
	t.Error("no schedule call at all")
}

func TestBadInput(t *testing.T) {
	t.Setenv("GITLAB_URL", "")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-capacity", "default"}, `-capacity "default": want name=size`},
		{[]string{"-capacity", "default=10XB,b=1GiB"}, `-capacity default: unknown unit "XB"`},
		{[]string{"-capacity", "default=10GiB"}, "name at least two storages"},
		{[]string{"-high", "60%", "-low", "70%"}, "-low 70% must be below -high 60%"},
		{[]string{"-high", "170%"}, "want a percentage above 0% and at most 100%"},
		{[]string{"-high", "1"}, "-low 60% must be below -high 1%"},
		{[]string{"-max-running", "0"}, "-max-running 0: want at least 1"},
		{[]string{"-apply-plan", filepath.Join(dir, "none.json")}, "-apply-plan " + filepath.Join(dir, "none.json") + ": no such file"},
		{[]string{"-revert", "a", "-apply-plan", "b"}, "-apply-plan and -revert do not go together"},
		{[]string{"-ids", "1,x"}, `-ids "x" is not a project id`},
		{[]string{"-min-size", "2GiB", "-max-size", "1GiB"}, "-max-size 1.0 GiB is below -min-size 2.0 GiB"},
		{[]string{"stray"}, "unexpected argument at position 3"},
		{[]string{"-apply-plan", "p.json", "-ids", "1"}, "-apply-plan makes the moves of a plan already made: -ids (which shapes a plan) does not go with it"},
		{[]string{"-queue", " "}, "-queue: name the Sidekiq queue"},
		{[]string{"-plan-out", filepath.Join(dir, "no", "such", "p.json")}, "no such file or directory"},
	} {
		code, _, errs := tool(t, tc.args...)
		if code != exitBadFlags || !strings.Contains(errs, tc.want) {
			t.Errorf("rebalance-storages %q: exit %d, stderr ends %q; want 2 and %q", tc.args, code, lastLine(errs), tc.want)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// A token without administrator rights would see every storage empty: the
// tool refuses it with one line.
func TestNotAnAdministrator(t *testing.T) {
	srv, caps := fleet(t)
	srv.AddToken(gitlabtest.Token{Token: "glpat-user", Username: "user1"})
	t.Setenv("GITLAB_TOKEN", "glpat-user")
	code, _, errs := tool(t, "-capacity", caps)
	if want := `rebalance-storages: the token of "user1" is not an administrator's`; code != exitCannotRun || !strings.HasPrefix(lastLine(errs), want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errs, want)
	}
}

// -metrics serves the run's figures; at the end every counter equals the
// journal's count of that outcome in this run.
func TestMetrics(t *testing.T) {
	_, caps := fleet(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	journal := filepath.Join(t.TempDir(), "j")
	scraped := make(chan string, 1)
	go func() {
		for range 400 {
			time.Sleep(10 * time.Millisecond)
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "gitlabdata_remaining_containers 0") && strings.Contains(string(b), `outcome="moved"} 6`) {
				scraped <- string(b)
				return
			}
		}
		scraped <- ""
	}()
	code, out, errs := tool(t, "-capacity", caps, "-apply", "-journal", journal, "-metrics", addr, "-metrics-linger", "5s")
	if code != exitBalanced {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	text := <-scraped
	if text == "" {
		t.Fatalf("no scrape showed the final counts\n%s", out)
	}
	events, err := moves.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		count[string(ev.Type)]++
	}
	for _, line := range []string{
		fmt.Sprintf(`gitlabdata_moves_total{kind="project",outcome="moved"} %d`, count["moved"]),
		fmt.Sprintf(`gitlabdata_moves_total{kind="project",outcome="failed"} %d`, count["failed"]),
		"gitlabdata_moves_running 0",
		"gitlabdata_scheduling_paused 0",
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, text)
		}
	}
}

// cancelOn cancels a run when its output shows a line with want.
type cancelOn struct {
	bytes.Buffer
	want   string
	cancel func()
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.want) {
		c.cancel()
	}
	return c.Buffer.Write(p)
}

// A run interrupted with Ctrl-C resumes on its journal: the same command
// again makes the moves it planned, not a new plan.
func TestInterruptedRunResumes(t *testing.T) {
	srv, caps := fleet(t)
	journal := filepath.Join(t.TempDir(), "j")
	ctx, cancel := context.WithCancel(t.Context())
	out := &cancelOn{want: "moved project", cancel: cancel}
	var errs bytes.Buffer
	args := []string{"-poll", "10ms", "-capacity", caps, "-high", "50%", "-low", "45%", "-apply", "-journal", journal, "-max-running", "1"}
	if code := run(ctx, args, out, &errs); code != exitInterrupted || !strings.Contains(out.String(), "Run the same command again (with the same -journal) to resume.") {
		t.Fatalf("interrupted: exit %d\n%s%s", code, out.String(), errs.String())
	}
	code, again, errOut := tool(t, args[2:]...)
	if code != exitBalanced || !strings.Contains(again, "holds a run of ") || !strings.Contains(again, "Balanced: every storage is at or below 50.0%.") {
		t.Fatalf("resumed: exit %d\n%s%s", code, again, errOut)
	}
	forkNetworksWhole(t, srv)
}

// A reviewed plan interrupted with Ctrl-C resumes on its journal and, like
// a run that was not interrupted, reads the fleet again to say whether it
// is balanced; a Ctrl-C while the fleet is read is an interruption too.
func TestInterruptedApplyPlanResumes(t *testing.T) {
	srv, caps := fleet(t)
	dir := t.TempDir()
	planFile, journal := filepath.Join(dir, "plan.json"), filepath.Join(dir, "j")
	if code, out, errs := tool(t, "-capacity", caps, "-high", "50%", "-low", "45%", "-plan-out", planFile); code != exitBalanced {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	srv.ResetRequests()
	var out, errs bytes.Buffer
	if code := run(cancelled, []string{"-apply-plan", planFile, "-journal", journal}, &out, &errs); code != exitInterrupted ||
		lastLine(errs.String()) != "rebalance-storages: interrupted while reading GitLab: run the same command again (with the same -journal, if any)" {
		t.Errorf("Ctrl-C while reading the fleet: exit %d, stderr %q; want 4 and the interruption", code, lastLine(errs.String()))
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("a run interrupted before its moves sent %s %s", r.Method, r.Path)
		}
	}

	ctx, stop := context.WithCancel(t.Context())
	interrupted := &cancelOn{want: "moved project", cancel: stop}
	args := []string{"-poll", "10ms", "-apply-plan", planFile, "-journal", journal, "-max-running", "1"}
	if code := run(ctx, args, interrupted, &errs); code != exitInterrupted {
		t.Fatalf("interrupted: exit %d\n%s%s", code, interrupted.String(), errs.String())
	}
	code, again, errOut := tool(t, args[2:]...)
	if code != exitBalanced || !strings.Contains(again, "holds a run of ") || !strings.Contains(again, "Storages now (read again)") ||
		!strings.Contains(again, "Balanced: every storage is at or below 50.0%.") {
		t.Fatalf("resumed: exit %d\n%s%s", code, again, errOut)
	}
}

// A reviewed plan is checked against the fleet before it runs: a
// destination whose weight became 0, or a plan edited to split a fork
// network, is refused before any move.
func TestApplyPlanIsCheckedAgain(t *testing.T) {
	srv, caps := fleet(t)
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	if code, out, errs := tool(t, "-capacity", caps, "-high", "50%", "-low", "45%", "-plan-out", planFile); code != exitBalanced {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	var plan rebalance.Plan
	b, _ := os.ReadFile(planFile)
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	var split rebalance.Plan = plan
	split.Moves = nil
	for _, m := range plan.Moves {
		if m.Unit != "" && len(split.Moves) == 0 {
			split.Moves = append(split.Moves, m) // one member of a network only
		}
	}
	if len(split.Moves) == 0 {
		t.Fatal("the plan moves no fork network")
	}
	splitFile := filepath.Join(dir, "split.json")
	b, _ = json.Marshal(split)
	os.WriteFile(splitFile, b, 0o644)
	srv.ResetRequests()
	for _, tc := range []struct {
		name, file string
		prepare    func()
		want       string
	}{
		{"a plan that splits a fork network", splitFile, func() {}, "a fork network moves whole onto one storage"},
		{"a destination of weight 0", planFile, func() { srv.SetStorageWeight(plan.Moves[0].To, 0) }, "whose weight is now 0"},
	} {
		tc.prepare()
		code, _, errs := tool(t, "-apply-plan", tc.file)
		if code != exitCannotRun || !strings.Contains(lastLine(errs), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.name, code, lastLine(errs), tc.want)
		}
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("a refused plan sent %s %s", r.Method, r.Path)
		}
	}
}

// A journal of another GitLab is not reverted here; the embedded demo,
// new at every run, cannot apply a plan or revert.
func TestRevertAndApplyPlanChecks(t *testing.T) {
	_, caps := fleet(t)
	journal := filepath.Join(t.TempDir(), "j")
	if code, out, errs := tool(t, "-capacity", caps, "-apply", "-journal", journal); code != exitBalanced {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	other := gitlabtest.NewServer(gitlabtest.WithFleetDemo())
	t.Cleanup(other.Close)
	t.Setenv("GITLAB_URL", other.URL())
	t.Setenv("GITLAB_TOKEN", other.Token())
	if code, _, errs := tool(t, "-revert", journal, "-apply", "-journal", journal+".revert"); code != exitCannotRun || !strings.Contains(errs, "holds moves of ") {
		t.Errorf("revert against another GitLab: exit %d, %q", code, lastLine(errs))
	}
	t.Setenv("GITLAB_URL", "")
	if code, _, errs := tool(t, "-revert", journal); code != exitBadFlags || !strings.Contains(errs, "the embedded demo is a new GitLab at every run") {
		t.Errorf("revert on the embedded demo: exit %d, %q", code, lastLine(errs))
	}
}

// One 500 of a listing page is read again, not the end of the plan; a
// queue that Sidekiq does not have stops the run before any move.
func TestFaultsWhilePlanning(t *testing.T) {
	srv, caps := fleet(t)
	srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 500, Count: 1})
	if code, out, errs := tool(t, "-capacity", caps); code != exitBalanced {
		t.Errorf("one 500: exit %d\n%s%s", code, out, errs)
	}
	srv.ResetRequests()
	code, _, errs := tool(t, "-capacity", caps, "-apply", "-max-queue-latency", "30s", "-queue", "gitaly_throttled")
	if want := `rebalance-storages: Sidekiq has no queue "gitaly_throttled"`; code != exitCannotRun || !strings.HasPrefix(lastLine(errs), want) {
		t.Errorf("a missing queue: exit %d, %q; want 1 and %q", code, lastLine(errs), want)
	}
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			t.Errorf("a move was scheduled: %s", r.Path)
		}
	}
}
