package gitlabdata

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// refusedBeforeSending runs call against a server that counts every request
// and checks that it failed with ErrInvalidArgument, saying want, without
// any request.
func refusedBeforeSending(t *testing.T, name, want string, call func(ctx context.Context, c *Client) error) {
	t.Helper()
	ts := setup(t)
	var calls counter
	ts.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls.inc() })
	err := call(t.Context(), ts.client)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%s error = %v; want ErrInvalidArgument", name, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s error = %q; want it to say %q", name, err, want)
	}
	if n := calls.get(); n != 0 {
		t.Errorf("%s sent %d requests; want 0", name, n)
	}
}

// GitLab's bulk schedule without a destination answers 202 and skips every
// container, so the SDK refuses to send one and says what to do instead.
func TestScheduleAllRequiresDestination(t *testing.T) {
	t.Parallel()
	req := ScheduleAllStorageMovesRequest{SourceStorageName: "default"}
	calls := map[string]func(ctx context.Context, c *Client) error{
		"ScheduleForProject": func(ctx context.Context, c *Client) error {
			_, err := c.ProjectRepositoryStorageMoves.ScheduleAll(ctx, req)
			return err
		},
		"ScheduleForGroup": func(ctx context.Context, c *Client) error {
			_, err := c.GroupRepositoryStorageMoves.ScheduleAll(ctx, req)
			return err
		},
		"ScheduleForSnippet": func(ctx context.Context, c *Client) error {
			_, err := c.SnippetRepositoryStorageMoves.ScheduleAll(ctx, req)
			return err
		},
	}
	for method, call := range calls {
		noun := strings.ToLower(strings.TrimPrefix(method, "ScheduleFor"))
		want := "destination storage name is required: without one GitLab answers 202 and then skips every " + noun +
			"; to let GitLab pick by weight, schedule each " + noun + " on its own (" + method + ") or use package drain"
		refusedBeforeSending(t, noun+" ScheduleAll", want, call)
	}
}

// GitLab's single-record checksum route takes an integer id only.
func TestRecalculateChecksumRefusesCompositeID(t *testing.T) {
	t.Parallel()
	id := CompositeRecordID("12", "34")
	refusedBeforeSending(t, "RecalculateChecksum(composite)",
		"record id MTIgMzQ= is a composite key, and GitLab's single-record checksum route takes an integer only; use RecalculateChecksums with Identifiers: []RecordID{id}",
		func(ctx context.Context, c *Client) error {
			_, _, err := c.DataManagement.RecalculateChecksum(ctx, ModelUploads, id)
			return err
		})
}
