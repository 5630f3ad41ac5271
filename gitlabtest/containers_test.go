package gitlabtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// ids decodes a JSON array of objects and returns their "id" fields.
func ids(t *testing.T, body string) []int64 {
	t.Helper()
	var out []int64
	for _, r := range decodeRows[struct {
		ID int64 `json:"id"`
	}](t, body) {
		out = append(out, r.ID)
	}
	return out
}

// rootNamespaceID is the namespace id the fake gives the namespace "root",
// which is not a group.
const rootNamespaceID = 1_027_402

func TestCurrentUser(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"), gitlabtest.WithAdminToken("admin-token"))
	srv.AddUserToken("user-token", false)
	srv.AddUser(gitlabtest.User{Username: "alice", Name: "Alice Liddell", PublicEmail: "alice@example.org"})
	srv.AddToken(gitlabtest.Token{Token: "alice-token", Username: "alice"})
	srv.AddToken(gitlabtest.Token{Token: "ops-token", Username: "ops", Admin: true})

	common := func(id int64, username, name, publicEmail, email string) string {
		return fmt.Sprintf(`{"id":%d,"username":%q,"public_email":%q,"name":%q,"state":"active","locked":false,"avatar_url":null,`+
			`"web_url":"https://gitlab.example.com/%s","created_at":"2025-07-24T14:22:18.643Z","bot":false,"last_sign_in_at":null,`+
			`"confirmed_at":"2025-07-24T14:22:18.643Z","last_activity_on":null,"email":%q,"projects_limit":100000,"current_sign_in_at":null,`+
			`"identities":[],"can_create_group":true,"can_create_project":true,"two_factor_enabled":false,"external":false,`+
			`"private_profile":false,"commit_email":%q`, id, username, publicEmail, name, username, email, email)
	}
	tests := []struct {
		name, token string
		status      int
		want        string
	}{
		{"administrator: UserWithAdmin", "admin-token", 200,
			common(1, "root", "Administrator", "", "admin@example.com") + fmt.Sprintf(`,"is_admin":true,"note":null,"namespace_id":%d,"created_by":null}`, rootNamespaceID)},
		{"user: no is_admin key", "user-token", 200, common(2, "user2", "user2", "", "user2@example.com") + `}`},
		{"token of a named user", "alice-token", 200, common(3, "alice", "Alice Liddell", "alice@example.org", "alice@example.com") + `}`},
		{"administrator's token of a named user", "ops-token", 200,
			common(4, "ops", "ops", "", "ops@example.com") + `,"is_admin":true,"note":null,"namespace_id":1901258,"created_by":null}`},
		{"no token", "", 401, `{"message":"401 Unauthorized"}`},
		{"unknown token", "nope", 401, `{"message":"401 Unauthorized"}`},
	}
	for _, tt := range tests {
		wantJSON(t, tt.name, doRaw(t, srv, "GET", "/user", tt.token, ""), tt.status, tt.want)
	}
	// Re-adding a token without a Username keeps its user.
	srv.AddUserToken("user-token", false)
	if got := doRaw(t, srv, "GET", "/user", "user-token", ""); !strings.HasPrefix(got.body, `{"id":2,"username":"user2",`) {
		t.Errorf("GET /user after re-adding the token = %s; want user2 still", got.body)
	}
	wantJSON(t, "wrong method", doRaw(t, srv, "POST", "/user", "admin-token", ""), 404, `{"error":"404 Not Found"}`)

	// On 18.10 and later a fine-grained token needs read_user.
	granular := newFake(t)
	granular.AddToken(gitlabtest.Token{Token: "fine", Admin: true, Granular: true, Permissions: []string{"read_repository_storage_move"}})
	wantJSON(t, "fine-grained token without read_user", doRaw(t, granular, "GET", "/user", "fine", ""), 403,
		`{"error":"insufficient_granular_scope","error_description":"Access denied: Your Personal Access Token lacks the required permissions: [read_user]."}`)
}

// groupFake has the public group "mobile" (10) with projects 6 (public),
// 7 (pending deletion) and 8 (private), the private group "private-team"
// (11) and the group "empty" (12) without a wiki repository.
func groupFake(t *testing.T) *gitlabtest.Server {
	t.Helper()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"))
	srv.AddStorage("storage2", 50)
	srv.AddUserToken("user-token", false)
	srv.AddGroup(gitlabtest.Group{ID: 10, Name: "Mobile", Path: "mobile", Visibility: "public", Storage: "storage2"})
	srv.AddGroup(gitlabtest.Group{ID: 11, Name: "Private Team"})
	srv.AddGroup(gitlabtest.Group{ID: 12, Name: "Empty", NoWiki: true, Storage: "storage2"})
	srv.AddProject(gitlabtest.Project{ID: 6, Name: "App", Namespace: "mobile", Visibility: "public", RepositorySize: 3000, WikiSize: 100})
	srv.AddProject(gitlabtest.Project{ID: 7, Name: "Old", Namespace: "mobile", PendingDelete: true, RepositorySize: 500, WikiSize: 5})
	srv.AddProject(gitlabtest.Project{ID: 8, Name: "Secret", Namespace: "mobile", RepositorySize: 2000, WikiSize: 20})
	return srv
}

const (
	mobileGroupJSON = `{"id":10,"web_url":"https://gitlab.example.com/groups/mobile","name":"Mobile","path":"mobile","description":"",` +
		`"visibility":"public","full_name":"Mobile","full_path":"mobile","created_at":"2025-07-24T14:22:18.643Z","parent_id":null`
	appProjectJSON = `{"id":6,"description":null,"name":"App","name_with_namespace":"mobile / App","path":"app","path_with_namespace":"mobile/app",` +
		`"created_at":"2025-07-24T14:22:18.643Z","default_branch":"main","tag_list":[],"topics":[],` +
		`"ssh_url_to_repo":"git@gitlab.example.com:mobile/app.git","http_url_to_repo":"https://gitlab.example.com/mobile/app.git",` +
		`"web_url":"https://gitlab.example.com/mobile/app","readme_url":"https://gitlab.example.com/mobile/app/-/blob/main/README.md",` +
		`"forks_count":0,"avatar_url":null,"star_count":0,"last_activity_at":"2025-07-24T14:22:18.643Z",` +
		`"namespace":{"id":10,"name":"mobile","path":"mobile","kind":"group","full_path":"mobile","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/groups/mobile"},` +
		`"empty_repo":false,"archived":false,"visibility":"public"`
)

func TestGetGroup(t *testing.T) {
	t.Parallel()
	srv := groupFake(t)
	tests := []struct {
		name, path, token string
		status            int
		want              string
	}{
		{"user, with projects by default", "/groups/10", "user-token", 200,
			mobileGroupJSON + `,"projects":[` + appProjectJSON + `}],"shared_projects":[]}`},
		{"anonymous, by path, without projects", "/groups/mobile?with_projects=false", "", 200, mobileGroupJSON + `}`},
		{"administrator: the wiki's storage", "/groups/MOBILE?with_projects=0", srv.Token(), 200,
			mobileGroupJSON + `,"repository_storage":"storage2"}`},
		{"administrator: a group without a wiki repository", "/groups/12?with_projects=false", srv.Token(), 200,
			`{"id":12,"web_url":"https://gitlab.example.com/groups/empty","name":"Empty","path":"empty","description":"","visibility":"private",` +
				`"full_name":"Empty","full_path":"empty","created_at":"2025-07-24T14:22:18.643Z","parent_id":null,"repository_storage":null}`},
		{"private group for a user", "/groups/11", "user-token", 404, `{"message":"404 Group Not Found"}`},
		{"private group by path for anonymous", "/groups/private-team", "", 404, `{"message":"404 Group Not Found"}`},
		{"unknown group", "/groups/99", srv.Token(), 404, `{"message":"404 Group Not Found"}`},
		{"with_projects not a Boolean, before the lookup", "/groups/99?with_projects=maybe", srv.Token(), 400, `{"error":"with_projects is invalid"}`},
	}
	for _, tt := range tests {
		wantJSON(t, tt.name, doRaw(t, srv, "GET", tt.path, tt.token, ""), tt.status, tt.want)
	}
	// An administrator sees the private project too, newest id first, and
	// still not the one pending deletion.
	var detail struct {
		Projects []struct {
			ID                int64  `json:"id"`
			RepositoryStorage string `json:"repository_storage"`
		} `json:"projects"`
	}
	got := adminDo(t, srv, "GET", "/groups/10", "")
	if err := json.Unmarshal([]byte(got.body), &detail); err != nil {
		t.Fatalf("decoding %s: %v", got.body, err)
	}
	want := []struct {
		ID                int64  `json:"id"`
		RepositoryStorage string `json:"repository_storage"`
	}{{8, "default"}, {6, "default"}}
	if diff := cmp.Diff(want, detail.Projects); diff != "" {
		t.Errorf("GET /groups/10 projects for an administrator mismatch (-want +got):\n%s", diff)
	}
}

func TestGetSnippet(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"))
	srv.AddStorage("storage2", 50)
	srv.AddUserToken("user-token", false)
	srv.AddSnippet(gitlabtest.Snippet{ID: 3, Title: "notes", Visibility: "internal", Storage: "storage2", HasRepository: true})
	srv.AddSnippet(gitlabtest.Snippet{ID: 4, Title: "secret"})
	snippet3 := `{"id":3,"title":"notes","description":null,"visibility":"internal",` +
		`"author":{"id":1,"username":"root","public_email":"","name":"Administrator","state":"active","locked":false,"avatar_url":null,"web_url":"https://gitlab.example.com/root"},` +
		`"created_at":"2025-07-24T14:22:18.643Z","updated_at":"2025-07-24T14:22:18.643Z","project_id":null,` +
		`"web_url":"https://gitlab.example.com/-/snippets/3","raw_url":"https://gitlab.example.com/-/snippets/3/raw",` +
		`"ssh_url_to_repo":"ssh://git@gitlab.example.com/snippets/3.git","http_url_to_repo":"https://gitlab.example.com/snippets/3.git",` +
		`"imported":false,"imported_from":"none"`
	tests := []struct {
		name, path, token string
		status            int
		want              string
	}{
		{"administrator: with repository_storage", "/snippets/3", srv.Token(), 200, snippet3 + `,"repository_storage":"storage2"}`},
		{"user: internal snippet, no storage", "/snippets/3", "user-token", 200, snippet3 + `}`},
		{"user: private snippet", "/snippets/4", "user-token", 404, `{"message":"404 Snippet Not Found"}`},
		{"anonymous: internal snippet", "/snippets/3", "", 404, `{"message":"404 Snippet Not Found"}`},
		{"unknown snippet", "/snippets/99", srv.Token(), 404, `{"message":"404 Snippet Not Found"}`},
		{"numeric ids only", "/snippets/notes", srv.Token(), 400, `{"error":"id is invalid"}`},
	}
	for _, tt := range tests {
		wantJSON(t, tt.name, doRaw(t, srv, "GET", tt.path, tt.token, ""), tt.status, tt.want)
	}
}

func TestPendingDeleteProjects(t *testing.T) {
	t.Parallel()
	srv := groupFake(t)
	srv.UpdateProject(6, func(p *gitlabtest.Project) { p.PendingDelete = true })
	tests := []struct {
		name, path, token string
		want              []int64
	}{
		{"left out by default", "/projects?order_by=id&sort=asc", srv.Token(), []int64{8}},
		{"administrator asks for them", "/projects?order_by=id&sort=asc&include_pending_delete=true", srv.Token(), []int64{6, 7, 8}},
		{"false is false", "/projects?order_by=id&sort=asc&include_pending_delete=false", srv.Token(), []int64{8}},
		{"by keyset", "/projects?pagination=keyset&order_by=id&sort=asc&include_pending_delete=1&repository_storage=default", srv.Token(), []int64{6, 7, 8}},
		{"sorted by name", "/projects?order_by=name&include_pending_delete=yes", srv.Token(), []int64{8, 7, 6}},
		{"a user cannot", "/projects?include_pending_delete=true", "user-token", nil},
	}
	for _, tt := range tests {
		got := doRaw(t, srv, "GET", tt.path, tt.token, "")
		if got.status != 200 {
			t.Fatalf("%s: GET %s = %d %s", tt.name, tt.path, got.status, got.body)
		}
		if diff := cmp.Diff(tt.want, ids(t, got.body)); diff != "" {
			t.Errorf("%s: GET %s ids mismatch (-want +got):\n%s", tt.name, tt.path, diff)
		}
	}
	got := adminDo(t, srv, "GET", "/projects?order_by=id&include_pending_delete=true", "")
	if diff := cmp.Diff(map[string]string{"X-Total": "3", "X-Total-Pages": "1"}, headerOf(got.header, "X-Total", "X-Total-Pages")); diff != "" {
		t.Errorf("totals with pending-delete projects mismatch (-want +got):\n%s", diff)
	}
	wantJSON(t, "invalid include_pending_delete", adminDo(t, srv, "GET", "/projects?include_pending_delete=sure", ""), 400,
		`{"error":"include_pending_delete is invalid"}`)
	wantJSON(t, "by id, to an administrator", adminDo(t, srv, "GET", "/projects/7", ""), 404, `{"message":"404 Project Not Found"}`)
	wantJSON(t, "by path, to an administrator", adminDo(t, srv, "GET", "/projects/mobile%2Fold", ""), 404, `{"message":"404 Project Not Found"}`)

	// Their moves work: schedule, list, step.
	moves := fakeClient(t, srv).ProjectRepositoryStorageMoves
	m, resp, err := moves.ScheduleForProject(t.Context(), 7, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("ScheduleForProject(7) = %v, %v; want 201", resp, err)
	}
	for range 3 {
		srv.Step()
	}
	list, _, err := moves.ListForProject(t.Context(), 7, nil)
	if err != nil || len(list) != 1 || list[0].ID != m.ID || list[0].State != gitlabdata.StorageMoveStateFinished {
		t.Errorf("ListForProject(7) = %v, %v; want the finished move %d", list, err, m.ID)
	}
	if p, _ := srv.Project(7); p.Storage != "storage2" || !p.PendingDelete {
		t.Errorf("project 7 after its move = %+v; want pending deletion on storage2", p)
	}
	if diff := cmp.Diff([]int64{6, 8}, srv.ProjectsOnStorage("default")); diff != "" {
		t.Errorf("ProjectsOnStorage(default) mismatch (-want +got):\n%s", diff)
	}
}

func TestGroupStatisticsSumProjectWikis(t *testing.T) {
	t.Parallel()
	srv := groupFake(t)
	srv.AddProject(gitlabtest.Project{ID: 9, Name: "Elsewhere", Namespace: "mobile-archive", RepositorySize: 1 << 30, WikiSize: 1 << 20})
	stats := func() string {
		got := adminDo(t, srv, "GET", "/groups?order_by=id&statistics=true&per_page=1", "")
		var rows []struct {
			Statistics json.RawMessage `json:"statistics"`
		}
		if err := json.Unmarshal([]byte(got.body), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("GET /groups = %d %s", got.status, got.body)
		}
		return string(rows[0].Statistics)
	}
	// The projects of "mobile", the pending-delete one included; not the
	// group wiki.
	want := `{"storage_size":5625,"repository_size":5500,"wiki_size":125,"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0}`
	if got := stats(); got != want {
		t.Errorf("statistics of mobile = %s; want %s", got, want)
	}
	// A project's own statistics carry its wiki.
	got := adminDo(t, srv, "GET", "/projects/6?statistics=true", "")
	if !strings.HasSuffix(got.body, `"statistics":{"commit_count":0,"storage_size":3100,"repository_size":3000,"wiki_size":100,`+
		`"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0,"container_registry_size":0}}`) {
		t.Errorf("GET /projects/6?statistics=true = %s; want wiki_size 100 in storage_size 3100", got.body)
	}
	// The sums follow changes: a project leaves the group, another grows.
	srv.UpdateProject(8, func(p *gitlabtest.Project) { p.Namespace = "mobile-archive" })
	srv.UpdateProject(6, func(p *gitlabtest.Project) { p.WikiSize = 1000 })
	want = `{"storage_size":4505,"repository_size":3500,"wiki_size":1005,"lfs_objects_size":0,"job_artifacts_size":0,"pipeline_artifacts_size":0,"packages_size":0,"snippets_size":0,"uploads_size":0}`
	if got := stats(); got != want {
		t.Errorf("statistics of mobile after changes = %s; want %s", got, want)
	}
	// Project 8 is found at its new path only.
	wantJSON(t, "old path", adminDo(t, srv, "GET", "/projects/mobile%2Fsecret", ""), 404, `{"message":"404 Project Not Found"}`)
	if got := adminDo(t, srv, "GET", "/projects/mobile-archive%2Fsecret", ""); got.status != 200 || !strings.HasPrefix(got.body, `{"id":8,`) {
		t.Errorf("GET /projects/mobile-archive%%2Fsecret = %d %s; want project 8", got.status, got.body)
	}
}

func TestGroupWithoutWiki(t *testing.T) {
	t.Parallel()
	srv := groupFake(t)
	if g, _ := srv.Group(12); g.Storage != "" || !g.NoWiki {
		t.Fatalf("Group(12) = %+v; want NoWiki with an empty storage", g)
	}
	for _, storage := range []string{"default", "storage2", "nowhere"} {
		got := adminDo(t, srv, "GET", "/groups?order_by=id&repository_storage="+storage, "")
		if got.status != 200 {
			t.Fatalf("GET /groups?repository_storage=%s = %d %s", storage, got.status, got.body)
		}
		for _, id := range ids(t, got.body) {
			if id == 12 {
				t.Errorf("GET /groups?repository_storage=%s lists the group without a wiki", storage)
			}
		}
	}
	// Without a filter (a blank one is dropped, as GitLab does) it is
	// listed, with a null storage.
	got := adminDo(t, srv, "GET", "/groups?order_by=id&repository_storage=", "")
	if diff := cmp.Diff([]int64{10, 11, 12}, ids(t, got.body)); diff != "" {
		t.Errorf("GET /groups ids mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(got.body, `"full_path":"empty","created_at":"2025-07-24T14:22:18.643Z","parent_id":null,"repository_storage":null}`) {
		t.Errorf("GET /groups = %s; want repository_storage null for group 12", got.body)
	}

	// A move is accepted and finishes having moved nothing; so does a
	// retry. Failures set on the group do not apply: there is nothing to
	// copy.
	srv.UpdateGroup(12, func(g *gitlabtest.Group) { g.MoveFailure = "boom" })
	moves := fakeClient(t, srv).GroupRepositoryStorageMoves
	for attempt := range 2 {
		m, resp, err := moves.ScheduleForGroup(t.Context(), 12, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("attempt %d: ScheduleForGroup(12) = %v, %v; want 201", attempt, resp, err)
		}
		if m.SourceStorageName == "" || m.DestinationStorageName != "storage2" {
			t.Errorf("attempt %d: move %+v; want a source picked by weight and storage2", attempt, m.RepositoryStorageMove)
		}
		var states []gitlabdata.StorageMoveState
		for range 3 {
			srv.Step()
			got, _, err := moves.Get(t.Context(), m.ID)
			if err != nil {
				t.Fatalf("Get(%d) error = %v", m.ID, err)
			}
			states = append(states, got.State)
		}
		if diff := cmp.Diff([]gitlabdata.StorageMoveState{"started", "replicated", "finished"}, states); diff != "" {
			t.Errorf("attempt %d: states mismatch (-want +got):\n%s", attempt, diff)
		}
		if g, _ := srv.Group(12); g.Storage != "" || !g.NoWiki || g.ReadOnly {
			t.Errorf("attempt %d: group after the move = %+v; want still without a wiki, writable", attempt, g)
		}
	}
	wantJSON(t, "still null", adminDo(t, srv, "GET", "/groups/12?with_projects=false", ""), 200,
		`{"id":12,"web_url":"https://gitlab.example.com/groups/empty","name":"Empty","path":"empty","description":"","visibility":"private",`+
			`"full_name":"Empty","full_path":"empty","created_at":"2025-07-24T14:22:18.643Z","parent_id":null,"repository_storage":null}`)
	// The bulk move of a storage leaves it alone.
	if _, err := moves.ScheduleAll(t.Context(), gitlabdata.ScheduleAllStorageMovesRequest{SourceStorageName: "storage2", DestinationStorageName: gitlabdata.String("default")}); err != nil {
		t.Fatalf("ScheduleAll error = %v", err)
	}
	if list, _, err := moves.ListForGroup(t.Context(), 12, nil); err != nil || len(list) != 2 {
		t.Errorf("ListForGroup(12) = %d moves, %v; want the 2 single moves only", len(list), err)
	}
	// Giving it a wiki puts it on a storage.
	srv.UpdateGroup(12, func(g *gitlabtest.Group) { g.NoWiki = false })
	if g, _ := srv.Group(12); g.Storage != "default" {
		t.Errorf("group 12 given a wiki is on %q; want default", g.Storage)
	}
}

func TestKeysetLinkOnEveryNonEmptyPage(t *testing.T) {
	t.Parallel()
	srv := drainFake(t)
	base := "https://gitlab.example.com/api/v4/projects?"
	tests := []struct {
		path     string
		wantIDs  []int64
		wantLink string
	}{
		{"/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&repository_storage=default", []int64{1, 2},
			`<` + base + `id_after=2&order_by=id&pagination=keyset&per_page=2&repository_storage=default&sort=asc>; rel="next"`},
		{"/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&repository_storage=default&id_after=2", []int64{3, 5},
			`<` + base + `id_after=5&order_by=id&pagination=keyset&per_page=2&repository_storage=default&sort=asc>; rel="next"`},
		{"/projects?pagination=keyset&order_by=id&sort=asc&per_page=2&repository_storage=default&id_after=5", nil, "<absent>"},
		{"/projects?pagination=keyset&order_by=id&sort=desc&per_page=3&id_before=3", []int64{2, 1},
			`<` + base + `id_before=1&order_by=id&pagination=keyset&per_page=3&sort=desc>; rel="next"`},
		{"/projects?pagination=keyset&order_by=id&sort=desc&per_page=3&id_before=1", nil, "<absent>"},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, "GET", tt.path, "")
		if got.status != 200 {
			t.Fatalf("GET %s = %d %s", tt.path, got.status, got.body)
		}
		if diff := cmp.Diff(tt.wantIDs, ids(t, got.body)); diff != "" {
			t.Errorf("GET %s ids mismatch (-want +got):\n%s", tt.path, diff)
		}
		if diff := cmp.Diff(map[string]string{"Link": tt.wantLink}, headerOf(got.header, "Link")); diff != "" {
			t.Errorf("GET %s Link mismatch (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestApplicationLimitRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithRetryAfter(5))
	srv.AddProject(gitlabtest.Project{ID: 1})
	srv.AddGroup(gitlabtest.Group{ID: 2})
	tests := []struct {
		name, method, path string
		retryAfter         *int
		want               string
	}{
		{"projects_api: 10 minutes", "GET", "/projects", nil, "600"},
		{"projects_api with a slash", "GET", "/projects/", nil, "600"},
		{"project_api: 1 minute", "GET", "/projects/1", nil, "60"},
		{"project_api by path", "GET", "/projects/root%2Fproject-1", nil, "60"},
		{"groups_api: 1 minute", "GET", "/groups", nil, "60"},
		{"group_api: 1 minute", "GET", "/groups/2", nil, "60"},
		{"no limit in GitLab: the server's default", "GET", "/snippets/all", nil, "5"},
		{"a project's moves: the server's default", "GET", "/projects/1/repository_storage_moves", nil, "5"},
		{"another method: the server's default", "POST", "/projects", nil, "5"},
		{"the fault's own Retry-After wins", "GET", "/projects", gitlabtest.Seconds(0), "0"},
	}
	for _, tt := range tests {
		srv.InjectFault(gitlabtest.Fault{Status: 429, ApplicationLimit: true, Count: 1, RetryAfter: tt.retryAfter})
		got := adminDo(t, srv, tt.method, tt.path, "")
		wantJSON(t, tt.name, got, 429, `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`)
		want := map[string]string{"Retry-After": tt.want, "RateLimit-Name": "<absent>", "RateLimit-Remaining": "<absent>", "RateLimit-Reset": "<absent>"}
		if diff := cmp.Diff(want, headerOf(got.header, "Retry-After", "RateLimit-Name", "RateLimit-Remaining", "RateLimit-Reset")); diff != "" {
			t.Errorf("%s: %s %s headers mismatch (-want +got):\n%s", tt.name, tt.method, tt.path, diff)
		}
	}
}

func TestControlPlaneRefusals(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithAdminToken("admin-token"))
	srv.AddStorage("storage2", 50)
	srv.AddProject(gitlabtest.Project{ID: 1})
	srv.AddGroup(gitlabtest.Group{ID: 2})
	srv.AddToken(gitlabtest.Token{Token: "reader", Granular: true, Permissions: []string{"b", "a"}})
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"weight above 100", "PUT", "/-/fake/storages/storage2", `{"weight":101}`, 400, `{"error":"body must be {\"weight\":N} with N from 0 to 100, as GitLab's setting takes"}`},
		{"negative weight", "PUT", "/-/fake/storages/storage2", `{"weight":-1}`, 400, `{"error":"body must be {\"weight\":N} with N from 0 to 100, as GitLab's setting takes"}`},
		{"weight 100", "PUT", "/-/fake/storages/storage3", `{"weight":100}`, 200, `{"name":"storage3","weight":100,"capacity_bytes":0,"used_bytes":0}`},
		{"project on an unknown storage", "PUT", "/-/fake/projects/1", `{"storage":"nowhere"}`, 400,
			`{"error":"storage \"nowhere\" is not a configured storage (add it with PUT /-/fake/storages/NAME)"}`},
		{"negative wiki size", "PUT", "/-/fake/projects/1", `{"wiki_size":-1}`, 400, `{"error":"repository_size and wiki_size must not be negative"}`},
		{"pending deletion and wiki size", "PUT", "/-/fake/projects/1", `{"pending_delete":true,"wiki_size":4096,"storage":"storage2"}`, 200,
			`{"broken":false,"cleanup_failure":"","id":1,"move_failure":"","no_repository":false,"pending_delete":true,"repository_size":1862270976,"storage":"storage2","stuck_in":"","wiki_size":4096}`},
		{"clock backwards", "POST", "/-/fake/step", `{"advance":"-1h"}`, 400, `{"error":"advance \"-1h\" is negative: the clock only moves forward"}`},
		{"fault with a success status", "POST", "/-/fake/faults", `{"status":200}`, 400,
			`{"error":"status must be 400-599 (or 0 to answer normally after the latency), count and retry_after must not be negative"}`},
		{"fault with a redirect status", "POST", "/-/fake/faults", `{"status":302}`, 400,
			`{"error":"status must be 400-599 (or 0 to answer normally after the latency), count and retry_after must not be negative"}`},
		{"fault with status 399", "POST", "/-/fake/faults", `{"status":399}`, 400,
			`{"error":"status must be 400-599 (or 0 to answer normally after the latency), count and retry_after must not be negative"}`},
		{"application limit on a 500", "POST", "/-/fake/faults", `{"status":500,"application_limit":true}`, 400, `{"error":"application_limit needs status 429"}`},
		{"a lost answer without a status", "POST", "/-/fake/faults", `{"latency":"1ms","after_serving":true}`, 400, `{"error":"after_serving needs a status"}`},
		{"latency only", "POST", "/-/fake/faults", `{"latency":"1ms","count":1}`, 201, `{"count":1,"latency":"1ms"}`},
		{"status 400", "POST", "/-/fake/faults", `{"path":"/api/v4/nowhere","status":400}`, 201, `{"path":"/api/v4/nowhere","status":400}`},
		{"demote the administrator's token", "POST", "/-/fake/tokens", `{"token":"admin-token"}`, 409,
			`{"error":"the token already exists with other values (admin, granular, permissions or username); tokens are never changed, add another one"}`},
		{"the administrator's token again", "POST", "/-/fake/tokens", `{"token":"admin-token","admin":true}`, 200,
			`{"admin":true,"granular":false,"token":"admin-token","username":"root"}`},
		{"the same permissions in another order", "POST", "/-/fake/tokens", `{"token":"reader","granular":true,"permissions":["a","b"]}`, 200,
			`{"admin":false,"granular":true,"token":"reader","username":"user2"}`},
		{"other permissions", "POST", "/-/fake/tokens", `{"token":"reader","granular":true,"permissions":["a"]}`, 409,
			`{"error":"the token already exists with other values (admin, granular, permissions or username); tokens are never changed, add another one"}`},
		{"another user", "POST", "/-/fake/tokens", `{"token":"reader","granular":true,"permissions":["a","b"],"username":"alice"}`, 409,
			`{"error":"the token already exists with other values (admin, granular, permissions or username); tokens are never changed, add another one"}`},
		{"a new token of a named user", "POST", "/-/fake/tokens", `{"token":"alice-token","username":"alice"}`, 201,
			`{"admin":false,"granular":false,"token":"alice-token","username":"alice"}`},
		{"group without a wiki", "PUT", "/-/fake/groups/2", `{"no_wiki":true,"stuck_in":"started","move_failure":"x"}`, 200,
			`{"cleanup_failure":"","id":2,"move_failure":"x","no_wiki":true,"storage":"","stuck_in":"started"}`},
		{"group given a wiki on a storage", "PUT", "/-/fake/groups/2", `{"storage":"storage2"}`, 200,
			`{"cleanup_failure":"","id":2,"move_failure":"x","no_wiki":false,"storage":"storage2","stuck_in":"started"}`},
		{"group without a wiki on a storage", "PUT", "/-/fake/groups/2", `{"no_wiki":true,"storage":"storage2"}`, 400,
			`{"error":"a group without a wiki repository (no_wiki) has no storage"}`},
		{"group on an unknown storage", "PUT", "/-/fake/groups/2", `{"storage":"nowhere"}`, 400,
			`{"error":"storage \"nowhere\" is not a configured storage (add it with PUT /-/fake/storages/NAME)"}`},
		{"group with a bad stuck_in", "PUT", "/-/fake/groups/2", `{"stuck_in":"finished"}`, 400, `{"error":"stuck_in must be \"initial\", \"scheduled\", \"started\" or \"\""}`},
		{"unknown group", "PUT", "/-/fake/groups/99", `{}`, 404, `{"error":"no group 99"}`},
	}
	for _, tt := range tests {
		got := control(t, srv, tt.method, tt.path, tt.body)
		if got.status != tt.status || got.body != tt.want+"\n" {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	// The refused calls changed nothing.
	if got := adminDo(t, srv, "GET", "/application/settings", ""); got.body != `{"id":1,"repository_storages_weighted":{"default":100,"storage2":50,"storage3":100}}` {
		t.Errorf("weights after the refusals = %s", got.body)
	}
	if got := adminDo(t, srv, "GET", "/user", ""); !strings.Contains(got.body, `"is_admin":true`) {
		t.Errorf("GET /user with the administrator's token = %s; want it still an administrator", got.body)
	}
	if p, _ := srv.Project(1); p.Storage != "storage2" || !p.PendingDelete || p.WikiSize != 4096 {
		t.Errorf("project 1 = %+v; want pending deletion on storage2 with a 4096-byte wiki", p)
	}
	// The Go API keeps taking what the control plane refuses.
	srv.AddStorage("storage2", 150)
	if got := adminDo(t, srv, "GET", "/application/settings", ""); got.body != `{"id":1,"repository_storages_weighted":{"default":100,"storage2":150,"storage3":100}}` {
		t.Errorf("weights after AddStorage(storage2, 150) = %s", got.body)
	}
}

func TestIndexesFollowChanges(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	// IDs continue after the largest one, whatever the order of adding.
	srv.AddProject(gitlabtest.Project{ID: 10})
	srv.AddProject(gitlabtest.Project{ID: 4, Visibility: "public"})
	if diff := cmp.Diff([]int64{11, 12}, srv.AddProjects(2, "storage2")); diff != "" {
		t.Errorf("AddProjects after ids 10 and 4 mismatch (-want +got):\n%s", diff)
	}
	srv.AddGroup(gitlabtest.Group{ID: 7})
	if diff := cmp.Diff([]int64{8, 9}, srv.AddGroups(2, "default")); diff != "" {
		t.Errorf("AddGroups mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, srv.AddSnippets(3, "storage2")); diff != "" {
		t.Errorf("AddSnippets mismatch (-want +got):\n%s", diff)
	}
	// Replacing a project by ID moves it in the counts.
	srv.AddProject(gitlabtest.Project{ID: 10, Storage: "storage2"})
	type page struct {
		IDs   []int64
		Total string
	}
	get := func(path string) page {
		got := adminDo(t, srv, "GET", path, "")
		if got.status != 200 {
			t.Fatalf("GET %s = %d %s", path, got.status, got.body)
		}
		return page{ids(t, got.body), got.header.Get("X-Total")}
	}
	tests := []struct {
		path string
		want page
	}{
		{"/projects?order_by=id&sort=asc&repository_storage=storage2", page{[]int64{10, 11, 12}, "3"}},
		{"/projects?order_by=id&sort=desc&repository_storage=storage2&per_page=2&page=2", page{[]int64{10}, "3"}},
		{"/projects?order_by=id&sort=asc&repository_storage=default", page{[]int64{4}, "1"}},
		{"/projects?order_by=id&sort=asc&id_after=4&id_before=12", page{[]int64{10, 11}, "2"}},
		{"/snippets/all?repository_storage=storage2&per_page=2&page=2", page{[]int64{1}, "3"}},
		{"/groups?order_by=id&sort=desc&repository_storage=default", page{[]int64{9, 8, 7}, "3"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.path)); diff != "" {
			t.Errorf("GET %s mismatch (-want +got):\n%s", tt.path, diff)
		}
	}
	// A finished move changes the storage the listings see.
	moves := fakeClient(t, srv).ProjectRepositoryStorageMoves
	if _, _, err := moves.ScheduleForProject(t.Context(), 4, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")}); err != nil {
		t.Fatalf("ScheduleForProject(4) error = %v", err)
	}
	srv.Step()
	srv.Step()
	if diff := cmp.Diff(page{[]int64{4, 10, 11, 12}, "4"}, get("/projects?order_by=id&sort=asc&repository_storage=storage2")); diff != "" {
		t.Errorf("projects on storage2 after the move mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(page{nil, "0"}, get("/projects?order_by=id&repository_storage=default")); diff != "" {
		t.Errorf("projects on default after the move mismatch (-want +got):\n%s", diff)
	}
	// A user sees the public project only, counted.
	got := doRaw(t, srv, "GET", "/projects?order_by=id", "", "")
	if diff := cmp.Diff(page{[]int64{4}, "1"}, page{ids(t, got.body), got.header.Get("X-Total")}); diff != "" {
		t.Errorf("anonymous projects mismatch (-want +got):\n%s", diff)
	}
}

func TestSeededMoveReplacedByID(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	a := srv.AddProject(gitlabtest.Project{})
	b := srv.AddProject(gitlabtest.Project{})
	finished := gitlabdata.RepositoryStorageMove{ID: 5, State: "finished", SourceStorageName: "default", DestinationStorageName: "storage2"}
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: finished, Project: &gitlabdata.ProjectIdentity{ID: a}})
	srv.Step()
	// The same id again, for another project and scheduled: it replaces
	// the finished move and runs.
	scheduled := gitlabdata.RepositoryStorageMove{ID: 5, State: "scheduled", SourceStorageName: "default", DestinationStorageName: "storage2"}
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: scheduled, Project: &gitlabdata.ProjectIdentity{ID: b}})
	for range 3 {
		srv.Step()
	}
	moves := fakeClient(t, srv).ProjectRepositoryStorageMoves
	if list, _, err := moves.ListForProject(t.Context(), a, nil); err != nil || len(list) != 0 {
		t.Errorf("ListForProject(%d) = %v, %v; want none", a, list, err)
	}
	list, _, err := moves.ListForProject(t.Context(), b, nil)
	if err != nil || len(list) != 1 || list[0].ID != 5 || list[0].State != gitlabdata.StorageMoveStateFinished {
		t.Errorf("ListForProject(%d) = %v, %v; want move 5 finished", b, list, err)
	}
	if p, _ := srv.Project(b); p.Storage != "storage2" {
		t.Errorf("project %d is on %q; want storage2", b, p.Storage)
	}
	if all, _, err := moves.List(t.Context(), nil); err != nil || len(all) != 1 {
		t.Errorf("List() = %d moves, %v; want 1", len(all), err)
	}
}
