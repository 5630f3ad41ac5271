package gitlabdata

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// SidekiqService reads the metrics of GitLab's Sidekiq, the background
// job processor that runs, among others, the repository storage moves. It
// needs an administrator's token (and admin mode where the instance
// enables it).
//
// GitLab API docs: https://docs.gitlab.com/api/sidekiq_metrics/
type SidekiqService struct{ c *Client }

// SidekiqQueueMetrics is the backlog and latency of every Sidekiq queue
// GitLab routes jobs to, summed (backlog) or maximised (latency) over its
// Sidekiq shards. The queues are the routed ones only: with GitLab's
// default routing rules, "default" and "mailers". Storage moves wait in
// "default" unless an operator routes them elsewhere.
//
// GitLab API docs: https://docs.gitlab.com/api/sidekiq_metrics/#list-all-job-queue-metrics
type SidekiqQueueMetrics struct {
	// Queues holds each queue by name.
	Queues map[string]SidekiqQueue `json:"queues"`
}

// SidekiqQueue is one queue of [SidekiqQueueMetrics].
//
// On the wire, latency is whole seconds. Decoding accepts a number of
// seconds (a fraction too) and null (0); encoding writes GitLab's form
// back, {"backlog":N,"latency":S}, with the latency truncated to whole
// seconds, so that a decoded value encodes to what GitLab sent.
//
// GitLab API docs: https://docs.gitlab.com/api/sidekiq_metrics/#list-all-job-queue-metrics
type SidekiqQueue struct {
	// Backlog is the number of jobs waiting in the queue.
	Backlog int64
	// Latency is how long the oldest waiting job has waited, in whole
	// seconds; 0 for an empty queue.
	Latency time.Duration
}

// wireSidekiqQueue is SidekiqQueue as GitLab sends it.
type wireSidekiqQueue struct {
	Backlog int64    `json:"backlog"`
	Latency *float64 `json:"latency"`
}

// maxLatencySeconds is the largest latency a time.Duration holds.
const maxLatencySeconds = float64(math.MaxInt64 / int64(time.Second))

// UnmarshalJSON decodes {"backlog":N,"latency":SECONDS}.
func (q *SidekiqQueue) UnmarshalJSON(b []byte) error {
	var w wireSidekiqQueue
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*q = SidekiqQueue{Backlog: w.Backlog}
	if w.Latency != nil {
		s := *w.Latency
		if math.Abs(s) > maxLatencySeconds {
			return fmt.Errorf("sidekiq queue latency %v seconds is out of range", s)
		}
		q.Latency = time.Duration(s * float64(time.Second))
	}
	return nil
}

// MarshalJSON encodes GitLab's form, the latency in whole seconds.
func (q SidekiqQueue) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Backlog int64 `json:"backlog"`
		Latency int64 `json:"latency"`
	}{q.Backlog, int64(q.Latency / time.Second)})
}

// QueueMetrics returns the backlog and latency of every routed Sidekiq
// queue. A token that is not an administrator's gets 403 ([ErrForbidden]).
//
// GitLab API docs: https://docs.gitlab.com/api/sidekiq_metrics/#list-all-job-queue-metrics
func (s *SidekiqService) QueueMetrics(ctx context.Context) (*SidekiqQueueMetrics, *Response, error) {
	u, err := s.c.endpoint([]string{"sidekiq", "queue_metrics"}, nil)
	return callOne[SidekiqQueueMetrics](ctx, s.c, "GET", u, err, nil)
}
