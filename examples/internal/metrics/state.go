package metrics

import "github.com/gitlabdata/gitlabdata/drain"

// phase is where a container of a drain is, as far as the gauges go.
type phase uint8

const (
	waiting   phase = iota // found on the storage, to be scheduled (again)
	running                // a schedule call sent, or its move followed (stuck ones too)
	verifying              // its move finished; it is to be read again
	done                   // it has an outcome
)

type key struct {
	kind drain.Kind
	id   int64
}

// item is one container: where it is, its size when known, and its last
// outcome.
type item struct {
	phase   phase
	outcome drain.Outcome // when done
	size    int64
	hasSize bool
	// live is set when an event of this run (not of the journal's
	// replay) named it.
	live bool
}

// tracker follows every container through the events, live or replayed,
// as the drain's own state does, and keeps the sums the gauges show.
type tracker struct {
	items   map[key]*item
	count   [done + 1]int // containers per phase
	bytes   int64         // known sizes of the containers not done
	unsized int           // containers not done whose size is unknown
}

// step says where ev puts its container and the outcome it gives it;
// ok is false for an event that names no container or does not move one.
func step(ev drain.Event) (p phase, o drain.Outcome, ok bool) {
	if ev.Kind == "" || ev.ID == 0 {
		return 0, "", false
	}
	switch ev.Type {
	case drain.EventPlanned, drain.EventNotSent:
		return waiting, "", true
	case drain.EventScheduling, drain.EventScheduled, drain.EventReattached, drain.EventStuck, drain.EventUnstuck, drain.EventReleased:
		return running, "", true
	case drain.EventFinished:
		return verifying, "", true
	case drain.EventFailed:
		if !ev.Final {
			return waiting, "", true // a retry is due
		}
		return done, drain.OutcomeFailed, true
	case drain.EventMoved:
		return done, drain.OutcomeMoved, true
	case drain.EventNotMoved:
		return done, drain.OutcomeNotMoved, true
	case drain.EventSkipped:
		return done, drain.OutcomeSkipped, true
	case drain.EventGone:
		return done, drain.OutcomeGone, true
	case drain.EventListingError:
		return done, drain.OutcomeUnknown, true
	}
	return 0, "", false
}

// apply moves the container of ev. It returns the container and the
// outcome ev gives it, or "" when ev gives none or repeats the outcome
// this run already gave it (a broken project is unknown in every round).
func (t *tracker) apply(ev drain.Event, live bool) (*item, drain.Outcome) {
	p, o, ok := step(ev)
	if !ok {
		return nil, ""
	}
	k := key{ev.Kind, ev.ID}
	it := t.items[k]
	if it == nil {
		it = &item{}
		t.items[k] = it
		t.add(it, 1)
	}
	repeat := it.live && live && it.phase == done && p == done && it.outcome == o
	t.add(it, -1)
	if ev.Size != nil {
		it.size, it.hasSize = *ev.Size, true
	}
	it.phase, it.outcome = p, o
	it.live = it.live || live
	t.add(it, 1)
	if repeat {
		return it, ""
	}
	return it, o
}

// add adds (sign 1) or takes away (-1) it from the sums.
func (t *tracker) add(it *item, sign int) {
	t.count[it.phase] += sign
	if it.phase == done {
		return
	}
	if it.hasSize {
		t.bytes += int64(sign) * it.size
	} else {
		t.unsized += sign
	}
}

// remaining counts the containers without an outcome.
func (t *tracker) remaining() int { return len(t.items) - t.count[done] }

// standing counts, by kind and outcome, the containers that an earlier
// run (the journal's replay) gave an outcome and this run has not named:
// a resumed run's report still counts them.
func (t *tracker) standing() map[moveKey]int {
	n := map[moveKey]int{}
	for k, it := range t.items {
		if !it.live && it.phase == done {
			n[moveKey{k.kind, it.outcome}]++
		}
	}
	return n
}
