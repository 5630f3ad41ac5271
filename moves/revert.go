package moves

import (
	"cmp"
	"errors"
	"fmt"
)

// Revert returns the moves that undo what a journal's runs moved: every
// container whose last move in events (a journal, read with ReadJournal)
// was verified moved, or was still in flight when the journal ends (it
// may have landed), goes back to the storage it was on before its first
// move, in the order it first moved; units are kept. Run the result as a
// Plan: each container is read again on its source first, so one that
// did not move after all is reported gone, not moved.
func Revert(events []Event) ([]Move, error) {
	type seen struct {
		c       Container
		unit    string
		origin  string // where it was before its first move
		at      string // where its last verified move took it
		pending string // where a move not yet settled may have taken it
	}
	all := map[key]*seen{}
	var order []*seen // in the order of their first move
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
			if ev.From == "" || ev.To == "" {
				return nil, fmt.Errorf("moves: cannot revert %s %d: the journal does not say where move %d goes from and to", ev.Kind, ev.ID, ev.Move)
			}
			if s.origin == "" {
				s.origin, s.at = ev.From, ev.From
				order = append(order, s)
			}
			s.pending = ev.To
		case EventMoved:
			if to := cmp.Or(ev.To, s.pending); to != "" {
				s.at = to
			}
			s.pending = ""
		case EventFailed, EventNotMoved:
			if ev.Move != 0 || ev.Type == EventNotMoved {
				s.pending = "" // that move left it where it was
			}
		}
	}
	var out []Move
	for _, s := range order {
		s.c.Storage = cmp.Or(s.pending, s.at)
		if s.c.Storage != s.origin {
			out = append(out, Move{Container: s.c, To: s.origin, Unit: s.unit})
		}
	}
	return out, nil
}

// JournalPlan returns the plan whose run a journal holds (events, read
// with ReadJournal): the moves planned in its first round, checked against
// the digest in its header. A tool resumes a run with it without the plan
// file, and without planning again (which would plan other moves).
func JournalPlan(events []Event) (*Plan, error) {
	if len(events) == 0 || events[0].Type != EventHeader || events[0].Plan == "" {
		return nil, errors.New("moves: the journal is not of a plan of moves")
	}
	p := &Plan{}
	runs, rounds := 0, 0
	for _, ev := range events[1:] {
		switch ev.Type {
		case EventRunStarted:
			runs++
		case EventRound:
			rounds++
		case EventPlanned:
			if runs == 1 && rounds == 1 {
				m := Move{Container: Container{Kind: ev.Kind, ID: ev.ID, Path: ev.Path, Storage: ev.From}, To: ev.To, Unit: ev.Unit}
				if ev.Size != nil {
					m.Size, m.HasSize = *ev.Size, true
				}
				p.Moves = append(p.Moves, m)
			}
		}
		if runs > 1 || rounds > 1 {
			break
		}
	}
	if got := p.Digest(); got != events[0].Plan {
		return nil, fmt.Errorf("moves: the journal's first round plans other moves (%s) than its header says (%s): it was edited, or cut short before its plan was written", got, events[0].Plan)
	}
	return p, nil
}
