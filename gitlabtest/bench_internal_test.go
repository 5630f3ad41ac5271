package gitlabtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// The benchmarks call the handler in process, without a socket, so that
// they measure the fake's own work per request. GET /version is the
// baseline: compare the other figures to it as ratios.

// benchServer starts a fake with n projects on "default" (and storage2),
// with a fixed clock and seed.
func benchServer(b *testing.B, n int) *Server {
	b.Helper()
	now := time.Date(2025, 7, 24, 14, 22, 18, 0, time.UTC)
	s := NewServer(WithAdminToken("tok"), WithSeed(1), WithClock(func() time.Time { return now }))
	b.Cleanup(s.Close)
	s.AddStorage("storage2", 50)
	s.AddProjects(n, "default")
	return s
}

// serveBench sends one request to the handler and fails on a status
// other than want.
func serveBench(b *testing.B, s *Server, method, target string, want int) {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("PRIVATE-TOKEN", "tok")
	rec := httptest.NewRecorder()
	s.serveHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s = %d; want %d: %s", method, target, rec.Code, want, rec.Body)
	}
}

func BenchmarkAddProjects(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := NewServer(WithAdminToken("tok"))
				s.AddProjects(n, "default")
				s.Close()
			}
		})
	}
}

func BenchmarkListProjects(b *testing.B) {
	s := benchServer(b, 100_000)
	for _, bc := range []struct{ name, target string }{
		{"version_baseline", "/api/v4/version"},
		{"keyset_middle", "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=100&repository_storage=default&statistics=true&id_after=50000"},
		{"keyset_desc_middle", "/api/v4/projects?pagination=keyset&order_by=id&sort=desc&per_page=100&repository_storage=default&id_before=50000"},
		{"offset_by_id_page_2", "/api/v4/projects?order_by=id&sort=asc&per_page=100&page=2&repository_storage=default"},
		{"get_by_path", "/api/v4/projects/root%2Fproject-50000?statistics=true"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveBench(b, s, http.MethodGet, bc.target, http.StatusOK)
			}
		})
	}
}

func BenchmarkListGroupsAndSnippets(b *testing.B) {
	s := benchServer(b, 0)
	for range 10_000 {
		s.AddGroup(Group{})
		s.AddSnippet(Snippet{})
	}
	for _, bc := range []struct{ name, target string }{
		{"groups_by_id_page_50", "/api/v4/groups?order_by=id&sort=asc&per_page=100&page=50&repository_storage=default&statistics=true"},
		{"snippets_all_page_50", "/api/v4/snippets/all?per_page=100&page=50&repository_storage=default"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveBench(b, s, http.MethodGet, bc.target, http.StatusOK)
			}
		})
	}
}

// BenchmarkMoves has 100,000 finished project moves and 10 moves held in
// "started".
func BenchmarkMoves(b *testing.B) {
	const n = 100_000
	s := benchServer(b, n)
	for id := int64(1); id <= n; id++ {
		s.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
			Project: &gitlabdata.ProjectIdentity{ID: id},
			RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
				State: gitlabdata.StorageMoveStateFinished, SourceStorageName: "storage2", DestinationStorageName: "default",
			},
		})
	}
	for id := int64(1); id <= 10; id++ {
		s.SetStuckIn("projects", id, "started")
		s.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{
			Project: &gitlabdata.ProjectIdentity{ID: id},
			RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
				State: gitlabdata.StorageMoveStateStarted, SourceStorageName: "default", DestinationStorageName: "storage2",
			},
		})
	}
	for _, bc := range []struct{ name, target string }{
		{"list_newest_page", "/api/v4/project_repository_storage_moves?per_page=100"},
		{"list_page_500", "/api/v4/project_repository_storage_moves?per_page=100&page=500"},
		{"list_of_project", "/api/v4/projects/50000/repository_storage_moves"},
		{"get", "/api/v4/project_repository_storage_moves/50000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveBench(b, s, http.MethodGet, bc.target, http.StatusOK)
			}
		})
	}
	b.Run("step", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Step()
		}
	})
}
