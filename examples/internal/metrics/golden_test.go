package metrics

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata/drain"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

// TestMetricsText pins the names, HELP lines, types and labels of every
// metric of this package, as /metrics serves them in the middle of a run.
// The registry holds these collectors only: the Go runtime's and the
// process's metrics, which NewRegistry adds for the tools, change from run
// to run and from one Go release to the next.
func TestMetricsText(t *testing.T) {
	t.Parallel()
	d := NewDrain()
	for _, e := range []drain.Event{
		{Type: drain.EventRunStarted, Time: t0},
		sized(ev(drain.EventPlanned, 1, 0), 1<<30), sized(ev(drain.EventPlanned, 2, 0), 2<<30), sized(ev(drain.EventPlanned, 3, 0), 3<<30),
		of(drain.KindGroupWiki, ev(drain.EventPlanned, 9, 0)),
		of(drain.KindGroupWiki, ev(drain.EventScheduling, 9, 0)), of(drain.KindGroupWiki, ev(drain.EventScheduled, 9, 0)),
		of(drain.KindGroupWiki, ev(drain.EventFinished, 9, 30)), of(drain.KindGroupWiki, ev(drain.EventMoved, 9, 30)),
		ev(drain.EventScheduling, 1, 30), ev(drain.EventScheduled, 1, 30), ev(drain.EventFinished, 1, 90), ev(drain.EventMoved, 1, 90),
		ev(drain.EventScheduling, 2, 90), ev(drain.EventScheduled, 2, 90),
		{Type: "paused", Reason: "GitLab's Sidekiq queue is long", Time: t0.Add(100e9)},
	} {
		d.Event(e)
	}
	c := NewChecksums()
	c.Set("lfs_objects", 4)
	c.Set("uploads", 0)
	got := exposition(t, d, c)
	path := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("/metrics mismatch (-want +got):\n%s", diff)
	}
}
