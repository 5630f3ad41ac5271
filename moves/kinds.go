package moves

import (
	"context"

	"github.com/gitlabdata/gitlabdata"
)

// owned is a storage move with the id and path of its container.
type owned struct {
	*gitlabdata.RepositoryStorageMove
	container int64
	path      string
}

// kindOps reaches the storage moves API of one kind through the SDK, with
// every move as an owned.
type kindOps struct {
	schedule func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (owned, *gitlabdata.Response, error)
	get      func(ctx context.Context, moveID int64) (owned, *gitlabdata.Response, error)
	// list is one page of every move of the kind, newest first.
	list func(ctx context.Context, page, perPage int) ([]owned, *gitlabdata.Response, error)
	// listFor is the newest page of the moves of one container.
	listFor func(ctx context.Context, id int64) ([]owned, *gitlabdata.Response, error)
}

// movesPerPage is the largest page size of the move listings.
const movesPerPage = 100

// opsOf builds a kind's kindOps from the SDK methods of its service and a
// function that reads a move's container.
func opsOf[M any](
	schedule func(context.Context, int64, gitlabdata.ScheduleStorageMoveRequest) (*M, *gitlabdata.Response, error),
	get func(context.Context, int64) (*M, *gitlabdata.Response, error),
	list func(context.Context, *gitlabdata.ListStorageMovesOptions) ([]*M, *gitlabdata.Response, error),
	listFor func(context.Context, int64, *gitlabdata.ListStorageMovesOptions) ([]*M, *gitlabdata.Response, error),
	own func(*M) owned,
) *kindOps {
	one := func(m *M, resp *gitlabdata.Response, err error) (owned, *gitlabdata.Response, error) {
		if err != nil || m == nil {
			return owned{}, resp, err
		}
		return own(m), resp, nil
	}
	many := func(ms []*M, resp *gitlabdata.Response, err error) ([]owned, *gitlabdata.Response, error) {
		out := make([]owned, 0, len(ms))
		for _, m := range ms {
			out = append(out, own(m))
		}
		return out, resp, err
	}
	return &kindOps{
		schedule: func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (owned, *gitlabdata.Response, error) {
			return one(schedule(ctx, id, req))
		},
		get: func(ctx context.Context, id int64) (owned, *gitlabdata.Response, error) { return one(get(ctx, id)) },
		list: func(ctx context.Context, page, perPage int) ([]owned, *gitlabdata.Response, error) {
			return many(list(ctx, &gitlabdata.ListStorageMovesOptions{Page: page, PerPage: perPage}))
		},
		listFor: func(ctx context.Context, id int64) ([]owned, *gitlabdata.Response, error) {
			return many(listFor(ctx, id, &gitlabdata.ListStorageMovesOptions{PerPage: 20}))
		},
	}
}

func newKindOps(c *gitlabdata.Client) map[Kind]*kindOps {
	p, g, s := c.ProjectRepositoryStorageMoves, c.GroupRepositoryStorageMoves, c.SnippetRepositoryStorageMoves
	return map[Kind]*kindOps{
		KindProject: opsOf(p.ScheduleForProject, p.Get, p.List, p.ListForProject, func(m *gitlabdata.ProjectRepositoryStorageMove) owned {
			o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
			if m.Project != nil {
				o.container, o.path = m.Project.ID, m.Project.PathWithNamespace
			}
			return o
		}),
		KindGroupWiki: opsOf(g.ScheduleForGroup, g.Get, g.List, g.ListForGroup, func(m *gitlabdata.GroupRepositoryStorageMove) owned {
			o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
			if m.Group != nil {
				o.container, o.path = m.Group.ID, m.Group.Name
			}
			return o
		}),
		KindSnippet: opsOf(s.ScheduleForSnippet, s.Get, s.List, s.ListForSnippet, func(m *gitlabdata.SnippetRepositoryStorageMove) owned {
			o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
			if m.Snippet != nil {
				o.container, o.path = m.Snippet.ID, m.Snippet.Title
			}
			return o
		}),
	}
}
