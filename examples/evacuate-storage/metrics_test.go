package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// scraper is the tool's standard error: it finds the metrics' URL in the
// lines written, calls hook on each line, and from the line that says the
// final metrics are served it scrapes until stop.
type scraper struct {
	t    *testing.T
	hook func(s *scraper, line string) // called with mu held
	mu   sync.Mutex
	out  bytes.Buffer
	url  string
	last string // the last scrape of the final metrics
	stop chan struct{}
	wg   sync.WaitGroup
}

func newScraper(t *testing.T, hook func(*scraper, string)) *scraper {
	return &scraper{t: t, hook: hook, stop: make(chan struct{})}
}

func (s *scraper) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := string(p)
	if _, url, ok := strings.Cut(line, "Serving metrics at "); ok {
		s.url = strings.TrimSpace(url)
	}
	if s.hook != nil {
		s.hook(s, line)
	}
	if strings.Contains(line, "Serving the final metrics") {
		s.wg.Go(func() {
			for {
				body, err := fetch(s.url)
				if err == nil {
					s.mu.Lock()
					s.last = body
					s.mu.Unlock()
				}
				select {
				case <-s.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	return s.out.Write(p)
}

// final stops the scrapes and returns the last one.
func (s *scraper) final() string {
	close(s.stop)
	s.wg.Wait()
	if s.last == "" {
		s.t.Fatalf("no scrape of the final metrics; the tool said:\n%s", s.out.String())
	}
	return s.last
}

func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// samples reads the gitlabdata_ samples of an exposition: `name{labels}`
// → value.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "gitlabdata_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("not a sample: %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func movesTotal(k drain.Kind, o string) string {
	return `gitlabdata_moves_total{kind="` + string(k) + `",outcome="` + o + `"}`
}

// counts is a kind's outcome counts by outcome name.
func counts(k *drain.KindReport) map[string]int {
	return map[string]int{"moved": k.Moved, "failed": k.Failed, "stuck": k.Stuck, "not_moved": k.NotMoved, "skipped": k.Skipped,
		"not_attempted": k.NotAttempted, "gone": k.Gone, "unknown": k.Unknown}
}

// drainScraped runs the tool with -apply -json -metrics against the fake at
// GITLAB_URL, and returns its exit code, its report and the last scrape of
// its final metrics. hook sees each line it writes.
func drainScraped(t *testing.T, ctx context.Context, hook func(*scraper, string), args ...string) (int, drain.Report, string) {
	t.Helper()
	args = append([]string{"-to", "storage2", "-apply", "-json", "-poll", "20ms", "-retries", "0", "-metrics", "127.0.0.1:0", "-metrics-linger", "20s"}, args...)
	var stdout bytes.Buffer
	s := newScraper(t, hook)
	code := run(ctx, args, &stdout, s)
	final := s.final()
	var rep drain.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("run(%q) printed no report: %v\n%s", args, err, s.out.String())
	}
	return code, rep, final
}

// demo serves the demo instance at GITLAB_URL and returns its token.
func demo(t *testing.T) string {
	srv := gitlabtest.NewServer(gitlabtest.WithDemoData(), gitlabtest.WithStepInterval(50*time.Millisecond), gitlabtest.WithSeed(7))
	t.Cleanup(srv.Close)
	t.Setenv("GITLAB_URL", srv.URL())
	t.Setenv("GITLAB_TOKEN", srv.Token())
	return srv.Token()
}

// A drain interrupted after 3 moves, then resumed on its journal: a scrape
// during the first run sees containers remaining; the final scrape of each
// run has every counter at the report's count of that run (the resumed
// report less the first run's moves), and neither shows the token.
func TestMetricsOfAnInterruptedAndResumedDrain(t *testing.T) {
	token := demo(t)
	journal := filepath.Join(t.TempDir(), "drain.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	moved, during := 0, ""
	code, rep1, body1 := drainScraped(t, ctx, func(s *scraper, line string) {
		if strings.Contains(line, " moved in ") {
			if moved++; moved == 1 {
				during, _ = fetch(s.url)
			}
			if moved == 3 {
				cancel()
			}
		}
	}, "-journal", journal)
	if code != exitInterrupted {
		t.Fatalf("first run = %d; want %d", code, exitInterrupted)
	}
	if mid := samples(t, during); mid["gitlabdata_remaining_containers"] == 0 || mid["gitlabdata_remaining_containers"] > 33 {
		t.Errorf("a scrape during the run: %d remaining; want 1 to 33\n%s", int(mid["gitlabdata_remaining_containers"]), during)
	}
	code, rep2, body2 := drainScraped(t, t.Context(), nil, "-journal", journal)
	if code != exitRemaining || !rep2.Resumed {
		t.Fatalf("resumed run = %d (resumed %v); want %d", code, rep2.Resumed, exitRemaining)
	}
	final1, final2 := samples(t, body1), samples(t, body2)
	for i, k := range rep2.Kinds {
		for o, n := range counts(k) {
			if got := final1[movesTotal(k.Kind, o)]; got != float64(counts(rep1.Kinds[i])[o]) {
				t.Errorf("first run: %s = %v; its report says %d", movesTotal(k.Kind, o), got, counts(rep1.Kinds[i])[o])
			}
			if o == "moved" {
				n -= rep1.Kinds[i].Moved // moved by the first run, counted by its metrics
			}
			if got := final2[movesTotal(k.Kind, o)]; got != float64(n) {
				t.Errorf("resumed run: %s = %v; want %d", movesTotal(k.Kind, o), got, n)
			}
		}
	}
	if final1["gitlabdata_moved_bytes_total"]+final2["gitlabdata_moved_bytes_total"] != float64(rep2.Totals.Bytes) {
		t.Errorf("moved bytes %v + %v; want the resumed report's %d", final1["gitlabdata_moved_bytes_total"], final2["gitlabdata_moved_bytes_total"], rep2.Totals.Bytes)
	}
	for _, body := range []string{during, body1, body2} {
		if strings.Contains(body, token) {
			t.Errorf("the metrics show the token:\n%s", body)
		}
	}
}

// -metrics is checked before the tool talks to GitLab: a port in use ends
// it with exit status 2 and no request.
func TestMetricsPortInUseExits2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	fake := startFake(t, 3)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	res := runTool(t, fake.env(fake.token), time.Minute, "-to", "storage2", "-apply", "-metrics", busy.Addr().String())
	want := "evacuate-storage: -metrics " + busy.Addr().String() + ": cannot listen: bind: address already in use"
	if res.code != exitBadFlags || lastLine(res.stderr) != want {
		t.Errorf("exit %d, last line %q; want %d, %q", res.code, lastLine(res.stderr), exitBadFlags, want)
	}
	if reqs := fake.requests(); len(reqs) != 0 {
		t.Errorf("the tool sent %d requests before refusing -metrics: %+v", len(reqs), reqs)
	}
}
