package gitlabtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := newFake(t)

	srv.FailNext(1, http.StatusTooManyRequests)
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves", "")
	reset := testNow.Add(time.Second).Truncate(time.Second)
	want := map[string]string{
		"Content-Type": "text/plain", "RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": "120",
		"RateLimit-Observed": "121", "RateLimit-Remaining": "0", "RateLimit-Reset": fmt.Sprint(reset.Unix()),
		"RateLimit-ResetTime": reset.Format(http.TimeFormat), "Retry-After": "1",
	}
	if diff := cmp.Diff(want, headerOf(got.header, "Content-Type", "RateLimit-Name", "RateLimit-Limit", "RateLimit-Observed",
		"RateLimit-Remaining", "RateLimit-Reset", "RateLimit-ResetTime", "Retry-After")); diff != "" || got.status != 429 || got.body != "Retry later\n" {
		t.Errorf("throttled answer = %d %q, headers mismatch (-want +got):\n%s", got.status, got.body, diff)
	}
	// The failure was used up.
	wantJSON(t, "after the failure", adminDo(t, srv, "GET", "/project_repository_storage_moves", ""), 200, `[]`)

	for _, status := range []int{502, 503, 504} {
		srv.FailNext(1, status)
		got := adminDo(t, srv, "GET", "/admin/data_management/projects", "")
		if got.status != status || got.header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(got.body, "<html>") {
			t.Errorf("FailNext(%d) answer = %d %q %q; want an HTML page", status, got.status, got.header.Get("Content-Type"), got.body)
		}
	}
	srv.FailNext(1, http.StatusConflict)
	wantJSON(t, "FailNext(409)", adminDo(t, srv, "GET", "/version", ""), 409, `{"message":"409 Conflict"}`)

	// Faults come before authentication and routing, and count only API
	// requests.
	srv.FailNext(2, http.StatusInternalServerError)
	resp, err := http.Get(srv.URL() + "/not-api")
	if err != nil {
		t.Fatalf("GET /not-api error = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("non-API request = %d %q; want 404 HTML (not a fault)", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	wantJSON(t, "fault without token", doRaw(t, srv, "GET", "/nowhere", "", ""), 500, `{"message":"500 Internal Server Error"}`)
	wantJSON(t, "second fault", adminDo(t, srv, "GET", "/version", ""), 500, `{"message":"500 Internal Server Error"}`)
	if got := adminDo(t, srv, "GET", "/version", ""); got.status != 200 {
		t.Errorf("after the faults = %d; want 200", got.status)
	}

	// FailNext(0, …) cancels.
	srv.FailNext(5, 503)
	srv.FailNext(0, 503)
	if got := adminDo(t, srv, "GET", "/version", ""); got.status != 200 {
		t.Errorf("after cancelling = %d; want 200", got.status)
	}
}

func TestFailNextThroughClient(t *testing.T) {
	t.Parallel()
	srv := newFake(t)

	srv.FailNext(1, http.StatusTooManyRequests)
	_, _, err := fakeClient(t, srv).DataManagement.List(t.Context(), gitlabdata.ModelProjects, nil)
	apiErr := asAPIError(t, "throttled List", err)
	if !errors.Is(err, gitlabdata.ErrRateLimited) || apiErr.Message != "Retry later" || apiErr.RetryAfter != time.Second {
		t.Errorf("throttled List error = %v (message %q, retry after %v); want ErrRateLimited, Retry later, 1s", err, apiErr.Message, apiErr.RetryAfter)
	}

	// A GET is retried on 503 and then succeeds.
	srv.ResetRequests()
	srv.FailNext(2, http.StatusServiceUnavailable)
	retrying, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if _, _, err := retrying.ProjectRepositoryStorageMoves.List(t.Context(), nil); err != nil {
		t.Fatalf("List with retries error = %v", err)
	}
	var statuses []int
	for _, r := range srv.Requests() {
		statuses = append(statuses, r.Status)
	}
	if diff := cmp.Diff([]int{503, 503, 200}, statuses); diff != "" {
		t.Errorf("statuses of the attempts mismatch (-want +got):\n%s", diff)
	}
}

func TestRedirectNext(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	srv := newFake(t)

	srv.RedirectNext(1, elsewhere.URL+"/api/v4/project_repository_storage_moves")
	got := adminDo(t, srv, "GET", "/project_repository_storage_moves", "")
	if got.status != http.StatusFound || got.header.Get("Location") != elsewhere.URL+"/api/v4/project_repository_storage_moves" {
		t.Errorf("redirected answer = %d, Location %q; want 302 to the other server", got.status, got.header.Get("Location"))
	}

	srv.RedirectNext(1, elsewhere.URL+"/api/v4/project_repository_storage_moves")
	_, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Errorf("List after a redirect to another host error = %v; want a refused redirect", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("the other host got %d requests; want 0", hits)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	id := srv.AddProject(gitlabtest.Project{})
	client := fakeClient(t, srv)
	if _, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id,
		gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("default")}); err != nil {
		t.Fatalf("ScheduleForProject error = %v", err)
	}
	comp := gitlabdata.CompositeRecordID("a/b", "c")
	_, _, err := client.DataManagement.Get(t.Context(), gitlabdata.ModelUploads, comp)
	if !errors.Is(err, gitlabdata.ErrNotFound) {
		t.Errorf("Get(%s) error = %v; want ErrNotFound", comp, err)
	}
	if _, _, err := client.DataManagement.List(t.Context(), gitlabdata.ModelLFSObjects, &gitlabdata.ListModelRecordsOptions{
		Identifiers: []gitlabdata.RecordID{gitlabdata.IntRecordID(2), gitlabdata.IntRecordID(3)}, PerPage: 5,
	}); err != nil {
		t.Errorf("List error = %v", err)
	}
	reqs := srv.Requests()
	for i := range reqs {
		if reqs[i].RequestID == "" || !reqs[i].Time.Equal(testNow) {
			t.Errorf("request %d has id %q and time %v; want an id and the server's clock", i, reqs[i].RequestID, reqs[i].Time)
		}
		reqs[i].RequestID, reqs[i].Time = "", time.Time{}
	}
	want := []gitlabtest.RecordedRequest{
		{Method: "POST", Path: fmt.Sprintf("/api/v4/projects/%d/repository_storage_moves", id), Body: []byte(`{"destination_storage_name":"default"}`), Status: 201},
		{Method: "GET", Path: "/api/v4/admin/data_management/uploads/" + comp.String(), Status: 404},
		{Method: "GET", Path: "/api/v4/admin/data_management/lfs_objects", RawQuery: "identifiers%5B%5D=2&identifiers%5B%5D=3&per_page=5", Status: 200},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
	}
	srv.ResetRequests()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("Requests() after ResetRequests has %d entries; want 0", n)
	}
}

func TestLatencyEndsWithTheClient(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithLatency(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // long enough for the request to arrive on a loaded machine
	defer cancel()
	_, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.List(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List during a one-hour latency error = %v; want DeadlineExceeded", err)
	}
	// Close does not wait for the latency; afterwards the request is in
	// the log without a status.
	srv.Close()
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Status != 0 {
		t.Errorf("Requests() = %+v; want one request without a status", reqs)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newFake(t, gitlabtest.WithStepInterval(time.Millisecond))
	srv.AddStorage("storage2", 1)
	ids := srv.AddProjects(20, "default")
	srv.AddRecords(gitlabdata.ModelUploads, 200, gitlabdata.ChecksumStateSucceeded)
	client := fakeClient(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, id := range ids {
		wg.Go(func() {
			if _, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{}); err != nil {
				errs <- err
			}
			for _, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, &gitlabdata.ListModelRecordsOptions{PerPage: 50}) {
				if err != nil {
					errs <- err
					return
				}
			}
			if _, _, err := client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads, gitlabdata.RecalculateChecksumsRequest{AllowAllRecords: true}); err != nil {
				errs <- err
			}
			srv.AddRecord(gitlabdata.ModelLFSObjects, gitlabdata.ModelRecord{RecordIdentifier: gitlabdata.IntRecordID(int64(i + 1))})
			srv.Step()
			_ = srv.Requests()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call error = %v", err)
	}
	_, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelLFSObjects, nil)
	if err != nil || resp.Total != 20 {
		t.Errorf("lfs_objects total = %d, %v; want 20", resp.Total, err)
	}
}

// A fault after serving keeps the request's effects and loses its answer,
// as a proxy that times out after GitLab created a move.
func TestFaultAfterServing(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AddStorage("storage2", 100)
	id := srv.AddProject(gitlabtest.Project{Storage: "default"})
	srv.InjectFault(gitlabtest.Fault{Method: "POST", Path: "/api/v4/projects/*/repository_storage_moves", Status: 502, Count: 1, AfterServing: true})
	got := adminDo(t, srv, "POST", fmt.Sprintf("/projects/%d/repository_storage_moves", id), `{"destination_storage_name":"storage2"}`)
	if got.status != 502 || !strings.Contains(got.body, "<html>") {
		t.Errorf("POST = %d %q; want the proxy's 502 page", got.status, got.body)
	}
	moves, _, err := fakeClient(t, srv).ProjectRepositoryStorageMoves.ListForProject(t.Context(), id, nil)
	if err != nil || len(moves) != 1 || moves[0].DestinationStorageName != "storage2" {
		t.Errorf("moves of the project = %+v, %v; want the one the lost answer created", moves, err)
	}
	if p, _ := srv.Project(id); !p.ReadOnly {
		t.Error("the project is not read-only: the move was not scheduled")
	}
	log := srv.Requests()
	if last := log[len(log)-2]; last.Method != "POST" || last.Status != 502 {
		t.Errorf("request log has %s %d for the POST; want the status sent, 502", last.Method, last.Status)
	}
}

// GitLab's Date header is its own clock; the fake's is WithClock's, and
// Handler serves the same fake without a socket.
func TestDateAndHandler(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	got := adminDo(t, srv, "GET", "/version", "")
	if d := got.header.Get("Date"); d != testNow.Format(http.TimeFormat) {
		t.Errorf("Date = %q; want the fake's clock, %q", d, testNow.Format(http.TimeFormat))
	}
	req := httptest.NewRequest("GET", srv.URL()+"/api/v4/version", nil)
	req.Header.Set("Private-Token", srv.Token())
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":"19.2.0-ee"`) {
		t.Errorf("Handler() GET /version = %d %q", rec.Code, rec.Body.String())
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests logged; want 2 (one over the socket, one through Handler)", n)
	}
}
