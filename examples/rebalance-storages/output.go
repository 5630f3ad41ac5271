package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gitlabdata/gitlabdata/examples/internal/size"
	"github.com/gitlabdata/gitlabdata/moves"
	"github.com/gitlabdata/gitlabdata/rebalance"
)

// shown is how many moves the plan lists (-json or -plan-out has all).
const shown = 20

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func capacityFlag(caps map[string]int64) string {
	var parts []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range caps {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, name+"="+strings.ReplaceAll(size.Text(caps[name]), " ", ""))
	}
	return strings.Join(parts, ",")
}

// printPlan prints the storages before and after, and the moves.
func printPlan(w io.Writer, p *rebalance.Plan, dry bool) {
	fmt.Fprintf(w, "\nStorages (every one should end at or below %s; destinations are filled to at most %s):\n", pct(p.High), pct(p.Low))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STORAGE\tWEIGHT\tCAPACITY\tUSED\tPLANNED\tOUT\tIN")
	for _, s := range p.Storages {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s (%s)\t%s (%s)\t%s\t%s\n", s.Name, s.Weight, size.Text(s.Capacity),
			size.Text(s.Used), pct(s.Share()), size.Text(s.After), pct(s.ShareAfter()), size.Text(s.Out), size.Text(s.In))
	}
	tw.Flush()
	networks := map[string]bool{}
	for _, m := range p.Moves {
		if m.Unit != "" {
			networks[m.Unit] = true
		}
	}
	switch {
	case len(p.Moves) == 0 && p.Balanced():
		fmt.Fprintln(w, "\nEvery storage is in the band: nothing to move.")
	case len(p.Moves) == 0:
		fmt.Fprintln(w, "\nNo move helps.")
	default:
		ratio := ""
		if p.LowerBound > 0 {
			ratio = fmt.Sprintf(": %.3fx the least any plan must move (%s)", float64(p.MovedBytes)/float64(p.LowerBound), size.Text(p.LowerBound))
		}
		fmt.Fprintf(w, "\nPlan: %s (%s, %d of them fork networks), %s%s; the largest unit is %s.\n",
			plural(len(p.Moves), "move", "moves"), plural(p.Units, "unit", "units"), len(networks), size.Text(p.MovedBytes), ratio, size.Text(p.LargestUnit))
		printMoves(w, p.Moves, "-json or -plan-out lists them all")
	}
	for _, u := range p.Unbalanced {
		fmt.Fprintf(w, "  %s stays above %s: %s.\n", u.Storage, pct(p.High), u.Why)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	fmt.Fprintf(w, "Reading the fleet took %s.\n", plural(p.Requests, "GitLab request", "GitLab requests"))
	if dry && len(p.Moves) > 0 {
		fmt.Fprintln(w, "Dry run: nothing was moved. -apply makes these moves; -plan-out FILE writes them for review and -apply-plan FILE makes exactly those.")
	}
}

func printMoves(w io.Writer, ms []moves.Move, all string) {
	for i, m := range ms {
		if i == shown {
			fmt.Fprintf(w, "  ... and %d more (%s)\n", len(ms)-shown, all)
			break
		}
		unit := ""
		if m.Unit != "" {
			unit = "  [" + m.Unit + "]"
		}
		fmt.Fprintf(w, "  %s %d %s (%s): %s -> %s%s\n", m.Kind, m.ID, m.Path, size.Text(m.Size), m.Storage, m.To, unit)
	}
}

func printRevert(w io.Writer, journal string, back []moves.Move, dry bool) {
	var bytes int64
	for _, m := range back {
		bytes += m.Size
	}
	fmt.Fprintf(w, "\nReverting %s: %s back, %s.\n", journal, plural(len(back), "move", "moves"), size.Text(bytes))
	printMoves(w, back, "-json lists them all")
	if dry && len(back) > 0 {
		fmt.Fprintln(w, "Dry run: nothing was moved. -apply makes these moves (give them their own -journal).")
	}
}

// printReport prints the outcome of the moves.
func printReport(w io.Writer, r *moves.Report) {
	t := r.Totals
	fmt.Fprintf(w, "\nMoves: %d planned: %d moved (%s), %d failed, %d stuck, %d not moved, %d skipped, %d not attempted, %d gone, %d unknown; %s, %s.\n",
		t.Found, t.Moved, size.Text(t.Bytes), t.Failed, t.Stuck, t.NotMoved, t.Skipped, t.NotAttempted, t.Gone, t.Unknown, plural(r.Requests, "GitLab request", "GitLab requests"), r.Elapsed.Round(1e7))
	for i, rem := range r.Remaining {
		if i == shown {
			fmt.Fprintf(w, "  ... and %d more\n", len(r.Remaining)-shown)
			break
		}
		why := string(rem.Reason)
		if n := len(rem.Errors); n > 0 {
			why += ": " + rem.Errors[n-1]
		}
		fmt.Fprintf(w, "  %s %d %s: %s (%s)\n", rem.Kind, rem.ID, rem.Path, rem.Outcome, why)
	}
	if r.Halted != "" {
		fmt.Fprintf(w, "  halted: %s\n", r.Halted)
	}
}

// printUsage prints each storage's usage as GitLab shows it now.
func printUsage(w io.Writer, now *rebalance.Plan) {
	fmt.Fprintf(w, "\nStorages now (read again):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STORAGE\tUSED\t")
	for _, s := range now.Storages {
		mark := ""
		if s.Share() > now.High {
			mark = "above -high"
		}
		fmt.Fprintf(tw, "  %s\t%s (%s)\t%s\n", s.Name, size.Text(s.Used), pct(s.Share()), mark)
	}
	tw.Flush()
	if now.LowerBound == 0 {
		fmt.Fprintf(w, "Balanced: every storage is at or below %s.\n", pct(now.High))
	} else {
		fmt.Fprintf(w, "Not balanced: %s is still above -high.\n", size.Text(now.LowerBound))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// progress prints a line for each pause and resume of scheduling, and for
// each failure, as they happen.
type progress struct{ w io.Writer }

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) event(ev moves.Event) {
	switch ev.Type {
	case moves.EventPaused:
		fmt.Fprintf(p.w, "  %s paused: %s; at most %d moves running from now on\n", ev.Time.Local().Format("15:04:05"), ev.Reason, ev.Attempt)
	case moves.EventResumed:
		fmt.Fprintf(p.w, "  %s resumed: %s\n", ev.Time.Local().Format("15:04:05"), ev.Reason)
	case moves.EventFailed:
		fmt.Fprintf(p.w, "  %s %d failed: %s\n", ev.Kind, ev.ID, ev.Error)
	case moves.EventMoved:
		fmt.Fprintf(p.w, "  moved %s %d %s -> %s\n", ev.Kind, ev.ID, ev.From, ev.To)
	case moves.EventWarning:
		fmt.Fprintf(p.w, "  warning: %s\n", ev.Reason)
	case moves.EventRound:
		if ev.Attempt > 1 {
			fmt.Fprintf(p.w, "  planning around the failed moves (round %d)\n", ev.Attempt)
		}
	}
}
