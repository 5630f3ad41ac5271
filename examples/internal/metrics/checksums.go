package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitlabdata/gitlabdata"
)

// failedDesc has geo-ready's name and help for the same figure, so that
// the two tools' metrics agree.
var failedDesc = prometheus.NewDesc("gitlabdata_checksum_failed_records",
	"Records whose checksum failed on the primary, per Data management model.", []string{"model"}, nil)

// Checksums is a prometheus.Collector of a checksum audit: the failed
// records of each model audited so far. Set may be called from several
// goroutines while scrapes come.
type Checksums struct {
	mu     sync.Mutex
	failed map[gitlabdata.ModelName]int
}

// NewChecksums returns a collector with no model audited yet.
func NewChecksums() *Checksums {
	return &Checksums{failed: map[gitlabdata.ModelName]int{}}
}

// Set records that model has n records whose checksum failed.
func (c *Checksums) Set(model gitlabdata.ModelName, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[model] = n
}

// Describe sends the description of the audit's metric.
func (c *Checksums) Describe(ch chan<- *prometheus.Desc) { ch <- failedDesc }

// Collect sends one gauge per model audited.
func (c *Checksums) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for model, n := range c.failed {
		send(ch, failedDesc, prometheus.GaugeValue, float64(n), string(model))
	}
}
