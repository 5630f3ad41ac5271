// Command rebalance-storages evens out the usage of a GitLab instance's
// Gitaly storages, keeping fork networks together (package rebalance, on
// package moves). It prints the plan; -apply makes the moves.
//
//	go run ./examples/rebalance-storages                     # the embedded demo fleet: the plan
//	go run ./examples/rebalance-storages -apply              # and the moves
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… go run ./examples/rebalance-storages \
//	    -capacity default=10TiB,storage2=10TiB,storage3=8TiB -plan-out plan.json
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
	iofs "io/fs"
	"os"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/examples/internal/size"
	"github.com/gitlabdata/gitlabdata/examples/internal/toolflags"
	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

// Exit codes, as evacuate-storage's.
const (
	exitBalanced    = 0 // every storage is in the band (or a dry run planned it)
	exitCannotRun   = 1 // no GitLab, not an administrator's token, GitLab kept failing, a journal in use
	exitBadFlags    = 2 // the command line is wrong (the usage follows the error)
	exitUnbalanced  = 3 // a storage is still above -high, or moves failed
	exitInterrupted = 4 // interrupted (Ctrl-C): moves in flight keep running in GitLab
)

func main() {
	os.Exit(run(exampleenv.Interruptible(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: rebalance-storages [flags]

Evens out the usage of Gitaly storages. It reads the projects on each
storage named in -capacity (GET /projects?repository_storage=&statistics=true,
as an administrator: their repository sizes, and forked_from_project), and
plans the moves that bring every storage at or below -high, moving few bytes:
a storage above -high gives up just enough, and no destination is filled above
-low. A fork network (a project and its forks, which share an object pool on
one storage) moves as one unit onto one storage, or stays. No move targets a
storage of weight 0 or the storage a project is on. Group wikis and snippets
stay: GitLab gives no size for them.

GitLab has no API for a storage's capacity: give it with -capacity (or
-capacity-file). Nothing changes unless -apply is given:
  rebalance-storages -capacity ...                        the plan (a dry run)
  rebalance-storages -capacity ... -plan-out plan.json    write it to review
  rebalance-storages -apply-plan plan.json -journal j     make exactly those moves
  rebalance-storages -capacity ... -apply -journal j      plan and move
  rebalance-storages -revert j -apply -journal j.revert   move back what j moved
Each project is read again on its source right before its move. A move that
fails is planned around: the fleet is read again and another project moves.

With -journal every decision goes to the file as JSON lines, and a run on it
resumes it (with the same plan). -max-running bounds the moves running at
once, -max-running-per-source and -max-running-per-destination those off and
onto one storage. With -max-queue-latency or -max-queue-backlog nothing is
scheduled while Sidekiq's queue of the move workers (-queue) is above it, and
the bound on running moves halves, then grows back by one at each calm check.
Ctrl-C stops scheduling and prints the summary; a second one ends at once.
With -metrics ADDR the run serves Prometheus metrics at http://ADDR/metrics
(gitlabdata_moves_total{kind,outcome}, gitlabdata_moves_running,
gitlabdata_moved_bytes_total, gitlabdata_remaining_containers,
gitlabdata_remaining_bytes, gitlabdata_eta_seconds,
gitlabdata_scheduling_paused).

Environment: GITLAB_URL and GITLAB_TOKEN (an administrator's token). Without
GITLAB_URL it starts an embedded fake GitLab with a demo fleet of four
storages about 90%, 75%, 30% and 10% full, and reads their capacities from it.

Exit status: 0 every storage in the band (a dry run: the plan brings them
there), 3 a storage stays above -high (or moves failed), 4 interrupted,
1 cannot run, 2 bad flags.

Flags:
`

// config is the command line.
type config struct {
	capacity, capacityFile string
	high, low              percent
	maxBytes               size.Flag
	namespace, ids         string
	minSize, maxSize       size.Flag
	pct                    float64
	apply                  bool
	planOut, applyPlan     string
	revert, journal        string
	maxRunning             int
	perSource, perDest     int
	retries                int
	poll                   time.Duration
	maxDuration            time.Duration
	json                   bool
	metrics                toolflags.Metrics
	pressure               toolflags.BackPressure
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, opts, code := parseFlags(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	code, err := rebalanceFleet(ctx, cfg, opts, stdout, stderr)
	if err != nil && code == exitCannotRun && errors.Is(err, context.Canceled) {
		// Ctrl-C while reading GitLab (the fleet, a plan's check, the
		// usage after the moves) is an interruption, not a failure.
		fmt.Fprintln(stderr, "rebalance-storages: interrupted while reading GitLab: run the same command again (with the same -journal, if any)")
		return exitInterrupted
	}
	if err != nil {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "rebalance: "), "moves: ")
		fmt.Fprintln(stderr, "rebalance-storages:", msg)
	}
	return code
}

// parseFlags reads the command line; code is the exit code when the
// program must end (-1 to go on).
func parseFlags(args []string, stdout, stderr io.Writer) (config, rebalance.Options, int) {
	cfg := config{high: 0.70, low: 0.60}
	fs := flag.NewFlagSet("rebalance-storages", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	usageTo := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.StringVar(&cfg.capacity, "capacity", "", "storages to balance and their capacities, such as default=10TiB,storage2=8TiB")
	fs.StringVar(&cfg.capacityFile, "capacity-file", "", `a JSON file of the capacities, such as {"default": "10TiB", "storage2": "8TiB"}`)
	fs.Var(&cfg.high, "high", "every storage should end at or below this share of its capacity")
	fs.Var(&cfg.low, "low", "no destination is filled above this share of its capacity")
	fs.Var(&cfg.maxBytes, "max-bytes", "move at most this many bytes, such as 500GiB (0: no limit); with -apply-plan and -revert too")
	fs.StringVar(&cfg.namespace, "namespace", "", "move only projects in this group or namespace (and its subgroups)")
	fs.StringVar(&cfg.ids, "ids", "", "move only these projects: ids, comma-separated, or @FILE with one per line")
	fs.Var(&cfg.minSize, "min-size", "move only units (a project, or a fork network) of at least this size")
	fs.Var(&cfg.maxSize, "max-size", "move only units of at most this size (0: no limit)")
	fs.Float64Var(&cfg.pct, "percent", 0, "a storage gives up at most this percentage of its bytes in one run (0: no limit)")
	fs.BoolVar(&cfg.apply, "apply", false, "make the moves (default: a dry run that changes nothing)")
	fs.StringVar(&cfg.planOut, "plan-out", "", "write the plan to this JSON file, for review and -apply-plan")
	fs.StringVar(&cfg.applyPlan, "apply-plan", "", "make the moves of this plan file (written by -plan-out), exactly")
	fs.StringVar(&cfg.revert, "revert", "", "move back what this journal moved, each to where it came from")
	fs.StringVar(&cfg.journal, "journal", "", "append every decision to this JSON-lines file, and resume from it")
	fs.IntVar(&cfg.maxRunning, "max-running", 4, "most moves running at once")
	fs.IntVar(&cfg.perSource, "max-running-per-source", 2, "most moves running off one storage (0: no limit)")
	fs.IntVar(&cfg.perDest, "max-running-per-destination", 2, "most moves running onto one storage (0: no limit)")
	fs.IntVar(&cfg.retries, "retries", 1, "times a failed move is scheduled again before it is planned around")
	cfg.pressure.Register(fs)
	fs.DurationVar(&cfg.poll, "poll", 0, "first pause between polls of the running moves (unset: 1s up to 30s, or 100ms against the embedded fake)")
	fs.DurationVar(&cfg.maxDuration, "max-duration", 0, "stop scheduling after this long, such as 4h; running moves are followed to their end (0: no limit)")
	fs.BoolVar(&cfg.json, "json", false, "print the plan or the report as JSON on standard output (messages go to standard error)")
	cfg.metrics.Register(fs, "the moves run")
	bad := func(format string, a ...any) (config, rebalance.Options, int) {
		usageTo(stderr)
		fmt.Fprintf(stderr, "\nrebalance-storages: "+format+"\n", a...)
		return cfg, rebalance.Options{}, exitBadFlags
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usageTo(stdout)
			return cfg, rebalance.Options{}, exitBalanced
		}
		return bad("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	o := rebalance.Options{High: float64(cfg.high), Low: float64(cfg.low), MaxBytes: int64(cfg.maxBytes),
		Scope: rebalance.Scope{Namespace: cfg.namespace, MinSize: int64(cfg.minSize), MaxSize: int64(cfg.maxSize), Percent: cfg.pct}}
	modes := 0
	for _, m := range []string{"apply-plan", "revert"} {
		if set[m] {
			modes++
		}
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument at position %d: flags come before any other word", len(args)-fs.NArg()+1)
	case modes > 1:
		return bad("-apply-plan and -revert do not go together")
	case set["apply-plan"] || set["revert"]:
		mode := map[bool]string{true: "apply-plan", false: "revert"}[set["apply-plan"]]
		for _, f := range []string{"capacity", "capacity-file", "plan-out", "high", "low", "namespace", "ids", "min-size", "max-size", "percent"} {
			if set[f] {
				return bad("-%s makes the moves of a plan already made: -%s (which shapes a plan) does not go with it; plan again with it instead", mode, f)
			}
		}
	case set["capacity"] && set["capacity-file"]:
		return bad("give -capacity or -capacity-file, not both")
	case cfg.low >= cfg.high:
		return bad("-low %s must be below -high %s", cfg.low.String(), cfg.high.String())
	case cfg.maxRunning < 1:
		return bad("-max-running %d: want at least 1", cfg.maxRunning)
	case cfg.perSource < 0 || cfg.perDest < 0:
		return bad("-max-running-per-source and -max-running-per-destination: want 0 (no limit) or more")
	case cfg.retries < 0:
		return bad("-retries %d: want 0 or more", cfg.retries)
	case cfg.pct < 0 || cfg.pct > 100:
		return bad("-percent %g: want 0 to 100", cfg.pct)
	case cfg.maxSize > 0 && cfg.maxSize < cfg.minSize:
		return bad("-max-size %s is below -min-size %s", size.Text(int64(cfg.maxSize)), size.Text(int64(cfg.minSize)))
	case set["poll"] && cfg.poll <= 0:
		return bad("-poll %s: want a duration above 0, such as 1s", cfg.poll)
	case cfg.maxDuration < 0:
		return bad("-max-duration %s: want 0 (no limit) or a duration, such as 4h", cfg.maxDuration)
	}
	if set["apply-plan"] {
		cfg.apply = true // -apply-plan makes the moves: that is what it is for
	}
	for _, err := range []error{cfg.pressure.Check(), cfg.metrics.Check(set, cfg.apply)} {
		if err != nil {
			return bad("%v", err)
		}
	}
	var err error
	switch {
	case cfg.capacity != "":
		if o.Capacities, err = parseCapacities(cfg.capacity); err != nil {
			return bad("-capacity %v", err)
		}
	case cfg.capacityFile != "":
		if o.Capacities, err = readCapacities(cfg.capacityFile); err != nil {
			return bad("-capacity-file %v", err)
		}
	}
	if o.Capacities == nil && cfg.applyPlan == "" && cfg.revert == "" && os.Getenv("GITLAB_URL") != "" {
		return bad("-capacity: name the storages to balance and their capacities, such as default=10TiB,storage2=8TiB (GitLab has no API for a storage's capacity)")
	}
	if o.Capacities != nil && len(o.Capacities) < 2 {
		return bad("-capacity: name at least two storages to balance")
	}
	if cfg.ids != "" {
		if o.Scope.IDs, err = parseIDs(cfg.ids); err != nil {
			return bad("-ids %v", err)
		}
	}
	for _, p := range []struct{ flag, path string }{{"apply-plan", cfg.applyPlan}, {"revert", cfg.revert}} {
		if p.path == "" {
			continue
		}
		if _, err := os.Stat(p.path); err != nil {
			var pe *iofs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return bad("-%s %s: %v", p.flag, p.path, err)
		}
	}
	for _, f := range []struct{ flag, path string }{{"journal", cfg.journal}, {"plan-out", cfg.planOut}} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err == nil && !fi.Mode().IsRegular() {
			return bad("-%s %s: not a regular file; give the path of a file (created when missing)", f.flag, f.path)
		}
		if err := writable(f.path); err != nil {
			return bad("-%s %s: %v", f.flag, f.path, err)
		}
	}
	if cfg.journal != "" {
		if cfg.journal == cfg.revert {
			return bad("-journal %s is the journal -revert reads: give the revert its own journal, such as %s.revert", cfg.journal, cfg.journal)
		}
	}
	if err := cfg.metrics.Listen(); err != nil { // last: nothing above may fail once it listens
		return bad("%v", err)
	}
	return cfg, o, -1
}

// engineOptions are the options of the moves, from the command line.
func engineOptions(cfg config) moves.Options {
	o := moves.Options{MaxRunning: cfg.maxRunning, MaxRunningPerSource: cfg.perSource, MaxRunningPerDestination: cfg.perDest,
		Retries: cfg.retries, PollInterval: cfg.poll, MaxPollInterval: 8 * cfg.poll, MaxBytes: int64(cfg.maxBytes)}
	o.BackPressure = cfg.pressure.Options()
	if cfg.maxDuration > 0 {
		o.ScheduleUntil = time.Now().Add(cfg.maxDuration)
	}
	return o
}

// writable says whether path can be written (or created) before any
// request is sent, without changing it.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		var pe *iofs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return err
	}
	fi, _ := f.Stat()
	f.Close()
	if fi != nil && fi.Size() == 0 {
		os.Remove(path) // it did not exist: leave nothing behind
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
