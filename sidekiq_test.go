package gitlabdata

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSidekiqQueueMetrics(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	expect(t, ts, route{method: "GET", path: "/sidekiq/queue_metrics", fixture: "sidekiq_queue_metrics"})
	got, resp, err := ts.client.Sidekiq.QueueMetrics(t.Context())
	if err != nil {
		t.Fatalf("QueueMetrics() error = %v", err)
	}
	want := &SidekiqQueueMetrics{Queues: map[string]SidekiqQueue{
		"default": {Backlog: 37, Latency: 412 * time.Second},
		"mailers": {},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QueueMetrics() mismatch (-want +got):\n%s", diff)
	}
	if resp.StatusCode != http.StatusOK || resp.RequestID != "01JKSQ4D8M2P6R0T4V8X2Z6B0C" {
		t.Errorf("QueueMetrics() response status %d, request id %q; want 200 and the fixture's id", resp.StatusCode, resp.RequestID)
	}
}

// A token that is not an administrator's gets GitLab's 403, with the hint
// that names the token the API needs.
func TestSidekiqQueueMetricsForbidden(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	expect(t, ts, route{method: "GET", path: "/sidekiq/queue_metrics", status: http.StatusForbidden, fixture: "error_forbidden"})
	got, resp, err := ts.client.Sidekiq.QueueMetrics(t.Context())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrForbidden) {
		t.Fatalf("QueueMetrics() error = %v; want an *APIError that is ErrForbidden", err)
	}
	if got != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("QueueMetrics() = %v, response %v; want nil and the 403 response", got, resp)
	}
	want := struct {
		Status                   int
		Message, Hint, RequestID string
	}{
		http.StatusForbidden, "403 Forbidden", "this API needs an administrator's token, and admin mode where the instance enables it", "01JD8A3K7Q0S5Y9B2C4E6G8H02",
	}
	gotErr := struct {
		Status                   int
		Message, Hint, RequestID string
	}{apiErr.StatusCode, apiErr.Message, apiErr.Hint, apiErr.RequestID}
	if diff := cmp.Diff(want, gotErr); diff != "" {
		t.Errorf("QueueMetrics() error mismatch (-want +got):\n%s", diff)
	}
}

// Latency is whole seconds on the wire: decoding takes seconds (a fraction
// and null too), encoding gives GitLab's JSON back.
func TestSidekiqQueueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want SidekiqQueue
		out  string
	}{
		{`{"backlog":3,"latency":90}`, SidekiqQueue{Backlog: 3, Latency: 90 * time.Second}, `{"backlog":3,"latency":90}`},
		{`{"backlog":0,"latency":0}`, SidekiqQueue{}, `{"backlog":0,"latency":0}`},
		{`{"backlog":1,"latency":1.5}`, SidekiqQueue{Backlog: 1, Latency: 1500 * time.Millisecond}, `{"backlog":1,"latency":1}`},
		{`{"backlog":2,"latency":null}`, SidekiqQueue{Backlog: 2}, `{"backlog":2,"latency":0}`},
		{`{"backlog":2,"latency":5,"paused":false}`, SidekiqQueue{Backlog: 2, Latency: 5 * time.Second}, `{"backlog":2,"latency":5}`},
	}
	for _, tt := range tests {
		var got SidekiqQueue
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("json.Unmarshal(%s) error = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("json.Unmarshal(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
		out, err := json.Marshal(got)
		if err != nil || string(out) != tt.out {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", got, out, err, tt.out)
		}
	}
	for _, bad := range []string{`{"backlog":"many"}`, `{"latency":"1m"}`, `{"latency":1e300}`, `[1]`} {
		var q SidekiqQueue
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("json.Unmarshal(%s) = %+v; want an error", bad, q)
		}
	}
	// The fixture encodes back to itself.
	var m SidekiqQueueMetrics
	raw := readFixture(t, "sidekiq_queue_metrics")
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("json.Unmarshal(fixture) error = %v", err)
	}
	again, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("json.Marshal(fixture) error = %v", err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(again, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fixture round trip mismatch (-want +got):\n%s", diff)
	}
}
