package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// retryPolicy is the policy of most retry tests: three attempts, waits that
// the recording sleep hook never really takes.
var retryPolicy = RetryPolicy{MaxAttempts: 3, MinDelay: 100 * time.Millisecond, MaxDelay: 30 * time.Second}

// retryErrorBody is GitLab's JSON body for status (the application rate
// limiter's for 429, which sends no headers).
func retryErrorBody(status int) string {
	if status == http.StatusTooManyRequests {
		return `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`
	}
	return fmt.Sprintf(`{"message":"%d %s"}`, status, http.StatusText(status))
}

func TestRetryAttemptsByMethodAndStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call   string
		status int
		want   int
	}{
		{"Get", 429, 3},
		{"Get", 502, 3},
		{"Get", 503, 3},
		{"Get", 504, 3},
		{"Get", 500, 1},
		{"Get", 400, 1},
		{"Get", 401, 1},
		{"Get", 403, 1},
		{"Get", 404, 1},
		{"ScheduleForProject", 429, 3},
		{"ScheduleForProject", 500, 1},
		{"ScheduleForProject", 502, 1},
		{"ScheduleForProject", 503, 1},
		{"ScheduleForProject", 504, 1},
		{"ScheduleForProject", 400, 1},
		{"ScheduleAll", 429, 3},
		{"ScheduleAll", 500, 1},
		{"ScheduleAll", 502, 1},
		{"ScheduleAll", 503, 1},
		{"ScheduleAll", 504, 1},
		{"RecalculateChecksum", 429, 3},
		{"RecalculateChecksum", 500, 1},
		{"RecalculateChecksum", 502, 1},
		{"RecalculateChecksum", 503, 1},
		{"RecalculateChecksum", 504, 1},
		{"RecalculateChecksums", 429, 3},
		{"RecalculateChecksums", 500, 1},
		{"RecalculateChecksums", 502, 1},
		{"RecalculateChecksums", 503, 1},
		{"RecalculateChecksums", 504, 1},
	}
	for _, tt := range tests {
		call := sdkCall(tt.call)
		t.Run(fmt.Sprintf("%s %s/%d", call.method, call.name, tt.status), func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(retryPolicy))
			var rs callServer
			rs.mount(t, ts, call, func(w http.ResponseWriter, _ int) {
				serveJSON(w, tt.status, retryErrorBody(tt.status))
			})
			err := call.do(t.Context(), ts.client)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
				t.Fatalf("%s() error = %v; want an *APIError with status %d", call.name, err, tt.status)
			}
			if n := rs.attempts(); n != tt.want {
				t.Errorf("%s() on %d made %d attempts; want %d", call.name, tt.status, n, tt.want)
			}
			sleeps := ts.recordedSleeps()
			if len(sleeps) != tt.want-1 {
				t.Errorf("%s() on %d recorded sleeps %v; want %d", call.name, tt.status, sleeps, tt.want-1)
			}
			for i, d := range sleeps {
				if ceiling := retryPolicy.MinDelay << i; d <= 0 || d > ceiling {
					t.Errorf("sleep %d = %v; want in (0, %v]", i+1, d, ceiling)
				}
			}
			rs.checkBodies(t, call)
		})
	}
}

func TestRetrySucceedsOnSecondAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call  string
		first int
	}{
		{"Get", http.StatusServiceUnavailable},
		{"Get", http.StatusTooManyRequests},
		{"ScheduleForProject", http.StatusTooManyRequests},
		{"ScheduleAll", http.StatusTooManyRequests},
		{"RecalculateChecksum", http.StatusTooManyRequests},
		{"RecalculateChecksums", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		call := sdkCall(tt.call)
		t.Run(fmt.Sprintf("%s/%d", call.name, tt.first), func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(retryPolicy))
			var rs callServer
			rs.mount(t, ts, call, func(w http.ResponseWriter, n int) {
				if n == 1 {
					serveJSON(w, tt.first, retryErrorBody(tt.first))
					return
				}
				serveJSON(w, call.okCode, call.okBody)
			})
			if err := call.do(t.Context(), ts.client); err != nil {
				t.Fatalf("%s() error = %v; want success on the second attempt", call.name, err)
			}
			if n := rs.attempts(); n != 2 {
				t.Errorf("%s() made %d attempts; want 2", call.name, n)
			}
			if s := ts.recordedSleeps(); len(s) != 1 {
				t.Errorf("%s() recorded sleeps %v; want 1", call.name, s)
			}
			rs.checkBodies(t, call)
		})
	}
}

// The results of a retried call are those of the attempt that succeeded.
func TestRetryReturnsResultOfLastAttempt(t *testing.T) {
	t.Parallel()
	ts := setup(t, WithRetry(retryPolicy))
	var rs callServer
	rs.mount(t, ts, sdkCall("ScheduleForProject"), func(w http.ResponseWriter, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			serveJSON(w, http.StatusTooManyRequests, retryErrorBody(http.StatusTooManyRequests))
			return
		}
		w.Header().Set("X-Request-Id", "01JD8A3K7Q0S5Y9B2C4E6G8H99")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, moveJSON)
	})
	move, resp, err := ts.client.ProjectRepositoryStorageMoves.ScheduleForProject(t.Context(), 13,
		ScheduleStorageMoveRequest{DestinationStorageName: String("gitaly-1")})
	if err != nil {
		t.Fatalf("ScheduleForProject(13) error = %v", err)
	}
	if diff := cmp.Diff(projectMovesWant(t).get, move); diff != "" {
		t.Errorf("ScheduleForProject(13) mismatch (-want +got):\n%s", diff)
	}
	if resp.StatusCode != http.StatusCreated || resp.RequestID != "01JD8A3K7Q0S5Y9B2C4E6G8H99" {
		t.Errorf("ScheduleForProject(13) response status %d, request id %q; want 201, 01JD8A3K7Q0S5Y9B2C4E6G8H99", resp.StatusCode, resp.RequestID)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, ts.recordedSleeps()); diff != "" {
		t.Errorf("recorded sleeps mismatch (-want +got):\n%s", diff)
	}
	rs.checkBodies(t, sdkCall("ScheduleForProject"))
}

// Waits GitLab asks for: Retry-After in seconds or as a date, else
// RateLimit-Reset.
func TestRetryHonoursServerWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header func(now time.Time) http.Header
		min    time.Duration // the recorded sleep must be in (min, max]
		max    time.Duration
	}{
		{
			name: "Retry-After seconds", status: 429,
			header: func(time.Time) http.Header { return http.Header{"Retry-After": {"7"}} },
			min:    7*time.Second - 1, max: 7 * time.Second,
		},
		{
			name: "Retry-After seconds wins over RateLimit-Reset", status: 429,
			header: func(now time.Time) http.Header {
				return http.Header{"Retry-After": {"4"}, "Ratelimit-Reset": {strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)}}
			},
			min: 4*time.Second - 1, max: 4 * time.Second,
		},
		{
			name: "Retry-After date", status: 429,
			header: func(now time.Time) http.Header {
				return http.Header{"Retry-After": {now.Add(10 * time.Second).UTC().Format(http.TimeFormat)}}
			},
			min: 8 * time.Second, max: 10 * time.Second,
		},
		{
			name: "RateLimit-Reset without Retry-After", status: 429,
			header: func(now time.Time) http.Header {
				return http.Header{
					"Ratelimit-Name":      {"throttle_authenticated_api"},
					"Ratelimit-Limit":     {"60"},
					"Ratelimit-Observed":  {"61"},
					"Ratelimit-Remaining": {"0"},
					"Ratelimit-Reset":     {strconv.FormatInt(now.Add(5*time.Second).Unix(), 10)},
				}
			},
			min: 3 * time.Second, max: 5 * time.Second,
		},
		{
			name: "Retry-After on a 503", status: 503,
			header: func(time.Time) http.Header { return http.Header{"Retry-After": {"2"}} },
			min:    2*time.Second - 1, max: 2 * time.Second,
		},
		{
			name: "Retry-After equal to MaxDelay", status: 429,
			header: func(time.Time) http.Header { return http.Header{"Retry-After": {"30"}} },
			min:    30*time.Second - 1, max: 30 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(retryPolicy))
			var rs callServer
			rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, n int) {
				if n == 1 {
					for k, vs := range tt.header(time.Now()) {
						w.Header()[k] = vs
					}
					serveJSON(w, tt.status, retryErrorBody(tt.status))
					return
				}
				serveJSON(w, http.StatusOK, recordJSON)
			})
			rec, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			if diff := cmp.Diff(wantRecord(t), rec); diff != "" {
				t.Errorf("Get(projects, 1) mismatch (-want +got):\n%s", diff)
			}
			if n := rs.attempts(); n != 2 {
				t.Errorf("Get() made %d attempts; want 2", n)
			}
			sleeps := ts.recordedSleeps()
			if len(sleeps) != 1 {
				t.Fatalf("recorded sleeps = %v; want 1", sleeps)
			}
			if d := sleeps[0]; d <= tt.min || d > tt.max {
				t.Errorf("recorded sleep = %v; want in (%v, %v]", d, tt.min, tt.max)
			}
		})
	}
}

// When GitLab asks for more than MaxDelay the client does not wait: it
// returns the 429 at once with RetryAfter set.
func TestRetryAfterAboveMaxDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   func(now time.Time) http.Header
		min, max time.Duration // APIError.RetryAfter in (min, max]
	}{
		{
			name:   "Retry-After seconds",
			header: func(time.Time) http.Header { return http.Header{"Retry-After": {"120"}} },
			min:    120*time.Second - 1, max: 120 * time.Second,
		},
		{
			name: "RateLimit-Reset",
			header: func(now time.Time) http.Header {
				return http.Header{"Ratelimit-Reset": {strconv.FormatInt(now.Add(time.Hour).Unix(), 10)}}
			},
			min: time.Hour - 2*time.Second, max: time.Hour,
		},
	}
	for _, tt := range tests {
		for _, name := range []string{"Get", "ScheduleForProject"} {
			call := sdkCall(name)
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				ts := setup(t, WithRetry(retryPolicy))
				var rs callServer
				rs.mount(t, ts, call, func(w http.ResponseWriter, _ int) {
					for k, vs := range tt.header(time.Now()) {
						w.Header()[k] = vs
					}
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = io.WriteString(w, "Retry later\n")
				})
				err := call.do(t.Context(), ts.client)
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("%s() error = %v; want an *APIError", call.name, err)
				}
				if !errors.Is(err, ErrRateLimited) {
					t.Errorf("errors.Is(%v, ErrRateLimited) = false; want true", err)
				}
				if d := apiErr.RetryAfter; d <= tt.min || d > tt.max {
					t.Errorf("APIError.RetryAfter = %v; want in (%v, %v]", d, tt.min, tt.max)
				}
				if n := rs.attempts(); n != 1 {
					t.Errorf("%s() made %d attempts; want 1", call.name, n)
				}
				if s := ts.recordedSleeps(); len(s) != 0 {
					t.Errorf("recorded sleeps = %v; want none", s)
				}
				rs.checkBodies(t, call)
			})
		}
	}
}

// Rack::Attack's answer (spec §1.6) asks for exactly MaxDelay: the client
// waits it out on every attempt, then returns the 429.
func TestRetryRackAttackThrottle(t *testing.T) {
	t.Parallel()
	fx := loadFixture(t, "error_rate_limited.txt")
	ts := setup(t, WithRetry(retryPolicy))
	var rs callServer
	rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, _ int) {
		fx.write(w, http.StatusTooManyRequests, "", nil)
	})
	_, resp, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Get() error = %v; want an *APIError matching ErrRateLimited", err)
	}
	if apiErr.RetryAfter != 30*time.Second || apiErr.Message != "Retry later" {
		t.Errorf("APIError RetryAfter = %v, Message = %q; want 30s, %q", apiErr.RetryAfter, apiErr.Message, "Retry later")
	}
	if n := rs.attempts(); n != 3 {
		t.Errorf("Get() made %d attempts; want 3", n)
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second, 30 * time.Second}, ts.recordedSleeps()); diff != "" {
		t.Errorf("recorded sleeps mismatch (-want +got):\n%s", diff)
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("Get() response = %+v; want the 429", resp)
	}
}

// Without a server wait, pause n is full jitter in
// (0, min(MaxDelay, MinDelay·2^(n-1))]. Zero fields in WithRetry take the
// defaults: three attempts, a 500ms base, a 30s cap.
func TestRetryBackoffWithoutHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy RetryPolicy // given to WithRetry
		want   RetryPolicy // in effect
		status int
	}{
		{
			name:   "zero policy uses the defaults",
			policy: RetryPolicy{},
			want:   RetryPolicy{MaxAttempts: 3, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second},
			status: http.StatusServiceUnavailable,
		},
		{
			name:   "capped at MaxDelay",
			policy: RetryPolicy{MaxAttempts: 8, MinDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
			want:   RetryPolicy{MaxAttempts: 8, MinDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
			status: http.StatusBadGateway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(tt.policy))
			var rs callServer
			rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, _ int) {
				serveJSON(w, tt.status, retryErrorBody(tt.status))
			})
			_, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
				t.Fatalf("Get() error = %v; want an *APIError with status %d", err, tt.status)
			}
			if apiErr.RetryAfter != 0 {
				t.Errorf("APIError.RetryAfter = %v; want 0 without headers", apiErr.RetryAfter)
			}
			if n := rs.attempts(); n != tt.want.MaxAttempts {
				t.Errorf("Get() made %d attempts; want %d", n, tt.want.MaxAttempts)
			}
			sleeps := ts.recordedSleeps()
			if len(sleeps) != tt.want.MaxAttempts-1 {
				t.Fatalf("recorded sleeps = %v; want %d", sleeps, tt.want.MaxAttempts-1)
			}
			for i, d := range sleeps {
				ceiling := min(tt.want.MaxDelay, tt.want.MinDelay<<i)
				if d <= 0 || d > ceiling {
					t.Errorf("sleep %d = %v; want in (0, %v]", i+1, d, ceiling)
				}
			}
		})
	}
}

func TestRetryBackoffBounds(t *testing.T) {
	t.Parallel()
	tests := []RetryPolicy{
		{MinDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		{MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second},
		{MinDelay: time.Second, MaxDelay: 100 * time.Millisecond}, // MaxDelay below MinDelay
		{MinDelay: 1 << 62, MaxDelay: time.Hour},                  // the shift overflows
		{MinDelay: 1, MaxDelay: 1},
	}
	for _, p := range tests {
		t.Run(fmt.Sprintf("%v-%v", p.MinDelay, p.MaxDelay), func(t *testing.T) {
			t.Parallel()
			c := &Client{retry: p}
			for _, attempt := range []int{1, 2, 3, 10, 31, 32, 64, 1000} {
				ceiling := p.MaxDelay
				if attempt-1 < 31 && p.MinDelay <= p.MaxDelay>>(attempt-1) {
					ceiling = p.MinDelay << (attempt - 1)
				}
				seen := map[time.Duration]bool{}
				for range 200 {
					d := c.backoff(attempt)
					if d <= 0 || d > ceiling {
						t.Fatalf("backoff(%d) = %v; want in (0, %v]", attempt, d, ceiling)
					}
					seen[d] = true
				}
				// Full jitter: with a ceiling of many nanoseconds, 200 draws
				// are not all the same.
				if ceiling > time.Millisecond && len(seen) < 2 {
					t.Errorf("backoff(%d) returned one value 200 times; want jitter", attempt)
				}
			}
		})
	}
}

// The context is cancelled while the client waits to retry: the wait ends
// at once with context.Canceled and no second attempt is made.
func TestRetryContextCanceledDuringWait(t *testing.T) {
	t.Parallel()
	policy := RetryPolicy{MaxAttempts: 3, MinDelay: time.Hour, MaxDelay: 2 * time.Hour}

	t.Run("cancelled by the handler", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithRetry(policy))
		ts.client.sleep = sleepContext // a real wait of up to an hour
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var rs callServer
		rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, _ int) {
			cancel()
			w.Header().Set("Retry-After", "3600")
			serveJSON(w, http.StatusServiceUnavailable, retryErrorBody(http.StatusServiceUnavailable))
		})
		_, _, err := ts.client.DataManagement.Get(ctx, ModelProjects, IntRecordID(1))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get() error = %v; want context.Canceled", err)
		}
		if n := rs.attempts(); n != 1 {
			t.Errorf("Get() made %d attempts; want 1", n)
		}
	})

	t.Run("cancelled as the wait starts", func(t *testing.T) {
		t.Parallel()
		ts := setup(t, WithRetry(policy))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var waits counter
		ts.client.sleep = func(ctx context.Context, d time.Duration) error {
			waits.inc()
			cancel()
			return sleepContext(ctx, d) // would block for an hour if ctx were ignored
		}
		var rs callServer
		rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, _ int) {
			w.Header().Set("Retry-After", "3600")
			serveJSON(w, http.StatusServiceUnavailable, retryErrorBody(http.StatusServiceUnavailable))
		})
		_, resp, err := ts.client.DataManagement.Get(ctx, ModelProjects, IntRecordID(1))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get() error = %v; want context.Canceled", err)
		}
		const want = "gitlabdata: GET /api/v4/admin/data_management/projects/1: waiting 1h0m0s to retry (503 Service Unavailable, as GitLab asked): context canceled"
		if err.Error() != want {
			t.Errorf("Get() error = %q; want %q", err, want)
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("Get() response = %+v; want the 503", resp)
		}
		if n := rs.attempts(); n != 1 {
			t.Errorf("Get() made %d attempts; want 1", n)
		}
		if n := waits.get(); n != 1 {
			t.Errorf("client waited %d times; want 1", n)
		}
	})
}

func TestRetrySleepContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepContext(cancelled, 1h) = %v; want context.Canceled", err)
	}
	if err := sleepContext(t.Context(), 0); err != nil {
		t.Errorf("sleepContext(live, 0) = %v; want nil", err)
	}
}

// retryHangUp closes the connection without answering.
func retryHangUp(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Errorf("response writer %T cannot be hijacked", w)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("Hijack() error = %v", err)
		return
	}
	_ = conn.Close()
}

// A connection dropped without an answer is retried for GET only: a POST
// or PUT may already have taken effect.
func TestRetryTransportError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call string
		want int
	}{
		{"Get", 2},
		{"ScheduleForProject", 1},
		{"ScheduleAll", 1},
		{"RecalculateChecksum", 1},
		{"RecalculateChecksums", 1},
	}
	for _, tt := range tests {
		call := sdkCall(tt.call)
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(retryPolicy))
			var rs callServer
			rs.mount(t, ts, call, func(w http.ResponseWriter, n int) {
				if n == 1 {
					retryHangUp(t, w)
					return
				}
				serveJSON(w, call.okCode, call.okBody)
			})
			err := call.do(t.Context(), ts.client)
			if n := rs.attempts(); n != tt.want {
				t.Errorf("%s() made %d attempts; want %d", call.name, n, tt.want)
			}
			if tt.want == 1 {
				var uerr *url.Error
				if !errors.As(err, &uerr) {
					t.Errorf("%s() error = %v (%T); want a *url.Error", call.name, err, err)
				}
				if s := ts.recordedSleeps(); len(s) != 0 {
					t.Errorf("recorded sleeps = %v; want none", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s() error = %v; want success after a retry", call.name, err)
			}
			sleeps := ts.recordedSleeps()
			if len(sleeps) != 1 || sleeps[0] <= 0 || sleeps[0] > retryPolicy.MinDelay {
				t.Errorf("recorded sleeps = %v; want one in (0, %v]", sleeps, retryPolicy.MinDelay)
			}
			rs.checkBodies(t, call)
		})
	}
}

// RetryPolicy{MaxAttempts: 1} makes exactly one attempt, whatever happens.
func TestRetryDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(t *testing.T, w http.ResponseWriter)
	}{
		{"429 with Retry-After", func(_ *testing.T, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			serveJSON(w, http.StatusTooManyRequests, retryErrorBody(http.StatusTooManyRequests))
		}},
		{"503", func(_ *testing.T, w http.ResponseWriter) {
			serveJSON(w, http.StatusServiceUnavailable, retryErrorBody(http.StatusServiceUnavailable))
		}},
		{"dropped connection", retryHangUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
			var rs callServer
			rs.mount(t, ts, sdkCall("Get"), func(w http.ResponseWriter, _ int) { tt.answer(t, w) })
			if _, _, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1)); err == nil {
				t.Fatal("Get() error = nil; want the first failure")
			}
			if n := rs.attempts(); n != 1 {
				t.Errorf("Get() made %d attempts; want 1", n)
			}
			if s := ts.recordedSleeps(); len(s) != 0 {
				t.Errorf("recorded sleeps = %v; want none", s)
			}
		})
	}
}

func TestRateLimitResponse(t *testing.T) {
	t.Parallel()

	t.Run("Rack::Attack 429", func(t *testing.T) {
		t.Parallel()
		fx := loadFixture(t, "error_rate_limited.txt")
		ts := setup(t)
		ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
			testMethod(t, r, http.MethodGet)
			fx.write(w, http.StatusTooManyRequests, "", nil)
		})
		_, resp, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
		if !errors.Is(err, ErrRateLimited) {
			t.Fatalf("Get() error = %v; want ErrRateLimited", err)
		}
		if resp == nil {
			t.Fatal("Get() response = nil; want the 429's")
		}
		want := RateLimit{
			Name:       "throttle_authenticated_api",
			Limit:      60,
			Observed:   67,
			Remaining:  0,
			Reset:      time.Unix(1609844400, 0),
			RetryAfter: 30 * time.Second,
		}
		if diff := cmp.Diff(want, resp.Rate); diff != "" {
			t.Errorf("Response.Rate mismatch (-want +got):\n%s", diff)
		}
		if got := resp.Header.Get("RateLimit-ResetTime"); got != "Tue, 05 Jan 2021 11:00:00 GMT" {
			t.Errorf("Response.Header RateLimit-ResetTime = %q; want the server's", got)
		}
		if !resp.Rate.Reset.Equal(time.Date(2021, 1, 5, 11, 0, 0, 0, time.UTC)) {
			t.Errorf("Response.Rate.Reset = %v; want 2021-01-05 11:00:00 UTC", resp.Rate.Reset)
		}
	})

	tests := []struct {
		name   string
		header http.Header
		want   RateLimit
	}{
		{
			name: "headers on a 200",
			header: http.Header{
				"Ratelimit-Name":      {"throttle_authenticated_api"},
				"Ratelimit-Limit":     {"600"},
				"Ratelimit-Observed":  {"12"},
				"Ratelimit-Remaining": {"588"},
				"Ratelimit-Reset":     {"1609844400"},
			},
			want: RateLimit{Name: "throttle_authenticated_api", Limit: 600, Observed: 12, Remaining: 588, Reset: time.Unix(1609844400, 0)},
		},
		{
			name: "malformed headers read as absent",
			header: http.Header{
				"Ratelimit-Name":      {"throttle_authenticated_api"},
				"Ratelimit-Limit":     {"sixty"},
				"Ratelimit-Observed":  {"1.5"},
				"Ratelimit-Remaining": {"-3"},
				"Ratelimit-Reset":     {"Tue, 05 Jan 2021 11:00:00 GMT"},
				"Retry-After":         {"soon"},
			},
			want: RateLimit{Name: "throttle_authenticated_api"},
		},
		{
			name:   "negative Retry-After",
			header: http.Header{"Retry-After": {"-30"}},
			want:   RateLimit{},
		},
		{
			name:   "no headers",
			header: http.Header{},
			want:   RateLimit{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := setup(t)
			ts.mux.HandleFunc("/admin/data_management/projects/1", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				for k, vs := range tt.header {
					w.Header()[k] = vs
				}
				serveJSON(w, http.StatusOK, recordJSON)
			})
			_, resp, err := ts.client.DataManagement.Get(t.Context(), ModelProjects, IntRecordID(1))
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, resp.Rate); diff != "" {
				t.Errorf("Response.Rate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
