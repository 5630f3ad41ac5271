package rebalance_test

import (
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

// Against the fake's demo fleet: the fleet is read with its fork
// networks, a move that fails is planned around (the fleet read again),
// and the run ends with every storage in the band.
func TestRunPlansAroundAFailedMove(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithFleetDemo(), gitlabtest.WithStepInterval(2*time.Millisecond))
	t.Cleanup(srv.Close)
	caps := map[string]int64{}
	for _, s := range srv.Storages() {
		caps[s.Name] = s.CapacityBytes
	}
	r, err := rebalance.New(srv.Client(), rebalance.Options{Capacities: caps, High: 0.7, Low: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.ReadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	forks := 0
	for _, p := range f.Projects {
		if p.ForkedFrom != 0 {
			forks++
		}
	}
	if len(f.Projects) != 148 || forks != 16 || f.Requests != 6 {
		t.Errorf("ReadFleet: %d projects, %d forks, %d requests; want the demo's 148 and 16 in 6 requests", len(f.Projects), forks, f.Requests)
	}
	plan, err := r.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	broken := plan.Moves[0].ID
	srv.UpdateProject(broken, func(p *gitlabtest.Project) { p.MoveFailure = "13:source repository is corrupt" })
	rep, err := plan.Run(t.Context(), srv.Client(), moves.Options{PollInterval: 5 * time.Millisecond, ScheduleInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Failed != 1 || rep.Rounds != 2 || rep.Totals.Moved < len(plan.Moves) {
		t.Errorf("report: %d failed, %d rounds, %d moved (plan: %d moves); want the failed one planned around", rep.Totals.Failed, rep.Rounds, rep.Totals.Moved, len(plan.Moves))
	}
	if p, _ := srv.Project(broken); p.Storage != plan.Moves[0].Storage {
		t.Errorf("the broken project is on %s", p.Storage)
	}
	for _, s := range srv.Storages() {
		if float64(s.UsedBytes) > 0.7*float64(s.CapacityBytes) {
			t.Errorf("%s ends %.1f%% full", s.Name, 100*float64(s.UsedBytes)/float64(s.CapacityBytes))
		}
	}
}
