package drain_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/drain"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

func ExampleDrain_Run() {
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	defer srv.Close()
	srv.AddStorage("gitaly-new", 100)
	srv.AddProjects(5, "default")
	srv.UpdateProject(3, func(p *gitlabtest.Project) { p.MoveFailure = "14:connection refused" })

	// The fake's moves advance when it is stepped: a simulated clock steps
	// it at every pause instead of waiting.
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	client := srv.Client() // a *gitlabdata.Client for your instance
	d, err := drain.New(client, drain.Options{
		From: "default", To: gitlabdata.String("gitaly-new"), MaxRunning: 2, Retries: 1,
		Now: func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			now = now.Add(d)
			srv.Step()
			return ctx.Err()
		},
		OnEvent: func(ev drain.Event) {
			if ev.Type == drain.EventFailed {
				fmt.Printf("%s %d failed (final %v): %s\n", ev.Kind, ev.ID, ev.Final, ev.Error)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := d.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("found %d: moved %d, failed %d\n", rep.Totals.Found, rep.Totals.Moved, rep.Totals.Failed)
	for _, r := range rep.Remaining {
		fmt.Printf("%s %d: %s (%s) after %d attempts\n", r.Kind, r.ID, r.Outcome, r.Reason, len(r.Errors))
	}
	// Output:
	// project 3 failed (final false): 14:connection refused
	// project 3 failed (final true): 14:connection refused
	// found 5: moved 4, failed 1
	// project 3: failed (retries_used) after 2 attempts
}
