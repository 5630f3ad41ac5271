package gitlabtest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// queueMetrics reads GET /sidekiq/queue_metrics through the SDK.
func queueMetrics(t *testing.T, client *gitlabdata.Client) map[string]gitlabdata.SidekiqQueue {
	t.Helper()
	m, _, err := client.Sidekiq.QueueMetrics(t.Context())
	if err != nil {
		t.Fatalf("QueueMetrics() error = %v", err)
	}
	return m.Queues
}

// The default queue holds the storage moves waiting to start (scheduled),
// of every kind; its latency is the wait of the one enqueued first, on
// the fake's clock.
func TestSidekiqQueueMetricsFollowMoves(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	srv.AddUserToken("user-token", false)
	client := fakeClient(t, srv)
	wantJSON(t, "no moves", adminDo(t, srv, "GET", "/sidekiq/queue_metrics", ""), 200,
		`{"queues":{"default":{"backlog":0,"latency":0},"mailers":{"backlog":0,"latency":0}}}`)

	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		CreatedAt: testNow.Add(-10 * time.Minute), State: "scheduled", DestinationStorageName: "storage2"}})
	srv.AddGroupStorageMove(gitlabdata.GroupRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		State: "scheduled", DestinationStorageName: "storage2"}})
	// Not waiting in the queue: running, over, or not yet scheduled.
	srv.AddSnippetStorageMove(gitlabdata.SnippetRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		CreatedAt: testNow.Add(-time.Hour), State: "started", DestinationStorageName: "storage2"}})
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		CreatedAt: testNow.Add(-2 * time.Hour), State: "finished", DestinationStorageName: "storage2"}})
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		CreatedAt: testNow.Add(-3 * time.Hour), State: "initial", DestinationStorageName: "storage2"}})
	wantJSON(t, "two scheduled moves", adminDo(t, srv, "GET", "/sidekiq/queue_metrics", ""), 200,
		`{"queues":{"default":{"backlog":2,"latency":600},"mailers":{"backlog":0,"latency":0}}}`)

	srv.AdvanceClock(30*time.Second + 900*time.Millisecond)
	want := map[string]gitlabdata.SidekiqQueue{"default": {Backlog: 2, Latency: 630 * time.Second}, "mailers": {}}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() 30.9 s later mismatch (-want +got):\n%s", diff)
	}
	// A step starts the two scheduled moves and schedules the initial one:
	// its job was enqueued now, not when the move was created.
	srv.Step()
	srv.AdvanceClock(45 * time.Second)
	want = map[string]gitlabdata.SidekiqQueue{"default": {Backlog: 1, Latency: 45 * time.Second}, "mailers": {}}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() after a step mismatch (-want +got):\n%s", diff)
	}
	srv.Step()
	want = map[string]gitlabdata.SidekiqQueue{"default": {}, "mailers": {}}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() with every move started or over mismatch (-want +got):\n%s", diff)
	}

	// Administrators only, GET only.
	wantJSON(t, "a user's token", doRaw(t, srv, "GET", "/sidekiq/queue_metrics", "user-token", ""), 403, `{"message":"403 Forbidden"}`)
	wantJSON(t, "no token", doRaw(t, srv, "GET", "/sidekiq/queue_metrics", "", ""), 401, `{"message":"401 Unauthorized"}`)
	wantJSON(t, "POST", adminDo(t, srv, "POST", "/sidekiq/queue_metrics", ""), 404, `{"error":"404 Not Found"}`)
	wantJSON(t, "another Sidekiq route", adminDo(t, srv, "GET", "/sidekiq/job_stats", ""), 404, `{"error":"404 Not Found"}`)
}

// Moves scheduled through the API, in bulk, land in the default queue.
func TestSidekiqQueueMetricsAfterScheduleAll(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	srv.AddProjects(3, "default")
	client := fakeClient(t, srv)
	_, err := client.ProjectRepositoryStorageMoves.ScheduleAll(t.Context(), gitlabdata.ScheduleAllStorageMovesRequest{
		SourceStorageName: "default", DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil {
		t.Fatalf("ScheduleAll() error = %v", err)
	}
	srv.AdvanceClock(2 * time.Minute)
	want := map[string]gitlabdata.SidekiqQueue{"default": {Backlog: 3, Latency: 2 * time.Minute}, "mailers": {}}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() mismatch (-want +got):\n%s", diff)
	}
}

func TestSidekiqQueueOverrides(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 50)
	client := fakeClient(t, srv)
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{RepositoryStorageMove: gitlabdata.RepositoryStorageMove{
		CreatedAt: testNow.Add(-time.Minute), State: "scheduled", DestinationStorageName: "storage2"}})

	// From Go: a nil field keeps the computed value; a new queue is added.
	if !srv.OverrideSidekiqQueue("default", gitlabtest.SidekiqQueueOverride{Latency: ptr(90*time.Second + 999*time.Millisecond)}) {
		t.Fatal(`OverrideSidekiqQueue("default") = false`)
	}
	srv.OverrideSidekiqQueue("gitaly_throttled", gitlabtest.SidekiqQueueOverride{Backlog: ptr[int64](7)})
	srv.OverrideSidekiqQueue("negative", gitlabtest.SidekiqQueueOverride{Backlog: ptr[int64](-1), Latency: ptr(-time.Second)})
	if srv.OverrideSidekiqQueue("", gitlabtest.SidekiqQueueOverride{}) {
		t.Error(`OverrideSidekiqQueue("") = true; want false`)
	}
	want := map[string]gitlabdata.SidekiqQueue{
		"default": {Backlog: 1, Latency: 90 * time.Second}, "gitaly_throttled": {Backlog: 7}, "mailers": {}, "negative": {},
	}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() with overrides mismatch (-want +got):\n%s", diff)
	}
	wantJSON(t, "queues in name order", adminDo(t, srv, "GET", "/sidekiq/queue_metrics", ""), 200,
		`{"queues":{"default":{"backlog":1,"latency":90},"gitaly_throttled":{"backlog":7,"latency":0},"mailers":{"backlog":0,"latency":0},"negative":{"backlog":0,"latency":0}}}`)
	if !srv.ResetSidekiqQueue("default") || !srv.ResetSidekiqQueue("gitaly_throttled") || !srv.ResetSidekiqQueue("negative") {
		t.Error("ResetSidekiqQueue() of an overridden queue = false; want true")
	}
	if srv.ResetSidekiqQueue("default") {
		t.Error("ResetSidekiqQueue() of a queue without an override = true; want false")
	}
	want = map[string]gitlabdata.SidekiqQueue{"default": {Backlog: 1, Latency: time.Minute}, "mailers": {}}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() after the resets mismatch (-want +got):\n%s", diff)
	}

	// Through the control plane.
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"both keys", "PUT", "/-/fake/sidekiq/queues/mailers", `{"backlog":3,"latency":12}`, 200,
			`{"name":"mailers","override":{"backlog":3,"latency":12},"queue":{"backlog":3,"latency":12}}`},
		{"latency only", "PUT", "/-/fake/sidekiq/queues/default", `{"latency":3600}`, 200,
			`{"name":"default","override":{"latency":3600},"queue":{"backlog":1,"latency":3600}}`},
		{"a new queue", "PUT", "/-/fake/sidekiq/queues/projects_update_repository_storage", `{}`, 200,
			`{"name":"projects_update_repository_storage","override":{},"queue":{"backlog":0,"latency":0}}`},
		{"an escaped name", "PUT", "/-/fake/sidekiq/queues/urgent%20other", `{"backlog":2}`, 200,
			`{"name":"urgent other","override":{"backlog":2},"queue":{"backlog":2,"latency":0}}`},
		{"replaces the earlier override", "PUT", "/-/fake/sidekiq/queues/mailers", `{"latency":5}`, 200,
			`{"name":"mailers","override":{"latency":5},"queue":{"backlog":0,"latency":5}}`},
		{"negative backlog", "PUT", "/-/fake/sidekiq/queues/default", `{"backlog":-1}`, 400,
			`{"error":"body must be {\"latency\":SECONDS,\"backlog\":N} with whole numbers from 0 (either key may be left out)"}`},
		{"negative latency", "PUT", "/-/fake/sidekiq/queues/default", `{"latency":-5}`, 400,
			`{"error":"body must be {\"latency\":SECONDS,\"backlog\":N} with whole numbers from 0 (either key may be left out)"}`},
		{"latency in another unit", "PUT", "/-/fake/sidekiq/queues/default", `{"latency":"1m"}`, 400,
			`{"error":"invalid JSON body: json: cannot unmarshal string into Go struct field .latency of type int64"}`},
		{"unknown key", "PUT", "/-/fake/sidekiq/queues/default", `{"size":1}`, 400, `{"error":"invalid JSON body: json: unknown field \"size\""}`},
		{"no name", "PUT", "/-/fake/sidekiq/queues/", `{}`, 404, `{"error":"want PUT /-/fake/sidekiq/queues/NAME"}`},
		{"not a queue path", "PUT", "/-/fake/sidekiq/processes/x", `{}`, 404, `{"error":"want PUT /-/fake/sidekiq/queues/NAME"}`},
		{"a name with a slash", "DELETE", "/-/fake/sidekiq/queues/a/b", ``, 404, `{"error":"want DELETE /-/fake/sidekiq/queues/NAME"}`},
		{"GET is not a route", "GET", "/-/fake/sidekiq/queues/default", ``, 404,
			`{"error":"no control endpoint GET /-/fake/sidekiq/queues/default; GET /-/fake/ lists them"}`},
		{"drop an override", "DELETE", "/-/fake/sidekiq/queues/projects_update_repository_storage", ``, 204, ``},
		{"drop it again", "DELETE", "/-/fake/sidekiq/queues/projects_update_repository_storage", ``, 404,
			`{"error":"Sidekiq queue \"projects_update_repository_storage\" has no override"}`},
	}
	for _, tt := range tests {
		got := control(t, srv, tt.method, tt.path, tt.body)
		want := tt.want
		if want != "" {
			want += "\n"
		}
		if got.status != tt.status || got.body != want {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	want = map[string]gitlabdata.SidekiqQueue{
		"default": {Backlog: 1, Latency: time.Hour}, "mailers": {Latency: 5 * time.Second}, "urgent other": {Backlog: 2},
	}
	if diff := cmp.Diff(want, queueMetrics(t, client)); diff != "" {
		t.Errorf("QueueMetrics() after the control requests mismatch (-want +got):\n%s", diff)
	}
	if got := control(t, srv, "PUT", "/-/fake/sidekiq/queues/default", `{"latency":1}`, "X-Forwarded-For", "10.0.0.1"); got.status != http.StatusForbidden {
		t.Errorf("proxied PUT = %d %s; want 403", got.status, got.body)
	}
}
