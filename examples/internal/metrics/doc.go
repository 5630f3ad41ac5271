// Package metrics gives the example tools Prometheus metrics: a collector
// fed by a drain's events (Drain), one of checksum audits (Checksums), a
// registry per tool run (NewRegistry) and the HTTP server of -metrics ADDR
// (Listen).
//
// It is the module's only importer of github.com/prometheus/client_golang,
// and an internal package of the examples: the SDK, drain and gitlabtest
// stay free of it (deps_test.go fails otherwise).
//
// Nothing here is global: a tool creates its collectors, registers them in
// a registry of its own and serves that registry. The metrics hold counts,
// kinds, outcomes and model names only: never a token, a URL or a path.
package metrics
