package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// moveOps hides the move type so one table drives the project, group and
// snippet services. Each method calls the exported method of that name
// (ListFor is ListForProject, ListForGroup or ListForSnippet, and so on).
type moveOps interface {
	List(ctx context.Context, opts *ListStorageMovesOptions) (any, *Response, error)
	ListFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) (any, *Response, error)
	All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[any, error]
	AllFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) iter.Seq2[any, error]
	Get(ctx context.Context, id int64) (any, *Response, error)
	GetFor(ctx context.Context, containerID, id int64) (any, *Response, error)
	ScheduleFor(ctx context.Context, containerID int64, req ScheduleStorageMoveRequest) (any, *Response, error)
	ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error)
}

// moveMethods holds one service's method values.
type moveMethods[T any] struct {
	list        func(context.Context, *ListStorageMovesOptions) ([]*T, *Response, error)
	listFor     func(context.Context, int64, *ListStorageMovesOptions) ([]*T, *Response, error)
	all         func(context.Context, *ListStorageMovesOptions) iter.Seq2[*T, error]
	allFor      func(context.Context, int64, *ListStorageMovesOptions) iter.Seq2[*T, error]
	get         func(context.Context, int64) (*T, *Response, error)
	getFor      func(context.Context, int64, int64) (*T, *Response, error)
	scheduleFor func(context.Context, int64, ScheduleStorageMoveRequest) (*T, *Response, error)
	scheduleAll func(context.Context, ScheduleAllStorageMovesRequest) (*Response, error)
}

// nilAny turns a nil slice or pointer into a nil interface.
func nilAny[V any](v V, isNil bool) any {
	if isNil {
		return nil
	}
	return v
}

func (m moveMethods[T]) List(ctx context.Context, opts *ListStorageMovesOptions) (any, *Response, error) {
	v, r, err := m.list(ctx, opts)
	return nilAny(v, v == nil), r, err
}

func (m moveMethods[T]) ListFor(ctx context.Context, id int64, opts *ListStorageMovesOptions) (any, *Response, error) {
	v, r, err := m.listFor(ctx, id, opts)
	return nilAny(v, v == nil), r, err
}

func (m moveMethods[T]) All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[any, error] {
	return anySeq(m.all(ctx, opts))
}

func (m moveMethods[T]) AllFor(ctx context.Context, id int64, opts *ListStorageMovesOptions) iter.Seq2[any, error] {
	return anySeq(m.allFor(ctx, id, opts))
}

func (m moveMethods[T]) Get(ctx context.Context, id int64) (any, *Response, error) {
	v, r, err := m.get(ctx, id)
	return nilAny(v, v == nil), r, err
}

func (m moveMethods[T]) GetFor(ctx context.Context, containerID, id int64) (any, *Response, error) {
	v, r, err := m.getFor(ctx, containerID, id)
	return nilAny(v, v == nil), r, err
}

func (m moveMethods[T]) ScheduleFor(ctx context.Context, id int64, req ScheduleStorageMoveRequest) (any, *Response, error) {
	v, r, err := m.scheduleFor(ctx, id, req)
	return nilAny(v, v == nil), r, err
}

func (m moveMethods[T]) ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	return m.scheduleAll(ctx, req)
}

// moveWant is what the fixtures of one kind decode to.
type moveWant struct {
	pages     [3]any // []*T of testdata/storagemoves_<kind>_page1..3.json
	all       []any  // the items of the three pages, in order
	get       any    // *T of testdata/storagemoves_<kind>.json
	scheduled any    // *T of testdata/storagemoves_<kind>_scheduled.json
}

type moveKindCase struct {
	name       string // "project"; fixtures are storagemoves_<name>*.json
	collection string // "project_repository_storage_moves"
	container  string // "projects"
	ops        func(*Client) moveOps
	// containerID owns the moves of the list and get fixtures; scheduleID
	// is the container of the scheduled fixture.
	containerID, scheduleID int64
	notFound                string // message for an unknown container
	want                    func(testing.TB) moveWant
}

func moveKindCases() []moveKindCase {
	return []moveKindCase{
		{
			name: "project", collection: "project_repository_storage_moves", container: "projects",
			ops: func(c *Client) moveOps {
				s := c.ProjectRepositoryStorageMoves
				return moveMethods[ProjectRepositoryStorageMove]{s.List, s.ListForProject, s.All, s.AllForProject, s.Get, s.GetForProject, s.ScheduleForProject, s.ScheduleAll}
			},
			containerID: 13, scheduleID: 1, notFound: "404 Project Not Found", want: projectMovesWant,
		},
		{
			name: "group", collection: "group_repository_storage_moves", container: "groups",
			ops: func(c *Client) moveOps {
				s := c.GroupRepositoryStorageMoves
				return moveMethods[GroupRepositoryStorageMove]{s.List, s.ListForGroup, s.All, s.AllForGroup, s.Get, s.GetForGroup, s.ScheduleForGroup, s.ScheduleAll}
			},
			containerID: 283, scheduleID: 283, notFound: "404 Group Not Found", want: groupMovesWant,
		},
		{
			name: "snippet", collection: "snippet_repository_storage_moves", container: "snippets",
			ops: func(c *Client) moveOps {
				s := c.SnippetRepositoryStorageMoves
				return moveMethods[SnippetRepositoryStorageMove]{s.List, s.ListForSnippet, s.All, s.AllForSnippet, s.Get, s.GetForSnippet, s.ScheduleForSnippet, s.ScheduleAll}
			},
			containerID: 65, scheduleID: 65, notFound: "404 Snippet Not Found", want: snippetMovesWant,
		},
	}
}

func (k moveKindCase) containerPath(id int64) string {
	return fmt.Sprintf("/%s/%d/repository_storage_moves", k.container, id)
}

// moveRow is the part of a move that every kind shares, as the fixtures
// hold it.
type moveRow struct {
	id                  int64
	createdAt           string
	state               StorageMoveState
	source, destination string
	errorMessage        *string
}

// moveWantOf builds what a kind's fixtures decode to from rows: moves 1, 2
// and 3 (pages 1 to 3 hold moves 3, 2 and 1; the get fixture is move 1),
// then the scheduled move. move(m, i) adds the container of rows[i].
func moveWantOf[T any](t testing.TB, rows [4]moveRow, move func(m RepositoryStorageMove, i int) *T) moveWant {
	var ms [4]*T
	for i, r := range rows {
		ms[i] = move(RepositoryStorageMove{
			ID:                     r.id,
			CreatedAt:              *mustTime(t, r.createdAt),
			State:                  r.state,
			SourceStorageName:      r.source,
			DestinationStorageName: r.destination,
			ErrorMessage:           r.errorMessage,
		}, i)
	}
	return moveWant{
		pages:     [3]any{[]*T{ms[2]}, []*T{ms[1]}, []*T{ms[0]}},
		all:       []any{ms[2], ms[1], ms[0]},
		get:       ms[0],
		scheduled: ms[3],
	}
}

func projectMovesWant(t testing.TB) moveWant {
	project13 := &ProjectIdentity{
		ID:                13,
		Description:       String("Sapiente cumque unde eos quae est."),
		Name:              "Underscore",
		NameWithNamespace: "I User0 / Underscore",
		Path:              "Underscore",
		PathWithNamespace: "i-user-0-1699826750/Underscore",
		CreatedAt:         mustTime(t, "2023-11-12T22:09:10.639Z"),
	}
	// The API docs' example, which leaves out error_message.
	docsProject := &ProjectIdentity{
		ID:                1,
		Description:       nil,
		Name:              "project1",
		NameWithNamespace: "John Doe2 / project1",
		Path:              "project1",
		PathWithNamespace: "namespace1/project1",
		CreatedAt:         mustTime(t, "2020-05-07T04:27:17.016Z"),
	}
	return moveWantOf(t, [4]moveRow{
		{1, "2023-11-13T02:57:43.523Z", StorageMoveStateScheduled, "default", "gitaly-1", nil},
		{2, "2023-11-13T03:10:02.118Z", StorageMoveStateCleanupFailed, "default", "gitaly-1", String("Failed to remove the old repository: 14:connect: connection refused")},
		{3, "2023-11-13T03:24:51.902Z", StorageMoveStateFailed, "gitaly-1", "default", String("Failed to verify project repository checksum from 9cb6d4b6f2a8 to 000000000000")},
		{1, "2020-05-07T04:27:17.234Z", StorageMoveStateScheduled, "default", "storage2", nil},
	}, func(m RepositoryStorageMove, i int) *ProjectRepositoryStorageMove {
		if i == 3 {
			return &ProjectRepositoryStorageMove{RepositoryStorageMove: m, Project: docsProject}
		}
		return &ProjectRepositoryStorageMove{RepositoryStorageMove: m, Project: project13}
	})
}

func groupMovesWant(t testing.TB) moveWant {
	group := &BasicGroupDetails{ID: 283, WebURL: "https://gitlab.example.com/groups/testgroup", Name: "testgroup"}
	return moveWantOf(t, [4]moveRow{
		{1, "2021-02-09T10:12:23.104Z", StorageMoveStateFinished, "default", "storage2", nil},
		{2, "2021-02-10T08:41:37.550Z", StorageMoveStateFailed, "storage2", "default", String("Error moving repository storage for testgroup - 14:connect: connection refused")},
		{3, "2021-02-11T15:02:09.311Z", StorageMoveStateReplicated, "storage2", "default", nil},
		{4, "2021-02-12T09:30:41.027Z", StorageMoveStateScheduled, "default", "storage2", nil},
	}, func(m RepositoryStorageMove, _ int) *GroupRepositoryStorageMove {
		return &GroupRepositoryStorageMove{RepositoryStorageMove: m, Group: group}
	})
}

func snippetMovesWant(t testing.TB) moveWant {
	root := &UserBasic{
		ID:        1,
		Username:  "root",
		Name:      "Administrator",
		State:     "active",
		Locked:    false,
		AvatarURL: String("https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon"),
		WebURL:    "https://gitlab.example.com/root",
	}
	snippet := func(author *UserBasic, updatedAt string, repo bool) *BasicSnippet {
		s := &BasicSnippet{
			ID:          65,
			Title:       "Test Snippet",
			Description: nil,
			Visibility:  "internal",
			Author:      author,
			CreatedAt:   mustTime(t, "2020-12-01T11:15:50.385Z"),
			UpdatedAt:   mustTime(t, updatedAt),
			ProjectID:   nil,
			WebURL:      "https://gitlab.example.com/-/snippets/65",
			RawURL:      "https://gitlab.example.com/-/snippets/65/raw",
		}
		if repo {
			s.SSHURLToRepo = "ssh://user@gitlab.example.com/snippets/65.git"
			s.HTTPURLToRepo = "https://gitlab.example.com/snippets/65.git"
		}
		return s
	}
	snippets := [4]*BasicSnippet{
		// With a repository, as GitLab sends it today.
		snippet(root, "2020-12-01T11:15:50.385Z", true),
		// Without a repository: GitLab leaves out the clone URLs.
		snippet(root, "2020-12-02T08:03:11.904Z", false),
		// The API docs' older snippet object, which has no author.
		snippet(nil, "2020-12-01T11:15:50.385Z", true),
		snippet(root, "2020-12-01T11:15:50.385Z", true),
	}
	return moveWantOf(t, [4]moveRow{
		{1, "2020-12-01T11:20:14.128Z", StorageMoveStateFinished, "default", "storage2", nil},
		{2, "2020-12-02T08:03:11.512Z", StorageMoveStateFailed, "storage2", "default", String("Failed to replicate snippet repository: 5:repository not found")},
		{3, "2020-12-03T16:45:27.730Z", StorageMoveStateFinished, "storage2", "default", nil},
		{4, "2020-12-04T07:58:02.361Z", StorageMoveStateScheduled, "default", "storage2", nil},
	}, func(m RepositoryStorageMove, i int) *SnippetRepositoryStorageMove {
		return &SnippetRepositoryStorageMove{RepositoryStorageMove: m, Snippet: snippets[i]}
	})
}

// pages is a pager serving testdata/storagemoves_<kind>_page1..3.json, one
// move a page, with GitLab's Link header for that page (the path's id, if
// containerID is not 0, appears in the hrefs, as Grape merges path params
// into them).
func (k moveKindCase) pages(t *testing.T, containerID int64) *pager {
	p := &pager{t: t, style: pageOffsetLinks, ids: []int64{3, 2, 1}, perPage: 1}
	for n := 1; n <= 3; n++ {
		p.fixtures = append(p.fixtures, fmt.Sprintf("storagemoves_%s_page%d", k.name, n))
	}
	if containerID != 0 {
		p.linkQuery = url.Values{"id": {strconv.FormatInt(containerID, 10)}}
	}
	return p
}

// TestStorageMovesList reads one page of the fixtures through List and
// ListFor: the request sent, the moves decoded and the Response read from
// GitLab's headers.
func TestStorageMovesList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scoped bool // ListFor the kind's container, not List
		opts   *ListStorageMovesOptions
		page   int    // the fixture page answered
		query  string // the raw query sent; nil options send none
	}{
		{"List page 2", false, &ListStorageMovesOptions{Page: 2, PerPage: 1}, 2, "page=2&per_page=1"},
		{"List nil", false, nil, 1, ""},
		{"ListFor nil", true, nil, 1, ""},
		{"ListFor page 3", true, &ListStorageMovesOptions{Page: 3, PerPage: 1}, 3, "page=3&per_page=1"},
	}
	for _, kind := range moveKindCases() {
		for _, tc := range tests {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				refuseOthers(t, ts)
				path, next, pages := "/"+kind.collection, url.Values{}, kind.pages(t, 0)
				if tc.scoped {
					path, pages = kind.containerPath(kind.containerID), kind.pages(t, kind.containerID)
					next.Set("id", strconv.FormatInt(kind.containerID, 10))
				}
				ts.mux.Handle("GET "+path, pages)
				list := func() (any, *Response, error) { return kind.ops(ts.client).List(t.Context(), tc.opts) }
				if tc.scoped {
					list = func() (any, *Response, error) {
						return kind.ops(ts.client).ListFor(t.Context(), kind.containerID, tc.opts)
					}
				}
				got, resp, err := list()
				if err != nil {
					t.Fatalf("%s error = %v", tc.name, err)
				}
				if diff := cmp.Diff(kind.want(t).pages[tc.page-1], got); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", tc.name, diff)
				}
				wantURI := "/api/v4" + path
				if tc.query != "" {
					wantURI += "?" + tc.query
				}
				if diff := cmp.Diff([]string{wantURI}, pages.requests()); diff != "" {
					t.Errorf("%s requests mismatch (-want +got):\n%s", tc.name, diff)
				}

				// GitLab's headers for page n of 3, one move a page.
				n := tc.page
				wantResp := &Response{
					StatusCode: http.StatusOK,
					RequestID:  fmt.Sprintf("01HF3D1%sQ5S7U9W1Y3A5C7E%d", strings.ToUpper(kind.name[:1]), n),
					Page:       n, PerPage: 1, PrevPage: n - 1, Total: 3, TotalPages: 3,
					Rate: RateLimit{
						Name: "throttle_authenticated_api", Limit: 2000, Observed: 10 + n, Remaining: 1990 - n,
						Reset: time.Unix(1699844280, 0),
					},
				}
				if n < 3 {
					next.Set("page", strconv.Itoa(n+1))
					next.Set("per_page", "1")
					wantResp.NextPage = n + 1
					wantResp.NextLink = ts.server.URL + "/api/v4" + path + "?" + next.Encode()
				}
				if diff := cmp.Diff(wantResp, resp, cmpopts.IgnoreFields(Response{}, "Header")); diff != "" {
					t.Errorf("%s response mismatch (-want +got):\n%s", tc.name, diff)
				}
			})
		}
	}
}

func TestStorageMovesGet(t *testing.T) {
	t.Parallel()
	for _, kind := range moveKindCases() {
		calls := []struct {
			name string
			path string
			call func(context.Context, moveOps) (any, *Response, error)
		}{
			{"Get", "/" + kind.collection + "/1", func(ctx context.Context, o moveOps) (any, *Response, error) { return o.Get(ctx, 1) }},
			{"GetFor", kind.containerPath(kind.containerID) + "/1", func(ctx context.Context, o moveOps) (any, *Response, error) {
				return o.GetFor(ctx, kind.containerID, 1)
			}},
		}
		for _, c := range calls {
			t.Run(kind.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				fixture := "storagemoves_" + kind.name
				expect(t, ts, route{method: http.MethodGet, path: c.path, fixture: fixture})

				got, resp, err := c.call(t.Context(), kind.ops(ts.client))
				if err != nil {
					t.Fatalf("%s(%s) error = %v", c.name, c.path, err)
				}
				if diff := cmp.Diff(kind.want(t).get, got); diff != "" {
					t.Errorf("%s(%s) mismatch (-want +got):\n%s", c.name, c.path, diff)
				}
				if wantID := fixtureHeader(t, fixture).Get("X-Request-Id"); resp.StatusCode != http.StatusOK || resp.RequestID != wantID {
					t.Errorf("%s(%s) response status, request id = %d, %q; want 200, %q", c.name, c.path, resp.StatusCode, resp.RequestID, wantID)
				}
			})
		}
	}
}

func TestStorageMovesScheduleForContainer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      ScheduleStorageMoveRequest
		wantBody string
	}{
		{"destination given", ScheduleStorageMoveRequest{DestinationStorageName: String("storage2")}, `{"destination_storage_name":"storage2"}`},
		{"GitLab picks the destination", ScheduleStorageMoveRequest{}, `{}`},
	}
	for _, kind := range moveKindCases() {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				expect(t, ts, route{method: http.MethodPost, path: kind.containerPath(kind.scheduleID), body: tt.wantBody,
					status: http.StatusCreated, fixture: "storagemoves_" + kind.name + "_scheduled"})

				got, resp, err := kind.ops(ts.client).ScheduleFor(t.Context(), kind.scheduleID, tt.req)
				if err != nil {
					t.Fatalf("ScheduleFor(%d) error = %v", kind.scheduleID, err)
				}
				if diff := cmp.Diff(kind.want(t).scheduled, got); diff != "" {
					t.Errorf("ScheduleFor(%d) mismatch (-want +got):\n%s", kind.scheduleID, diff)
				}
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("ScheduleFor(%d) status = %d; want 201", kind.scheduleID, resp.StatusCode)
				}
			})
		}
	}
}

func TestStorageMovesScheduleAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      ScheduleAllStorageMovesRequest
		wantBody string
	}{
		{
			"destination given",
			ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: String("storage2")},
			`{"source_storage_name":"default","destination_storage_name":"storage2"}`,
		},
	}
	for _, kind := range moveKindCases() {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				expect(t, ts, route{method: http.MethodPost, path: "/" + kind.collection, body: tt.wantBody,
					status: http.StatusAccepted, json: `{"message":"202 Accepted"}`})

				resp, err := kind.ops(ts.client).ScheduleAll(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("ScheduleAll(%+v) error = %v", tt.req, err)
				}
				if resp.StatusCode != http.StatusAccepted || resp.RequestID != testRequestID {
					t.Errorf("ScheduleAll(%+v) status, request id = %d, %q; want 202, %q", tt.req, resp.StatusCode, resp.RequestID, testRequestID)
				}
			})
		}
	}
}

func TestStorageMovesAll(t *testing.T) {
	t.Parallel()
	for _, kind := range moveKindCases() {
		for _, scoped := range []bool{false, true} {
			name := kind.name + "/All"
			if scoped {
				name = kind.name + "/AllFor"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				opts := &ListStorageMovesOptions{PerPage: 1}
				pages := kind.pages(t, 0)
				path := "/" + kind.collection
				seq := kind.ops(ts.client).All(t.Context(), opts)
				next := url.Values{}
				if scoped {
					pages = kind.pages(t, kind.containerID)
					path = kind.containerPath(kind.containerID)
					seq = kind.ops(ts.client).AllFor(t.Context(), kind.containerID, opts)
					next.Set("id", strconv.FormatInt(kind.containerID, 10))
				}
				ts.mux.Handle("GET "+path, pages)

				got, errs := drain(t, seq, 10)
				if len(errs) != 0 {
					t.Fatalf("%s errors = %v; want none", name, errs)
				}
				if diff := cmp.Diff(kind.want(t).all, got); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
				}
				wantURIs := []string{"/api/v4" + path + "?per_page=1"}
				for _, p := range []string{"2", "3"} {
					next.Set("page", p)
					next.Set("per_page", "1")
					wantURIs = append(wantURIs, "/api/v4"+path+"?"+next.Encode())
				}
				if diff := cmp.Diff(wantURIs, pages.requests()); diff != "" {
					t.Errorf("%s requests mismatch (-want +got):\n%s", name, diff)
				}
			})
		}
	}
}

func TestStorageMovesScheduleReadOnly(t *testing.T) {
	t.Parallel()
	for _, kind := range moveKindCases() {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			body := `{"message":{"` + kind.name + `":["is read-only"]}}`
			expect(t, ts, route{method: http.MethodPost, path: kind.containerPath(kind.scheduleID),
				body: `{"destination_storage_name":"storage2"}`, status: http.StatusBadRequest, json: body})

			got, resp, err := kind.ops(ts.client).ScheduleFor(t.Context(), kind.scheduleID, ScheduleStorageMoveRequest{DestinationStorageName: String("storage2")})
			if got != nil {
				t.Errorf("ScheduleFor(%d) move = %+v; want nil on error", kind.scheduleID, got)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("ScheduleFor(%d) error = %v; want an *APIError", kind.scheduleID, err)
			}
			want := &APIError{
				StatusCode: http.StatusBadRequest,
				Method:     http.MethodPost,
				Path:       "/api/v4" + kind.containerPath(kind.scheduleID),
				Message:    kind.name + " is read-only",
				Fields:     map[string][]string{kind.name: {"is read-only"}},
				RequestID:  testRequestID,
				Body:       []byte(body),
			}
			if diff := cmp.Diff(want, apiErr); diff != "" {
				t.Errorf("ScheduleFor(%d) error mismatch (-want +got):\n%s", kind.scheduleID, diff)
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("ScheduleFor(%d) response = %+v; want one with status 400", kind.scheduleID, resp)
			}
		})
	}
}

func TestStorageMovesNotFound(t *testing.T) {
	t.Parallel()
	for _, kind := range moveKindCases() {
		const unknown = 999
		tests := []struct {
			name    string
			path    string
			message string
			call    func(context.Context, moveOps) (any, error)
		}{
			{
				name: "unknown container", path: kind.containerPath(unknown) + "/1", message: kind.notFound,
				call: func(ctx context.Context, ops moveOps) (any, error) {
					v, _, err := ops.GetFor(ctx, unknown, 1)
					return v, err
				},
			},
			{
				name: "unknown container listing", path: kind.containerPath(unknown), message: kind.notFound,
				call: func(ctx context.Context, ops moveOps) (any, error) {
					v, _, err := ops.ListFor(ctx, unknown, nil)
					return v, err
				},
			},
			{
				name: "unknown move", path: "/" + kind.collection + "/" + strconv.Itoa(unknown), message: "404 Not found",
				call: func(ctx context.Context, ops moveOps) (any, error) {
					v, _, err := ops.Get(ctx, unknown)
					return v, err
				},
			},
		}
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				expect(t, ts, route{method: http.MethodGet, path: tt.path, status: http.StatusNotFound, json: `{"message":"` + tt.message + `"}`})

				got, err := tt.call(t.Context(), kind.ops(ts.client))
				if got != nil {
					t.Errorf("result = %+v; want nil on error", got)
				}
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("error = %v; want one matching ErrNotFound", err)
				}
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error = %v; want an *APIError", err)
				}
				want := &APIError{
					StatusCode: http.StatusNotFound,
					Method:     http.MethodGet,
					Path:       "/api/v4" + tt.path,
					Message:    tt.message,
					RequestID:  testRequestID,
					Body:       []byte(`{"message":"` + tt.message + `"}`),
				}
				if diff := cmp.Diff(want, apiErr); diff != "" {
					t.Errorf("%s error mismatch (-want +got):\n%s", tt.path, diff)
				}
			})
		}
	}
}

// invalidMoveCall is one call with input the SDK must refuse before any request.
// call is set for methods returning a Response, seq for iterators.
type invalidMoveCall struct {
	name string
	call func(context.Context, moveOps) (*Response, error)
	seq  func(context.Context, moveOps) iter.Seq2[any, error]
}

func invalidMoveCalls() []invalidMoveCall {
	dest := func(s string) ScheduleStorageMoveRequest {
		return ScheduleStorageMoveRequest{DestinationStorageName: String(s)}
	}
	get := func(id int64) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) {
			_, r, err := o.Get(ctx, id)
			return r, err
		}
	}
	getFor := func(cid, id int64) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) {
			_, r, err := o.GetFor(ctx, cid, id)
			return r, err
		}
	}
	list := func(opts *ListStorageMovesOptions) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) {
			_, r, err := o.List(ctx, opts)
			return r, err
		}
	}
	listFor := func(cid int64, opts *ListStorageMovesOptions) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) {
			_, r, err := o.ListFor(ctx, cid, opts)
			return r, err
		}
	}
	scheduleFor := func(cid int64, req ScheduleStorageMoveRequest) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) {
			_, r, err := o.ScheduleFor(ctx, cid, req)
			return r, err
		}
	}
	scheduleAll := func(req ScheduleAllStorageMovesRequest) func(context.Context, moveOps) (*Response, error) {
		return func(ctx context.Context, o moveOps) (*Response, error) { return o.ScheduleAll(ctx, req) }
	}
	all := func(opts *ListStorageMovesOptions) func(context.Context, moveOps) iter.Seq2[any, error] {
		return func(ctx context.Context, o moveOps) iter.Seq2[any, error] { return o.All(ctx, opts) }
	}
	allFor := func(cid int64, opts *ListStorageMovesOptions) func(context.Context, moveOps) iter.Seq2[any, error] {
		return func(ctx context.Context, o moveOps) iter.Seq2[any, error] { return o.AllFor(ctx, cid, opts) }
	}
	return []invalidMoveCall{
		{name: "Get move 0", call: get(0)},
		{name: "Get move -1", call: get(-1)},
		{name: "GetFor container 0", call: getFor(0, 1)},
		{name: "GetFor container -1", call: getFor(-1, 1)},
		{name: "GetFor move 0", call: getFor(1, 0)},
		{name: "GetFor move -1", call: getFor(1, -1)},
		{name: "ListFor container 0", call: listFor(0, nil)},
		{name: "ListFor container -1", call: listFor(-1, nil)},
		{name: "ScheduleFor container 0", call: scheduleFor(0, dest("storage2"))},
		{name: "ScheduleFor container -1", call: scheduleFor(-1, ScheduleStorageMoveRequest{})},
		{name: "ScheduleFor empty destination", call: scheduleFor(1, dest(""))},
		{name: "ScheduleAll empty source", call: scheduleAll(ScheduleAllStorageMovesRequest{})},
		{name: "ScheduleAll empty source with destination", call: scheduleAll(ScheduleAllStorageMovesRequest{DestinationStorageName: String("storage2")})},
		{name: "ScheduleAll empty destination", call: scheduleAll(ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: String("")})},
		{name: "List negative page", call: list(&ListStorageMovesOptions{Page: -1})},
		{name: "List negative per_page", call: list(&ListStorageMovesOptions{PerPage: -1})},
		{name: "ListFor negative page", call: listFor(1, &ListStorageMovesOptions{Page: -2})},
		{name: "ListFor negative per_page", call: listFor(1, &ListStorageMovesOptions{PerPage: -20})},
		{name: "All negative page", seq: all(&ListStorageMovesOptions{Page: -1})},
		{name: "All negative per_page", seq: all(&ListStorageMovesOptions{PerPage: -1})},
		{name: "AllFor container 0", seq: allFor(0, nil)},
		{name: "AllFor container -1", seq: allFor(-1, &ListStorageMovesOptions{PerPage: 1})},
		{name: "AllFor negative per_page", seq: allFor(1, &ListStorageMovesOptions{PerPage: -1})},
	}
}

func TestStorageMovesValidation(t *testing.T) {
	t.Parallel()
	for _, kind := range moveKindCases() {
		for _, tt := range invalidMoveCalls() {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t)
				hits := refuseOthers(t, ts)
				ops := kind.ops(ts.client)

				var err error
				if tt.seq != nil {
					err = onlyError(t, tt.seq(t.Context(), ops))
				} else {
					var resp *Response
					resp, err = tt.call(t.Context(), ops)
					if resp != nil {
						t.Errorf("%s: response = %+v; want nil", tt.name, resp)
					}
				}
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("%s: error = %v; want one matching ErrInvalidArgument", tt.name, err)
				}
				if n := hits.get(); n != 0 {
					t.Errorf("%s: %d requests reached the server; want 0", tt.name, n)
				}
			})
		}
	}
}
