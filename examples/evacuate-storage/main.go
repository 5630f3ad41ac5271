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
	"os/signal"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Exit codes.
const (
	exitEmpty     = 0 // the storage is empty (or the dry run worked)
	exitCannotRun = 1 // bad flags, no GitLab, a fatal error
	exitRemaining = 3 // something remains on the storage
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the program at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
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

With -journal FILE every decision and outcome is appended to FILE as JSON
lines; a run on an existing journal resumes it, never scheduling a container
twice nor forgetting a move in flight. Ctrl-C stops scheduling, keeps the
journal consistent and prints the summary (moves in flight keep running in
GitLab; rerun with the same -journal to follow them).

Environment:
  GITLAB_URL    GitLab's URL, such as https://gitlab.example.com. When unset,
                the tool starts an embedded fake GitLab (package gitlabtest)
                with demo data: 25 projects, 4 snippets and 4 group wikis
                on "default" (weight 100; "storage2" has 50, "storage3" 0),
                and project 25 (platform/legacy-monolith), whose moves
                always fail.
  GITLAB_TOKEN  an administrator's personal access token (api scope, admin
                mode where enabled).

Exit status: 0 the storage is empty (or the dry run worked), 3 something
remains on it (failed, stuck, not moved, skipped by a budget, or unknown),
1 it cannot run.

Flags:
`

type config struct {
	from, to, kinds, order, journal string
	maxRunning, maxMoves, maxFail   int
	retries                         int
	maxBytes                        int64
	stuckAfter, poll                time.Duration
	apply, json, releaseStuck       bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("evacuate-storage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.from, "from", "default", "storage to empty")
	fs.StringVar(&cfg.to, "to", "", "destination storage (default: GitLab picks by weight; give -from weight 0 first)")
	fs.StringVar(&cfg.kinds, "kinds", "group_wiki,snippet,project", "kinds to move, in this order")
	fs.StringVar(&cfg.order, "order", "id", "order within a kind: id, smallest or largest")
	fs.IntVar(&cfg.maxRunning, "max-running", 4, "most moves running at once (scheduled, not yet finished or failed)")
	fs.IntVar(&cfg.maxMoves, "max-moves", 0, "stop scheduling after this many containers (0: no limit)")
	fs.Int64Var(&cfg.maxBytes, "max-bytes", 0, "skip containers that would bring the bytes scheduled above this (0: no limit)")
	fs.IntVar(&cfg.maxFail, "max-failures", 0, "stop scheduling after this many failed moves (0: no limit)")
	fs.IntVar(&cfg.retries, "retries", 2, "times a failed move is scheduled again")
	fs.DurationVar(&cfg.stuckAfter, "stuck-after", time.Hour, "report a move in initial, scheduled or started for longer than this as stuck")
	fs.BoolVar(&cfg.releaseStuck, "release-stuck", false, "let a stuck move stop holding a -max-running slot")
	fs.StringVar(&cfg.journal, "journal", "", "append every decision to this JSON-lines file, and resume from it")
	fs.DurationVar(&cfg.poll, "poll", 0, "first pause between polls of the running moves (default 1s; 100ms against the embedded fake)")
	fs.BoolVar(&cfg.apply, "apply", false, "move for real (default: a dry run that changes nothing)")
	fs.BoolVar(&cfg.json, "json", false, "print a final JSON object on standard output (messages go to standard error)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitEmpty
		}
		return exitCannotRun
	}
	if fs.NArg() > 0 {
		// Not echoed: the words after a misplaced one may be a token.
		fmt.Fprintf(stderr, "evacuate-storage: unexpected argument at position %d: flags come before any other word (see -h)\n", len(args)-fs.NArg()+1)
		return exitCannotRun
	}
	if cfg.maxRunning < 1 {
		fmt.Fprintf(stderr, "evacuate-storage: -max-running %d: want at least 1\n", cfg.maxRunning)
		return exitCannotRun
	}
	code, err := evacuate(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "evacuate-storage:", err)
	}
	return code
}

func evacuate(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	out := stdout // human-readable lines
	if cfg.json {
		out = stderr
	}
	env, err := exampleenv.Connect(out, []gitlabtest.ServerOption{gitlabtest.WithStepInterval(50 * time.Millisecond), gitlabtest.WithSeed(7)},
		gitlabdata.WithUserAgent("evacuate-storage"))
	if err != nil {
		return exitCannotRun, err
	}
	defer env.Close()

	opts := drain.Options{
		From: cfg.from, Order: drain.Order(cfg.order), MaxRunning: cfg.maxRunning, MaxMoves: cfg.maxMoves,
		MaxBytes: cfg.maxBytes, MaxFailures: cfg.maxFail, Retries: cfg.retries, StuckAfter: cfg.stuckAfter,
		ReleaseStuck: cfg.releaseStuck, PollInterval: cfg.poll,
	}
	if cfg.to != "" {
		opts.To = &cfg.to
	}
	for k := range strings.SplitSeq(cfg.kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			opts.Kinds = append(opts.Kinds, drain.Kind(k))
		}
	}
	if cfg.poll > 0 {
		opts.MaxPollInterval = max(8*cfg.poll, time.Second)
	}
	if env.Fake != nil && opts.PollInterval == 0 {
		opts.PollInterval, opts.MaxPollInterval, opts.ScheduleInterval = 100*time.Millisecond, 500*time.Millisecond, 10*time.Millisecond
	}
	if cfg.journal != "" {
		j, err := drain.OpenJournal(cfg.journal)
		if err != nil {
			return exitCannotRun, err
		}
		defer j.Close()
		if n := len(j.Events()); n > 0 {
			verb := "resuming it"
			if !cfg.apply {
				verb = "-apply resumes it"
			}
			fmt.Fprintf(out, "Journal %s holds %d events of an earlier run: %s.\n", cfg.journal, n, verb)
		}
		if cfg.apply {
			opts.Journal = j
		}
	}
	dest := "the storage GitLab picks by weight"
	if opts.To != nil {
		dest = *opts.To
	}

	if !cfg.apply {
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
			if err := json.NewEncoder(stdout).Encode(plan); err != nil {
				return exitCannotRun, err
			}
		}
		return exitEmpty, nil
	}

	prog := newProgress(out, stderr)
	opts.OnEvent = prog.event
	d, err := drain.New(env.Client, opts)
	if err != nil {
		return exitCannotRun, err
	}
	fmt.Fprintf(out, "Draining %s to %s, at most %d moves running.\n", cfg.from, dest, opts.MaxRunning)
	rep, err := d.Run(ctx)
	prog.clear()
	if rep == nil {
		return exitCannotRun, err
	}
	printReport(out, rep)
	if cfg.json {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return exitCannotRun, jerr
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return exitCannotRun, err
	}
	if !rep.Empty() {
		return exitRemaining, nil
	}
	return exitEmpty, nil
}

func size(c drain.Container) string {
	if !c.HasSize {
		return "size unknown"
	}
	return bytesText(c.Size)
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func printPlan(w io.Writer, p *drain.Plan, dest string, o drain.Options) {
	fmt.Fprintf(w, "Plan: move %d containers (%s) off %s to %s, %s order, at most %d running:\n",
		len(p.Moves), bytesText(p.Bytes), p.From, dest, o.Order, max(o.MaxRunning, 1))
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for _, le := range p.ListingErrors {
		fmt.Fprintf(w, "listing error: %s %s\n", le.Kind, le.Error)
	}
	const show = 40
	for i, c := range p.Moves {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more\n", len(p.Moves)-show)
			break
		}
		fmt.Fprintf(w, "  %3d  %-10s %6d  %-40s %s\n", i+1, c.Kind, c.ID, c.Path, size(c))
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "  skip %-10s %6d  %-40s %s (budget)\n", s.Kind, s.ID, s.Path, size(s.Container))
	}
	fmt.Fprintf(w, "Dry run: nothing was changed (%d GitLab requests, all GET). Run again with -apply to move %d containers, %s.\n", p.Requests, len(p.Moves), bytesText(p.Bytes))
}

func printReport(w io.Writer, r *drain.Report) {
	fmt.Fprintf(w, "\n%-10s %6s %6s %6s %6s %9s %7s %10s %9s %11s\n", "kind", "found", "moved", "failed", "stuck", "not-moved", "skipped", "reattached", "remaining", "bytes moved")
	for _, k := range append(r.Kinds, &r.Totals) {
		fmt.Fprintf(w, "%-10s %6d %6d %6d %6d %9d %7d %10d %9d %11s\n", k.Kind, k.Found, k.Moved, k.Failed, k.Stuck, k.NotMoved, k.Skipped, k.Reattached, k.Remaining, bytesText(k.Bytes))
	}
	if r.Totals.Moved > 0 {
		fmt.Fprintf(w, "Move durations: fastest %s, median %s, slowest %s; %d GitLab requests in %s.\n",
			r.Totals.Fastest.Round(time.Millisecond), r.Totals.Median.Round(time.Millisecond), r.Totals.Slowest.Round(time.Millisecond), r.Requests, r.Elapsed.Round(time.Millisecond))
	}
	for _, s := range r.Stuck {
		fmt.Fprintf(w, "stuck: %s %d (%s) move %d in %q since %s: it needs an administrator (Rails console)\n", s.Kind, s.ID, s.Path, s.Move, s.State, s.Since.Format(time.RFC3339))
	}
	if r.Empty() {
		fmt.Fprintf(w, "Storage %s is empty.\n", r.From)
		return
	}
	fmt.Fprintf(w, "Remaining on %s: %d\n", r.From, len(r.Remaining))
	for _, rem := range r.Remaining {
		detail := ""
		if n := len(rem.Errors); n > 0 {
			detail = fmt.Sprintf(" (%d failed attempts, last: %s)", n, rem.Errors[n-1])
		}
		fmt.Fprintf(w, "  %-10s %6d  %-32s %s%s\n", rem.Kind, rem.ID, rem.Path, rem.Reason, detail)
	}
	for _, le := range r.ListingErrors {
		fmt.Fprintf(w, "  listing error: %s after id %d (id %d): %s\n", le.Kind, le.AfterID, le.ID, le.Error)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "Interrupted: rerun with the same -journal to resume.")
	}
}

// writeJSON prints the final object: totals at the top, per kind below.
func writeJSON(w io.Writer, r *drain.Report) error {
	kinds := map[drain.Kind]*drain.KindReport{}
	for _, k := range r.Kinds {
		kinds[k.Kind] = k
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Moved         int                              `json:"moved"`
		Failed        int                              `json:"failed"`
		Stuck         int                              `json:"stuck"`
		NotMoved      int                              `json:"not_moved"`
		Skipped       int                              `json:"skipped"`
		Remaining     int                              `json:"remaining"`
		Bytes         int64                            `json:"bytes"`
		Empty         bool                             `json:"empty"`
		Kinds         map[drain.Kind]*drain.KindReport `json:"kinds"`
		Containers    []drain.Remaining                `json:"remaining_containers"`
		StuckMoves    []drain.StuckMove                `json:"stuck_moves"`
		ListingErrors []drain.ListingError             `json:"listing_errors"`
		Interrupted   bool                             `json:"interrupted"`
		Requests      int                              `json:"requests"`
	}{r.Totals.Moved, r.Totals.Failed, r.Totals.Stuck, r.Totals.NotMoved, r.Totals.Skipped, len(r.Remaining), r.Totals.Bytes,
		r.Empty(), kinds, r.Remaining, r.Stuck, r.ListingErrors, r.Interrupted, r.Requests})
}

// progress prints one line per outcome and, on a terminal, a live
// progress line with rates and an ETA.
type progress struct {
	out, tty      io.Writer
	terminal      bool
	start         time.Time
	planned, done int
	plannedBytes  int64
	doneBytes     int64
	running       int
}

func newProgress(out, errw io.Writer) *progress {
	p := &progress{out: out, tty: errw, start: time.Now()}
	if f, ok := errw.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			p.terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return p
}

func (p *progress) clear() {
	if p.terminal {
		fmt.Fprint(p.tty, "\r\033[K")
	}
}

func (p *progress) event(ev drain.Event) {
	var line string
	name := fmt.Sprintf("%-10s %6d %-32s", ev.Kind, ev.ID, ev.Path)
	switch ev.Type {
	case drain.EventPlanned:
		p.planned++
		if ev.Size != nil {
			p.plannedBytes += *ev.Size
		}
	case drain.EventScheduled, drain.EventReattached:
		p.running++
		if ev.Type == drain.EventReattached || ev.Attempt > 1 || ev.Reason != "" {
			line = fmt.Sprintf("%s %s move %d (attempt %d) %s", name, ev.Type, ev.Move, ev.Attempt, ev.Reason)
		}
	case drain.EventFinished:
		p.running--
	case drain.EventMoved:
		p.done++
		if ev.Size != nil {
			p.doneBytes += *ev.Size
		}
		line = fmt.Sprintf("%s moved     in %s", name, ev.Duration.Round(time.Millisecond))
	case drain.EventFailed:
		p.running--
		verb := "failed, will retry:"
		if ev.Final {
			verb = "failed:"
		}
		line = fmt.Sprintf("%s move %d %s %s", name, ev.Move, verb, ev.Error)
	case drain.EventNotMoved, drain.EventStuck, drain.EventSkipped, drain.EventReleased:
		line = fmt.Sprintf("%s %s %s %s", name, ev.Type, ev.Reason, ev.Error)
	case drain.EventWarning:
		line = "warning: " + ev.Reason
	case drain.EventListingError:
		line = fmt.Sprintf("listing error: %s %d: %s", ev.Kind, ev.ID, ev.Error)
	case drain.EventRound:
		if ev.Attempt > 1 {
			line = fmt.Sprintf("Round %d: listing %s again", ev.Attempt, "the storage")
		}
	}
	if line != "" {
		p.clear()
		fmt.Fprintln(p.out, strings.TrimRight(line, " "))
	}
	if p.terminal {
		el := time.Since(p.start).Seconds()
		rate, brate := float64(p.done)/el, float64(p.doneBytes)/el
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.planned-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(p.tty, "\r\033[K%d/%d moved, %d running, %.1f moves/s, %s/s, ETA %s", p.done, p.planned, p.running, rate, bytesText(int64(brate)), eta)
	}
}
