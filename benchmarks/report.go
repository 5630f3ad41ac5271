package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets from the issue.
const (
	targetRatio = 0.5  // CPU and allocations per item, against each rival
	targetFloor = 1.25 // CPU per item, against the floor
	// targetAllocs is how many allocations per item gitlabdata may make
	// above the floor's (the server's and the transport's, the same for
	// every contender).
	targetAllocs  = 1.0
	targetLatency = 1.15 // wall time against the latency limit
	// targetPages is what "a few pages' worth" of live heap means here,
	// in pages of JSON.
	targetPages = 4.0
	// targetGrowth is how much the live heap may grow, in pages, when the
	// listing grows tenfold.
	targetGrowth = 1.0
)

type section struct {
	name, title string
	kind        kind
	n           int
	gzip        bool
	ds, small   dsInfo
	// runs holds each run's medians, samples the median of those.
	runs               []map[string]sample
	samples            map[string]sample
	liveSmall, liveBig map[string]liveHeap
}

// floorRatio is the median over runs of each run's ratio of name's CPU
// time to the floor's.
func (s section) floorRatio(name string) float64 {
	return medianOf(s.floorRatios(name))
}

func (s section) floorRatios(name string) []float64 {
	var rs []float64
	for _, run := range s.runs {
		rs = append(rs, ratio(run[name].cpu, run[nameFloor].cpu))
	}
	return rs
}

type latencySection struct {
	name    string
	pages   int
	samples map[string]sample
}

type report struct {
	cfg      config
	elapsed  time.Duration
	sections []section
	latency  []latencySection
	// sleep is what time.Sleep(cfg.latency) really took.
	sleep                 time.Duration
	loadBefore, loadAfter string
}

func (r *report) print(out io.Writer, all []contender) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

	p("gitlabdata benchmarks")
	p("machine:   %s/%s, %d CPUs (GOMAXPROCS %d), %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel(), runtime.Version())
	p("rival:     %s", clientGoVersion())
	where := "outside the Go heap (mmap)"
	if !pagesOffHeap {
		where = "on the Go heap (heap figures include them)"
	}
	if r.cfg.inProcess {
		p("server:    in this process; every contender reads the same pre-rendered bytes, kept %s", where)
		p("figures:   median of %d runs of %d rounds, each after one warm-up per contender; CPU time, allocations and heap are the whole process's, server included", r.cfg.runs, r.cfg.reps)
	} else {
		p("server:    one child process; every contender reads the same pre-rendered bytes, kept %s", where)
		p("clients:   one child process per measured round, which first walks %.0f%% of the listing (at least 10 pages) to warm up", 100*r.cfg.warmUp)
		p("figures:   median of %d runs of %d rounds; CPU time, allocations and heap are the client process's, server CPU shown apart", r.cfg.runs, r.cfg.reps)
	}
	p("total:     %s; load average (1 min) %s before, %s after", r.elapsed.Round(time.Second), r.loadBefore, r.loadAfter)

	r.printSummary(p, w)
	for _, s := range r.sections {
		r.printSection(p, w, s, all)
	}
	r.printLatency(p, w, all)
}

func (r *report) printSection(p func(string, ...any), w *tabwriter.Writer, s section, all []contender) {
	n := float64(s.ds.Items)
	page := s.ds.pageBytes()
	p("")
	p("== %s: %s; %d items, %d pages of %d, %.1f MB of JSON (%.1f KiB a page, %.1f KiB gzipped)",
		s.name, s.title, s.ds.Items, s.ds.Pages, perPage, float64(s.ds.JSONBytes)/1e6, page/1024, float64(s.ds.GzBytes)/float64(s.ds.Pages)/1024)
	p("")
	p("contender\twall\tCPU/item\tallocs/item\tbytes/item\tpeak heap\tconns\tserver CPU/item\t")
	for _, c := range all {
		m := s.samples[c.name]
		srvCPU := "-"
		if !r.cfg.inProcess {
			srvCPU = fmt.Sprintf("%.2f µs", float64(m.serverCPU.Nanoseconds())/n/1e3)
		}
		p("%s\t%s\t%.2f µs\t%.1f\t%.0f B\t%s\t%s\t%s\t", label(c), m.wall.Round(time.Millisecond),
			float64(m.cpu.Nanoseconds())/n/1e3, float64(m.allocs)/n, float64(m.bytes)/n, size(float64(m.peakHeap)), conns(m), srvCPU)
	}
	w.Flush()

	cg, bl, fl := s.samples[nameClientGo], s.samples[nameBaseline], s.samples[nameFloor]
	p("")
	p("against the floor\tCPU\tCPU above\tallocs above\tbytes above\t")
	for _, c := range all {
		m := s.samples[c.name]
		p("%s\t%.2fx\t%+.2f µs\t%+.2f\t%+.0f B\t", label(c), s.floorRatio(c.name),
			float64((m.cpu-fl.cpu).Nanoseconds())/n/1e3, (float64(m.allocs)-float64(fl.allocs))/n, (float64(m.bytes)-float64(fl.bytes))/n)
	}
	w.Flush()
	p("")
	p("ratios\tto client-go\t\t\t\t\tto baseline\t\t\t\t\t")
	p("contender\tCPU\tallocs\tbytes\tpeak heap\twall\tCPU\tallocs\tbytes\tpeak heap\twall\t")
	for _, c := range all {
		m := s.samples[c.name]
		p("%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t", label(c),
			ratio(m.cpu, cg.cpu), ratio(m.allocs, cg.allocs), ratio(m.bytes, cg.bytes), ratio(m.peakHeap, cg.peakHeap), ratio(m.wall, cg.wall),
			ratio(m.cpu, bl.cpu), ratio(m.allocs, bl.allocs), ratio(m.bytes, bl.bytes), ratio(m.peakHeap, bl.peakHeap), ratio(m.wall, bl.wall))
	}
	w.Flush()

	sdk := s.samples[nameSDK]
	p("")
	p("targets (%s)\tvalue\tverdict\t", nameSDK)
	vf := s.floorRatio(nameSDK)
	p("CPU/item <= %.2fx floor\t%.2fx\t%s\t", targetFloor, vf, verdict(vf <= targetFloor))
	above := (float64(sdk.allocs) - float64(fl.allocs)) / n
	p("allocs/item above the floor <= %.1f\t%.2f\t%s\t", targetAllocs, above, verdict(above <= targetAllocs))
	for _, t := range []struct {
		what   string
		mine   float64
		theirs float64
	}{
		{"CPU/item <= 0.5x client-go", float64(sdk.cpu), float64(cg.cpu)},
		{"CPU/item <= 0.5x baseline", float64(sdk.cpu), float64(bl.cpu)},
		{"allocs/item <= 0.5x client-go", float64(sdk.allocs), float64(cg.allocs)},
		{"allocs/item <= 0.5x baseline", float64(sdk.allocs), float64(bl.allocs)},
	} {
		v := t.mine / t.theirs
		p("%s\t%.2fx\t%s\t", t.what, v, verdict(v <= targetRatio))
	}
	p("one TCP connection for the listing\t%s\t%s\t", conns(sdk), verdict(sdk.conns == 1))
	w.Flush()
	if s.gzip {
		return // the live heap is measured with plain bodies
	}

	p("")
	p("live heap while the loop body runs: a full collection in the middle of each page, live heap above the")
	p("live heap before the run; peak and median over the pages of one run (a page is %.1f KiB of JSON)", page/1024)
	p("contender\tN=%d peak\tmedian\tN=%d peak\tmedian\tpeak to client-go\tto baseline\t", s.small.Items, s.ds.Items)
	pages := func(b uint64) string { return fmt.Sprintf("%s (%.1f pages)", size(float64(b)), float64(b)/page) }
	for _, c := range all {
		a, b := s.liveSmall[c.name], s.liveBig[c.name]
		p("%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t", label(c), pages(a.peak), pages(a.median), pages(b.peak), pages(b.median),
			ratio(b.peak, s.liveBig[nameClientGo].peak), ratio(b.peak, s.liveBig[nameBaseline].peak))
	}
	w.Flush()
	big := float64(s.liveBig[nameSDK].peak) / page
	growth := big - float64(s.liveSmall[nameSDK].peak)/page
	p("")
	p("targets (%s)\tvalue\tverdict\t", nameSDK)
	p("peak live heap <= %.0f pages at N=%d\t%.2f pages\t%s\t", targetPages, s.ds.Items, big, verdict(big <= targetPages))
	p("peak growth from N=%d to N=%d <= %.0f page\t%+.2f pages\t%s\t", s.small.Items, s.ds.Items, targetGrowth, growth, verdict(growth <= targetGrowth))
	w.Flush()
}

// printSummary puts the CPU per item of every section side by side, with
// gitlabdata's and client-go's ratios to the floor.
func (r *report) printSummary(p func(string, ...any), w *tabwriter.Writer) {
	whose := "client process"
	if r.cfg.inProcess {
		whose = "whole process"
	}
	p("")
	p("summary: CPU/item (%s) and allocations/item above the floor; CPU/item is the median of the runs' medians,", whose)
	p("x floor the median of the runs' ratios")
	p("listing\tfloor\tgitlabdata\tx floor\tclient-go\tx floor\tbaseline\tx floor\tallocs above floor\t")
	for _, s := range r.sections {
		n := float64(s.ds.Items)
		fl, sdk, cg, bl := s.samples[nameFloor], s.samples[nameSDK], s.samples[nameClientGo], s.samples[nameBaseline]
		us := func(m sample) string { return fmt.Sprintf("%.2f µs", float64(m.cpu.Nanoseconds())/n/1e3) }
		p("%s\t%s\t%s\t%.2f\t%s\t%.2f\t%s\t%.2f\t%+.2f\t", s.name, us(fl), us(sdk), s.floorRatio(nameSDK),
			us(cg), s.floorRatio(nameClientGo), us(bl), s.floorRatio(nameBaseline), (float64(sdk.allocs)-float64(fl.allocs))/n)
	}
	w.Flush()

	p("")
	p("%s x floor per run (CPU/item, median of %d rounds each), and their median", nameSDK, r.cfg.reps)
	head := "listing\t"
	for i := range r.cfg.runs {
		head += fmt.Sprintf("run %d\t", i+1)
	}
	p("%s\tmedian\t", head)
	for _, s := range r.sections {
		line := s.name + "\t"
		for _, v := range s.floorRatios(nameSDK) {
			line += fmt.Sprintf("%.2f\t", v)
		}
		p("%s→\t%.2f\t", line, s.floorRatio(nameSDK))
	}
	w.Flush()
}

func (r *report) printLatency(p func(string, ...any), w *tabwriter.Writer, all []contender) {
	d := r.cfg.latency
	p("")
	p("== latency: server waits %s before each page; the consumer spends %s on each page of %d items", d, d, perPage)
	p("time.Sleep(%s) takes %s on this machine (median of 10)", d, r.sleep.Round(10*time.Microsecond))
	for _, l := range r.latency {
		limit := time.Duration(l.pages) * d // max(pages × latency, pages × consumer time); both are d
		p("")
		p("%s: %d pages; limit = max(%d x %s, %d x %s) = %s", l.name, l.pages, l.pages, d, l.pages, d, limit)
		best := time.Duration(l.pages+1) * r.sleep
		p("with sleeps as long as measured, even perfect overlap takes the first page's wait plus %d pages of work: %s (%.2fx)",
			l.pages, best.Round(time.Millisecond), ratio(best, limit))
		p("contender\twall\twall/limit\tconns\t")
		for _, c := range all {
			m, ok := l.samples[c.name]
			if !ok {
				continue
			}
			p("%s\t%s\t%.2fx\t%s\t", label(c), m.wall.Round(time.Millisecond), ratio(m.wall, limit), conns(m))
		}
		m := l.samples[nameSDKAhead]
		v := ratio(m.wall, limit)
		p("target: %s wall <= %.2fx limit\t%.2fx\t%s\t", nameSDKAhead, targetLatency, v, verdict(v <= targetLatency))
		w.Flush()
	}
}

func label(c contender) string {
	switch {
	case !c.decodes:
		return c.name + " (no decoding)"
	case c.info:
		return c.name + " (info)"
	}
	return c.name
}

func ratio[T ~int64 | ~uint64](a, b T) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// conns shows the connections the server accepted, and how many of them
// carried requests when that is fewer.
func conns(m sample) string {
	if m.used < m.conns {
		return fmt.Sprintf("%d (%d used)", m.conns, m.used)
	}
	return strconv.Itoa(m.conns)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func size(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

func clientGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if strings.HasPrefix(m.Path, "gitlab.com/gitlab-org/api/client-go") {
				return m.Path + " " + m.Version
			}
		}
	}
	return "gitlab.com/gitlab-org/api/client-go (version unknown)"
}
