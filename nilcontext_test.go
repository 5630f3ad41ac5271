package gitlabdata

import (
	"context"
	"errors"
	"testing"
)

// A nil context is a caller's mistake: every entry point reports it as
// ErrInvalidArgument, sends nothing, and never panics.
func TestNilContextIsRefused(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	requests := refuseOthers(t, ts)
	c := ts.client
	var nilCtx context.Context
	checks := map[string]func() error{
		"List": func() error { _, _, err := c.DataManagement.List(nilCtx, ModelUploads, nil); return err },
		"All": func() error {
			for _, err := range c.DataManagement.All(nilCtx, ModelUploads, nil) {
				return err
			}
			return nil
		},
		"Get storage move": func() error { _, _, err := c.ProjectRepositoryStorageMoves.Get(nilCtx, 1); return err },
		"Wait":             func() error { _, err := c.ProjectRepositoryStorageMoves.Wait(nilCtx, 1, nil); return err },
		"QueueMetrics":     func() error { _, _, err := c.Sidekiq.QueueMetrics(nilCtx); return err },
	}
	for _, call := range sdkCalls {
		checks[call.name] = func() error { return call.do(nilCtx, c) }
	}
	for name, call := range checks {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s(nil context) error = %v; want ErrInvalidArgument", name, err)
		}
	}
	if n := requests.get(); n != 0 {
		t.Errorf("calls with a nil context sent %d requests; want 0", n)
	}
}
