package rebalance

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata/moves"
)

// unit is what moves as one: a project alone, or a fork network (its
// members share an object pool, which GitLab keeps on one storage).
type unit struct {
	name     string // "" for a project alone, else "fork-network-<root id>"
	members  []Project
	size     int64
	storages map[string]int64 // bytes of the unit on each storage
	gathered bool             // planned to be gathered on one storage: it moves no more
}

// on is the storage of a unit that is on one storage only ("" if split).
func (u *unit) on() string {
	if len(u.storages) != 1 {
		return ""
	}
	for s := range u.storages {
		return s
	}
	return ""
}

func (u *unit) id() int64 { return u.members[0].ID }

// units groups the projects into units: each fork network (followed up
// forked_from_project, as far as the fleet holds the parents) is one.
func units(projects []Project) []*unit {
	byID := make(map[int64]Project, len(projects))
	for _, p := range projects {
		byID[p.ID] = p
	}
	root := func(p Project) int64 {
		for range len(byID) + 1 { // a cycle in the data cannot loop forever
			if p.ForkedFrom == 0 {
				return p.ID
			}
			parent, ok := byID[p.ForkedFrom]
			if !ok {
				return p.ForkedFrom // a parent the fleet does not hold: its forks still go together
			}
			p = parent
		}
		return p.ID
	}
	byRoot := map[int64]*unit{}
	var out []*unit
	for _, p := range projects {
		r := root(p)
		u := byRoot[r]
		if u == nil {
			u = &unit{storages: map[string]int64{}}
			byRoot[r] = u
			out = append(out, u)
		}
		u.members = append(u.members, p)
		u.size += p.Size
		u.storages[p.Storage] += p.Size
		if len(u.members) > 1 {
			u.name = "fork-network-" + strconv.FormatInt(r, 10)
		}
	}
	for _, u := range out {
		slices.SortFunc(u.members, func(a, b Project) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out
}

// inScope says whether every member of u matches s.
func (s Scope) inScope(u *unit) bool {
	if s.MinSize > 0 && u.size < s.MinSize || s.MaxSize > 0 && u.size > s.MaxSize {
		return false
	}
	for _, p := range u.members {
		if s.Namespace != "" && !strings.HasPrefix(p.Path, strings.TrimSuffix(s.Namespace, "/")+"/") {
			return false
		}
		if len(s.IDs) > 0 && !slices.Contains(s.IDs, p.ID) {
			return false
		}
	}
	return true
}

// planner is one PlanFleet.
type planner struct {
	o        Options
	usage    map[string]*StorageUsage
	high     map[string]int64
	low      map[string]int64
	plan     *Plan
	budget   int64 // bytes left under MaxBytes; -1 for no limit
	maxOff   map[string]int64
	excluded map[int64]bool
	units    []*unit
}

// PlanFleet plans the moves that bring every storage of f into the band
// of o, moving few bytes: a storage above High gives up the units whose
// sizes best cover its excess (the largest that fit, then the smallest
// that covers the rest), each to the storage below Low with the most room
// left (never one of weight 0, never its own), so that the bytes moved are
// at most the excess plus one unit per storage. A fork network moves
// whole, onto one storage, or stays; a network already split across
// storages is gathered onto the one that holds most of it. It sends no
// request.
func PlanFleet(f *Fleet, o Options) (*Plan, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	pl := &planner{o: o, usage: map[string]*StorageUsage{}, high: map[string]int64{}, low: map[string]int64{},
		maxOff: map[string]int64{}, excluded: map[int64]bool{}, budget: -1,
		plan: &Plan{Instance: f.Instance, CreatedAt: time.Now().UTC(), High: o.High, Low: o.Low, Storages: []StorageUsage{},
			Moves: []moves.Move{}, Unbalanced: []Unbalanced{}, Warnings: []string{}, Requests: f.Requests}}
	if o.MaxBytes > 0 {
		pl.budget = o.MaxBytes
	}
	for _, c := range o.Exclude {
		if c.Kind == moves.KindProject {
			pl.excluded[c.ID] = true
		}
	}
	for name, capacity := range o.Capacities {
		pl.usage[name] = &StorageUsage{Name: name, Weight: f.Weights[name], Capacity: capacity}
		pl.high[name] = int64(o.High * float64(capacity))
		pl.low[name] = int64(o.Low * float64(capacity))
	}
	seen := map[int64]bool{}
	var projects []Project
	for _, p := range f.Projects {
		if u := pl.usage[p.Storage]; u != nil && !seen[p.ID] {
			seen[p.ID] = true
			u.Used += p.Size
			projects = append(projects, p)
		}
	}
	for name, u := range pl.usage {
		u.After = u.Used
		pl.plan.LowerBound += max(0, u.Used-pl.high[name])
		if o.Scope.Percent > 0 {
			pl.maxOff[name] = int64(o.Scope.Percent / 100 * float64(u.Used))
		}
	}
	all := units(projects)
	pl.units = all
	for _, name := range slices.Sorted(mapKeys(pl.usage)) {
		if u := pl.usage[name]; u.Used > u.Capacity {
			pl.plan.Warnings = append(pl.plan.Warnings, fmt.Sprintf("%s holds %s, more than the capacity given for it (%s): check -capacity", name, human(u.Used), human(u.Capacity)))
		}
	}
	pl.gather(all)
	pl.balance(all)
	for _, name := range slices.Sorted(mapKeys(pl.usage)) {
		pl.plan.Storages = append(pl.plan.Storages, *pl.usage[name])
	}
	return pl.plan, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// movable says whether u may move: in scope, on one storage, with no
// excluded member.
func (pl *planner) movable(u *unit) bool {
	if u.gathered || u.on() == "" || !pl.o.Scope.inScope(u) {
		return false
	}
	for _, p := range u.members {
		if pl.excluded[p.ID] {
			return false
		}
	}
	return true
}

// receiver is the storage below Low with the most room that takes size
// bytes without going above Low, other than from; "" if none.
func (pl *planner) receiver(from string, size int64) string {
	best, room := "", int64(-1)
	for _, name := range slices.Sorted(mapKeys(pl.usage)) {
		u := pl.usage[name]
		left := pl.low[name] - u.After
		if name == from || u.Weight <= 0 || size > left {
			continue
		}
		if left > room {
			best, room = name, left
		}
	}
	return best
}

// affordable says whether size bytes fit the byte budget and what from
// may still give up (Scope.Percent).
func (pl *planner) affordable(from string, size int64) bool {
	if pl.budget >= 0 && size > pl.budget {
		return false
	}
	if off, limited := pl.maxOff[from]; limited && pl.usage[from].Out+size > off {
		return false
	}
	return true
}

// assign plans the moves of the members of u that are not on to.
func (pl *planner) assign(u *unit, to string) {
	moved := int64(0)
	for _, p := range u.members {
		if p.Storage == to {
			continue
		}
		pl.plan.Moves = append(pl.plan.Moves, moves.Move{
			Container: moves.Container{Kind: moves.KindProject, ID: p.ID, Path: p.Path, Storage: p.Storage, Size: p.Size, HasSize: true},
			To:        to, Unit: u.name,
		})
		from := pl.usage[p.Storage]
		from.After -= p.Size
		from.Out += p.Size
		moved += p.Size
	}
	dest := pl.usage[to]
	dest.After += moved
	dest.In += moved
	pl.plan.MovedBytes += moved
	pl.plan.LargestUnit = max(pl.plan.LargestUnit, moved)
	pl.plan.Units++
	if pl.budget >= 0 {
		pl.budget -= moved
	}
}

// gather plans the moves that bring each fork network split across
// storages onto the storage that holds most of it, where it stays at or
// below High; a network it cannot gather is a warning.
func (pl *planner) gather(all []*unit) {
	for _, u := range all {
		if len(u.storages) < 2 || !pl.o.Scope.inScope(u) {
			continue
		}
		target := ""
		for _, s := range slices.Sorted(mapKeys(u.storages)) {
			if target == "" || u.storages[s] > u.storages[target] {
				target = s
			}
		}
		t := pl.usage[target]
		incoming := u.size - u.storages[target]
		if t.Weight <= 0 || t.After+incoming > pl.high[target] || !pl.affordable(target, 0) || pl.budget >= 0 && incoming > pl.budget {
			pl.plan.Warnings = append(pl.plan.Warnings, fmt.Sprintf("fork network %s is split across %s: it cannot be gathered on %s (weight %d, or no room below High)",
				u.name, strings.Join(slices.Sorted(mapKeys(u.storages)), ", "), target, t.Weight))
			continue
		}
		pl.plan.Warnings = append(pl.plan.Warnings, fmt.Sprintf("fork network %s is split across %s: its members move to %s, which holds most of it",
			u.name, strings.Join(slices.Sorted(mapKeys(u.storages)), ", "), target))
		pl.assign(u, target)
		u.gathered = true
	}
}

// balance plans, for each storage above High (the fullest first; with a
// byte budget, the nearest to High first, so that it brings as many
// storages as it can into the band), the units that bring it to High.
func (pl *planner) balance(all []*unit) {
	byStorage := map[string][]*unit{}
	for _, u := range all {
		if pl.movable(u) {
			byStorage[u.on()] = append(byStorage[u.on()], u)
		}
	}
	sources := slices.SortedFunc(mapKeys(pl.usage), func(a, b string) int {
		ea, eb := pl.usage[a].After-pl.high[a], pl.usage[b].After-pl.high[b]
		if pl.budget >= 0 {
			ea, eb = eb, ea
		}
		return cmp.Or(cmp.Compare(eb, ea), cmp.Compare(a, b))
	})
	for _, s := range sources {
		need := pl.usage[s].After - pl.high[s]
		if need <= 0 {
			continue
		}
		cands := byStorage[s]
		slices.SortFunc(cands, func(a, b *unit) int { return cmp.Or(cmp.Compare(b.size, a.size), cmp.Compare(a.id(), b.id())) })
		taken := map[*unit]bool{}
		try := func(u *unit) bool {
			if taken[u] || !pl.affordable(s, u.size) {
				return false
			}
			to := pl.receiver(s, u.size)
			if to == "" {
				return false
			}
			pl.assign(u, to)
			taken[u] = true
			need -= u.size
			return true
		}
		for _, u := range pl.choose(s, cands, need) {
			try(u)
		}
		for _, u := range cands { // what a receiver could not take: the largest that fit in what is left
			if need <= 0 {
				break
			}
			if u.size <= need {
				try(u)
			}
		}
		if need > 0 { // then the smallest that covers the rest
			for i := len(cands) - 1; i >= 0 && need > 0; i-- {
				if cands[i].size >= need && try(cands[i]) {
					break
				}
			}
		}
		if need > 0 {
			var left []*unit
			for _, u := range cands {
				if !taken[u] {
					left = append(left, u)
				}
			}
			pl.plan.Unbalanced = append(pl.plan.Unbalanced, Unbalanced{Storage: s, Why: pl.why(s, need, left)})
		}
	}
}

// choose picks units of cands (largest first) whose sizes add up to at
// least need with little to spare: the largest that fit in what is left,
// then the smallest that covers the rest; then, while it helps, a chosen
// unit is dropped, or swapped for a smaller one that still covers need.
// It looks at sizes, the byte budget and what s may give up; receivers
// are found after.
func (pl *planner) choose(s string, cands []*unit, need int64) []*unit {
	var chosen []*unit
	sum, in := int64(0), map[*unit]bool{}
	fits := func(size int64) bool { return pl.affordable(s, sum+size) }
	for _, u := range cands {
		if sum < need && u.size <= need-sum && fits(u.size) {
			chosen, sum, in[u] = append(chosen, u), sum+u.size, true
		}
	}
	if sum < need {
		for i := len(cands) - 1; i >= 0; i-- {
			if u := cands[i]; !in[u] && u.size >= need-sum && fits(u.size) {
				chosen, sum, in[u] = append(chosen, u), sum+u.size, true
				break
			}
		}
	}
	if sum < need {
		return chosen
	}
	for improved, rounds := true, 0; improved && rounds < 50; rounds++ {
		improved = false
		for i, x := range chosen {
			if sum-x.size >= need { // not needed
				chosen, sum, in[x] = slices.Delete(chosen, i, i+1), sum-x.size, false
				improved = true
				break
			}
			// The smallest unit not chosen that, instead of x, still covers need.
			var best *unit
			for j := len(cands) - 1; j >= 0; j-- {
				if y := cands[j]; !in[y] && y.size < x.size && sum-x.size+y.size >= need {
					best = y
					break
				}
			}
			if best != nil {
				chosen[i], sum, in[x], in[best] = best, sum-x.size+best.size, false, true
				improved = true
				break
			}
		}
	}
	slices.SortFunc(chosen, func(a, b *unit) int { return cmp.Or(cmp.Compare(b.size, a.size), cmp.Compare(a.id(), b.id())) })
	return chosen
}

// why says why storage s stays need bytes above High, left being the
// units on it that may move and were not planned.
func (pl *planner) why(s string, need int64, left []*unit) string {
	room := int64(0)
	for name, u := range pl.usage {
		if name != s && u.Weight > 0 {
			room += max(0, pl.low[name]-u.After)
		}
	}
	smallest := int64(-1)
	for _, u := range left {
		if smallest < 0 || u.size < smallest {
			smallest = u.size
		}
	}
	above := human(need) + " above High"
	switch {
	case len(left) == 0:
		return above + ", and no more of its repositories may move: " + pl.scopeNote(s)
	case pl.budget >= 0 && smallest > pl.budget:
		return above + ": the byte budget is used up"
	case pl.maxOff[s] > 0 && pl.usage[s].Out >= pl.maxOff[s]*9/10:
		return fmt.Sprintf("%s: it may give up only %.0f%% of its bytes", above, pl.o.Scope.Percent)
	case room < need:
		return fmt.Sprintf("%s, and the storages below Low can take only %s more", above, human(room))
	}
	return above + ": no repository left on it fits a storage below Low"
}

// scopeNote says why the units on s do not move: out of scope (and which
// fork network a named project belongs to), excluded, or split.
func (pl *planner) scopeNote(s string) string {
	var partial []string
	matched, onS := 0, 0
	for _, u := range pl.units {
		if u.storages[s] == 0 {
			continue
		}
		onS++
		if pl.o.Scope.inScope(u) {
			matched++
			continue
		}
		for _, p := range u.members {
			one := &unit{members: []Project{p}, size: u.size}
			if u.name != "" && pl.o.Scope.inScope(one) {
				partial = append(partial, fmt.Sprintf("project %d is in %s (%d projects), which moves whole: name all of its members", p.ID, u.name, len(u.members)))
				break
			}
		}
	}
	switch {
	case len(partial) > 0:
		return strings.Join(partial, "; ")
	case onS == 0:
		return "it holds no project"
	case matched == 0:
		return "none of its projects matches the scope (-ids, -namespace, -min-size, -max-size)"
	}
	return "the others are excluded (moves that failed), split fork networks, or already planned"
}

// human writes n bytes for people.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
