package gitlabtest

import (
	"net/http"
	"strconv"
)

// wireBasicProject is GitLab's BasicProjectDetails entity, in its key
// order (a subset, as for the full project): forked_from_project, and
// every project of a listing with simple=true.
type wireBasicProject struct {
	wireProjectHead
	Visibility        string        `json:"visibility"`
	Namespace         wireNamespace `json:"namespace"`
	RepositoryStorage string        `json:"repository_storage,omitempty"`
}

// wireBasicProjectLocked renders p as GitLab's BasicProjectDetails.
func (s *Server) wireBasicProjectLocked(c *call, web string, p *Project) wireBasicProject {
	f := s.projectFieldsLocked(c, web, p, false)
	return wireBasicProject{
		wireProjectHead: f.wireProjectHead, Visibility: f.Visibility, Namespace: f.Namespace,
		RepositoryStorage: f.RepositoryStorage,
	}
}

// parentLocked returns the project p is a fork of, if p is a fork of a
// project that exists.
func (s *Server) parentLocked(p *Project) (*Project, bool) {
	if p.ForkedFromID == 0 || p.ForkedFromID == p.ID {
		return nil, false
	}
	parent, ok := s.projects[p.ForkedFromID]
	return parent, ok
}

// addForkFieldsLocked adds what GitLab's full project entity shows of a
// fork: forked_from_project (BasicProjectDetails), when the caller may
// read the parent, and mr_default_target_self (false: the fake keeps
// GitLab's default).
func (s *Server) addForkFieldsLocked(c *call, web string, p *Project, out *wireFullProject) {
	parent, ok := s.parentLocked(p)
	if !ok {
		return
	}
	out.MRDefaultTargetSelf = ptr(false)
	if c.visible(parent.Visibility) {
		b := s.wireBasicProjectLocked(c, web, parent)
		out.ForkedFromProject = &b
	}
}

// forksCountLocked is forks_count: the number of direct forks, whatever
// their visibility or deletion state.
func (s *Server) forksCountLocked(id int64) int {
	if f := s.forks[id]; f != nil {
		return len(f.ids)
	}
	return 0
}

// reindexForkLocked keeps the forks index right after project p was added
// (old nil) or changed from old.
func (s *Server) reindexForkLocked(old, p *Project) {
	var was int64
	if old != nil {
		was = old.ForkedFromID
		if was == p.ForkedFromID {
			return
		}
		if f := s.forks[was]; f != nil {
			f.remove(old.ID)
			if len(f.ids) == 0 {
				delete(s.forks, was)
			}
		}
	}
	if p.ForkedFromID == 0 || p.ForkedFromID == p.ID {
		return
	}
	if s.forks == nil {
		s.forks = make(map[int64]*idIndex)
	}
	f := s.forks[p.ForkedFromID]
	if f == nil {
		f = &idIndex{}
		s.forks[p.ForkedFromID] = f
	}
	f.add(p.ID)
}

// AddFork adds fork as a fork of project parentID, as POST
// /projects/:id/fork would, and returns its ID; it reports false, adding
// nothing, when parentID is not a project (or is fork.ID). Zero fields
// get the defaults of [Server.AddProject], except that Name, Path,
// Description and Visibility default to the parent's, Namespace to
// "fork-<ID>", and Storage to the storage the parent is on now: a fork
// starts next to its parent, in the parent's object pool. Fork a fork to
// build a deeper network.
func (s *Server) AddFork(parentID int64, fork Project) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, ok := s.projects[parentID]
	if !ok || fork.ID == parentID {
		return 0, false
	}
	if fork.ID <= 0 {
		fork.ID = s.idx[kindProject].maxID + 1
	}
	fork.ForkedFromID = parentID
	if fork.Name == "" {
		fork.Name = parent.Name
	}
	if fork.Path == "" {
		fork.Path = parent.Path
	}
	if fork.Description == "" {
		fork.Description = parent.Description
	}
	if fork.Visibility == "" {
		fork.Visibility = parent.Visibility
	}
	if fork.Namespace == "" {
		fork.Namespace = "fork-" + strconv.FormatInt(fork.ID, 10)
	}
	if fork.Storage == "" {
		fork.Storage = parent.Storage
	}
	return s.addProjectLocked(fork), true
}

// listForks serves GET /projects/:id/forks: the direct forks of a project
// the caller sees, with the params, entities and pagination of GET
// /projects (keyset pagination with order_by=id included), filtered to
// what the caller sees.
func (s *Server) listForks(c *call, param string) {
	lp, ok := parseProjectList(c)
	if !ok {
		return
	}
	web := c.origin()
	s.mu.Lock()
	id, found := s.findContainerLocked(kindProject, param)
	if found {
		pr := s.projects[id]
		found = c.visible(pr.Visibility) && !pr.PendingDelete
	}
	if !found {
		s.mu.Unlock()
		c.message(http.StatusNotFound, "404 Project Not Found")
		return
	}
	var ids []int64
	if f := s.forks[id]; f != nil {
		ids = f.sorted()
	}
	match := func(id int64) bool { return lp.keyMatch(c, projectKey(s.projects[id])) }
	var pageIDs []int64
	var op offsetPage
	if lp.keyset {
		lo, hi := lp.bounds.positions(ids)
		pageIDs, _ = pageOfIDs(ids, lo, hi, lp.desc, 0, lp.p.perPage, false, false, match)
	} else {
		pageIDs, op = s.sortedProjectPageLocked(ids, lp.bounds, lp.orderBy, lp.desc, lp.p, match)
	}
	s.writeProjectPageLocked(c, web, lp, pageIDs, op)
}
