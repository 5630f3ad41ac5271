package metrics

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// sim is a fake GitLab whose moves advance one state per simulated second
// of a drain's pauses.
type sim struct {
	srv   *gitlabtest.Server
	ns    atomic.Int64
	steps time.Duration
}

func newSim(t *testing.T) *sim {
	s := &sim{}
	s.ns.Store(t0.UnixNano())
	s.srv = gitlabtest.NewServer(gitlabtest.WithSeed(1), gitlabtest.WithClock(s.now))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sim) now() time.Time { return time.Unix(0, s.ns.Load()).UTC() }

func (s *sim) sleep(ctx context.Context, d time.Duration) error {
	s.ns.Add(int64(d))
	for s.steps += d; s.steps >= time.Second; s.steps -= time.Second {
		s.srv.Step()
	}
	return ctx.Err()
}

// TestCountersEqualTheReportAndTheJournal drains a storage in two runs on
// one journal: the first is interrupted after 3 moves, the second resumes
// it. Each run has its own collector. At the end of each, every counter
// equals the report's count of its kind and outcome in that run (the
// resumed report less what the first run gave and the second did not
// touch) and the journal's; at every heartbeat and at the run's end the
// gauges agree with the drain's Progress.
func TestCountersEqualTheReportAndTheJournal(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.srv.AddStorage("storage2", 100)
	s.srv.SetStorageWeight("default", 0)
	s.srv.AddGroups(2, "default")
	s.srv.AddSnippets(2, "default")
	ids := s.srv.AddProjects(12, "default")
	s.srv.UpdateProject(ids[3], func(p *gitlabtest.Project) { p.MoveFailure = "14:connection refused" })
	s.srv.UpdateProject(ids[5], func(p *gitlabtest.Project) { p.StuckIn = "started" })
	s.srv.UpdateProject(ids[8], func(p *gitlabtest.Project) { p.Broken = true })
	client, err := s.srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "drain.jsonl")

	// run drains on the journal with a collector of its own, and cancels
	// after stopAfter moves (0: never).
	run := func(stopAfter int) (*Drain, *drain.Report, []drain.Event) {
		t.Helper()
		j, err := drain.OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		c := NewDrain()
		c.Replay(j.Events())
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		moved := 0
		d, err := drain.New(client, drain.Options{
			From: "default", To: gitlabdata.String("storage2"), MaxRunning: 2, MaxMoves: 14, StuckAfter: 30 * time.Second, ReleaseStuck: true,
			HeartbeatEvery: 3 * time.Second, Journal: j, Now: s.now, Sleep: s.sleep,
			OnEvent: func(ev drain.Event) {
				c.Event(ev)
				if p := ev.Progress; p != nil {
					got := samples(t, exposition(t, c))
					if got[mRunning] != float64(p.Running) || got[mLeft] != float64(p.Waiting+p.Running+p.Verifying) {
						t.Errorf("at %s: running %v, remaining %v; the drain's progress %+v", ev.Type, got[mRunning], got[mLeft], *p)
					}
				}
				if ev.Type == drain.EventMoved {
					if moved++; moved == stopAfter {
						cancel()
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := d.Run(ctx)
		if rep == nil {
			t.Fatalf("Run() = nil report, %v", err)
		}
		c.Finish(rep)
		events, err := drain.ReadJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		return c, rep, events
	}

	c1, rep1, events := run(3)
	if !rep1.Interrupted || rep1.Totals.NotAttempted == 0 {
		t.Fatalf("the first run was not interrupted with containers left: %+v", rep1.Totals)
	}
	checkRun(t, "first run", c1, rep1, events, rep1.Totals.Bytes)
	c2, rep2, events := run(0)
	if !rep2.Resumed || rep2.Totals.Failed != 1 || rep2.Totals.Stuck != 1 || rep2.Totals.Unknown != 1 || rep2.Totals.Skipped != 1 {
		t.Fatalf("the second run did not resume to 1 failed, stuck, unknown and skipped: %+v", rep2.Totals)
	}
	if rep2.Totals.Bytes == rep1.Totals.Bytes {
		t.Errorf("the resumed run moved no bytes: %+v", rep2.Totals)
	}
	checkRun(t, "resumed run", c2, rep2, events, rep2.Totals.Bytes-rep1.Totals.Bytes)
	t.Logf("first run %+v\nresumed run %+v", rep1.Totals, rep2.Totals)
}

// checkRun compares c with the report and with the journal's lines of the
// run, the last one in events; the run moved bytes.
func checkRun(t *testing.T, name string, c *Drain, rep *drain.Report, events []drain.Event, bytes int64) {
	t.Helper()
	start := 0
	for i, ev := range events {
		if ev.Type == drain.EventRunStarted {
			start = i
		}
	}
	before, during := lastLines(events[:start]), lastLines(events[start:])
	got := samples(t, exposition(t, c))
	for _, kr := range rep.Kinds {
		for _, o := range outcomes {
			standing, journal := 0, 0
			for k, ev := range before {
				if _, seen := during[k]; !seen && k.kind == kr.Kind && lineOutcome(ev) == o {
					standing++
				}
			}
			for k, ev := range during {
				if k.kind == kr.Kind && lineOutcome(ev) == o {
					journal++
				}
			}
			counter := got[moves(kr.Kind, o)]
			if want := outcomeCount(kr, o) - standing; counter != float64(want) {
				t.Errorf("%s: %s = %v; want the report's %d less %d an earlier run gave", name, moves(kr.Kind, o), counter, outcomeCount(kr, o), standing)
			}
			if o != drain.OutcomeStuck && o != drain.OutcomeNotAttempted && counter != float64(journal) {
				t.Errorf("%s: %s = %v; the journal's lines of the run give %d", name, moves(kr.Kind, o), counter, journal)
			}
		}
	}
	if got[mMovedBytes] != float64(bytes) || got[mLeft] != 0 || got[mRunning] != 0 {
		t.Errorf("%s: after Finish moved bytes %v, remaining %v, running %v; want %d, 0 and 0", name, got[mMovedBytes], got[mLeft], got[mRunning], bytes)
	}
}

// lastLines is the last journal line of each container in events.
func lastLines(events []drain.Event) map[key]drain.Event {
	last := map[key]drain.Event{}
	for _, ev := range events {
		if ev.Kind != "" && ev.ID != 0 {
			last[key{ev.Kind, ev.ID}] = ev
		}
	}
	return last
}

// lineOutcome is the outcome a container's last journal line gives it, or
// "" when only the report knows (stuck, not attempted).
func lineOutcome(ev drain.Event) drain.Outcome {
	switch ev.Type {
	case drain.EventMoved:
		return drain.OutcomeMoved
	case drain.EventNotMoved:
		return drain.OutcomeNotMoved
	case drain.EventSkipped:
		return drain.OutcomeSkipped
	case drain.EventGone:
		return drain.OutcomeGone
	case drain.EventListingError:
		return drain.OutcomeUnknown
	case drain.EventFailed:
		if ev.Final {
			return drain.OutcomeFailed
		}
	}
	return ""
}
