package gitlabtest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

//go:embed demo/demo.json
var demoFS embed.FS

// demoData is the layout of demo/demo.json. Storage moves and records use
// GitLab's wire format.
type demoData struct {
	Storages []struct {
		Name   string `json:"name"`
		Weight int    `json:"weight"`
	} `json:"storages"`
	Users []struct {
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"users"`
	Groups []struct {
		ID      int64  `json:"id"`
		Name    string `json:"name"`
		Path    string `json:"path"`
		Storage string `json:"storage"`
	} `json:"groups"`
	Projects []struct {
		ID             int64     `json:"id"`
		Name           string    `json:"name"`
		Path           string    `json:"path"`
		Namespace      string    `json:"namespace"`
		Description    string    `json:"description"`
		Storage        string    `json:"storage"`
		CreatedAt      time.Time `json:"created_at"`
		MoveFailure    string    `json:"move_failure"`
		CleanupFailure string    `json:"cleanup_failure"`
	} `json:"projects"`
	Snippets []struct {
		ID            int64     `json:"id"`
		Title         string    `json:"title"`
		Description   *string   `json:"description"`
		Visibility    string    `json:"visibility"`
		Storage       string    `json:"storage"`
		HasRepository bool      `json:"has_repository"`
		ProjectID     *int64    `json:"project_id"`
		Author        string    `json:"author"`
		CreatedAt     time.Time `json:"created_at"`
	} `json:"snippets"`
	ProjectMoves       []gitlabdata.ProjectRepositoryStorageMove         `json:"project_repository_storage_moves"`
	GroupMoves         []gitlabdata.GroupRepositoryStorageMove           `json:"group_repository_storage_moves"`
	SnippetMoves       []gitlabdata.SnippetRepositoryStorageMove         `json:"snippet_repository_storage_moves"`
	UnverifiableModels []gitlabdata.ModelName                            `json:"unverifiable_models"`
	Records            map[gitlabdata.ModelName][]gitlabdata.ModelRecord `json:"records"`
}

// loadDemo seeds the embedded demo instance.
func (s *Server) loadDemo() error {
	raw, err := demoFS.ReadFile("demo/demo.json")
	if err != nil {
		return err
	}
	var d demoData
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("decoding demo.json: %w", err)
	}
	for _, st := range d.Storages {
		s.AddStorage(st.Name, st.Weight)
	}
	s.mu.Lock()
	for _, u := range d.Users {
		s.userLocked(u.Username).name = u.Name
	}
	s.mu.Unlock()
	for _, g := range d.Groups {
		s.AddGroup(Group{ID: g.ID, Name: g.Name, Path: g.Path, Storage: g.Storage})
	}
	for _, p := range d.Projects {
		s.AddProject(Project{
			ID: p.ID, Name: p.Name, Path: p.Path, Namespace: p.Namespace, Description: p.Description,
			Storage: p.Storage, CreatedAt: p.CreatedAt, MoveFailure: p.MoveFailure, CleanupFailure: p.CleanupFailure,
		})
	}
	for _, sn := range d.Snippets {
		add := Snippet{
			ID: sn.ID, Title: sn.Title, Visibility: sn.Visibility, Storage: sn.Storage,
			HasRepository: sn.HasRepository, ProjectID: sn.ProjectID, AuthorUsername: sn.Author, CreatedAt: sn.CreatedAt,
		}
		if sn.Description != nil {
			add.Description = *sn.Description
		}
		s.AddSnippet(add)
	}
	for _, m := range d.ProjectMoves {
		s.AddProjectStorageMove(m)
	}
	for _, m := range d.GroupMoves {
		s.AddGroupStorageMove(m)
	}
	for _, m := range d.SnippetMoves {
		s.AddSnippetStorageMove(m)
	}
	models := make([]gitlabdata.ModelName, 0, len(d.Records))
	for model := range d.Records {
		models = append(models, model)
	}
	slices.Sort(models)
	for _, model := range models {
		for _, r := range d.Records[model] {
			if id := s.AddRecord(model, r); id == (gitlabdata.RecordID{}) {
				return fmt.Errorf("demo record %s/%s has an invalid id", model, r.RecordIdentifier)
			}
		}
	}
	for _, model := range d.UnverifiableModels {
		s.DisableVerification(model)
	}
	return nil
}
