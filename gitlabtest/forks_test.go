package gitlabtest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// forkFake has a public root (1, platform/alpha on storage2) with three
// direct forks: 2 (public, mobile/alpha), 3 (private, qa/alpha) and 4
// (pending deletion); 5 is a fork of 2, and 6 a public fork of the
// private 3.
func forkFake(t *testing.T) *gitlabtest.Server {
	t.Helper()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"))
	srv.AddStorage("storage2", 50)
	srv.AddUserToken("user-token", false)
	srv.AddGroup(gitlabtest.Group{ID: 9, Name: "Platform", Path: "platform"})
	srv.AddProject(gitlabtest.Project{ID: 1, Name: "Alpha", Namespace: "platform", Visibility: "public", Storage: "storage2", RepositorySize: 5000, Description: "The original"})
	steps := []struct {
		parent int64
		fork   gitlabtest.Project
	}{
		{1, gitlabtest.Project{Namespace: "mobile", RepositorySize: 700}},
		{1, gitlabtest.Project{Namespace: "qa", Visibility: "private", RepositorySize: 300}},
		{1, gitlabtest.Project{Namespace: "old", PendingDelete: true, RepositorySize: 100}},
		{2, gitlabtest.Project{Name: "Alpha Two", Path: "alpha-two", Namespace: "web", RepositorySize: 50}},
		{3, gitlabtest.Project{Namespace: "docs", Visibility: "public", RepositorySize: 20}},
	}
	for i, st := range steps {
		id, ok := srv.AddFork(st.parent, st.fork)
		if !ok || id != int64(i+2) {
			t.Fatalf("AddFork(%d) = %d, %t; want %d, true", st.parent, id, ok, i+2)
		}
	}
	return srv
}

func TestAddFork(t *testing.T) {
	t.Parallel()
	srv := forkFake(t)
	got, _ := srv.Project(2)
	want := gitlabtest.Project{
		ID: 2, Name: "Alpha", Path: "alpha", Namespace: "mobile", Description: "The original", Storage: "storage2",
		CreatedAt: testNow, Visibility: "public", RepositorySize: 700, ForkedFromID: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Project(2) mismatch (-want +got):\n%s", diff)
	}
	// A fork starts where its parent is now; the namespace defaults to
	// one of its own.
	srv.UpdateProject(2, func(p *gitlabtest.Project) { p.Storage = "default" })
	id, ok := srv.AddFork(2, gitlabtest.Project{})
	if got, _ := srv.Project(id); !ok || got.Storage != "default" || got.Namespace != "fork-7" || got.Path != "alpha" || got.ForkedFromID != 2 {
		t.Errorf("AddFork(2) = %d, %t: %+v; want project 7 on default in namespace fork-7", id, ok, got)
	}
	for _, tt := range []struct {
		parent int64
		fork   gitlabtest.Project
	}{{99, gitlabtest.Project{}}, {1, gitlabtest.Project{ID: 1}}} {
		if id, ok := srv.AddFork(tt.parent, tt.fork); ok {
			t.Errorf("AddFork(%d, ID %d) = %d, true; want false", tt.parent, tt.fork.ID, id)
		}
	}
	if _, ok := srv.Project(99); ok {
		t.Error("a refused AddFork added a project")
	}
}

// An administrator's full project carries forked_from_project (GitLab's
// BasicProjectDetails, with its repository_storage) and
// mr_default_target_self for a fork, forks_count for every project.
func TestForkedFromProject(t *testing.T) {
	t.Parallel()
	srv := forkFake(t)
	alpha := `{"id":1,"description":"The original","name":"Alpha","name_with_namespace":"platform / Alpha","path":"alpha","path_with_namespace":"platform/alpha",` +
		`"created_at":"2025-07-24T14:22:18.643Z","default_branch":"main","tag_list":[],"topics":[],` +
		`"ssh_url_to_repo":"git@gitlab.example.com:platform/alpha.git","http_url_to_repo":"https://gitlab.example.com/platform/alpha.git",` +
		`"web_url":"https://gitlab.example.com/platform/alpha","readme_url":"https://gitlab.example.com/platform/alpha/-/blob/main/README.md",` +
		`"forks_count":3,"avatar_url":null,"star_count":0,"last_activity_at":"2025-07-24T14:22:18.643Z","visibility":"public",` +
		`"namespace":{"id":9,"name":"platform","path":"platform","kind":"group","full_path":"platform","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/groups/platform"},` +
		`"repository_storage":"storage2"}`
	want := `{"id":2,"description":"The original","name":"Alpha","name_with_namespace":"mobile / Alpha","path":"alpha","path_with_namespace":"mobile/alpha",` +
		`"created_at":"2025-07-24T14:22:18.643Z","default_branch":"main","tag_list":[],"topics":[],` +
		`"ssh_url_to_repo":"git@gitlab.example.com:mobile/alpha.git","http_url_to_repo":"https://gitlab.example.com/mobile/alpha.git",` +
		`"web_url":"https://gitlab.example.com/mobile/alpha","readme_url":"https://gitlab.example.com/mobile/alpha/-/blob/main/README.md",` +
		`"forks_count":1,"avatar_url":null,"star_count":0,"last_activity_at":"2025-07-24T14:22:18.643Z",` +
		`"namespace":{"id":1793162,"name":"mobile","path":"mobile","kind":"group","full_path":"mobile","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/groups/mobile"},` +
		`"empty_repo":false,"archived":false,"visibility":"public","repository_storage":"storage2",` +
		`"forked_from_project":` + alpha + `,"mr_default_target_self":false,` +
		`"statistics":{"commit_count":0,"storage_size":700,"repository_size":700,"wiki_size":0,"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0,"container_registry_size":0}}`
	wantJSON(t, "GET /projects/2 (a fork)", adminDo(t, srv, "GET", "/projects/2?statistics=true", ""), 200, want)

	// The root is no fork: no forked_from_project, no mr_default_target_self.
	root := adminDo(t, srv, "GET", "/projects/platform%2Falpha", "")
	if root.status != 200 || !strings.Contains(root.body, `"forks_count":3,`) || strings.Contains(root.body, "forked_from_project") || strings.Contains(root.body, "mr_default_target_self") {
		t.Errorf("GET /projects/1 = %d %s; want forks_count 3 and no fork fields", root.status, root.body)
	}

	type row struct {
		ID         int64 `json:"id"`
		ForksCount int   `json:"forks_count"`
		Parent     *struct {
			ID                int64  `json:"id"`
			PathWithNamespace string `json:"path_with_namespace"`
			RepositoryStorage string `json:"repository_storage"`
		} `json:"forked_from_project"`
		TargetSelf *bool `json:"mr_default_target_self"`
	}
	type summary struct {
		ID, ForksCount, Parent int64
		ParentPath, Storage    string
		TargetSelf             bool
	}
	list := func(path, token string) []summary {
		t.Helper()
		got := doRaw(t, srv, "GET", path, token, "")
		if got.status != 200 {
			t.Fatalf("GET %s = %d %s", path, got.status, got.body)
		}
		var out []summary
		for _, r := range decodeRows[row](t, got.body) {
			s := summary{ID: r.ID, ForksCount: int64(r.ForksCount), TargetSelf: r.TargetSelf != nil}
			if r.Parent != nil {
				s.Parent, s.ParentPath, s.Storage = r.Parent.ID, r.Parent.PathWithNamespace, r.Parent.RepositoryStorage
			}
			out = append(out, s)
		}
		return out
	}
	wantAdmin := []summary{
		{ID: 1, ForksCount: 3},
		{ID: 2, ForksCount: 1, Parent: 1, ParentPath: "platform/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 3, ForksCount: 1, Parent: 1, ParentPath: "platform/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 5, Parent: 2, ParentPath: "mobile/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 6, Parent: 3, ParentPath: "qa/alpha", Storage: "storage2", TargetSelf: true},
	}
	if diff := cmp.Diff(wantAdmin, list("/projects?order_by=id&sort=asc", srv.Token())); diff != "" {
		t.Errorf("administrator's GET /projects mismatch (-want +got):\n%s", diff)
	}
	// A user sees no repository_storage, and no forked_from_project of a
	// parent it cannot read (6 is a public fork of the private 3).
	wantUser := []summary{
		{ID: 1, ForksCount: 3},
		{ID: 2, ForksCount: 1, Parent: 1, ParentPath: "platform/alpha", TargetSelf: true},
		{ID: 5, Parent: 2, ParentPath: "mobile/alpha", TargetSelf: true},
		{ID: 6, TargetSelf: true},
	}
	if diff := cmp.Diff(wantUser, list("/projects?order_by=id&sort=asc", "user-token")); diff != "" {
		t.Errorf("user's GET /projects mismatch (-want +got):\n%s", diff)
	}

	// simple=true answers BasicProjectDetails: no fork fields, no
	// statistics, no empty_repo or archived.
	got := adminDo(t, srv, "GET", "/projects?simple=true&statistics=true&order_by=id&sort=asc&per_page=1", "")
	if got.status != 200 || got.body != "["+alpha+"]" {
		t.Errorf("GET /projects?simple=true = %d %s; want [%s]", got.status, got.body, alpha)
	}
	wantJSON(t, "simple=maybe", adminDo(t, srv, "GET", "/projects?simple=maybe", ""), 400, `{"error":"simple is invalid"}`)

	// Re-parenting and un-forking keep forks_count right.
	srv.UpdateProject(6, func(p *gitlabtest.Project) { p.ForkedFromID = 0 })
	srv.UpdateProject(5, func(p *gitlabtest.Project) { p.ForkedFromID = 1 })
	wantAdmin = []summary{
		{ID: 1, ForksCount: 4},
		{ID: 2, Parent: 1, ParentPath: "platform/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 3, Parent: 1, ParentPath: "platform/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 5, Parent: 1, ParentPath: "platform/alpha", Storage: "storage2", TargetSelf: true},
		{ID: 6},
	}
	if diff := cmp.Diff(wantAdmin, list("/projects?order_by=id&sort=asc", srv.Token())); diff != "" {
		t.Errorf("GET /projects after re-parenting mismatch (-want +got):\n%s", diff)
	}
	// The group's projects are full projects too.
	var detail struct {
		Projects []row `json:"projects"`
	}
	grp := adminDo(t, srv, "GET", "/groups/platform", "")
	if err := json.Unmarshal([]byte(grp.body), &detail); err != nil || len(detail.Projects) != 1 || detail.Projects[0].ForksCount != 4 {
		t.Errorf("GET /groups/platform = %s; want project 1 with forks_count 4", grp.body)
	}
}

func TestListForks(t *testing.T) {
	t.Parallel()
	srv := forkFake(t)
	ids := func(path, token string) []int64 {
		t.Helper()
		got := doRaw(t, srv, "GET", path, token, "")
		if got.status != 200 {
			t.Fatalf("GET %s = %d %s", path, got.status, got.body)
		}
		out := []int64{}
		for _, r := range decodeRows[projectRow](t, got.body) {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name, path, token string
		want              []int64
	}{
		// Equal created_at: newest id first, as GET /projects orders.
		{"direct forks, without the one pending deletion", "/projects/1/forks", srv.Token(), []int64{3, 2}},
		{"by full path", "/projects/platform%2Falpha/forks", srv.Token(), []int64{3, 2}},
		{"pending deletion included", "/projects/1/forks?include_pending_delete=true", srv.Token(), []int64{4, 3, 2}},
		{"by id ascending", "/projects/1/forks?order_by=id&sort=asc", srv.Token(), []int64{2, 3}},
		{"a user sees the public fork only", "/projects/1/forks?include_pending_delete=true", "user-token", []int64{2}},
		{"anonymous", "/projects/1/forks", "", []int64{2}},
		{"a fork's forks", "/projects/2/forks", srv.Token(), []int64{5}},
		{"no forks", "/projects/5/forks", srv.Token(), []int64{}},
		{"the public fork of a private fork, for an administrator", "/projects/3/forks", srv.Token(), []int64{6}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(tt.path, tt.token)); diff != "" {
			t.Errorf("%s: GET %s mismatch (-want +got):\n%s", tt.name, tt.path, diff)
		}
	}

	// Offset pagination with the headers of GET /projects.
	got := adminDo(t, srv, "GET", "/projects/1/forks?per_page=1&statistics=true", "")
	wantHeaders := map[string]string{
		"X-Page": "1", "X-Per-Page": "1", "X-Next-Page": "2", "X-Prev-Page": "", "X-Total": "2", "X-Total-Pages": "2",
		"Link": `<https://gitlab.example.com/api/v4/projects/1/forks?id=1&order_by=created_at&page=2&per_page=1&sort=desc&statistics=true>; rel="next", ` +
			`<https://gitlab.example.com/api/v4/projects/1/forks?id=1&order_by=created_at&page=1&per_page=1&sort=desc&statistics=true>; rel="first", ` +
			`<https://gitlab.example.com/api/v4/projects/1/forks?id=1&order_by=created_at&page=2&per_page=1&sort=desc&statistics=true>; rel="last"`,
	}
	if diff := cmp.Diff(wantHeaders, headerOf(got.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("GET /projects/1/forks headers mismatch (-want +got):\n%s", diff)
	}
	rows := decodeRows[projectRow](t, got.body)
	if len(rows) != 1 || rows[0].ID != 3 || rows[0].Statistics == nil || rows[0].Statistics.RepositorySize != 300 || rows[0].RepositoryStorage != "storage2" {
		t.Errorf("page 1 = %s; want fork 3 with its statistics", got.body)
	}
	empty := adminDo(t, srv, "GET", "/projects/5/forks", "")
	if diff := cmp.Diff(map[string]string{"X-Total": "0", "X-Total-Pages": "1", "X-Next-Page": ""}, headerOf(empty.header, "X-Total", "X-Total-Pages", "X-Next-Page")); diff != "" || empty.body != "[]" {
		t.Errorf("GET /projects/5/forks = %s, headers mismatch (-want +got):\n%s", empty.body, diff)
	}

	// Keyset pagination, as GET /projects.
	got = adminDo(t, srv, "GET", "/projects/1/forks?pagination=keyset&order_by=id&sort=asc&per_page=1", "")
	if link := got.header.Get("Link"); link != `<https://gitlab.example.com/api/v4/projects/1/forks?id=1&id_after=2&order_by=id&pagination=keyset&per_page=1&sort=asc>; rel="next"` {
		t.Errorf("keyset Link = %q", link)
	}
	if diff := cmp.Diff([]int64{3}, ids("/projects/1/forks?pagination=keyset&order_by=id&sort=asc&per_page=1&id_after=2", srv.Token())); diff != "" {
		t.Errorf("keyset page 2 mismatch (-want +got):\n%s", diff)
	}

	// The repository_storage filter, for administrators.
	srv.UpdateProject(3, func(p *gitlabtest.Project) { p.Storage = "default" })
	if diff := cmp.Diff([]int64{3}, ids("/projects/1/forks?repository_storage=default", srv.Token())); diff != "" {
		t.Errorf("forks on default mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{2}, ids("/projects/1/forks?repository_storage=default", "user-token")); diff != "" {
		t.Errorf("a user's forks on default (filter ignored) mismatch (-want +got):\n%s", diff)
	}

	// Errors: parameters first, then the project.
	wantJSON(t, "unknown project", adminDo(t, srv, "GET", "/projects/99/forks", ""), 404, `{"message":"404 Project Not Found"}`)
	wantJSON(t, "private project for a user", doRaw(t, srv, "GET", "/projects/3/forks", "user-token", ""), 404, `{"message":"404 Project Not Found"}`)
	wantJSON(t, "project pending deletion", adminDo(t, srv, "GET", "/projects/4/forks", ""), 404, `{"message":"404 Project Not Found"}`)
	wantJSON(t, "bad order", adminDo(t, srv, "GET", "/projects/99/forks?order_by=size", ""), 400, `{"error":"order_by does not have a valid value"}`)
	wantJSON(t, "unknown token", doRaw(t, srv, "GET", "/projects/1/forks", "nope", ""), 401, `{"message":"401 Unauthorized"}`)
	wantJSON(t, "POST is not served", adminDo(t, srv, "POST", "/projects/1/forks", ""), 404, `{"error":"404 Not Found"}`)
}
