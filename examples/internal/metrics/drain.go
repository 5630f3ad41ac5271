package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitlabdata/gitlabdata/drain"
)

// outcomes are the eight drain.Outcome values, in the report's order.
var outcomes = []drain.Outcome{
	drain.OutcomeMoved, drain.OutcomeFailed, drain.OutcomeStuck, drain.OutcomeNotMoved,
	drain.OutcomeSkipped, drain.OutcomeNotAttempted, drain.OutcomeGone, drain.OutcomeUnknown,
}

// counted are the outcomes counted as their events come: within a run a
// container keeps them. The others are counted by Finish: stuck and
// not_attempted are known at the end only, and a container gone or
// unknown may be found on the storage again in a later round.
var counted = map[drain.Outcome]bool{
	drain.OutcomeMoved: true, drain.OutcomeFailed: true, drain.OutcomeNotMoved: true, drain.OutcomeSkipped: true,
}

var (
	movesDesc = prometheus.NewDesc("gitlabdata_moves_total",
		"Containers that reached an outcome in this run (of a drain or a rebalance), by kind and outcome (stuck, not_attempted, gone and unknown are counted when the run ends, from its report).",
		[]string{"kind", "outcome"}, nil)
	runningDesc = prometheus.NewDesc("gitlabdata_moves_running",
		"Moves the run follows: schedule calls sent and moves scheduled or re-attached, not yet finished or failed (stuck ones included).", nil, nil)
	movedBytesDesc = prometheus.NewDesc("gitlabdata_moved_bytes_total",
		"Bytes of the containers moved off their storage (verified) in this run, where GitLab gives their size.", nil, nil)
	remainingDesc = prometheus.NewDesc("gitlabdata_remaining_containers",
		"Containers found on the storage, or planned, that have no outcome yet (0 once the run ended: each then has one).", nil, nil)
	remainingBytesDesc = prometheus.NewDesc("gitlabdata_remaining_bytes",
		"Bytes of the remaining containers whose size GitLab gives.", nil, nil)
	etaDesc = prometheus.NewDesc("gitlabdata_eta_seconds",
		"Seconds until every remaining container has an outcome, at this run's rate: remaining bytes over bytes moved per second when every remaining size is known, else remaining containers over containers moved per second. Absent until a move is verified; 0 once the run ended.", nil, nil)
	pausedDesc = prometheus.NewDesc("gitlabdata_scheduling_paused",
		"1 while the run holds back scheduling because of back-pressure (its paused event says why), else 0.", nil, nil)
)

type moveKey struct {
	kind    drain.Kind
	outcome drain.Outcome
}

// Drain is a prometheus.Collector of one drain run, fed by its events:
// pass Event as drain.Options.OnEvent (or call it from there), and Finish
// with the run's report. Scrapes may come at any time, from any goroutine;
// each sees one consistent state.
//
// At the end of a run every gitlabdata_moves_total counter equals the
// report's count of that kind and outcome in this run (a resumed run's
// report also counts what earlier runs moved: Replay tells them apart).
// One exception: a container verified moved and then listed on the storage
// again in a later round counts under moved and not_moved, since a counter
// never goes down.
type Drain struct {
	mu         sync.Mutex
	t          tracker
	moves      map[moveKey]float64
	movedBytes float64
	moved      int       // containers moved in this run, for the rate
	started    time.Time // when the run started
	since      time.Time // the run's first schedule call or re-attached move
	now        time.Time // the time of the last event
	eta        float64
	etaKnown   bool
	paused     bool
	ended      bool
}

// NewDrain returns the collector of a run, with a zero counter for every
// kind and outcome.
func NewDrain() *Drain {
	d := &Drain{t: tracker{items: map[key]*item{}}, moves: map[moveKey]float64{}}
	for _, k := range drain.Kinds() {
		for _, o := range outcomes {
			d.moves[moveKey{k, o}] = 0
		}
	}
	return d
}

// Replay applies the events a journal held before this run (its Events),
// so that a resumed run's gauges count the containers earlier runs left
// without an outcome and its counters leave out the outcomes they gave.
// It counts nothing. Call it before the run.
func (d *Drain) Replay(events []drain.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ev := range events {
		d.t.apply(ev, false)
	}
}

// Event takes in one event of the run; dry-run events are left out.
func (d *Drain) Event(ev drain.Event) {
	if ev.DryRun {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.Type {
	case drain.EventRunStarted:
		d.started, d.paused = ev.Time, false
	case drain.EventResumed:
		d.paused = false
	case drain.EventPaused:
		d.paused = true
	case drain.EventScheduling, drain.EventReattached:
		if d.since.IsZero() {
			d.since = ev.Time
		}
	}
	if it, o := d.t.apply(ev, true); counted[o] {
		d.moves[moveKey{ev.Kind, o}]++
		if o == drain.OutcomeMoved {
			d.moved++
			if it.hasSize {
				d.movedBytes += float64(it.size)
			}
		}
	}
	d.now = ev.Time
	d.estimate()
}

// estimate sets the ETA from the rate of moves since the run's first
// schedule call (or its start, for moves an earlier run left in flight).
func (d *Drain) estimate() {
	from := d.since
	if from.IsZero() {
		from = d.started
	}
	el := d.now.Sub(from).Seconds()
	d.etaKnown = !from.IsZero() && el > 0 && d.moved > 0
	if !d.etaKnown {
		return
	}
	switch left := d.t.remaining(); {
	case left == 0:
		d.eta = 0
	case d.t.unsized == 0 && d.movedBytes > 0:
		d.eta = float64(d.t.bytes) / (d.movedBytes / el)
	default:
		d.eta = float64(left) / (float64(d.moved) / el)
	}
}

// Finish ends the run with its report (nil when Run returned none): it
// adds to each counter what the events did not count, up to the report's
// count in this run, and sets the gauges to 0, since every container now
// has an outcome.
func (d *Drain) Finish(rep *drain.Report) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended, d.paused = true, false
	d.eta, d.etaKnown = 0, true
	if rep == nil {
		return
	}
	standing := d.t.standing()
	for _, kr := range rep.Kinds {
		for _, o := range outcomes {
			mk := moveKey{kr.Kind, o}
			if add := float64(outcomeCount(kr, o)-standing[mk]) - d.moves[mk]; add > 0 {
				d.moves[mk] += add
			}
		}
	}
}

// outcomeCount is kr's count of outcome o.
func outcomeCount(kr *drain.KindReport, o drain.Outcome) int {
	switch o {
	case drain.OutcomeMoved:
		return kr.Moved
	case drain.OutcomeFailed:
		return kr.Failed
	case drain.OutcomeStuck:
		return kr.Stuck
	case drain.OutcomeNotMoved:
		return kr.NotMoved
	case drain.OutcomeSkipped:
		return kr.Skipped
	case drain.OutcomeNotAttempted:
		return kr.NotAttempted
	case drain.OutcomeGone:
		return kr.Gone
	case drain.OutcomeUnknown:
		return kr.Unknown
	}
	return 0
}

// Describe sends the descriptions of the drain's metrics.
func (d *Drain) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{movesDesc, runningDesc, movedBytesDesc, remainingDesc, remainingBytesDesc, etaDesc, pausedDesc} {
		ch <- desc
	}
}

// Collect sends the metrics as they are now.
func (d *Drain) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for mk, n := range d.moves {
		send(ch, movesDesc, prometheus.CounterValue, n, string(mk.kind), string(mk.outcome))
	}
	moving, left, bytes := d.t.count[running], d.t.remaining(), d.t.bytes
	if d.ended {
		moving, left, bytes = 0, 0, 0
	}
	send(ch, runningDesc, prometheus.GaugeValue, float64(moving))
	send(ch, movedBytesDesc, prometheus.CounterValue, d.movedBytes)
	send(ch, remainingDesc, prometheus.GaugeValue, float64(left))
	send(ch, remainingBytesDesc, prometheus.GaugeValue, float64(bytes))
	if d.etaKnown {
		send(ch, etaDesc, prometheus.GaugeValue, d.eta)
	}
	paused := 0.0
	if d.paused {
		paused = 1
	}
	send(ch, pausedDesc, prometheus.GaugeValue, paused)
}

// send sends one constant metric, or the error that keeps it from being
// one.
func send(ch chan<- prometheus.Metric, desc *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(desc, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}
