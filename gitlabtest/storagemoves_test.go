package gitlabtest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestScheduleForProjectStateMachine(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	id := srv.AddProject(gitlabtest.Project{Name: "Website", Namespace: "acme", Description: "Public site"})
	client := fakeClient(t, srv)
	moves := client.ProjectRepositoryStorageMoves

	got, resp, err := moves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil {
		t.Fatalf("ScheduleForProject(%d) error = %v", id, err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("ScheduleForProject(%d) status = %d; want 201", id, resp.StatusCode)
	}
	want := &gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
			ID: 1, CreatedAt: testNow, State: gitlabdata.StorageMoveStateScheduled,
			SourceStorageName: "default", DestinationStorageName: "storage2",
		},
		Project: &gitlabdata.ProjectIdentity{
			ID: id, Description: gitlabdata.String("Public site"), Name: "Website", NameWithNamespace: "acme / Website",
			Path: "website", PathWithNamespace: "acme/website", CreatedAt: &testNow,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScheduleForProject(%d) mismatch (-want +got):\n%s", id, diff)
	}
	if p, _ := srv.Project(id); !p.ReadOnly || p.Storage != "default" {
		t.Errorf("after scheduling, project = %+v; want read-only on default", p)
	}

	// A second move while the first runs is refused.
	_, _, err = moves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{})
	apiErr := asAPIError(t, "second ScheduleForProject", err)
	if diff := cmp.Diff(map[string][]string{"project": {"is read-only"}}, apiErr.Fields); apiErr.StatusCode != 400 || diff != "" {
		t.Errorf("second ScheduleForProject = %d %s; want 400 with project read-only (-want +got):\n%s", apiErr.StatusCode, apiErr.Body, diff)
	}

	steps := []struct {
		state    gitlabdata.StorageMoveState
		storage  string
		readOnly bool
	}{
		{gitlabdata.StorageMoveStateStarted, "default", true},
		{gitlabdata.StorageMoveStateReplicated, "storage2", false},
		{gitlabdata.StorageMoveStateFinished, "storage2", false},
		{gitlabdata.StorageMoveStateFinished, "storage2", false},
	}
	for i, st := range steps {
		srv.Step()
		m, _, err := moves.Get(t.Context(), 1)
		if err != nil {
			t.Fatalf("Get(1) after step %d error = %v", i+1, err)
		}
		p, _ := srv.Project(id)
		if m.State != st.state || p.Storage != st.storage || p.ReadOnly != st.readOnly || m.ErrorMessage != nil {
			t.Errorf("after step %d: state %q, storage %q, read-only %v, error %v; want %q, %q, %v, nil",
				i+1, m.State, p.Storage, p.ReadOnly, m.ErrorMessage, st.state, st.storage, st.readOnly)
		}
	}
}

func TestMoveFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		project     gitlabtest.Project
		wantStates  []gitlabdata.StorageMoveState
		wantStorage string
	}{
		{
			name:        "move failure",
			project:     gitlabtest.Project{MoveFailure: "14:connection refused"},
			wantStates:  []gitlabdata.StorageMoveState{"started", "failed", "failed"},
			wantStorage: "default",
		},
		{
			name:        "cleanup failure",
			project:     gitlabtest.Project{CleanupFailure: "4:Deadline Exceeded"},
			wantStates:  []gitlabdata.StorageMoveState{"started", "replicated", "cleanup failed"},
			wantStorage: "storage2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.AddStorage("storage2", 10)
			id := srv.AddProject(tt.project)
			moves := fakeClient(t, srv).ProjectRepositoryStorageMoves
			m, _, err := moves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
			if err != nil {
				t.Fatalf("ScheduleForProject error = %v", err)
			}
			var states []gitlabdata.StorageMoveState
			for range tt.wantStates {
				srv.Step()
				m, _, err = moves.GetForProject(t.Context(), id, m.ID)
				if err != nil {
					t.Fatalf("GetForProject error = %v", err)
				}
				states = append(states, m.State)
			}
			if diff := cmp.Diff(tt.wantStates, states); diff != "" {
				t.Errorf("states mismatch (-want +got):\n%s", diff)
			}
			wantMsg := tt.project.MoveFailure + tt.project.CleanupFailure
			if m.ErrorMessage == nil || *m.ErrorMessage != wantMsg {
				t.Errorf("error_message = %v; want %q", m.ErrorMessage, wantMsg)
			}
			if p, _ := srv.Project(id); p.Storage != tt.wantStorage || p.ReadOnly {
				t.Errorf("project storage %q read-only %v; want %q writable", p.Storage, p.ReadOnly, tt.wantStorage)
			}
		})
	}
}

func TestScheduleValidationErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	id := srv.AddProject(gitlabtest.Project{})
	ro := srv.AddProject(gitlabtest.Project{ReadOnly: true})
	g := srv.AddGroup(gitlabtest.Group{ReadOnly: true})
	sn := srv.AddSnippet(gitlabtest.Snippet{ReadOnly: true})
	lost := srv.AddProject(gitlabtest.Project{Storage: "removed"})
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"unknown destination", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{"destination_storage_name":"nope"}`,
			400, `{"message":{"destination_storage_name":["is not included in the list"]}}`},
		{"blank destination", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{"destination_storage_name":""}`,
			400, `{"message":{"destination_storage_name":["can't be blank","is not included in the list"]}}`},
		{"read-only project", fmt.Sprintf("/projects/%d/repository_storage_moves", ro), `{}`,
			400, `{"message":{"project":["is read-only"]}}`},
		{"read-only project and bad destination", fmt.Sprintf("/projects/%d/repository_storage_moves", ro), `{"destination_storage_name":"nope"}`,
			400, `{"message":{"destination_storage_name":["is not included in the list"],"project":["is read-only"]}}`},
		{"read-only group", fmt.Sprintf("/groups/%d/repository_storage_moves", g), ``,
			400, `{"message":{"group":["is read-only"]}}`},
		{"read-only snippet", fmt.Sprintf("/snippets/%d/repository_storage_moves", sn), ``,
			400, `{"message":{"snippet":["is read-only"]}}`},
		{"source storage not configured", fmt.Sprintf("/projects/%d/repository_storage_moves", lost), `{"destination_storage_name":"default"}`,
			400, `{"message":{"source_storage_name":["is not included in the list"]}}`},
		{"destination of the wrong type", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{"destination_storage_name":["a"]}`,
			400, `{"error":"destination_storage_name is invalid"}`},
		{"malformed body", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{`,
			400, `{"error":"message body does not match declared format"}`},
		{"unknown project", "/projects/999/repository_storage_moves", `{"destination_storage_name":"nope"}`,
			404, `{"message":"404 Project Not Found"}`},
		{"unknown group", "/groups/999/repository_storage_moves", `{}`, 404, `{"message":"404 Group Not Found"}`},
		{"unknown snippet", "/snippets/999/repository_storage_moves", `{"destination_storage_name":["a"]}`,
			404, `{"message":"404 Snippet Not Found"}`},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, http.MethodPost, tt.path, tt.body)
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}
	// Nothing was scheduled.
	for _, k := range []string{"project", "group", "snippet"} {
		got := adminDo(t, srv, http.MethodGet, "/"+k+"_repository_storage_moves", "")
		wantJSON(t, k+" moves after refused schedules", got, 200, `[]`)
	}
}

func TestMoveLookupErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	p1 := srv.AddProject(gitlabtest.Project{})
	p2 := srv.AddProject(gitlabtest.Project{})
	sn := srv.AddSnippet(gitlabtest.Snippet{})
	mid := srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{Project: &gitlabdata.ProjectIdentity{ID: p1}, RepositoryStorageMove: gitlabdata.RepositoryStorageMove{State: "finished"}})
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"unknown move", "/project_repository_storage_moves/42", 404, `{"message":"404 Not found"}`},
		{"move of another project", fmt.Sprintf("/projects/%d/repository_storage_moves/%d", p2, mid), 404, `{"message":"404 Not found"}`},
		{"non-integer move id", "/project_repository_storage_moves/abc", 400, `{"error":"repository_storage_move_id is invalid"}`},
		{"project: validation before lookup", "/projects/999/repository_storage_moves/abc", 400, `{"error":"repository_storage_move_id is invalid"}`},
		{"project: unknown project", "/projects/999/repository_storage_moves/1", 404, `{"message":"404 Project Not Found"}`},
		{"project list: validation before lookup", "/projects/999/repository_storage_moves?per_page=0", 400, `{"error":"per_page has a value not allowed"}`},
		{"snippet: lookup before validation", "/snippets/999/repository_storage_moves/abc", 404, `{"message":"404 Snippet Not Found"}`},
		{"snippet list: lookup before validation", "/snippets/999/repository_storage_moves?per_page=0", 404, `{"message":"404 Snippet Not Found"}`},
		{"snippet: unknown move", fmt.Sprintf("/snippets/%d/repository_storage_moves/1", sn), 404, `{"message":"404 Not found"}`},
		{"group: unknown group", "/groups/7/repository_storage_moves", 404, `{"message":"404 Group Not Found"}`},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, http.MethodGet, tt.path, "")
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}
	_, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.Get(t.Context(), 42)
	if !errors.Is(err, gitlabdata.ErrNotFound) {
		t.Errorf("Get(42) error = %v; want ErrNotFound", err)
	}
}

func TestListMovesNewestFirst(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	p := srv.AddProject(gitlabtest.Project{})
	other := srv.AddProject(gitlabtest.Project{})
	at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 0, 0, 0, time.UTC) }
	for _, m := range []struct {
		id      int64
		created time.Time
		project int64
	}{{1, at(3), p}, {2, at(1), p}, {3, at(3), p}, {4, at(2), other}, {5, at(0), p}} {
		srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
			RepositoryStorageMove: gitlabdata.RepositoryStorageMove{ID: m.id, CreatedAt: m.created, State: "finished", DestinationStorageName: "default"},
			Project:               &gitlabdata.ProjectIdentity{ID: m.project},
		})
	}
	ids := func(ms []*gitlabdata.ProjectRepositoryStorageMove) []int64 {
		var out []int64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	all, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil {
		t.Fatalf("List error = %v", err)
	}
	if diff := cmp.Diff([]int64{3, 1, 4, 2, 5}, ids(all)); diff != "" {
		t.Errorf("List order mismatch (-want +got):\n%s", diff)
	}
	mine, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.ListForProject(t.Context(), p, nil)
	if err != nil {
		t.Fatalf("ListForProject error = %v", err)
	}
	if diff := cmp.Diff([]int64{3, 1, 2, 5}, ids(mine)); diff != "" {
		t.Errorf("ListForProject order mismatch (-want +got):\n%s", diff)
	}
}

func TestScheduleAll(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	srv.AddStorage("storage3", 0)
	a := srv.AddProject(gitlabtest.Project{})
	busy := srv.AddProject(gitlabtest.Project{ReadOnly: true})
	elsewhere := srv.AddProject(gitlabtest.Project{Storage: "storage3"})
	b := srv.AddProject(gitlabtest.Project{})
	client := fakeClient(t, srv)

	resp, err := client.ProjectRepositoryStorageMoves.ScheduleAll(t.Context(), gitlabdata.ScheduleAllStorageMovesRequest{
		SourceStorageName: "default", DestinationStorageName: gitlabdata.String("storage2"),
	})
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ScheduleAll = %v, %v; want 202", resp, err)
	}
	moves, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil {
		t.Fatalf("List error = %v", err)
	}
	type brief struct {
		Project           int64
		State, From, Dest string
	}
	var got []brief
	for _, m := range moves {
		got = append(got, brief{m.Project.ID, string(m.State), m.SourceStorageName, m.DestinationStorageName})
	}
	want := []brief{{b, "scheduled", "default", "storage2"}, {a, "scheduled", "default", "storage2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("moves after ScheduleAll mismatch (-want +got):\n%s", diff)
	}
	for _, id := range []int64{a, b, busy} {
		if p, _ := srv.Project(id); !p.ReadOnly {
			t.Errorf("project %d is writable after ScheduleAll; want read-only", id)
		}
	}
	if p, _ := srv.Project(elsewhere); p.ReadOnly {
		t.Errorf("project %d on storage3 became read-only", elsewhere)
	}

	raw := adminDo(t, srv, http.MethodPost, "/group_repository_storage_moves", `{"source_storage_name":"default"}`)
	wantJSON(t, "bulk group move", raw, 202, `{"message":"202 Accepted"}`)

	errs := []struct{ name, body, want string }{
		{"missing source", `{}`, `{"error":"source_storage_name is missing"}`},
		{"unknown source", `{"source_storage_name":"nope"}`, `{"error":"source_storage_name does not have a valid value"}`},
		{"unknown destination", `{"source_storage_name":"default","destination_storage_name":"nope"}`, `{"error":"destination_storage_name does not have a valid value"}`},
		{"both unknown", `{"source_storage_name":"x","destination_storage_name":"y"}`, `{"error":"source_storage_name does not have a valid value, destination_storage_name does not have a valid value"}`},
	}
	for _, tt := range errs {
		wantJSON(t, tt.name, adminDo(t, srv, http.MethodPost, "/snippet_repository_storage_moves", tt.body), 400, tt.want)
	}
}

func TestWeightedDestination(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithSeed(42))
	srv.AddStorage("storage2", 50)
	srv.AddStorage("storage3", 0)
	ids := srv.AddProjects(300, "default")
	client := fakeClient(t, srv)
	// A bulk schedule without a destination answers 202 and schedules
	// nothing (corrections #10).
	wantJSON(t, "bulk schedule without a destination", adminDo(t, srv, "POST", "/project_repository_storage_moves", `{"source_storage_name":"default"}`),
		202, `{"message":"202 Accepted"}`)
	if moves, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil); err != nil || len(moves) != 0 {
		t.Fatalf("moves after ScheduleAll without a destination = %d, %v; want none", len(moves), err)
	}
	// Per project, the destination is picked by weight and may be the
	// source itself (corrections #11).
	for _, id := range ids {
		if _, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{}); err != nil {
			t.Fatalf("ScheduleForProject(%d) error = %v", id, err)
		}
	}
	counts := map[string]int{}
	for m, err := range fakeClient(t, srv).ProjectRepositoryStorageMoves.All(t.Context(), &gitlabdata.ListStorageMovesOptions{PerPage: 100}) {
		if err != nil {
			t.Fatalf("All error = %v", err)
		}
		counts[m.DestinationStorageName]++
	}
	if counts["storage3"] != 0 || counts["default"]+counts["storage2"] != len(ids) {
		t.Errorf("destinations = %v; want %d moves to default and storage2 only", counts, len(ids))
	}
	// Weights 100:50 give default two thirds of the moves; allow a wide
	// margin (the seed makes the result fixed).
	if counts["default"] < 150 || counts["storage2"] < 60 {
		t.Errorf("destinations = %v; want about 200 default and 100 storage2", counts)
	}

	// With only zero weights, the first storage wins, as in GitLab.
	zero := newFake(t)
	zero.AddStorage("default", 0)
	zero.AddStorage("other", 0)
	id := zero.AddProject(gitlabtest.Project{})
	m, _, err := fakeClient(t, zero).ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{})
	if err != nil || m.DestinationStorageName != "default" {
		t.Errorf("ScheduleForProject with zero weights = %v, %v; want destination default", m, err)
	}
}

func TestGroupAndSnippetMoves(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 1)
	gid := srv.AddGroup(gitlabtest.Group{Name: "Platform Team"})
	pid := srv.AddProject(gitlabtest.Project{Name: "tools", Namespace: "ops"})
	personal := srv.AddSnippet(gitlabtest.Snippet{Title: "notes", HasRepository: true, AuthorUsername: "alice", Visibility: "internal"})
	inProject := srv.AddSnippet(gitlabtest.Snippet{Title: "script", Description: "a script", ProjectID: &pid})
	client := fakeClient(t, srv)
	dest := gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")}
	base := srv.URL()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("url.Parse(%q) error = %v", base, err)
	}
	host := u.Hostname()
	scheduled := gitlabdata.RepositoryStorageMove{ID: 1, CreatedAt: testNow, State: "scheduled", SourceStorageName: "default", DestinationStorageName: "storage2"}

	gm, _, err := client.GroupRepositoryStorageMoves.ScheduleForGroup(t.Context(), gid, dest)
	if err != nil {
		t.Fatalf("ScheduleForGroup error = %v", err)
	}
	wantG := &gitlabdata.GroupRepositoryStorageMove{
		RepositoryStorageMove: scheduled,
		Group:                 &gitlabdata.BasicGroupDetails{ID: gid, WebURL: base + "/groups/platform-team", Name: "Platform Team"},
	}
	if diff := cmp.Diff(wantG, gm); diff != "" {
		t.Errorf("ScheduleForGroup mismatch (-want +got):\n%s", diff)
	}

	sm, _, err := client.SnippetRepositoryStorageMoves.ScheduleForSnippet(t.Context(), personal, dest)
	if err != nil {
		t.Fatalf("ScheduleForSnippet error = %v", err)
	}
	wantS := &gitlabdata.SnippetRepositoryStorageMove{
		RepositoryStorageMove: scheduled,
		Snippet: &gitlabdata.BasicSnippet{
			ID: personal, Title: "notes", Visibility: "internal",
			Author:    &gitlabdata.UserBasic{ID: 2, Username: "alice", Name: "alice", State: "active", WebURL: base + "/alice"},
			CreatedAt: &testNow, UpdatedAt: &testNow,
			WebURL: fmt.Sprintf("%s/-/snippets/%d", base, personal), RawURL: fmt.Sprintf("%s/-/snippets/%d/raw", base, personal),
			SSHURLToRepo:  fmt.Sprintf("ssh://git@%s/snippets/%d.git", host, personal),
			HTTPURLToRepo: fmt.Sprintf("%s/snippets/%d.git", base, personal),
		},
	}
	if diff := cmp.Diff(wantS, sm); diff != "" {
		t.Errorf("ScheduleForSnippet(personal) mismatch (-want +got):\n%s", diff)
	}

	sm2, _, err := client.SnippetRepositoryStorageMoves.ScheduleForSnippet(t.Context(), inProject, dest)
	if err != nil {
		t.Fatalf("ScheduleForSnippet error = %v", err)
	}
	wantS2 := &gitlabdata.BasicSnippet{
		ID: inProject, Title: "script", Description: gitlabdata.String("a script"), Visibility: "private",
		Author:    &gitlabdata.UserBasic{ID: 1, Username: "root", Name: "Administrator", State: "active", WebURL: base + "/root"},
		CreatedAt: &testNow, UpdatedAt: &testNow, ProjectID: &pid,
		WebURL: fmt.Sprintf("%s/ops/tools/-/snippets/%d", base, inProject), RawURL: fmt.Sprintf("%s/ops/tools/-/snippets/%d/raw", base, inProject),
	}
	if diff := cmp.Diff(wantS2, sm2.Snippet); diff != "" {
		t.Errorf("ScheduleForSnippet(project snippet) mismatch (-want +got):\n%s", diff)
	}

	for range 3 {
		srv.Step()
	}
	if g, _ := srv.Group(gid); g.Storage != "storage2" || g.ReadOnly {
		t.Errorf("group after the move = %+v; want writable on storage2", g)
	}
	if s, _ := srv.Snippet(personal); s.Storage != "storage2" || s.ReadOnly {
		t.Errorf("snippet after the move = %+v; want writable on storage2", s)
	}
}

func TestProjectByFullPath(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	id := srv.AddProject(gitlabtest.Project{Name: "API", Namespace: "acme"})
	got := adminDo(t, srv, http.MethodPost, "/projects/acme%2Fapi/repository_storage_moves", `{"destination_storage_name":"default"}`)
	if got.status != http.StatusCreated {
		t.Fatalf("POST by full path = %d %s; want 201", got.status, got.body)
	}
	moves, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.ListForProject(t.Context(), id, nil)
	if err != nil || len(moves) != 1 || moves[0].Project.ID != id {
		t.Errorf("ListForProject(%d) = %v, %v; want the move scheduled by path", id, moves, err)
	}
}

func TestAddProjectStorageMoveDefaults(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	// No project given: one is created on the source storage, and the
	// scheduled move makes it read-only.
	mid := srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{SourceStorageName: "default", DestinationStorageName: "default"},
	})
	got, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.Get(t.Context(), mid)
	if err != nil {
		t.Fatalf("Get(%d) error = %v", mid, err)
	}
	want := &gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{ID: 1, CreatedAt: testNow, State: "scheduled", SourceStorageName: "default", DestinationStorageName: "default"},
		Project: &gitlabdata.ProjectIdentity{ID: 1, Name: "project-1", NameWithNamespace: "root / project-1", Path: "project-1",
			PathWithNamespace: "root/project-1", CreatedAt: &testNow},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get(%d) mismatch (-want +got):\n%s", mid, diff)
	}
	if p, ok := srv.Project(1); !ok || !p.ReadOnly {
		t.Errorf("Project(1) = %+v, %v; want a read-only project", p, ok)
	}
	// A failed historic move keeps its message and leaves the project alone.
	msg := "boom"
	mid2 := srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
		RepositoryStorageMove: gitlabdata.RepositoryStorageMove{ID: 40, State: "failed", SourceStorageName: "default", DestinationStorageName: "default", ErrorMessage: &msg},
		Project:               &gitlabdata.ProjectIdentity{ID: 9, Name: "Nine", PathWithNamespace: "team/nine"},
	})
	got, _, err = fakeClient(t, srv).ProjectRepositoryStorageMoves.GetForProject(t.Context(), 9, mid2)
	if err != nil || mid2 != 40 || got.ErrorMessage == nil || *got.ErrorMessage != "boom" || got.Project.PathWithNamespace != "team/nine" {
		t.Errorf("GetForProject(9, %d) = %+v, %v; want the failed move 40 of team/nine", mid2, got, err)
	}
	if p, _ := srv.Project(9); p.ReadOnly {
		t.Errorf("project 9 is read-only after seeding a failed move")
	}
}

func TestProjectsOnStorageFollowsMoves(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 1)
	onDefault := srv.AddProjects(3, "default")
	srv.AddProjects(2, "storage2")
	if diff := cmp.Diff(onDefault, srv.ProjectsOnStorage("default")); diff != "" {
		t.Errorf("ProjectsOnStorage(default) mismatch (-want +got):\n%s", diff)
	}
	if _, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), onDefault[0],
		gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")}); err != nil {
		t.Fatalf("ScheduleForProject error = %v", err)
	}
	srv.Step()
	srv.Step() // replicated: the project now lives on storage2
	if diff := cmp.Diff(onDefault[1:], srv.ProjectsOnStorage("default")); diff != "" {
		t.Errorf("ProjectsOnStorage(default) after a move mismatch (-want +got):\n%s", diff)
	}
	if got := len(srv.ProjectsOnStorage("storage2")); got != 3 {
		t.Errorf("len(ProjectsOnStorage(storage2)) = %d; want 3", got)
	}
	if got := srv.ProjectsOnStorage("nowhere"); got != nil {
		t.Errorf("ProjectsOnStorage(nowhere) = %v; want nil", got)
	}
}
