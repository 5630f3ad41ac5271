package gitlabdata_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// fakeAt starts the fake as GitLab version v with n failed uploads and a
// client without retries.
func fakeAt(t *testing.T, v string, n int, opts ...gitlabtest.ServerOption) (*gitlabtest.Server, *gitlabdata.Client) {
	t.Helper()
	version, err := gitlabtest.ParseVersion(v)
	if err != nil {
		t.Fatalf("ParseVersion(%q) error = %v", v, err)
	}
	srv := gitlabtest.NewServer(append([]gitlabtest.ServerOption{gitlabtest.WithVersion(version)}, opts...)...)
	t.Cleanup(srv.Close)
	if n > 0 {
		srv.AddRecords(gitlabdata.ModelUploads, n, gitlabdata.ChecksumStateFailed)
	}
	client, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	return srv, client
}

// requestsTo lists "METHOD path" of the requests the fake got under prefix.
func requestsTo(srv *gitlabtest.Server, prefix string) []string {
	var out []string
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// A tool written with today's plural names works on every era: on 18.3 to
// 18.7 the client retries once in singular form and keeps that form.
func TestPluralNamesOnEveryEra(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version   string
		wantPaths []string
	}{
		{"18.5", []string{
			"GET /api/v4/admin/data_management/uploads",
			"GET /api/v4/admin/data_management/upload",
			"GET /api/v4/admin/data_management/upload", // the second range: singular at once
		}},
		{"18.9", []string{"GET /api/v4/admin/data_management/uploads", "GET /api/v4/admin/data_management/uploads"}},
		{"18.11", []string{"GET /api/v4/admin/data_management/uploads", "GET /api/v4/admin/data_management/uploads"}},
		{"19.2", []string{"GET /api/v4/admin/data_management/uploads", "GET /api/v4/admin/data_management/uploads"}},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			srv, client := fakeAt(t, tc.version, 3)
			for round := range 2 {
				var states []gitlabdata.ChecksumState
				for rec, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, nil) {
					if err != nil {
						t.Fatalf("round %d: All(uploads) error = %v", round, err)
					}
					states = append(states, rec.ChecksumState())
				}
				want := []gitlabdata.ChecksumState{"failed", "failed", "failed"} // integers on 18.5, decoded
				if diff := cmp.Diff(want, states); diff != "" {
					t.Errorf("round %d: All(uploads) states mismatch (-want +got):\n%s", round, diff)
				}
			}
			if diff := cmp.Diff(tc.wantPaths, requestsTo(srv, "/api/v4/admin/")); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// An unknown model name fails with GitLab's 400 and the nearest known names.
func TestUnknownModelNameSuggestsNearest(t *testing.T) {
	t.Parallel()
	srv, client := fakeAt(t, "18.11", 0)
	if _, _, err := client.Version(t.Context()); err != nil {
		t.Fatalf("Version() error = %v", err)
	}
	_, _, err := client.DataManagement.List(t.Context(), "lfs_objets", nil)
	var apiErr *gitlabdata.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("List(lfs_objets) error = %v; want GitLab's 400", err)
	}
	// The server is known to be 18.11: no retry in singular form, and the
	// error names the caller's own name.
	if want := []string{"GET /api/v4/admin/data_management/lfs_objets"}; !cmp.Equal(want, requestsTo(srv, "/api/v4/admin/")) {
		t.Errorf("requests = %q; want %q", requestsTo(srv, "/api/v4/admin/"), want)
	}
	if apiErr.Path != "/api/v4/admin/data_management/lfs_objets" {
		t.Errorf("error path = %q; want the caller's name", apiErr.Path)
	}
	const want = `this server does not know the model "lfs_objets"; did you mean lfs_objects? ModelNamesFor lists the names each GitLab version accepts`
	if apiErr.Hint != want {
		t.Errorf("List(lfs_objets) hint = %q; want %q", apiErr.Hint, want)
	}
	_, _, err = client.DataManagement.List(t.Context(), "nosuch", nil)
	const far = `this server does not know the model "nosuch"; ModelNamesFor lists the names each GitLab version accepts`
	if !errors.As(err, &apiErr) || apiErr.Hint != far {
		t.Errorf("List(nosuch) error = %v; want the hint %q", err, far)
	}
}

// A 404 from a listing means the API is not there; the error still matches
// ErrNotFound and names the causes, the flag, and the version when known.
func TestDataManagementNotAvailable(t *testing.T) {
	t.Parallel()
	srv, client := fakeAt(t, "18.9", 1)
	if !srv.SetFeatureFlag("geo_primary_verification_view", false) {
		t.Fatal("SetFeatureFlag() = false; want the 18.9 fake to have the flag")
	}
	if _, _, err := client.Version(t.Context()); err != nil {
		t.Fatalf("Version() error = %v", err)
	}
	for name, err := range map[string]error{
		"List": func() error {
			_, _, err := client.DataManagement.List(t.Context(), gitlabdata.ModelUploads, nil)
			return err
		}(),
		"All": func() error {
			for _, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelUploads, nil) {
				return err
			}
			return nil
		}(),
		"Get (bare 404)": func() error {
			_, _, err := client.DataManagement.Get(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(1))
			return err
		}(),
	} {
		var apiErr *gitlabdata.APIError
		if !errors.Is(err, gitlabdata.ErrNotFound) || !errors.As(err, &apiErr) {
			t.Fatalf("%s error = %v; want an *APIError matching ErrNotFound", name, err)
		}
		for _, part := range []string{"not available on this server", "Premium or Ultimate", "Geo primary", "geo_primary_verification_view", "the server is GitLab 18.9.0-ee"} {
			if !strings.Contains(apiErr.Hint, part) {
				t.Errorf("%s hint = %q; want it to mention %q", name, apiErr.Hint, part)
			}
		}
	}
}

// A 404 for one missing record stays a plain not found.
func TestMissingRecordIsPlainNotFound(t *testing.T) {
	t.Parallel()
	_, client := fakeAt(t, "18.11", 1)
	_, _, err := client.DataManagement.Get(t.Context(), gitlabdata.ModelUploads, gitlabdata.IntRecordID(999999))
	var apiErr *gitlabdata.APIError
	if !errors.Is(err, gitlabdata.ErrNotFound) || !errors.As(err, &apiErr) {
		t.Fatalf("Get(999999) error = %v; want an *APIError matching ErrNotFound", err)
	}
	if apiErr.Hint != "" {
		t.Errorf("Get(999999) hint = %q; want none for one missing record", apiErr.Hint)
	}
}

// Filtered bulk recalculation on 18.3 to 18.7, which ignores the filters and
// queues every record, is refused before any PUT unless AllowAllRecords.
func TestRecalculateChecksumsRefusesFiltersOnLegacy(t *testing.T) {
	t.Parallel()
	failed := gitlabdata.RecalculateChecksumsRequest{ChecksumState: gitlabdata.ChecksumStateFailed}
	tests := []struct {
		version  string
		req      gitlabdata.RecalculateChecksumsRequest
		wantErr  error
		wantPuts int
	}{
		{"18.5", failed, gitlabdata.ErrUnsafe, 0},
		{"18.5", gitlabdata.RecalculateChecksumsRequest{ChecksumState: gitlabdata.ChecksumStateFailed, AllowAllRecords: true}, nil, 1},
		{"18.5", gitlabdata.RecalculateChecksumsRequest{AllowAllRecords: true}, nil, 1}, // unfiltered: all records were consented to
		{"18.9", failed, nil, 1},
		{"18.11", failed, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			srv, client := fakeAt(t, tc.version, 2)
			_, _, err := client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads, tc.req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RecalculateChecksums(%+v) error = %v; want %v", tc.req, err, tc.wantErr)
			}
			if tc.wantErr != nil && !strings.Contains(err.Error(), "set AllowAllRecords to send it anyway") {
				t.Errorf("error %q does not say how to send it anyway", err)
			}
			puts := 0 // accepted ones: on 18.5 a plural name is first refused with a 400 that changes nothing
			for _, r := range srv.Requests() {
				if r.Method == http.MethodPut && r.Status == http.StatusOK {
					puts++
				}
			}
			if puts != tc.wantPuts {
				t.Errorf("fake accepted %d PUTs; want %d", puts, tc.wantPuts)
			}
		})
	}
}

// Identifiers that match no record would make GitLab queue every record:
// the client sends only those that exist, and nothing when none does.
func TestRecalculateChecksumsSendsOnlyExistingIdentifiers(t *testing.T) {
	t.Parallel()
	srv, client := fakeAt(t, "18.11", 0)
	first := srv.AddRecords(gitlabdata.ModelUploads, 3, gitlabdata.ChecksumStateFailed)
	exist := []gitlabdata.RecordID{gitlabdata.IntRecordID(first), gitlabdata.IntRecordID(first + 2)}
	missing := []gitlabdata.RecordID{gitlabdata.IntRecordID(first + 1000)}

	result, _, err := client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads,
		gitlabdata.RecalculateChecksumsRequest{Identifiers: []gitlabdata.RecordID{exist[0], missing[0], exist[1], exist[0]}})
	if err != nil {
		t.Fatalf("RecalculateChecksums() error = %v", err)
	}
	want := &gitlabdata.RecalculateChecksumsResult{Sent: exist, Missing: missing}
	if diff := cmp.Diff(want, result); diff != "" {
		t.Errorf("RecalculateChecksums() result mismatch (-want +got):\n%s", diff)
	}
	var puts []map[string]any
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPut {
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("PUT body %q: %v", r.Body, err)
			}
			puts = append(puts, body)
		}
	}
	wantPuts := []map[string]any{{"identifiers": []any{float64(first), float64(first + 2)}}}
	if diff := cmp.Diff(wantPuts, puts); diff != "" {
		t.Errorf("PUT bodies mismatch (-want +got):\n%s", diff)
	}

	result, _, err = client.DataManagement.RecalculateChecksums(t.Context(), gitlabdata.ModelUploads,
		gitlabdata.RecalculateChecksumsRequest{Identifiers: missing})
	if !errors.Is(err, gitlabdata.ErrNotFound) {
		t.Fatalf("RecalculateChecksums(missing) error = %v; want ErrNotFound", err)
	}
	if diff := cmp.Diff(&gitlabdata.RecalculateChecksumsResult{Missing: missing}, result); diff != "" {
		t.Errorf("RecalculateChecksums(missing) result mismatch (-want +got):\n%s", diff)
	}
	if n := len(requestsTo(srv, "/api/v4/admin/data_management/uploads/checksum")); n != 1 {
		t.Errorf("fake got %d bulk PUTs in all; want the 1 of the first call", n)
	}
}

// The client sends every name a release accepts, and a name it has no
// constant for (a model of a later GitLab) as it is: it refuses no name of
// the right form.
func TestClientSendsEveryReleaseName(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"18.7", "18.8", "18.11", "19.2"} {
		srv, client := fakeAt(t, v, 0)
		names := gitlabtest.ModelNamesOf(srv.Version())
		for _, n := range names {
			if _, _, err := client.DataManagement.List(t.Context(), n, nil); err != nil {
				t.Errorf("%s: List(%s) error = %v", v, n, err)
			}
		}
		const future = gitlabdata.ModelName("geo_future_thing_uploads")
		srv.AcceptModel(future)
		if _, _, err := client.DataManagement.List(t.Context(), future, nil); err != nil {
			t.Errorf("%s: List(%s) error = %v", v, future, err)
		}
		var want []string
		for _, n := range names {
			want = append(want, "GET /api/v4/admin/data_management/"+string(n))
		}
		if v == "18.7" {
			// Refused in plural form, then sent in singular form, which
			// the server accepts for a model it was told to accept.
			want = append(want, "GET /api/v4/admin/data_management/"+string(future), "GET /api/v4/admin/data_management/"+string(future.Singular()))
		} else {
			want = append(want, "GET /api/v4/admin/data_management/"+string(future))
		}
		if diff := cmp.Diff(want, requestsTo(srv, "/api/v4/admin/")); diff != "" {
			t.Errorf("%s: requests mismatch (-want +got):\n%s", v, diff)
		}
	}
}
