package gitlabtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestSnippetAuthorJSON(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com/"))
	srv.AddUser(gitlabtest.User{Username: "alice", Name: "Alice Liddell", PublicEmail: "alice@example.com"})
	id := srv.AddSnippet(gitlabtest.Snippet{ID: 7, Title: "notes", AuthorUsername: "alice", HasRepository: true})
	got := adminDo(t, srv, "POST", fmt.Sprintf("/snippets/%d/repository_storage_moves", id), `{"destination_storage_name":"default"}`)
	want := `{"id":1,"created_at":"2025-07-24T14:22:18.643Z","state":"scheduled","source_storage_name":"default","destination_storage_name":"default","error_message":null,` +
		`"snippet":{"id":7,"title":"notes","description":null,"visibility":"private",` +
		`"author":{"id":2,"username":"alice","public_email":"alice@example.com","name":"Alice Liddell","state":"active","locked":false,"avatar_url":null,"web_url":"https://gitlab.example.com/alice"},` +
		`"created_at":"2025-07-24T14:22:18.643Z","updated_at":"2025-07-24T14:22:18.643Z","project_id":null,` +
		`"web_url":"https://gitlab.example.com/-/snippets/7","raw_url":"https://gitlab.example.com/-/snippets/7/raw",` +
		`"ssh_url_to_repo":"ssh://git@gitlab.example.com/snippets/7.git","http_url_to_repo":"https://gitlab.example.com/snippets/7.git"}}`
	wantJSON(t, "snippet move", got, 201, want)
}

func TestExternalURLInLinks(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithExternalURL("https://gitlab.example.com"))
	seedMoves(srv, 3)
	srv.AddRecords(gitlabdata.ModelUploads, 3, gitlabdata.ChecksumStateSucceeded)
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves?per_page=2", "")
	want := `<https://gitlab.example.com/api/v4/project_repository_storage_moves?page=2&per_page=2>; rel="next", ` +
		`<https://gitlab.example.com/api/v4/project_repository_storage_moves?page=1&per_page=2>; rel="first", ` +
		`<https://gitlab.example.com/api/v4/project_repository_storage_moves?page=2&per_page=2>; rel="last"`
	if l := got.header.Get("Link"); l != want {
		t.Errorf("offset Link = %q; want %q", l, want)
	}
	got = adminDo(t, srv, "GET", "/admin/data_management/uploads?pagination=keyset&per_page=2", "")
	if l := got.header.Get("Link"); !strings.HasPrefix(l, "<https://gitlab.example.com/api/v4/admin/data_management/uploads?cursor=") {
		t.Errorf("keyset Link = %q; want it on https://gitlab.example.com", l)
	}
	// The SDK refuses to follow a next link to another host, but the
	// X-Next-Page and X-NEXT-CURSOR headers carry the same without a host.
	if got.header.Get("X-Next-Cursor") == "" {
		t.Errorf("keyset page has no X-NEXT-CURSOR")
	}
}

func TestSameStorageMoveFinishesWithoutMoving(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	id := srv.AddProject(gitlabtest.Project{MoveFailure: "copy failed", CleanupFailure: "cleanup failed"})
	m, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{})
	if err != nil {
		t.Fatalf("ScheduleForProject error = %v", err)
	}
	if m.DestinationStorageName != "default" {
		t.Fatalf("destination = %q; want default, the only storage (the source)", m.DestinationStorageName)
	}
	var states []string
	for range 3 {
		srv.Step()
		got, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatalf("Get error = %v", err)
		}
		states = append(states, string(got.State))
	}
	if diff := cmp.Diff([]string{"started", "replicated", "finished"}, states); diff != "" {
		t.Errorf("same-storage move states mismatch (-want +got):\n%s", diff)
	}
}

func TestSetStorageWeight(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 1)
	if !srv.SetStorageWeight("default", 0) || srv.SetStorageWeight("nope", 5) {
		t.Fatal("SetStorageWeight(default) = false or SetStorageWeight(nope) = true")
	}
	client := fakeClient(t, srv)
	for _, id := range srv.AddProjects(20, "default") {
		m, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{})
		if err != nil || m.DestinationStorageName != "storage2" {
			t.Fatalf("ScheduleForProject(%d) = %v, %v; want storage2 once default weighs 0", id, m, err)
		}
	}
}
