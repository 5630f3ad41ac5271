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
	// DestinationStorageName is the storage to move to. Required: GitLab's
	// bulk schedule without a destination answers 202 and then skips every
	// repository, so ScheduleAll refuses a nil one before sending.
	DestinationStorageName *string `json:"destination_storage_name,omitempty"`
}

// moveKind names the routes of one kind of storage move.
type moveKind struct {
	collection string // "project_repository_storage_moves"
	container  string // "projects"
	noun       string // "project", for error messages
	title      string // "Project", for method names in error messages
}

var (
	projectMoves = moveKind{"project_repository_storage_moves", "projects", "project", "Project"}
	groupMoves   = moveKind{"group_repository_storage_moves", "groups", "group", "Group"}
	snippetMoves = moveKind{"snippet_repository_storage_moves", "snippets", "snippet", "Snippet"}
)

// storageMove is satisfied by *ProjectRepositoryStorageMove and its group
// and snippet siblings, which all embed RepositoryStorageMove.
type storageMove[T any] interface {
	*T
	common() *RepositoryStorageMove
}

// storageMoves implements every storage-move service once. Each service
// holds one and exposes its methods under concrete types, one line each.
type storageMoves[T any, P storageMove[T]] struct {
	c    *Client
	kind moveKind
}

func (s *storageMoves[T, P]) list(ctx context.Context, opts *ListStorageMovesOptions) ([]*T, *Response, error) {
	u, err := s.listURL(0, opts)
	return listPage[T](ctx, s.c, u, err)
}

func (s *storageMoves[T, P]) all(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[*T, error] {
	u, err := s.listURL(0, opts)
	return all[T](ctx, s.c, u, err)
}

func (s *storageMoves[T, P]) get(ctx context.Context, id int64) (*T, *Response, error) {
	return s.getIn(ctx, 0, id)
}

func (s *storageMoves[T, P]) scheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	if req.SourceStorageName == "" {
		return nil, fmt.Errorf("%w: source storage name is empty", ErrInvalidArgument)
	}
	if req.DestinationStorageName == nil {
		return nil, fmt.Errorf("%w: destination storage name is required: without one GitLab answers 202 and then skips every %s; "+
			"to let GitLab pick by weight, schedule each %s on its own (ScheduleFor%s) or use package drain", ErrInvalidArgument, s.kind.noun, s.kind.noun, s.kind.title)
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
func (s *storageMoves[T, P]) listURL(containerID int64, opts *ListStorageMovesOptions) (*url.URL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return s.c.endpoint(s.segments(containerID), opts)
}

// segments is /<collection> for containerID 0, else
// /<container>/:id/repository_storage_moves. Callers have refused negative
// ids already.
func (s *storageMoves[T, P]) segments(containerID int64, more ...string) []string {
	if containerID == 0 {
		return append([]string{s.kind.collection}, more...)
	}
	return append([]string{s.kind.container, strconv.FormatInt(containerID, 10), "repository_storage_moves"}, more...)
}

func (s *storageMoves[T, P]) listFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) ([]*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	u, err := s.listURL(containerID, opts)
	return listPage[T](ctx, s.c, u, err)
}

func (s *storageMoves[T, P]) allFor(ctx context.Context, containerID int64, opts *ListStorageMovesOptions) iter.Seq2[*T, error] {
	if err := s.checkContainer(containerID); err != nil {
		return all[T](ctx, s.c, nil, err)
	}
	u, err := s.listURL(containerID, opts)
	return all[T](ctx, s.c, u, err)
}

func (s *storageMoves[T, P]) getFor(ctx context.Context, containerID, id int64) (*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	return s.getIn(ctx, containerID, id)
}

func (s *storageMoves[T, P]) getIn(ctx context.Context, containerID, id int64) (*T, *Response, error) {
	if id <= 0 {
		return nil, nil, fmt.Errorf("%w: storage move id %d is not positive", ErrInvalidArgument, id)
	}
	u, err := s.c.endpoint(s.segments(containerID, strconv.FormatInt(id, 10)), nil)
	return callOne[T](ctx, s.c, http.MethodGet, u, err, nil)
}

func (s *storageMoves[T, P]) scheduleFor(ctx context.Context, containerID int64, req ScheduleStorageMoveRequest) (*T, *Response, error) {
	if err := s.checkContainer(containerID); err != nil {
		return nil, nil, err
	}
	if err := validateDestination(req.DestinationStorageName); err != nil {
		return nil, nil, err
	}
	u, err := s.c.endpoint(s.segments(containerID), nil)
	return callOne[T](ctx, s.c, http.MethodPost, u, err, req)
}

func (s *storageMoves[T, P]) checkContainer(id int64) error {
	if id <= 0 {
		return fmt.Errorf("%w: %s id %d is not positive", ErrInvalidArgument, s.kind.noun, id)
	}
	return nil
}

// ProjectRepositoryStorageMovesService moves project repositories
// (repository, wiki and design repositories) between Gitaly storages.
// Every call needs an administrator's token.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/
type ProjectRepositoryStorageMovesService struct {
	moves storageMoves[ProjectRepositoryStorageMove, *ProjectRepositoryStorageMove]
}

// GroupRepositoryStorageMovesService moves group wiki repositories between
// Gitaly storages (GitLab Premium and Ultimate). Every call needs an
// administrator's token.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
type GroupRepositoryStorageMovesService struct {
	moves storageMoves[GroupRepositoryStorageMove, *GroupRepositoryStorageMove]
}

// SnippetRepositoryStorageMovesService moves snippet repositories between
// Gitaly storages. Every call needs an administrator's token.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
type SnippetRepositoryStorageMovesService struct {
	moves storageMoves[SnippetRepositoryStorageMove, *SnippetRepositoryStorageMove]
}

// List returns one page of the project repository storage moves of every
// project, newest first (offset pagination). opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-project-repository-storage-moves
func (s *ProjectRepositoryStorageMovesService) List(ctx context.Context, opts *ListStorageMovesOptions) ([]*ProjectRepositoryStorageMove, *Response, error) {
	return s.moves.list(ctx, opts)
}

// All returns an iterator over the project repository storage moves of every
// project, newest first, across all pages (offset pagination). opts may be
// nil. The iterator is lazy, can be ranged again, and stops after the first
// error, which it yields with a nil move.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-project-repository-storage-moves
func (s *ProjectRepositoryStorageMovesService) All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[*ProjectRepositoryStorageMove, error] {
	return s.moves.all(ctx, opts)
}

// Get returns the project repository storage move id.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#get-a-single-project-repository-storage-move
func (s *ProjectRepositoryStorageMovesService) Get(ctx context.Context, id int64) (*ProjectRepositoryStorageMove, *Response, error) {
	return s.moves.get(ctx, id)
}

// ListForProject returns one page of the storage moves of the project
// projectID, newest first. opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-project
func (s *ProjectRepositoryStorageMovesService) ListForProject(ctx context.Context, projectID int64, opts *ListStorageMovesOptions) ([]*ProjectRepositoryStorageMove, *Response, error) {
	return s.moves.listFor(ctx, projectID, opts)
}

// AllForProject returns an iterator over the storage moves of the project
// projectID across all pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-project
func (s *ProjectRepositoryStorageMovesService) AllForProject(ctx context.Context, projectID int64, opts *ListStorageMovesOptions) iter.Seq2[*ProjectRepositoryStorageMove, error] {
	return s.moves.allFor(ctx, projectID, opts)
}

// GetForProject returns the storage move id of the project projectID.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#get-a-single-repository-storage-move-for-a-project
func (s *ProjectRepositoryStorageMovesService) GetForProject(ctx context.Context, projectID, id int64) (*ProjectRepositoryStorageMove, *Response, error) {
	return s.moves.getFor(ctx, projectID, id)
}

// ScheduleForProject schedules a move of a project's repositories (repository, wiki and design repositories) off its current storage.
// GitLab answers 201 with the move, and 400 with
// Fields["project"] = ["is read-only"] when the project is already being
// moved. With no destination GitLab picks a storage by weight, which may be
// the current storage itself: give the source storage weight 0 first.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#schedule-a-repository-storage-move-for-a-project
func (s *ProjectRepositoryStorageMovesService) ScheduleForProject(ctx context.Context, projectID int64, req ScheduleStorageMoveRequest) (*ProjectRepositoryStorageMove, *Response, error) {
	return s.moves.scheduleFor(ctx, projectID, req)
}

// ScheduleAll asks GitLab to move every project repository off
// req.SourceStorageName to req.DestinationStorageName, which is required
// (without it GitLab skips every project while answering 202). GitLab answers
// 202 and schedules the moves in the background; list them to follow their
// progress.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#schedule-repository-storage-moves-for-all-projects-on-a-storage-shard
func (s *ProjectRepositoryStorageMovesService) ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	return s.moves.scheduleAll(ctx, req)
}

// Wait polls the project repository storage move id until it reaches a
// terminal state and returns it; see [WaitOptions]. A move that ends
// "failed" or "cleanup failed" comes back with a [*MoveFailedError]. The
// context bounds the whole wait: give it a deadline.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/#get-a-single-project-repository-storage-move
func (s *ProjectRepositoryStorageMovesService) Wait(ctx context.Context, id int64, opts *WaitOptions) (*ProjectRepositoryStorageMove, error) {
	return s.moves.wait(ctx, id, opts)
}

// List returns one page of the group repository storage moves of every
// group, newest first (offset pagination). opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#retrieve-all-group-repository-storage-moves
func (s *GroupRepositoryStorageMovesService) List(ctx context.Context, opts *ListStorageMovesOptions) ([]*GroupRepositoryStorageMove, *Response, error) {
	return s.moves.list(ctx, opts)
}

// All returns an iterator over the group repository storage moves of every
// group, newest first, across all pages (offset pagination). opts may be
// nil. The iterator is lazy, can be ranged again, and stops after the first
// error, which it yields with a nil move.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#retrieve-all-group-repository-storage-moves
func (s *GroupRepositoryStorageMovesService) All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[*GroupRepositoryStorageMove, error] {
	return s.moves.all(ctx, opts)
}

// Get returns the group repository storage move id.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#get-a-single-group-repository-storage-move
func (s *GroupRepositoryStorageMovesService) Get(ctx context.Context, id int64) (*GroupRepositoryStorageMove, *Response, error) {
	return s.moves.get(ctx, id)
}

// ListForGroup returns one page of the storage moves of the group
// groupID, newest first. opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-single-group
func (s *GroupRepositoryStorageMovesService) ListForGroup(ctx context.Context, groupID int64, opts *ListStorageMovesOptions) ([]*GroupRepositoryStorageMove, *Response, error) {
	return s.moves.listFor(ctx, groupID, opts)
}

// AllForGroup returns an iterator over the storage moves of the group
// groupID across all pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-single-group
func (s *GroupRepositoryStorageMovesService) AllForGroup(ctx context.Context, groupID int64, opts *ListStorageMovesOptions) iter.Seq2[*GroupRepositoryStorageMove, error] {
	return s.moves.allFor(ctx, groupID, opts)
}

// GetForGroup returns the storage move id of the group groupID.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#get-a-single-repository-storage-move-for-a-group
func (s *GroupRepositoryStorageMovesService) GetForGroup(ctx context.Context, groupID, id int64) (*GroupRepositoryStorageMove, *Response, error) {
	return s.moves.getFor(ctx, groupID, id)
}

// ScheduleForGroup schedules a move of a group's wiki repository off its current storage.
// GitLab answers 201 with the move, and 400 with
// Fields["group"] = ["is read-only"] when the group is already being
// moved. With no destination GitLab picks a storage by weight, which may be
// the current storage itself: give the source storage weight 0 first.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#schedule-a-repository-storage-move-for-a-group
func (s *GroupRepositoryStorageMovesService) ScheduleForGroup(ctx context.Context, groupID int64, req ScheduleStorageMoveRequest) (*GroupRepositoryStorageMove, *Response, error) {
	return s.moves.scheduleFor(ctx, groupID, req)
}

// ScheduleAll asks GitLab to move every group repository off
// req.SourceStorageName to req.DestinationStorageName, which is required
// (without it GitLab skips every group while answering 202). GitLab answers
// 202 and schedules the moves in the background; list them to follow their
// progress.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#schedule-repository-storage-moves-for-all-groups-on-a-storage-shard
func (s *GroupRepositoryStorageMovesService) ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	return s.moves.scheduleAll(ctx, req)
}

// Wait polls the group repository storage move id until it reaches a
// terminal state and returns it; see [WaitOptions]. A move that ends
// "failed" or "cleanup failed" comes back with a [*MoveFailedError]. The
// context bounds the whole wait: give it a deadline.
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/#get-a-single-group-repository-storage-move
func (s *GroupRepositoryStorageMovesService) Wait(ctx context.Context, id int64, opts *WaitOptions) (*GroupRepositoryStorageMove, error) {
	return s.moves.wait(ctx, id, opts)
}

// List returns one page of the snippet repository storage moves of every
// snippet, newest first (offset pagination). opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#retrieve-all-snippet-repository-storage-moves
func (s *SnippetRepositoryStorageMovesService) List(ctx context.Context, opts *ListStorageMovesOptions) ([]*SnippetRepositoryStorageMove, *Response, error) {
	return s.moves.list(ctx, opts)
}

// All returns an iterator over the snippet repository storage moves of every
// snippet, newest first, across all pages (offset pagination). opts may be
// nil. The iterator is lazy, can be ranged again, and stops after the first
// error, which it yields with a nil move.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#retrieve-all-snippet-repository-storage-moves
func (s *SnippetRepositoryStorageMovesService) All(ctx context.Context, opts *ListStorageMovesOptions) iter.Seq2[*SnippetRepositoryStorageMove, error] {
	return s.moves.all(ctx, opts)
}

// Get returns the snippet repository storage move id.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#get-a-single-snippet-repository-storage-move
func (s *SnippetRepositoryStorageMovesService) Get(ctx context.Context, id int64) (*SnippetRepositoryStorageMove, *Response, error) {
	return s.moves.get(ctx, id)
}

// ListForSnippet returns one page of the storage moves of the snippet
// snippetID, newest first. opts may be nil.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-snippet
func (s *SnippetRepositoryStorageMovesService) ListForSnippet(ctx context.Context, snippetID int64, opts *ListStorageMovesOptions) ([]*SnippetRepositoryStorageMove, *Response, error) {
	return s.moves.listFor(ctx, snippetID, opts)
}

// AllForSnippet returns an iterator over the storage moves of the snippet
// snippetID across all pages, with the same contract as All.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#retrieve-all-repository-storage-moves-for-a-snippet
func (s *SnippetRepositoryStorageMovesService) AllForSnippet(ctx context.Context, snippetID int64, opts *ListStorageMovesOptions) iter.Seq2[*SnippetRepositoryStorageMove, error] {
	return s.moves.allFor(ctx, snippetID, opts)
}

// GetForSnippet returns the storage move id of the snippet snippetID.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#get-a-single-repository-storage-move-for-a-snippet
func (s *SnippetRepositoryStorageMovesService) GetForSnippet(ctx context.Context, snippetID, id int64) (*SnippetRepositoryStorageMove, *Response, error) {
	return s.moves.getFor(ctx, snippetID, id)
}

// ScheduleForSnippet schedules a move of a snippet's repository off its current storage.
// GitLab answers 201 with the move, and 400 with
// Fields["snippet"] = ["is read-only"] when the snippet is already being
// moved. With no destination GitLab picks a storage by weight, which may be
// the current storage itself: give the source storage weight 0 first.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#schedule-a-repository-storage-move-for-a-snippet
func (s *SnippetRepositoryStorageMovesService) ScheduleForSnippet(ctx context.Context, snippetID int64, req ScheduleStorageMoveRequest) (*SnippetRepositoryStorageMove, *Response, error) {
	return s.moves.scheduleFor(ctx, snippetID, req)
}

// ScheduleAll asks GitLab to move every snippet repository off
// req.SourceStorageName to req.DestinationStorageName, which is required
// (without it GitLab skips every snippet while answering 202). GitLab answers
// 202 and schedules the moves in the background; list them to follow their
// progress.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#schedule-repository-storage-moves-for-all-snippets-on-a-storage-shard
func (s *SnippetRepositoryStorageMovesService) ScheduleAll(ctx context.Context, req ScheduleAllStorageMovesRequest) (*Response, error) {
	return s.moves.scheduleAll(ctx, req)
}

// Wait polls the snippet repository storage move id until it reaches a
// terminal state and returns it; see [WaitOptions]. A move that ends
// "failed" or "cleanup failed" comes back with a [*MoveFailedError]. The
// context bounds the whole wait: give it a deadline.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/#get-a-single-snippet-repository-storage-move
func (s *SnippetRepositoryStorageMovesService) Wait(ctx context.Context, id int64, opts *WaitOptions) (*SnippetRepositoryStorageMove, error) {
	return s.moves.wait(ctx, id, opts)
}
