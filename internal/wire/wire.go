// Package wire holds the parts of GitLab's entities that the library
// packages read through Client.Do, for the endpoints the SDK does not wrap.
package wire

// Project is the part of GitLab's project entity that moving repositories
// needs: repository_storage and statistics are shown to administrators,
// and forked_from_project too when the listing is not simple=true.
type Project struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	RepositoryStorage string `json:"repository_storage"`
	Statistics        *struct {
		RepositorySize int64 `json:"repository_size"`
	} `json:"statistics"`
	ForkedFromProject *struct {
		ID int64 `json:"id"`
	} `json:"forked_from_project"`
}

// Size is the repository size, and whether GitLab gave it.
func (p Project) Size() (int64, bool) {
	if p.Statistics == nil {
		return 0, false
	}
	return p.Statistics.RepositorySize, true
}

// ForkedFrom is the id of the project p was forked from, or 0.
func (p Project) ForkedFrom() int64 {
	if p.ForkedFromProject == nil {
		return 0
	}
	return p.ForkedFromProject.ID
}
