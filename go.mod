module github.com/gitlabdata/gitlabdata

go 1.25.0

require (
	github.com/google/go-querystring v1.2.0
	github.com/hashicorp/go-cleanhttp v0.5.2
)

require github.com/google/go-cmp v0.7.0

// For the example tools' -metrics only (examples/internal/metrics): no
// package of the SDK imports it (examples/internal/metrics/deps_test.go).
// v1.25.0 would raise the go line to 1.26.
require github.com/prometheus/client_golang v1.24.1

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.2 // indirect
	github.com/prometheus/common v0.70.1 // indirect
	github.com/prometheus/procfs v0.21.1 // indirect
	golang.org/x/sys v0.47.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
