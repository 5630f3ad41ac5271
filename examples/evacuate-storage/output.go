package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/examples/internal/size"
)

// reasonText says in words, with the flag behind it, why a container
// ended where it did.
var reasonText = map[drain.Reason]string{
	drain.ReasonMaxMoves:      "-max-moves reached",
	drain.ReasonMaxBytes:      "it would exceed -max-bytes",
	drain.ReasonMaxFailures:   "-max-failures reached",
	drain.ReasonWindow:        "the window (-until, -max-duration) closed",
	drain.ReasonMaxRounds:     "it appeared after the last listing round",
	drain.ReasonMaxRunning:    "stuck moves hold every -max-running slot",
	drain.ReasonRetriesUsed:   "-retries used up",
	drain.ReasonCleanupFailed: "GitLab copied it but left the old copy behind",
	drain.ReasonStillOnSource: "its move finished, but it is still on the storage",
	drain.ReasonInterrupted:   "the run was interrupted first",
	drain.ReasonHalted:        "the run stopped first: GitLab could not be used",
	drain.ReasonUnverified:    "its move finished; the run ended before it was read again",
	drain.ReasonUnresolved:    "its schedule call got no answer yet",
	drain.ReasonListingError:  "the listing page that holds it keeps failing",
	drain.ReasonLeftSource:    "it left the storage",
	drain.ReasonBreaker:       "not retried: -max-failures reached",
	drain.ReasonReadOnly:      "GitLab refused it as read-only, with no move in flight",
	drain.ReasonInFlight:      "its move was still running",
	drain.ReasonStuck:         "its move is stuck",
}

func why(r drain.Reason) string {
	if t, ok := reasonText[r]; ok {
		return t
	}
	return string(r)
}

func sizeOf(c drain.Container) string {
	if !c.HasSize {
		return "size unknown"
	}
	return size.Text(c.Size)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func printPlan(w io.Writer, p *drain.Plan, dest string, o drain.Options) {
	unknown := ""
	if p.UnknownSize > 0 {
		unknown = fmt.Sprintf(", %d of unknown size", p.UnknownSize)
	}
	if len(p.Moves) == 0 && len(p.Skipped) == 0 {
		fmt.Fprintf(w, "Nothing to move: %s holds no group wiki, snippet or project (%s, all GET).\n", p.From, plural(p.Requests, "GitLab request", "GitLab requests"))
		for _, warn := range p.Warnings {
			fmt.Fprintln(w, "warning:", warn)
		}
		for _, le := range p.ListingErrors {
			fmt.Fprintln(w, listingError(le))
		}
		return
	}
	fmt.Fprintf(w, "Plan: move %s (%s%s) off %s to %s, %s order, at most %d running:\n",
		plural(len(p.Moves), "container", "containers"), size.Text(p.Bytes), unknown, p.From, dest, o.Order, max(o.MaxRunning, 1))
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for _, le := range p.ListingErrors {
		fmt.Fprintln(w, listingError(le))
	}
	const show = 40
	for i, c := range p.Moves {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more\n", len(p.Moves)-show)
			break
		}
		fmt.Fprintf(w, "  %3d  %-10s %6d  %-40s %s\n", i+1, c.Kind, c.ID, c.Path, sizeOf(c))
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "  skip %-10s %6d  %-40s %s (%s)\n", s.Kind, s.ID, s.Path, sizeOf(s.Container), why(s.Reason))
	}
	fmt.Fprintf(w, "Dry run: nothing was changed (%s, all GET). Run again with -apply to move %s, %s.\n",
		plural(p.Requests, "GitLab request", "GitLab requests"), plural(len(p.Moves), "container", "containers"), size.Text(p.Bytes))
}

func listingError(le drain.ListingError) string {
	switch {
	case le.ID != 0:
		return fmt.Sprintf("listing error: %s %d breaks every listing page that holds it: %s", le.Kind, le.ID, le.Error)
	case le.Page != 0:
		return fmt.Sprintf("listing error: %s page %d was skipped: %s", le.Kind, le.Page, le.Error)
	}
	return fmt.Sprintf("listing error: %s: %s", le.Kind, le.Error)
}

// maxRows bounds the containers listed per kind in the report (-json
// lists them all).
const maxRows = 40

func printReport(w io.Writer, r *drain.Report, journal string) {
	if r.Halted != "" && r.Rounds == 0 && r.Totals.Found == 0 {
		return // it stopped before it listed anything: the last line says why
	}
	fmt.Fprintf(w, "\n%-10s %6s %6s %6s %6s %9s %7s %13s %5s %7s %11s\n", "kind", "found", "moved", "failed", "stuck", "not-moved", "skipped", "not-attempted", "gone", "unknown", "bytes moved")
	for _, k := range append(r.Kinds, &r.Totals) {
		fmt.Fprintf(w, "%-10s %6d %6d %6d %6d %9d %7d %13d %5d %7d %11s\n", k.Kind, k.Found, k.Moved, k.Failed, k.Stuck, k.NotMoved, k.Skipped, k.NotAttempted, k.Gone, k.Unknown, size.Text(k.Bytes))
	}
	if r.Totals.Moved > 0 {
		runs := ""
		if r.Resumed {
			runs = " (every run on the journal)"
		}
		fmt.Fprintf(w, "Move durations%s: fastest %s, median %s, slowest %s.\n", runs,
			r.Totals.Fastest.Round(time.Millisecond), r.Totals.Median.Round(time.Millisecond), r.Totals.Slowest.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "This run: %s, %s in %s.\n", plural(r.Rounds, "listing of the storage", "listings of the storage"),
		plural(r.Requests, "GitLab request", "GitLab requests"), r.Elapsed.Round(time.Millisecond))
	for _, s := range r.Stuck {
		fmt.Fprintf(w, "stuck: %s %d (%s) move %d in %q since %s: it needs an administrator (Rails console)\n", s.Kind, s.ID, s.Path, s.Move, s.State, s.Since.Format(time.RFC3339))
	}
	for _, le := range r.ListingErrors {
		if le.ID == 0 { // a container is listed below, as unknown
			fmt.Fprintln(w, listingError(le))
		}
	}
	if r.Empty() {
		fmt.Fprintf(w, "Storage %s is empty.\n", r.From)
		return
	}
	switch {
	case r.Halted != "":
		fmt.Fprintf(w, "The run stopped before its end (the last line says why): at least %d remain on %s.\n", len(r.Remaining), r.From)
	case len(r.Remaining) > 0:
		fmt.Fprintf(w, "Remaining on %s: %d\n", r.From, len(r.Remaining))
	}
	inFlight := 0
	for _, k := range r.Kinds {
		var rows []drain.Remaining
		for _, rem := range r.Remaining {
			if rem.Kind == k.Kind {
				rows = append(rows, rem)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s (%d):\n", k.Kind, len(rows))
		for i, rem := range rows {
			if rem.Reason == drain.ReasonInFlight || rem.Reason == drain.ReasonUnresolved {
				inFlight++
			}
			if i == maxRows {
				fmt.Fprintf(w, "    ... and %d more (-json lists them all)\n", len(rows)-maxRows)
				continue
			}
			if i > maxRows {
				continue
			}
			detail, path := "", rem.Path
			if n := len(rem.Errors); n > 0 {
				detail = fmt.Sprintf(" after %s, last: %s", plural(n, "failed attempt", "failed attempts"), rem.Errors[n-1])
			}
			if path == "" {
				path = "(path unknown)"
			}
			fmt.Fprintf(w, "    %6d  %-32s %s (%s)%s\n", rem.ID, path, rem.Outcome, why(rem.Reason), detail)
		}
	}
	if r.Interrupted {
		fmt.Fprintf(w, "Interrupted: of the %d not attempted to the end, %s still running in GitLab; they end on their own.\n",
			r.Totals.NotAttempted, plural(inFlight, "has its move", "have their moves"))
		if journal != "" {
			fmt.Fprintf(w, "Run again with -journal %s to follow them and go on.\n", journal)
		} else {
			fmt.Fprintln(w, "A new run follows the moves it finds under way, and goes on.")
		}
	}
}

// progress prints one line per outcome and, on a terminal, a live
// progress line with rates and an ETA.
type progress struct {
	out, tty      io.Writer
	terminal      bool
	attempts      int // the most attempts a container gets: 1 + -retries
	start         time.Time
	planned, done int
	plannedBytes  int64
	doneBytes     int64
	running       int
	skippedShown  int
	skippedMore   map[drain.Reason]int // skipped containers past the first few, by reason
}

// showSkipped is how many skipped containers get a line of their own.
const showSkipped = 5

func newProgress(out, errw io.Writer, retries int) *progress {
	p := &progress{out: out, tty: errw, start: time.Now(), attempts: retries + 1}
	if f, ok := errw.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			p.terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return p
}

// skippedSummary says how many skipped containers had no line of their
// own.
func (p *progress) skippedSummary() {
	for _, reason := range slices.Sorted(maps.Keys(p.skippedMore)) {
		p.clear()
		fmt.Fprintf(p.out, "... and %s skipped: %s\n", plural(p.skippedMore[reason], "more container", "more containers"), why(reason))
	}
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
		switch {
		case ev.Type == drain.EventReattached:
			line = fmt.Sprintf("%s following move %d: %s", name, ev.Move, ev.Reason)
		case ev.Reason != "":
			line = fmt.Sprintf("%s move %d: %s", name, ev.Move, ev.Reason)
		case ev.Attempt > 1:
			line = fmt.Sprintf("%s scheduled again: move %d (attempt %d of %d)", name, ev.Move, ev.Attempt, p.attempts)
		}
	case drain.EventFinished:
		p.running--
	case drain.EventMoved:
		p.done++
		if ev.Size != nil {
			p.doneBytes += *ev.Size
		}
		line = fmt.Sprintf("%s moved in %s", name, ev.Duration.Round(time.Millisecond))
	case drain.EventFailed:
		if ev.Move != 0 {
			p.running--
		}
		switch {
		case ev.Error == "":
			line = fmt.Sprintf("%s failed: %s", name, why(drain.Reason(ev.Reason)))
		case ev.Final:
			line = fmt.Sprintf("%s failed (%s): %s", name, why(drain.Reason(ev.Reason)), ev.Error)
		default:
			line = fmt.Sprintf("%s failed attempt %d of %d: %s", name, ev.Attempt, p.attempts, ev.Error)
		}
	case drain.EventPaused:
		line = fmt.Sprintf("scheduling paused: %s; at most %d moves running from now on", ev.Reason, ev.Attempt)
	case drain.EventResumed:
		line = fmt.Sprintf("scheduling resumed: %s", ev.Reason)
	case drain.EventNotMoved:
		line = fmt.Sprintf("%s not moved: %s", name, ev.Error)
	case drain.EventStuck:
		line = fmt.Sprintf("%s stuck: move %d %s; it needs an administrator", name, ev.Move, ev.Reason)
	case drain.EventReleased:
		line = fmt.Sprintf("%s its stuck move no longer holds a -max-running slot", name)
	case drain.EventUnstuck:
		line = fmt.Sprintf("%s move %d is moving again (%s)", name, ev.Move, ev.State)
	case drain.EventSkipped:
		if p.skippedShown++; p.skippedShown <= showSkipped {
			line = fmt.Sprintf("%s skipped: %s", name, why(drain.Reason(ev.Reason)))
		} else {
			if p.skippedMore == nil {
				p.skippedMore = map[drain.Reason]int{}
			}
			p.skippedMore[drain.Reason(ev.Reason)]++
		}
	case drain.EventGone:
		line = fmt.Sprintf("%s gone: %s", name, ev.Error)
	case drain.EventNotSent:
		line = fmt.Sprintf("%s waits again: %s", name, ev.Reason)
	case drain.EventWarning:
		line = "warning: " + ev.Reason
	case drain.EventListingError:
		line = listingError(drain.ListingError{Kind: ev.Kind, ID: ev.ID, Error: ev.Error})
	case drain.EventRound:
		if ev.Attempt > 1 {
			line = fmt.Sprintf("Round %d: listing the storage again", ev.Attempt)
		}
	case drain.EventHeartbeat:
		if !p.terminal {
			line = fmt.Sprintf("%s still working: %s", ev.Time.Local().Format("15:04:05"), ev.Reason)
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
		fmt.Fprintf(p.tty, "\r\033[K%d/%d moved, %d running, %.1f moves/s, %s/s, ETA %s", p.done, p.planned, p.running, rate, size.Text(int64(brate)), eta)
	}
}
