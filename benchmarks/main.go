// Command benchmarks compares gitlabdata with GitLab's official Go client
// (gitlab.com/gitlab-org/api/client-go) and with a bare net/http +
// encoding/json loop. All of them list the same pages from one server that
// serves pre-rendered bytes. By default the server runs in a child process
// and each measured run in a child process of its own; with -in-process
// everything shares one process. See BENCHMARKS.md in the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

type config struct {
	records, moves int
	reps, runs     int
	latencyReps    int
	latency        time.Duration
	latencyPages   int
	inProcess      bool
	warmUp         float64
}

func main() {
	childMain()
	var cfg config
	flag.IntVar(&cfg.records, "records", 100_000, "data management records to list (keyset)")
	flag.IntVar(&cfg.moves, "moves", 20_000, "storage moves to list (offset)")
	flag.IntVar(&cfg.reps, "reps", 7, "measured rounds per contender in a run (each run reports their median)")
	flag.IntVar(&cfg.runs, "runs", 3, "runs of -reps rounds (the report gives the median of the runs' medians)")
	flag.IntVar(&cfg.latencyReps, "latency-reps", 3, "measured runs per contender in the latency scenario")
	flag.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "latency scenario: server delay and consumer work per page")
	flag.IntVar(&cfg.latencyPages, "latency-pages", 50, "latency scenario: pages per listing")
	flag.BoolVar(&cfg.inProcess, "in-process", false, "run the server and every contender in this one process, as before")
	flag.Float64Var(&cfg.warmUp, "warm-up", 1, "share of the listing each client process walks before its measured run (at least 10 pages; 1 walks it all)")
	flag.Parse()
	if cfg.records < 10*perPage || cfg.moves < 10*perPage || cfg.reps < 1 || cfg.runs < 1 || cfg.latencyReps < 1 || cfg.latencyPages < 1 || cfg.latency <= 0 || cfg.warmUp < 0 || cfg.warmUp > 1 {
		fmt.Fprintf(os.Stderr, "need -records and -moves of at least %d, positive -reps, -runs, -latency-reps, -latency and -latency-pages, and -warm-up from 0 to 1\n", 10*perPage)
		os.Exit(2)
	}
	if err := run(context.Background(), cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

// harness is where the measured runs happen: in child processes (procs) or
// in this process (inProc).
type harness interface {
	// serve makes the server serve k's listing of n items, with gzip
	// bodies or not, sleeping latency before each page.
	serve(k kind, n int, gz bool, latency time.Duration) (dsInfo, error)
	// warm warms c up on w before a run's rounds, where the harness needs
	// it (client children warm up on their own).
	warm(ctx context.Context, w workload, c contender) error
	// round measures one run of c on w, checked.
	round(ctx context.Context, w workload, c contender, pause time.Duration) (sample, error)
	// live measures c's live heap on w, checked.
	live(ctx context.Context, w workload, c contender) (liveHeap, error)
	close()
}

func run(ctx context.Context, cfg config, out, progress io.Writer) error {
	began := time.Now()
	var h harness
	if cfg.inProcess {
		srv, err := newServer()
		if err != nil {
			return err
		}
		h = &inProc{srv: srv, rendered: make(map[string]*dataset)}
	} else {
		p, err := startProcs(cfg.warmUp)
		if err != nil {
			return err
		}
		h = p
	}
	defer h.close()
	all := contenders()
	rep := &report{cfg: cfg, loadBefore: loadAverage()}

	// Each listing at N, with plain bodies and then with gzip ones.
	for _, k := range kinds {
		n := cfg.records
		if k.moves {
			n = cfg.moves
		}
		for _, gz := range []bool{false, true} {
			sec := section{name: k.name, title: k.title, kind: k, n: n, gzip: gz}
			if gz {
				sec.name += "+gzip"
				sec.title += ", gzip bodies"
			}
			rep.sections = append(rep.sections, sec)
		}
	}

	// Throughput and allocations: the whole set of rounds, runs times.
	for r := range cfg.runs {
		for i := range rep.sections {
			sec := &rep.sections[i]
			info, err := h.serve(sec.kind, sec.n, sec.gzip, 0)
			if err != nil {
				return err
			}
			if r == 0 && !sec.gzip {
				fmt.Fprintf(progress, "%s: %d items, %d pages, %.1f MB of JSON, %.1f MB gzipped\n",
					sec.kind.name, info.Items, info.Pages, float64(info.JSONBytes)/1e6, float64(info.GzBytes)/1e6)
			}
			sec.ds = info
			w := workload{name: sec.name, kind: sec.kind.name, ds: info, pick: sec.kind.pick}
			samples, err := throughput(ctx, h, w, all, cfg, r, progress)
			if err != nil {
				return err
			}
			sec.runs = append(sec.runs, samples)
		}
	}
	for i := range rep.sections {
		sec := &rep.sections[i]
		sec.samples = make(map[string]sample)
		for _, c := range all {
			var perRun []sample
			for _, run := range sec.runs {
				perRun = append(perRun, run[c.name])
			}
			sec.samples[c.name] = median(perRun)
		}
	}

	// The live heap, plain bodies only, at N/10 and at N: one run each.
	for i := range rep.sections {
		sec := &rep.sections[i]
		if sec.gzip {
			continue
		}
		var err error
		if sec.small, sec.liveSmall, err = liveHeaps(ctx, h, sec.kind, sec.n/10, all, progress); err != nil {
			return err
		}
		if _, sec.liveBig, err = liveHeaps(ctx, h, sec.kind, sec.n, all, progress); err != nil {
			return err
		}
	}

	// Latency hiding: a slow server and a slow consumer.
	rep.sleep = sleepTakes(cfg.latency)
	for _, k := range kinds[:2] { // records and project moves
		ds, err := h.serve(k, cfg.latencyPages*perPage, false, cfg.latency)
		if err != nil {
			return err
		}
		w := workload{name: k.name, kind: k.name, ds: ds, pick: k.pick}
		lat := latencySection{name: k.name, pages: ds.Pages, samples: make(map[string]sample)}
		for _, c := range all {
			if c.info || !c.decodes {
				continue
			}
			var runs []sample
			for r := range cfg.latencyReps {
				fmt.Fprintf(progress, "  latency run %d/%d, %s: %s\n", r+1, cfg.latencyReps, k.name, c.name)
				s, err := h.round(ctx, w, c, cfg.latency)
				if err != nil {
					return err
				}
				runs = append(runs, s)
			}
			lat.samples[c.name] = median(runs)
		}
		rep.latency = append(rep.latency, lat)
	}

	rep.elapsed, rep.loadAfter = time.Since(began), loadAverage()
	rep.print(out, all)
	return nil
}

// liveHeaps serves k's listing of n items and measures every contender's
// peak live heap on it.
func liveHeaps(ctx context.Context, h harness, k kind, n int, all []contender, progress io.Writer) (dsInfo, map[string]liveHeap, error) {
	ds, err := h.serve(k, n, false, 0)
	if err != nil {
		return ds, nil, err
	}
	w := workload{name: k.name, kind: k.name, ds: ds, pick: k.pick}
	got := make(map[string]liveHeap)
	for _, c := range all {
		fmt.Fprintf(progress, "  live heap, %d %s: %s\n", ds.Items, w.name, c.name)
		live, err := h.live(ctx, w, c)
		if err != nil {
			return ds, nil, err
		}
		got[c.name] = live
	}
	return ds, got, nil
}

// throughput runs the contenders in turn reps times, so that drift over
// time spreads evenly, and keeps the medians. In process, each contender
// is warmed up once first; each client child warms up before its run.
func throughput(ctx context.Context, h harness, w workload, all []contender, cfg config, run int, progress io.Writer) (map[string]sample, error) {
	for _, c := range all {
		if err := h.warm(ctx, w, c); err != nil {
			return nil, err
		}
	}
	runs := make(map[string][]sample)
	for r := range cfg.reps {
		for _, c := range all {
			fmt.Fprintf(progress, "  run %d/%d, round %d/%d, %s: %s\n", run+1, cfg.runs, r+1, cfg.reps, w.name, c.name)
			s, err := h.round(ctx, w, c, 0)
			if err != nil {
				return nil, err
			}
			runs[c.name] = append(runs[c.name], s)
		}
	}
	got := make(map[string]sample)
	for name, s := range runs {
		got[name] = median(s)
	}
	return got, nil
}

// inProc runs the server and the contenders in this process.
type inProc struct {
	srv *server
	// rendered keeps every dataset rendered, by kind and size.
	rendered map[string]*dataset
}

func (h *inProc) serve(k kind, n int, gz bool, latency time.Duration) (dsInfo, error) {
	key := fmt.Sprintf("%s/%d", k.name, n)
	ds := h.rendered[key]
	if ds == nil {
		var err error
		if ds, err = k.render(h.srv.URL, n); err != nil {
			return dsInfo{}, err
		}
		h.rendered[key] = ds
	}
	h.srv.store(k.path, ds)
	h.srv.gzip.Store(gz)
	h.srv.latency.Store(int64(latency))
	return ds.info(), nil
}

// warm walks the whole listing once, as a run does, and throws the
// figures away.
func (h *inProc) warm(ctx context.Context, w workload, c contender) error {
	_, err := measure(ctx, h.srv, w, c, 0)
	return err
}

func (h *inProc) round(ctx context.Context, w workload, c contender, pause time.Duration) (sample, error) {
	return measure(ctx, h.srv, w, c, pause)
}

func (h *inProc) live(ctx context.Context, w workload, c contender) (liveHeap, error) {
	return measureLive(ctx, h.srv, w, c)
}

func (h *inProc) close() { _ = h.srv.Close() }

// The child-process harness: see child.go.

func (p *procs) serve(k kind, n int, gz bool, latency time.Duration) (dsInfo, error) {
	return p.load(k, n, gz, latency)
}

func (p *procs) warm(context.Context, workload, contender) error { return nil }

func (p *procs) round(ctx context.Context, w workload, c contender, pause time.Duration) (sample, error) {
	res, err := p.run(ctx, clientArgs{kind: w.kind, contender: c.name, mode: "run", ds: w.ds, pause: pause})
	if err != nil {
		return sample{}, err
	}
	return sample{wall: res.Wall, cpu: res.CPU, allocs: res.Allocs, bytes: res.Bytes, peakHeap: res.PeakHeap,
		conns: res.Conns, used: res.Used, serverCPU: res.ServerCPU, items: res.Items, sum: res.Sum}, nil
}

func (p *procs) live(ctx context.Context, w workload, c contender) (liveHeap, error) {
	res, err := p.run(ctx, clientArgs{kind: w.kind, contender: c.name, mode: "live", ds: w.ds})
	if err != nil {
		return liveHeap{}, err
	}
	return liveHeap{peak: res.LivePeak, median: res.LiveMedian, items: res.Items, sum: res.Sum}, nil
}

// sleepTakes is how long time.Sleep(d) really takes here: the median of ten.
func sleepTakes(d time.Duration) time.Duration {
	took := make([]time.Duration, 10)
	for i := range took {
		t := time.Now()
		time.Sleep(d)
		took[i] = time.Since(t)
	}
	slices.Sort(took)
	return took[len(took)/2]
}

// loadAverage is the one-minute load average, or "?" where unknown. Other
// processes competing for the CPUs make every figure noisier.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
