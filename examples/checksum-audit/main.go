// Command checksum-audit audits the Geo checksums of a GitLab instance: for
// every model of the Data management API it streams all records, counts them
// by checksum state, lists the failed ones with GitLab's failure text, and
// with -fix queues recalculation of the failed ones.
//
// It talks to GITLAB_URL with GITLAB_TOKEN (an administrator's token) when
// GITLAB_URL is set, and otherwise to the embedded fake GitLab with demo data:
//
//	go run ./examples/checksum-audit
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… go run ./examples/checksum-audit -fix
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "checksum-audit:", err)
		os.Exit(1)
	}
}

// audit is what one model's records added up to.
type audit struct {
	model    gitlabdata.ModelName // the name the server accepted
	records  int
	byState  map[gitlabdata.ChecksumState]int
	noInfo   int                       // records without checksum information
	failed   []*gitlabdata.ModelRecord // the first few failed records
	nFailed  int
	missing  bool // the server does not know this model
	duration time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("checksum-audit", flag.ContinueOnError)
	flags.SetOutput(stderr)
	fix := flags.Bool("fix", false, "queue checksum recalculation of every failed record")
	only := flags.String("models", "", "comma-separated model names to audit (default: every documented model)")
	show := flags.Int("show-failed", 5, "failed records to list per model")
	if err := flags.Parse(args); err != nil {
		return err
	}
	models := gitlabdata.ModelNames()
	if *only != "" {
		models = nil
		for _, name := range strings.Split(*only, ",") {
			models = append(models, gitlabdata.ModelName(strings.TrimSpace(name)))
		}
	}

	env, err := exampleenv.Connect(stdout, nil,
		gitlabdata.WithPrefetch(true), gitlabdata.WithUserAgent("checksum-audit"))
	if err != nil {
		return err
	}
	defer env.Close()

	progress := newProgress(stderr)
	var audits []*audit
	for _, model := range models {
		a, err := auditModel(ctx, env.Client, model, *show, progress)
		if err != nil {
			return fmt.Errorf("auditing %s: %w", model, err)
		}
		audits = append(audits, a)
	}
	progress.done()
	printTable(stdout, audits)
	printFailed(stdout, audits)

	if *fix {
		return recalculate(ctx, env.Client, stdout, audits)
	}
	if failed := totalFailed(audits); failed > 0 {
		fmt.Fprintf(stdout, "\n%d failed checksums. Run with -fix to queue their recalculation.\n", failed)
	}
	return nil
}

// auditModel streams every record of model. Servers older than GitLab 18.8
// know only singular model names, so on GitLab's 400 for an unknown name it
// tries the singular form before reporting the model as missing.
func auditModel(ctx context.Context, client *gitlabdata.Client, model gitlabdata.ModelName, show int, progress *progress) (*audit, error) {
	names := []gitlabdata.ModelName{model}
	if s := model.Singular(); s != model {
		names = append(names, s)
	}
	for _, name := range names {
		a := &audit{model: name, byState: map[gitlabdata.ChecksumState]int{}}
		start := time.Now()
		err := countRecords(ctx, client, a, show, progress)
		a.duration = time.Since(start)
		var apiErr *gitlabdata.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == 400 && strings.Contains(apiErr.Message, "model_name does not have a valid value") {
			continue
		}
		return a, err
	}
	return &audit{model: model, missing: true}, nil
}

func countRecords(ctx context.Context, client *gitlabdata.Client, a *audit, show int, progress *progress) error {
	for rec, err := range client.DataManagement.All(ctx, a.model, &gitlabdata.ListModelRecordsOptions{PerPage: 100}) {
		if err != nil {
			return err
		}
		a.records++
		progress.update(a.model, a.records)
		info := rec.ChecksumInformation
		if info == nil {
			a.noInfo++
			continue
		}
		a.byState[info.ChecksumState]++
		if info.ChecksumState == gitlabdata.ChecksumStateFailed {
			a.nFailed++
			if len(a.failed) < show {
				a.failed = append(a.failed, rec)
			}
		}
	}
	return nil
}

func printTable(w io.Writer, audits []*audit) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tRECORDS\tPENDING\tSTARTED\tSUCCEEDED\tFAILED\tDISABLED\tNO CHECKSUM\tTIME\t")
	var total audit
	total.byState = map[gitlabdata.ChecksumState]int{}
	for _, a := range audits {
		if a.missing {
			fmt.Fprintf(tw, "%s\t(not on this server)\t\t\t\t\t\t\t\t\n", a.model)
			continue
		}
		printRow(tw, string(a.model), a)
		total.records += a.records
		total.noInfo += a.noInfo
		total.duration += a.duration
		for s, n := range a.byState {
			total.byState[s] += n
		}
	}
	printRow(tw, "TOTAL", &total)
	tw.Flush()
}

func printRow(w io.Writer, name string, a *audit) {
	fmt.Fprintf(w, "%s\t%d\t", name, a.records)
	for _, s := range gitlabdata.ChecksumStates() {
		fmt.Fprintf(w, "%d\t", a.byState[s])
	}
	fmt.Fprintf(w, "%d\t%s\t\n", a.noInfo, a.duration.Round(time.Millisecond))
}

func printFailed(w io.Writer, audits []*audit) {
	if totalFailed(audits) == 0 {
		fmt.Fprintln(w, "\nNo failed checksums.")
		return
	}
	fmt.Fprintln(w, "\nFailed checksums:")
	for _, a := range audits {
		for _, rec := range a.failed {
			failure := "(no failure text)"
			if f := rec.ChecksumInformation.ChecksumFailure; f != nil {
				failure = *f
			}
			fmt.Fprintf(w, "  %s %s (%s): %s\n", a.model, rec.RecordIdentifier, rec.ModelClass, failure)
		}
		if more := a.nFailed - len(a.failed); more > 0 {
			fmt.Fprintf(w, "  %s: %d more\n", a.model, more)
		}
	}
}

func totalFailed(audits []*audit) int {
	n := 0
	for _, a := range audits {
		n += a.nFailed
	}
	return n
}

// recalculate queues recalculation of the failed records of every model that
// has some: one bulk request per model, filtered by state.
func recalculate(ctx context.Context, client *gitlabdata.Client, w io.Writer, audits []*audit) error {
	fmt.Fprintln(w)
	for _, a := range audits {
		if a.nFailed == 0 {
			continue
		}
		_, _, err := client.DataManagement.RecalculateChecksums(ctx, a.model,
			gitlabdata.RecalculateChecksumsRequest{ChecksumState: gitlabdata.ChecksumStateFailed})
		if err != nil {
			return fmt.Errorf("queueing recalculation for %s: %w", a.model, err)
		}
		fmt.Fprintf(w, "Queued checksum recalculation of %d failed %s records.\n", a.nFailed, a.model)
	}
	return nil
}

// progress reports long listings on stderr: a line that rewrites itself on a
// terminal, a line every 50,000 records elsewhere.
type progress struct {
	w        io.Writer
	terminal bool
	shown    bool
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	terminal := false
	if ok {
		if st, err := f.Stat(); err == nil {
			terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, terminal: terminal}
}

func (p *progress) update(model gitlabdata.ModelName, n int) {
	switch {
	case p.terminal && n%1000 == 0:
		fmt.Fprintf(p.w, "\r%-40s %10d records", model, n)
		p.shown = true
	case !p.terminal && n%50000 == 0:
		fmt.Fprintf(p.w, "%s: %d records so far\n", model, n)
	}
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%60s\r", "")
	}
}
