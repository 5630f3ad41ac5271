package gitlabtest

import (
	"cmp"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

// kind is the type of container a storage move moves.
type kind int

const (
	kindProject kind = iota
	kindGroup
	kindSnippet
	kindCount
)

type kindInfo struct {
	collection string // project_repository_storage_moves
	container  string // projects
	noun       string // project: the key of the read-only error
	title      string // Project: in "404 Project Not Found"
}

var kinds = [kindCount]kindInfo{
	{"project_repository_storage_moves", "projects", "project", "Project"},
	{"group_repository_storage_moves", "groups", "group", "Group"},
	{"snippet_repository_storage_moves", "snippets", "snippet", "Snippet"},
}

// storageShard is a configured Gitaly storage.
type storageShard struct {
	name   string
	weight int
	// capacity is the storage's size in bytes; 0 when not configured
	// (see Server.SetStorageCapacity).
	capacity int64
}

// Project is a project of the fake instance: the fields the storage moves
// API and the project listings (GET /projects, /projects/:id) show, and
// the failures a test can give it.
type Project struct {
	// ID is assigned when 0.
	ID int64
	// Name defaults to "project-<id>", Path to the name in lower case
	// with spaces replaced by "-", Namespace to "root". The project
	// belongs to the group whose Path equals its Namespace.
	Name, Path, Namespace string
	// Description is sent as null when empty.
	Description string
	// Storage is the repository storage; "default" when empty.
	Storage string
	// ReadOnly is true while a move is scheduled or running. Scheduling
	// a move of a read-only project answers 400 "is read-only".
	ReadOnly bool
	// MoveFailure, when set, makes moves of this project end "failed"
	// with this error_message (the project stays on its storage).
	MoveFailure string
	// CleanupFailure, when set, makes moves of this project end
	// "cleanup failed" with this error_message after the repository was
	// copied (the project is then on the destination storage).
	CleanupFailure string
	// CreatedAt defaults to the server's clock when added.
	CreatedAt time.Time
	// Visibility is "private" (the default), "internal" or "public":
	// GET /projects shows a non-administrator the public and internal
	// projects, and an anonymous client the public ones.
	Visibility string
	// RepositorySize is statistics.repository_size in bytes. 0 gives a
	// size derived from the ID (between 1 MiB and about 2 GiB), unless
	// NoRepository is set.
	RepositorySize int64
	// NoRepository makes a project without a repository: empty_repo is
	// true and statistics.repository_size 0. It can still be moved.
	NoRepository bool
	// Broken makes GET /projects/:id and every /projects listing page
	// that includes the project answer 500 {"message":"500 Internal
	// Server Error"}, as a project with corrupt data can in GitLab.
	Broken bool
	// StuckIn, when set to "initial", "scheduled" or "started", makes the
	// project's moves stop in that state: Step leaves them there until
	// [Server.SetStuckIn] changes it. A move stuck in "initial" is
	// created in that state.
	StuckIn string
	// PendingDelete marks a project whose deletion is in progress
	// (corrections #19): GET /projects leaves it out unless an
	// administrator sends include_pending_delete=true, and GET
	// /projects/:id answers 404 {"message":"404 Project Not Found"},
	// to administrators too. Its storage moves work as for any project.
	PendingDelete bool
	// WikiSize is the size of the project's wiki in bytes (0 by
	// default): its statistics.wiki_size, part of its
	// statistics.storage_size, and part of the statistics.wiki_size of
	// its group in GET /groups?statistics=true.
	WikiSize int64
	// ForkedFromID makes the project a fork of the project with that ID
	// (0, the default, for a project that is not a fork; see
	// [Server.AddFork]). A fork of a project that exists shows it in
	// forked_from_project, and counts in its forks_count and in GET
	// /projects/:id/forks.
	ForkedFromID int64
}

// Group is a group of the fake instance, whose wiki repository can be moved.
type Group struct {
	// ID is assigned when 0.
	ID int64
	// Name defaults to "group-<id>"; Path (the full path) to the name in
	// lower case with spaces replaced by "-".
	Name, Path string
	// Storage is the wiki's storage; "default" when empty. It is always
	// empty for a group with NoWiki.
	Storage string
	// ReadOnly, MoveFailure, CleanupFailure, Visibility and StuckIn work
	// as for [Project].
	ReadOnly       bool
	MoveFailure    string
	CleanupFailure string
	Visibility     string
	StuckIn        string
	// Description is sent as null when empty.
	Description string
	// WikiSize is the size of the group's own wiki in bytes. GitLab shows
	// it nowhere over REST: statistics.wiki_size of GET /groups is the
	// sum of the wikis of the group's projects (corrections #20; see
	// [Project].WikiSize), so the fake does not show it either. It is
	// kept for compatibility and changes no answer.
	WikiSize int64
	// CreatedAt defaults to the server's clock when added.
	CreatedAt time.Time
	// NoWiki makes a group without a wiki repository (the zero Group has
	// one), as GitLab's group_wiki_repository is created only with the
	// wiki's first page. Its Storage is empty and its repository_storage
	// null; GET /groups?repository_storage=NAME never lists it; a move of
	// it is accepted (201) from a source picked by weight, as GitLab
	// picks one, and finishes having moved nothing, so the group still
	// has no wiki repository afterwards (corrections #23). MoveFailure
	// and CleanupFailure do not apply to it.
	NoWiki bool
}

// Snippet is a snippet of the fake instance.
type Snippet struct {
	// ID is assigned when 0.
	ID int64
	// Title defaults to "snippet-<id>".
	Title string
	// Description is sent as null when empty.
	Description string
	// Visibility defaults to "private".
	Visibility string
	// Storage is the repository storage; "default" when empty.
	Storage string
	// HasRepository adds ssh_url_to_repo and http_url_to_repo to the
	// snippet's JSON; GitLab leaves them out for a snippet without one.
	HasRepository bool
	// ProjectID is set for project snippets, nil for personal ones.
	ProjectID *int64
	// AuthorUsername defaults to "root".
	AuthorUsername string
	// ReadOnly, MoveFailure, CleanupFailure and StuckIn work as for
	// [Project].
	ReadOnly       bool
	MoveFailure    string
	CleanupFailure string
	StuckIn        string
	// CreatedAt defaults to the server's clock when added.
	CreatedAt time.Time
}

// move is a storage move of any kind.
type move struct {
	id          int64
	created     time.Time
	state       gitlabdata.StorageMoveState
	source      string
	dest        string
	errMsg      *string
	containerID int64
	// queued is when the move entered state scheduled, when its worker
	// was enqueued in Sidekiq (see Server.sidekiqQueuesLocked).
	queued time.Time
	// active says the move is in its store's active list.
	active bool
}

// terminal reports whether a move in state st is over: Step leaves it
// alone.
func terminal(st gitlabdata.StorageMoveState) bool {
	return st == moveFinished || st == moveFailed || st == moveCleanupFailed
}

// compareMoves orders moves by created_at, then id.
func compareMoves(a, b *move) int {
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// moveStore holds the storage moves of one kind, indexed so that a
// listing page, a move by id, a container's moves and Step cost what
// they return, not the number of moves.
type moveStore struct {
	// byTime is every move in (created_at, id) order, oldest first;
	// sorted lazily when unsorted (seeded moves may arrive out of order).
	byTime   []*move
	unsorted bool
	byID     map[int64]*move
	// byContainer holds each container's moves in (created_at, id) order.
	byContainer map[int64][]*move
	// active holds the moves not in a terminal state, in the order they
	// became active; Step visits only these.
	active []*move
	maxID  int64
}

// ordered returns every move, oldest first.
func (ms *moveStore) ordered() []*move {
	if ms.unsorted {
		slices.SortFunc(ms.byTime, compareMoves)
		ms.unsorted = false
	}
	return ms.byTime
}

// insertByTime puts m into list at its (created_at, id) position.
func insertByTime(list []*move, m *move) []*move {
	i, _ := slices.BinarySearchFunc(list, m, compareMoves)
	return slices.Insert(list, i, m)
}

// put stores mv, or overwrites the move with the same id in place, and
// returns the stored move.
func (ms *moveStore) put(mv *move) *move {
	if ms.byID == nil {
		ms.byID = make(map[int64]*move)
		ms.byContainer = make(map[int64][]*move)
	}
	ms.maxID = max(ms.maxID, mv.id)
	if old, ok := ms.byID[mv.id]; ok {
		oldList := ms.byContainer[old.containerID]
		ms.byContainer[old.containerID] = slices.DeleteFunc(oldList, func(o *move) bool { return o == old })
		if len(ms.byContainer[old.containerID]) == 0 {
			delete(ms.byContainer, old.containerID)
		}
		if !old.created.Equal(mv.created) {
			ms.unsorted = true
		}
		wasActive := old.active
		*old = *mv
		old.active = wasActive
		mv = old
	} else {
		if n := len(ms.byTime); n > 0 && compareMoves(mv, ms.byTime[n-1]) < 0 {
			ms.unsorted = true
		}
		ms.byTime = append(ms.byTime, mv)
		ms.byID[mv.id] = mv
	}
	ms.byContainer[mv.containerID] = insertByTime(ms.byContainer[mv.containerID], mv)
	if !mv.active && !terminal(mv.state) {
		mv.active = true
		ms.active = append(ms.active, mv)
	}
	return mv
}

// containerRef gives the storage-move code access to the fields every
// container has.
type containerRef struct {
	storage        string
	readOnly       *bool
	moveFailure    string
	cleanupFailure string
	stuckIn        *string
	// noWiki is a group without a wiki repository: nothing to move.
	noWiki bool
}

// countKey groups containers for the counts that answer X-Total without
// a walk: by storage ("" for a group without a wiki), visibility and
// pending deletion.
type countKey struct {
	storage, visibility string
	pending             bool
}

// idIndex keeps ids in ascending order, sorting lazily after an id
// arrives out of order.
type idIndex struct {
	ids      []int64
	unsorted bool
}

func (x *idIndex) add(id int64) {
	if n := len(x.ids); n > 0 && id <= x.ids[n-1] {
		x.unsorted = true
	}
	x.ids = append(x.ids, id)
}

func (x *idIndex) sorted() []int64 {
	if x.unsorted {
		slices.Sort(x.ids)
		x.ids = slices.Compact(x.ids)
		x.unsorted = false
	}
	return x.ids
}

func (x *idIndex) remove(id int64) {
	ids := x.sorted()
	if i, ok := slices.BinarySearch(ids, id); ok {
		x.ids = slices.Delete(ids, i, i+1)
	}
}

// containerIndex indexes the containers of one kind.
type containerIndex struct {
	ids    idIndex // every container, by id
	maxID  int64   // the largest id used: an ID of 0 gets maxID+1
	counts map[countKey]int
}

func (x *containerIndex) count(k countKey, delta int) {
	if x.counts == nil {
		x.counts = make(map[countKey]int)
	}
	if n := x.counts[k] + delta; n != 0 {
		x.counts[k] = n
	} else {
		delete(x.counts, k)
	}
}

// countMatching is the number of containers whose key matches.
func (x *containerIndex) countMatching(match func(countKey) bool) int {
	n := 0
	for k, c := range x.counts {
		if match(k) {
			n += c
		}
	}
	return n
}

// namespaceInfo is what the fake knows of the projects of one namespace:
// their ids and the sums of their sizes (the group's statistics).
type namespaceInfo struct {
	ids                      idIndex
	repositorySize, wikiSize int64
}

func projectKey(p *Project) countKey {
	return countKey{storage: p.Storage, visibility: p.Visibility, pending: p.PendingDelete}
}

func groupKey(g *Group) countKey { return countKey{storage: g.Storage, visibility: g.Visibility} }

func snippetKey(sn *Snippet) countKey {
	return countKey{storage: sn.Storage, visibility: sn.Visibility}
}

// fullPathKey is the key of a project in the path index: its full path in
// lower case (GitLab finds paths case-insensitively).
func fullPathKey(namespace, path string) string {
	return strings.ToLower(namespace + "/" + path)
}

// reindexProjectLocked updates the indexes after project p was added (old
// nil) or changed from old (a copy of it before the change, or the project
// it replaces).
func (s *Server) reindexProjectLocked(old, p *Project) {
	ix := &s.idx[kindProject]
	if old == nil {
		ix.ids.add(p.ID)
		ix.maxID = max(ix.maxID, p.ID)
	} else {
		ix.count(projectKey(old), -1)
	}
	ix.count(projectKey(p), 1)
	if old != nil && old.Namespace == p.Namespace {
		ns := s.namespaces[p.Namespace]
		ns.repositorySize += p.RepositorySize - old.RepositorySize
		ns.wikiSize += p.WikiSize - old.WikiSize
	} else {
		if old != nil {
			ns := s.namespaces[old.Namespace]
			ns.ids.remove(old.ID)
			ns.repositorySize -= old.RepositorySize
			ns.wikiSize -= old.WikiSize
			if len(ns.ids.ids) == 0 {
				delete(s.namespaces, old.Namespace)
			}
		}
		ns := s.namespaces[p.Namespace]
		if ns == nil {
			ns = &namespaceInfo{}
			s.namespaces[p.Namespace] = ns
		}
		ns.ids.add(p.ID)
		ns.repositorySize += p.RepositorySize
		ns.wikiSize += p.WikiSize
	}
	if old == nil || old.Namespace != p.Namespace || old.Path != p.Path {
		if old != nil {
			removeFromBucket(s.projectPaths, fullPathKey(old.Namespace, old.Path), old.ID)
		}
		key := fullPathKey(p.Namespace, p.Path)
		s.projectPaths[key] = append(s.projectPaths[key], p.ID)
	}
	s.reindexForkLocked(old, p)
	s.reindexUsageLocked(old, p)
}

// reindexGroupLocked is reindexProjectLocked for groups.
func (s *Server) reindexGroupLocked(old, g *Group) {
	ix := &s.idx[kindGroup]
	if old == nil {
		ix.ids.add(g.ID)
		ix.maxID = max(ix.maxID, g.ID)
	} else {
		ix.count(groupKey(old), -1)
	}
	ix.count(groupKey(g), 1)
	if old == nil || old.Path != g.Path {
		if old != nil {
			removeFromBucket(s.groupPaths, strings.ToLower(old.Path), old.ID)
		}
		key := strings.ToLower(g.Path)
		s.groupPaths[key] = append(s.groupPaths[key], g.ID)
	}
}

// reindexSnippetLocked is reindexProjectLocked for snippets.
func (s *Server) reindexSnippetLocked(old, sn *Snippet) {
	ix := &s.idx[kindSnippet]
	if old == nil {
		ix.ids.add(sn.ID)
		ix.maxID = max(ix.maxID, sn.ID)
	} else {
		ix.count(snippetKey(old), -1)
	}
	ix.count(snippetKey(sn), 1)
}

// removeFromBucket removes id from the ids under key.
func removeFromBucket(m map[string][]int64, key string, id int64) {
	ids := slices.DeleteFunc(m[key], func(v int64) bool { return v == id })
	if len(ids) == 0 {
		delete(m, key)
	} else {
		m[key] = ids
	}
}

// AddStorage adds a repository storage with a weight for the weighted
// choice of a destination, or changes the weight of an existing one. A
// weight of 0 (or less) is never chosen while another storage has a
// positive weight. Unlike GitLab, which refuses weights outside 0 to 100,
// it takes any weight: a negative one counts as 0 and one above 100 is
// kept as given (the control plane's PUT /-/fake/storages/NAME refuses
// both).
func (s *Server) AddStorage(name string, weight int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	weight = max(weight, 0)
	for i := range s.storages {
		if s.storages[i].name == name {
			s.storages[i].weight = weight
			return
		}
	}
	s.storages = append(s.storages, storageShard{name: name, weight: weight})
}

// SetStuckIn sets the StuckIn state of a container: kind is "projects",
// "groups" or "snippets" (as in the API's paths), state "initial",
// "scheduled", "started" or "" to let its moves go on. It reports whether
// the container exists and the state is one of those.
func (s *Server) SetStuckIn(kind string, id int64, state string) bool {
	switch state {
	case "", string(moveInitial), string(moveScheduled), string(moveStarted):
	default:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range kindCount {
		if kinds[k].container == kind {
			c, ok := s.containerLocked(k, id)
			if ok {
				*c.stuckIn = state
			}
			return ok
		}
	}
	return false
}

// SetStorageWeight sets the weight of an existing storage (Admin >
// Settings > Repository storage) and reports whether it exists. Set the
// weight of a storage being drained to 0, or a move without a destination
// may pick it (corrections #11). Like [Server.AddStorage], it counts a
// negative weight as 0 and keeps one above 100.
func (s *Server) SetStorageWeight(name string, weight int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.storages {
		if s.storages[i].name == name {
			s.storages[i].weight = max(weight, 0)
			return true
		}
	}
	return false
}

// slug turns a name into a path: lower case, spaces as "-".
func slug(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "-")
}

// AddProject adds (or replaces, by ID) a project and returns its ID.
func (s *Server) AddProject(p Project) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProjectLocked(p)
}

func (s *Server) addProjectLocked(p Project) int64 {
	if p.ID <= 0 {
		p.ID = s.idx[kindProject].maxID + 1
	}
	id := strconv.FormatInt(p.ID, 10)
	if p.Name == "" {
		p.Name = "project-" + id
	}
	if p.Path == "" {
		p.Path = slug(p.Name)
	}
	if p.Namespace == "" {
		p.Namespace = "root"
	}
	if p.Storage == "" {
		p.Storage = "default"
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	if p.Visibility == "" {
		p.Visibility = "private"
	}
	if p.RepositorySize == 0 && !p.NoRepository {
		p.RepositorySize = 1<<20 + (p.ID*7919%2048)<<20
	}
	if p.NoRepository {
		p.RepositorySize = 0
	}
	old := s.projects[p.ID]
	s.projects[p.ID] = &p
	s.reindexProjectLocked(old, &p)
	return p.ID
}

// AddProjects adds n projects named "project-<id>" on storage and returns
// their IDs.
func (s *Server) AddProjects(n int, storage string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, max(n, 0))
	for range n {
		ids = append(ids, s.addProjectLocked(Project{Storage: storage}))
	}
	return ids
}

// AddGroup adds (or replaces, by ID) a group and returns its ID.
func (s *Server) AddGroup(g Group) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGroupLocked(g)
}

// AddGroups adds n groups named "group-<id>" with their wikis on storage
// (NoWiki false) and returns their IDs.
func (s *Server) AddGroups(n int, storage string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, max(n, 0))
	for range n {
		ids = append(ids, s.addGroupLocked(Group{Storage: storage}))
	}
	return ids
}

// normalizeGroup applies the storage rule of NoWiki.
func normalizeGroup(g *Group) {
	switch {
	case g.NoWiki:
		g.Storage = ""
	case g.Storage == "":
		g.Storage = "default"
	}
}

func (s *Server) addGroupLocked(g Group) int64 {
	if g.ID <= 0 {
		g.ID = s.idx[kindGroup].maxID + 1
	}
	if g.Name == "" {
		g.Name = "group-" + strconv.FormatInt(g.ID, 10)
	}
	if g.Path == "" {
		g.Path = slug(g.Name)
	}
	normalizeGroup(&g)
	if g.Visibility == "" {
		g.Visibility = "private"
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = s.now()
	}
	old := s.groups[g.ID]
	s.groups[g.ID] = &g
	s.reindexGroupLocked(old, &g)
	return g.ID
}

// AddSnippet adds (or replaces, by ID) a snippet and returns its ID.
func (s *Server) AddSnippet(sn Snippet) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addSnippetLocked(sn)
}

// AddSnippets adds n personal snippets titled "snippet-<id>", with
// repositories on storage, and returns their IDs.
func (s *Server) AddSnippets(n int, storage string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, max(n, 0))
	for range n {
		ids = append(ids, s.addSnippetLocked(Snippet{Storage: storage, HasRepository: true}))
	}
	return ids
}

func (s *Server) addSnippetLocked(sn Snippet) int64 {
	if sn.ID <= 0 {
		sn.ID = s.idx[kindSnippet].maxID + 1
	}
	if sn.Title == "" {
		sn.Title = "snippet-" + strconv.FormatInt(sn.ID, 10)
	}
	if sn.Visibility == "" {
		sn.Visibility = "private"
	}
	if sn.Storage == "" {
		sn.Storage = "default"
	}
	if sn.AuthorUsername == "" {
		sn.AuthorUsername = "root"
	}
	if sn.CreatedAt.IsZero() {
		sn.CreatedAt = s.now()
	}
	if sn.ProjectID != nil {
		sn.ProjectID = ptr(*sn.ProjectID)
	}
	s.userLocked(sn.AuthorUsername)
	old := s.snippets[sn.ID]
	s.snippets[sn.ID] = &sn
	s.reindexSnippetLocked(old, &sn)
	return sn.ID
}

// Project returns a copy of the project with its current storage and
// read-only flag.
func (s *Server) Project(id int64) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[id]
	if !ok {
		return Project{}, false
	}
	return *p, true
}

// UpdateProject calls change with the project to change it in place (its
// storage, Broken, NoRepository, PendingDelete, WikiSize, StuckIn,
// failures, …) and reports whether the project exists. change runs under
// the server's lock: it must not call the Server. The ID cannot be
// changed. Unlike the control plane's PUT /-/fake/projects/ID, it takes
// any storage name, configured or not.
func (s *Server) UpdateProject(id int64, change func(p *Project)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[id]
	if !ok {
		return false
	}
	old := *p
	change(p)
	p.ID = id
	if p.NoRepository {
		p.RepositorySize = 0
	}
	s.reindexProjectLocked(&old, p)
	return true
}

// UpdateGroup calls change with the group to change it in place (NoWiki,
// its storage, StuckIn, failures, …) and reports whether the group exists.
// change runs under the server's lock: it must not call the Server. The ID
// cannot be changed; a group with NoWiki keeps an empty Storage, and a
// group given a wiki without a Storage gets "default".
func (s *Server) UpdateGroup(id int64, change func(g *Group)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return false
	}
	old := *g
	change(g)
	g.ID = id
	normalizeGroup(g)
	s.reindexGroupLocked(&old, g)
	return true
}

// ProjectsOnStorage returns the ids of the projects whose repositories are
// on storage, in ascending order: what an evacuation of that storage moves
// (pending-delete projects included).
func (s *Server) ProjectsOnStorage(storage string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, id := range s.idx[kindProject].ids.sorted() {
		if s.projects[id].Storage == storage {
			ids = append(ids, id)
		}
	}
	return ids
}

// Group returns a copy of the group with its current storage and read-only
// flag.
func (s *Server) Group(id int64) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return Group{}, false
	}
	return *g, true
}

// Snippet returns a copy of the snippet with its current storage and
// read-only flag.
func (s *Server) Snippet(id int64) (Snippet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snippets[id]
	if !ok {
		return Snippet{}, false
	}
	out := *sn
	if sn.ProjectID != nil {
		out.ProjectID = ptr(*sn.ProjectID)
	}
	return out, true
}

// containerLocked returns the container k/id, or false.
func (s *Server) containerLocked(k kind, id int64) (containerRef, bool) {
	switch k {
	case kindProject:
		if p, ok := s.projects[id]; ok {
			return containerRef{p.Storage, &p.ReadOnly, p.MoveFailure, p.CleanupFailure, &p.StuckIn, false}, true
		}
	case kindGroup:
		if g, ok := s.groups[id]; ok {
			return containerRef{g.Storage, &g.ReadOnly, g.MoveFailure, g.CleanupFailure, &g.StuckIn, g.NoWiki}, true
		}
	case kindSnippet:
		if sn, ok := s.snippets[id]; ok {
			return containerRef{sn.Storage, &sn.ReadOnly, sn.MoveFailure, sn.CleanupFailure, &sn.StuckIn, false}, true
		}
	}
	return containerRef{}, false
}

// setStorageLocked moves container k/id to storage, keeping the counts
// right.
func (s *Server) setStorageLocked(k kind, id int64, storage string) {
	switch k {
	case kindProject:
		if p, ok := s.projects[id]; ok {
			old := *p
			p.Storage = storage
			s.reindexProjectLocked(&old, p)
		}
	case kindGroup:
		if g, ok := s.groups[id]; ok {
			old := *g
			g.Storage = storage
			s.reindexGroupLocked(&old, g)
		}
	case kindSnippet:
		if sn, ok := s.snippets[id]; ok {
			old := *sn
			sn.Storage = storage
			s.reindexSnippetLocked(&old, sn)
		}
	}
}

// findContainerLocked resolves the :id path param: a numeric ID, or for
// projects and groups a full path ("group/project"), found without regard
// to case.
func (s *Server) findContainerLocked(k kind, param string) (int64, bool) {
	if isDigits(param) {
		id, err := strconv.ParseInt(param, 10, 64)
		if err != nil {
			return 0, false
		}
		_, ok := s.containerLocked(k, id)
		return id, ok
	}
	var ids []int64
	switch k {
	case kindProject:
		ids = s.projectPaths[strings.ToLower(param)]
	case kindGroup:
		ids = s.groupPaths[strings.ToLower(param)]
	}
	if len(ids) == 0 {
		return 0, false
	}
	return slices.Min(ids), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// AddProjectStorageMove adds a project storage move, as if it had been
// scheduled earlier, and returns its ID. Zero fields get defaults: ID the
// next free one, CreatedAt the server's clock, State "scheduled",
// SourceStorageName the project's storage, DestinationStorageName a storage
// chosen by weight. If m.Project is nil or names an unknown ID, a project is
// added from m.Project's fields. A move in state scheduled or started makes
// its project read-only, and [Server.Step] advances it. A move with the ID
// of an existing one replaces it.
func (s *Server) AddProjectStorageMove(m gitlabdata.ProjectRepositoryStorageMove) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := gitlabdata.ProjectIdentity{}
	if m.Project != nil {
		p = *m.Project
	}
	if _, ok := s.projects[p.ID]; !ok || p.ID == 0 {
		pr := Project{ID: p.ID, Name: p.Name, Path: p.Path, Storage: seedStorage(m.RepositoryStorageMove)}
		if p.Description != nil {
			pr.Description = *p.Description
		}
		if ns, _, ok := strings.Cut(p.PathWithNamespace, "/"); ok {
			pr.Namespace = ns
		}
		if p.CreatedAt != nil {
			pr.CreatedAt = *p.CreatedAt
		}
		p.ID = s.addProjectLocked(pr)
	}
	return s.addMoveLocked(kindProject, p.ID, m.RepositoryStorageMove).id
}

// AddGroupStorageMove adds a group storage move like
// [Server.AddProjectStorageMove] and returns its ID.
func (s *Server) AddGroupStorageMove(m gitlabdata.GroupRepositoryStorageMove) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := gitlabdata.BasicGroupDetails{}
	if m.Group != nil {
		g = *m.Group
	}
	if _, ok := s.groups[g.ID]; !ok || g.ID == 0 {
		g.ID = s.addGroupLocked(Group{ID: g.ID, Name: g.Name, Storage: seedStorage(m.RepositoryStorageMove)})
	}
	return s.addMoveLocked(kindGroup, g.ID, m.RepositoryStorageMove).id
}

// AddSnippetStorageMove adds a snippet storage move like
// [Server.AddProjectStorageMove] and returns its ID.
func (s *Server) AddSnippetStorageMove(m gitlabdata.SnippetRepositoryStorageMove) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := gitlabdata.BasicSnippet{}
	if m.Snippet != nil {
		sn = *m.Snippet
	}
	if _, ok := s.snippets[sn.ID]; !ok || sn.ID == 0 {
		add := Snippet{
			ID: sn.ID, Title: sn.Title, Visibility: sn.Visibility, ProjectID: sn.ProjectID,
			HasRepository: sn.HTTPURLToRepo != "", Storage: seedStorage(m.RepositoryStorageMove),
		}
		if sn.Description != nil {
			add.Description = *sn.Description
		}
		if sn.Author != nil {
			add.AuthorUsername = sn.Author.Username
		}
		if sn.CreatedAt != nil {
			add.CreatedAt = *sn.CreatedAt
		}
		sn.ID = s.addSnippetLocked(add)
	}
	return s.addMoveLocked(kindSnippet, sn.ID, m.RepositoryStorageMove).id
}

// seedStorage is where a container created for a seeded move lives: the
// destination once the repository was copied, else the source.
func seedStorage(m gitlabdata.RepositoryStorageMove) string {
	switch m.State {
	case moveReplicated, moveFinished, moveCleanupFailed:
		return m.DestinationStorageName
	}
	return m.SourceStorageName
}

// addMoveLocked stores a move of container k/containerID, filling in
// defaults, and returns it.
func (s *Server) addMoveLocked(k kind, containerID int64, m gitlabdata.RepositoryStorageMove) *move {
	c, _ := s.containerLocked(k, containerID)
	ms := &s.moves[k]
	mv := &move{
		id: m.ID, created: m.CreatedAt, state: m.State, source: m.SourceStorageName,
		dest: m.DestinationStorageName, containerID: containerID,
	}
	if m.ErrorMessage != nil {
		mv.errMsg = ptr(*m.ErrorMessage)
	}
	if mv.id <= 0 {
		mv.id = ms.maxID + 1
	}
	if mv.created.IsZero() {
		mv.created = s.now()
	}
	if mv.state == "" {
		mv.state = moveScheduled
	}
	if mv.source == "" {
		// A group without a wiki repository has no storage: GitLab's
		// group.repository_storage picks one by weight.
		mv.source = c.storage
		if mv.source == "" {
			mv.source = s.pickStorageLocked()
		}
	}
	if mv.dest == "" {
		mv.dest = s.pickStorageLocked()
	}
	if mv.state == moveScheduled || mv.state == moveStarted {
		*c.readOnly = true
	}
	if mv.state == moveScheduled {
		mv.queued = mv.created
	}
	return ms.put(mv)
}

// pickStorageLocked picks a storage by weight like GitLab's
// pick_repository_storage: the largest rand^(1/w) over normalised weights
// (Efraimidis–Spirakis), the first storage on ties.
func (s *Server) pickStorageLocked() string {
	total := 0
	for _, st := range s.storages {
		total += st.weight
	}
	best, bestKey := "", -1.0
	for _, st := range s.storages {
		w := float64(st.weight)
		if total > 0 {
			w /= float64(total)
		}
		key := math.Pow(s.rng.Float64(), 1/w)
		if key > bestKey {
			best, bestKey = st.name, key
		}
	}
	return best
}

func (s *Server) storageKnownLocked(name string) bool {
	for _, st := range s.storages {
		if st.name == name {
			return true
		}
	}
	return false
}

// stepMovesLocked advances every move in progress by one state. It visits
// only the moves not yet in a terminal state.
func (s *Server) stepMovesLocked() {
	for k := range kindCount {
		ms := &s.moves[k]
		keep := ms.active[:0]
		for _, m := range ms.active {
			if !terminal(m.state) {
				s.stepMoveLocked(k, m)
			}
			if terminal(m.state) {
				m.active = false
				continue
			}
			keep = append(keep, m)
		}
		clear(ms.active[len(keep):])
		ms.active = keep
	}
}

// stepMoveLocked advances move m of kind k by one state.
func (s *Server) stepMoveLocked(k kind, m *move) {
	c, ok := s.containerLocked(k, m.containerID)
	if !ok || string(m.state) == *c.stuckIn {
		return
	}
	// Nothing is copied when the container has no repository to move
	// (a group without a wiki) or source and destination are the same
	// storage; such a move cannot fail.
	copies := m.source != m.dest && !c.noWiki
	switch m.state {
	case moveInitial:
		// The schedule transition makes the container read-only and
		// enqueues the move's worker.
		m.state = moveScheduled
		m.queued = s.now()
		*c.readOnly = true
	case moveScheduled:
		m.state = moveStarted
	case moveStarted:
		*c.readOnly = false
		if c.moveFailure != "" && copies {
			m.state = moveFailed
			m.errMsg = ptr(truncate(c.moveFailure, 256))
		} else {
			m.state = moveReplicated
			if !c.noWiki {
				s.setStorageLocked(k, m.containerID, m.dest)
			}
		}
	case moveReplicated:
		if c.cleanupFailure != "" && copies {
			m.state = moveCleanupFailed
			m.errMsg = ptr(truncate(c.cleanupFailure, 256))
		} else {
			m.state = moveFinished
		}
	}
}

// truncate shortens s like Rails' String#truncate(n).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// Wire forms of the storage move entities, in GitLab's key order.
type (
	wireMove struct {
		ID           int64    `json:"id"`
		CreatedAt    jsonTime `json:"created_at"`
		State        string   `json:"state"`
		Source       string   `json:"source_storage_name"`
		Destination  string   `json:"destination_storage_name"`
		ErrorMessage *string  `json:"error_message"`
	}
	wireProjectMove struct {
		wireMove
		Project *wireProject `json:"project"`
	}
	wireGroupMove struct {
		wireMove
		Group *wireGroup `json:"group"`
	}
	wireSnippetMove struct {
		wireMove
		Snippet *wireSnippet `json:"snippet"`
	}
	wireProject struct {
		ID                int64    `json:"id"`
		Description       *string  `json:"description"`
		Name              string   `json:"name"`
		NameWithNamespace string   `json:"name_with_namespace"`
		Path              string   `json:"path"`
		PathWithNamespace string   `json:"path_with_namespace"`
		CreatedAt         jsonTime `json:"created_at"`
	}
	wireGroup struct {
		ID     int64  `json:"id"`
		WebURL string `json:"web_url"`
		Name   string `json:"name"`
	}
	wireSnippet struct {
		ID            int64     `json:"id"`
		Title         string    `json:"title"`
		Description   *string   `json:"description"`
		Visibility    string    `json:"visibility"`
		Author        *wireUser `json:"author"`
		CreatedAt     jsonTime  `json:"created_at"`
		UpdatedAt     jsonTime  `json:"updated_at"`
		ProjectID     *int64    `json:"project_id"`
		WebURL        string    `json:"web_url"`
		RawURL        string    `json:"raw_url"`
		SSHURLToRepo  string    `json:"ssh_url_to_repo,omitempty"`
		HTTPURLToRepo string    `json:"http_url_to_repo,omitempty"`
	}
	wireUser struct {
		ID          int64   `json:"id"`
		Username    string  `json:"username"`
		PublicEmail string  `json:"public_email"`
		Name        string  `json:"name"`
		State       string  `json:"state"`
		Locked      bool    `json:"locked"`
		AvatarURL   *string `json:"avatar_url"`
		WebURL      string  `json:"web_url"`
	}
)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// wireLocked renders a move with its container as GitLab's entity does;
// web is the origin for URLs.
func (s *Server) wireLocked(web string, k kind, m *move) any {
	base := wireMove{
		ID: m.id, CreatedAt: jsonTime(m.created), State: string(m.state),
		Source: m.source, Destination: m.dest, ErrorMessage: m.errMsg,
	}
	switch k {
	case kindProject:
		out := wireProjectMove{wireMove: base}
		if p, ok := s.projects[m.containerID]; ok {
			out.Project = &wireProject{
				ID: p.ID, Description: nullable(p.Description), Name: p.Name,
				NameWithNamespace: p.Namespace + " / " + p.Name, Path: p.Path,
				PathWithNamespace: p.Namespace + "/" + p.Path, CreatedAt: jsonTime(p.CreatedAt),
			}
		}
		return out
	case kindGroup:
		out := wireGroupMove{wireMove: base}
		if g, ok := s.groups[m.containerID]; ok {
			out.Group = &wireGroup{ID: g.ID, WebURL: web + "/groups/" + g.Path, Name: g.Name}
		}
		return out
	default:
		out := wireSnippetMove{wireMove: base}
		if sn, ok := s.snippets[m.containerID]; ok {
			out.Snippet = s.wireSnippetLocked(web, sn)
		}
		return out
	}
}

func (s *Server) wireSnippetLocked(web string, sn *Snippet) *wireSnippet {
	host := "localhost"
	if u, err := url.Parse(web); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	u := s.userLocked(sn.AuthorUsername)
	id := strconv.FormatInt(sn.ID, 10)
	out := &wireSnippet{
		ID: sn.ID, Title: sn.Title, Description: nullable(sn.Description), Visibility: sn.Visibility,
		Author:    &wireUser{ID: u.id, Username: u.username, PublicEmail: u.publicEmail, Name: u.name, State: "active", WebURL: web + "/" + u.username},
		CreatedAt: jsonTime(sn.CreatedAt), UpdatedAt: jsonTime(sn.CreatedAt), ProjectID: sn.ProjectID,
	}
	repoPath := "snippets/" + id
	out.WebURL = web + "/-/snippets/" + id
	if sn.ProjectID != nil {
		if p, ok := s.projects[*sn.ProjectID]; ok {
			full := p.Namespace + "/" + p.Path
			repoPath = full + "/snippets/" + id
			out.WebURL = web + "/" + full + "/-/snippets/" + id
		}
	}
	out.RawURL = out.WebURL + "/raw"
	if sn.HasRepository {
		out.SSHURLToRepo = "ssh://git@" + host + "/" + repoPath + ".git"
		out.HTTPURLToRepo = web + "/" + repoPath + ".git"
	}
	return out
}

// lookupContainer resolves the :id of a container route, answering 404
// when it is unknown. It takes and releases the lock.
func (s *Server) lookupContainer(c *call, k kind, param string) (int64, bool) {
	s.mu.Lock()
	id, ok := s.findContainerLocked(k, param)
	s.mu.Unlock()
	if !ok {
		c.message(http.StatusNotFound, "404 "+kinds[k].title+" Not Found")
	}
	return id, ok
}

// listMoves serves GET /<collection> and GET /<container>/:id/repository_storage_moves.
func (s *Server) listMoves(c *call, k kind, containerParam string) {
	if containerParam != "" && k == kindSnippet {
		// The snippet API looks the snippet up before validating params.
		if _, ok := s.lookupContainer(c, k, containerParam); !ok {
			return
		}
	}
	var errs paramErrors
	p := parsePaging(c.query, &errs, true)
	if errs.send(c) {
		return
	}
	var containerID int64
	if containerParam != "" {
		id, ok := s.lookupContainer(c, k, containerParam)
		if !ok {
			return
		}
		containerID = id
	}
	web := c.origin()
	s.mu.Lock()
	// Newest first: the end of the (created_at, id) order.
	var all []*move
	if containerParam != "" {
		all = s.moves[k].byContainer[containerID]
	} else {
		all = s.moves[k].ordered()
	}
	total := len(all)
	start, end := p.bounds(total)
	page := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		page = append(page, s.wireLocked(web, k, all[total-1-i]))
	}
	s.mu.Unlock()
	op := newOffsetPage(p, total <= countLimit, total, len(page), end < total)
	c.setOffsetHeaders(op, nil)
	c.json(http.StatusOK, page)
}

// getMove serves GET /<collection>/:id and GET /<container>/:id/repository_storage_moves/:move_id.
func (s *Server) getMove(c *call, k kind, containerParam, moveParam string) {
	if containerParam != "" && k == kindSnippet {
		if _, ok := s.lookupContainer(c, k, containerParam); !ok {
			return
		}
	}
	moveID, ok := parseInt(moveParam)
	if !ok {
		c.grapeError(http.StatusBadRequest, "repository_storage_move_id is invalid")
		return
	}
	var containerID int64
	if containerParam != "" {
		id, ok := s.lookupContainer(c, k, containerParam)
		if !ok {
			return
		}
		containerID = id
	}
	s.mu.Lock()
	var out any
	if m, ok := s.moves[k].byID[moveID]; ok && (containerID == 0 || m.containerID == containerID) {
		out = s.wireLocked(c.origin(), k, m)
	}
	s.mu.Unlock()
	if out == nil {
		c.message(http.StatusNotFound, "404 Not found")
		return
	}
	c.json(http.StatusOK, out)
}

// scheduleMove serves POST /<container>/:id/repository_storage_moves.
func (s *Server) scheduleMove(c *call, k kind, containerParam string) {
	if k == kindSnippet {
		if _, ok := s.lookupContainer(c, k, containerParam); !ok {
			return
		}
	}
	params, ok := c.bodyParams()
	if !ok {
		return
	}
	dest, hasDest, valid := stringParam(params, "destination_storage_name")
	if !valid {
		c.grapeError(http.StatusBadRequest, "destination_storage_name is invalid")
		return
	}
	id, ok := s.lookupContainer(c, k, containerParam)
	if !ok {
		return
	}
	s.mu.Lock()
	cont, _ := s.containerLocked(k, id)
	if !hasDest {
		dest = s.pickStorageLocked()
	}
	var errs []fieldError
	check := func(field, value string) {
		var msgs []string
		if strings.TrimSpace(value) == "" {
			msgs = append(msgs, "can't be blank")
		}
		if !s.storageKnownLocked(value) {
			msgs = append(msgs, "is not included in the list")
		}
		if len(msgs) > 0 {
			errs = append(errs, fieldError{field, msgs})
		}
	}
	source := cont.storage
	if cont.noWiki {
		// GitLab's group.repository_storage picks a storage by weight for
		// a group without a wiki repository.
		source = s.pickStorageLocked()
	}
	check("source_storage_name", source)
	check("destination_storage_name", dest)
	if *cont.readOnly {
		errs = append(errs, fieldError{kinds[k].noun, []string{"is read-only"}})
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		c.fieldErrors(errs)
		return
	}
	state := moveScheduled
	if *cont.stuckIn == string(moveInitial) {
		state = moveInitial
	}
	m := s.addMoveLocked(k, id, gitlabdata.RepositoryStorageMove{
		State: state, SourceStorageName: source, DestinationStorageName: dest,
	})
	out := s.wireLocked(c.origin(), k, m)
	s.mu.Unlock()
	c.json(http.StatusCreated, out)
}

// scheduleAll serves POST /<collection>: 202, then a scheduled move for
// every writable container on the source storage.
func (s *Server) scheduleAll(c *call, k kind) {
	params, ok := c.bodyParams()
	if !ok {
		return
	}
	var errs paramErrors
	s.mu.Lock()
	source, hasSource, validSource := stringParam(params, "source_storage_name")
	switch {
	case !hasSource:
		errs.add("source_storage_name is missing")
	case !validSource || !s.storageKnownLocked(source):
		errs.add("source_storage_name does not have a valid value")
	}
	dest, hasDest, validDest := stringParam(params, "destination_storage_name")
	if hasDest && (!validDest || !s.storageKnownLocked(dest)) {
		errs.add("destination_storage_name does not have a valid value")
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		errs.send(c)
		return
	}
	// Without a destination GitLab's bulk service builds every move with
	// an explicit nil destination, which fails validation: every container
	// is skipped, after the 202 (corrections #10).
	for _, id := range s.idx[k].ids.sorted() {
		cont, _ := s.containerLocked(k, id)
		if !hasDest || cont.storage != source || *cont.readOnly {
			continue
		}
		s.addMoveLocked(k, id, gitlabdata.RepositoryStorageMove{
			State: moveScheduled, SourceStorageName: source, DestinationStorageName: dest,
		})
	}
	s.mu.Unlock()
	c.message(http.StatusAccepted, "202 Accepted")
}
