package rebalance_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

const gib = int64(1) << 30

// randomFleet is a fleet of four storages of 100 GiB filled to about
// fills, with projects of varied sizes and fork networks, each network on
// one storage; storage4 has weight 0 when zero is set.
func randomFleet(seed uint64, fills [4]float64, zero bool) (*rebalance.Fleet, rebalance.Options) {
	rng := rand.New(rand.NewPCG(seed, 7))
	names := []string{"default", "storage2", "storage3", "storage4"}
	f := &rebalance.Fleet{Instance: "http://gitlab.test/api/v4/", Weights: map[string]int{}}
	o := rebalance.Options{Capacities: map[string]int64{}, High: 0.70, Low: 0.60}
	id := int64(0)
	for i, name := range names {
		f.Weights[name] = 100
		if zero && name == "storage4" {
			f.Weights[name] = 0
		}
		o.Capacities[name] = 100 * gib
		target := int64(fills[i] * float64(100*gib))
		for used := int64(0); used < target; {
			id++
			size := int64(rng.ExpFloat64() * float64(gib) / 2)
			root := id
			f.Projects = append(f.Projects, rebalance.Project{ID: id, Path: fmt.Sprintf("g%d/p%d", id%5, id), Storage: name, Size: size})
			used += size
			if rng.IntN(6) == 0 { // a fork network: forks, and forks of forks
				parent := root
				for range 1 + rng.IntN(4) {
					id++
					fs := int64(rng.ExpFloat64() * float64(gib) / 8)
					f.Projects = append(f.Projects, rebalance.Project{ID: id, Path: fmt.Sprintf("g%d/p%d", id%5, id), Storage: name, Size: fs, ForkedFrom: parent})
					used += fs
					if rng.IntN(2) == 0 {
						parent = id
					}
				}
			}
		}
	}
	return f, o
}

// apply returns the fleet after the plan's moves.
func apply(f *rebalance.Fleet, p *rebalance.Plan) *rebalance.Fleet {
	to := map[int64]string{}
	for _, m := range p.Moves {
		to[m.ID] = m.To
	}
	g := *f
	g.Projects = nil
	for _, pr := range f.Projects {
		if d, ok := to[pr.ID]; ok {
			pr.Storage = d
		}
		g.Projects = append(g.Projects, pr)
	}
	return &g
}

// The properties of every plan, on many random fleets: within the band,
// few bytes, never to weight 0 or to its own storage, fork networks
// whole, and nothing to do the second time.
func TestPlanProperties(t *testing.T) {
	fills := [][4]float64{{0.90, 0.75, 0.30, 0.10}, {0.95, 0.85, 0.20, 0.20}, {0.72, 0.71, 0.50, 0.05}, {0.50, 0.40, 0.30, 0.20}}
	for seed := range uint64(40) {
		fill := fills[seed%uint64(len(fills))]
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f, o := randomFleet(seed, fill, seed%3 == 0)
			p, err := rebalance.PlanFleet(f, o)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, f, o, p)
			again, err := rebalance.PlanFleet(apply(f, p), o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Balanced() && len(again.Moves) != 0 {
				t.Errorf("the second plan on the balanced fleet moves %d projects", len(again.Moves))
			}
		})
	}
}

// checkPlan asserts what every plan promises.
func checkPlan(t *testing.T, f *rebalance.Fleet, o rebalance.Options, p *rebalance.Plan) {
	t.Helper()
	storageOf := map[int64]string{}
	parent := map[int64]int64{}
	for _, pr := range f.Projects {
		storageOf[pr.ID] = pr.Storage
		parent[pr.ID] = pr.ForkedFrom
	}
	unbalanced := map[string]bool{}
	for _, u := range p.Unbalanced {
		unbalanced[u.Storage] = true
	}
	for _, s := range p.Storages {
		high, low := int64(o.High*float64(s.Capacity)), int64(o.Low*float64(s.Capacity))
		if s.After > high && !unbalanced[s.Name] {
			t.Errorf("%s ends at %.1f%%, above High, and the plan does not say why", s.Name, 100*s.ShareAfter())
		}
		if s.In > 0 && s.After > low {
			t.Errorf("%s receives %d bytes and ends at %.1f%%, above Low", s.Name, s.In, 100*s.ShareAfter())
		}
	}
	if limit := int64(1.1*float64(p.LowerBound)) + p.LargestUnit; p.MovedBytes > limit {
		t.Errorf("moves %d bytes; want at most 1.1 x the lower bound %d plus the largest unit %d = %d", p.MovedBytes, p.LowerBound, p.LargestUnit, limit)
	}
	destOf := map[int64]string{}
	for _, m := range p.Moves {
		switch {
		case m.To == m.Storage || m.To == storageOf[m.ID] && m.Storage == storageOf[m.ID]:
			t.Errorf("project %d moves onto its own storage %s", m.ID, m.To)
		case f.Weights[m.To] == 0:
			t.Errorf("project %d moves to %s, of weight 0", m.ID, m.To)
		case m.Storage != storageOf[m.ID]:
			t.Errorf("project %d is on %s, the plan moves it off %s", m.ID, storageOf[m.ID], m.Storage)
		}
		destOf[m.ID] = m.To
	}
	root := func(id int64) int64 {
		for parent[id] != 0 {
			id = parent[id]
		}
		return id
	}
	end := map[int64]map[string]bool{}
	for _, pr := range f.Projects {
		s := storageOf[pr.ID]
		if d, ok := destOf[pr.ID]; ok {
			s = d
		}
		r := root(pr.ID)
		if end[r] == nil {
			end[r] = map[string]bool{}
		}
		end[r][s] = true
	}
	for r, on := range end {
		if len(on) != 1 {
			t.Errorf("fork network of %d ends on %d storages: %v", r, len(on), on)
		}
	}
}

// The demo fleet of the issue: 90%, 75%, 30% and 10% full; bytes moved
// against the lower bound.
func TestPlanOfTheIssuesFleet(t *testing.T) {
	f, o := randomFleet(1, [4]float64{0.90, 0.75, 0.30, 0.10}, false)
	p, err := rebalance.PlanFleet(f, o)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Balanced() {
		t.Fatalf("unbalanced: %+v", p.Unbalanced)
	}
	t.Logf("moved %d bytes for a lower bound of %d (%.3fx), largest unit %d, %d units, %d moves",
		p.MovedBytes, p.LowerBound, float64(p.MovedBytes)/float64(p.LowerBound), p.LargestUnit, p.Units, len(p.Moves))
	for _, s := range p.Storages {
		t.Logf("%-9s %5.1f%% -> %5.1f%%", s.Name, 100*s.Share(), 100*s.ShareAfter())
	}
}

// Scope, budget, exclusions and the percentage limit what moves; what they
// leave above High is reported with why.
func TestPlanLimits(t *testing.T) {
	f, base := randomFleet(3, [4]float64{0.90, 0.50, 0.30, 0.10}, false)
	for _, tc := range []struct {
		name  string
		set   func(o *rebalance.Options)
		check func(t *testing.T, p *rebalance.Plan)
		why   string
	}{
		{"namespace", func(o *rebalance.Options) { o.Scope.Namespace = "g1" }, func(t *testing.T, p *rebalance.Plan) {
			for _, m := range p.Moves {
				if !strings.HasPrefix(m.Path, "g1/") {
					t.Errorf("moves %s, outside g1", m.Path)
				}
			}
		}, "no more of its repositories may move"},
		{"ids", func(o *rebalance.Options) { o.Scope.IDs = []int64{1, 2, 3} }, func(t *testing.T, p *rebalance.Plan) {
			for _, m := range p.Moves {
				if m.ID > 3 {
					t.Errorf("moves project %d, not among the ids", m.ID)
				}
			}
		}, ""},
		{"max bytes", func(o *rebalance.Options) { o.MaxBytes = 5 * gib }, func(t *testing.T, p *rebalance.Plan) {
			if p.MovedBytes > 5*gib {
				t.Errorf("moves %d bytes over the 5 GiB budget", p.MovedBytes)
			}
		}, "the byte budget is used up"},
		{"percent", func(o *rebalance.Options) { o.Scope.Percent = 5 }, func(t *testing.T, p *rebalance.Plan) {
			for _, s := range p.Storages {
				if s.Out > s.Used/20 {
					t.Errorf("%s gives up %d of %d bytes, over 5%%", s.Name, s.Out, s.Used)
				}
			}
		}, "it may give up only 5% of its bytes"},
		{"size range", func(o *rebalance.Options) { o.Scope.MinSize, o.Scope.MaxSize = gib/4, gib }, func(t *testing.T, p *rebalance.Plan) {
			for _, m := range p.Moves {
				if m.Unit == "" && (m.Size < gib/4 || m.Size > gib) {
					t.Errorf("moves project %d of %d bytes, out of the range", m.ID, m.Size)
				}
			}
		}, ""},
		{"exclusions", func(o *rebalance.Options) {
			for id := int64(1); id < 400; id++ {
				o.Exclude = append(o.Exclude, moves.Container{Kind: moves.KindProject, ID: id})
			}
		}, func(t *testing.T, p *rebalance.Plan) {
			for _, m := range p.Moves {
				if m.ID < 400 {
					t.Errorf("moves excluded project %d", m.ID)
				}
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.set(&o)
			p, err := rebalance.PlanFleet(f, o)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, f, o, p)
			tc.check(t, p)
			if tc.why != "" && (len(p.Unbalanced) == 0 || !strings.Contains(p.Unbalanced[0].Why, tc.why)) {
				t.Errorf("unbalanced = %+v; want it to say %q", p.Unbalanced, tc.why)
			}
		})
	}
}

// A fork network split across storages is gathered on the storage that
// holds most of it.
func TestPlanGathersASplitNetwork(t *testing.T) {
	f := &rebalance.Fleet{Weights: map[string]int{"a": 100, "b": 100}, Projects: []rebalance.Project{
		{ID: 1, Path: "g/root", Storage: "a", Size: 10 * gib},
		{ID: 2, Path: "g/fork", Storage: "b", Size: gib, ForkedFrom: 1},
		{ID: 3, Path: "g/other", Storage: "b", Size: gib},
	}}
	p, err := rebalance.PlanFleet(f, rebalance.Options{Capacities: map[string]int64{"a": 100 * gib, "b": 100 * gib}, High: 0.7, Low: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	want := []moves.Move{{Container: moves.Container{Kind: moves.KindProject, ID: 2, Path: "g/fork", Storage: "b", Size: gib, HasSize: true}, To: "a", Unit: "fork-network-1"}}
	if d := cmp.Diff(want, p.Moves); d != "" {
		t.Errorf("moves mismatch (-want +got):\n%s", d)
	}
}

func TestInvalidOptions(t *testing.T) {
	caps := map[string]int64{"a": gib, "b": gib}
	for _, tc := range []struct {
		o    rebalance.Options
		want string
	}{
		{rebalance.Options{Capacities: map[string]int64{"a": gib}, High: 0.7, Low: 0.6}, "at least two storages"},
		{rebalance.Options{Capacities: caps, High: 70, Low: 0.6}, "High 70: want a fraction"},
		{rebalance.Options{Capacities: caps, High: 0.6, Low: 0.7}, "Low 0.7: want a fraction above 0 and below High"},
		{rebalance.Options{Capacities: map[string]int64{"a": gib, "b": 0}, High: 0.7, Low: 0.6}, `storage "b": capacity 0`},
		{rebalance.Options{Capacities: caps, High: 0.7, Low: 0.6, Scope: rebalance.Scope{MinSize: 5, MaxSize: 2}}, "is not a range"},
	} {
		_, err := rebalance.PlanFleet(&rebalance.Fleet{}, tc.o)
		if !errors.Is(err, rebalance.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PlanFleet(%+v) = %v; want %q", tc.o, err, tc.want)
		}
	}
}
