// Command evacuate-storage empties a Gitaly repository storage of a GitLab
// instance with package drain: it lists the group wikis, snippets and
// projects on the storage, and prints the plan (a dry run, the default), or
// with -apply moves them with a bound on the moves running at once, verifies
// each move, retries failed ones, reports stuck ones, and lists the storage
// again at the end.
//
//	go run ./examples/evacuate-storage                         # dry run against the embedded demo GitLab
//	go run ./examples/evacuate-storage -to storage2 -apply     # drain it
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… \
//	  go run ./examples/evacuate-storage -from gitaly-old -to gitaly-new -max-running 4 -journal drain.jsonl -apply
//
// Run with -h for every flag and the exit codes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/examples/internal/metrics"
	"github.com/gitlabdata/gitlabdata/examples/internal/size"
	"github.com/gitlabdata/gitlabdata/examples/internal/toolflags"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Exit codes.
const (
	exitEmpty       = 0 // the storage is empty (or the dry run could plan)
	exitCannotRun   = 1 // no GitLab, not an administrator's token, GitLab kept failing, a journal in use
	exitBadFlags    = 2 // the command line is wrong (the usage follows the error)
	exitRemaining   = 3 // something remains on the storage
	exitInterrupted = 4 // interrupted (Ctrl-C): moves in flight keep running in GitLab
)

func main() {
	os.Exit(run(exampleenv.Interruptible(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: evacuate-storage [flags]

Empties a Gitaly repository storage: lists the group wikis, snippets and
projects on -from (GET /groups, /snippets/all and /projects with
repository_storage=, as an administrator), and prints the plan: what would
move, in what order, how many bytes, to where. Nothing changes unless -apply
is given. With -apply it schedules the moves with at most -max-running of
them running at once, follows each until it ends, reads each container again
(a move that "finished" without leaving -from is reported as not moved),
retries failed moves (-retries), reports moves stuck longer than -stuck-after,
and lists the storage again at the end to say what remains and why.

It first checks that GITLAB_URL answers as GitLab and that the token is an
administrator's (GitLab hides the storage from anyone else). When GitLab
cannot be reached, keeps failing (5 failed requests in a row, each after 3
attempts), or asks to wait more than a minute, it stops with one line on
standard error.

With -journal FILE every decision and outcome is appended to FILE as JSON
lines, and a run on an existing journal resumes it: it never schedules a
container twice nor forgets a move in flight. The journal is locked while a
run uses it, and one run per GitLab and storage may run on a machine.
Ctrl-C (or SIGTERM) stops scheduling at once, looks at the moves in flight
once more (for at most 5 seconds) and prints the summary; the moves still
running keep running in GitLab. A second Ctrl-C ends the program at once.

A maintenance window: -until 06:00 (or -max-duration 4h) stops scheduling
then, and follows the moves running to their end. With -max-queue-latency 30s
(or -max-queue-backlog N) nothing is scheduled while Sidekiq's queue of the
move workers (-queue) is above it; then the bound on running moves halves
and grows back by one at each calm check.

Environment:
  GITLAB_URL    GitLab's URL, such as https://gitlab.example.com. When unset,
                the tool starts an embedded fake GitLab (package gitlabtest)
                with demo data: 25 projects, 4 snippets and 4 group wikis
                on "default" (weight 100; "storage2" has 50, "storage3" 0),
                and project 25 (platform/legacy-monolith), whose moves
                always fail.
  GITLAB_TOKEN  an administrator's personal access token (api scope, and
                admin_mode where Admin Mode is on).

Exit status:
  0  the storage is empty (or the dry run could plan)
  1  it cannot run: no GitLab at GITLAB_URL, not an administrator's token,
     GitLab kept failing or rate-limits the token, the journal is in use
  2  bad flags (the usage follows)
  3  something remains on the storage (failed, stuck, not moved, skipped by
     a limit, not attempted, or unknown)
  4  interrupted (Ctrl-C, SIGTERM)

With -json the plan (dry run) or the report is printed on standard output
as drain.Plan or drain.Report marshal; messages go to standard error.

With -metrics ADDR (and -apply) Prometheus metrics are served at
http://ADDR/metrics while the drain runs: gitlabdata_moves_total{kind,
outcome}, gitlabdata_moves_running, gitlabdata_moved_bytes_total,
gitlabdata_remaining_containers, gitlabdata_remaining_bytes,
gitlabdata_eta_seconds and gitlabdata_scheduling_paused, besides the
process's go_* and process_* metrics. ADDR is host:port, such as
127.0.0.1:9101 (:9101 listens on every interface; port 0 on a free port,
printed at the start). An address that cannot be served is a bad flag. The
server stops when the tool ends, unless -metrics-linger keeps it until a
scrape has read the final counts.

Flags:
`

type config struct {
	from, to, kinds, order, journal, until string
	maxRunning, maxMoves, maxFail, retries int
	maxBytes                               size.Flag
	stuckAfter, poll, maxDuration          time.Duration
	apply, json, releaseStuck              bool
	metrics                                toolflags.Metrics
	pressure                               toolflags.BackPressure
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, opts, code := parseFlags(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	code, err := evacuate(ctx, cfg, opts, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "evacuate-storage:", message(err))
	}
	return code
}

// parseFlags reads the command line into the drain's options; code is
// the exit code when the program must end (-1 to go on).
func parseFlags(args []string, stdout, stderr io.Writer) (config, drain.Options, int) {
	var cfg config
	fs := flag.NewFlagSet("evacuate-storage", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error is printed below, after the usage
	usageTo := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.StringVar(&cfg.from, "from", "default", "storage to empty")
	fs.StringVar(&cfg.to, "to", "", "destination storage (default: GitLab picks by weight; give -from weight 0 first)")
	fs.StringVar(&cfg.kinds, "kinds", "group_wiki,snippet,project", "kinds to move, in this order")
	fs.StringVar(&cfg.order, "order", "id", "order within a kind: id, smallest or largest")
	fs.IntVar(&cfg.maxRunning, "max-running", 4, "most moves running at once (scheduled, not yet finished or failed)")
	fs.IntVar(&cfg.maxMoves, "max-moves", 0, "stop scheduling after this many containers (0: no limit)")
	fs.Var(&cfg.maxBytes, "max-bytes", "skip containers that would bring the bytes scheduled above this, such as 500GiB or 2TB (0: no limit; group wikis and snippets count as 0, GitLab gives no size)")
	fs.IntVar(&cfg.maxFail, "max-failures", 0, "stop scheduling after this many failed attempts (0: no limit)")
	fs.IntVar(&cfg.retries, "retries", 2, "times a failed move is scheduled again")
	fs.DurationVar(&cfg.stuckAfter, "stuck-after", time.Hour, "report a move in initial, scheduled or started for longer than this as stuck")
	fs.BoolVar(&cfg.releaseStuck, "release-stuck", false, "let a stuck move stop holding a -max-running slot")
	fs.StringVar(&cfg.until, "until", "", "stop scheduling at this time (15:04 today or tomorrow, or RFC 3339); running moves are followed to their end")
	fs.DurationVar(&cfg.maxDuration, "max-duration", 0, "stop scheduling after this long, such as 4h (0: no limit); running moves are followed to their end")
	fs.StringVar(&cfg.journal, "journal", "", "append every decision to this JSON-lines file, and resume from it")
	fs.DurationVar(&cfg.poll, "poll", 0, "first pause between polls of the running moves; it doubles while no move ends, up to 8 times this (unset: 1s up to 30s, or 100ms against the embedded fake)")
	cfg.pressure.Register(fs)
	fs.BoolVar(&cfg.apply, "apply", false, "move for real (default: a dry run that changes nothing)")
	fs.BoolVar(&cfg.json, "json", false, "print the plan or the report as JSON on standard output (messages go to standard error)")
	cfg.metrics.Register(fs, "the drain runs")
	bad := func(format string, a ...any) (config, drain.Options, int) {
		usageTo(stderr)
		fmt.Fprintf(stderr, "\nevacuate-storage: "+format+"\n", a...)
		return cfg, drain.Options{}, exitBadFlags
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usageTo(stdout)
			return cfg, drain.Options{}, exitEmpty
		}
		if strings.Contains(err.Error(), "parse error") && regexp.MustCompile(`flag -(stuck-after|max-duration|poll|metrics-linger)\b`).MatchString(err.Error()) {
			return bad("%v: a duration takes a unit, such as 30s or 1h", err)
		}
		return bad("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		// Not echoed: the words after a misplaced one may be a token.
		return bad("unexpected argument at position %d: flags come before any other word", len(args)-fs.NArg()+1)
	case cfg.maxRunning < 1:
		return bad("-max-running %d: want at least 1", cfg.maxRunning)
	case cfg.maxMoves < 0:
		return bad("-max-moves %d: want 0 (no limit) or more", cfg.maxMoves)
	case cfg.maxFail < 0:
		return bad("-max-failures %d: want 0 (no limit) or more", cfg.maxFail)
	case cfg.retries < 0:
		return bad("-retries %d: want 0 or more", cfg.retries)
	case cfg.stuckAfter <= 0:
		return bad("-stuck-after %s: want a duration above 0, such as 1h", cfg.stuckAfter)
	case set["poll"] && cfg.poll <= 0:
		return bad("-poll %s: want a duration above 0, such as 1s", cfg.poll)
	case cfg.maxDuration < 0:
		return bad("-max-duration %s: want 0 (no limit) or a duration, such as 4h", cfg.maxDuration)
	case cfg.to != "" && cfg.to == cfg.from:
		return bad("-to %q: the destination must be another storage than -from", cfg.to)
	case cfg.from == "":
		return bad("-from: name the storage to empty")
	}
	for _, err := range []error{cfg.pressure.Check(), cfg.metrics.Check(set, cfg.apply)} {
		if err != nil {
			return bad("%v", err)
		}
	}
	opts := drain.Options{
		From: cfg.from, Order: drain.Order(cfg.order), MaxRunning: cfg.maxRunning, MaxMoves: cfg.maxMoves,
		MaxBytes: int64(cfg.maxBytes), MaxFailures: cfg.maxFail, Retries: cfg.retries, StuckAfter: cfg.stuckAfter,
		ReleaseStuck: cfg.releaseStuck, PollInterval: cfg.poll, MaxPollInterval: max(8*cfg.poll, time.Second),
	}
	switch opts.Order {
	case drain.OrderID, drain.OrderSmallestFirst, drain.OrderLargestFirst:
	default:
		return bad("-order %q: want id, smallest or largest", cfg.order)
	}
	if cfg.to != "" {
		opts.To = &cfg.to
	}
	opts.BackPressure = cfg.pressure.Options()
	known := map[string]bool{}
	for _, k := range drain.Kinds() {
		known[string(k)] = true
	}
	for k := range strings.SplitSeq(cfg.kinds, ",") {
		k = strings.TrimSpace(k)
		switch {
		case k == "":
		case !known[k]:
			return bad("-kinds: unknown kind %q (want group_wiki, snippet or project)", k)
		case slices.Contains(opts.Kinds, drain.Kind(k)):
			return bad("-kinds: %q is given twice", k)
		default:
			opts.Kinds = append(opts.Kinds, drain.Kind(k))
		}
	}
	if len(opts.Kinds) == 0 {
		return bad("-kinds: name at least one kind")
	}
	if cfg.journal != "" {
		if fi, err := os.Stat(cfg.journal); err == nil && !fi.Mode().IsRegular() {
			return bad("-journal %s: not a regular file; give the path of a file (created when missing)", cfg.journal)
		}
	}
	now := time.Now()
	if cfg.until != "" {
		t, err := parseUntil(cfg.until, now)
		if err != nil {
			return bad("-until %q: %v", cfg.until, err)
		}
		opts.ScheduleUntil = t
	}
	if d := cfg.maxDuration; d > 0 && (opts.ScheduleUntil.IsZero() || now.Add(d).Before(opts.ScheduleUntil)) {
		opts.ScheduleUntil = now.Add(d)
	}
	if !set["poll"] {
		opts.PollInterval, opts.MaxPollInterval = 0, 0 // the drain's defaults, or the fake's below
	}
	if err := cfg.metrics.Listen(); err != nil { // last: nothing above may fail once it listens
		return bad("%v", err)
	}
	return cfg, opts, -1
}

func evacuate(ctx context.Context, cfg config, opts drain.Options, stdout, stderr io.Writer) (int, error) {
	out := stdout // human-readable lines
	if cfg.json {
		out = stderr
	}
	if cfg.metrics.Server != nil {
		defer cfg.metrics.Server.Close()
	}
	env, err := exampleenv.Connect(out, []gitlabtest.ServerOption{gitlabtest.WithStepInterval(50 * time.Millisecond), gitlabtest.WithSeed(7)},
		gitlabdata.WithUserAgent("evacuate-storage"))
	if err != nil {
		return exitCannotRun, err
	}
	defer env.Close()
	if env.Fake != nil && opts.PollInterval == 0 {
		opts.PollInterval, opts.MaxPollInterval, opts.ScheduleInterval = 100*time.Millisecond, 500*time.Millisecond, 10*time.Millisecond
	}
	dest := "the storage GitLab picks by weight"
	if opts.To != nil {
		dest = *opts.To
	}

	if !cfg.apply {
		if cfg.journal != "" {
			if err := describeJournal(out, cfg.journal); err != nil {
				return exitCannotRun, err
			}
		}
		d, err := drain.New(env.Client, opts)
		if err != nil {
			return exitCannotRun, err
		}
		plan, err := d.Plan(ctx)
		if err != nil {
			return exitCannotRun, err
		}
		printPlan(out, plan, dest, opts)
		if cfg.json {
			return exitEmpty, writeJSON(stdout, plan)
		}
		return exitEmpty, nil
	}

	if cfg.journal != "" {
		j, err := drain.OpenJournal(cfg.journal)
		if err != nil {
			return exitCannotRun, err
		}
		defer j.Close()
		if n := len(j.Events()); n > 0 {
			fmt.Fprintf(out, "Journal %s holds %d events of an earlier run.\n", cfg.journal, n)
		}
		opts.Journal = j
	}
	prog := newProgress(out, stderr, opts.Retries)
	opts.OnEvent = prog.event
	m, err := metrics.ServeMoves(out, cfg.metrics.Server, opts.Journal)
	if err != nil {
		return exitCannotRun, err
	}
	if m != nil {
		opts.OnEvent = func(ev drain.Event) {
			prog.event(ev)
			m.Event(ev)
		}
	}
	d, err := drain.New(env.Client, opts)
	if err != nil {
		return exitCannotRun, err
	}
	fmt.Fprintf(out, "Draining %s to %s, at most %s running.\n", cfg.from, dest, plural(opts.MaxRunning, "move", "moves"))
	if !opts.ScheduleUntil.IsZero() {
		fmt.Fprintf(out, "Scheduling stops at %s; the moves running then are followed to their end.\n", opts.ScheduleUntil.Local().Format("Mon 15:04 MST"))
	}
	rep, err := d.Run(ctx)
	prog.clear()
	if m != nil {
		m.Finish(rep)
	}
	if rep != nil {
		prog.skippedSummary()
		printReport(out, rep, cfg.journal)
		if cfg.json {
			if jerr := writeJSON(stdout, rep); jerr != nil {
				return exitCannotRun, jerr
			}
		}
		metrics.LingerFinal(ctx, out, cfg.metrics.Server, cfg.metrics.Linger)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted, nil
	case err != nil:
		return exitCannotRun, err
	case !rep.Empty():
		return exitRemaining, nil
	}
	return exitEmpty, nil
}

// describeJournal says, in a dry run, what a journal holds, without
// creating or locking it.
func describeJournal(w io.Writer, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "Journal %s does not exist yet: -apply creates it.\n", path)
		return nil
	}
	events, err := drain.ReadJournal(path)
	if err != nil {
		return err
	}
	if len(events) > 0 {
		fmt.Fprintf(w, "Journal %s holds %d events of an earlier run: -apply resumes it.\n", path, len(events))
	}
	return nil
}

// writeJSON prints v (a drain.Plan or a drain.Report) as the library
// marshals it.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// message is err as the one line the tool prints: a drain's halt reads
// "<what failed> (<endpoint> <status>): <what to do>".
func message(err error) string {
	msg := strings.TrimPrefix(err.Error(), "drain: ")
	return strings.TrimPrefix(msg, "moves: ")
}
