package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"time"
)

const (
	// heapObjects counts live objects and dead ones not yet swept: what the
	// heap holds at the moment of the sample.
	heapObjects = "/memory/classes/heap/objects:bytes"
	// heapLive is the heap the last garbage collection found live.
	heapLive = "/gc/heap/live:bytes"
)

// sample is what one run of one contender cost. In the default layout the
// contender runs in a process of its own and CPU time, allocations and heap
// are that process's; with -in-process they are the whole process's, the
// server included.
type sample struct {
	wall, cpu     time.Duration
	allocs, bytes uint64
	// peakHeap is the highest heap sample above the heap measured (after a
	// collection) just before the run.
	peakHeap uint64
	// conns is how many TCP connections the server accepted during the
	// run, used how many of them carried requests.
	conns, used int
	// serverCPU is the server process's CPU time during the run; 0 when
	// the server shares the process.
	serverCPU time.Duration
	// items and sum are what the consumer got: the number of items and
	// the sum of their ids (0 for the floor).
	items int
	sum   int64
}

// workload is one listing to run against the server.
type workload struct {
	name string
	// kind names the listing's kind, for a client child.
	kind string
	ds   dsInfo
	pick func(contender) listing
}

// serverStats is what a server counted: connections accepted and used
// since its last reset, requests refused and CPU time since it started.
type serverStats struct {
	Accepted int   `json:"accepted"`
	Used     int   `json:"used"`
	Refused  int64 `json:"refused"`
	// CPU is the server process's CPU time, in nanoseconds; 0 when the
	// server shares the process with the contenders.
	CPU time.Duration `json:"cpu_ns"`
}

// target is a server to measure against: the in-process one, or the
// server child reached through its control port.
type target interface {
	// base is the URL the contenders list from.
	base() string
	// reset closes the idle connections left by earlier runs and zeroes
	// the connection counts, so that the next run's counts are its own.
	reset() error
	stats() (serverStats, error)
}

// measure runs one listing once, with a consumer that pauses for pause
// after each page, and checks that the server refused nothing and the
// contender saw every item once. Talking to the server's control port
// happens outside the measured span.
func measure(ctx context.Context, t target, w workload, c contender, pause time.Duration) (sample, error) {
	if err := t.reset(); err != nil {
		return sample{}, err
	}
	st0, err := t.stats()
	if err != nil {
		return sample{}, err
	}
	runtime.GC()
	sampler := startSampler(time.Millisecond)

	var m0, m1 runtime.MemStats
	cons := &consumer{pause: pause}
	runtime.ReadMemStats(&m0)
	cpu0, t0 := cpuTime(), time.Now()
	err = w.pick(c)(ctx, t.base(), cons)
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	runtime.ReadMemStats(&m1)
	peak := sampler.stop()
	if err := check(t, st0, w, c, cons, err); err != nil {
		return sample{}, err
	}
	st1, err := t.stats()
	if err != nil {
		return sample{}, err
	}
	return sample{
		wall:      wall,
		cpu:       cpu,
		allocs:    m1.Mallocs - m0.Mallocs,
		bytes:     m1.TotalAlloc - m0.TotalAlloc,
		peakHeap:  peak,
		conns:     st1.Accepted,
		used:      st1.Used,
		serverCPU: st1.CPU - st0.CPU,
		items:     cons.n,
		sum:       cons.sum,
	}, nil
}

// liveHeap is what a listing held on to while the loop body ran, above the
// live heap before the run.
type liveHeap struct {
	peak, median uint64
	// items and sum are what the consumer got.
	items int
	sum   int64
}

// measureLive runs one listing and, in the middle of each page of items,
// collects garbage and reads the live heap.
func measureLive(ctx context.Context, t target, w workload, c contender) (live liveHeap, err error) {
	s := []metrics.Sample{{Name: heapLive}}
	read := func() uint64 {
		runtime.GC()
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	if err := t.reset(); err != nil {
		return liveHeap{}, err
	}
	st0, err := t.stats()
	if err != nil {
		return liveHeap{}, err
	}
	readings := make([]uint64, 0, w.ds.Pages)
	// A collection moves what sync.Pools hold to their victim caches, and
	// the next one drops it. Two make the base free of buffers that earlier
	// runs (or the rendering) left in pools, which would otherwise count in
	// the base and then vanish, making the run look smaller than it is.
	runtime.GC()
	base := read()
	cons := &consumer{probe: func() { readings = append(readings, max(read(), base)-base) }}
	err = w.pick(c)(ctx, t.base(), cons)
	if err := check(t, st0, w, c, cons, err); err != nil {
		return liveHeap{}, err
	}
	if len(readings) == 0 {
		return liveHeap{}, fmt.Errorf("%s on %s: no live heap readings", c.name, w.name)
	}
	slices.Sort(readings)
	return liveHeap{peak: readings[len(readings)-1], median: readings[len(readings)/2], items: cons.n, sum: cons.sum}, nil
}

// runChecked runs the listing and checks it as measure does, measuring
// nothing.
func runChecked(ctx context.Context, t target, w workload, c contender, cons *consumer) error {
	st0, err := t.stats()
	if err != nil {
		return err
	}
	return check(t, st0, w, c, cons, w.pick(c)(ctx, t.base(), cons))
}

// check fails a run that returned an error or met a refusal since st0, or
// whose consumer did not get every item exactly once (the floor, which has
// no ids, only the right number of items).
func check(t target, st0 serverStats, w workload, c contender, cons *consumer, runErr error) error {
	if runErr != nil {
		return fmt.Errorf("%s on %s: %w", c.name, w.name, runErr)
	}
	st1, err := t.stats()
	if err != nil {
		return err
	}
	if n := st1.Refused - st0.Refused; n > 0 {
		return fmt.Errorf("%s on %s: the server refused %d requests", c.name, w.name, n)
	}
	if cons.n != w.ds.Items || c.decodes && cons.sum != w.ds.Sum {
		return fmt.Errorf("%s on %s: got %d items (id sum %d), want %d (id sum %d)",
			c.name, w.name, cons.n, cons.sum, w.ds.Items, w.ds.Sum)
	}
	return nil
}

type heapSampler struct {
	quit chan struct{}
	peak chan uint64
}

// startSampler reads the heap every interval until stop, and reports the
// peak above the reading at the start.
func startSampler(every time.Duration) *heapSampler {
	hs := &heapSampler{quit: make(chan struct{}), peak: make(chan uint64, 1)}
	s := []metrics.Sample{{Name: heapObjects}}
	read := func() uint64 {
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	start := read()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		peak := start
		for {
			select {
			case <-hs.quit:
				hs.peak <- max(peak, read()) - start
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	return hs
}

func (hs *heapSampler) stop() uint64 {
	close(hs.quit)
	return <-hs.peak
}

// medianOf is the median of vals: the middle value, or the mean of the two
// middle values when there is an even number of them.
func medianOf(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	vals = slices.Clone(vals)
	slices.Sort(vals)
	h := len(vals) / 2
	if len(vals)%2 == 0 {
		return (vals[h-1] + vals[h]) / 2
	}
	return vals[h]
}

// median takes the median of each figure on its own, except connections:
// the most any run counted.
func median(samples []sample) sample {
	mid := medianOf
	pick := func(f func(sample) float64) float64 {
		vals := make([]float64, len(samples))
		for i, s := range samples {
			vals[i] = f(s)
		}
		return mid(vals)
	}
	return sample{
		wall:      time.Duration(pick(func(s sample) float64 { return float64(s.wall) })),
		cpu:       time.Duration(pick(func(s sample) float64 { return float64(s.cpu) })),
		allocs:    uint64(pick(func(s sample) float64 { return float64(s.allocs) })),
		bytes:     uint64(pick(func(s sample) float64 { return float64(s.bytes) })),
		peakHeap:  uint64(pick(func(s sample) float64 { return float64(s.peakHeap) })),
		conns:     slices.MaxFunc(samples, func(a, b sample) int { return a.conns - b.conns }).conns,
		used:      slices.MaxFunc(samples, func(a, b sample) int { return a.used - b.used }).used,
		serverCPU: time.Duration(pick(func(s sample) float64 { return float64(s.serverCPU) })),
	}
}
