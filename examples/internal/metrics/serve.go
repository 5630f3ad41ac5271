package metrics

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gitlabdata/gitlabdata/drain"
)

// ServeMoves starts serving the metrics of this run on srv (nil: no
// -metrics, no collector). A resumed run's collector first reads the
// journal's earlier runs.
func ServeMoves(w io.Writer, srv *Server, j *drain.Journal) (*Drain, error) {
	if srv == nil {
		return nil, nil
	}
	m := NewDrain()
	if j != nil {
		m.Replay(j.Events())
	}
	reg, err := NewRegistry(m)
	if err != nil {
		return nil, err
	}
	srv.Serve(reg)
	fmt.Fprintf(w, "Serving metrics at %s\n", srv.URL())
	return m, nil
}

// LingerFinal keeps serving the final counts until a scrape reads them,
// at most d. An interrupted run lingers too: a second Ctrl-C ends it.
func LingerFinal(ctx context.Context, w io.Writer, srv *Server, d time.Duration) {
	if srv == nil || d <= 0 {
		return
	}
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	fmt.Fprintf(w, "Serving the final metrics until a scrape reads them (at most %s).\n", d)
	if !srv.Linger(ctx, d) {
		fmt.Fprintln(w, "No scrape read the final metrics.")
	}
}
