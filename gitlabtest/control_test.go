package gitlabtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestScopedFaults(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/project_repository_storage_moves", Status: 429, Count: 1, RetryAfter: gitlabtest.Seconds(0)})
	srv.InjectFault(gitlabtest.Fault{Path: "/api/v4/admin/data_management/**", Status: 503, RetryAfter: gitlabtest.Seconds(7)})

	// Another method or path is not affected.
	if got := adminDo(t, srv, "POST", "/project_repository_storage_moves", `{"source_storage_name":"default"}`); got.status != 202 {
		t.Errorf("POST while a GET fault is pending = %d; want 202", got.status)
	}
	if got := adminDo(t, srv, "GET", "/group_repository_storage_moves", ""); got.status != 200 {
		t.Errorf("GET another path = %d; want 200", got.status)
	}
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves?page=2", "")
	want := map[string]string{"Retry-After": "0", "RateLimit-Reset": "1753366938", "Content-Type": "text/plain"}
	if diff := cmp.Diff(want, headerOf(got.header, "Retry-After", "RateLimit-Reset", "Content-Type")); diff != "" || got.status != 429 || got.body != "Retry later\n" {
		t.Errorf("scoped 429 = %d %q, headers mismatch (-want +got):\n%s", got.status, got.body, diff)
	}
	if got := adminDo(t, srv, "GET", "/project_repository_storage_moves", ""); got.status != 200 {
		t.Errorf("GET after the counted fault = %d; want 200", got.status)
	}
	// Count 0 lasts until ClearFaults; "/**" matches below the prefix.
	for _, p := range []string{"/admin/data_management/uploads", "/admin/data_management/uploads/1/checksum"} {
		got := adminDo(t, srv, "GET", p, "")
		if got.status != 503 || got.header.Get("Retry-After") != "7" {
			t.Errorf("GET %s = %d, Retry-After %q; want 503 and 7", p, got.status, got.header.Get("Retry-After"))
		}
	}
	if diff := cmp.Diff([]gitlabtest.Fault{{Path: "/api/v4/admin/data_management/**", Status: 503, RetryAfter: gitlabtest.Seconds(7)}}, srv.Faults()); diff != "" {
		t.Errorf("Faults() mismatch (-want +got):\n%s", diff)
	}
	srv.ClearFaults()
	if got := adminDo(t, srv, "GET", "/admin/data_management/uploads", ""); got.status != 200 {
		t.Errorf("GET after ClearFaults = %d; want 200", got.status)
	}
	// A latency-only fault answers normally.
	srv.InjectFault(gitlabtest.Fault{Latency: time.Millisecond, Count: 1})
	wantJSON(t, "latency-only fault", adminDo(t, srv, "GET", "/snippet_repository_storage_moves", ""), 200, `[]`)
}

func TestRetryAfterZeroThroughClient(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithRetryAfter(0))
	srv.FailNext(1, http.StatusTooManyRequests)
	client, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 2, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatalf("NewClient error = %v", err)
	}
	if _, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil); err != nil {
		t.Fatalf("List after one throttled answer error = %v", err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Method+" "+r.Path+" "+http.StatusText(r.Status))
	}
	want := []string{"GET /api/v4/project_repository_storage_moves Too Many Requests", "GET /api/v4/project_repository_storage_moves OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	srv.SetRetryAfter(3)
	srv.FailNext(1, http.StatusTooManyRequests)
	if ra := adminDo(t, srv, "GET", "/version", "").header.Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After after SetRetryAfter(3) = %q; want 3", ra)
	}
}

// control sends a request to the control plane and returns the answer.
func control(t *testing.T, srv *gitlabtest.Server, method, path, body string, header ...string) rawResp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest error = %v", err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestControlPlane(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithVersion(gitlabtest.Version{Major: 18, Minor: 9}))
	id := srv.AddProject(gitlabtest.Project{})
	srv.AddRecords(gitlabdata.ModelUploads, 1, gitlabdata.ChecksumStatePending)
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"step", "POST", "/-/fake/step", `{"n":2,"advance":"1h"}`, 200, `{"now":"2025-07-24T15:22:18.643Z","steps":2}` + "\n"},
		{"bad advance", "POST", "/-/fake/step", `{"advance":"soon"}`, 400, `{"error":"advance \"soon\" is not a duration such as 1h"}` + "\n"},
		{"add a fault", "POST", "/-/fake/faults", `{"method":"GET","path":"/api/v4/version","status":429,"count":1,"latency":"1ms","retry_after":0}`, 201,
			`{"method":"GET","path":"/api/v4/version","status":429,"count":1,"latency":"1ms","retry_after":0}` + "\n"},
		{"list faults", "GET", "/-/fake/faults", "", 200, `[{"method":"GET","path":"/api/v4/version","status":429,"count":1,"latency":"1ms","retry_after":0}]` + "\n"},
		{"bad fault", "POST", "/-/fake/faults", `{"status":429,"latency":"soon"}`, 400, `{"error":"latency \"soon\" is not a duration such as 250ms"}` + "\n"},
		{"unknown field", "POST", "/-/fake/faults", `{"sttus":429}`, 400, `{"error":"invalid JSON body: json: unknown field \"sttus\""}` + "\n"},
		{"retry after", "PUT", "/-/fake/retry_after", `{"seconds":0}`, 200, `{"seconds":0}` + "\n"},
		{"add a token", "POST", "/-/fake/tokens", `{"token":"user-token"}`, 201, `{"admin":false,"granular":false,"token":"user-token","username":"user2"}` + "\n"},
		{"flag off", "PUT", "/-/fake/feature_flags/geo_primary_verification_view", `{"enabled":false}`, 200, `{"enabled":false,"name":"geo_primary_verification_view"}` + "\n"},
		{"unknown flag", "PUT", "/-/fake/feature_flags/nope", `{"enabled":false}`, 404, `{"error":"GitLab 18.9.0-ee has no feature flag \"nope\""}` + "\n"},
		{"storage weight", "PUT", "/-/fake/storages/storage2", `{"weight":5}`, 200, `{"name":"storage2","weight":5,"capacity_bytes":0,"used_bytes":0}` + "\n"},
		{"geo off", "PUT", "/-/fake/geo", `{"enabled":false}`, 200, `{"enabled":false}` + "\n"},
		{"unknown endpoint", "GET", "/-/fake/nope", "", 404, `{"error":"no control endpoint GET /-/fake/nope; GET /-/fake/ lists them"}` + "\n"},
	}
	client := fakeClient(t, srv)
	m, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("default")})
	if err != nil {
		t.Fatalf("ScheduleForProject error = %v", err)
	}
	for _, tt := range tests {
		got := control(t, srv, tt.method, tt.path, tt.body)
		if got.status != tt.status || got.body != tt.want {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, got.status, got.body, tt.status, tt.want)
		}
	}
	// The control calls took effect.
	if got, _, err := client.ProjectRepositoryStorageMoves.Get(t.Context(), m.ID); err != nil || got.State != "replicated" {
		t.Errorf("move after two steps = %v, %v; want replicated", got, err)
	}
	if got := adminDo(t, srv, "GET", "/version", ""); got.status != 429 || got.header.Get("Retry-After") != "0" {
		t.Errorf("GET /version after the fault = %d, Retry-After %q; want 429 and 0", got.status, got.header.Get("Retry-After"))
	}
	wantJSON(t, "the new token", doRaw(t, srv, "GET", "/project_repository_storage_moves", "user-token", ""), 403, `{"message":"403 Forbidden"}`)
	wantJSON(t, "the flag", adminDo(t, srv, "GET", "/admin/data_management/uploads", ""), 404, `{"message":"404 Not Found"}`)
	srv.SetFeatureFlag("geo_primary_verification_view", true)
	wantJSON(t, "geo off", adminDo(t, srv, "PUT", "/admin/data_management/uploads/checksum", ""), 400, `{"message":"400 Bad request - Endpoint only available on primary site."}`)

	// The request log holds the API requests only, on the advanced clock.
	srv.ResetRequests()
	adminDo(t, srv, "GET", "/version", "")
	if reqs := srv.Requests(); len(reqs) != 1 || !reqs[0].Time.Equal(testNow.Add(time.Hour)) {
		t.Errorf("Requests() = %+v; want one at the advanced clock", reqs)
	}
	got := control(t, srv, "GET", "/-/fake/requests", "")
	if !strings.HasPrefix(got.body, `[{"method":"GET","path":"/api/v4/version","query":"","body":"","status":200,"request_id":"`) || strings.Count(got.body, `"method"`) != 1 {
		t.Errorf("GET /-/fake/requests = %d %s; want the one API request", got.status, got.body)
	}
	if got := control(t, srv, "DELETE", "/-/fake/requests", ""); got.status != 204 || len(srv.Requests()) != 0 {
		t.Errorf("DELETE /-/fake/requests = %d, %d left; want 204 and none", got.status, len(srv.Requests()))
	}
	if got := control(t, srv, "DELETE", "/-/fake/faults", ""); got.status != 204 || len(srv.Faults()) != 0 {
		t.Errorf("DELETE /-/fake/faults = %d, %d left; want 204 and none", got.status, len(srv.Faults()))
	}
	// Only direct clients reach it.
	got = control(t, srv, "POST", "/-/fake/step", "", "X-Forwarded-For", "10.0.0.1")
	if got.status != 403 || got.body != `{"error":"the control plane answers only direct clients of the fake's listener"}`+"\n" {
		t.Errorf("proxied control request = %d %s; want 403", got.status, got.body)
	}
	got = control(t, srv, "GET", "/-/fake/", "")
	if got.status != 200 || !strings.Contains(got.body, `"POST /-/fake/faults add a fault; body {\"method\":\"GET\",\"path\":\"/api/v4/projects/**\",","`) || !strings.Contains(got.body, `"era":"18.8-18.9"`) {
		t.Errorf("GET /-/fake/ = %d %s; want the endpoint list", got.status, got.body)
	}
}

func TestApplicationLimitFault(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.InjectFault(gitlabtest.Fault{Method: "GET", Path: "/api/v4/projects", Status: 429, ApplicationLimit: true, Count: 1, RetryAfter: gitlabtest.Seconds(30)})
	got := adminDo(t, srv, "GET", "/projects", "")
	wantJSON(t, "application limit", got, 429, `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`)
	if diff := cmp.Diff(map[string]string{"Retry-After": "30", "RateLimit-Name": "<absent>"}, headerOf(got.header, "Retry-After", "RateLimit-Name")); diff != "" {
		t.Errorf("application limit headers mismatch (-want +got):\n%s", diff)
	}
	_, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil {
		t.Errorf("other path after the fault error = %v", err)
	}
}
