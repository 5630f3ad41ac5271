package gitlabdata

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errorSentinels are the sentinels an *APIError can match.
var errorSentinels = []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrInvalidArgument}

// checkErrorSentinels asserts that err matches want and no other sentinel
// (want nil: none at all).
func checkErrorSentinels(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range errorSentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(%v, %v) = %t; want %t", err, s, got, s == want)
		}
	}
}

// Every error shape of spec §1.2, §1.6, §2.7 and §3.5, served on a list
// request so that Path carries a query.
func TestAPIErrorShapes(t *testing.T) {
	t.Parallel()
	const path = "/api/v4/admin/data_management/projects?checksum_state=failed&per_page=2"
	const prefix = "gitlabdata: GET " + path + ": "
	tests := []struct {
		name       string
		file       string
		status     int
		message    string
		fields     map[string][]string
		requestID  string
		retryAfter time.Duration
		sentinel   error
		wantError  string
	}{
		{
			name: "unauthorized", file: "error_unauthorized.json", status: 401,
			message: "401 Unauthorized", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H01", sentinel: ErrUnauthorized,
			wantError: prefix + "401 Unauthorized (GitLab refused the token as missing, wrong, expired or revoked: use an administrator's access token; an OAuth token needs WithOAuthToken) (request id 01JD8A3K7Q0S5Y9B2C4E6G8H01)",
		},
		{
			name: "expired token", file: "error_token_expired.json", status: 401,
			message:   "invalid_token: Token is expired. You can either do re-authorization or token refresh.",
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H11", sentinel: ErrUnauthorized,
			wantError: prefix + "401 Unauthorized: invalid_token: Token is expired. You can either do re-authorization or token refresh. (GitLab refused the token as missing, wrong, expired or revoked: use an administrator's access token; an OAuth token needs WithOAuthToken) (request id 01JD8A3K7Q0S5Y9B2C4E6G8H11)",
		},
		{
			name: "forbidden", file: "error_forbidden.json", status: 403,
			message: "403 Forbidden", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H02", sentinel: ErrForbidden,
			wantError: prefix + "403 Forbidden (this API needs an administrator's token, and admin mode where the instance enables it) (request id 01JD8A3K7Q0S5Y9B2C4E6G8H02)",
		},
		{
			name: "insufficient scope", file: "error_insufficient_scope.json", status: 403,
			message:   "insufficient_scope: The request requires higher privileges than provided by the access token.",
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H03", sentinel: ErrForbidden,
			wantError: prefix + "403 Forbidden: insufficient_scope: The request requires higher privileges than provided by the access token. (the token lacks a scope: reads need read_api or api, changes need api) (request id 01JD8A3K7Q0S5Y9B2C4E6G8H03)",
		},
		{
			name: "project not found", file: "error_project_not_found.json", status: 404,
			message: "404 Project Not Found", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H04", sentinel: ErrNotFound,
			wantError: prefix + "404 Project Not Found (request id 01JD8A3K7Q0S5Y9B2C4E6G8H04)",
		},
		{
			name: "unknown route", file: "error_route_not_found.json", status: 404,
			message: "404 Not Found", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H05", sentinel: ErrNotFound,
			wantError: prefix + "404 Not Found (request id 01JD8A3K7Q0S5Y9B2C4E6G8H05)",
		},
		{
			name: "grape validation", file: "error_invalid_model_name.json", status: 400,
			message: "model_name does not have a valid value", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H06",
			wantError: prefix + "400 Bad Request: model_name does not have a valid value (request id 01JD8A3K7Q0S5Y9B2C4E6G8H06)",
		},
		{
			name: "bad request with reason", file: "error_not_primary.json", status: 400,
			message: "400 Bad request - Endpoint only available on primary site.", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H07",
			wantError: prefix + "400 Bad request - Endpoint only available on primary site. (request id 01JD8A3K7Q0S5Y9B2C4E6G8H07)",
		},
		{
			name: "field error", file: "error_project_read_only.json", status: 400,
			message: "project is read-only", fields: map[string][]string{"project": {"is read-only"}},
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H08",
			wantError: prefix + "400 Bad Request: project is read-only (request id 01JD8A3K7Q0S5Y9B2C4E6G8H08)",
		},
		{
			name: "two messages for one field", file: "error_destination_invalid.json", status: 400,
			message:   "destination_storage_name can't be blank, is not included in the list",
			fields:    map[string][]string{"destination_storage_name": {"can't be blank", "is not included in the list"}},
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H09",
			wantError: prefix + "400 Bad Request: destination_storage_name can't be blank, is not included in the list (request id 01JD8A3K7Q0S5Y9B2C4E6G8H09)",
		},
		{
			name: "application rate limit", file: "error_app_rate_limited.json", status: 429,
			message:   "This endpoint has been requested too many times. Try again later.",
			fields:    map[string][]string{"error": {"This endpoint has been requested too many times. Try again later."}},
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H10", sentinel: ErrRateLimited,
			wantError: prefix + "429 Too Many Requests: This endpoint has been requested too many times. Try again later. (request id 01JD8A3K7Q0S5Y9B2C4E6G8H10)",
		},
		{
			name: "message list", file: "error_message_list.json", status: 400,
			message:   "Source storage name can't be blank; Destination storage name is not included in the list",
			requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H12",
			wantError: prefix + "400 Bad Request: Source storage name can't be blank; Destination storage name is not included in the list (request id 01JD8A3K7Q0S5Y9B2C4E6G8H12)",
		},
		{
			name: "conflict", file: "error_conflict.json", status: 409,
			message: "409 Conflict: Resource lock", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H13",
			wantError: prefix + "409 Conflict: Resource lock (request id 01JD8A3K7Q0S5Y9B2C4E6G8H13)",
		},
		{
			name: "keyset not supported", file: "error_keyset_unsupported.json", status: 405,
			message: "Keyset pagination is not yet available for this type of request", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H14",
			wantError: prefix + "405 Method Not Allowed: Keyset pagination is not yet available for this type of request (request id 01JD8A3K7Q0S5Y9B2C4E6G8H14)",
		},
		{
			name: "internal error", file: "error_internal.json", status: 500,
			message: "500 Internal Server Error", requestID: "01JD8A3K7Q0S5Y9B2C4E6G8H15",
			wantError: prefix + "500 Internal Server Error (request id 01JD8A3K7Q0S5Y9B2C4E6G8H15)",
		},
		{
			name: "HTML bad gateway page", file: "error_bad_gateway.html", status: 502,
			wantError: prefix + "502 Bad Gateway: response body is not GitLab's JSON error format",
		},
		{
			name: "Rack::Attack throttle", file: "error_rate_limited.txt", status: 429,
			message: "Retry later", retryAfter: 30 * time.Second, sentinel: ErrRateLimited,
			wantError: prefix + "429 Too Many Requests: Retry later (retry after 30s)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			expect(t, ts, route{method: http.MethodGet, path: "/admin/data_management/projects",
				query: url.Values{"checksum_state": {"failed"}, "per_page": {"2"}}, status: tt.status, fixture: tt.file})
			opts := &ListModelRecordsOptions{ChecksumState: ChecksumStateFailed, PerPage: 2}
			// Do, not DataManagement.List: the shapes are the point here, not
			// the data-management hints and model-name retries (era_test.go).
			var records []*ModelRecord
			resp, err := ts.client.Do(t.Context(), http.MethodGet, "admin/data_management/projects", opts, nil, &records)
			if err == nil {
				t.Fatalf("List() error = nil, records = %v; want an *APIError", records)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("List() error = %v (%T); want an *APIError", err, err)
			}
			want := &APIError{
				StatusCode: tt.status,
				Method:     http.MethodGet,
				Path:       path,
				Message:    tt.message,
				Fields:     tt.fields,
				RequestID:  tt.requestID,
				RetryAfter: tt.retryAfter,
				Body:       loadFixture(t, tt.file).body,
				Hint:       statusHint(tt.status, tt.message), // its text is pinned by wantError
			}
			if diff := cmp.Diff(want, apiErr); diff != "" {
				t.Errorf("List(%s) error mismatch (-want +got):\n%s", tt.file, diff)
			}
			if got := err.Error(); got != tt.wantError {
				t.Errorf("List(%s) error string\n got %q\nwant %q", tt.file, got, tt.wantError)
			}
			checkErrorSentinels(t, err, tt.sentinel)
			if msg := err.Error(); strings.ContainsAny(msg, "<>\n") || strings.Contains(msg, testToken) {
				t.Errorf("List(%s) error = %q; want one line without HTML or the token", tt.file, msg)
			}
			if resp == nil || resp.StatusCode != tt.status || resp.RequestID != tt.requestID {
				t.Errorf("List(%s) response = %+v; want status %d and request id %q", tt.file, resp, tt.status, tt.requestID)
			}
			if records != nil {
				t.Errorf("List(%s) records = %v; want nil", tt.file, records)
			}
		})
	}
}

// A POST that GitLab refuses keeps its method and path in the error.
func TestAPIErrorOnSchedule(t *testing.T) {
	t.Parallel()
	fx := loadFixture(t, "error_project_read_only.json")
	ts := setup(t)
	expect(t, ts, route{method: http.MethodPost, path: "/projects/13/repository_storage_moves",
		body: `{"destination_storage_name":"gitaly-1"}`, status: http.StatusBadRequest, fixture: fx.name})
	move, _, err := ts.client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), 13,
		ScheduleStorageMoveRequest{DestinationStorageName: String("gitaly-1")})
	if move != nil {
		t.Errorf("ScheduleForProject() move = %+v; want nil", move)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("ScheduleForProject() error = %v; want an *APIError", err)
	}
	want := &APIError{
		StatusCode: http.StatusBadRequest,
		Method:     http.MethodPost,
		Path:       "/api/v4/projects/13/repository_storage_moves",
		Message:    "project is read-only",
		Fields:     map[string][]string{"project": {"is read-only"}},
		RequestID:  "01JD8A3K7Q0S5Y9B2C4E6G8H08",
		Body:       fx.body,
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("ScheduleForProject(13) error mismatch (-want +got):\n%s", diff)
	}
	const wantMsg = "gitlabdata: POST /api/v4/projects/13/repository_storage_moves: 400 Bad Request: project is read-only (request id 01JD8A3K7Q0S5Y9B2C4E6G8H08)"
	if got := err.Error(); got != wantMsg {
		t.Errorf("ScheduleForProject(13) error = %q; want %q", got, wantMsg)
	}
	checkErrorSentinels(t, err, nil)
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *APIError
		want string
	}{
		{
			name: "message and request id",
			err:  &APIError{StatusCode: 404, Method: "GET", Path: "/api/v4/project_repository_storage_moves/9", Message: "404 Not found", RequestID: "01H0000000000000000000000A"},
			want: "gitlabdata: GET /api/v4/project_repository_storage_moves/9: 404 Not found (request id 01H0000000000000000000000A)",
		},
		{
			name: "body that is not GitLab's format",
			err:  &APIError{StatusCode: 502, Method: "GET", Path: "/api/v4/x", Body: []byte("<html><body>bad gateway</body></html>")},
			want: "gitlabdata: GET /api/v4/x: 502 Bad Gateway: response body is not GitLab's JSON error format",
		},
		{
			name: "no body",
			err:  &APIError{StatusCode: 504, Method: "GET", Path: "/api/v4/x"},
			want: "gitlabdata: GET /api/v4/x: 504 Gateway Timeout",
		},
		{
			name: "retry after and request id",
			err:  &APIError{StatusCode: 429, Method: "POST", Path: "/api/v4/project_repository_storage_moves", Message: "Retry later", RetryAfter: 2 * time.Minute, RequestID: "r1"},
			want: "gitlabdata: POST /api/v4/project_repository_storage_moves: 429 Too Many Requests: Retry later (retry after 2m0s) (request id r1)",
		},
		{
			name: "failure reported in a 200",
			err:  &APIError{StatusCode: 200, Method: "PUT", Path: "/api/v4/admin/data_management/projects/checksum", Message: "No table found from Project", RequestID: "r2"},
			want: "gitlabdata: PUT /api/v4/admin/data_management/projects/checksum: GitLab reported a failure: No table found from Project (request id r2)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error()\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   error
	}{
		{200, nil},
		{400, nil},
		{401, ErrUnauthorized},
		{403, ErrForbidden},
		{404, ErrNotFound},
		{405, nil},
		{409, nil},
		{429, ErrRateLimited},
		{500, nil},
		{502, nil},
		{503, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			apiErr := &APIError{StatusCode: tt.status, Method: "GET", Path: "/api/v4/x"}
			checkErrorSentinels(t, apiErr, tt.want)
			// Still matches once wrapped, and errors.As finds it.
			wrapped := fmt.Errorf("storage janitor: %w", apiErr)
			checkErrorSentinels(t, wrapped, tt.want)
			var got *APIError
			if !errors.As(wrapped, &got) || got != apiErr {
				t.Errorf("errors.As(wrapped, *APIError) = %v; want the original error", got)
			}
		})
	}
}

// An error body is read only up to 64 KiB, and Error() never includes it.
func TestErrorBodyCap(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("<p>GitLab is not responding</p>\n"), (1<<20)/32)
	if len(big) != 1<<20 {
		t.Fatalf("test body is %d bytes; want 1 MiB", len(big))
	}
	ts := setup(t)
	ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(big) // fails once the client hangs up: expected
	})
	_, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Get() error = %v; want an *APIError", err)
	}
	if got, want := len(apiErr.Body), 64<<10; got != want {
		t.Errorf("len(APIError.Body) = %d; want %d", got, want)
	}
	if !bytes.Equal(apiErr.Body, big[:64<<10]) {
		t.Error("APIError.Body is not the first 64 KiB of the body")
	}
	if apiErr.Message != "" {
		t.Errorf("APIError.Message = %q; want empty for an HTML body", apiErr.Message)
	}
	const want = "gitlabdata: GET /api/v4/admin/data_management/projects/1: 502 Bad Gateway: response body is not GitLab's JSON error format"
	if got := err.Error(); got != want {
		t.Errorf("Get() error = %q; want %q", got, want)
	}
}

func TestErrorBodyParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		wantMessage string
		wantFields  map[string][]string
	}{
		{name: "message string", contentType: "application/json", body: `{"message":"404 Not found"}`, wantMessage: "404 Not found"},
		{name: "error string", contentType: "application/json", body: `{"error":"per_page has a value not allowed"}`, wantMessage: "per_page has a value not allowed"},
		{name: "error with description and scope", contentType: "application/json",
			body:        `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`,
			wantMessage: "insufficient_scope: The request requires higher privileges than provided by the access token."},
		{name: "message and error together", contentType: "application/json", body: `{"message":"first","error":"second"}`, wantMessage: "first; second"},
		{name: "fields sorted by name", contentType: "application/json",
			body:        `{"message":{"source_storage_name":["is invalid"],"destination_storage_name":["can't be blank"]}}`,
			wantMessage: "destination_storage_name can't be blank; source_storage_name is invalid",
			wantFields:  map[string][]string{"source_storage_name": {"is invalid"}, "destination_storage_name": {"can't be blank"}}},
		{name: "base field without its key", contentType: "application/json",
			body:        `{"message":{"base":["Repository already read-only"]}}`,
			wantMessage: "Repository already read-only",
			wantFields:  map[string][]string{"base": {"Repository already read-only"}}},
		{name: "field with one string", contentType: "application/json",
			body:        `{"message":{"project":"is read-only"}}`,
			wantMessage: "project is read-only",
			wantFields:  map[string][]string{"project": {"is read-only"}}},
		{name: "field with a number", contentType: "application/json",
			body:        `{"message":{"count":3}}`,
			wantMessage: "count 3",
			wantFields:  map[string][]string{"count": {"3"}}},
		{name: "message list", contentType: "application/json", body: `{"message":["a","b"]}`, wantMessage: "a; b"},
		{name: "JSON without known keys", contentType: "application/json", body: `{"status":"error"}`},
		{name: "JSON null", contentType: "application/json", body: `null`},
		{name: "empty body", contentType: "application/json", body: ``},
		{name: "plain text", contentType: "text/plain", body: "Retry later\n", wantMessage: "Retry later"},
		{name: "plain text with charset", contentType: "text/plain; charset=utf-8", body: "Retry later\n", wantMessage: "Retry later"},
		{name: "plain text of 200 bytes", contentType: "text/plain", body: strings.Repeat("x", 200), wantMessage: strings.Repeat("x", 200)},
		{name: "plain text over 200 bytes", contentType: "text/plain", body: strings.Repeat("x", 201)},
		{name: "plain text on two lines", contentType: "text/plain", body: "Retry later\nor not\n"},
		{name: "plain text not UTF-8", contentType: "text/plain", body: "Retry \xff later"},
		{name: "blank plain text", contentType: "text/plain", body: " \n"},
		{name: "HTML", contentType: "text/html", body: "<html><body><h1>502</h1></body></html>"},
		{name: "short text labelled HTML", contentType: "text/html; charset=utf-8", body: "Bad Gateway"},
		{name: "no content type", contentType: "", body: "Retry later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, fields := parseErrorBody(tt.contentType, []byte(tt.body))
			if msg != tt.wantMessage {
				t.Errorf("parseErrorBody(%q, %q) message = %q; want %q", tt.contentType, tt.body, msg, tt.wantMessage)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("parseErrorBody(%q, %q) fields mismatch (-want +got):\n%s", tt.contentType, tt.body, diff)
			}
		})
	}
}

// An error of another request can reach a Data management call wrapped in
// its own (a context cancelled with that error as its cause, as
// checksum-audit does when one model fails): its Hint must stay the one of
// its own model.
func TestAnotherModelsErrorKeepsItsHint(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://gitlab.example.com", "t")
	if err != nil {
		t.Fatal(err)
	}
	other := &APIError{StatusCode: 400, Method: "GET", Path: "/api/v4/admin/data_management/lfs_objcts?per_page=100",
		Message: "model_name does not have a valid value", Hint: "this server does not know the model \"lfs_objcts\""}
	got := c.withModelName(ModelLFSObjects, func(ModelName) (error, bool) {
		return fmt.Errorf("gitlabdata: decoding GET /api/v4/admin/data_management/lfs_objects: %w", other), true
	})
	if !errors.Is(got, other) || other.Hint != "this server does not know the model \"lfs_objcts\"" {
		t.Errorf("withModelName() = %v; the other request's hint became %q", got, other.Hint)
	}
	for path, want := range map[string]bool{
		"/api/v4/admin/data_management/lfs_objects":          true,
		"/api/v4/admin/data_management/lfs_objects/12":       true,
		"/api/v4/admin/data_management/lfs_objects?cursor=x": true,
		"/api/v4/admin/data_management/lfs_objects_x":        false,
		"/api/v4/admin/data_management/uploads/checksum":     false,
		"/api/v4/projects/1/repository_storage_moves?page=1": false,
	} {
		if got := (&APIError{Path: path}).forModel(ModelLFSObjects); got != want {
			t.Errorf("forModel(%q) = %v; want %v", path, got, want)
		}
	}
}
