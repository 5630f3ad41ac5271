package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/examples/internal/metrics"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

// work is what a run moves: a plan (made now, read from a file and
// checked again, or resumed from the journal) or the moves of a revert.
type work struct {
	plan   *rebalance.Plan // nil for a revert
	moves  *moves.Plan
	resume bool // the journal holds a run of these moves
}

// rebalanceFleet plans (or reads the plan, the journal to resume, or the
// journal to revert), prints it, and with -apply makes the moves.
func rebalanceFleet(ctx context.Context, cfg config, o rebalance.Options, stdout, stderr io.Writer) (int, error) {
	out := stdout
	if cfg.json {
		out = stderr
	}
	if cfg.metrics.Server != nil {
		defer cfg.metrics.Server.Close()
	}
	env, err := exampleenv.Connect(out, []gitlabtest.ServerOption{gitlabtest.WithFleetDemo(), gitlabtest.WithStepInterval(50 * time.Millisecond)},
		gitlabdata.WithUserAgent("rebalance-storages"))
	if err != nil {
		return exitCannotRun, err
	}
	defer env.Close()
	if env.Fake != nil && (cfg.applyPlan != "" || cfg.revert != "") {
		return exitBadFlags, errors.New("the embedded demo is a new GitLab at every run: -apply-plan and -revert need one that stays, such as cmd/gitlabfake -fleet (set GITLAB_URL)")
	}
	eo := engineOptions(cfg)
	if env.Fake != nil && cfg.poll == 0 {
		eo.PollInterval, eo.MaxPollInterval, eo.ScheduleInterval = 100*time.Millisecond, 500*time.Millisecond, 10*time.Millisecond
	}
	if o.Capacities == nil && cfg.applyPlan == "" && cfg.revert == "" {
		o.Capacities = map[string]int64{}
		for _, s := range env.Fake.Storages() {
			if s.CapacityBytes > 0 {
				o.Capacities[s.Name] = s.CapacityBytes
			}
		}
		fmt.Fprintf(out, "The demo's storages and capacities: -capacity %s\n", capacityFlag(o.Capacities))
	}
	var earlier []moves.Event // of the journal, when it holds a run
	if cfg.journal != "" {
		if earlier, err = journalEvents(cfg.journal); err != nil {
			return exitCannotRun, err
		}
	}

	w, code, err := prepare(ctx, cfg, o, env.Client, earlier, out)
	if err != nil || code >= 0 {
		return code, err
	}
	if !cfg.apply {
		if cfg.journal != "" {
			fmt.Fprintf(out, "-journal %s: -apply writes the moves' events there (or resumes the run it holds).\n", cfg.journal)
		}
		if cfg.json {
			if w.plan != nil {
				return verdict(w.plan), writeJSON(stdout, w.plan)
			}
			return exitBalanced, writeJSON(stdout, revertJSON{Revert: cfg.revert, Moves: w.moves.Moves})
		}
		if w.plan != nil {
			return verdict(w.plan), nil
		}
		return exitBalanced, nil
	}
	if len(w.moves.Moves) == 0 {
		fmt.Fprintln(out, "Nothing to move.")
		if w.plan != nil {
			return verdict(w.plan), nil
		}
		return exitBalanced, nil
	}
	rep, err := makeMoves(ctx, cfg, eo, env.Client, w.moves, out)
	if rep != nil && cfg.json {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return exitCannotRun, jerr
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(out, "Interrupted: the moves in flight keep running in GitLab. Run the same command again (with the same -journal) to resume.")
		return exitInterrupted, nil
	case err != nil:
		return exitCannotRun, err
	}
	return afterMoves(ctx, out, env.Client, w, rep, o, cfg)
}

// revertJSON is what -revert -json prints.
type revertJSON struct {
	Revert string       `json:"revert"`
	Moves  []moves.Move `json:"moves"`
}

// journalEvents reads the journal's events (none when it does not exist).
func journalEvents(path string) ([]moves.Event, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return moves.ReadJournal(path)
}

// prepare says what the run moves and prints it; code is the exit code
// when the run ends here (-1 to go on).
func prepare(ctx context.Context, cfg config, o rebalance.Options, c *gitlabdata.Client, earlier []moves.Event, out io.Writer) (work, int, error) {
	switch {
	case cfg.revert != "":
		events, err := moves.ReadJournal(cfg.revert)
		if err != nil {
			return work{}, exitCannotRun, err
		}
		if len(events) > 0 && events[0].Type == moves.EventHeader && events[0].Instance != "" && events[0].Instance != c.BaseURL() {
			return work{}, exitCannotRun, fmt.Errorf("-revert %s holds moves of %s, not of %s: revert it against that GitLab", cfg.revert, events[0].Instance, c.BaseURL())
		}
		back, err := moves.Revert(events)
		if err != nil {
			return work{}, exitCannotRun, err
		}
		printRevert(out, cfg.revert, back, !cfg.apply)
		return work{moves: &moves.Plan{Moves: back}, resume: len(earlier) > 0}, -1, nil

	case len(earlier) > 0 && cfg.apply:
		// The journal holds a run: resume exactly its moves (planning
		// again would plan others, and the journal would refuse them).
		jp, err := moves.JournalPlan(earlier)
		if err != nil {
			return work{}, exitCannotRun, fmt.Errorf("-journal %s: %w", cfg.journal, err)
		}
		var reviewed *rebalance.Plan // its capacities and band judge the fleet after the moves
		if cfg.applyPlan != "" {
			p, err := readPlan(cfg.applyPlan)
			if err != nil {
				return work{}, exitCannotRun, err
			}
			if (&moves.Plan{Moves: p.Moves}).Digest() != jp.Digest() {
				return work{}, exitCannotRun, fmt.Errorf("-journal %s holds a run of another plan than %s: give this plan its own journal", cfg.journal, cfg.applyPlan)
			}
			reviewed = p
		}
		if cfg.applyPlan == "" && o.Capacities != nil {
			r, err := rebalance.New(c, o)
			if err != nil {
				return work{}, exitBadFlags, err
			}
			jp.Replan = r.Replan
		}
		fmt.Fprintf(out, "Journal %s holds a run of %s: resuming it (a new -journal plans again).\n", cfg.journal, plural(len(jp.Moves), "move", "moves"))
		return work{plan: reviewed, moves: jp, resume: true}, -1, nil

	case cfg.applyPlan != "":
		p, err := readPlan(cfg.applyPlan)
		if err != nil {
			return work{}, exitCannotRun, err
		}
		if p.Instance != c.BaseURL() {
			return work{}, exitCannotRun, fmt.Errorf("-apply-plan %s is a plan for %s, not %s: plan again against this GitLab", cfg.applyPlan, p.Instance, c.BaseURL())
		}
		caps := map[string]int64{}
		for _, s := range p.Storages {
			caps[s.Name] = s.Capacity
		}
		r, err := rebalance.New(c, rebalance.Options{Capacities: caps, High: p.High, Low: p.Low})
		if err != nil {
			return work{}, exitCannotRun, fmt.Errorf("-apply-plan %s: %w", cfg.applyPlan, err)
		}
		checked, err := r.Recheck(ctx, p)
		if err != nil {
			return work{}, exitCannotRun, err
		}
		printPlan(out, checked, false)
		// Exactly the moves reviewed: no replanning.
		return work{plan: checked, moves: &moves.Plan{Moves: checked.Moves}}, -1, nil
	}
	r, err := rebalance.New(c, o)
	if err != nil {
		return work{}, exitBadFlags, err
	}
	p, err := r.Plan(ctx)
	if err != nil {
		return work{}, exitCannotRun, err
	}
	printPlan(out, p, !cfg.apply)
	if cfg.planOut != "" {
		if err := writePlan(cfg.planOut, p); err != nil {
			return work{}, exitCannotRun, fmt.Errorf("-plan-out: %w", err)
		}
		fmt.Fprintf(out, "The plan is in %s: review it, then make exactly these moves with -apply-plan %s.\n", cfg.planOut, cfg.planOut)
	}
	return work{plan: p, moves: p.MovesPlan()}, -1, nil
}

// makeMoves runs the moves with the journal and the metrics.
func makeMoves(ctx context.Context, cfg config, eo moves.Options, c *gitlabdata.Client, mp *moves.Plan, out io.Writer) (*moves.Report, error) {
	if cfg.journal != "" {
		j, err := moves.OpenJournal(cfg.journal)
		if err != nil {
			return nil, err
		}
		defer j.Close()
		eo.Journal = j
	}
	prog := newProgress(out)
	eo.OnEvent = prog.event
	collector, err := metrics.ServeMoves(out, cfg.metrics.Server, eo.Journal)
	if err != nil {
		return nil, err
	}
	if collector != nil {
		eo.OnEvent = func(ev moves.Event) {
			prog.event(ev)
			collector.Event(ev)
		}
	}
	m, err := moves.New(c, mp, eo)
	if err != nil {
		return nil, err
	}
	rep, err := m.Run(ctx)
	if collector != nil {
		collector.Finish(rep)
	}
	if rep != nil {
		printReport(out, rep)
		metrics.LingerFinal(ctx, out, cfg.metrics.Server, cfg.metrics.Linger)
	}
	return rep, err
}

// afterMoves reads the fleet again, says where it stands and what to do,
// and returns the exit code: 0 only when every storage is in the band and
// every move planned was made.
func afterMoves(ctx context.Context, out io.Writer, c *gitlabdata.Client, w work, rep *moves.Report, o rebalance.Options, cfg config) (int, error) {
	t := rep.Totals
	failed := t.Failed + t.NotMoved + t.Stuck + t.Unknown
	code := exitBalanced
	if failed > 0 || t.Gone > 0 || t.Skipped > 0 || t.NotAttempted > 0 {
		code = exitUnbalanced
	}
	balanced := true
	if o.Capacities != nil || w.plan != nil {
		caps, high, low := o.Capacities, o.High, o.Low
		if w.plan != nil {
			caps, high, low = map[string]int64{}, w.plan.High, w.plan.Low
			for _, s := range w.plan.Storages {
				caps[s.Name] = s.Capacity
			}
		}
		var err error
		if balanced, err = printUsageAfter(ctx, out, c, caps, high, low); err != nil {
			return exitCannotRun, err
		}
	}
	switch {
	case failed > 0:
		fmt.Fprintf(out, "%s did not move (see above): run again to plan around them.\n", plural(failed, "container", "containers"))
	case t.Gone > 0 && cfg.revert != "":
		fmt.Fprintf(out, "%s not where the journal left them (gone): nothing to move back for those.\n", plural(t.Gone, "container was", "containers were"))
	case t.Gone > 0:
		fmt.Fprintf(out, "%s no longer on their source when their turn came (gone): plan again.\n", plural(t.Gone, "container was", "containers were"))
	case t.Skipped > 0 || t.NotAttempted > 0:
		fmt.Fprintln(out, "Some moves were not made (a budget or a window): run the same command again to make the rest.")
	}
	if !balanced {
		code = exitUnbalanced
	}
	return code, nil
}

// verdict is the exit code of a plan: balanced, or a storage stays above
// High.
func verdict(p *rebalance.Plan) int {
	if p.Balanced() {
		return exitBalanced
	}
	return exitUnbalanced
}

// printUsageAfter reads the fleet again and prints each storage's usage;
// balanced is false when one is above High.
func printUsageAfter(ctx context.Context, w io.Writer, c *gitlabdata.Client, caps map[string]int64, high, low float64) (balanced bool, err error) {
	o := rebalance.Options{Capacities: caps, High: high, Low: low}
	r, err := rebalance.New(c, o)
	if err != nil {
		return false, err
	}
	f, err := r.ReadFleet(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the storages after the moves: %w", err)
	}
	now, err := rebalance.PlanFleet(f, o)
	if err != nil {
		return false, err
	}
	printUsage(w, now)
	return now.LowerBound == 0, nil
}

func readPlan(path string) (*rebalance.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p rebalance.Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("-apply-plan %s: not a plan of rebalance-storages -plan-out: %v", path, err)
	}
	if p.Instance == "" || p.Moves == nil {
		return nil, fmt.Errorf("-apply-plan %s: not a plan of rebalance-storages -plan-out (no instance or moves)", path)
	}
	return &p, nil
}

func writePlan(path string, p *rebalance.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
