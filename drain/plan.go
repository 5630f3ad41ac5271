package drain

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// plan is Drain.Plan: a dry run of the first round, the budgets applied.
func (r *runner) plan(ctx context.Context) (*Plan, error) {
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	queue, err := r.discover(ctx, 1)
	if err != nil {
		return nil, err
	}
	p := &Plan{From: r.o.From, To: r.o.To, Moves: []Container{}, Skipped: []Remaining{}}
	moves, bytes := 0, int64(0)
	for _, it := range queue {
		if why := budget(r.o, moves, bytes, it.c); why != "" {
			p.Skipped = append(p.Skipped, Remaining{Container: it.c, Outcome: OutcomeSkipped, Reason: why, Errors: []string{}})
			continue
		}
		moves++
		bytes += it.c.Size
		p.Moves = append(p.Moves, it.c)
		p.Bytes += it.c.Size
		if !it.c.HasSize {
			p.UnknownSize++
		}
	}
	if p.UnknownSize > 0 && r.o.MaxBytes > 0 {
		r.warn(fmt.Sprintf("%d containers have no size GitLab gives (group wikis, snippets): they count as 0 bytes against the byte budget", p.UnknownSize))
	}
	p.Warnings, p.ListingErrors, p.Requests = nonNil(r.warnings), nonNil(r.listingErrors), r.gl.requests
	return p, nil
}

// names lists the keys of m, sorted, for messages.
func names(m map[string]int) string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
