// Command gitlabfake serves the gitlabtest fake GitLab over HTTP, so that
// tools and scripts in any language can be tried against the Data
// management, repository storage moves and Geo sites APIs without a GitLab
// instance.
//
// Usage:
//
//	go run ./cmd/gitlabfake -listen 127.0.0.1:8080 -version 18.9
//
// It prints the URL and the administrator's token, seeds the demo instance
// (unless -demo=false, or -fleet, which seeds four unevenly filled
// storages instead), and runs until interrupted (SIGINT or SIGTERM).
// Run it with -h for the flags, every endpoint it serves, the control
// plane under /-/fake/ and the demo data's deliberate failures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "gitlabfake:", err)
		os.Exit(2)
	}
}

// demoNotes describes the demo instance's deliberate failures.
const demoNotes = `Demo data (-demo, the default): storages default (weight 100), storage2 (50) and
storage3 (0); 30 projects (25 on default), 5 groups, 5 snippets; about 330 Data
management records in ten models that every version serves (by their singular
names on 18.3-18.7). Deliberate failures:
  - moves of project 25 (platform/legacy-monolith) end "failed" with a Gitaly error;
  - moves of project 30 (data-science/large-datasets) end "cleanup failed";
  - seeded moves include failed and "cleanup failed" ones, with error_message;
  - failed records (with checksum_failure) fail again when re-verified;
  - records in state started or pending advance with the clock (-step).
Geo: site 1 is the primary; the demo adds one simulated secondary (site 2), fully
synced and verified (-geo-secondaries sets another number); override a status
with PUT /-/fake/geo/sites/ID/status.`

// fleetNotes describes the fleet demo (-fleet).
const fleetNotes = `Fleet demo (-fleet, instead of -demo): four storages, filled unevenly for tools that
rebalance or drain them (capacities and usage: GET /-/fake/storages):
  - default    weight 10,  capacity 10 GiB, 89.8% used;
  - storage2   weight 25,  capacity 10 GiB, 75.0% used;
  - storage3   weight 100, capacity 12 GiB, 29.9% used;
  - storage4   weight 100, capacity 16 GiB,  9.9% used.
148 projects in 12 groups, of 5 MiB to 1.5 GiB (platform/monorepo, the largest), and 6
fork networks of 2 to 6 projects, each on one storage, 4 of them on default and storage2
(the largest, platform/api-gateway and its 4 forks, 1475 MiB, on default). The fleet is
the same on every run; Sidekiq's default queue counts the storage moves waiting to start.`

// usage prints the help: flags, endpoints, control plane, demo data.
func usage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: gitlabfake [flags]\n\nA fake GitLab (package gitlabtest) for trying tools without an instance.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nGitLab endpoints (under /api/v4; the administrator's token in PRIVATE-TOKEN\nor Authorization: Bearer):\n%s\n", indent(gitlabtest.APIEndpoints))
		fmt.Fprintf(w, "\nControl plane (no token; only for clients of this listener, not through a proxy):\n%s\n", indent(gitlabtest.ControlEndpoints))
		fmt.Fprintf(w, "\nFor example, make the next GET of a project listing answer 429 with Retry-After: 0:\n"+
			"  curl -X POST -d '{\"method\":\"GET\",\"path\":\"/api/v4/projects\",\"status\":429,\"count\":1,\"retry_after\":0}' URL/-/fake/faults\n")
		fmt.Fprintf(w, "\n%s\n", demoNotes)
		fmt.Fprintf(w, "\n%s\n", fleetNotes)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// run parses args, serves until ctx ends, and then shuts the server down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gitlabfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	version := fs.String("version", gitlabtest.NewestVersion.String(), "GitLab version to emulate, such as 18.5 (18.3-18.7: singular names, integer states), 18.9 (plural names, feature flag), 18.10 to 19.1 (more names each release, no flag) or 19.2 (the newest: 44 names, granular tokens)")
	legacy := fs.Bool("legacy", false, "the same as -version 18.7")
	externalURL := fs.String("external-url", "", "GitLab's external URL, used in Link headers and web_url (default: the request's host)")
	noGeo := fs.Bool("no-geo", false, "an instance without Geo: no checksum_information, checksum recalculation refused, no Geo sites")
	geoSecondaries := fs.Int("geo-secondaries", 0, "simulated Geo secondary sites after the primary (default 1 with -demo, 0 without)")
	retryAfter := fs.Int("retry-after", 1, "Retry-After seconds of a throttled (429) answer")
	demo := fs.Bool("demo", true, "seed the demo instance")
	fleet := fs.Bool("fleet", false, "seed the fleet demo instead: four storages filled to 90, 75, 30 and 10%, with fork networks (turns -demo off)")
	records := fs.Int("records", 0, "extra records per model of the version")
	projects := fs.Int("projects", 0, `extra projects on the "default" storage`)
	groups := fs.Int("groups", 0, `extra groups with their wikis on the "default" storage`)
	snippets := fs.Int("snippets", 0, `extra snippets with their repositories on the "default" storage`)
	latency := fs.Duration("latency", 0, "delay added to every request")
	step := fs.Duration("step", 2*time.Second, "interval of the background clock (0 disables it)")
	token := fs.String("token", "", "administrator token (default: random)")
	seed := fs.Uint64("seed", 0, "seed for random choices (default: random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// Not echoed: the words after a misplaced one may be a token.
		return fmt.Errorf("unexpected argument at position %d: flags come before any other word (see -h)", len(args)-fs.NArg()+1)
	}
	switch {
	case *records < 0:
		return fmt.Errorf("-records must not be negative")
	case *projects < 0 || *groups < 0 || *snippets < 0:
		return fmt.Errorf("-projects, -groups and -snippets must not be negative")
	case *latency < 0 || *step < 0:
		return fmt.Errorf("-latency and -step must not be negative")
	case *retryAfter < 0:
		return fmt.Errorf("-retry-after must not be negative")
	case *geoSecondaries < 0:
		return fmt.Errorf("-geo-secondaries must not be negative")
	case *noGeo && *geoSecondaries > 0:
		return fmt.Errorf("-no-geo and -geo-secondaries exclude each other: an instance without Geo has no Geo sites")
	case *legacy && isFlagSet(fs, "version"):
		return fmt.Errorf("-legacy and -version exclude each other")
	case *fleet && *demo && isFlagSet(fs, "demo"):
		return fmt.Errorf("-fleet and -demo exclude each other: -fleet seeds its own instance")
	}
	ver, err := gitlabtest.ParseVersion(*version)
	if err != nil {
		return err
	}
	if *legacy {
		ver = gitlabtest.Version{Major: 18, Minor: 7}
	}
	if *externalURL != "" {
		if u, err := url.Parse(*externalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-external-url %q: want a URL such as https://gitlab.example.com", *externalURL)
		}
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	opts := []gitlabtest.ServerOption{
		gitlabtest.WithListener(l), gitlabtest.WithLatency(*latency), gitlabtest.WithStepInterval(*step),
		gitlabtest.WithVersion(ver), gitlabtest.WithRetryAfter(*retryAfter),
	}
	switch {
	case *fleet:
		opts = append(opts, gitlabtest.WithFleetDemo())
	case *demo:
		opts = append(opts, gitlabtest.WithDemoData())
	}
	if *externalURL != "" {
		opts = append(opts, gitlabtest.WithExternalURL(*externalURL))
	}
	if *noGeo {
		opts = append(opts, gitlabtest.WithoutGeo())
	}
	if isFlagSet(fs, "geo-secondaries") {
		opts = append(opts, gitlabtest.WithGeoSecondaries(*geoSecondaries))
	}
	if *token != "" {
		opts = append(opts, gitlabtest.WithAdminToken(*token))
	}
	if isFlagSet(fs, "seed") {
		opts = append(opts, gitlabtest.WithSeed(*seed))
	}
	if *projects > 0 {
		opts = append(opts, gitlabtest.WithProjects(*projects))
	}
	srv := gitlabtest.NewServer(opts...)
	defer srv.Close()
	srv.AddGroups(*groups, "default")
	srv.AddSnippets(*snippets, "default")
	if n := *records; n > 0 {
		for _, model := range gitlabtest.ModelNames(gitlabtest.EraGranular) {
			// Stores are named by the plural; the singular era finds them
			// by the singular name. Mostly verified records, with some
			// pending and failed ones.
			srv.AddRecords(model, n-n/5, gitlabdata.ChecksumStateSucceeded)
			srv.AddRecords(model, n/10, gitlabdata.ChecksumStatePending)
			srv.AddRecords(model, n/5-n/10, gitlabdata.ChecksumStateFailed)
		}
	}

	fmt.Fprintf(stdout, "gitlabfake serving %s/api/v4 as GitLab %s\n", srv.URL(), srv.Version())
	fmt.Fprintf(stdout, "admin token: %s\n", srv.Token())
	fmt.Fprintf(stdout, "control plane: %s/-/fake/ (see -h)\n", srv.URL())
	switch sites := len(srv.GeoSites()); sites {
	case 0:
	case 1:
		fmt.Fprintln(stdout, "geo sites: the primary only (GET /api/v4/geo_sites)")
	case 2:
		fmt.Fprintln(stdout, "geo sites: the primary and 1 secondary (GET /api/v4/geo_sites)")
	default:
		fmt.Fprintf(stdout, "geo sites: the primary and %d secondaries (GET /api/v4/geo_sites)\n", sites-1)
	}
	if *fleet {
		var parts []string
		for _, st := range srv.Storages() {
			parts = append(parts, fmt.Sprintf("%s %s", st.Name, usedPercent(st)))
		}
		fmt.Fprintf(stdout, "fleet: %s used (GET %s/-/fake/storages)\n", strings.Join(parts, ", "), srv.URL())
	}
	if host, _, err := net.SplitHostPort(*listen); err == nil && !isLoopback(host) {
		fmt.Fprintf(stdout, "warning: listening on %s, not loopback: anyone who reaches it can use the control plane, which needs no token\n", *listen)
	}
	fmt.Fprintf(stdout, "try: curl -H 'PRIVATE-TOKEN: %s' %s/api/v4/project_repository_storage_moves\n", srv.Token(), srv.URL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "gitlabfake stopping")
	return nil
}

// usedPercent is how full a storage is, as the help text writes it.
func usedPercent(st gitlabtest.StorageUsage) string {
	if st.CapacityBytes <= 0 {
		return "?%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(st.UsedBytes)/float64(st.CapacityBytes))
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
