package moves

import (
	"errors"
	"fmt"
	"time"
)

// ErrHalted matches the error of a Run or Plan that stopped early because
// GitLab could not be used; the error is a [*HaltError].
var ErrHalted = errors.New("moves: halted")

// HaltError says why a run stopped before its end: GitLab could not be
// reached, did not answer as GitLab, refused the token or found it is not
// an administrator's, kept failing (the breaker), or asked to wait longer
// than Options.MaxRetryAfter. Its Error is one line: "moves: <what>
// (<endpoint> <status>): <advice>". It unwraps to the last error, so
// errors.Is(err, gitlabdata.ErrForbidden) and the like work.
type HaltError struct {
	// What failed, such as "cannot reach GitLab".
	What string
	// Endpoint is the request, such as "GET /api/v4/projects".
	Endpoint string
	// Status is the HTTP status, or what stands for it ("connection
	// refused", "not JSON").
	Status string
	// Advice says what to do.
	Advice string
	// RetryAt is when GitLab said the run may ask again (a rate
	// limit), or zero.
	RetryAt time.Time
	// Err is the last error.
	Err error
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("moves: %s (%s %s): %s", e.What, e.Endpoint, e.Status, e.Advice)
}

// Unwrap returns the last error.
func (e *HaltError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrHalted) true.
func (e *HaltError) Is(target error) bool { return target == ErrHalted }

// breakerWindow is how many of an endpoint's last requests the breaker
// looks at: more than half of them failing stops the drain.
const breakerWindow = 20

// breaker stops a drain that keeps failing: maxInARow failed requests in a
// row (any endpoints), or more than half of one endpoint's last
// breakerWindow requests.
type breaker struct {
	maxInARow int
	inARow    int
	recent    map[string]*outcomes
}

// outcomes is a ring of an endpoint's last request outcomes.
type outcomes struct {
	failed [breakerWindow]bool
	n, pos int
	fails  int
}

func newBreaker(maxInARow int) *breaker {
	return &breaker{maxInARow: maxInARow, recent: map[string]*outcomes{}}
}

// record notes one request to endpoint; it returns why the breaker trips,
// or "".
func (b *breaker) record(endpoint string, failed bool) string {
	o := b.recent[endpoint]
	if o == nil {
		o = &outcomes{}
		b.recent[endpoint] = o
	}
	if o.n == breakerWindow && o.failed[o.pos] {
		o.fails--
	}
	o.failed[o.pos] = failed
	o.pos = (o.pos + 1) % breakerWindow
	o.n = min(o.n+1, breakerWindow)
	if !failed {
		b.inARow = 0
		return ""
	}
	o.fails++
	b.inARow++
	switch {
	case b.inARow >= b.maxInARow:
		return fmt.Sprintf("%d failed requests in a row", b.inARow)
	case o.fails*2 > breakerWindow:
		return fmt.Sprintf("%d of its last %d requests failed", o.fails, o.n)
	}
	return ""
}

// streak is how many requests failed in a row.
func (b *breaker) streak() int { return b.inARow }
