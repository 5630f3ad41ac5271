package moves

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Preview is what a run would do, from a dry run (Mover.Preview).
type Preview struct {
	// From and To are those of a storage emptied (Plan.Empty); To is nil
	// when GitLab picks the destination.
	From string  `json:"from,omitempty"`
	To   *string `json:"to,omitempty"`
	// Moves are the moves a run would schedule, in order (To is empty
	// where GitLab picks).
	Moves []Move `json:"moves"`
	// Skipped are those the budgets leave out.
	Skipped []Remaining `json:"skipped"`
	// Bytes is the size of Moves where known; UnknownSize counts the
	// containers of Moves whose size GitLab does not give (they count as
	// 0 bytes against MaxBytes).
	Bytes         int64          `json:"bytes"`
	UnknownSize   int            `json:"unknown_size"`
	Warnings      []string       `json:"warnings"`
	ListingErrors []ListingError `json:"listing_errors"`
	Requests      int            `json:"requests"`
}

// preview is Mover.Preview: a dry run of the first round, the budgets
// applied.
func (r *runner) preview(ctx context.Context) (*Preview, error) {
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	queue, err := r.round(ctx, 1)
	if err != nil {
		return nil, err
	}
	p := &Preview{From: r.from(), Moves: []Move{}, Skipped: []Remaining{}}
	if r.empty != nil {
		p.To = r.empty.To
	}
	moves, bytes := 0, int64(0)
	for _, it := range queue {
		if why := budget(r.o, moves, bytes, it.c); why != "" {
			p.Skipped = append(p.Skipped, Remaining{Container: it.c, Outcome: OutcomeSkipped, Reason: why, Errors: []string{}})
			continue
		}
		moves++
		bytes += it.c.Size
		p.Moves = append(p.Moves, Move{Container: it.c, To: it.dest, Unit: it.unit})
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
