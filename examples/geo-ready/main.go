// Command geo-ready is a go/no-go gate before a Geo failover that runs while
// the primary is up: it reads the primary's failed checksums through the
// Data management API, and every site's status through the Geo sites API,
// and checks each secondary's health, freshness, replication lag, event-log
// cursor, configuration and, for every data type, its sync and
// verification. It only reads (GET requests).
//
//	go run ./examples/geo-ready                                           # the embedded demo: no-go
//	go run ./examples/geo-ready -exceptions examples/geo-ready/demo-exceptions.json   # go
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… go run ./examples/geo-ready -final
//
// Run with -h for every flag, the exceptions file and the exit codes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
)

// Exit codes.
const (
	exitGo        = 0
	exitCannotRun = 1
	exitBadFlags  = 2
	exitNoGo      = 3
)

func main() {
	os.Exit(run(exampleenv.Interruptible(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: geo-ready [flags]

A go/no-go gate before a Geo failover, run while the primary is up (GitLab's
own promotion-preflight-checks needs the primary down). It only reads:
  - the primary: failed checksums of every Data management model of its
    release (and its own checksum_failed counts per data type);
  - each secondary (GET /geo_sites/status): healthy; status fresh
    (-max-status-age, on GitLab's clock); database replication lag
    (-max-lag); event-log cursor behind the primary (-max-events-behind;
    a cursor time of 0 is unknown, not 50 years); storage shards match;
    same version and revision as the primary; its OAuth application; and
    for every data type: registry rows against the primary's count (when
    the site syncs everything), synced (-min-synced), verified
    (-min-verified), and no failed or verification-failed item. An empty
    data type passes; one with no counts is "not replicated" (a no-go with
    -final only).

The default is the check of the weeks before a failover, with the
thresholds above. -final applies GitLab's conditions right before one: lag
0, 0 events behind, 100%% synced and verified, every data type replicated.

Failures that are known and accepted go in -exceptions FILE, each with its
reason; they are reported apart and do not fail the gate, and one that
matches nothing any more is reported as stale:

%s

Talks to GITLAB_URL with GITLAB_TOKEN (an administrator's token, with the
admin_mode scope where Admin Mode is on); without GITLAB_URL it starts an
embedded fake GitLab with demo data (a primary and one secondary; the
primary has deliberate checksum failures: no-go;
examples/geo-ready/demo-exceptions.json accepts them).

The report goes to standard output; with -json the JSON report does and
the table goes to standard error.

Exit status: 0 go, 3 no-go, 1 cannot run, 2 bad flags.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("geo-ready", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	usageTo := func(w io.Writer) {
		fmt.Fprintf(w, usage, exceptionsExample)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	final := fs.Bool("final", false, "GitLab's conditions right before a failover: lag 0, 0 events behind, 100% synced and verified, every data type replicated")
	maxAge := fs.Duration("max-status-age", 10*time.Minute, "oldest a secondary's status may be (GitLab's UI calls it stale after 10m)")
	maxLag := fs.Duration("max-lag", 5*time.Minute, "largest database replication lag (0 with -final)")
	maxEvents := fs.Int64("max-events-behind", 1000, "most Geo events a secondary's log cursor may be behind (0 with -final)")
	minSynced := fs.Float64("min-synced", 99, "least percentage of each data type synced, of the primary's count (100 with -final)")
	minVerified := fs.Float64("min-verified", 99, "least percentage of each data type verified (100 with -final)")
	exceptionsFile := fs.String("exceptions", "", "JSON file of accepted exceptions, each with its reason (see above)")
	jsonOut := fs.Bool("json", false, "print the report as JSON on standard output (messages go to standard error)")
	since := fs.String("since", "", "a previous -json report: say what is new and what got fixed since")
	metricsFile := fs.String("metrics-file", "", "write the figures to this file in Prometheus's text format (for node_exporter's textfile collector); "+
		"when the gate cannot run, gitlabdata_geo_gate_up 0 and gitlabdata_geo_ready 0")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up when the whole run takes longer")
	bad := func(format string, a ...any) int {
		usageTo(stderr)
		fmt.Fprintf(stderr, "\ngeo-ready: "+format+"\n", a...)
		return exitBadFlags
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usageTo(stdout)
			return exitGo
		}
		return bad("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument at position %d: flags come before any other word", len(args)-fs.NArg()+1)
	case *maxAge <= 0:
		return bad("-max-status-age %s: want a duration above 0, such as 10m", *maxAge)
	case *maxLag < 0:
		return bad("-max-lag %s: want 0 or more", *maxLag)
	case *maxEvents < 0:
		return bad("-max-events-behind %d: want 0 or more", *maxEvents)
	case *minSynced < 0 || *minSynced > 100:
		return bad("-min-synced %g: want a percentage, 0 to 100", *minSynced)
	case *minVerified < 0 || *minVerified > 100:
		return bad("-min-verified %g: want a percentage, 0 to 100", *minVerified)
	case *timeout <= 0:
		return bad("-timeout %s: want a duration above 0, such as 5m", *timeout)
	}
	t := Thresholds{MaxStatusAge: Duration(*maxAge), MaxLag: Duration(*maxLag), MaxEventsBehind: *maxEvents, MinSynced: *minSynced, MinVerified: *minVerified}
	mode := "weeks_before"
	if *final {
		mode = "final"
		for name, conflicts := range map[string]bool{"max-lag": *maxLag != 0, "max-events-behind": *maxEvents != 0, "min-synced": *minSynced != 100, "min-verified": *minVerified != 100} {
			if set[name] && conflicts {
				return bad("-%s does not go with -final, which applies GitLab's final conditions", name)
			}
		}
		t = Thresholds{MaxStatusAge: Duration(*maxAge), MinSynced: 100, MinVerified: 100, NotReplicatedFails: true}
	}
	exc, err := loadExceptions(*exceptionsFile)
	if err != nil {
		return bad("-exceptions %v", err)
	}
	var prev *Report
	if *since != "" {
		if prev, err = readReport(*since); err != nil {
			return bad("-since %v", err)
		}
	}
	if *metricsFile != "" {
		if err := checkWritable(*metricsFile); err != nil {
			return bad("-metrics-file %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cannotRun := func(err error) int {
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			err = errors.New("interrupted before a verdict")
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			err = fmt.Errorf("gave up after -timeout %s, before a verdict: %w", *timeout, err)
		}
		fmt.Fprintln(stderr, "geo-ready:", err)
		if *metricsFile != "" {
			if werr := writeMetrics(*metricsFile, nil, nil, time.Now()); werr != nil {
				fmt.Fprintln(stderr, "geo-ready: writing -metrics-file:", werr)
			}
		}
		return exitCannotRun
	}

	out := stdout
	if *jsonOut {
		out = stderr
	}
	var requests atomic.Int64
	env, err := exampleenv.Connect(out, nil, gitlabdata.WithUserAgent("geo-ready"),
		gitlabdata.WithHTTPClient(&http.Client{Transport: counting{http.DefaultTransport, &requests}}))
	if err != nil {
		return cannotRun(err)
	}
	defer env.Close()
	g := &gate{c: env.Client, t: t, exc: exc}
	if err := g.run(ctx); err != nil {
		return cannotRun(err)
	}
	rep := &Report{Verdict: g.verdict(), Mode: mode, CheckedAt: g.checkedAt, Instance: env.Client.BaseURL(), Version: g.version.Version,
		Primary: g.primary.Name, Secondaries: []string{}, Thresholds: t, Checks: g.checks, StaleExceptions: exc.stale(), Requests: int(requests.Load())}
	for _, s := range g.secondaries {
		rep.Secondaries = append(rep.Secondaries, s.Name)
	}
	if prev != nil {
		rep.compare(prev)
	}
	printHuman(out, rep)
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "geo-ready:", err)
			return exitCannotRun
		}
	}
	if *metricsFile != "" {
		failed := map[string]int{}
		for m, n := range g.failedRecords {
			failed[string(m)] = n
		}
		if err := writeMetrics(*metricsFile, rep, failed, time.Now()); err != nil {
			fmt.Fprintln(stderr, "geo-ready: writing -metrics-file:", err)
			return exitCannotRun
		}
	}
	if rep.Verdict != "go" {
		return exitNoGo
	}
	return exitGo
}

// counting counts the HTTP requests sent.
type counting struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}
