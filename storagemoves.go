package gitlabdata

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListStorageMovesOptions pages a listing of storage moves. GitLab lists
// the newest moves first.
type ListStorageMovesOptions struct {
	// Page is the page to fetch, from 1.
	Page int `url:"page,omitempty"`
	// PerPage is the page size: GitLab's default 20, at most 100.
	PerPage int `url:"per_page,omitempty"`
}

func (o *ListStorageMovesOptions) validate() error {
	if o == nil {
		return nil
	}
	return validatePaging(o.Page, o.PerPage)
}

// ScheduleStorageMoveRequest is the body of a request to move one
// project's (group's, snippet's) repositories.
type ScheduleStorageMoveRequest struct {
	// DestinationStorageName is the Gitaly storage to move to. When nil,
	// GitLab picks one by the storages' weights.
	DestinationStorageName *string `json:"destination_storage_name,omitempty"`
}

// ScheduleAllStorageMovesRequest is the body of a request to move every
// repository off one storage.
type ScheduleAllStorageMovesRequest struct {
	// SourceStorageName is the storage to empty. Required.
	SourceStorageName string `json:"source_storage_name"`
	// DestinationStorageName is the storage to move to. When nil, GitLab
	// picks one by the storages' weights.
	DestinationStorageName *string `json:"destination_storage_name,omitempty"`
}

func validateDestination(dest *string) error {
	if dest != nil && *dest == "" {
		return fmt.Errorf("%w: destination storage name is empty; leave it nil to let GitLab choose", ErrInvalidArgument)
	}
	return nil
}

// moveKind names the routes of one kind of storage move.
type moveKind struct {
	collection string // "project_repository_storage_moves"
	container  string // "projects"
	noun       string // "project", for error messages
}

var (
	projectMoves = moveKind{"project_repository_storage_moves", "projects", "project"}
	groupMoves   = moveKind{"group_repository_storage_moves", "groups", "group"}
	snippetMoves = moveKind{"snippet_repository_storage_moves", "snippets", "snippet"}
)

// storageMove is satisfied by *ProjectRepositoryStorageMove and its group
// and snippet siblings, which all embed RepositoryStorageMove.
type storageMove[T any] interface {
	*T
	common() *RepositoryStorageMove
}

// storageMoves implements the methods every storage-move service shares.
// Each service embeds it and adds its container-scoped methods by name.
type storageMoves[T any, P storageMove[T]] struct {
	c    *Client
	kind moveKind
}

// List returns one page of storage moves of every container, newest first.
// opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-project-repository-storage-moves
// and the group and snippet pages beside it.
func (s storageMoves[T, P]) List(ctx context.Context, opts *ListStorageMovesOptions) ([]*T, *Response, error) {
	u, err := s.listURL(0, opts)
	return listPage[T](ctx, s.c, u, err)
}

// All returns an iterator over the storage moves of every container, newest
// first, across all pages (offset pagination). opts may be nil. The iterator
// is lazy, can be ranged again, and stops after the first error, which it
// yields with a nil move.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-project-repository-storage-moves
// and the group and snippet pages beside it.
func (s storageMoves[T, P]) All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[*T, error] {
	u, err := s.listURL(0, opts)
	return all[T](ctx, s.c, u, err)
}

// Get returns one storage move.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#get-a-single-project-repository-storage-move
// and the group and snippet pages beside it.
func (s storageMoves[T, P]) Get(ctx context.Context, id int64) (*T, *Response, error) {
	return s.get(ctx, 0, id)
}

// ScheduleAll asks GitLab to move every repository off
// req.SourceStorageName. GitLab answers 202 and schedules the moves in the
// background; list them to follow their progress.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#schedule-repository-storage-moves-for-all-projects-on-a-storage-shard
// and the group and snippet pages beside it.
func (s storageMoves[T, P]) ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	if req.SourceStorageName == "" {
		return nil, fmt.Errorf("%w: source storage name is empty", ErrInvalidArgument)
	}
	if err := validateDestination(req.DestinationStorageName); err != nil {
		return nil, err
	}
	u, err := s.c.endpoint([]string{s.kind.collection}, nil)
	if err != nil {
		return nil, err
	}
	return s.c.call(ctx, http.MethodPost, u, req, nil)
}

// listURL resolves the collection route, or the container's route when
// containerID is not 0.
func (s storageMoves[T, P]) listURL(containerID int64, opts *ListStorageMovesOptions) (*url.URL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return s.c.endpoint(s.segments(containerID), opts)
}

// segments is /<collection> for containerID 0, else
// /<container>/:id/repository_storage_moves. Callers have refused negative
// ids already.
func (s storageMoves[T, P]) segments(containerID int64, more ...string) []string {
	if containerID == 0 {
		return append([]string{s.kind.collection}, more...)
	}
	return append([]string{s.kind.container, strconv.FormatInt(containerID, 10), "repository_storage_moves"}, more...)
}

func (s storageMoves[T, P]) listFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) ([]*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	u, err := s.listURL(containerID, opts)
	return listPage[T](ctx, s.c, u, err)
}

func (s storageMoves[T, P]) allFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) iter.Seq2[*T, error] {
	if err := s.checkContainer(containerID); err != nil {
		return all[T](ctx, s.c, nil, err)
	}
	u, err := s.listURL(containerID, opts)
	return all[T](ctx, s.c, u, err)
}

func (s storageMoves[T, P]) getFor(ctx context.Context, containerID, id int64) (*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	return s.get(ctx, containerID, id)
}

func (s storageMoves[T, P]) get(ctx context.Context, containerID, id int64) (*T, *Response, error) {
	if id <= 0 {
		return nil, nil, fmt.Errorf("%w: storage move id %d is not positive", ErrInvalidArgument, id)
	}
	u, err := s.c.endpoint(s.segments(containerID, strconv.FormatInt(id, 10)), nil)
	return callOne[T](ctx, s.c, http.MethodGet, u, err, nil)
}

func (s storageMoves[T, P]) scheduleFor(ctx context.Context, containerID int64, req ScheduleStorageMoveRequest) (*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	if err := validateDestination(req.DestinationStorageName); err != nil {
		return nil, nil, err
	}
	u, err := s.c.endpoint(s.segments(containerID), nil)
	return callOne[T](ctx, s.c, http.MethodPost, u, err, req)
}

func (s storageMoves[T, P]) checkContainer(id int64) error {
	if id <= 0 {
		return fmt.Errorf("%w: %s id %d is not positive", ErrInvalidArgument, s.kind.noun, id)
	}
	return nil
}

// ProjectRepositoryStorageMovesService moves project repositories between
// Gitaly storages. Every call needs an administrator's token.
//
// Besides the project-scoped methods below, it has List, All, Get,
// ScheduleAll, Wait and Evacuate, shared with the group and snippet
// services; in their signatures T is [ProjectRepositoryStorageMove].
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/
type ProjectRepositoryStorageMovesService struct {
	storageMoves[ProjectRepositoryStorageMove, *ProjectRepositoryStorageMove]
}

// ListForProject returns one page of a project's storage moves, newest
// first. opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-project
func (s *ProjectRepositoryStorageMovesService) ListForProject(ctx context.Context, projectID int64, opts *ListStorageMovesOptions) ([]*ProjectRepositoryStorageMove, *Response, error) {
	return s.listFor(ctx, projectID, opts)
}

// AllForProject returns an iterator over a project's storage moves across
// all pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-project
func (s *ProjectRepositoryStorageMovesService) AllForProject(ctx context.Context, projectID int64, opts *ListStorageMovesOptions) iter.Seq2[*ProjectRepositoryStorageMove, error] {
	return s.allFor(ctx, projectID, opts)
}

// GetForProject returns one storage move of a project.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#get-a-single-repository-storage-move-for-a-project
func (s *ProjectRepositoryStorageMovesService) GetForProject(ctx context.Context, projectID, id int64) (*ProjectRepositoryStorageMove, *Response, error) {
	return s.getFor(ctx, projectID, id)
}

// ScheduleForProject schedules a move of a project's repositories off its
// current storage. GitLab answers 201 with the move in state "scheduled",
// and 400 with Fields["project"] = ["is read-only"] when the project is
// already being moved.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#schedule-a-repository-storage-move-for-a-project
func (s *ProjectRepositoryStorageMovesService) ScheduleForProject(ctx context.Context, projectID int64, req ScheduleStorageMoveRequest) (*ProjectRepositoryStorageMove, *Response, error) {
	return s.scheduleFor(ctx, projectID, req)
}

// GroupRepositoryStorageMovesService moves group wiki repositories between
// Gitaly storages (GitLab Premium and Ultimate).
//
// Besides the group-scoped methods below, it has List, All, Get,
// ScheduleAll, Wait and Evacuate, shared with the project and snippet
// services; in their signatures T is [GroupRepositoryStorageMove].
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
type GroupRepositoryStorageMovesService struct {
	storageMoves[GroupRepositoryStorageMove, *GroupRepositoryStorageMove]
}

// ListForGroup returns one page of a group's storage moves, newest first.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
func (s *GroupRepositoryStorageMovesService) ListForGroup(ctx context.Context, groupID int64, opts *ListStorageMovesOptions) ([]*GroupRepositoryStorageMove, *Response, error) {
	return s.listFor(ctx, groupID, opts)
}

// AllForGroup returns an iterator over a group's storage moves across all
// pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
func (s *GroupRepositoryStorageMovesService) AllForGroup(ctx context.Context, groupID int64, opts *ListStorageMovesOptions) iter.Seq2[*GroupRepositoryStorageMove, error] {
	return s.allFor(ctx, groupID, opts)
}

// GetForGroup returns one storage move of a group.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
func (s *GroupRepositoryStorageMovesService) GetForGroup(ctx context.Context, groupID, id int64) (*GroupRepositoryStorageMove, *Response, error) {
	return s.getFor(ctx, groupID, id)
}

// ScheduleForGroup schedules a move of a group's wiki repository.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
func (s *GroupRepositoryStorageMovesService) ScheduleForGroup(ctx context.Context, groupID int64, req ScheduleStorageMoveRequest) (*GroupRepositoryStorageMove, *Response, error) {
	return s.scheduleFor(ctx, groupID, req)
}

// SnippetRepositoryStorageMovesService moves snippet repositories between
// Gitaly storages.
//
// Besides the snippet-scoped methods below, it has List, All, Get,
// ScheduleAll, Wait and Evacuate, shared with the project and group
// services; in their signatures T is [SnippetRepositoryStorageMove].
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
type SnippetRepositoryStorageMovesService struct {
	storageMoves[SnippetRepositoryStorageMove, *SnippetRepositoryStorageMove]
}

// ListForSnippet returns one page of a snippet's storage moves, newest first.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
func (s *SnippetRepositoryStorageMovesService) ListForSnippet(ctx context.Context, snippetID int64, opts *ListStorageMovesOptions) ([]*SnippetRepositoryStorageMove, *Response, error) {
	return s.listFor(ctx, snippetID, opts)
}

// AllForSnippet returns an iterator over a snippet's storage moves across
// all pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
func (s *SnippetRepositoryStorageMovesService) AllForSnippet(ctx context.Context, snippetID int64, opts *ListStorageMovesOptions) iter.Seq2[*SnippetRepositoryStorageMove, error] {
	return s.allFor(ctx, snippetID, opts)
}

// GetForSnippet returns one storage move of a snippet.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
func (s *SnippetRepositoryStorageMovesService) GetForSnippet(ctx context.Context, snippetID, id int64) (*SnippetRepositoryStorageMove, *Response, error) {
	return s.getFor(ctx, snippetID, id)
}

// ScheduleForSnippet schedules a move of a snippet's repository.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
func (s *SnippetRepositoryStorageMovesService) ScheduleForSnippet(ctx context.Context, snippetID int64, req ScheduleStorageMoveRequest) (*SnippetRepositoryStorageMove, *Response, error) {
	return s.scheduleFor(ctx, snippetID, req)
}
