// Command benchmarks compares gitlabdata with GitLab's official Go client
// (gitlab.com/gitlab-org/api/client-go) and with a bare net/http +
// encoding/json loop. All of them list the same pages from one in-process
// server that serves pre-rendered bytes. See BENCHMARKS.md in the
// repository root.
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
	reps           int
	latencyReps    int
	latency        time.Duration
	latencyPages   int
}

func main() {
	var cfg config
	flag.IntVar(&cfg.records, "records", 100_000, "data management records to list (keyset)")
	flag.IntVar(&cfg.moves, "moves", 20_000, "storage moves to list (offset)")
	flag.IntVar(&cfg.reps, "reps", 7, "measured runs per contender (the median is reported)")
	flag.IntVar(&cfg.latencyReps, "latency-reps", 3, "measured runs per contender in the latency scenario")
	flag.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "latency scenario: server delay and consumer work per page")
	flag.IntVar(&cfg.latencyPages, "latency-pages", 50, "latency scenario: pages per listing")
	flag.Parse()
	if cfg.records < 10*perPage || cfg.moves < 10*perPage || cfg.reps < 1 || cfg.latencyReps < 1 || cfg.latencyPages < 1 || cfg.latency <= 0 {
		fmt.Fprintf(os.Stderr, "need -records and -moves of at least %d, and positive -reps, -latency-reps, -latency and -latency-pages\n", 10*perPage)
		os.Exit(2)
	}
	if err := run(context.Background(), cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out, progress io.Writer) error {
	began := time.Now()
	srv, err := newServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	all := contenders()
	rep := &report{cfg: cfg, loadBefore: loadAverage()}

	// Each listing at N, with plain bodies and then with gzip ones:
	// throughput and allocations, and for plain bodies the live heap at
	// N/10 and N.
	for _, k := range kinds {
		n := cfg.records
		if k.moves {
			n = cfg.moves
		}
		big, err := k.render(srv.URL, n)
		if err != nil {
			return err
		}
		small, err := k.render(srv.URL, n/10)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "%s: %d items, %d pages, %.1f MB of JSON, %.1f MB gzipped\n",
			k.name, big.items, len(big.pages), float64(big.jsonBytes)/1e6, float64(big.gzBytes)/1e6)
		store := func(ds *dataset) { srv.store(k.path, ds) }
		for _, gz := range []bool{false, true} {
			sec := section{name: k.name, title: k.title, ds: big, small: small, gzip: gz}
			if gz {
				sec.name += "+gzip"
				sec.title += ", gzip bodies"
			}
			srv.gzip.Store(gz)
			w := workload{name: sec.name, ds: big, pick: k.pick}
			store(big)
			if sec.samples, err = throughput(ctx, srv, w, all, cfg.reps, progress); err != nil {
				return err
			}
			if !gz {
				if sec.liveSmall, err = liveHeaps(ctx, srv, workload{name: k.name, ds: small, pick: k.pick}, store, all, progress); err != nil {
					return err
				}
				if sec.liveBig, err = liveHeaps(ctx, srv, w, store, all, progress); err != nil {
					return err
				}
			}
			rep.sections = append(rep.sections, sec)
		}
		srv.gzip.Store(false)
	}

	// Latency hiding: a slow server and a slow consumer.
	rep.sleep = sleepTakes(cfg.latency)
	srv.latency.Store(int64(cfg.latency))
	for _, k := range kinds[:2] { // records and project moves
		ds, err := k.render(srv.URL, cfg.latencyPages*perPage)
		if err != nil {
			return err
		}
		srv.store(k.path, ds)
		w := workload{name: k.name, ds: ds, pick: k.pick}
		lat := latencySection{name: k.name, pages: len(ds.pages), samples: make(map[string]sample)}
		for _, c := range all {
			if c.info || !c.decodes {
				continue
			}
			var runs []sample
			for r := range cfg.latencyReps {
				fmt.Fprintf(progress, "  latency run %d/%d, %s: %s\n", r+1, cfg.latencyReps, k.name, c.name)
				s, err := measure(ctx, srv, w, c, cfg.latency)
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

// liveHeaps serves ds and measures every contender's peak live heap on it.
func liveHeaps(ctx context.Context, srv *server, w workload, store func(*dataset), all []contender, progress io.Writer) (map[string]liveHeap, error) {
	store(w.ds)
	got := make(map[string]liveHeap)
	for _, c := range all {
		fmt.Fprintf(progress, "  live heap, %d %s: %s\n", w.ds.items, w.name, c.name)
		live, ok, err := measureLive(ctx, srv, w, c)
		if err != nil {
			return nil, err
		}
		if ok {
			got[c.name] = live
		}
	}
	return got, nil
}

// throughput warms every contender up once, then runs them in turn reps
// times, so that drift over time spreads evenly, and keeps the medians.
func throughput(ctx context.Context, srv *server, w workload, all []contender, reps int, progress io.Writer) (map[string]sample, error) {
	for _, c := range all {
		fmt.Fprintf(progress, "  warm-up, %s: %s\n", w.name, c.name)
		if _, err := measure(ctx, srv, w, c, 0); err != nil {
			return nil, err
		}
	}
	runs := make(map[string][]sample)
	for r := range reps {
		for _, c := range all {
			fmt.Fprintf(progress, "  run %d/%d, %s: %s\n", r+1, reps, w.name, c.name)
			s, err := measure(ctx, srv, w, c, 0)
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
