package moves_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gitlabdata/gitlabdata/gitlabtest"
	"github.com/gitlabdata/gitlabdata/moves"
)

func ExampleMover_Run() {
	srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
	defer srv.Close()
	srv.AddStorage("storage2", 100)
	srv.AddStorage("storage3", 100)
	a := srv.AddProject(gitlabtest.Project{Storage: "default", RepositorySize: 3 << 20})
	b := srv.AddProject(gitlabtest.Project{Storage: "default", RepositorySize: 5 << 20})

	plan := &moves.Plan{Moves: []moves.Move{
		{Container: moves.Container{Kind: moves.KindProject, ID: a, Storage: "default"}, To: "storage2"},
		{Container: moves.Container{Kind: moves.KindProject, ID: b, Storage: "default"}, To: "storage3"},
	}}
	// The fake's moves advance when it is stepped: a simulated clock steps
	// it at every pause instead of waiting.
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m, err := moves.New(srv.Client(), plan, moves.Options{
		MaxRunning: 2, MaxRunningPerDestination: 1,
		Now: func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			now = now.Add(d)
			srv.Step()
			return ctx.Err()
		},
		OnEvent: func(ev moves.Event) {
			if ev.Type == moves.EventMoved {
				fmt.Printf("%s %d moved from %s to %s\n", ev.Kind, ev.ID, ev.From, ev.To)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := m.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("found %d: moved %d\n", rep.Totals.Found, rep.Totals.Moved)
	// Output:
	// project 1 moved from default to storage2
	// project 2 moved from default to storage3
	// found 2: moved 2
}
