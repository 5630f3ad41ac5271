package gitlabtest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// drainFake has five projects: 1-3 on default, 4 on storage2, 5 on default
// without a repository; 2 is public and 3 internal.
func drainFake(t *testing.T) *gitlabtest.Server {
	t.Helper()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"))
	srv.AddStorage("storage2", 50)
	srv.AddUserToken("user-token", false)
	srv.AddGroup(gitlabtest.Group{ID: 9, Name: "Platform", Path: "platform"})
	srv.AddProject(gitlabtest.Project{ID: 1, Name: "Alpha", Namespace: "platform", RepositorySize: 5000})
	srv.AddProject(gitlabtest.Project{ID: 2, Name: "Beta", Namespace: "platform", Visibility: "public", RepositorySize: 7000})
	srv.AddProject(gitlabtest.Project{ID: 3, Name: "Gamma", Namespace: "platform", Visibility: "internal", RepositorySize: 9000})
	srv.AddProject(gitlabtest.Project{ID: 4, Name: "Delta", Namespace: "platform", Storage: "storage2"})
	srv.AddProject(gitlabtest.Project{ID: 5, Name: "Empty", Namespace: "platform", NoRepository: true})
	return srv
}

type projectRow struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	WebURL            string `json:"web_url"`
	EmptyRepo         bool   `json:"empty_repo"`
	RepositoryStorage string `json:"repository_storage"`
	Statistics        *struct {
		RepositorySize int64 `json:"repository_size"`
	} `json:"statistics"`
}

func decodeRows[T any](t *testing.T, body string) []T {
	t.Helper()
	var rows []T
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return rows
}

func TestProjectsOnStorage(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	got := adminDo(t, srv, "GET", "/projects?repository_storage=default&statistics=true&order_by=id&sort=asc&per_page=2", "")
	if got.status != 200 {
		t.Fatalf("GET /projects = %d %s", got.status, got.body)
	}
	rows := decodeRows[projectRow](t, got.body)
	want := []string{"1 platform/alpha https://gitlab.example.com/platform/alpha false default 5000", "2 platform/beta https://gitlab.example.com/platform/beta false default 7000"}
	var gotRows []string
	for _, r := range rows {
		gotRows = append(gotRows, fmt.Sprint(r.ID, " ", r.PathWithNamespace, " ", r.WebURL, " ", r.EmptyRepo, " ", r.RepositoryStorage, " ", r.Statistics.RepositorySize))
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("projects on default mismatch (-want +got):\n%s", diff)
	}
	wantHeaders := map[string]string{
		"X-Page": "1", "X-Per-Page": "2", "X-Next-Page": "2", "X-Prev-Page": "", "X-Total": "4", "X-Total-Pages": "2",
		"Link": `<https://gitlab.example.com/api/v4/projects?order_by=id&page=2&per_page=2&repository_storage=default&sort=asc&statistics=true>; rel="next", ` +
			`<https://gitlab.example.com/api/v4/projects?order_by=id&page=1&per_page=2&repository_storage=default&sort=asc&statistics=true>; rel="first", ` +
			`<https://gitlab.example.com/api/v4/projects?order_by=id&page=2&per_page=2&repository_storage=default&sort=asc&statistics=true>; rel="last"`,
	}
	if diff := cmp.Diff(wantHeaders, headerOf(got.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("GET /projects headers mismatch (-want +got):\n%s", diff)
	}
	// Page 2 has project 3 and the project without a repository.
	got = adminDo(t, srv, "GET", "/projects?repository_storage=default&statistics=true&order_by=id&sort=asc&per_page=2&page=2", "")
	rows = decodeRows[projectRow](t, got.body)
	if len(rows) != 2 || rows[1].ID != 5 || !rows[1].EmptyRepo || rows[1].Statistics.RepositorySize != 0 {
		t.Errorf("page 2 = %s; want projects 3 and 5, 5 empty with size 0", got.body)
	}
	// The default order is newest first (created_at desc; equal times by id).
	rows = decodeRows[projectRow](t, adminDo(t, srv, "GET", "/projects", "").body)
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, ids); diff != "" {
		t.Errorf("default order mismatch (-want +got):\n%s", diff)
	}
}

func TestProjectsVisibilityAndFilterForNonAdmins(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	ids := func(body string) []int64 {
		var out []int64
		for _, r := range decodeRows[projectRow](t, body) {
			out = append(out, r.ID)
			if r.RepositoryStorage != "" || r.Statistics != nil {
				t.Errorf("non-admin sees repository_storage or statistics: %s", body)
			}
		}
		return out
	}
	// A user's repository_storage filter and statistics are ignored.
	if diff := cmp.Diff([]int64{3, 2}, ids(doRaw(t, srv, "GET", "/projects?repository_storage=storage2&statistics=true", "user-token", "").body)); diff != "" {
		t.Errorf("user's projects mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{2}, ids(doRaw(t, srv, "GET", "/projects", "", "").body)); diff != "" {
		t.Errorf("anonymous projects mismatch (-want +got):\n%s", diff)
	}
	wantJSON(t, "bad token", doRaw(t, srv, "GET", "/projects", "nope", ""), 401, `{"message":"401 Unauthorized"}`)
	wantJSON(t, "private project for a user", doRaw(t, srv, "GET", "/projects/1", "user-token", ""), 404, `{"message":"404 Project Not Found"}`)
}

func TestProjectsKeyset(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	var seen []int64
	path := "/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&repository_storage=default"
	for range 5 {
		got := adminDo(t, srv, "GET", path, "")
		if got.status != 200 || got.header.Get("X-Total") != "" || got.header.Get("X-Page") != "" {
			t.Fatalf("GET %s = %d, X-Total %q; want 200 without offset headers", path, got.status, got.header.Get("X-Total"))
		}
		for _, r := range decodeRows[projectRow](t, got.body) {
			seen = append(seen, r.ID)
		}
		link := got.header.Get("Link")
		if link == "" {
			break
		}
		next, ok := strings.CutPrefix(link, "<https://gitlab.example.com/api/v4")
		if !ok || !strings.HasSuffix(next, `>; rel="next"`) {
			t.Fatalf("Link = %q; want one rel=next on the external URL", link)
		}
		path = strings.TrimSuffix(next, `>; rel="next"`)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 5}, seen); diff != "" {
		t.Errorf("keyset walk mismatch (-want +got):\n%s", diff)
	}
	got := adminDo(t, srv, "GET", "/projects?pagination=keyset&order_by=id&sort=asc&per_page=2", "")
	if want := `<https://gitlab.example.com/api/v4/projects?id_after=2&order_by=id&pagination=keyset&per_page=2&sort=asc>; rel="next"`; got.header.Get("Link") != want {
		t.Errorf("keyset Link = %q; want %q", got.header.Get("Link"), want)
	}
	got = adminDo(t, srv, "GET", "/projects?pagination=keyset&order_by=id&per_page=2", "")
	if l := got.header.Get("Link"); !strings.Contains(l, "id_before=4&") {
		t.Errorf("descending keyset Link = %q; want id_before=4", l)
	}
	wantJSON(t, "keyset by name", adminDo(t, srv, "GET", "/projects?pagination=keyset&order_by=name", ""), 405,
		`{"error":"Keyset pagination is not yet available for this type of request"}`)
	wantJSON(t, "deep offset", adminDo(t, srv, "GET", "/projects?page=501&per_page=100", ""), 405,
		`{"error":"Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination."}`)
}

func TestBrokenProjectFailsItsPage(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	if !srv.UpdateProject(2, func(p *gitlabtest.Project) { p.Broken = true }) {
		t.Fatal("UpdateProject(2) = false")
	}
	for _, path := range []string{"/projects?order_by=id&sort=asc&per_page=2", "/projects/2", "/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&id_after=1"} {
		wantJSON(t, "GET "+path, adminDo(t, srv, "GET", path, ""), 500, `{"message":"500 Internal Server Error"}`)
	}
	// The pages around it still answer: a tool can skip forward by id.
	rows := decodeRows[projectRow](t, adminDo(t, srv, "GET", "/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&id_after=2", "").body)
	if len(rows) != 2 || rows[0].ID != 3 {
		t.Errorf("page after the broken project = %+v; want projects 3 and 4", rows)
	}
}

func TestGetProject(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	got := adminDo(t, srv, "GET", "/projects/platform%2Falpha?statistics=true", "")
	want := `{"id":1,"description":null,"name":"Alpha","name_with_namespace":"platform / Alpha","path":"alpha","path_with_namespace":"platform/alpha",` +
		`"created_at":"2025-07-24T14:22:18.643Z","default_branch":"main","tag_list":[],"topics":[],` +
		`"ssh_url_to_repo":"git@gitlab.example.com:platform/alpha.git","http_url_to_repo":"https://gitlab.example.com/platform/alpha.git",` +
		`"web_url":"https://gitlab.example.com/platform/alpha","readme_url":"https://gitlab.example.com/platform/alpha/-/blob/main/README.md",` +
		`"forks_count":0,"avatar_url":null,"star_count":0,"last_activity_at":"2025-07-24T14:22:18.643Z",` +
		`"namespace":{"id":9,"name":"platform","path":"platform","kind":"group","full_path":"platform","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/groups/platform"},` +
		`"empty_repo":false,"archived":false,"visibility":"private","repository_storage":"default",` +
		`"statistics":{"commit_count":0,"storage_size":5000,"repository_size":5000,"wiki_size":0,"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0,"container_registry_size":0}}`
	wantJSON(t, "GET /projects/platform%2Falpha", got, 200, want)
	if rows := adminDo(t, srv, "GET", "/projects/1", ""); !strings.Contains(rows.body, `"repository_storage":"default"}`) {
		t.Errorf("GET /projects/1 without statistics = %s; want no statistics", rows.body)
	}
	wantJSON(t, "unknown project", adminDo(t, srv, "GET", "/projects/99", ""), 404, `{"message":"404 Project Not Found"}`)
	wantJSON(t, "wrong method", adminDo(t, srv, "DELETE", "/projects/1", ""), 404, `{"error":"404 Not Found"}`)
}

func TestGroupsAndSnippetsOnStorage(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	// The group wiki's own size is shown nowhere; statistics sum the
	// group's projects (corrections #20).
	srv.AddGroup(gitlabtest.Group{ID: 10, Name: "Mobile", Path: "mobile", Storage: "storage2", WikiSize: 4096})
	srv.AddProject(gitlabtest.Project{ID: 6, Name: "App", Namespace: "mobile", RepositorySize: 3000, WikiSize: 100})
	srv.AddProject(gitlabtest.Project{ID: 7, Name: "Site", Namespace: "mobile", RepositorySize: 2000, WikiSize: 20})
	srv.AddSnippet(gitlabtest.Snippet{ID: 3, Title: "a", Storage: "storage2", HasRepository: true})
	srv.AddSnippet(gitlabtest.Snippet{ID: 4, Title: "b"})
	srv.AddSnippet(gitlabtest.Snippet{ID: 5, Title: "c", Storage: "storage2", Visibility: "public"})

	got := adminDo(t, srv, "GET", "/groups?repository_storage=storage2&statistics=true", "")
	wantJSON(t, "groups on storage2", got, 200, `[{"id":10,"web_url":"https://gitlab.example.com/groups/mobile","name":"Mobile","path":"mobile","description":"","visibility":"private",`+
		`"full_name":"Mobile","full_path":"mobile","created_at":"2025-07-24T14:22:18.643Z","parent_id":null,"repository_storage":"storage2",`+
		`"statistics":{"storage_size":5120,"repository_size":5000,"wiki_size":120,"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0}}]`)
	if got.header.Get("X-Total") != "1" {
		t.Errorf("groups X-Total = %q; want 1", got.header.Get("X-Total"))
	}

	type snippetRow struct {
		ID                int64  `json:"id"`
		WebURL            string `json:"web_url"`
		RepositoryStorage string `json:"repository_storage"`
	}
	rows := decodeRows[snippetRow](t, adminDo(t, srv, "GET", "/snippets/all?repository_storage=storage2", "").body)
	want := []snippetRow{{5, "https://gitlab.example.com/-/snippets/5", "storage2"}, {3, "https://gitlab.example.com/-/snippets/3", "storage2"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("snippets on storage2 mismatch (-want +got):\n%s", diff)
	}
	rows = decodeRows[snippetRow](t, doRaw(t, srv, "GET", "/snippets/all?repository_storage=storage2", "user-token", "").body)
	if diff := cmp.Diff([]snippetRow{{5, "https://gitlab.example.com/-/snippets/5", ""}}, rows); diff != "" {
		t.Errorf("user's snippets mismatch (-want +got):\n%s", diff)
	}
	wantJSON(t, "snippets/all needs a token", doRaw(t, srv, "GET", "/snippets/all", "", ""), 401, `{"message":"401 Unauthorized"}`)
}

func TestStuckMoves(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	srv.UpdateProject(1, func(p *gitlabtest.Project) { p.StuckIn = "started" })
	srv.UpdateProject(2, func(p *gitlabtest.Project) { p.StuckIn = "initial" })
	move := func(id int64) (int64, string) {
		got := adminDo(t, srv, "POST", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{"destination_storage_name":"storage2"}`)
		var m struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		}
		if err := json.Unmarshal([]byte(got.body), &m); err != nil || got.status != 201 {
			t.Fatalf("schedule project %d = %d %s", id, got.status, got.body)
		}
		return m.ID, m.State
	}
	m1, s1 := move(1)
	m2, s2 := move(2)
	if s1 != "scheduled" || s2 != "initial" {
		t.Errorf("states after scheduling = %q, %q; want scheduled, initial", s1, s2)
	}
	state := func(id int64) string {
		var m struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal([]byte(adminDo(t, srv, "GET", fmt.Sprintf("/project_repository_storage_moves/%d", id), "").body), &m)
		return m.State
	}
	for range 5 {
		srv.Step()
	}
	if got := []string{state(m1), state(m2)}; !cmp.Equal(got, []string{"started", "initial"}) {
		t.Errorf("states after 5 steps = %q; want started, initial (held)", got)
	}
	if !srv.SetStuckIn("projects", 1, "") || !srv.SetStuckIn("projects", 2, "") || srv.SetStuckIn("projects", 2, "finished") {
		t.Fatal("SetStuckIn results wrong")
	}
	for range 4 {
		srv.Step()
	}
	if got := []string{state(m1), state(m2)}; !cmp.Equal(got, []string{"finished", "finished"}) {
		t.Errorf("states after release = %q; want finished, finished", got)
	}
	if p, _ := srv.Project(1); p.Storage != "storage2" {
		t.Errorf("project 1 is on %q; want storage2", p.Storage)
	}
}

func TestWithProjects(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithProjects(150))
	got := adminDo(t, srv, "GET", "/projects?repository_storage=default&per_page=100", "")
	if got.header.Get("X-Total") != "150" {
		t.Errorf("X-Total = %q; want 150", got.header.Get("X-Total"))
	}
	control(t, srv, "PUT", "/-/fake/projects/7", `{"broken":true,"stuck_in":"scheduled"}`)
	if p, _ := srv.Project(7); !p.Broken || p.StuckIn != "scheduled" {
		t.Errorf("project 7 after the control call = %+v; want broken and stuck in scheduled", p)
	}
	if got := control(t, srv, "PUT", "/-/fake/stuck/groups/1", `{"state":"started"}`); got.status != 404 {
		t.Errorf("stuck on a missing group = %d %s; want 404", got.status, got.body)
	}
}

func TestApplicationSettingsWeights(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	srv.AddUserToken("user", false)
	wantJSON(t, "GET settings", adminDo(t, srv, "GET", "/application/settings", ""), 200,
		`{"id":1,"repository_storages_weighted":{"default":100,"storage2":50}}`)
	wantJSON(t, "PUT by query", adminDo(t, srv, "PUT", "/application/settings?repository_storages_weighted%5Bdefault%5D=0", ""), 200,
		`{"id":1,"repository_storages_weighted":{"default":0,"storage2":50}}`)
	wantJSON(t, "PUT by JSON", adminDo(t, srv, "PUT", "/application/settings", `{"repository_storages_weighted":{"storage2":100}}`), 200,
		`{"id":1,"repository_storages_weighted":{"default":0,"storage2":100}}`)
	wantJSON(t, "PUT out of range and unknown", adminDo(t, srv, "PUT", "/application/settings", `{"repository_storages_weighted":{"default":101,"nope":1}}`), 400,
		`{"message":{"repository_storages_weighted":["can't include: nope"],"repository_storages_weighted_default":["value must be between 0 and 100"]}}`)
	wantJSON(t, "non-admin", doRaw(t, srv, "GET", "/application/settings", "user", ""), 403, `{"message":"403 Forbidden"}`)
	// The weights drive the destination of a move without one.
	m := adminDo(t, srv, "POST", "/projects/1/repository_storage_moves", "")
	if !strings.Contains(m.body, `"destination_storage_name":"storage2"`) {
		t.Errorf("move with default at weight 0 = %s; want storage2", m.body)
	}
}
