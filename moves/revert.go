package moves

import "fmt"

// Revert returns the moves that undo what a journal's runs moved: every
// container whose last outcome in events (a journal, read with
// ReadJournal) is moved goes back to the storage it left, in the order it
// moved; units are kept. A container moved more than once goes back to
// where it was before its first move. Run the result as a Plan.
func Revert(events []Event) ([]Move, error) {
	type seen struct {
		c      Container // c.Storage: where its last verified move took it
		unit   string
		to     string // the destination of its last scheduled move
		origin string // where it was before its first verified move
	}
	all := map[key]*seen{}
	var order []*seen // in the order of their first verified move
	for _, ev := range events {
		if ev.Kind == "" || ev.ID == 0 {
			continue
		}
		k := key{ev.Kind, ev.ID}
		s := all[k]
		if s == nil {
			s = &seen{c: Container{Kind: ev.Kind, ID: ev.ID}}
			all[k] = s
		}
		if ev.Path != "" {
			s.c.Path = ev.Path
		}
		if ev.Size != nil {
			s.c.Size, s.c.HasSize = *ev.Size, true
		}
		switch ev.Type {
		case EventPlanned:
			if ev.Unit != "" {
				s.unit = ev.Unit
			}
		case EventScheduled, EventReattached:
			if ev.To != "" {
				s.to = ev.To
			}
		case EventMoved:
			to := ev.To
			if to == "" {
				to = s.to
			}
			if ev.From == "" || to == "" {
				return nil, fmt.Errorf("moves: cannot revert %s %d: the journal does not say where it moved from and to", ev.Kind, ev.ID)
			}
			if s.origin == "" {
				s.origin = ev.From
				order = append(order, s)
			}
			s.c.Storage = to
		case EventNotMoved, EventGone:
			// It did not move (or left on its own): nothing to undo for
			// this attempt.
		}
	}
	var out []Move
	for _, s := range order {
		if s.c.Storage != s.origin { // else it is back where it started
			out = append(out, Move{Container: s.c, To: s.origin, Unit: s.unit})
		}
	}
	return out, nil
}
