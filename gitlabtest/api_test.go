package gitlabtest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestAuthOrder(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithAdminToken("admin-token"))
	srv.AddUserToken("user-token", false)
	if srv.Token() != "admin-token" {
		t.Errorf("Token() = %q; want admin-token", srv.Token())
	}
	tests := []struct {
		name, method, path, token string
		status                    int
		want                      string
	}{
		{"no token", "GET", "/project_repository_storage_moves", "", 401, `{"message":"401 Unauthorized"}`},
		{"unknown token", "GET", "/project_repository_storage_moves", "nope", 401, `{"message":"401 Unauthorized"}`},
		{"no token beats validation", "GET", "/admin/data_management/NOPE?per_page=0", "", 401, `{"message":"401 Unauthorized"}`},
		{"non-admin", "GET", "/admin/data_management/projects", "user-token", 403, `{"message":"403 Forbidden"}`},
		{"non-admin beats validation", "GET", "/admin/data_management/NOPE", "user-token", 403, `{"message":"403 Forbidden"}`},
		{"non-admin beats snippet lookup", "GET", "/snippets/999/repository_storage_moves", "user-token", 403, `{"message":"403 Forbidden"}`},
		{"non-admin POST", "POST", "/project_repository_storage_moves", "user-token", 403, `{"message":"403 Forbidden"}`},
		{"admin gets validation", "GET", "/admin/data_management/NOPE", "admin-token", 400, `{"error":"model_name does not have a valid value"}`},
		{"unknown route before auth", "GET", "/nowhere", "", 404, `{"error":"404 Not Found"}`},
		{"data management root", "GET", "/admin/data_management", "admin-token", 404, `{"error":"404 Not Found"}`},
		{"data management root with slash", "GET", "/admin/data_management/", "admin-token", 404, `{"error":"404 Not Found"}`},
		{"API root", "GET", "", "", 404, `{"error":"404 Not Found"}`},
		{"method no route serves, before auth", "DELETE", "/project_repository_storage_moves", "", 404, `{"error":"404 Not Found"}`},
		{"PUT a GET-only route", "PUT", "/admin/data_management/projects/1", "", 404, `{"error":"404 Not Found"}`},
		{"DELETE the bulk checksum route", "DELETE", "/admin/data_management/projects/checksum", "", 404, `{"error":"404 Not Found"}`},
		{"version for any user", "GET", "/version", "user-token", 200, `{"version":"19.2.0-ee","revision":"a81c878f786","kas":{"enabled":false,"externalUrl":null,"version":null},"enterprise":true}`},
		{"version needs a token", "GET", "/version", "", 401, `{"message":"401 Unauthorized"}`},
	}
	for _, tt := range tests {
		got := doRaw(t, srv, tt.method, tt.path, tt.token, "")
		wantJSON(t, tt.name, got, tt.status, tt.want)
	}

	// A bearer token works like PRIVATE-TOKEN.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL()+"/api/v4/group_repository_storage_moves", nil)
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET with bearer token error = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET with bearer token = %d; want 200", resp.StatusCode)
	}

	// The SDK maps the statuses to its sentinels.
	for _, tc := range []struct {
		token string
		want  error
	}{{"nope", gitlabdata.ErrUnauthorized}, {"user-token", gitlabdata.ErrForbidden}} {
		c, err := gitlabdata.NewClient(srv.URL(), tc.token, gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatalf("NewClient error = %v", err)
		}
		_, _, err = c.ProjectRepositoryStorageMoves.List(t.Context(), nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("List with token %q error = %v; want %v", tc.token, err, tc.want)
		}
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seen := map[string]bool{}
	for _, tc := range []struct{ path, token string }{
		{"/project_repository_storage_moves", srv.Token()},
		{"/project_repository_storage_moves", srv.Token()},
		{"/project_repository_storage_moves", ""},
		{"/nowhere", ""},
		{"/admin/data_management/nope", srv.Token()},
	} {
		got := doRaw(t, srv, "GET", tc.path, tc.token, "")
		id := got.header.Get("X-Request-Id")
		if len(id) != 26 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Errorf("GET %s X-Request-Id = %q; want 26 Crockford base32 characters", tc.path, id)
		}
		if seen[id] {
			t.Errorf("GET %s X-Request-Id %q was already used", tc.path, id)
		}
		seen[id] = true
	}
	_, resp, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil || resp.RequestID == "" || seen[resp.RequestID] {
		t.Errorf("List RequestID = %q, %v; want a new id", resp.RequestID, err)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.RequestID != resp.RequestID {
		t.Errorf("Requests() last RequestID = %q; want %q", last.RequestID, resp.RequestID)
	}
}

// seedMoves adds n finished project moves with ids 1..n, all of one
// project, so that listings are in descending id order.
func seedMoves(srv *gitlabtest.Server, n int) int64 {
	pid := srv.AddProject(gitlabtest.Project{})
	for range n {
		srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
			RepositoryStorageMove: gitlabdata.RepositoryStorageMove{State: "finished", DestinationStorageName: "default"},
			Project:               &gitlabdata.ProjectIdentity{ID: pid},
		})
	}
	return pid
}

func TestOffsetPagination(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	pid := seedMoves(srv, 5)
	collection := srv.URL() + "/api/v4/project_repository_storage_moves"
	perProject := fmt.Sprintf("%s/api/v4/projects/%d/repository_storage_moves", srv.URL(), pid)
	link := func(base, query, rel string) string { return "<" + base + "?" + query + `>; rel="` + rel + `"` }
	tests := []struct {
		name, path string
		want       map[string]string
		ids        []int64
	}{
		{
			name: "middle page",
			path: "/project_repository_storage_moves?per_page=2&page=2",
			want: map[string]string{"X-Page": "2", "X-Per-Page": "2", "X-Next-Page": "3", "X-Prev-Page": "1", "X-Total": "5", "X-Total-Pages": "3",
				"Link": strings.Join([]string{
					link(collection, "page=1&per_page=2", "prev"), link(collection, "page=3&per_page=2", "next"),
					link(collection, "page=1&per_page=2", "first"), link(collection, "page=3&per_page=2", "last"),
				}, ", ")},
			ids: []int64{3, 2},
		},
		{
			name: "defaults",
			path: "/project_repository_storage_moves",
			want: map[string]string{"X-Page": "1", "X-Per-Page": "20", "X-Next-Page": "", "X-Prev-Page": "", "X-Total": "5", "X-Total-Pages": "1",
				"Link": link(collection, "page=1&per_page=20", "first") + ", " + link(collection, "page=1&per_page=20", "last")},
			ids: []int64{5, 4, 3, 2, 1},
		},
		{
			name: "last page, path params and extra params in links",
			path: fmt.Sprintf("/projects/%d/repository_storage_moves?per_page=2&page=3&zeta=a+b", pid),
			want: map[string]string{"X-Page": "3", "X-Per-Page": "2", "X-Next-Page": "", "X-Prev-Page": "2", "X-Total": "5", "X-Total-Pages": "3",
				"Link": strings.Join([]string{
					link(perProject, fmt.Sprintf("id=%d&page=2&per_page=2&zeta=a+b", pid), "prev"),
					link(perProject, fmt.Sprintf("id=%d&page=1&per_page=2&zeta=a+b", pid), "first"),
					link(perProject, fmt.Sprintf("id=%d&page=3&per_page=2&zeta=a+b", pid), "last"),
				}, ", ")},
			ids: []int64{1},
		},
		{
			name: "out of range",
			path: "/project_repository_storage_moves?page=9",
			want: map[string]string{"X-Page": "9", "X-Per-Page": "20", "X-Next-Page": "", "X-Prev-Page": "", "X-Total": "5", "X-Total-Pages": "1",
				"Link": link(collection, "page=1&per_page=20", "first") + ", " + link(collection, "page=1&per_page=20", "last")},
		},
		{
			name: "negative values fall back to the defaults",
			path: "/project_repository_storage_moves?page=-3&per_page=-1",
			want: map[string]string{"X-Page": "1", "X-Per-Page": "20", "X-Next-Page": "", "X-Prev-Page": "", "X-Total": "5", "X-Total-Pages": "1",
				"Link": link(collection, "page=1&per_page=20", "first") + ", " + link(collection, "page=1&per_page=20", "last")},
			ids: []int64{5, 4, 3, 2, 1},
		},
	}
	for _, tt := range tests {
		got := adminDo(t, srv, "GET", tt.path, "")
		if diff := cmp.Diff(tt.want, headerOf(got.header, offsetHeaderKeys...)); diff != "" || got.status != 200 {
			t.Errorf("%s: GET %s = %d, headers mismatch (-want +got):\n%s", tt.name, tt.path, got.status, diff)
		}
		var moves []gitlabdata.ProjectRepositoryStorageMove
		if err := json.Unmarshal([]byte(got.body), &moves); err != nil {
			t.Fatalf("%s: decoding %s: %v", tt.name, got.body, err)
		}
		var ids []int64
		for _, m := range moves {
			ids = append(ids, m.ID)
		}
		if diff := cmp.Diff(tt.ids, ids); diff != "" {
			t.Errorf("%s: move ids mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestPerPageClampAndAll(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	seedMoves(srv, 130)
	client := fakeClient(t, srv)
	moves, resp, err := client.ProjectRepositoryStorageMoves.List(t.Context(), &gitlabdata.ListStorageMovesOptions{PerPage: 500})
	if err != nil {
		t.Fatalf("List(per_page=500) error = %v", err)
	}
	if len(moves) != 100 || resp.PerPage != 100 || resp.NextPage != 2 || resp.TotalPages != 2 || resp.Total != 130 {
		t.Errorf("List(per_page=500) = %d moves, per page %d, next %d, pages %d, total %d; want 100, 100, 2, 2, 130",
			len(moves), resp.PerPage, resp.NextPage, resp.TotalPages, resp.Total)
	}
	// GitLab's links carry the clamped page size (corrections #6).
	if l := resp.Header.Get("Link"); !strings.Contains(l, "page=2&per_page=100>; rel=\"next\"") {
		t.Errorf("Link = %q; want a next link with per_page=100", l)
	}
	n := 0
	want := int64(130)
	for m, err := range client.ProjectRepositoryStorageMoves.All(t.Context(), &gitlabdata.ListStorageMovesOptions{PerPage: 7}) {
		if err != nil {
			t.Fatalf("All error = %v", err)
		}
		if m.ID != want {
			t.Errorf("All item %d has id %d; want %d", n, m.ID, want)
		}
		want--
		n++
	}
	if n != 130 {
		t.Errorf("All yielded %d moves; want 130", n)
	}
}

func TestPaginationParamErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tests := []struct{ query, want string }{
		{"per_page=0", `{"error":"per_page has a value not allowed"}`},
		{"per_page=abc", `{"error":"per_page is invalid"}`},
		{"page=abc", `{"error":"page is invalid"}`},
		{"page=x&per_page=y", `{"error":"page is invalid, per_page is invalid"}`},
	}
	for _, tt := range tests {
		for _, path := range []string{"/project_repository_storage_moves", "/admin/data_management/projects"} {
			wantJSON(t, path+"?"+tt.query, adminDo(t, srv, "GET", path+"?"+tt.query, ""), 400, tt.want)
		}
	}
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves?page=%zz", "")
	if got.status != 400 || got.body != "Bad Request" || got.header.Get("Content-Type") != "text/plain" {
		t.Errorf("malformed query = %d %q %q; want 400 text/plain Bad Request", got.status, got.header.Get("Content-Type"), got.body)
	}
}

func TestEmptyList(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	got := adminDo(t, srv, "GET", "/snippet_repository_storage_moves", "")
	wantJSON(t, "empty list", got, 200, `[]`)
	base := srv.URL() + "/api/v4/snippet_repository_storage_moves?page=1&per_page=20"
	want := map[string]string{"X-Page": "1", "X-Per-Page": "20", "X-Next-Page": "", "X-Prev-Page": "", "X-Total": "0", "X-Total-Pages": "1",
		"Link": "<" + base + `>; rel="first", <` + base + `>; rel="last"`}
	if diff := cmp.Diff(want, headerOf(got.header, offsetHeaderKeys...)); diff != "" {
		t.Errorf("empty list headers mismatch (-want +got):\n%s", diff)
	}
}

func TestStandardHeaders(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	got := adminDo(t, srv, "GET", "/group_repository_storage_moves", "")
	want := map[string]string{
		"Content-Type": "application/json", "Cache-Control": "max-age=0, private, must-revalidate",
		"Vary": "Origin", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
	}
	if diff := cmp.Diff(want, headerOf(got.header, "Content-Type", "Cache-Control", "Vary", "X-Content-Type-Options", "X-Frame-Options")); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	got = doRaw(t, srv, "GET", "/../../etc/passwd", "", "")
	if got.status != 404 {
		t.Errorf("path outside the API = %d; want 404", got.status)
	}
}
