package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrMoveFailed matches the error returned when a storage move ends in
// state "failed" or "cleanup failed". Use errors.As with [*MoveFailedError]
// for GitLab's error_message.
var ErrMoveFailed = errors.New("gitlabdata: storage move failed")

// MoveFailedError reports a storage move that ended in a failure state.
type MoveFailedError struct {
	ID    int64
	State StorageMoveState
	// Message is GitLab's error_message, or "" if it sent none.
	Message string
}

// Error returns "gitlabdata: storage move 7 ended "failed": <message>".
func (e *MoveFailedError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("gitlabdata: storage move %d ended %q", e.ID, string(e.State))
	}
	return fmt.Sprintf("gitlabdata: storage move %d ended %q: %s", e.ID, string(e.State), e.Message)
}

// Unwrap makes errors.Is(err, ErrMoveFailed) hold.
func (e *MoveFailedError) Unwrap() error { return ErrMoveFailed }

// WaitOptions bounds the polling of Wait. Zero fields take
// their defaults.
type WaitOptions struct {
	// MinDelay is the first pause between polls. Default 1s.
	MinDelay time.Duration
	// MaxDelay caps the pause, which doubles after each poll. Default 30s.
	MaxDelay time.Duration
	// UntilReplicated also stops at "replicated": the repository already
	// serves from the destination, and only the old copy's removal is left.
	UntilReplicated bool
}

func (o *WaitOptions) withDefaults() (WaitOptions, error) {
	var w WaitOptions
	if o != nil {
		w = *o
	}
	if w.MinDelay < 0 || w.MaxDelay < 0 {
		return w, fmt.Errorf("%w: wait delays must not be negative", ErrInvalidArgument)
	}
	if w.MinDelay == 0 {
		w.MinDelay = time.Second
	}
	if w.MaxDelay == 0 {
		w.MaxDelay = 30 * time.Second
	}
	w.MaxDelay = max(w.MaxDelay, w.MinDelay)
	return w, nil
}

// done reports whether polling can stop at state s.
func (o WaitOptions) done(s StorageMoveState) bool {
	return s.Terminal() || (o.UntilReplicated && s == StorageMoveStateReplicated)
}

// poller yields jittered, exponentially growing pauses: each one is random
// in [d/2, d], and d doubles from MinDelay up to MaxDelay.
type poller struct {
	next, limit time.Duration
}

func newPoller(o WaitOptions) *poller { return &poller{next: o.MinDelay, limit: o.MaxDelay} }

func (p *poller) pause() time.Duration {
	d := p.next
	p.next = min(2*p.next, p.limit)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// moveOutcome turns a finished move into nil or a *MoveFailedError.
func moveOutcome(m *RepositoryStorageMove) error {
	if m.State == StorageMoveStateFailed || m.State == StorageMoveStateCleanupFailed {
		e := &MoveFailedError{ID: m.ID, State: m.State}
		if m.ErrorMessage != nil {
			e.Message = *m.ErrorMessage
		}
		return e
	}
	return nil
}

// wait polls the storage move id until it reaches a state opts stops at
// (finished, failed, cleanup failed; also replicated with
// opts.UntilReplicated) and returns it. A move that ends "failed" or
// "cleanup failed" is returned together with a [*MoveFailedError]. Errors
// from GitLab while polling are retried by the client's [RetryPolicy] only,
// then returned.
func (s *storageMoves[T, P]) wait(ctx context.Context, id int64, opts *WaitOptions) (*T, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := newPoller(o)
	for {
		move, _, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		common := P(move).common()
		if o.done(common.State) {
			return move, moveOutcome(common)
		}
		if err := s.c.sleep(ctx, p.pause()); err != nil {
			return move, fmt.Errorf("gitlabdata: waiting for storage move %d (last state %q): %w", id, string(common.State), err)
		}
	}
}
