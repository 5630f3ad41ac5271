package gitlabtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata"
)

// FuzzServeHTTP sends arbitrary methods, paths, queries and bodies to the
// handler: it must never panic, must answer JSON under /api/v4 (except
// the plain-text answer to a malformed query), must answer 500 only for a
// keyset cursor, and must leave the server usable.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/api/v4/admin/data_management/projects", "per_page=2&page=2", ""},
		{"GET", "/api/v4/admin/data_management/projects", "pagination=keyset&cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D&sort=desc", ""},
		{"GET", "/api/v4/admin/data_management/projects", "pagination=keyset&cursor=%21", ""},
		{"GET", "/api/v4/admin/data_management/uploads", "identifiers[]=MSAy&identifiers[]=1&checksum_state=failed", ""},
		{"GET", "/api/v4/admin/data_management/uploads/rand123", "", ""},
		{"GET", "/api/v4/admin/data_management/virtual_registries_cache_entries/MSAx", "", ""},
		{"PUT", "/api/v4/admin/data_management/uploads/1/checksum", "", ""},
		{"PUT", "/api/v4/admin/data_management/uploads/checksum", "", `{"identifiers":[1,"MSAy"],"checksum_state":"failed"}`},
		{"POST", "/api/v4/projects/1/repository_storage_moves", "", `{"destination_storage_name":"storage2"}`},
		{"POST", "/api/v4/projects/group%2Fproject/repository_storage_moves", "", `{"destination_storage_name":[1]}`},
		{"POST", "/api/v4/project_repository_storage_moves", "", `{"source_storage_name":"default"}`},
		{"GET", "/api/v4/snippets/1/repository_storage_moves/x", "per_page=0", ""},
		{"DELETE", "/api/v4/group_repository_storage_moves/1", "", ""},
		{"GET", "/api/v4/projects/1/repository_storage_moves", "page=99999999999999999999&per_page=-5", ""},
		{"GET", "/api/v4/user", "", ""},
		{"GET", "/api/v4/groups/group", "with_projects=false", ""},
		{"GET", "/api/v4/groups/1", "with_projects=x", ""},
		{"GET", "/api/v4/snippets/1", "", ""},
		{"GET", "/api/v4/snippets/x", "", ""},
		{"GET", "/api/v4/projects", "pagination=keyset&order_by=id&id_after=1&id_before=3&include_pending_delete=true", ""},
		{"GET", "/api/v4/projects", "order_by=id&sort=desc&page=2&per_page=1&id_before=-4&repository_storage=default", ""},
		{"GET", "/api/v4/groups", "order_by=id&page=3&per_page=1&repository_storage=", ""},
		{"POST", "/api/v4/groups/2/repository_storage_moves", "", ""},
		{"GET", "/api/v4//", "", ""},
		{"GET", "/elsewhere", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body)
	}
	srv := NewServer(WithAdminToken("tok"))
	f.Cleanup(srv.Close)
	srv.AddStorage("storage2", 1)
	srv.AddProjects(3, "default")
	srv.AddGroup(Group{Path: "group"})
	srv.AddGroup(Group{NoWiki: true})
	srv.UpdateProject(2, func(p *Project) { p.PendingDelete = true; p.Namespace = "group" })
	srv.AddSnippet(Snippet{})
	srv.AddRecords(gitlabdata.ModelUploads, 30, gitlabdata.ChecksumStateFailed)
	srv.AddCompositeRecords("virtual_registries_cache_entries", 3, 2)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		u := &url.URL{Path: "/", RawQuery: query}
		if p, err := url.Parse(path); err == nil && strings.HasPrefix(p.Path, "/") {
			u.Path, u.RawPath = p.Path, p.RawPath
		}
		if strings.ContainsAny(method, " \t\r\n") || method == "" {
			method = "GET"
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method, req.URL = method, u
		req.Header.Set("PRIVATE-TOKEN", "tok")
		rec := httptest.NewRecorder()
		srv.serveHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		switch {
		case rec.Code == 500 && !strings.Contains(query, "cursor"):
			t.Errorf("%s %s?%s = 500: %s", method, path, query, rec.Body)
		case ct == "application/json" && !json.Valid(rec.Body.Bytes()):
			t.Errorf("%s %s?%s answered invalid JSON %q", method, path, query, rec.Body)
		case strings.HasPrefix(u.EscapedPath(), "/api/v4/") && ct != "application/json" && rec.Body.String() != "Bad Request":
			t.Errorf("%s %s?%s answered %q %q; want JSON", method, path, query, ct, rec.Body)
		case rec.Header().Get("X-Request-Id") == "":
			t.Errorf("%s %s?%s answered without X-Request-Id", method, path, query)
		}
		// The lock was released: another request still works.
		check := httptest.NewRecorder()
		r2 := httptest.NewRequest("GET", "/api/v4/version", nil)
		r2.Header.Set("PRIVATE-TOKEN", "tok")
		srv.serveHTTP(check, r2)
		if check.Code != 200 {
			t.Fatalf("GET /version after %s %s = %d", method, path, check.Code)
		}
	})
}

// FuzzDecodeComposite checks that a composite key survives GitLab's
// encoding (padded or not) and that arbitrary text never panics and, when
// accepted, decodes to parts without spaces.
func FuzzDecodeComposite(f *testing.F) {
	for _, s := range []string{"1 2", "12 34", "5 1700000000 abc", "a/b c", "", "x", "  1  2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, enc := range []string{
			base64.URLEncoding.EncodeToString([]byte(s)),
			base64.RawURLEncoding.EncodeToString([]byte(s)),
		} {
			parts, msg := decodeComposite(enc)
			switch {
			case !strings.Contains(s, " "):
				if msg != "Invalid composite key format" {
					t.Errorf("decodeComposite(%q) = %q, %q; want the format error", enc, parts, msg)
				}
			case msg != "":
				t.Errorf("decodeComposite(%q) error %q; want %q", enc, msg, strings.Fields(s))
			case !slices.Equal(parts, strings.Fields(s)):
				t.Errorf("decodeComposite(%q) = %q; want %q", enc, parts, strings.Fields(s))
			}
		}
		if parts, msg := decodeComposite(s); msg == "" {
			for _, p := range parts {
				if p == "" || strings.ContainsAny(p, " \t\n") {
					t.Errorf("decodeComposite(%q) part %q is empty or has a space", s, p)
				}
			}
		}
	})
}
