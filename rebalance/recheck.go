package rebalance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gitlabdata/gitlabdata/moves"
)

// Recheck reads the fleet again and checks that plan (made earlier, and
// reviewed) still holds before it runs: every destination is a storage of
// the plan with a weight above 0, every fork network it touches moves
// whole onto one storage, and no destination would end above High. It
// returns the plan with today's usage and sizes, and the same moves (a
// journal of it still resumes); a move whose project is no longer on its
// source is a warning (the run reports it gone). The Rebalancer's
// capacities, High and Low are the plan's.
func (r *Rebalancer) Recheck(ctx context.Context, plan *Plan) (*Plan, error) {
	f, err := r.ReadFleet(ctx)
	if err != nil {
		return nil, err
	}
	return recheck(f, r.opts, plan)
}

func recheck(f *Fleet, o Options, plan *Plan) (*Plan, error) {
	now, err := PlanFleet(f, o) // today's usage, and the units
	if err != nil {
		return nil, err
	}
	out := *plan
	out.Requests, out.Warnings, out.Unbalanced = f.Requests, []string{}, []Unbalanced{}
	out.Moves = slices.Clone(plan.Moves)
	usage := map[string]*StorageUsage{}
	for _, s := range now.Storages {
		s.After, s.In, s.Out = s.Used, 0, 0
		usage[s.Name] = &s
	}
	byID := map[int64]Project{}
	for _, p := range f.Projects {
		byID[p.ID] = p
	}
	networks := map[int64]*unit{}
	for _, u := range units(f.Projects) {
		if u.name != "" {
			for _, p := range u.members {
				networks[p.ID] = u
			}
		}
	}
	zero := map[string]int{}
	out.MovedBytes, out.LargestUnit, out.Units = 0, 0, 0
	unitBytes := map[string]int64{}
	for i, m := range out.Moves {
		from, to := usage[m.Storage], usage[m.To]
		switch {
		case to == nil || from == nil:
			return nil, fmt.Errorf("rebalance: move %d (%s %d) goes from %s to %s, and the plan balances %s only", i+1, m.Kind, m.ID, m.Storage, m.To, strings.Join(slices.Sorted(mapKeys(usage)), ", "))
		case to.Weight <= 0:
			zero[m.To]++
		}
		p, ok := byID[m.ID]
		if m.Kind != moves.KindProject || !ok || p.Storage != m.Storage {
			where := "no longer on a storage of the plan"
			if ok {
				where = "on " + p.Storage + " now"
			}
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s %d is %s, not on %s: it will be reported gone", m.Kind, m.ID, where, m.Storage))
			continue
		}
		out.Moves[i].Size, out.Moves[i].HasSize = p.Size, true
		from.After, from.Out = from.After-p.Size, from.Out+p.Size
		to.After, to.In = to.After+p.Size, to.In+p.Size
		out.MovedBytes += p.Size
		key := m.Unit
		if key == "" {
			key = fmt.Sprint("project ", m.ID)
		}
		unitBytes[key] += p.Size
	}
	for _, s := range slices.Sorted(mapKeys(zero)) {
		n := zero[s]
		return nil, fmt.Errorf("rebalance: the plan moves %d projects to %s, whose weight is now 0 (GitLab places nothing new there): plan again", n, s)
	}
	if err := splits(out.Moves, networks, byID); err != nil {
		return nil, err
	}
	for _, b := range unitBytes {
		out.Units++
		out.LargestUnit = max(out.LargestUnit, b)
	}
	out.Storages = out.Storages[:0:0]
	for _, name := range slices.Sorted(mapKeys(usage)) {
		s := usage[name]
		high := int64(o.High * float64(s.Capacity))
		if s.In > 0 && s.After > high {
			return nil, fmt.Errorf("rebalance: the fleet changed since the plan: %s would end at %.1f%%, above High (%.0f%%): plan again", name, 100*s.ShareAfter(), 100*o.High)
		}
		if s.After > high {
			out.Unbalanced = append(out.Unbalanced, Unbalanced{Storage: name, Why: human(s.After-high) + " above High after the plan's moves (the fleet changed since it was made)"})
		}
		out.Storages = append(out.Storages, *s)
	}
	out.LowerBound = now.LowerBound
	return &out, nil
}

// splits refuses moves that would leave a fork network on two storages.
func splits(ms []moves.Move, networks map[int64]*unit, byID map[int64]Project) error {
	dest := map[int64]string{}
	for _, m := range ms {
		dest[m.ID] = m.To
	}
	checked := map[*unit]bool{}
	for _, m := range ms {
		u := networks[m.ID]
		if u == nil || checked[u] {
			continue
		}
		checked[u] = true
		ends := map[string]bool{}
		for _, p := range u.members {
			if d, ok := dest[p.ID]; ok {
				ends[d] = true
			} else {
				ends[byID[p.ID].Storage] = true
			}
		}
		if len(ends) > 1 {
			return fmt.Errorf("rebalance: the plan leaves %s (%d projects) on %s: a fork network moves whole onto one storage; plan again",
				u.name, len(u.members), strings.Join(slices.Sorted(mapKeys(ends)), " and "))
		}
	}
	return nil
}
