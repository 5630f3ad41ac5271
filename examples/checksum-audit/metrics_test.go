package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrapeFinal is the tool's standard output: from the line that says the
// final metrics are served, it scrapes them until the run ends.
type scrapeFinal struct {
	mu   sync.Mutex
	out  bytes.Buffer
	url  string
	last string
	stop chan struct{}
	wg   sync.WaitGroup
}

func (s *scrapeFinal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := string(p)
	if _, url, ok := strings.Cut(line, "Serving metrics at "); ok {
		s.url = strings.TrimSpace(url)
	}
	if strings.Contains(line, "Serving the final metrics") {
		s.wg.Go(func() {
			for {
				if resp, err := http.Get(s.url); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					s.mu.Lock()
					s.last = string(b)
					s.mu.Unlock()
				}
				select {
				case <-s.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	return s.out.Write(p)
}

// The audit's metrics, read after the run: the failed records of each
// model audited, and no token.
func TestChecksumAuditServesFailedRecords(t *testing.T) {
	srv := fakeEnv(t, "19.2")
	out := &scrapeFinal{stop: make(chan struct{})}
	var errs bytes.Buffer
	err := run(t.Context(), []string{"-models", "lfs_objects,uploads", "-metrics", "127.0.0.1:0", "-metrics-linger", "20s"}, out, &errs)
	close(out.stop)
	out.wg.Wait()
	if err != nil {
		t.Fatalf("run() error = %v\n%s%s", err, out.out.String(), errs.String())
	}
	lfs := findRow(out.out.String(), "lfs_objects")
	uploads := findRow(out.out.String(), "uploads")
	if len(lfs) < 6 || len(uploads) < 6 {
		t.Fatalf("no table rows for lfs_objects and uploads:\n%s", out.out.String())
	}
	for _, want := range []string{
		"# TYPE gitlabdata_checksum_failed_records gauge\n",
		`gitlabdata_checksum_failed_records{model="lfs_objects"} ` + lfs[5] + "\n",
		`gitlabdata_checksum_failed_records{model="uploads"} ` + uploads[5] + "\n",
	} {
		if !strings.Contains(out.last, want) {
			t.Errorf("the final metrics lack %q:\n%s", want, out.last)
		}
	}
	if lfs[5] != "4" || strings.Contains(out.last, srv.Token()) {
		t.Errorf("lfs_objects failed %s (want 4), or the metrics show the token:\n%s", lfs[5], out.last)
	}
}

// A -metrics the tool cannot use ends it with exit status 2 and one line,
// before any request to GitLab.
func TestChecksumAuditRefusesBadMetricsFlags(t *testing.T) {
	srv := fakeEnv(t, "19.2")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-metrics", "9102"}, "-metrics 9102: want host:port, such as 127.0.0.1:9101 (or :9101 for every interface)"},
		{[]string{"-metrics", busy.Addr().String()}, "-metrics " + busy.Addr().String() + ": cannot listen: bind: address already in use"},
		{[]string{"-metrics-linger", "1m"}, "-metrics-linger goes with -metrics ADDR"},
		{[]string{"-metrics", "127.0.0.1:0", "-metrics-linger", "-1s"}, "-metrics-linger -1s: want 0 or a duration, such as 1m"},
	} {
		var out, errs bytes.Buffer
		err := run(t.Context(), tc.args, &out, &errs)
		if code := exitStatus(err, &errs); code != 2 || errs.String() != "checksum-audit: "+tc.want+"\n" {
			t.Errorf("run(%q) = exit %d, %q; want 2, %q", tc.args, code, errs.String(), tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests to GitLab before the flags were refused", n)
	}
}
