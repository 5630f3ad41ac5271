// Command evacuate-storage moves the repositories of a list of projects off
// one Gitaly storage, a few at a time, follows every move until it finishes
// or fails with a live progress line, and prints a summary of outcomes and
// durations. It exits with status 1 when it cannot run, and with -strict
// with status 3 when a move failed or could not be scheduled.
//
// GitLab's storage moves API does not list the projects of a shard, so pass
// their ids with -projects (or "-projects -" to read one id per line from
// standard input). Against the embedded fake GitLab (GITLAB_URL unset) it
// takes every demo project on -from:
//
//	go run ./examples/evacuate-storage
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… go run ./examples/evacuate-storage -from default -to storage2 -projects 12,13,14
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var failed movesFailed
	switch {
	case errors.As(err, &failed):
		fmt.Fprintln(os.Stderr, "evacuate-storage:", err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, "evacuate-storage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("evacuate-storage", flag.ContinueOnError)
	flags.SetOutput(stderr)
	from := flags.String("from", "default", "storage to empty")
	to := flags.String("to", "", "destination storage (default: GitLab chooses by storage weights)")
	list := flags.String("projects", "", `project ids on the -from storage, comma-separated, or "-" for standard input`)
	concurrency := flags.Int("concurrency", 4, "schedule calls in flight at once")
	strict := flags.Bool("strict", false, "exit with status 3 when a move failed or could not be scheduled")
	if err := flags.Parse(args); err != nil {
		return err
	}

	// The fake advances its moves on a clock, so the example has something
	// to follow; against it, poll often.
	env, err := exampleenv.Connect(stdout, []gitlabtest.ServerOption{gitlabtest.WithStepInterval(150 * time.Millisecond)},
		gitlabdata.WithUserAgent("evacuate-storage"))
	if err != nil {
		return err
	}
	defer env.Close()
	wait := gitlabdata.WaitOptions{} // defaults: 1s, doubling to 30s
	if env.Fake != nil {
		wait = gitlabdata.WaitOptions{MinDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond}
	}

	ids, err := projectIDs(*list, stdin, env.Fake, *from)
	if err != nil {
		return err
	}
	dest := "the storage GitLab picks"
	var destination *string
	if *to != "" {
		dest, destination = *to, to
	}
	fmt.Fprintf(stdout, "Moving %d projects from %s to %s, %d at a time.\n", len(ids), *from, dest, *concurrency)

	tally := newTally(len(ids), stdout, stderr)
	sum, err := env.Client.ProjectRepositoryStorageMoves.Evacuate(ctx, slices.Values(ids), &gitlabdata.EvacuateOptions{
		DestinationStorageName: destination,
		Concurrency:            *concurrency,
		Wait:                   wait,
		OnEvent:                tally.record,
	})
	tally.finish()
	printSummary(stdout, sum, tally)
	if err != nil {
		return err
	}
	if *strict && sum.Failed+sum.ScheduleFailed > 0 {
		return movesFailed(sum)
	}
	return nil
}

// movesFailed is the -strict error: the evacuation ran, but not every move
// succeeded.
type movesFailed gitlabdata.EvacuationSummary

func (m movesFailed) Error() string {
	return fmt.Sprintf("%d moves failed and %d could not be scheduled", m.Failed, m.ScheduleFailed)
}

// projectIDs reads the -projects flag, or lists the fake's projects on from.
func projectIDs(list string, stdin io.Reader, fake *gitlabtest.Server, from string) ([]int64, error) {
	var fields []string
	switch {
	case list == "-":
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if f := strings.TrimSpace(sc.Text()); f != "" {
				fields = append(fields, f)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	case list != "":
		fields = strings.Split(list, ",")
	case fake != nil:
		return fake.ProjectsOnStorage(from), nil
	default:
		return nil, errors.New("give the ids of the projects on the storage with -projects (GitLab's storage moves API cannot list them); to move a whole shard in one call, use ScheduleAll")
	}
	ids := make([]int64, 0, len(fields))
	for _, f := range fields {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("project id %q is not a positive integer", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// tally prints each outcome as a line and keeps a progress line up to date
// on a terminal. Evacuate calls record one event at a time.
type tally struct {
	total     int
	out, prog io.Writer
	terminal  bool
	counts    map[gitlabdata.EvacuationOutcome]int
	durations []time.Duration // of finished moves
}

func newTally(total int, out, prog io.Writer) *tally {
	t := &tally{total: total, out: out, prog: prog, counts: map[gitlabdata.EvacuationOutcome]int{}}
	if f, ok := prog.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			t.terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return t
}

func (t *tally) record(ev gitlabdata.EvacuationEvent) {
	t.counts[ev.Outcome]++
	if t.terminal {
		fmt.Fprint(t.prog, "\r\033[K") // clear the progress line before printing above it
	}
	switch ev.Outcome {
	case gitlabdata.EvacuationScheduled:
		fmt.Fprintf(t.out, "project %-5d scheduled  move %d: %s -> %s\n", ev.ContainerID, ev.Move.ID, ev.Move.SourceStorageName, ev.Move.DestinationStorageName)
	case gitlabdata.EvacuationFinished:
		t.durations = append(t.durations, ev.Duration)
		fmt.Fprintf(t.out, "project %-5d finished   in %s\n", ev.ContainerID, ev.Duration.Round(time.Millisecond))
	default:
		fmt.Fprintf(t.out, "project %-5d %-10s %v\n", ev.ContainerID, ev.Outcome, ev.Err)
	}
	if t.terminal {
		fmt.Fprintf(t.prog, "%d/%d scheduled, %d finished, %d failed, %d skipped",
			t.counts[gitlabdata.EvacuationScheduled], t.total, t.counts[gitlabdata.EvacuationFinished],
			t.counts[gitlabdata.EvacuationFailed]+t.counts[gitlabdata.EvacuationScheduleFailed], t.counts[gitlabdata.EvacuationSkipped])
	}
}

func (t *tally) finish() {
	if t.terminal {
		fmt.Fprint(t.prog, "\r\033[K")
	}
}

func printSummary(w io.Writer, sum gitlabdata.EvacuationSummary, t *tally) {
	fmt.Fprintf(w, "\nSummary: %d scheduled, %d finished, %d failed, %d skipped (already moving), %d not scheduled, %d duplicate ids\n",
		sum.Scheduled, sum.Finished, sum.Failed, sum.Skipped, sum.ScheduleFailed, sum.Duplicates)
	if len(t.durations) == 0 {
		return
	}
	d := slices.Clone(t.durations)
	slices.Sort(d)
	round := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	fmt.Fprintf(w, "Move durations: fastest %s, median %s, slowest %s\n", round(d[0]), round(d[len(d)/2]), round(d[len(d)-1]))
}
