package gitlabtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

func TestStepIntervalClock(t *testing.T) {
	t.Parallel()
	srv := NewServer(WithStepInterval(time.Millisecond))
	srv.AddStorage("storage2", 1)
	id := srv.AddProject(Project{})
	moves := srv.Client().ProjectRepositoryStorageMoves
	m, _, err := moves.ScheduleForProject(t.Context(), id, gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil {
		t.Fatalf("ScheduleForProject error = %v", err)
	}
	// The clock finishes the move without any Step call.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err = moves.Wait(ctx, m.ID, &gitlabdata.WaitOptions{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	if err != nil || m.State != gitlabdata.StorageMoveStateFinished {
		t.Fatalf("Wait = %v, %v; want finished", m, err)
	}
	if p, _ := srv.Project(id); p.Storage != "storage2" {
		t.Errorf("project storage = %q; want storage2", p.Storage)
	}

	srv.Close()
	// Close returns only once the clock goroutine has ended.
	select {
	case <-srv.clockDone:
	default:
		t.Errorf("the clock goroutine is still running after Close")
	}
	srv.Close() // a second Close is harmless
}

func TestNoClockByDefault(t *testing.T) {
	t.Parallel()
	srv := NewServer()
	defer srv.Close()
	if srv.clockDone != nil {
		t.Errorf("a server without WithStepInterval started a clock")
	}
	id := srv.AddProject(Project{})
	srv.AddProjectStorageMove(gitlabdata.ProjectRepositoryStorageMove{Project: &gitlabdata.ProjectIdentity{ID: id}})
	m, _, err := srv.Client().ProjectRepositoryStorageMoves.Get(t.Context(), 1)
	if err != nil || m.State != gitlabdata.StorageMoveStateScheduled {
		t.Errorf("Get(1) = %v, %v; want still scheduled without Step", m, err)
	}
}

func TestRandomTokenFormat(t *testing.T) {
	t.Parallel()
	a, b := NewServer(), NewServer()
	defer a.Close()
	defer b.Close()
	if len(a.Token()) != 26 || a.Token()[:6] != "glpat-" || a.Token() == b.Token() {
		t.Errorf("tokens %q and %q; want two different glpat- tokens of 26 characters", a.Token(), b.Token())
	}
	// Each server accepts its own token only.
	if _, _, err := a.Client().ProjectRepositoryStorageMoves.List(t.Context(), nil); err != nil {
		t.Errorf("List with the admin token error = %v", err)
	}
	c, err := gitlabdata.NewClient(a.URL(), b.Token(), gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatalf("NewClient error = %v", err)
	}
	if _, _, err := c.ProjectRepositoryStorageMoves.List(t.Context(), nil); !errors.Is(err, gitlabdata.ErrUnauthorized) {
		t.Errorf("List with another server's token error = %v; want ErrUnauthorized", err)
	}
}
