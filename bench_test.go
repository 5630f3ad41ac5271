package gitlabdata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
)

// Benchmarks of the hot paths, each against its baseline in the same run:
//
//	go test -run '^$' -bench . -benchmem .
//
// Every benchmark reports ns/record, B/record and allocs/record, so the
// ratios can be read off directly. The All benchmarks serve pages from a
// server in the same process, so both sides of each ratio include its cost.

const (
	benchPerPage    = 100       // records per page, GitLab's maximum
	benchAllRecords = 10_000    // records per iteration in BenchmarkAllKeyset/Offset
	peakHeapRecords = 1_000_000 // records in the largest BenchmarkAllPeakHeap run
)

// benchPerRecord runs op in a b.Loop and reports time, bytes and
// allocations per record; each op handles records records.
func benchPerRecord(b *testing.B, records int, op func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		op()
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
}

func BenchmarkDecodeModelRecordsPage(b *testing.B) {
	page := decodeRecordsPage(1, benchPerPage)
	var probe []*ModelRecord
	if !decodeFast(page, &probe) {
		b.Fatal("decodeFast declined the benchmark page")
	}
	b.Run("fast", func(b *testing.B) {
		shared := new(jsonscan.Shared) // one listing's table, as in All
		benchPerRecord(b, benchPerPage, func() {
			var recs []*ModelRecord
			if err := decodeJSON(page, pageInto{&recs, shared}); err != nil || len(recs) != benchPerPage {
				b.Fatalf("decodeJSON = %d records, %v", len(recs), err)
			}
		})
	})
	b.Run("encoding_json", func(b *testing.B) {
		benchPerRecord(b, benchPerPage, func() {
			var recs []*ModelRecord
			if err := json.Unmarshal(page, &recs); err != nil || len(recs) != benchPerPage {
				b.Fatalf("json.Unmarshal = %d records, %v", len(recs), err)
			}
		})
	})
}

func BenchmarkDecodeStorageMovesPage(b *testing.B) {
	page := decodeMovesPage(benchPerPage, benchPerPage)
	var probe []*ProjectRepositoryStorageMove
	if !decodeFast(page, &probe) {
		b.Fatal("decodeFast declined the benchmark page")
	}
	b.Run("fast", func(b *testing.B) {
		shared := new(jsonscan.Shared)
		benchPerRecord(b, benchPerPage, func() {
			var moves []*ProjectRepositoryStorageMove
			if err := decodeJSON(page, pageInto{&moves, shared}); err != nil || len(moves) != benchPerPage {
				b.Fatalf("decodeJSON = %d moves, %v", len(moves), err)
			}
		})
	})
	b.Run("encoding_json", func(b *testing.B) {
		benchPerRecord(b, benchPerPage, func() {
			var moves []*ProjectRepositoryStorageMove
			if err := json.Unmarshal(page, &moves); err != nil || len(moves) != benchPerPage {
				b.Fatalf("json.Unmarshal = %d moves, %v", len(moves), err)
			}
		})
	})
}

func BenchmarkDecodeGroupMovesPage(b *testing.B) {
	benchDecodePage[GroupRepositoryStorageMove](b, decodeGroupMovesPage(benchPerPage, benchPerPage))
}

func BenchmarkDecodeSnippetMovesPage(b *testing.B) {
	benchDecodePage[SnippetRepositoryStorageMove](b, decodeSnippetMovesPage(benchPerPage, benchPerPage))
}

// benchDecodePage decodes page, a list of benchPerPage items of T, with
// decodeJSON (the fast path) and with encoding/json.
func benchDecodePage[T any](b *testing.B, page []byte) {
	var probe []*T
	if !decodeFast(page, &probe) {
		b.Fatal("decodeFast declined the benchmark page")
	}
	shared := new(jsonscan.Shared)
	for _, bc := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"fast", func(page []byte, out any) error { return decodeJSON(page, pageInto{out, shared}) }}, {"encoding_json", json.Unmarshal}} {
		b.Run(bc.name, func(b *testing.B) {
			benchPerRecord(b, benchPerPage, func() {
				var items []*T
				if err := bc.decode(page, &items); err != nil || len(items) != benchPerPage {
					b.Fatalf("%s = %d items, %v", bc.name, len(items), err)
				}
			})
		})
	}
}

// benchPage is a pre-rendered answer: its body and headers.
type benchPage struct {
	body   []byte
	header http.Header
}

func (p benchPage) serve(w http.ResponseWriter) {
	maps.Copy(w.Header(), p.header)
	_, _ = w.Write(p.body)
}

// newBenchServer serves n records as GitLab would: data management records
// at /api/v4/admin/data_management/projects with keyset Link headers (the
// cursor is the page number), and project storage moves at
// /api/v4/project_repository_storage_moves with offset X-* and Link headers.
// Every page is rendered before the benchmark starts.
func newBenchServer(b *testing.B, n int) *httptest.Server {
	b.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	pages := (n + benchPerPage - 1) / benchPerPage
	records := make([]benchPage, pages)
	moves := make([]benchPage, pages)
	recordsURL := srv.URL + "/api/v4/admin/data_management/projects"
	movesURL := srv.URL + "/api/v4/project_repository_storage_moves"
	for i := range pages {
		count := min(benchPerPage, n-i*benchPerPage)
		h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"01J9Z3QK4F6M0T7Y8V2B1C5D9E"}}
		if i+1 < pages {
			h.Set("Link", fmt.Sprintf(`<%s?cursor=%d&pagination=keyset&per_page=%d>; rel="next"`, recordsURL, i+1, benchPerPage))
		}
		records[i] = benchPage{decodeRecordsPage(i*benchPerPage+1, count), h}

		page := i + 1
		h = http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"01J9Z3QK4F6M0T7Y8V2B1C5D9E"}}
		h.Set("X-Page", strconv.Itoa(page))
		h.Set("X-Per-Page", strconv.Itoa(benchPerPage))
		h.Set("X-Total", strconv.Itoa(n))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		h.Set("X-Prev-Page", "")
		h.Set("X-Next-Page", "")
		link := func(p int, rel string) string {
			return fmt.Sprintf(`<%s?page=%d&per_page=%d>; rel="%s"`, movesURL, p, benchPerPage, rel)
		}
		links := []string{}
		if page > 1 {
			h.Set("X-Prev-Page", strconv.Itoa(page-1))
			links = append(links, link(page-1, "prev"))
		}
		if page < pages {
			h.Set("X-Next-Page", strconv.Itoa(page+1))
			links = append(links, link(page+1, "next"))
		}
		links = append(links, link(1, "first"), link(pages, "last"))
		h.Set("Link", strings.Join(links, ", "))
		moves[i] = benchPage{decodeMovesPage(n-i*benchPerPage, count), h}
	}
	mux.HandleFunc("GET /api/v4/admin/data_management/projects", func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		records[min(i, pages-1)].serve(w)
	})
	mux.HandleFunc("GET /api/v4/project_repository_storage_moves", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		moves[min(max(page, 1), pages)-1].serve(w)
	})
	return srv
}

func newBenchClient(b *testing.B, srv *httptest.Server) *Client {
	b.Helper()
	c, err := NewClient(srv.URL, "bench-token")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.hc.CloseIdleConnections)
	return c
}

// newBareClient is the baseline's plain net/http client.
func newBareClient(b *testing.B) *http.Client {
	b.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.Cleanup(hc.CloseIdleConnections)
	return hc
}

// bareGet is the baseline's request: GET with the token, the body decoded
// by encoding/json straight into the same structs, then drained and closed
// so that the connection is reused.
func bareGet(ctx context.Context, hc *http.Client, url string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", "bench-token")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header, nil
}

// floorGet is the floor: the baseline's request with the body only read
// into buf (reused from page to page) and scanned to count its items, with
// nothing decoded. No client can do less for the same listing.
func floorGet(ctx context.Context, hc *http.Client, url string, buf *bytes.Buffer) (http.Header, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("PRIVATE-TOKEN", "bench-token")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, 0, err
	}
	return resp.Header, countItems(buf.Bytes()), nil
}

// countItems counts the objects of a JSON array of objects, skipping
// strings and tracking nesting.
func countItems(body []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case '{':
			if depth == 1 {
				n++
			}
			depth++
		case '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	return n
}

// bareNextLink finds the rel="next" URL of a Link header the simple way.
func bareNextLink(link string) string {
	for part := range strings.SplitSeq(link, ",") {
		target, params, ok := strings.Cut(part, ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}

func BenchmarkAllKeyset(b *testing.B) {
	srv := newBenchServer(b, benchAllRecords)
	b.Run("gitlabdata", func(b *testing.B) {
		c := newBenchClient(b, srv)
		opts := &ListModelRecordsOptions{PerPage: benchPerPage}
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for _, err := range c.DataManagement.All(b.Context(), ModelProjects, opts) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != benchAllRecords {
				b.Fatalf("All yielded %d records; want %d", n, benchAllRecords)
			}
		})
	})
	b.Run("bare_net_http", func(b *testing.B) {
		hc := newBareClient(b)
		first := srv.URL + "/api/v4/admin/data_management/projects?pagination=keyset&per_page=" + strconv.Itoa(benchPerPage)
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for url := first; url != ""; {
				var recs []*ModelRecord
				h, err := bareGet(b.Context(), hc, url, &recs)
				if err != nil {
					b.Fatal(err)
				}
				n += len(recs)
				url = bareNextLink(h.Get("Link"))
			}
			if n != benchAllRecords {
				b.Fatalf("baseline read %d records; want %d", n, benchAllRecords)
			}
		})
	})
	b.Run("floor", func(b *testing.B) {
		hc := newBareClient(b)
		first := srv.URL + "/api/v4/admin/data_management/projects?pagination=keyset&per_page=" + strconv.Itoa(benchPerPage)
		var buf bytes.Buffer
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for url := first; url != ""; {
				h, count, err := floorGet(b.Context(), hc, url, &buf)
				if err != nil {
					b.Fatal(err)
				}
				n += count
				url = bareNextLink(h.Get("Link"))
			}
			if n != benchAllRecords {
				b.Fatalf("floor counted %d records; want %d", n, benchAllRecords)
			}
		})
	})
}

func BenchmarkAllOffset(b *testing.B) {
	srv := newBenchServer(b, benchAllRecords)
	b.Run("gitlabdata", func(b *testing.B) {
		c := newBenchClient(b, srv)
		opts := &ListStorageMovesOptions{PerPage: benchPerPage}
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for _, err := range c.ProjectRepositoryStorageMoves.All(b.Context(), opts) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != benchAllRecords {
				b.Fatalf("All yielded %d moves; want %d", n, benchAllRecords)
			}
		})
	})
	b.Run("bare_net_http", func(b *testing.B) {
		hc := newBareClient(b)
		base := srv.URL + "/api/v4/project_repository_storage_moves?per_page=" + strconv.Itoa(benchPerPage)
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for page := "1"; page != ""; {
				var moves []*ProjectRepositoryStorageMove
				h, err := bareGet(b.Context(), hc, base+"&page="+page, &moves)
				if err != nil {
					b.Fatal(err)
				}
				n += len(moves)
				page = h.Get("X-Next-Page")
			}
			if n != benchAllRecords {
				b.Fatalf("baseline read %d moves; want %d", n, benchAllRecords)
			}
		})
	})
	b.Run("floor", func(b *testing.B) {
		hc := newBareClient(b)
		base := srv.URL + "/api/v4/project_repository_storage_moves?per_page=" + strconv.Itoa(benchPerPage)
		var buf bytes.Buffer
		benchPerRecord(b, benchAllRecords, func() {
			n := 0
			for page := "1"; page != ""; {
				h, count, err := floorGet(b.Context(), hc, base+"&page="+page, &buf)
				if err != nil {
					b.Fatal(err)
				}
				n += count
				page = h.Get("X-Next-Page")
			}
			if n != benchAllRecords {
				b.Fatalf("floor counted %d moves; want %d", n, benchAllRecords)
			}
		})
	})
}

// peakHeapRecord is one record of the pages BenchmarkAllPeakHeap generates;
// the id goes between the two halves.
var peakHeapRecord = [2]string{
	`{"record_identifier":`,
	`,"model_class":"LfsObject","created_at":"2024-11-02T09:14:03.511Z","file_size":1048576,"checksum_information":{"checksum":"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d","last_checksum":"2025-07-20T03:11:59.120Z","checksum_state":"succeeded","checksum_retry_count":0,"checksum_retry_at":null,"checksum_failure":null}}`,
}

// newPeakHeapServer serves n records in keyset pages generated on request,
// so that the server holds no more than a page whatever n is. The cursor is
// the last id of the previous page.
func newPeakHeapServer(b *testing.B, n int) *httptest.Server {
	b.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	pageURL := srv.URL + "/api/v4/admin/data_management/projects"
	mux.HandleFunc("GET /api/v4/admin/data_management/projects", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		last := min(after+benchPerPage, n)
		body := make([]byte, 0, benchPerPage*(len(peakHeapRecord[0])+len(peakHeapRecord[1])+8)+2)
		body = append(body, '[')
		for id := after + 1; id <= last; id++ {
			if id > after+1 {
				body = append(body, ',')
			}
			body = append(body, peakHeapRecord[0]...)
			body = strconv.AppendInt(body, int64(id), 10)
			body = append(body, peakHeapRecord[1]...)
		}
		body = append(body, ']')
		w.Header().Set("Content-Type", "application/json")
		if last < n {
			w.Header().Set("Link", fmt.Sprintf(`<%s?cursor=%d&pagination=keyset&per_page=%d>; rel="next"`, pageURL, last, benchPerPage))
		}
		_, _ = w.Write(body)
	})
	return srv
}

// BenchmarkAllPeakHeap iterates many records and watches the heap, which
// must not grow with the number of records: All holds one page at a time.
//
//   - peak-heap-inuse-B is the largest HeapInuse seen after any page: live
//     data, garbage not yet collected and free space in spans in use. The GC
//     lets the heap reach 4 MB before it collects at all, and the peak also
//     depends on when collections happen to run.
//   - retained-heap-B is the most the heap held above its size before the
//     loop, right after a forced collection, at ten points of the iteration:
//     what the iteration itself keeps alive (the page being read, the pooled
//     read buffer, connections), without the GC's slack.
func BenchmarkAllPeakHeap(b *testing.B) {
	for _, n := range []int{benchAllRecords, peakHeapRecords} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			srv := newPeakHeapServer(b, n)
			c := newBenchClient(b, srv)
			opts := &ListModelRecordsOptions{PerPage: benchPerPage}
			inuse := []metrics.Sample{
				{Name: "/memory/classes/heap/objects:bytes"},
				{Name: "/memory/classes/heap/unused:bytes"},
			}
			heapAfterGC := func() uint64 {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				return ms.HeapAlloc
			}
			var peakInuse, retained uint64
			base := heapAfterGC()
			benchPerRecord(b, n, func() {
				seen := 0
				for _, err := range c.DataManagement.All(b.Context(), ModelProjects, opts) {
					if err != nil {
						b.Fatal(err)
					}
					seen++
					if seen%benchPerPage == 0 {
						metrics.Read(inuse)
						peakInuse = max(peakInuse, inuse[0].Value.Uint64()+inuse[1].Value.Uint64())
					}
					if seen%(n/10) == 0 {
						retained = max(retained, max(heapAfterGC(), base)-base)
					}
				}
				if seen != n {
					b.Fatalf("All yielded %d records; want %d", seen, n)
				}
			})
			b.ReportMetric(float64(peakInuse), "peak-heap-inuse-B")
			b.ReportMetric(float64(retained), "retained-heap-B")
		})
	}
}
