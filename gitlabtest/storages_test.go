package gitlabtest_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// storageSums adds up statistics.repository_size per storage as a tool
// would: an administrator's GET /projects?repository_storage=NAME
// &statistics=true, page by page (pending deletions included when
// pending).
func storageSums(t *testing.T, srv *gitlabtest.Server, pending bool, names ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, name := range names {
		for page := 1; page != 0; {
			path := "/projects?statistics=true&per_page=100&repository_storage=" + name + "&page=" + strconv.Itoa(page)
			if pending {
				path += "&include_pending_delete=true"
			}
			got := adminDo(t, srv, "GET", path, "")
			if got.status != 200 {
				t.Fatalf("GET %s = %d %s", path, got.status, got.body)
			}
			for _, r := range decodeRows[projectRow](t, got.body) {
				out[name] += r.Statistics.RepositorySize
			}
			page, _ = strconv.Atoi(got.header.Get("X-Next-Page"))
		}
	}
	return out
}

func TestStoragesUsageAndCapacity(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	srv.AddStorage("archive", 0)
	if !srv.SetStorageCapacity("default", 1<<30) || !srv.SetStorageCapacity("storage2", 2<<30) || !srv.SetStorageCapacity("archive", -5) {
		t.Fatal("SetStorageCapacity() of a configured storage = false")
	}
	if srv.SetStorageCapacity("nowhere", 1) {
		t.Error(`SetStorageCapacity("nowhere") = true; want false`)
	}
	srv.AddProject(gitlabtest.Project{ID: 1, RepositorySize: 1000})
	srv.AddProject(gitlabtest.Project{ID: 2, RepositorySize: 2000, Storage: "storage2"})
	srv.AddProject(gitlabtest.Project{ID: 3, RepositorySize: 3000, PendingDelete: true})
	srv.AddProject(gitlabtest.Project{ID: 4, NoRepository: true, WikiSize: 4096})
	srv.AddGroup(gitlabtest.Group{ID: 1, Storage: "archive", WikiSize: 1 << 20})
	srv.AddSnippets(2, "archive")
	want := []gitlabtest.StorageUsage{
		{Name: "archive", Weight: 0},
		{Name: "default", Weight: 100, CapacityBytes: 1 << 30, UsedBytes: 4000},
		{Name: "storage2", Weight: 50, CapacityBytes: 2 << 30, UsedBytes: 2000},
	}
	if diff := cmp.Diff(want, srv.Storages()); diff != "" {
		t.Errorf("Storages() mismatch (-want +got):\n%s", diff)
	}
	got := control(t, srv, "GET", "/-/fake/storages", "")
	wantBody := `[{"name":"archive","weight":0,"capacity_bytes":0,"used_bytes":0},` +
		`{"name":"default","weight":100,"capacity_bytes":1073741824,"used_bytes":4000},` +
		`{"name":"storage2","weight":50,"capacity_bytes":2147483648,"used_bytes":2000}]` + "\n"
	if got.status != 200 || got.body != wantBody {
		t.Errorf("GET /-/fake/storages = %d %s; want 200 %s", got.status, got.body, wantBody)
	}
	// The sums are what an administrator adds up from the listings.
	if diff := cmp.Diff(map[string]int64{"default": 4000, "storage2": 2000}, storageSums(t, srv, true, "default", "storage2")); diff != "" {
		t.Errorf("sums of the listings mismatch (-want +got):\n%s", diff)
	}

	// Usage follows a move once the repository is copied (replicated).
	client := fakeClient(t, srv)
	if _, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), 1, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")}); err != nil {
		t.Fatalf("ScheduleForProject(1) error = %v", err)
	}
	used := func() map[string]int64 {
		out := map[string]int64{}
		for _, st := range srv.Storages() {
			out[st.Name] = st.UsedBytes
		}
		return out
	}
	srv.Step() // started
	if diff := cmp.Diff(map[string]int64{"archive": 0, "default": 4000, "storage2": 2000}, used()); diff != "" {
		t.Errorf("usage while the move runs mismatch (-want +got):\n%s", diff)
	}
	srv.Step() // replicated: the project is on storage2
	if diff := cmp.Diff(map[string]int64{"archive": 0, "default": 3000, "storage2": 3000}, used()); diff != "" {
		t.Errorf("usage after the move mismatch (-want +got):\n%s", diff)
	}
	// And a project's size or storage changed from Go.
	srv.UpdateProject(2, func(p *gitlabtest.Project) { p.RepositorySize = 2500; p.Storage = "archive" })
	srv.UpdateProject(3, func(p *gitlabtest.Project) { p.NoRepository = true })
	if diff := cmp.Diff(map[string]int64{"archive": 2500, "default": 0, "storage2": 1000}, used()); diff != "" {
		t.Errorf("usage after UpdateProject mismatch (-want +got):\n%s", diff)
	}
	// A project replaced by AddProject leaves its old storage.
	srv.AddProject(gitlabtest.Project{ID: 2, RepositorySize: 10, Storage: "default"})
	if diff := cmp.Diff(map[string]int64{"archive": 0, "default": 10, "storage2": 1000}, used()); diff != "" {
		t.Errorf("usage after replacing project 2 mismatch (-want +got):\n%s", diff)
	}
}

func TestControlPlaneStorages(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddProject(gitlabtest.Project{ID: 1, RepositorySize: 1000})
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"capacity of an existing storage", "PUT", "/-/fake/storages/default", `{"capacity_bytes":4096}`, 200,
			`{"name":"default","weight":100,"capacity_bytes":4096,"used_bytes":1000}`},
		{"a new storage with both", "PUT", "/-/fake/storages/storage2", `{"weight":5,"capacity_bytes":10737418240}`, 200,
			`{"name":"storage2","weight":5,"capacity_bytes":10737418240,"used_bytes":0}`},
		{"the weight keeps the capacity", "PUT", "/-/fake/storages/storage2", `{"weight":7}`, 200,
			`{"name":"storage2","weight":7,"capacity_bytes":10737418240,"used_bytes":0}`},
		{"capacity 0 removes it", "PUT", "/-/fake/storages/default", `{"capacity_bytes":0}`, 200,
			`{"name":"default","weight":100,"capacity_bytes":0,"used_bytes":1000}`},
		{"a new storage needs its weight", "PUT", "/-/fake/storages/storage3", `{"capacity_bytes":5}`, 400,
			`{"error":"storage \"storage3\" is not configured: add it with its weight, {\"weight\":N,\"capacity_bytes\":N}"}`},
		{"negative capacity", "PUT", "/-/fake/storages/default", `{"capacity_bytes":-1}`, 400, `{"error":"capacity_bytes must not be negative (0: no capacity)"}`},
		{"neither key", "PUT", "/-/fake/storages/default", `{}`, 400,
			`{"error":"body must be {\"weight\":N} with N from 0 to 100, {\"capacity_bytes\":N}, or both"}`},
		{"unknown key", "PUT", "/-/fake/storages/default", `{"capacity":1}`, 400, `{"error":"invalid JSON body: json: unknown field \"capacity\""}`},
		{"the list", "GET", "/-/fake/storages", ``, 200,
			`[{"name":"default","weight":100,"capacity_bytes":0,"used_bytes":1000},{"name":"storage2","weight":7,"capacity_bytes":10737418240,"used_bytes":0}]`},
		{"not a route", "DELETE", "/-/fake/storages", ``, 404, `{"error":"no control endpoint DELETE /-/fake/storages; GET /-/fake/ lists them"}`},
	}
	for _, tt := range tests {
		got := control(t, srv, tt.method, tt.path, tt.body)
		if got.status != tt.status || got.body != tt.want+"\n" {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	// The index lists the new routes.
	var index struct {
		Endpoints []string `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(control(t, srv, "GET", "/-/fake/", "").body), &index); err != nil {
		t.Fatalf("GET /-/fake/: %v", err)
	}
	for _, prefix := range []string{"GET /-/fake/storages ", "PUT /-/fake/storages/NAME ", "PUT /-/fake/sidekiq/queues/NAME ", "DELETE /-/fake/sidekiq/queues/NAME "} {
		found := false
		for _, e := range index.Endpoints {
			found = found || len(e) > len(prefix) && e[:len(prefix)] == prefix
		}
		if !found {
			t.Errorf("GET /-/fake/ lacks %q: %q", prefix, index.Endpoints)
		}
	}
}
