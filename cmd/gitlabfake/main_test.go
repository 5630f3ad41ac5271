package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/google/go-cmp/cmp"
)

// startRun runs the command in the background and returns the base URL
// and token it printed, and stop, which cancels it and returns its result.
func startRun(t *testing.T, args ...string) (baseURL, token string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() && (baseURL == "" || token == "") {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "gitlabfake serving "); ok {
			baseURL, _, _ = strings.Cut(rest, "/api/v4")
		}
		if rest, ok := strings.CutPrefix(line, "admin token: "); ok {
			token = rest
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if baseURL == "" || token == "" {
		cancel()
		t.Fatalf("run(%q) printed no URL and token; result %v", args, <-done)
	}
	return baseURL, token, func() error {
		cancel()
		return <-done
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	base, token, stop := startRun(t, "-listen", "127.0.0.1:0", "-token", "glpat-fixed", "-step", "0",
		"-records", "10", "-projects", "3", "-latency", "1ms", "-seed", "7")
	if token != "glpat-fixed" {
		t.Errorf("printed token = %q; want glpat-fixed", token)
	}
	client, err := gitlabdata.NewClient(base, token, gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient(%q) error = %v", base, err)
	}
	// Demo data plus the extra records: 10 per documented model.
	_, resp, err := client.DataManagement.List(t.Context(), gitlabdata.ModelCISecureFiles, nil)
	if err != nil {
		t.Fatalf("List(ci_secure_files) error = %v", err)
	}
	if resp.Total != 10 {
		t.Errorf("ci_secure_files total = %d; want 10", resp.Total)
	}
	states := map[gitlabdata.ChecksumState]int{}
	for r, err := range client.DataManagement.All(t.Context(), gitlabdata.ModelCISecureFiles, nil) {
		if err != nil {
			t.Fatalf("All error = %v", err)
		}
		states[r.ChecksumInformation.ChecksumState]++
	}
	if diff := cmp.Diff(map[gitlabdata.ChecksumState]int{"succeeded": 8, "pending": 1, "failed": 1}, states); diff != "" {
		t.Errorf("extra record states mismatch (-want +got):\n%s", diff)
	}
	moves, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil || len(moves) != 6 {
		t.Errorf("demo project moves = %d, %v; want 6", len(moves), err)
	}
	if err := stop(); err != nil {
		t.Errorf("run after cancel = %v; want nil", err)
	}
	if _, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil); err == nil {
		t.Errorf("the server still answers after run returned")
	}
}

func TestRunWithoutDemoInLegacyMode(t *testing.T) {
	t.Parallel()
	base, token, stop := startRun(t, "-listen", "127.0.0.1:0", "-demo=false", "-legacy", "-step", "10ms")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run after cancel = %v; want nil", err)
		}
	}()
	client, err := gitlabdata.NewClient(base, token, gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient error = %v", err)
	}
	moves, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil || len(moves) != 0 {
		t.Errorf("moves without demo = %v, %v; want none", moves, err)
	}
	if _, _, err := client.DataManagement.List(t.Context(), "lfs_object", nil); err != nil {
		t.Errorf("legacy List(lfs_object) error = %v", err)
	}
	// The SDK would retry with the singular form; the raw route refuses.
	_, err = client.Do(t.Context(), "GET", "admin/data_management/lfs_objects", nil, nil, nil)
	var apiErr *gitlabdata.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("legacy List(lfs_objects) error = %v; want 400", err)
	}
}

func TestRunArgumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"bad duration", []string{"-latency", "soon"}, `invalid value "soon" for flag -latency`},
		{"negative records", []string{"-records", "-1"}, "-records must not be negative"},
		{"negative projects", []string{"-projects", "-2"}, "-projects, -groups and -snippets must not be negative"},
		{"negative groups", []string{"-groups", "-1"}, "-projects, -groups and -snippets must not be negative"},
		{"negative snippets", []string{"-snippets", "-1"}, "-projects, -groups and -snippets must not be negative"},
		{"negative step", []string{"-step", "-1s"}, "-latency and -step must not be negative"},
		{"extra argument", []string{"serve"}, `unexpected argument at position 1: flags come before any other word (see -h)`},
		{"token after a stray word is not echoed", []string{"-seed", "1", "extra", "-token", "glpat-secret"}, `unexpected argument at position 3:`},
		{"bad address", []string{"-listen", "127.0.0.1:notaport"}, "listen tcp"},
		{"bad version", []string{"-version", "18.2"}, "gitlabtest: version 18.2.0-ee has no Data management API (it first shipped in 18.3)"},
		{"legacy and version", []string{"-legacy", "-version", "18.9"}, "-legacy and -version exclude each other"},
		{"bad external URL", []string{"-external-url", "gitlab.example.com"}, `-external-url "gitlab.example.com": want a URL such as https://gitlab.example.com`},
		{"negative retry-after", []string{"-retry-after", "-1"}, "-retry-after must not be negative"},
		{"negative geo secondaries", []string{"-geo-secondaries", "-1"}, "-geo-secondaries must not be negative"},
		{"no geo with secondaries", []string{"-no-geo", "-geo-secondaries", "2"}, "-no-geo and -geo-secondaries exclude each other: an instance without Geo has no Geo sites"},
		{"fleet and demo", []string{"-fleet", "-demo"}, "-fleet and -demo exclude each other: -fleet seeds its own instance"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := run(ctx, tt.args, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: run(%q) error = %v; want one containing %q", tt.name, tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "glpat-secret") {
			t.Errorf("%s: run() error %q echoes the token", tt.name, err)
		}
	}
	var help strings.Builder
	if err := run(t.Context(), []string{"-h"}, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) error = %v; want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"GET  /admin/data_management/:model_name ", "POST /projects/:id/repository_storage_moves ",
		"POST   /-/fake/faults ", "PUT    /-/fake/feature_flags/NAME ", "GET    /-/fake/requests ",
		"moves of project 25 (platform/legacy-monolith) end \"failed\"", "-external-url string",
		"-groups int", "-snippets int", "GET  /user ", "GET  /groups/:id ", "PUT    /-/fake/groups/ID ",
		"-geo-secondaries int", "(default 1 with -demo, 0 without)", "GET  /geo_sites/status ", "GET  /geo_sites/:id/status ",
		"PUT    /-/fake/geo/sites/ID/status ", "DELETE /-/fake/geo/sites/ID/status ", "the demo adds one simulated secondary (site 2)",
		"-fleet\n", "(turns -demo off)", "GET  /projects/:id/forks ", "GET  /sidekiq/queue_metrics ", "GET    /-/fake/storages ",
		"PUT    /-/fake/sidekiq/queues/NAME ", "DELETE /-/fake/sidekiq/queues/NAME ", "Fleet demo (-fleet, instead of -demo)",
	} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, help.String())
		}
	}
}

func TestRunVersionExternalURLAndControlPlane(t *testing.T) {
	t.Parallel()
	base, token, stop := startRun(t, "-listen", "127.0.0.1:0", "-step", "0", "-version", "18.5.2",
		"-external-url", "https://gitlab.example.com", "-retry-after", "0")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run after cancel = %v; want nil", err)
		}
	}()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s error = %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, body := get("/api/v4/version"); !strings.HasPrefix(body, `{"version":"18.5.2-ee","revision":"`) {
		t.Errorf("GET /version = %s; want 18.5.2-ee", body)
	}
	resp, _ := get("/api/v4/admin/data_management/lfs_object?per_page=2")
	if l := resp.Header.Get("Link"); !strings.HasPrefix(l, "<https://gitlab.example.com/api/v4/admin/data_management/lfs_object?") {
		t.Errorf("Link = %q; want the external URL", l)
	}
	// A scoped fault through the control plane, with Retry-After 0.
	fault := `{"method":"GET","path":"/api/v4/project_repository_storage_moves","status":429,"count":1,"retry_after":0}`
	cresp, err := http.Post(base+"/-/fake/faults", "application/json", strings.NewReader(fault))
	if err != nil {
		t.Fatalf("POST /-/fake/faults error = %v", err)
	}
	cresp.Body.Close()
	if cresp.StatusCode != 201 {
		t.Fatalf("POST /-/fake/faults = %d; want 201", cresp.StatusCode)
	}
	client, err := gitlabdata.NewClient(base, token, gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 2, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatalf("NewClient error = %v", err)
	}
	moves, _, err := client.ProjectRepositoryStorageMoves.List(t.Context(), nil)
	if err != nil || len(moves) != 6 {
		t.Errorf("List after one throttled answer = %d moves, %v; want the 6 demo moves", len(moves), err)
	}
}

func TestRunSeedsContainers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-listen", "127.0.0.1:0", "-demo=false", "-step", "0", "-token", "glpat-seed",
			"-projects", "3", "-groups", "4", "-snippets", "5"}, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after cancel = %v; want nil", err)
		}
	}()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "try: ") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	// The first line that shows the token is the "admin token:" line.
	var base string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "gitlabfake serving "); ok {
			base, _, _ = strings.Cut(rest, "/api/v4")
		}
		if strings.Contains(l, "glpat-seed") {
			if l != "admin token: glpat-seed" {
				t.Errorf("first line with the token = %q; want %q", l, "admin token: glpat-seed")
			}
			break
		}
	}
	if base == "" {
		t.Fatalf("run printed no URL before the token: %q", lines)
	}
	totals := map[string]string{}
	for _, path := range []string{"projects", "groups", "snippets/all"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/v4/"+path+"?repository_storage=default", nil)
		req.Header.Set("PRIVATE-TOKEN", "glpat-seed")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s error = %v", path, err)
		}
		resp.Body.Close()
		totals[path] = resp.Header.Get("X-Total")
	}
	if diff := cmp.Diff(map[string]string{"projects": "3", "groups": "4", "snippets/all": "5"}, totals); diff != "" {
		t.Errorf("containers on default mismatch (-want +got):\n%s", diff)
	}
}

func TestRunGeoSecondaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		sites    string // X-Total of GET /geo_sites
		geoLine  string // the line about Geo sites, "" for none
		lastName string
	}{
		{"demo", nil, "2", "geo sites: the primary and 1 secondary (GET /api/v4/geo_sites)", "gitlab-secondary-1"},
		{"no demo", []string{"-demo=false"}, "1", "geo sites: the primary only (GET /api/v4/geo_sites)", "gitlab-primary"},
		{"two secondaries", []string{"-demo=false", "-projects", "20", "-geo-secondaries", "2"}, "3",
			"geo sites: the primary and 2 secondaries (GET /api/v4/geo_sites)", "gitlab-secondary-2"},
		{"demo without secondaries", []string{"-geo-secondaries", "0"}, "1", "geo sites: the primary only (GET /api/v4/geo_sites)", "gitlab-primary"},
		{"no geo", []string{"-no-geo"}, "0", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			args := append([]string{"-listen", "127.0.0.1:0", "-step", "0", "-token", "glpat-geo"}, tt.args...)
			go func() {
				err := run(ctx, args, pw, io.Discard)
				pw.CloseWithError(io.EOF)
				done <- err
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("run after cancel = %v; want nil", err)
				}
			}()
			var lines []string
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.HasPrefix(sc.Text(), "try: ") {
					break
				}
			}
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			var base, geoLine string
			for _, l := range lines {
				if rest, ok := strings.CutPrefix(l, "gitlabfake serving "); ok {
					base, _, _ = strings.Cut(rest, "/api/v4")
				}
				if strings.HasPrefix(l, "geo sites:") {
					geoLine = l
				}
			}
			if base == "" {
				t.Fatalf("run(%q) printed no URL: %q", args, lines)
			}
			if geoLine != tt.geoLine {
				t.Errorf("run(%q) Geo line = %q; want %q", args, geoLine, tt.geoLine)
			}
			req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/v4/geo_sites", nil)
			req.Header.Set("PRIVATE-TOKEN", "glpat-geo")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET /geo_sites error = %v", err)
			}
			var sites []struct {
				Name string `json:"name"`
			}
			err = json.NewDecoder(resp.Body).Decode(&sites)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("GET /geo_sites: %v", err)
			}
			if got := resp.Header.Get("X-Total"); got != tt.sites {
				t.Errorf("run(%q): GET /geo_sites X-Total = %q; want %s", args, got, tt.sites)
			}
			var last string
			if len(sites) > 0 {
				last = sites[len(sites)-1].Name
			}
			if last != tt.lastName {
				t.Errorf("run(%q): last site %q; want %q", args, last, tt.lastName)
			}
		})
	}
}

// getJSON sends an administrator's GET to base+path and decodes the answer
// into out; it returns the answer's headers.
func getJSON(t *testing.T, base, token, path string, out any) http.Header {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s error = %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.Header
}

// gitlabfake -fleet serves the four storages of the fleet demo, and the
// usage the control plane reports is what the projects listing adds up to.
func TestRunFleet(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-listen", "127.0.0.1:0", "-step", "0", "-token", "glpat-fleet", "-fleet"}, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after cancel = %v; want nil", err)
		}
	}()
	var base, fleetLine string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, "gitlabfake serving "); ok {
			base, _, _ = strings.Cut(rest, "/api/v4")
		}
		if strings.HasPrefix(l, "fleet: ") {
			fleetLine = l
		}
		if strings.HasPrefix(l, "try: ") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		t.Fatal("run -fleet printed no URL")
	}

	var storages []gitlabtest.StorageUsage
	getJSON(t, base, "", "/-/fake/storages", &storages)
	var names, parts []string
	for _, st := range storages {
		names = append(names, st.Name)
		parts = append(parts, st.Name+" "+usedPercent(st))
		if st.Weight <= 0 || st.CapacityBytes < 1<<30 {
			t.Errorf("storage %s: weight %d, capacity %d; want a weight above 0 and a capacity of GiBs", st.Name, st.Weight, st.CapacityBytes)
		}
		// The drain's view: the repository sizes of the storage's projects.
		var sum int64
		for page := 1; page != 0; {
			var rows []struct {
				Statistics struct {
					RepositorySize int64 `json:"repository_size"`
				} `json:"statistics"`
			}
			h := getJSON(t, base, "glpat-fleet", "/api/v4/projects?statistics=true&per_page=100&repository_storage="+st.Name+"&page="+strconv.Itoa(page), &rows)
			for _, r := range rows {
				sum += r.Statistics.RepositorySize
			}
			page, _ = strconv.Atoi(h.Get("X-Next-Page"))
		}
		if sum != st.UsedBytes {
			t.Errorf("storage %s: used_bytes %d, but its projects sum to %d", st.Name, st.UsedBytes, sum)
		}
	}
	if diff := cmp.Diff([]string{"default", "storage2", "storage3", "storage4"}, names); diff != "" {
		t.Errorf("storages mismatch (-want +got):\n%s", diff)
	}
	if want := "fleet: " + strings.Join(parts, ", ") + " used (GET " + base + "/-/fake/storages)"; fleetLine != want {
		t.Errorf("fleet line = %q; want %q", fleetLine, want)
	}
	var weights struct {
		Weighted map[string]int `json:"repository_storages_weighted"`
	}
	getJSON(t, base, "glpat-fleet", "/api/v4/application/settings", &weights)
	if diff := cmp.Diff(map[string]int{"default": 10, "storage2": 25, "storage3": 100, "storage4": 100}, weights.Weighted); diff != "" {
		t.Errorf("repository_storages_weighted mismatch (-want +got):\n%s", diff)
	}
	// No demo data: no moves, so an empty default queue.
	var moves []any
	getJSON(t, base, "glpat-fleet", "/api/v4/project_repository_storage_moves", &moves)
	var queues map[string]map[string]map[string]int
	getJSON(t, base, "glpat-fleet", "/api/v4/sidekiq/queue_metrics", &queues)
	if want := map[string]map[string]int{"default": {"backlog": 0, "latency": 0}, "mailers": {"backlog": 0, "latency": 0}}; len(moves) != 0 || !cmp.Equal(want, queues["queues"]) {
		t.Errorf("moves %v, queues %v; want none and empty queues", moves, queues)
	}
}

// The help text's figures of the fleet demo are the fleet's.
func TestFleetNotesMatchTheFleet(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(gitlabtest.WithFleetDemo())
	defer srv.Close()
	for _, st := range srv.Storages() {
		line := fmt.Sprintf("  - %-10s weight %-4s capacity %d GiB, %5s used", st.Name, strconv.Itoa(st.Weight)+",", st.CapacityBytes>>30, usedPercent(st))
		if !strings.Contains(fleetNotes, line) {
			t.Errorf("the fleet notes lack %q:\n%s", line, fleetNotes)
		}
	}
	// Count projects, fork networks and the largest network's size.
	projects, networks := 0, map[int64]int64{}
	var largest gitlabtest.Project
	for id := int64(1); ; id++ {
		p, ok := srv.Project(id)
		if !ok {
			break
		}
		projects++
		if p.RepositorySize > largest.RepositorySize {
			largest = p
		}
		root := p
		for root.ForkedFromID != 0 {
			root, _ = srv.Project(root.ForkedFromID)
		}
		if root.ID != p.ID || p.ForkedFromID != 0 {
			networks[root.ID] += p.RepositorySize
		}
	}
	var biggest int64
	for root, bytes := range networks {
		p, _ := srv.Project(root)
		networks[root] = bytes + p.RepositorySize
		biggest = max(biggest, networks[root])
	}
	text := strings.Join(strings.Fields(fleetNotes), " ")
	for _, want := range []string{
		fmt.Sprintf("%d projects in 12 groups", projects),
		fmt.Sprintf("(%s/%s, the largest)", largest.Namespace, largest.Path),
		fmt.Sprintf("%d fork networks", len(networks)),
		fmt.Sprintf("%d MiB, on default", biggest>>20),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the fleet notes lack %q:\n%s", want, fleetNotes)
		}
	}
	if biggest%(1<<20) != 0 || largest.RepositorySize != 1536<<20 {
		t.Errorf("largest network %d bytes, largest project %d bytes; want whole MiB and 1.5 GiB", biggest, largest.RepositorySize)
	}
}
