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

// sample is what one run of one contender cost. CPU time, allocations and
// heap are the whole process's, the in-process server included.
type sample struct {
	wall, cpu     time.Duration
	allocs, bytes uint64
	// peakHeap is the highest heap sample above the heap measured (after a
	// collection) just before the run.
	peakHeap uint64
	// conns is how many TCP connections the server accepted during the
	// run, used how many of them carried requests.
	conns, used int
}

// workload is one listing to run against the server.
type workload struct {
	name string
	ds   *dataset
	pick func(contender) listing
}

// measure runs one listing once, with a consumer that pauses for pause
// after each page, and checks that the contender saw every item once.
func measure(ctx context.Context, srv *server, w workload, c contender, pause time.Duration) (sample, error) {
	srv.resetConnections()
	runtime.GC()
	sampler := startSampler(time.Millisecond)

	var m0, m1 runtime.MemStats
	cons := &consumer{pause: pause}
	runtime.ReadMemStats(&m0)
	cpu0, t0 := cpuTime(), time.Now()
	err := runChecked(ctx, srv, w, c, cons)
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	runtime.ReadMemStats(&m1)
	peak := sampler.stop()
	if err != nil {
		return sample{}, err
	}
	conns, used := srv.connections()
	return sample{
		wall:     wall,
		cpu:      cpu,
		allocs:   m1.Mallocs - m0.Mallocs,
		bytes:    m1.TotalAlloc - m0.TotalAlloc,
		peakHeap: peak,
		conns:    conns,
		used:     used,
	}, nil
}

// liveHeap is what a listing held on to while the loop body ran, above the
// live heap before the run.
type liveHeap struct {
	peak, median uint64
}

// measureLive runs one listing and, in the middle of each page of items,
// collects garbage and reads the live heap.
func measureLive(ctx context.Context, srv *server, w workload, c contender) (live liveHeap, ok bool, err error) {
	s := []metrics.Sample{{Name: heapLive}}
	read := func() uint64 {
		runtime.GC()
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	srv.resetConnections()
	readings := make([]uint64, 0, len(w.ds.pages))
	// A collection moves what sync.Pools hold to their victim caches, and
	// the next one drops it. Two make the base free of buffers that earlier
	// runs (or the rendering) left in pools, which would otherwise count in
	// the base and then vanish, making the run look smaller than it is.
	runtime.GC()
	base := read()
	cons := &consumer{probe: func() { readings = append(readings, max(read(), base)-base) }}
	if err := runChecked(ctx, srv, w, c, cons); err != nil {
		return liveHeap{}, false, err
	}
	slices.Sort(readings)
	return liveHeap{peak: readings[len(readings)-1], median: readings[len(readings)/2]}, true, nil
}

// runChecked runs the listing and checks the server refused nothing and the
// consumer got every item exactly once (the floor, which has no ids, only
// the right number of items).
func runChecked(ctx context.Context, srv *server, w workload, c contender, cons *consumer) error {
	rejected := srv.rejected.Load()
	if err := w.pick(c)(ctx, srv.URL, cons); err != nil {
		return fmt.Errorf("%s on %s: %w", c.name, w.name, err)
	}
	if n := srv.rejected.Load() - rejected; n > 0 {
		return fmt.Errorf("%s on %s: the server refused %d requests", c.name, w.name, n)
	}
	if cons.n != w.ds.items || c.decodes && cons.sum != w.ds.sum {
		return fmt.Errorf("%s on %s: got %d items (id sum %d), want %d (id sum %d)",
			c.name, w.name, cons.n, cons.sum, w.ds.items, w.ds.sum)
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

// median takes the median of each figure on its own, except connections:
// the most any run counted.
func median(samples []sample) sample {
	mid := func(vals []float64) float64 {
		slices.Sort(vals)
		return vals[len(vals)/2]
	}
	pick := func(f func(sample) float64) float64 {
		vals := make([]float64, len(samples))
		for i, s := range samples {
			vals[i] = f(s)
		}
		return mid(vals)
	}
	return sample{
		wall:     time.Duration(pick(func(s sample) float64 { return float64(s.wall) })),
		cpu:      time.Duration(pick(func(s sample) float64 { return float64(s.cpu) })),
		allocs:   uint64(pick(func(s sample) float64 { return float64(s.allocs) })),
		bytes:    uint64(pick(func(s sample) float64 { return float64(s.bytes) })),
		peakHeap: uint64(pick(func(s sample) float64 { return float64(s.peakHeap) })),
		conns:    slices.MaxFunc(samples, func(a, b sample) int { return a.conns - b.conns }).conns,
		used:     slices.MaxFunc(samples, func(a, b sample) int { return a.used - b.used }).used,
	}
}
