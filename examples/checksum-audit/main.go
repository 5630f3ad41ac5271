// Command checksum-audit audits the Geo checksums of a GitLab instance: for
// every model of the Data management API it streams all records, counts them
// by checksum state, lists the failed ones with GitLab's failure text, and
// with -fix queues recalculation of the failed ones. Models are audited
// several at a time (-concurrency), each with read-ahead; the output keeps
// the models' order. Models are those gitlabdata.ModelNamesFor lists for
// the server's version; one the server refuses (GitLab adds models release
// by release) is reported as not served.
//
// It talks to GITLAB_URL with GITLAB_TOKEN (an administrator's token) when
// GITLAB_URL is set, and otherwise to the embedded fake GitLab with demo data:
//
//	go run ./examples/checksum-audit
//	GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… go run ./examples/checksum-audit -fix
//
// As a failover gate: with -strict it exits 3 when any checksum failed, 0
// when none did, and 1 when it cannot audit.
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
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/examples/internal/exampleenv"
	"github.com/gitlabdata/gitlabdata/examples/internal/metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := exitStatus(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// exitStatus is the exit status of run's error; it says the error on w
// when run has not.
func exitStatus(err error, w io.Writer) int {
	var exit exitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	case errors.As(err, new(usageError)):
		return 2 // the flag package has said what is wrong
	case errors.As(err, new(badFlag)):
		fmt.Fprintln(w, "checksum-audit:", err)
		return 2
	}
	fmt.Fprintln(w, "checksum-audit:", err)
	return 1
}

// exitCode ends the program with a code after run has said why.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// usageError is a command line the flag package refused and explained.
type usageError struct{ error }

// badFlag is a flag value the tool refuses before it talks to GitLab
// (exit status 2).
type badFlag struct{ error }

// exitFailed is the code of -strict when a checksum failed.
const exitFailed exitCode = 3

// audit is what one model's records added up to.
type audit struct {
	model     gitlabdata.ModelName
	records   int
	byState   map[gitlabdata.ChecksumState]int
	noInfo    int                       // records without checksum information
	failed    []*gitlabdata.ModelRecord // the first few failed records
	nFailed   int
	failedIDs []gitlabdata.RecordID // every failed record, for -fix one by one
	duration  time.Duration
	counts    *gitlabdata.RecordCounts // with -counts: the counts as GitLab gave them
	notServed bool                     // the server refused the model's name
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("checksum-audit", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), `Usage: checksum-audit [flags]

Counts the records of every Data management model by checksum state, lists
the failed ones, and with -fix queues their recalculation.

Talks to GITLAB_URL with GITLAB_TOKEN (an administrator's token); without
GITLAB_URL it starts an embedded fake GitLab with demo data.

Exit status: 0 done, 3 with -strict when a checksum failed, 1 when it cannot
audit, 2 for an unknown flag or a bad -metrics or -metrics-linger.

With -metrics ADDR Prometheus metrics are served at http://ADDR/metrics
while the audit runs: gitlabdata_checksum_failed_records{model}, set as each
model's audit ends (with -counts it may be a lower bound, as in the table),
besides the process's go_* and process_* metrics. ADDR is host:port, such
as 127.0.0.1:9102 (:9102 listens on every interface; port 0 on a free port,
printed at the start). The server stops when the tool ends, unless
-metrics-linger keeps it until a scrape has read the counts.

Flags:
`)
		flags.PrintDefaults()
	}
	fix := flags.Bool("fix", false, "queue checksum recalculation of the failed records of each model")
	strict := flags.Bool("strict", false, "exit 3 when any checksum failed (a failover gate for scripts)")
	only := flags.String("models", "", "comma-separated model names to audit (default: every model the server's version has)")
	show := flags.Int("show-failed", 5, "failed records to list per model")
	concurrency := flags.Int("concurrency", 4, "models audited at once")
	counts := flags.Bool("counts", false, "count by state with a few requests per model instead of listing every record (above 10,000 a count is a lower bound; on GitLab 18.3-18.7 above 100)")
	metricsAddr := flags.String("metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics while the audit runs, such as 127.0.0.1:9102 (port 0: a free port)")
	linger := flags.Duration("metrics-linger", 0, "with -metrics, after the audit keep serving until a scrape has read the counts, at most this long, such as 1m (0: stop at once)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", flags.Arg(0))
	}
	if *concurrency < 1 {
		return fmt.Errorf("-concurrency %d: want at least 1", *concurrency)
	}
	if *show < 0 {
		return fmt.Errorf("-show-failed %d: want 0 or more", *show)
	}
	if *linger < 0 {
		return badFlag{fmt.Errorf("-metrics-linger %s: want 0 or a duration, such as 1m", *linger)}
	}
	if *linger > 0 && *metricsAddr == "" {
		return badFlag{errors.New("-metrics-linger goes with -metrics ADDR")}
	}
	srv, failedRecords, err := serveMetrics(stdout, *metricsAddr)
	if err != nil {
		return err
	}
	if srv != nil {
		defer srv.Close()
	}

	env, err := exampleenv.Connect(stdout, nil,
		gitlabdata.WithPrefetch(true), gitlabdata.WithUserAgent("checksum-audit"))
	if err != nil {
		return err
	}
	defer env.Close()
	client := env.Client

	models, err := modelsToAudit(ctx, client, stdout, *only)
	if err != nil {
		return err
	}
	progress := newProgress(stderr)
	start := time.Now()
	one := func(ctx context.Context, model gitlabdata.ModelName) (*audit, error) {
		var a *audit
		var err error
		if *counts {
			a, err = countModel(ctx, client, model)
		} else {
			a, err = auditModel(ctx, client, model, *show, progress)
		}
		if *only == "" && unknownModel(err) {
			// The SDK's list for this version has a model this server
			// does not serve: GitLab adds models release by release.
			return &audit{model: model, notServed: true}, nil
		}
		if err == nil && failedRecords != nil {
			failedRecords.Set(model, a.nFailed)
		}
		return a, err
	}
	audits, err := auditAll(ctx, models, *concurrency, one)
	progress.done()
	if err != nil {
		return explain(err)
	}
	printTable(stdout, audits, time.Since(start))
	printFailed(stdout, audits, *counts)

	if *fix {
		if err := recalculate(ctx, client, stdout, audits); err != nil {
			return explain(err)
		}
	} else if failed := totalFailed(audits); failed > 0 {
		atLeast := ""
		for _, a := range audits {
			if a.counts != nil && a.counts.ByState[gitlabdata.ChecksumStateFailed].AtLeast {
				atLeast = "at least "
			}
		}
		fmt.Fprintf(stdout, "\n%s%d failed checksums. Run with -fix to recalculate them.\n", atLeast, failed)
	}
	metrics.LingerFinal(ctx, stdout, srv, *linger)
	if *strict && totalFailed(audits) > 0 {
		return exitFailed
	}
	return nil
}

// modelsToAudit is -models, or every model the server's version has. It
// says in one line what kind of server it found.
func modelsToAudit(ctx context.Context, client *gitlabdata.Client, w io.Writer, only string) ([]gitlabdata.ModelName, error) {
	v, _, err := client.Version(ctx)
	switch {
	case err != nil:
		return nil, fmt.Errorf("asking GitLab for its version: %w", err)
	case !v.AtLeast(18, 3):
		return nil, fmt.Errorf("GitLab %s has no Data management API: it came with GitLab 18.3", v.Version)
	case !v.AtLeast(18, 8):
		fmt.Fprintf(w, "GitLab %s: an early Data management API (singular model names, integer states, no totals; bulk recalculation ignores filters, so -fix recalculates one record at a time)\n", v.Version)
	default:
		fmt.Fprintf(w, "GitLab %s\n", v.Version)
	}
	if only == "" {
		return gitlabdata.ModelNamesFor(*v), nil
	}
	var models []gitlabdata.ModelName
	for _, name := range strings.Split(only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			models = append(models, gitlabdata.ModelName(name))
		}
	}
	if len(models) == 0 {
		return nil, errors.New("-models lists no model")
	}
	return models, nil
}

// explain turns the errors an auditor can act on into one clear line.
func explain(err error) error {
	var apiErr *gitlabdata.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Hint != "" && apiErr.StatusCode == 404:
		return errors.New(apiErr.Hint)
	case unknownModel(err) && errors.As(err, &apiErr):
		return fmt.Errorf("-models: %s", apiErr.Hint)
	}
	return err
}

// unknownModel reports whether err is GitLab's 400 for a model name the
// server does not accept.
func unknownModel(err error) bool {
	var apiErr *gitlabdata.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == 400 && strings.Contains(apiErr.Message, "model_name does not have a valid value")
}

// auditAll audits models, at most concurrency at once, and returns the
// audits in the order of models. The first error stops the others.
func auditAll(ctx context.Context, models []gitlabdata.ModelName, concurrency int, one func(context.Context, gitlabdata.ModelName) (*audit, error)) ([]*audit, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	audits := make([]*audit, len(models))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, model := range models {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := one(ctx, model)
			if err != nil {
				cancel(fmt.Errorf("auditing %s: %w", model, err))
				return
			}
			audits[i] = a
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return audits, nil
}

// countModel counts model's records by state without listing them.
func countModel(ctx context.Context, client *gitlabdata.Client, model gitlabdata.ModelName) (*audit, error) {
	start := time.Now()
	c, err := client.DataManagement.Count(ctx, model, nil)
	if err != nil {
		return nil, err
	}
	a := &audit{model: model, records: c.Total.N, byState: map[gitlabdata.ChecksumState]int{}, counts: c, duration: time.Since(start)}
	for st, n := range c.ByState {
		a.byState[st] = n.N
	}
	a.nFailed = c.ByState[gitlabdata.ChecksumStateFailed].N
	return a, nil
}

// auditModel streams every record of model; a model the server does not
// know is reported as missing.
func auditModel(ctx context.Context, client *gitlabdata.Client, model gitlabdata.ModelName, show int, progress *progress) (*audit, error) {
	a := &audit{model: model, byState: map[gitlabdata.ChecksumState]int{}}
	start := time.Now()
	err := countRecords(ctx, client, a, show, progress)
	a.duration = time.Since(start)
	return a, err
}

func countRecords(ctx context.Context, client *gitlabdata.Client, a *audit, show int, progress *progress) error {
	for rec, err := range client.DataManagement.All(ctx, a.model, &gitlabdata.ListModelRecordsOptions{PerPage: 100}) {
		if err != nil {
			return err
		}
		a.records++
		progress.update(a.model, a.records)
		if rec.ChecksumInformation == nil {
			a.noInfo++
			continue
		}
		state := rec.ChecksumState()
		a.byState[state]++
		if state == gitlabdata.ChecksumStateFailed {
			a.nFailed++
			if len(a.failedIDs) < maxOneByOne {
				a.failedIDs = append(a.failedIDs, rec.RecordIdentifier)
			}
			if len(a.failed) < show {
				a.failed = append(a.failed, rec)
			}
		}
	}
	return nil
}

// printTable prints a row per model with records, the total (with the
// audit's wall time), the models without records, and those the server
// does not serve.
func printTable(w io.Writer, audits []*audit, wall time.Duration) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tRECORDS\tPENDING\tSTARTED\tSUCCEEDED\tFAILED\tDISABLED\tNO CHECKSUM\tTIME\t")
	var total audit
	total.byState = map[gitlabdata.ChecksumState]int{}
	var empty, notServed []string
	for _, a := range audits {
		switch {
		case a.notServed:
			notServed = append(notServed, string(a.model))
			continue
		case a.records == 0:
			empty = append(empty, string(a.model))
		default:
			printRow(tw, string(a.model), a)
		}
		if a.counts != nil {
			if total.counts == nil {
				total.counts = &gitlabdata.RecordCounts{}
			}
			addCounts(total.counts, a.counts)
		}
		total.records += a.records
		total.noInfo += a.noInfo
		for s, n := range a.byState {
			total.byState[s] += n
		}
	}
	total.duration = wall
	printRow(tw, "TOTAL", &total)
	tw.Flush()
	if len(empty) > 0 {
		fmt.Fprintf(w, "No records in %d more models (%s)\n", len(empty), fewNames(empty))
	}
	if len(notServed) > 0 {
		fmt.Fprintf(w, "Not served by this server: %d models (%s)\n", len(notServed), fewNames(notServed))
	}
}

// fewNames joins the first four names.
func fewNames(names []string) string {
	s := strings.Join(names[:min(len(names), 4)], ", ")
	if len(names) > 4 {
		s += ", …"
	}
	return s
}

func printRow(w io.Writer, name string, a *audit) {
	if c := a.counts; c != nil {
		fmt.Fprintf(w, "%s\t%s\t", name, c.Total)
		for _, s := range gitlabdata.ChecksumStates() {
			if n, ok := c.ByState[s]; ok {
				fmt.Fprintf(w, "%s\t", n)
			} else {
				fmt.Fprint(w, "-\t")
			}
		}
		fmt.Fprintf(w, "%s\t%s\t\n", withoutChecksum(c), a.duration.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "%s\t%d\t", name, a.records)
	for _, s := range gitlabdata.ChecksumStates() {
		fmt.Fprintf(w, "%d\t", a.byState[s])
	}
	fmt.Fprintf(w, "%d\t%s\t\n", a.noInfo, a.duration.Round(time.Millisecond))
}

// withoutChecksum is the number of records in no state, when the counts
// are exact.
func withoutChecksum(c *gitlabdata.RecordCounts) string {
	n := c.Total
	if c.ByState == nil {
		return "-"
	}
	for _, s := range c.ByState {
		if s.AtLeast {
			return "-"
		}
		n.N -= s.N
	}
	if n.AtLeast {
		return "-"
	}
	return n.String()
}

// addCounts adds c to the total counts t.
func addCounts(t, c *gitlabdata.RecordCounts) {
	t.Total.N += c.Total.N
	t.Total.AtLeast = t.Total.AtLeast || c.Total.AtLeast
	if c.ByState == nil {
		return
	}
	if t.ByState == nil {
		t.ByState = map[gitlabdata.ChecksumState]gitlabdata.Count{}
	}
	for s, n := range c.ByState {
		sum := t.ByState[s]
		sum.N += n.N
		sum.AtLeast = sum.AtLeast || n.AtLeast
		t.ByState[s] = sum
	}
}

func printFailed(w io.Writer, audits []*audit, counted bool) {
	if counted {
		return // -counts lists no records
	}
	if totalFailed(audits) == 0 {
		fmt.Fprintln(w, "\nNo failed checksums.")
		return
	}
	fmt.Fprintln(w, "\nFailed checksums:")
	for _, a := range audits {
		for _, rec := range a.failed {
			failure := rec.ChecksumFailure()
			if failure == "" {
				failure = "(no failure text)"
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

// maxOneByOne bounds the failed records -fix recalculates one by one.
const maxOneByOne = 10_000

// recalculate queues recalculation of the failed records of every model that
// has some: one bulk request per model, filtered by state. GitLab 18.3 to
// 18.7 would recalculate every record instead (the SDK refuses with
// ErrUnsafe): there each failed record is recalculated on its own, which
// GitLab does at once.
func recalculate(ctx context.Context, client *gitlabdata.Client, w io.Writer, audits []*audit) error {
	fmt.Fprintln(w)
	for _, a := range audits {
		if a.nFailed == 0 {
			continue
		}
		_, _, err := client.DataManagement.RecalculateChecksums(ctx, a.model,
			gitlabdata.RecalculateChecksumsRequest{ChecksumState: gitlabdata.ChecksumStateFailed})
		switch {
		case errors.Is(err, gitlabdata.ErrUnsafe):
			if err := recalculateOneByOne(ctx, client, w, a); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("queueing recalculation for %s: %w", a.model, err)
		default:
			fmt.Fprintf(w, "Queued checksum recalculation of %d failed %s records.\n", a.nFailed, a.model)
		}
	}
	return nil
}

// recalculateOneByOne recalculates a's failed records one request each.
func recalculateOneByOne(ctx context.Context, client *gitlabdata.Client, w io.Writer, a *audit) error {
	if a.counts != nil {
		fmt.Fprintf(w, "Not recalculated: %d failed %s records (this GitLab ignores bulk filters; run without -counts to recalculate them one by one).\n", a.nFailed, a.model)
		return nil
	}
	ok, still, skipped := 0, 0, 0
	for _, id := range a.failedIDs {
		if id.IsComposite() {
			skipped++ // GitLab's single-record route takes integer ids only
			continue
		}
		rec, _, err := client.DataManagement.RecalculateChecksum(ctx, a.model, id)
		var apiErr *gitlabdata.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.StatusCode == 400:
			still++ // "Verifying ... failed."
		case err != nil:
			return fmt.Errorf("recalculating %s %s: %w", a.model, id, err)
		case rec.ChecksumState() == gitlabdata.ChecksumStateFailed:
			still++
		default:
			ok++
		}
	}
	skipped += a.nFailed - len(a.failedIDs)
	fmt.Fprintf(w, "Recalculated %d failed %s records one by one (this GitLab ignores bulk filters): %d now verify, %d still fail", ok+still, a.model, ok, still)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", skipped)
	}
	fmt.Fprintln(w, ".")
	return nil
}

// progress reports long listings on stderr: a line that rewrites itself on a
// terminal, a line every 50,000 records elsewhere. Models report from
// several goroutines.
type progress struct {
	w        io.Writer
	terminal bool

	mu    sync.Mutex
	shown bool
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
		p.mu.Lock()
		fmt.Fprintf(p.w, "\r%-40s %10d records", model, n)
		p.shown = true
		p.mu.Unlock()
	case !p.terminal && n%50000 == 0:
		p.mu.Lock()
		fmt.Fprintf(p.w, "%s: %d records so far\n", model, n)
		p.mu.Unlock()
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintf(p.w, "\r%60s\r", "")
	}
}
