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

// rebalanceFleet plans (or reads the plan, or the journal to revert),
// prints it, and with -apply makes the moves.
func rebalanceFleet(ctx context.Context, cfg config, o rebalance.Options, stdout, stderr io.Writer) (int, error) {
	out := stdout
	if cfg.json {
		out = stderr
	}
	if cfg.metrics != nil {
		defer cfg.metrics.Close()
	}
	env, err := exampleenv.Connect(out, []gitlabtest.ServerOption{gitlabtest.WithFleetDemo(), gitlabtest.WithStepInterval(50 * time.Millisecond)},
		gitlabdata.WithUserAgent("rebalance-storages"))
	if err != nil {
		return exitCannotRun, err
	}
	defer env.Close()
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

	var plan *rebalance.Plan
	var mp *moves.Plan
	switch {
	case cfg.revert != "":
		events, err := moves.ReadJournal(cfg.revert)
		if err != nil {
			return exitCannotRun, err
		}
		back, err := moves.Revert(events)
		if err != nil {
			return exitCannotRun, err
		}
		mp = &moves.Plan{Moves: back}
		printRevert(out, cfg.revert, back, !cfg.apply)
	case cfg.applyPlan != "":
		if plan, err = readPlan(cfg.applyPlan); err != nil {
			return exitCannotRun, err
		}
		if plan.Instance != env.Client.BaseURL() {
			return exitCannotRun, fmt.Errorf("-apply-plan %s is a plan for %s, not %s: plan again against this GitLab", cfg.applyPlan, plan.Instance, env.Client.BaseURL())
		}
		mp = &moves.Plan{Moves: plan.Moves} // exactly the moves reviewed: no replanning
		printPlan(out, plan, false)
	default:
		r, err := rebalance.New(env.Client, o)
		if err != nil {
			return exitBadFlags, err
		}
		if plan, err = r.Plan(ctx); err != nil {
			return exitCannotRun, err
		}
		mp = plan.MovesPlan()
		printPlan(out, plan, !cfg.apply)
		if cfg.planOut != "" {
			if err := writePlan(cfg.planOut, plan); err != nil {
				return exitCannotRun, err
			}
			fmt.Fprintf(out, "The plan is in %s: review it, then make exactly these moves with -apply-plan %s.\n", cfg.planOut, cfg.planOut)
		}
	}
	if !cfg.apply {
		if cfg.json {
			if plan != nil {
				return verdict(plan), writeJSON(stdout, plan)
			}
			return exitBalanced, writeJSON(stdout, mp.Moves)
		}
		if plan != nil {
			return verdict(plan), nil
		}
		return exitBalanced, nil
	}
	if len(mp.Moves) == 0 {
		fmt.Fprintln(out, "Nothing to move.")
		if plan != nil {
			return verdict(plan), nil
		}
		return exitBalanced, nil
	}
	if cfg.journal != "" {
		j, err := moves.OpenJournal(cfg.journal)
		if err != nil {
			return exitCannotRun, err
		}
		defer j.Close()
		if n := len(j.Events()); n > 0 {
			fmt.Fprintf(out, "Journal %s holds %d events of an earlier run: resuming it.\n", cfg.journal, n)
		}
		eo.Journal = j
	}
	prog := newProgress(out)
	eo.OnEvent = prog.event
	collector, err := metrics.ServeMoves(out, cfg.metrics, eo.Journal)
	if err != nil {
		return exitCannotRun, err
	}
	if collector != nil {
		eo.OnEvent = func(ev moves.Event) {
			prog.event(ev)
			collector.Event(ev)
		}
	}
	m, err := moves.New(env.Client, mp, eo)
	if err != nil {
		return exitCannotRun, err
	}
	rep, err := m.Run(ctx)
	if collector != nil {
		collector.Finish(rep)
	}
	if rep != nil {
		printReport(out, rep)
		metrics.LingerFinal(ctx, out, cfg.metrics, cfg.linger)
		if cfg.json {
			if jerr := writeJSON(stdout, rep); jerr != nil {
				return exitCannotRun, jerr
			}
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted, nil
	case err != nil:
		return exitCannotRun, err
	}
	if plan != nil {
		if code, err := printUsageAfter(ctx, out, env.Client, plan); err != nil || code != exitBalanced {
			return code, err
		}
	}
	if rep.Totals.Moved+rep.Totals.Gone < rep.Totals.Found {
		return exitUnbalanced, nil
	}
	return exitBalanced, nil
}

// verdict is the exit code of a plan: balanced, or a storage stays above
// High.
func verdict(p *rebalance.Plan) int {
	if p.Balanced() {
		return exitBalanced
	}
	return exitUnbalanced
}

// printUsageAfter reads the fleet again and prints each storage's usage
// before and after; exitUnbalanced when one is above High.
func printUsageAfter(ctx context.Context, w io.Writer, c *gitlabdata.Client, plan *rebalance.Plan) (int, error) {
	caps := map[string]int64{}
	for _, s := range plan.Storages {
		caps[s.Name] = s.Capacity
	}
	r, err := rebalance.New(c, rebalance.Options{Capacities: caps, High: plan.High, Low: plan.Low})
	if err != nil {
		return exitCannotRun, err
	}
	f, err := r.ReadFleet(ctx)
	if err != nil {
		return exitCannotRun, fmt.Errorf("reading the storages after the moves: %w", err)
	}
	now, err := rebalance.PlanFleet(f, rebalance.Options{Capacities: caps, High: plan.High, Low: plan.Low})
	if err != nil {
		return exitCannotRun, err
	}
	printUsage(w, plan, now)
	if now.LowerBound > 0 {
		return exitUnbalanced, nil
	}
	return exitBalanced, nil
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
