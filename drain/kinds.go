package drain

import (
	"context"
	"iter"

	"github.com/gitlabdata/gitlabdata"
)

// kindOps reaches the storage moves API of one kind through the SDK.
type kindOps struct {
	schedule func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error)
	get      func(ctx context.Context, moveID int64) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error)
	// recent lists every move of the kind, newest first, with the
	// container it moves.
	recent func(ctx context.Context) iter.Seq2[owned, error]
	// forContainer lists the newest moves of one container (one page).
	forContainer func(ctx context.Context, id int64) ([]*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error)
}

func common[T any](list []*T, f func(*T) *gitlabdata.RepositoryStorageMove) []*gitlabdata.RepositoryStorageMove {
	out := make([]*gitlabdata.RepositoryStorageMove, 0, len(list))
	for _, m := range list {
		out = append(out, f(m))
	}
	return out
}

func one[T any](m *T, resp *gitlabdata.Response, err error, f func(*T) *gitlabdata.RepositoryStorageMove) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
	if err != nil || m == nil {
		return nil, resp, err
	}
	return f(m), resp, nil
}

// owned is a move with the id and path of its container.
type owned struct {
	*gitlabdata.RepositoryStorageMove
	container int64
	path      string
}

func seq[T any](s iter.Seq2[*T, error], f func(*T) owned) iter.Seq2[owned, error] {
	return func(yield func(owned, error) bool) {
		for m, err := range s {
			if err != nil {
				yield(owned{}, err)
				return
			}
			if !yield(f(m), nil) {
				return
			}
		}
	}
}

var page1 = &gitlabdata.ListStorageMovesOptions{PerPage: 20}
var page100 = &gitlabdata.ListStorageMovesOptions{PerPage: 100}

func newKindOps(c *gitlabdata.Client) map[Kind]*kindOps {
	pf := func(m *gitlabdata.ProjectRepositoryStorageMove) *gitlabdata.RepositoryStorageMove {
		return &m.RepositoryStorageMove
	}
	gf := func(m *gitlabdata.GroupRepositoryStorageMove) *gitlabdata.RepositoryStorageMove {
		return &m.RepositoryStorageMove
	}
	sf := func(m *gitlabdata.SnippetRepositoryStorageMove) *gitlabdata.RepositoryStorageMove {
		return &m.RepositoryStorageMove
	}
	po := func(m *gitlabdata.ProjectRepositoryStorageMove) owned {
		o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
		if m.Project != nil {
			o.container, o.path = m.Project.ID, m.Project.PathWithNamespace
		}
		return o
	}
	gro := func(m *gitlabdata.GroupRepositoryStorageMove) owned {
		o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
		if m.Group != nil {
			o.container, o.path = m.Group.ID, m.Group.Name
		}
		return o
	}
	so := func(m *gitlabdata.SnippetRepositoryStorageMove) owned {
		o := owned{RepositoryStorageMove: &m.RepositoryStorageMove}
		if m.Snippet != nil {
			o.container, o.path = m.Snippet.ID, m.Snippet.Title
		}
		return o
	}
	p, g, s := c.ProjectRepositoryStorageMoves, c.GroupRepositoryStorageMoves, c.SnippetRepositoryStorageMoves
	return map[Kind]*kindOps{
		KindProject: {
			schedule: func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := p.ScheduleForProject(ctx, id, req)
				return one(m, r, err, pf)
			},
			get: func(ctx context.Context, id int64) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := p.Get(ctx, id)
				return one(m, r, err, pf)
			},
			recent: func(ctx context.Context) iter.Seq2[owned, error] {
				return seq(p.All(ctx, page100), po)
			},
			forContainer: func(ctx context.Context, id int64) ([]*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				l, r, err := p.ListForProject(ctx, id, page1)
				return common(l, pf), r, err
			},
		},
		KindGroupWiki: {
			schedule: func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := g.ScheduleForGroup(ctx, id, req)
				return one(m, r, err, gf)
			},
			get: func(ctx context.Context, id int64) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := g.Get(ctx, id)
				return one(m, r, err, gf)
			},
			recent: func(ctx context.Context) iter.Seq2[owned, error] {
				return seq(g.All(ctx, page100), gro)
			},
			forContainer: func(ctx context.Context, id int64) ([]*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				l, r, err := g.ListForGroup(ctx, id, page1)
				return common(l, gf), r, err
			},
		},
		KindSnippet: {
			schedule: func(ctx context.Context, id int64, req gitlabdata.ScheduleStorageMoveRequest) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := s.ScheduleForSnippet(ctx, id, req)
				return one(m, r, err, sf)
			},
			get: func(ctx context.Context, id int64) (*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				m, r, err := s.Get(ctx, id)
				return one(m, r, err, sf)
			},
			recent: func(ctx context.Context) iter.Seq2[owned, error] {
				return seq(s.All(ctx, page100), so)
			},
			forContainer: func(ctx context.Context, id int64) ([]*gitlabdata.RepositoryStorageMove, *gitlabdata.Response, error) {
				l, r, err := s.ListForSnippet(ctx, id, page1)
				return common(l, sf), r, err
			},
		},
	}
}
