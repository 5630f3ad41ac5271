package gitlabtest

import (
	"math/rand/v2"
	"time"
)

// WithFleetDemo seeds an unbalanced fleet of Gitaly storages, for tools
// that rebalance storages or drain one: four storages, each with a weight
// above 0 and a capacity ([Server.Storages]), whose projects fill them to
// just under 90% ("default", 10 GiB, weight 10: 89.8%), 75% ("storage2",
// 10 GiB, weight 25: 75.0%), 30% ("storage3", 12 GiB, weight 100: 29.9%)
// and 10% ("storage4", 16 GiB, weight 100: 9.9%). Its 148 projects, in 12
// groups, have repository sizes from 5 MiB to 1.5 GiB
// (platform/monorepo), four of them large (0.9 to 1.5 GiB). Six fork
// networks of 2 to 6 projects (a public root and its forks, three with a
// fork of a fork) each sit entirely on one storage, four of them on the
// two fullest; the largest, platform/api-gateway and its four forks,
// holds 1475 MiB on "default". The fleet is the same on every run: it is
// built from a fixed seed, whatever [WithSeed] says, and its projects'
// created_at are fixed dates from 2021 on, forks last. It has no storage
// moves, Data management records or Geo secondaries (unless
// [WithGeoSecondaries] adds some).
//
// WithFleetDemo replaces [WithDemoData]: given both, the server seeds the
// fleet only. [WithProjects] still adds its projects on "default".
func WithFleetDemo() ServerOption { return func(c *config) { c.fleet = true } }

// fleetStorage is a storage of the fleet demo and how full it is made.
type fleetStorage struct {
	name     string
	weight   int
	capacity int64
	percent  int64 // the share of capacity its projects use
}

var fleetStorages = []fleetStorage{
	{"default", 10, 10 << 30, 90},
	{"storage2", 25, 10 << 30, 75},
	{"storage3", 100, 12 << 30, 30},
	{"storage4", 100, 16 << 30, 10},
}

// fleetGroups are the fleet's groups, the namespaces of its projects.
var fleetGroups = []string{
	"platform", "payments", "mobile", "data", "web", "infra",
	"security", "ml", "docs", "qa", "tools", "design",
}

// fleetProject is a named project of the fleet demo; a fork names its
// parent by the index in its network (0 the root, i the i-th fork).
type fleetProject struct {
	namespace, name string
	size            int64 // repository_size in bytes
	description     string
	parent          int
}

// fleetNetwork is a fork network of the fleet demo: the root first, then
// the forks, each after its parent.
type fleetNetwork struct {
	storage  string
	projects []fleetProject
}

var fleetNetworks = []fleetNetwork{
	{"default", []fleetProject{
		{"platform", "api-gateway", 1100 << 20, "Edge routing for every public API", 0},
		{"payments", "api-gateway", 180 << 20, "", 0},
		{"mobile", "api-gateway", 95 << 20, "", 0},
		{"web", "api-gateway", 60 << 20, "", 0},
		{"qa", "api-gateway", 40 << 20, "", 1},
	}},
	{"default", []fleetProject{
		{"web", "design-system", 320 << 20, "Shared UI components", 0},
		{"mobile", "design-system", 45 << 20, "", 0},
		{"docs", "design-system", 30 << 20, "", 0},
	}},
	{"storage2", []fleetProject{
		{"data", "warehouse-etl", 700 << 20, "Nightly loads into the warehouse", 0},
		{"ml", "warehouse-etl", 210 << 20, "", 0},
		{"infra", "warehouse-etl", 120 << 20, "", 0},
		{"security", "warehouse-etl", 80 << 20, "", 1},
		{"qa", "warehouse-etl", 35 << 20, "", 2},
		{"tools", "warehouse-etl", 25 << 20, "", 0},
	}},
	{"storage2", []fleetProject{
		{"infra", "terraform-modules", 140 << 20, "Reusable infrastructure modules", 0},
		{"platform", "terraform-modules", 22 << 20, "", 0},
	}},
	{"storage3", []fleetProject{
		{"ml", "model-zoo", 450 << 20, "Pretrained models and their training code", 0},
		{"data", "model-zoo", 130 << 20, "", 0},
		{"tools", "model-zoo", 60 << 20, "", 0},
		{"design", "model-zoo", 25 << 20, "", 1},
	}},
	{"storage4", []fleetProject{
		{"docs", "handbook", 180 << 20, "How we work", 0},
		{"design", "handbook", 12 << 20, "", 0},
	}},
}

// fleetLarge are the fleet's large projects that are not forks.
var fleetLarge = []struct {
	storage string
	project fleetProject
}{
	{"default", fleetProject{"platform", "monorepo", 1536 << 20, "Everything before the split", 0}},
	{"default", fleetProject{"data", "archive-2019", 1200 << 20, "Frozen exports", 0}},
	{"storage2", fleetProject{"mobile", "ios-app", 1280 << 20, "The iOS app, with its vendored SDKs", 0}},
	{"storage3", fleetProject{"ml", "datasets", 900 << 20, "Training data (LFS pointers and fixtures)", 0}},
}

// Words of the names of the fleet's other projects.
var (
	fleetAdjectives = []string{"blue", "quiet", "rapid", "silver", "brave", "lucky", "amber", "hollow", "bright", "crisp",
		"gentle", "polar", "rusty", "solar", "tidy", "vivid", "wild", "young", "cobalt", "misty"}
	fleetNouns = []string{"falcon", "harbor", "ledger", "meadow", "beacon", "canyon", "lantern", "orchid", "pebble", "quarry",
		"river", "signal", "summit", "thicket", "tundra", "vertex", "willow", "anchor", "cipher", "delta"}
)

const (
	// fleetSeed makes the fleet the same on every run.
	fleetSeed = 0x666c656574
	// fleetMinSize is the smallest size of the fleet's ordinary
	// projects; fleetSizeSteps the number of doublings above it their
	// sizes are drawn from, so they range up to fleetMaxSize. Integer
	// arithmetic keeps the sizes the same on every platform.
	fleetMinSize   = 4 << 20
	fleetSizeSteps = 7
	fleetMaxSize   = fleetMinSize << fleetSizeSteps
)

// fleetEpoch is the created_at of the fleet's first project; each next
// one was created 61 hours later.
var fleetEpoch = time.Date(2021, 3, 1, 9, 30, 0, 0, time.UTC)

// loadFleet seeds the fleet demo (see WithFleetDemo).
func (s *Server) loadFleet() {
	rng := rand.New(rand.NewPCG(fleetSeed, fleetSeed^0x9e3779b97f4a7c15))
	for _, st := range fleetStorages {
		s.AddStorage(st.name, st.weight)
		s.SetStorageCapacity(st.name, st.capacity)
	}
	for _, g := range fleetGroups {
		s.AddGroup(Group{Name: g, Path: g, Visibility: "internal", NoWiki: true})
	}

	// The projects that are not forks, in a shuffled order so that ids
	// do not follow storages; the forks follow, each after its parent.
	type entry struct {
		storage string
		project fleetProject
		network int // index in fleetNetworks, or -1
	}
	var entries []entry
	used := map[string]int64{}
	taken := map[string]bool{}
	for i, n := range fleetNetworks {
		entries = append(entries, entry{n.storage, n.projects[0], i})
		for _, p := range n.projects {
			used[n.storage] += p.size
			taken[p.namespace+"/"+p.name] = true
		}
	}
	for _, l := range fleetLarge {
		entries = append(entries, entry{l.storage, l.project, -1})
		used[l.storage] += l.project.size
		taken[l.project.namespace+"/"+l.project.name] = true
	}
	// Ordinary projects fill each storage to its share.
	for _, st := range fleetStorages {
		remaining := st.capacity*st.percent/100 - used[st.name]
		for remaining >= fleetMinSize {
			base := int64(fleetMinSize) << rng.IntN(fleetSizeSteps)
			size := base + rng.Int64N(base)
			if remaining < fleetMaxSize {
				// The last one leaves the storage a little under its
				// share.
				size = remaining - rng.Int64N(32<<20)
				if size < fleetMinSize {
					break
				}
			}
			var ns, name string
			for {
				ns = fleetGroups[rng.IntN(len(fleetGroups))]
				name = fleetAdjectives[rng.IntN(len(fleetAdjectives))] + "-" + fleetNouns[rng.IntN(len(fleetNouns))]
				if !taken[ns+"/"+name] {
					taken[ns+"/"+name] = true
					break
				}
			}
			entries = append(entries, entry{st.name, fleetProject{namespace: ns, name: name, size: size}, -1})
			remaining -= size
		}
	}
	rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })

	visibilities := []string{"private", "private", "private", "internal", "internal", "public"}
	n := 0
	created := func() time.Time {
		n++
		return fleetEpoch.Add(time.Duration(n-1) * 61 * time.Hour)
	}
	roots := make([]int64, len(fleetNetworks))
	for _, e := range entries {
		vis := visibilities[rng.IntN(len(visibilities))]
		if e.network >= 0 {
			vis = "public" // GitLab pools the objects of forks of non-private projects
		}
		id := s.AddProject(Project{
			Name: e.project.name, Path: e.project.name, Namespace: e.project.namespace, Description: e.project.description,
			Storage: e.storage, Visibility: vis, RepositorySize: e.project.size, CreatedAt: created(),
		})
		if e.network >= 0 {
			roots[e.network] = id
		}
	}
	for i, nw := range fleetNetworks {
		ids := []int64{roots[i]}
		for _, p := range nw.projects[1:] {
			id, _ := s.AddFork(ids[p.parent], Project{
				Namespace: p.namespace, Description: p.description, RepositorySize: p.size, CreatedAt: created(),
			})
			ids = append(ids, id)
		}
	}
}
