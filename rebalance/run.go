package rebalance

import (
	"context"
	"fmt"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/moves"
)

// Plan reads the fleet (GET requests only) and plans its rebalance. The
// plan can plan again around failed moves when it runs (moves.Plan's
// Replan is Rebalancer.Replan).
func (r *Rebalancer) Plan(ctx context.Context) (*Plan, error) {
	f, err := r.ReadFleet(ctx)
	if err != nil {
		return nil, err
	}
	p, err := PlanFleet(f, r.opts)
	if err != nil {
		return nil, err
	}
	p.replan = r.Replan
	return p, nil
}

// Replan reads the fleet again and plans around the containers that
// failed (and those that failed before, in this Rebalancer): the moves of
// another round. It is the Replan of Plan's moves.Plan.
func (r *Rebalancer) Replan(ctx context.Context, failed []moves.Container) ([]moves.Move, error) {
	r.mu.Lock()
	r.opts.Exclude = append(r.opts.Exclude, failed...)
	o := r.opts
	r.mu.Unlock()
	f, err := r.ReadFleet(ctx)
	if err != nil {
		return nil, err
	}
	again, err := PlanFleet(f, o)
	if err != nil {
		return nil, err
	}
	return again.Moves, nil
}

// MovesPlan is the plan as package moves runs it: its moves, and (for a
// plan made by Rebalancer.Plan) a Replan that reads the fleet again and
// plans around the moves that failed.
func (p *Plan) MovesPlan() *moves.Plan {
	mp := &moves.Plan{Moves: p.Moves}
	mp.Replan = p.replan
	return mp
}

// Run makes the plan's moves through client with opts (see moves.Mover):
// each container is read again on its source before its move. A plan read
// from a file runs against the instance it was made for only.
func (p *Plan) Run(ctx context.Context, client *gitlabdata.Client, opts moves.Options) (*moves.Report, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOptions)
	}
	if p.Instance != "" && p.Instance != client.BaseURL() {
		return nil, fmt.Errorf("rebalance: the plan is for %s, not %s", p.Instance, client.BaseURL())
	}
	m, err := moves.New(client, p.MovesPlan(), opts)
	if err != nil {
		return nil, err
	}
	return m.Run(ctx)
}
