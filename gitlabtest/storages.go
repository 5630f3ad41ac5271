package gitlabtest

import (
	"slices"
	"strings"
)

// StorageUsage is one configured repository storage as [Server.Storages]
// and the control plane's GET /-/fake/storages report it.
type StorageUsage struct {
	// Name is the storage's name, as in repository_storage.
	Name string `json:"name"`
	// Weight is its weight for new repositories
	// (repository_storages_weighted).
	Weight int `json:"weight"`
	// CapacityBytes is its size in bytes, 0 when none was configured
	// ([Server.SetStorageCapacity], [WithFleetDemo]). GitLab's API shows
	// no storage's size: the fake's is for tests and demos.
	CapacityBytes int64 `json:"capacity_bytes"`
	// UsedBytes is the sum of statistics.repository_size of the projects
	// on the storage, pending-delete ones included: what an
	// administrator's GET /projects?repository_storage=NAME&statistics=true
	// (with include_pending_delete=true) adds up to. Wikis, snippets and
	// group wikis are not counted.
	UsedBytes int64 `json:"used_bytes"`
}

// Storages returns the configured storages in name order, with their
// weights, capacities and the bytes their projects use. Usage follows the
// projects: when a move reaches "replicated", its project's size leaves
// the source storage and counts on the destination.
func (s *Server) Storages() []StorageUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StorageUsage, 0, len(s.storages))
	for _, st := range s.storages {
		out = append(out, StorageUsage{Name: st.name, Weight: st.weight, CapacityBytes: st.capacity, UsedBytes: s.storageUsed[st.name]})
	}
	slices.SortFunc(out, func(a, b StorageUsage) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// SetStorageCapacity sets the size in bytes that [Server.Storages] reports
// for a configured storage (a negative size counts as 0, which means none)
// and reports whether the storage exists. GitLab knows no such size; it
// only lets tests and demos compute how full a storage is.
func (s *Server) SetStorageCapacity(name string, bytes int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.storages {
		if s.storages[i].name == name {
			s.storages[i].capacity = max(bytes, 0)
			return true
		}
	}
	return false
}

// storageUsageLocked returns the storage called name as Storages does.
func (s *Server) storageUsageLocked(name string) (StorageUsage, bool) {
	for _, st := range s.storages {
		if st.name == name {
			return StorageUsage{Name: st.name, Weight: st.weight, CapacityBytes: st.capacity, UsedBytes: s.storageUsed[st.name]}, true
		}
	}
	return StorageUsage{}, false
}

// reindexUsageLocked keeps the bytes used per storage right after project
// p was added (old nil) or changed from old.
func (s *Server) reindexUsageLocked(old, p *Project) {
	if s.storageUsed == nil {
		s.storageUsed = make(map[string]int64)
	}
	if old != nil {
		if n := s.storageUsed[old.Storage] - old.RepositorySize; n != 0 {
			s.storageUsed[old.Storage] = n
		} else {
			delete(s.storageUsed, old.Storage)
		}
	}
	s.storageUsed[p.Storage] += p.RepositorySize
}
