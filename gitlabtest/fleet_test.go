package gitlabtest_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// fleetRow is what the fleet tests read of a project.
type fleetRow struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	RepositoryStorage string `json:"repository_storage"`
	ForksCount        int    `json:"forks_count"`
	Visibility        string `json:"visibility"`
	Statistics        struct {
		RepositorySize int64 `json:"repository_size"`
	} `json:"statistics"`
	Parent *struct {
		ID int64 `json:"id"`
	} `json:"forked_from_project"`
}

// allProjects lists every project through GET /projects, in id order.
func allProjects(t *testing.T, srv *gitlabtest.Server) []fleetRow {
	t.Helper()
	var rows []fleetRow
	for page := 1; page != 0; {
		got := adminDo(t, srv, "GET", "/projects?statistics=true&order_by=id&sort=asc&per_page=100&page="+strconv.Itoa(page), "")
		if got.status != 200 {
			t.Fatalf("GET /projects page %d = %d %s", page, got.status, got.body)
		}
		rows = append(rows, decodeRows[fleetRow](t, got.body)...)
		page, _ = strconv.Atoi(got.header.Get("X-Next-Page"))
	}
	return rows
}

// The fleet's figures, which the package documentation and gitlabfake's
// help text give.
var wantFleet = []gitlabtest.StorageUsage{
	{Name: "default", Weight: 10, CapacityBytes: 10 << 30, UsedBytes: 9643945099},
	{Name: "storage2", Weight: 25, CapacityBytes: 10 << 30, UsedBytes: 8052095407},
	{Name: "storage3", Weight: 100, CapacityBytes: 12 << 30, UsedBytes: 3857870304},
	{Name: "storage4", Weight: 100, CapacityBytes: 16 << 30, UsedBytes: 1702458029},
}

func TestFleetDemo(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithFleetDemo())
	if diff := cmp.Diff(wantFleet, srv.Storages()); diff != "" {
		t.Errorf("Storages() mismatch (-want +got):\n%s", diff)
	}
	// Near 90, 75, 30 and 10% full, a little under.
	for i, pct := range []int64{90, 75, 30, 10} {
		st := wantFleet[i]
		if st.UsedBytes > st.CapacityBytes*pct/100 || st.UsedBytes < st.CapacityBytes*(pct-1)/100 {
			t.Errorf("%s uses %d of %d bytes; want just under %d%%", st.Name, st.UsedBytes, st.CapacityBytes, pct)
		}
	}
	wantJSON(t, "weights", adminDo(t, srv, "GET", "/application/settings", ""), 200,
		`{"id":1,"repository_storages_weighted":{"default":10,"storage2":25,"storage3":100,"storage4":100}}`)
	// What the drain reads agrees with the fake's usage.
	want := map[string]int64{}
	for _, st := range wantFleet {
		want[st.Name] = st.UsedBytes
	}
	if diff := cmp.Diff(want, storageSums(t, srv, false, "default", "storage2", "storage3", "storage4")); diff != "" {
		t.Errorf("sums of GET /projects?repository_storage=S&statistics=true mismatch (-want +got):\n%s", diff)
	}

	rows := allProjects(t, srv)
	byID := map[int64]fleetRow{}
	var largest fleetRow
	smallest := int64(1 << 62)
	for _, r := range rows {
		byID[r.ID] = r
		if r.Statistics.RepositorySize > largest.Statistics.RepositorySize {
			largest = r
		}
		smallest = min(smallest, r.Statistics.RepositorySize)
	}
	if smallest < 5<<20 || smallest >= 6<<20 {
		t.Errorf("the smallest project has %d bytes; want 5 MiB and a bit, as documented", smallest)
	}
	if len(rows) != 148 || largest.PathWithNamespace != "platform/monorepo" || largest.Statistics.RepositorySize != 1536<<20 {
		t.Errorf("%d projects, the largest %s (%d bytes); want 148 and platform/monorepo (1.5 GiB)", len(rows), largest.PathWithNamespace, largest.Statistics.RepositorySize)
	}
	if got := adminDo(t, srv, "GET", "/groups?per_page=1", ""); got.header.Get("X-Total") != "12" {
		t.Errorf("GET /groups X-Total = %q; want 12", got.header.Get("X-Total"))
	}

	// Fork networks: each on one storage, forks_count right.
	type network struct {
		Root     string
		Size     int
		Bytes    int64
		Storages []string
		Depth    int
	}
	rootOf := func(r fleetRow) (fleetRow, int) {
		depth := 0
		for r.Parent != nil {
			r, depth = byID[r.Parent.ID], depth+1
		}
		return r, depth
	}
	networks := map[int64]*network{}
	children := map[int64]int{}
	for _, r := range rows {
		if r.Parent != nil {
			children[r.Parent.ID]++
		}
		root, depth := rootOf(r)
		if root.ForksCount == 0 {
			continue // not in a network
		}
		n := networks[root.ID]
		if n == nil {
			n = &network{Root: root.PathWithNamespace}
			networks[root.ID] = n
		}
		n.Size++
		n.Bytes += r.Statistics.RepositorySize
		n.Depth = max(n.Depth, depth)
		if !slices.Contains(n.Storages, r.RepositoryStorage) {
			n.Storages = append(n.Storages, r.RepositoryStorage)
		}
		if r.Parent == nil && r.Visibility != "public" {
			t.Errorf("network root %s is %s; want public (GitLab pools forks of non-private projects)", r.PathWithNamespace, r.Visibility)
		}
	}
	for _, r := range rows {
		if r.ForksCount != children[r.ID] {
			t.Errorf("%s forks_count = %d; want its %d direct forks", r.PathWithNamespace, r.ForksCount, children[r.ID])
		}
	}
	var got []network
	for _, n := range networks {
		got = append(got, *n)
	}
	slices.SortFunc(got, func(a, b network) int { return int(b.Bytes - a.Bytes) })
	wantNetworks := []network{
		{"platform/api-gateway", 5, 1475 << 20, []string{"default"}, 2},
		{"data/warehouse-etl", 6, 1170 << 20, []string{"storage2"}, 2},
		{"ml/model-zoo", 4, 665 << 20, []string{"storage3"}, 2},
		{"web/design-system", 3, 395 << 20, []string{"default"}, 1},
		{"docs/handbook", 2, 192 << 20, []string{"storage4"}, 1},
		{"infra/terraform-modules", 2, 162 << 20, []string{"storage2"}, 1},
	}
	if diff := cmp.Diff(wantNetworks, got); diff != "" {
		t.Errorf("fork networks mismatch (-want +got):\n%s", diff)
	}

	// The fleet is the same whatever the seed and the clock.
	const ext = "https://gitlab.example.com"
	one := newFake(t, gitlabtest.WithFleetDemo(), gitlabtest.WithExternalURL(ext))
	other := gitlabtest.NewServer(gitlabtest.WithFleetDemo(), gitlabtest.WithSeed(99), gitlabtest.WithExternalURL(ext))
	defer other.Close()
	for page := range 2 {
		path := "/projects?statistics=true&order_by=id&sort=asc&per_page=100&page=" + strconv.Itoa(page+1)
		a, b := adminDo(t, one, "GET", path, "").body, adminDo(t, other, "GET", path, "").body
		if a != b {
			t.Errorf("GET %s differs between two fleets:\n%s", path, cmp.Diff(decodeRows[fleetRow](t, a), decodeRows[fleetRow](t, b)))
		}
	}
}

// A move changes the usage of both storages once the repository is
// copied.
func TestFleetDemoMoveChangesUsage(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithFleetDemo())
	client := fakeClient(t, srv)
	id := srv.ProjectsOnStorage("default")[0]
	p, _ := srv.Project(id)
	if _, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage4")}); err != nil {
		t.Fatalf("ScheduleForProject(%d) error = %v", id, err)
	}
	srv.Step()
	srv.Step()
	want := slices.Clone(wantFleet)
	want[0].UsedBytes -= p.RepositorySize
	want[3].UsedBytes += p.RepositorySize
	if diff := cmp.Diff(want, srv.Storages()); diff != "" {
		t.Errorf("Storages() after moving project %d (%d bytes) mismatch (-want +got):\n%s", id, p.RepositorySize, diff)
	}
}

// WithFleetDemo replaces WithDemoData; WithProjects still adds to default.
func TestFleetDemoReplacesDemoData(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithDemoData(), gitlabtest.WithFleetDemo(), gitlabtest.WithProjects(2))
	if got := adminDo(t, srv, "GET", "/projects?per_page=1", ""); got.header.Get("X-Total") != "150" {
		t.Errorf("GET /projects X-Total = %q; want 150 (the fleet's 148 and 2)", got.header.Get("X-Total"))
	}
	wantJSON(t, "no demo moves", adminDo(t, srv, "GET", "/project_repository_storage_moves", ""), 200, `[]`)
	if sites := srv.GeoSites(); len(sites) != 1 {
		t.Errorf("GeoSites() = %d sites; want the primary only", len(sites))
	}
}
