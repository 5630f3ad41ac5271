package gitlabdata_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// BenchmarkConcurrentStreamsLiveHeap ranges one All per model, four models
// at once, each with read-ahead, as checksum-audit does, and reports the
// live heap held while the loops run, per stream: it should stay a few pages
// and not grow with the number of records. Compare the sub-benchmarks'
// live-KiB/stream metric (run with -benchtime=1x).
func BenchmarkConcurrentStreamsLiveHeap(b *testing.B) {
	models := []gitlabdata.ModelName{gitlabdata.ModelUploads, gitlabdata.ModelLFSObjects, gitlabdata.ModelProjects, gitlabdata.ModelCIJobArtifacts}
	for _, n := range []int{2_000, 20_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			srv := gitlabtest.NewServer()
			defer srv.Close()
			for _, m := range models {
				srv.AddRecords(m, n, gitlabdata.ChecksumStateSucceeded)
			}
			client, err := srv.NewClient(gitlabdata.WithPrefetch(true))
			if err != nil {
				b.Fatal(err)
			}
			live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			readLive := func() uint64 {
				runtime.GC()
				metrics.Read(live)
				return live[0].Value.Uint64()
			}
			var peak uint64
			for b.Loop() {
				base := readLive()
				var mu sync.Mutex
				var wg sync.WaitGroup
				for _, m := range models {
					wg.Go(func() {
						i := 0
						for _, err := range client.DataManagement.All(context.Background(), m, &gitlabdata.ListModelRecordsOptions{PerPage: 100}) {
							if err != nil {
								b.Error(err)
								return
							}
							if i++; i%(n/8) == 0 { // eight samples per stream
								mu.Lock()
								if l := readLive(); l > base && l-base > peak {
									peak = l - base
								}
								mu.Unlock()
							}
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(peak)/1024/float64(len(models)), "live-KiB/stream")
		})
	}
}
