package drain_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// inMemory is a RoundTripper that serves requests with the fake's handler
// on the calling goroutine: no sockets, and the fake's CPU time is
// measured apart from the client's (threadCPU, on Linux).
type inMemory struct {
	h        http.Handler
	requests atomic.Int64
	fakeCPU  atomic.Int64 // nanoseconds spent in the fake's handler
	// byEndpoint counts the requests by method and path, ids as :id (the
	// drain sends them from one goroutine).
	byEndpoint map[string]int
}

func (m *inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	m.requests.Add(1)
	segs := strings.Split(strings.TrimPrefix(req.URL.Path, "/api/v4/"), "/")
	for i, seg := range segs {
		if _, err := strconv.Atoi(seg); err == nil {
			segs[i] = ":id"
		}
	}
	m.byEndpoint[req.Method+" "+strings.Join(segs, "/")]++
	rec := httptest.NewRecorder()
	in := req.Clone(req.Context()) // as a server receives it
	in.Host, in.RequestURI, in.RemoteAddr = req.URL.Host, req.URL.RequestURI(), "127.0.0.1:1"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	runtime.LockOSThread()
	before := threadCPU()
	m.h.ServeHTTP(rec, in)
	m.fakeCPU.Add(int64(threadCPU() - before))
	runtime.UnlockOSThread()
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// scale is one size of the drain benchmark: projects, and a tenth as many
// snippets and group wikis; one project in 10,000 always fails to move.
type scale struct{ projects, snippets, groups int }

// scaleRun is what one drain of a scale measured.
type scaleRun struct {
	moved, failed, found   int
	requests               int64
	clientCPU, fakeCPU     time.Duration
	seededHeap, peakHeap   uint64
	journal                int
	decode, replay         time.Duration
	wantFailed, truthCount int
	byEndpoint             map[string]int
}

func drainScale(b *testing.B, sc scale) scaleRun {
	clk := newClock()
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1), gitlabtest.WithClock(clk.Now))
	defer srv.Close()
	srv.AddStorage("storage2", 100)
	srv.SetStorageWeight("default", 0)
	ids := srv.AddProjects(sc.projects, "default")
	var run scaleRun
	for i := 9_999; i < len(ids); i += 10_000 {
		srv.UpdateProject(ids[i], func(p *gitlabtest.Project) { p.MoveFailure = "14:connection refused" })
		run.wantFailed++
	}
	for range sc.snippets {
		srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
	}
	for range sc.groups {
		srv.AddGroup(gitlabtest.Group{Storage: "default"})
	}
	tr := &inMemory{h: srv.Handler(), byEndpoint: map[string]int{}}
	client, err := gitlabdata.NewClient(srv.URL(), srv.Token(), gitlabdata.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	run.seededHeap = ms.HeapAlloc
	var journal bytes.Buffer
	j, _ := drain.NewJournal(nil, &journal)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	steps := time.Duration(0)
	pauses := 0
	opts := drain.Options{
		From: "default", To: gitlabdata.String("storage2"), Journal: j,
		Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			clk.advance(d)
			for steps += d; steps >= time.Second; steps -= time.Second {
				srv.Step()
			}
			if pauses++; pauses%500 == 0 {
				metrics.Read(live)
				run.peakHeap = max(run.peakHeap, live[0].Value.Uint64())
			}
			return ctx.Err()
		},
	}
	d, err := drain.New(client, opts)
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := processCPU()
	rep, err := d.Run(b.Context())
	total := processCPU() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	run.requests = tr.requests.Load()
	run.byEndpoint = maps.Clone(tr.byEndpoint)
	run.fakeCPU = time.Duration(tr.fakeCPU.Load())
	run.clientCPU = total - run.fakeCPU
	run.moved, run.failed, run.found = rep.Totals.Moved, rep.Totals.Failed, rep.Totals.Found
	run.journal = journal.Len()
	run.truthCount = len(srv.ProjectsOnStorage("default"))

	// Replay: a second run on the journal finds everything settled.
	start := time.Now()
	j2, err := drain.NewJournal(bytes.NewReader(journal.Bytes()), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	run.decode = time.Since(start)
	d2, _ := drain.New(client, drain.Options{From: "default", To: gitlabdata.String("storage2"), Journal: j2, Now: clk.Now, Sleep: opts.Sleep})
	start = time.Now()
	rep2, err := d2.Run(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	run.replay = time.Since(start)
	if rep2.Totals.Moved != run.moved || !rep2.Resumed {
		b.Fatalf("the resumed run moved %d, resumed %v; want the first run's %d", rep2.Totals.Moved, rep2.Resumed, run.moved)
	}
	return run
}

// BenchmarkDrainScale drains 1,000 to 100,000 projects with a tenth as
// many snippets and group wikis on gitlabtest, in process, on a simulated
// clock (the fake's moves advance one state per simulated second), at
// default settings. It checks every outcome against the fake's ground
// truth and reports GitLab requests per moved container, the client's CPU
// per container (the fake's handler time taken out), the peak heap
// live heap (client and fake, at GC), the journal's bytes per container, and the time to
// decode the journal and to resume a run on it.
//
//	go test ./drain -run '^$' -bench DrainScale -benchtime 1x
func BenchmarkDrainScale(b *testing.B) {
	for _, sc := range []scale{{1_000, 100, 100}, {10_000, 1_000, 1_000}, {100_000, 10_000, 10_000}} {
		b.Run(fmt.Sprintf("projects=%d", sc.projects), func(b *testing.B) {
			var run scaleRun
			for b.Loop() {
				run = drainScale(b, sc)
			}
			total := sc.projects + sc.snippets + sc.groups
			if run.found != total || run.failed != run.wantFailed || run.moved != total-run.wantFailed || run.truthCount != run.wantFailed {
				b.Fatalf("found %d, moved %d, failed %d, %d projects left on default; want %d, %d, %d, %d",
					run.found, run.moved, run.failed, run.truthCount, total, total-run.wantFailed, run.wantFailed, run.wantFailed)
			}
			b.ReportMetric(float64(run.requests)/float64(run.moved), "requests/moved")
			logEndpoints(b, run)
			b.ReportMetric(float64(run.clientCPU.Microseconds())/float64(total), "client-µs/container")
			b.ReportMetric(float64(run.fakeCPU.Microseconds())/float64(total), "fake-µs/container")
			b.ReportMetric(float64(run.peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(run.seededHeap)/(1<<20), "seeded-heap-MiB")
			b.ReportMetric(float64(run.journal)/float64(total), "journal-B/container")
			b.ReportMetric(float64(run.decode.Milliseconds()), "journal-decode-ms")
			b.ReportMetric(float64(run.replay.Milliseconds()), "resume-ms")
		})
	}
}

// logEndpoints logs the requests of each endpoint per moved container.
func logEndpoints(b *testing.B, run scaleRun) {
	eps := slices.Sorted(maps.Keys(run.byEndpoint))
	var lines []string
	for _, ep := range eps {
		lines = append(lines, fmt.Sprintf("%-50s %7d  %.4f/moved", ep, run.byEndpoint[ep], float64(run.byEndpoint[ep])/float64(run.moved)))
	}
	b.Logf("requests by endpoint:\n%s", strings.Join(lines, "\n"))
}

// BenchmarkDrainRequestsPerMovedContainer drains 200 projects, 20
// snippets and 10 group wikis at default settings and reports the GitLab
// requests the fake received (preflight, discovery, schedule calls, polls,
// verification, the final listing) per moved container.
func BenchmarkDrainRequestsPerMovedContainer(b *testing.B) {
	var run scaleRun
	for b.Loop() {
		run = drainScale(b, scale{200, 20, 10})
	}
	b.ReportMetric(float64(run.requests)/float64(run.moved), "requests/moved")
	logEndpoints(b, run)
}
