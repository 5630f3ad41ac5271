package main

import (
	"fmt"
	"io"

	"github.com/gitlabdata/gitlabdata/examples/internal/metrics"
)

// serveMetrics serves the audit's metrics at addr ("": none) from now on;
// an address it cannot serve is a badFlag.
func serveMetrics(w io.Writer, addr string) (*metrics.Server, *metrics.Checksums, error) {
	if addr == "" {
		return nil, nil, nil
	}
	srv, err := metrics.Listen(addr)
	if err != nil {
		return nil, nil, badFlag{fmt.Errorf("-metrics %s: %v", addr, err)}
	}
	failed := metrics.NewChecksums()
	reg, err := metrics.NewRegistry(failed)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	srv.Serve(reg)
	fmt.Fprintf(w, "Serving metrics at %s\n", srv.URL())
	return srv, failed, nil
}
