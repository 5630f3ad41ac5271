package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// securityWitness is a second server that must never be contacted: it
// counts connections (so even a refused TLS handshake shows) and requests.
type securityWitness struct {
	srv    *httptest.Server
	conns  counter
	reqs   counter
	tokens counter // requests that carried PRIVATE-TOKEN
}

func newSecurityWitness(t *testing.T, useTLS bool) *securityWitness {
	t.Helper()
	w := &securityWitness{}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.reqs.inc()
		if r.Header.Get("PRIVATE-TOKEN") != "" {
			w.tokens.inc()
		}
		t.Errorf("witness server received %s %s", r.Method, r.URL)
		serveJSON(rw, http.StatusOK, recordJSON)
	}))
	w.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			w.conns.inc()
		}
	}
	if useTLS {
		w.srv.StartTLS()
	} else {
		w.srv.Start()
	}
	t.Cleanup(w.srv.Close)
	return w
}

func (w *securityWitness) check(t *testing.T) {
	t.Helper()
	if n := w.conns.get(); n != 0 {
		t.Errorf("witness server accepted %d connections; want 0", n)
	}
	if n := w.reqs.get(); n != 0 {
		t.Errorf("witness server received %d requests; want 0", n)
	}
	if n := w.tokens.get(); n != 0 {
		t.Errorf("witness server saw PRIVATE-TOKEN %d times; want 0", n)
	}
}

// securityNoToken fails if s contains the test token.
func securityNoToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) {
		t.Errorf("%s contains the token: %q", what, s)
	}
}

// A redirect to another scheme, host or port is refused before any
// connection is made there, and the refusal is not retried.
func TestSecurityCrossOriginRedirectRefused(t *testing.T) {
	t.Parallel()
	type target struct {
		name string
		tls  bool
		// url builds the redirect target from the witness and main servers.
		url func(witness, main *httptest.Server) string
	}
	targets := []target{
		{"other port", false, func(w, _ *httptest.Server) string { return w.URL }},
		{"other scheme", true, func(w, _ *httptest.Server) string { return w.URL }},
		{"other host name, same port", false, func(_, m *httptest.Server) string {
			u, _ := url.Parse(m.URL)
			return "http://localhost:" + u.Port()
		}},
	}
	clients := []struct {
		name string
		opt  func(rt http.RoundTripper) []ClientOption
	}{
		{"default client", func(http.RoundTripper) []ClientOption { return nil }},
		{"WithHTTPClient", func(rt http.RoundTripper) []ClientOption {
			return []ClientOption{WithHTTPClient(&http.Client{Transport: rt})}
		}},
		{"WithHTTPClient that allows every redirect", func(rt http.RoundTripper) []ClientOption {
			return []ClientOption{WithHTTPClient(&http.Client{
				Transport:     rt,
				CheckRedirect: func(*http.Request, []*http.Request) error { return nil },
			})}
		}},
	}
	calls := []struct {
		call     string
		redirect int
	}{
		{"Get", http.StatusFound},
		{"ScheduleForProject", http.StatusTemporaryRedirect},
		{"RecalculateChecksums", http.StatusPermanentRedirect},
	}
	for _, tg := range targets {
		for _, cl := range clients {
			for _, cc := range calls {
				call := sdkCall(cc.call)
				t.Run(fmt.Sprintf("%s/%s/%s", tg.name, cl.name, call.name), func(t *testing.T) {
					t.Parallel()
					witness := newSecurityWitness(t, tg.tls)
					rt := newRecordingTransport(t, "")
					opts := append([]ClientOption{WithRetry(retryPolicy)}, cl.opt(rt)...)
					ts := setup(t, opts...)
					var rs callServer
					rs.mount(t, ts, call, func(w http.ResponseWriter, n int) {
						if n > 1 { // a followed "localhost" redirect lands here
							serveJSON(w, call.okCode, call.okBody)
							return
						}
						w.Header().Set("Location", tg.url(witness.srv, ts.server)+"/api/v4"+call.path)
						w.WriteHeader(cc.redirect)
					})

					err := call.do(t.Context(), ts.client)
					if !errors.Is(err, errRedirectRefused) {
						t.Fatalf("%s() error = %v; want the redirect refused", call.name, err)
					}
					if !strings.Contains(err.Error(), "refusing redirect") {
						t.Errorf("%s() error = %q; want it to mention refusing the redirect", call.name, err)
					}
					securityNoToken(t, call.name+"() error", err.Error())
					witness.check(t)
					if n := rs.attempts(); n != 1 {
						t.Errorf("main server received %d requests; want 1 (a refused redirect is not retried)", n)
					}
					if s := ts.recordedSleeps(); len(s) != 0 {
						t.Errorf("recorded sleeps = %v; want none", s)
					}
					if cl.name != "default client" {
						if diff := cmp.Diff([]string{ts.server.URL + "/api/v4" + call.path}, rt.sent()); diff != "" {
							t.Errorf("caller's Transport requests mismatch (-want +got):\n%s", diff)
						}
					}
				})
			}
		}
	}
}

// A redirect within the base URL's origin is followed with the token, and
// a 307 replays the body.
func TestSecuritySameOriginRedirectFollowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     string
		redirect int
		absolute bool
	}{
		{"GET relative", "Get", http.StatusFound, false},
		{"GET absolute", "Get", http.StatusMovedPermanently, true},
		{"POST 307", "ScheduleForProject", http.StatusTemporaryRedirect, false},
		{"PUT 308", "RecalculateChecksums", http.StatusPermanentRedirect, true},
	}
	for _, tt := range tests {
		call := sdkCall(tt.call)
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(retryPolicy))
			var rs callServer
			moved := call // the same request, at a new path
			moved.path = "/moved" + call.path
			rs.mount(t, ts, call, func(w http.ResponseWriter, _ int) {
				loc := "/api/v4" + moved.path
				if tt.absolute {
					loc = ts.server.URL + loc
				}
				w.Header().Set("Location", loc)
				w.WriteHeader(tt.redirect)
			})
			var target callServer
			target.mount(t, ts, moved, func(w http.ResponseWriter, _ int) {
				serveJSON(w, call.okCode, call.okBody)
			})
			if err := call.do(t.Context(), ts.client); err != nil {
				t.Fatalf("%s() error = %v; want the redirect followed", call.name, err)
			}
			if n, m := rs.attempts(), target.attempts(); n != 1 || m != 1 {
				t.Errorf("requests: %d to the old path, %d to the new one; want 1 and 1", n, m)
			}
			target.checkBodies(t, moved) // mount also asserted PRIVATE-TOKEN
		})
	}
}

func TestSecurityRedirectLoopStops(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	var hits counter
	ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
		n := hits.inc()
		http.Redirect(w, r, "/api/v4/admin/data_management/projects/1?hop="+strconv.Itoa(n), http.StatusFound)
	})
	_, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Fatalf("Get() error = %v; want it to stop after 10 redirects", err)
	}
	if n := hits.get(); n != 10 {
		t.Errorf("server received %d requests; want 10", n)
	}
}

func TestSecuritySameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com/other", true},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com:443/x", true},
		{"http://gitlab.example.com/api/v4/", "http://gitlab.example.com:80/x", true},
		{"https://gitlab.example.com/api/v4/", "https://GITLAB.example.com/x", true},
		{"https://gitlab.example.com/api/v4/", "http://gitlab.example.com/x", false},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com:8443/x", false},
		{"http://gitlab.example.com/api/v4/", "http://gitlab.example.com:443/x", false},
		{"https://gitlab.example.com/api/v4/", "https://evil.example.com/x", false},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com.evil.example/x", false},
		{"http://127.0.0.1:8080/api/v4/", "http://127.0.0.1:8081/x", false},
		{"http://127.0.0.1:8080/api/v4/", "http://localhost:8080/x", false},
	}
	for _, tt := range tests {
		a, err := url.Parse(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := url.Parse(tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%q, %q) = %t; want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

// Printing the Client or its services, with any verb, never shows the token.
func TestSecurityClientFormatting(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://gitlab.example.com", testToken, WithUserAgent("mytool/1.0"))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	values := map[string]any{
		"*Client":                        c,
		"Client":                         *c,
		"credentials":                    c.auth,
		"*DataManagementService":         c.DataManagement,
		"DataManagementService":          *c.DataManagement,
		"*ProjectRepositoryStorageMoves": c.ProjectRepositoryStorageMoves,
		"ProjectRepositoryStorageMoves":  *c.ProjectRepositoryStorageMoves,
		"GroupRepositoryStorageMoves":    *c.GroupRepositoryStorageMoves,
		"SnippetRepositoryStorageMoves":  *c.SnippetRepositoryStorageMoves,
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			securityNoToken(t, fmt.Sprintf("Sprintf(%q, %s)", verb, name), fmt.Sprintf(verb, v))
		}
	}
	// The redaction is really what prints, not an accident of depth.
	if got := fmt.Sprint(c.auth); got != "[redacted]" {
		t.Errorf("Sprint(credentials) = %q; want [redacted]", got)
	}
	if got := fmt.Sprintf("%#v", c.auth); got != "[redacted]" {
		t.Errorf("Sprintf(%%#v, credentials) = %q; want [redacted]", got)
	}
}

// No failure puts the token in an error string, in its %+v or %#v form, or
// in APIError.Path.
func TestSecurityErrorsNeverContainToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"401", func(t *testing.T) error {
			return securityGetWith(t, func(w http.ResponseWriter, _ *http.Request) {
				serveJSON(w, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
			})
		}},
		{"401 expired token", func(t *testing.T) error {
			fx := loadFixture(t, "error_token_expired.json")
			return securityGetWith(t, func(w http.ResponseWriter, _ *http.Request) { fx.write(w, http.StatusUnauthorized, "", nil) })
		}},
		{"404", func(t *testing.T) error {
			return securityGetWith(t, func(w http.ResponseWriter, _ *http.Request) {
				serveJSON(w, http.StatusNotFound, `{"message":"404 1 Not Found"}`)
			})
		}},
		{"502 HTML", func(t *testing.T) error {
			fx := loadFixture(t, "error_bad_gateway.html")
			return securityGetWith(t, func(w http.ResponseWriter, _ *http.Request) { fx.write(w, http.StatusBadGateway, "", nil) })
		}},
		{"error body echoing request headers", func(t *testing.T) error {
			// A misconfigured proxy that dumps the request it got.
			return securityGetWith(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_ = r.Header.Write(w)
			})
		}},
		{"undecodable 200", func(t *testing.T) error {
			return securityGetWith(t, func(w http.ResponseWriter, _ *http.Request) {
				serveJSON(w, http.StatusOK, `{"record_identifier":`)
			})
		}},
		{"transport error to a closed server", func(t *testing.T) error {
			srv := httptest.NewServer(http.NotFoundHandler())
			base := srv.URL
			srv.Close()
			c, err := NewClient(base, testToken, WithRetry(RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatalf("NewClient() error = %v", err)
			}
			_, _, err = c.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
			return err
		}},
		{"cancelled context", func(t *testing.T) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			ts := setup(t)
			_, _, err := ts.client.DataManagement.Get(ctx, ModelProjects, IntRecordID(1))
			return err
		}},
		{"refused redirect", func(t *testing.T) error {
			witness := newSecurityWitness(t, false)
			err := securityGetWith(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, witness.srv.URL+"/api/v4/admin/data_management/projects/1", http.StatusFound)
			})
			witness.check(t)
			return err
		}},
		{"refused next link", func(t *testing.T) error {
			witness := newSecurityWitness(t, false)
			ts := setup(t)
			ts.mux.HandleFunc("/admin/data_management/projects", func(w http.ResponseWriter, r *http.Request) {
				next := witness.srv.URL + "/api/v4/admin/data_management/projects?cursor=eyJpZCI6IjIiLCJfa2QiOiJuIn0%3D&pagination=keyset"
				w.Header().Set("Link", "<"+next+`>; rel="next"`)
				serveJSON(w, http.StatusOK, "["+recordJSON+"]")
			})
			var last error
			for _, err := range ts.client.DataManagement.All(t.Context(), ModelProjects, nil) {
				last = err
			}
			witness.check(t)
			if last == nil || !strings.Contains(last.Error(), "refusing next link") {
				t.Errorf("All() error = %v; want the next link refused", last)
			}
			return last
		}},
		{"token with a line break", func(t *testing.T) error {
			_, err := NewClient("https://gitlab.example.com", testToken+"\n")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.run(t)
			if err == nil {
				t.Fatal("error = nil; want a failure")
			}
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				securityNoToken(t, fmt.Sprintf("Sprintf(%q, err)", verb), fmt.Sprintf(verb, err))
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				securityNoToken(t, "APIError.Path", apiErr.Path)
				securityNoToken(t, "APIError.Message", apiErr.Message)
			}
		})
	}
}

// securityGetWith serves GET /admin/data_management/projects/1 with h and
// returns the error of a Get through a client with retries disabled.
func securityGetWith(t *testing.T, h http.HandlerFunc) error {
	t.Helper()
	ts := setup(t)
	ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		h(w, r)
	})
	_, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	return err
}

// The token travels only in the PRIVATE-TOKEN header: never in a URL.
func TestSecurityTokenNeverInURL(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	var (
		mu   sync.Mutex
		seen []string
	)
	ts.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI)
		mu.Unlock()
		testHeader(t, r, "PRIVATE-TOKEN", testToken)
		securityNoToken(t, "request URI", r.RequestURI)
		securityNoToken(t, "Referer", r.Header.Get("Referer"))
		for _, key := range []string{"private_token", "access_token"} {
			if r.URL.Query().Has(key) {
				t.Errorf("request %s has a %s query parameter", r.RequestURI, key)
			}
		}
		_, _ = io.Copy(io.Discard, r.Body)
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		list := last == "projects" || strings.HasSuffix(last, "repository_storage_moves")
		switch {
		case r.Method == http.MethodPost && last == "project_repository_storage_moves":
			serveJSON(w, http.StatusAccepted, `{"message":"202 Accepted"}`)
		case r.Method == http.MethodPost:
			serveJSON(w, http.StatusCreated, `{"id":1,"state":"scheduled"}`)
		case r.Method == http.MethodPut:
			serveJSON(w, http.StatusOK, `{"status":"success","message":"Batch update job has been successfully enqueued."}`)
		case !list:
			serveJSON(w, http.StatusOK, `{"id":1}`)
		case r.URL.Query().Get("pagination") == "keyset" && r.URL.Query().Get("cursor") == "":
			// A first keyset page with a same-origin next link.
			w.Header().Set("Link", "<"+ts.server.URL+"/api/v4/admin/data_management/projects?cursor=eyJpZCI6IjEiLCJfa2QiOiJuIn0%3D&pagination=keyset&per_page=1>; rel=\"next\"")
			serveJSON(w, http.StatusOK, `[{"record_identifier":1,"model_class":"Project"}]`)
		default:
			serveJSON(w, http.StatusOK, `[]`)
		}
	})
	ctx, c := t.Context(), ts.client
	steps := []func() error{
		func() error {
			_, _, err := c.DataManagement.List(ctx, ModelProjects, &ListModelRecordsOptions{
				ChecksumState: ChecksumStateFailed, Identifiers: []RecordID{IntRecordID(1), IntRecordID(2)},
				Pagination: PaginationOffset, PerPage: 5, Page: 2,
			})
			return err
		},
		func() error {
			for _, err := range c.DataManagement.All(ctx, ModelProjects, &ListModelRecordsOptions{PerPage: 1}) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		func() error {
			_, _, err := c.DataManagement.Get(ctx, ModelProjects, CompositeRecordID("12", "34"))
			return err
		},
		func() error {
			_, _, err := c.DataManagement.RecalculateChecksum(ctx, ModelProjects, IntRecordID(1))
			return err
		},
		func() error {
			_, _, err := c.DataManagement.RecalculateChecksums(ctx, ModelProjects, RecalculateChecksumsRequest{AllowAllRecords: true, SkipIdentifierCheck: true, Identifiers: []RecordID{IntRecordID(1)}})
			return err
		},
		func() error {
			_, _, err := c.ProjectRepositoryStorageMoves.List(ctx, &ListStorageMovesOptions{Page: 1, PerPage: 20})
			return err
		},
		func() error {
			_, _, err := c.ProjectRepositoryStorageMoves.GetForProject(ctx, 13, 1)
			return err
		},
		func() error {
			_, _, err := c.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, 13, ScheduleStorageMoveRequest{})
			return err
		},
		func() error {
			_, err := c.ProjectRepositoryStorageMoves.ScheduleAll(ctx, ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: String("storage2")})
			return err
		},
		func() error {
			_, _, err := c.GroupRepositoryStorageMoves.ListForGroup(ctx, 283, nil)
			return err
		},
		func() error {
			_, _, err := c.SnippetRepositoryStorageMoves.ScheduleForSnippet(ctx, 65, ScheduleStorageMoveRequest{DestinationStorageName: String("gitaly-1")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Errorf("step %d error = %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// 11 steps, and All follows one next link.
	if len(seen) != 12 {
		t.Errorf("server received %d requests; want 12:\n%s", len(seen), strings.Join(seen, "\n"))
	}
}
