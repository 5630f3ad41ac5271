package drain_test

import (
	"context"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// BenchmarkDrainRequestsPerMovedContainer drains 200 projects, 20
// snippets and 10 group wikis at default settings and reports the GitLab
// requests the fake received (discovery, schedule calls, polls,
// verification, the final listing) per moved container. The fake's
// moves advance one state per poll pause.
func BenchmarkDrainRequestsPerMovedContainer(b *testing.B) {
	var perMoved float64
	for b.Loop() {
		srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
		srv.AddStorage("storage2", 100)
		srv.SetStorageWeight("default", 0)
		srv.AddProjects(200, "default")
		for range 20 {
			srv.AddSnippet(gitlabtest.Snippet{Storage: "default"})
		}
		for range 10 {
			srv.AddGroup(gitlabtest.Group{Storage: "default"})
		}
		client, err := srv.NewClient()
		if err != nil {
			b.Fatal(err)
		}
		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		d, err := drain.New(client, drain.Options{
			From: "default", To: gitlabdata.String("storage2"),
			Now: func() time.Time { return now },
			Sleep: func(ctx context.Context, d time.Duration) error {
				now = now.Add(d)
				if d >= time.Second {
					srv.Step()
				}
				return ctx.Err()
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := d.Run(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if rep.Totals.Moved != 230 || !rep.Empty() {
			b.Fatalf("moved %d, remaining %d; want 230 and 0", rep.Totals.Moved, len(rep.Remaining))
		}
		perMoved = float64(len(srv.Requests())) / float64(rep.Totals.Moved)
		srv.Close()
	}
	b.ReportMetric(perMoved, "requests/moved")
}
