package gitlabdata

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       ServerVersion
	}{
		{
			name: "enterprise by suffix",
			body: `{"version":"18.9.0-ee","revision":"6d3ad9b6b2a"}`,
			want: ServerVersion{Version: "18.9.0-ee", Revision: "6d3ad9b6b2a", Major: 18, Minor: 9, Enterprise: true},
		},
		{
			name: "enterprise field wins",
			body: `{"version":"18.10.0-pre","revision":"f00","kas":{"enabled":false},"enterprise":true}`,
			want: ServerVersion{Version: "18.10.0-pre", Revision: "f00", Major: 18, Minor: 10, Enterprise: true},
		},
		{
			name: "community edition",
			body: `{"version":"17.11.3","revision":"abc","enterprise":false}`,
			want: ServerVersion{Version: "17.11.3", Revision: "abc", Major: 17, Minor: 11, Patch: 3},
		},
		{
			name: "release candidate",
			body: `{"version":"18.5.0-rc42-ee","revision":"r"}`,
			want: ServerVersion{Version: "18.5.0-rc42-ee", Revision: "r", Major: 18, Minor: 5, Enterprise: true},
		},
		{
			name: "unparsable",
			body: `{"version":"nightly","revision":"r"}`,
			want: ServerVersion{Version: "nightly", Revision: "r"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			ts.mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, nil)
				serveJSON(w, http.StatusOK, tc.body)
			})
			got, resp, err := ts.client.Version(t.Context())
			if err != nil {
				t.Fatalf("Version() error = %v", err)
			}
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("Version() mismatch (-want +got):\n%s", diff)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("Version() status = %d; want 200", resp.StatusCode)
			}
			if diff := cmp.Diff(&tc.want, ts.client.facts.knownVersion()); diff != "" {
				t.Errorf("cached version mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionWithoutVersionIsAnError(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ts.mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, http.StatusOK, `{}`)
	})
	if v, _, err := ts.client.Version(t.Context()); err == nil {
		t.Errorf("Version() = %+v, nil; want an error for an answer without version", v)
	}
}

func TestServerVersionAtLeast(t *testing.T) {
	t.Parallel()
	v := ServerVersion{Major: 18, Minor: 8}
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{
		{18, 8, true}, {18, 7, true}, {17, 11, true}, {18, 9, false}, {19, 0, false},
	} {
		if got := v.AtLeast(tc.major, tc.minor); got != tc.want {
			t.Errorf("18.8 AtLeast(%d, %d) = %v; want %v", tc.major, tc.minor, got, tc.want)
		}
	}
}
