package metrics

import (
	"sync"
	"testing"

	"github.com/gitlabdata/gitlabdata/drain"
)

const (
	project     = drain.KindProject
	mRunning    = "gitlabdata_moves_running"
	mMovedBytes = "gitlabdata_moved_bytes_total"
	mLeft       = "gitlabdata_remaining_containers"
	mLeftBytes  = "gitlabdata_remaining_bytes"
	mETA        = "gitlabdata_eta_seconds"
	mPaused     = "gitlabdata_scheduling_paused"
)

func TestDrainMetricsFollowTheEvents(t *testing.T) {
	t.Parallel()
	started := drain.Event{Type: drain.EventRunStarted, Time: t0}
	heartbeat := drain.Event{Type: drain.EventHeartbeat, Time: t0.Add(11e9)}
	earlier := []drain.Event{ // a run that moved 1 and left 2 in flight or waiting
		started, sized(ev(drain.EventPlanned, 1, 0), 10), sized(ev(drain.EventPlanned, 2, 0), 20), ev(drain.EventPlanned, 3, 0),
		ev(drain.EventScheduling, 1, 0), ev(drain.EventScheduled, 1, 0), ev(drain.EventFinished, 1, 0), ev(drain.EventMoved, 1, 0),
		ev(drain.EventScheduling, 2, 0), ev(drain.EventScheduled, 2, 0), {Type: drain.EventRunEnded},
	}
	resumed := []drain.Event{
		started, ev(drain.EventFinished, 2, 2), ev(drain.EventMoved, 2, 2),
		ev(drain.EventScheduling, 3, 3), ev(drain.EventScheduled, 3, 3), ev(drain.EventFinished, 3, 5), ev(drain.EventMoved, 3, 5),
	}
	oneMoved := []drain.Event{
		started, sized(ev(drain.EventPlanned, 1, 0), 100), sized(ev(drain.EventPlanned, 2, 0), 300),
		ev(drain.EventScheduling, 1, 1), ev(drain.EventScheduled, 1, 1), ev(drain.EventFinished, 1, 3), ev(drain.EventMoved, 1, 3),
	}
	leftOver := []drain.Event{ // unknown in two rounds, gone, stuck, waiting
		started, ev(drain.EventPlanned, 1, 0), ev(drain.EventPlanned, 2, 0), ev(drain.EventPlanned, 3, 0), ev(drain.EventPlanned, 4, 0),
		ev(drain.EventListingError, 1, 0), ev(drain.EventGone, 2, 1), ev(drain.EventScheduling, 3, 1), ev(drain.EventScheduled, 3, 1),
		ev(drain.EventStuck, 3, 9), ev(drain.EventListingError, 1, 10),
	}
	paused := drain.Event{Type: "paused", Reason: "GitLab's Sidekiq queue is long"}
	tests := []struct {
		name   string
		replay []drain.Event
		events []drain.Event
		report *drain.Report // for Finish, when set
		want   map[string]float64
		absent []string
	}{
		{
			name:   "a moved project counts with its bytes; the ETA goes by bytes",
			events: oneMoved,
			want:   map[string]float64{moves(project, drain.OutcomeMoved): 1, mMovedBytes: 100, mLeft: 1, mLeftBytes: 300, mRunning: 0, mETA: 300 / (100.0 / 2)},
		},
		{
			name:   "a heartbeat ages the rate",
			events: append(oneMoved[:len(oneMoved):len(oneMoved)], heartbeat),
			want:   map[string]float64{mETA: 300 / (100.0 / 10)},
		},
		{
			name: "the ETA goes by containers while a remaining size is unknown",
			events: []drain.Event{
				started, of(drain.KindSnippet, ev(drain.EventPlanned, 7, 0)), sized(ev(drain.EventPlanned, 1, 0), 100), sized(ev(drain.EventPlanned, 2, 0), 100),
				ev(drain.EventScheduling, 1, 10), ev(drain.EventScheduled, 1, 10), ev(drain.EventFinished, 1, 20), ev(drain.EventMoved, 1, 20),
			},
			want: map[string]float64{mLeft: 2, mLeftBytes: 100, mETA: 2 / (1.0 / 10)},
		},
		{
			name: "the ETA is 0 when nothing remains",
			events: []drain.Event{
				started, ev(drain.EventPlanned, 1, 0), ev(drain.EventScheduling, 1, 0), ev(drain.EventScheduled, 1, 0), ev(drain.EventFinished, 1, 4), ev(drain.EventMoved, 1, 4),
			},
			want: map[string]float64{mLeft: 0, mETA: 0},
		},
		{
			name: "running counts schedule calls, moves and stuck moves; no ETA before a move",
			events: []drain.Event{
				started, ev(drain.EventPlanned, 1, 0), ev(drain.EventPlanned, 2, 0), ev(drain.EventPlanned, 3, 0), ev(drain.EventPlanned, 4, 0),
				ev(drain.EventScheduling, 1, 1), ev(drain.EventScheduling, 2, 1), ev(drain.EventScheduled, 2, 1),
				ev(drain.EventScheduling, 3, 1), ev(drain.EventScheduled, 3, 1), ev(drain.EventStuck, 3, 9),
				ev(drain.EventScheduling, 4, 1), ev(drain.EventScheduled, 4, 1), ev(drain.EventFinished, 4, 2),
			},
			want:   map[string]float64{mRunning: 3, mLeft: 4},
			absent: []string{mETA},
		},
		{
			name: "a failed attempt is no outcome; a final one is",
			events: []drain.Event{
				started, sized(ev(drain.EventPlanned, 1, 0), 5), ev(drain.EventScheduling, 1, 0), ev(drain.EventScheduled, 1, 0), ev(drain.EventFailed, 1, 1),
				ev(drain.EventScheduling, 1, 2), ev(drain.EventScheduled, 1, 2), final(ev(drain.EventFailed, 1, 3)),
			},
			want: map[string]float64{moves(project, drain.OutcomeFailed): 1, mRunning: 0, mLeft: 0, mLeftBytes: 0},
		},
		{
			name:   "unknown, gone, stuck and not_attempted wait for the report",
			events: leftOver,
			want: map[string]float64{moves(project, drain.OutcomeUnknown): 0, moves(project, drain.OutcomeGone): 0,
				moves(project, drain.OutcomeStuck): 0, moves(project, drain.OutcomeNotAttempted): 0, mRunning: 1, mLeft: 2},
		},
		{
			name:   "Finish adds them from the report and sets the gauges to 0",
			events: leftOver,
			report: report(drain.KindReport{Kind: project, Found: 4, Unknown: 1, Gone: 1, Stuck: 1, NotAttempted: 1}),
			want: map[string]float64{moves(project, drain.OutcomeUnknown): 1, moves(project, drain.OutcomeGone): 1,
				moves(project, drain.OutcomeStuck): 1, moves(project, drain.OutcomeNotAttempted): 1, mRunning: 0, mLeft: 0, mETA: 0},
		},
		{
			name:   "Replay counts nothing but what remains",
			replay: earlier,
			want:   map[string]float64{moves(project, drain.OutcomeMoved): 0, mMovedBytes: 0, mRunning: 1, mLeft: 2, mLeftBytes: 20},
		},
		{
			name:   "a resumed run counts its own outcomes, not the earlier run's",
			replay: earlier,
			events: resumed,
			report: report(drain.KindReport{Kind: project, Found: 3, Moved: 3}),
			want:   map[string]float64{moves(project, drain.OutcomeMoved): 2, mMovedBytes: 20},
		},
		{
			name:   "moves an earlier run left in flight: the rate runs from the start",
			replay: earlier,
			events: resumed[:3],
			want:   map[string]float64{mLeft: 1, mETA: 1 / (1.0 / 2)},
		},
		{
			name:   "without Replay, a resumed run's counters end at the report's",
			events: resumed,
			report: report(drain.KindReport{Kind: project, Found: 3, Moved: 3}),
			want:   map[string]float64{moves(project, drain.OutcomeMoved): 3},
		},
		{
			name: "moved, then listed on the storage again: counted under both",
			events: []drain.Event{
				started, ev(drain.EventPlanned, 1, 0), ev(drain.EventScheduling, 1, 0), ev(drain.EventScheduled, 1, 0),
				ev(drain.EventFinished, 1, 1), ev(drain.EventMoved, 1, 1), ev(drain.EventNotMoved, 1, 5),
			},
			report: report(drain.KindReport{Kind: project, Found: 1, NotMoved: 1}),
			want:   map[string]float64{moves(project, drain.OutcomeMoved): 1, moves(project, drain.OutcomeNotMoved): 1},
		},
		{
			name:   "paused by back-pressure",
			events: []drain.Event{started, paused},
			want:   map[string]float64{mPaused: 1},
		},
		{
			name:   "resumed",
			events: []drain.Event{started, paused, {Type: "resumed"}},
			want:   map[string]float64{mPaused: 0},
		},
		{
			name:   "a run's end is no pause",
			events: []drain.Event{started, paused},
			report: report(),
			want:   map[string]float64{mPaused: 0},
		},
		{
			name:   "dry-run events are left out",
			events: []drain.Event{{Type: drain.EventPlanned, Kind: project, ID: 1, DryRun: true}},
			want:   map[string]float64{mLeft: 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := NewDrain()
			d.Replay(tc.replay)
			for _, e := range tc.events {
				d.Event(e)
			}
			if tc.report != nil {
				d.Finish(tc.report)
			}
			got := samples(t, exposition(t, d))
			for name, want := range tc.want {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s = %v (present %v); want %v", name, v, ok, want)
				}
			}
			for _, name := range tc.absent {
				if v, ok := got[name]; ok {
					t.Errorf("%s = %v; want it absent", name, v)
				}
			}
		})
	}
}

// report is a report of kinds.
func report(kinds ...drain.KindReport) *drain.Report {
	rep := &drain.Report{}
	for i := range kinds {
		rep.Kinds = append(rep.Kinds, &kinds[i])
	}
	return rep
}

// Scrapes while the drain sends events see one state each; run with
// -race.
func TestDrainMetricsTakeScrapesWhileEventsCome(t *testing.T) {
	t.Parallel()
	d := NewDrain()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got := samples(t, exposition(t, d))
				if r, l := got[mRunning], got[mLeft]; r > l {
					t.Errorf("a scrape saw %v moves running of %v remaining", r, l)
					return
				}
			}
		})
	}
	for id := int64(1); id <= 300; id++ {
		for _, typ := range []drain.EventType{drain.EventPlanned, drain.EventScheduling, drain.EventScheduled, drain.EventFinished, drain.EventMoved} {
			d.Event(sized(ev(typ, id, int(id)), id))
		}
	}
	close(stop)
	wg.Wait()
	got := samples(t, exposition(t, d))
	if b, n := got[mMovedBytes], got[moves(project, drain.OutcomeMoved)]; b != 300*301/2 || n != 300 {
		t.Errorf("moved bytes and moves = %v, %v; want %d, 300", b, n, 300*301/2)
	}
}
