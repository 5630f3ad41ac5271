package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Smoke-sized listings: each benchmark op walks one of them whole. The full
// comparison is the main program (see BENCHMARKS.md).
const (
	smokeRecords = 2_000
	smokeMoves   = 1_000
)

var smoke struct {
	once sync.Once
	srv  *server
	// data holds each kind's dataset.
	data map[string]*dataset
	err  error
}

func TestMain(m *testing.M) {
	childMain() // the test binary is the children in TestChildProcesses
	code := m.Run()
	if smoke.srv != nil {
		_ = smoke.srv.Close()
	}
	os.Exit(code)
}

func smokeServer(tb testing.TB) *server {
	tb.Helper()
	smoke.once.Do(func() {
		smoke.srv, smoke.data, smoke.err = startServer(smokeRecords, smokeMoves)
	})
	if smoke.err != nil {
		tb.Fatal(smoke.err)
	}
	return smoke.srv
}

// startServer starts a server serving n records and m moves of each kind.
func startServer(n, m int) (*server, map[string]*dataset, error) {
	srv, err := newServer()
	if err != nil {
		return nil, nil, err
	}
	data := make(map[string]*dataset)
	for _, k := range kinds {
		size := n
		if k.moves {
			size = m
		}
		ds, err := k.render(srv.URL, size)
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		srv.store(k.path, ds)
		data[k.name] = ds
	}
	return srv, data, nil
}

func BenchmarkRecords(b *testing.B) { benchKind(b, kinds[0]) }

// BenchmarkMoves walks the three kinds of storage move.
func BenchmarkMoves(b *testing.B) {
	for _, k := range kinds[1:] {
		b.Run(k.name, func(b *testing.B) { benchKind(b, k) })
	}
}

// benchKind walks k with plain and with gzip bodies.
func benchKind(b *testing.B, k kind) {
	srv := smokeServer(b)
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			srv.gzip.Store(gz)
			defer srv.gzip.Store(false)
			benchListing(b, srv, workload{name: k.name, ds: smoke.data[k.name].info(), pick: k.pick})
		})
	}
}

func benchListing(b *testing.B, srv *server, w workload) {
	for _, c := range contenders() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				if err := runChecked(b.Context(), srv, w, c, &consumer{}); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&m1)
			items := float64(b.N) * float64(w.ds.Items)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/item")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/items, "allocs/item")
		})
	}
}

// TestContendersListEverything checks the harness itself: every contender
// gets every item once from the server, which refuses nothing.
func TestContendersListEverything(t *testing.T) {
	t.Parallel()
	srv, data, err := startServer(350, 250)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, gz := range []bool{false, true} {
		srv.gzip.Store(gz)
		for _, k := range kinds {
			w := workload{name: k.name, ds: data[k.name].info(), pick: k.pick}
			for _, c := range contenders() {
				srv.resetConnections()
				if err := runChecked(t.Context(), srv, w, c, &consumer{}); err != nil {
					t.Errorf("gzip %t: %v", gz, err)
				}
				if accepted, used := srv.connections(); used < 1 || accepted < used {
					t.Errorf("%s on %s (gzip %t): server counted %d connections accepted, %d used", c.name, w.name, gz, accepted, used)
				}
			}
		}
	}
}

// TestServerRefusesOtherRequests checks that a contender asking for other
// pages than the ones served fails the run instead of being measured.
func TestServerRefusesOtherRequests(t *testing.T) {
	t.Parallel()
	srv, _, err := startServer(200, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, path := range []string{
		recordsPath + "?per_page=100",                               // offset instead of keyset
		recordsPath + "?pagination=keyset&per_page=20",              // other page size
		recordsPath + "?pagination=keyset&per_page=100&cursor=eyJ9", // unknown cursor
		movesPath + "?page=9&per_page=100",                          // past the end
	} {
		before := srv.rejected.Load()
		if _, err := plainGet(t.Context(), newPlainClient(), srv.URL+path, nil); err == nil {
			t.Errorf("GET %s: no error, want the server to refuse it", path)
		}
		if got := srv.rejected.Load() - before; got != 1 {
			t.Errorf("GET %s: server counted %d refusals, want 1", path, got)
		}
	}
}

// TestServerCountsConnections opens one connection that carries two
// requests and one that carries none.
func TestServerCountsConnections(t *testing.T) {
	t.Parallel()
	srv, _, err := startServer(200, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.resetConnections()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var d net.Dialer
	spare, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	busy, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	rd := bufio.NewReader(busy)
	for page := 1; page <= 2; page++ {
		req := fmt.Sprintf("GET %s?page=%d&per_page=%d HTTP/1.1\r\nHost: %s\r\nPRIVATE-TOKEN: %s\r\n\r\n", movesPath, page, perPage, addr, token)
		if _, err := busy.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: status %d, want 200", page, resp.StatusCode)
		}
	}
	// The server accepts in order, so the spare one is counted by now.
	if accepted, used := srv.connections(); accepted != 2 || used != 1 {
		t.Errorf("connections() = %d accepted, %d used; want 2, 1", accepted, used)
	}
	srv.resetConnections()
	if accepted, used := srv.connections(); accepted != 0 || used != 0 {
		t.Errorf("after resetConnections: %d accepted, %d used; want 0, 0", accepted, used)
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, want string
	}{
		{"", ""},
		{`<http://h/a?page=1>; rel="first"`, ""},
		{`<http://h/a?cursor=eyJ9%3D&per_page=100>; rel="next"`, "http://h/a?cursor=eyJ9%3D&per_page=100"},
		{`<http://h/a?page=1>; rel="prev", <http://h/a?page=3>; rel="next", <http://h/a?page=1>; rel="first"`, "http://h/a?page=3"},
	} {
		if got := nextLink(tc.header); got != tc.want {
			t.Errorf("nextLink(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// TestRenderedPagesChain walks the rendered pages by their own headers, as a
// client would, and checks they cover every item once.
func TestRenderedPagesChain(t *testing.T) {
	t.Parallel()
	srv, data, err := startServer(1050, 10_100)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	records, moves := data[kindRecords], data[kindMoves]
	if got, want := len(records.pages), 11; got != want {
		t.Errorf("records: %d pages, want %d", got, want)
	}
	if last := records.pages[len(records.pages)-1].header; last.Get("Link") != "" {
		t.Errorf("records: last page has Link %q, want none", last.Get("Link"))
	}
	for i, pg := range records.pages[:len(records.pages)-1] {
		if !strings.Contains(pg.header.Get("Link"), `rel="next"`) || !strings.Contains(pg.header.Get("Link"), "cursor=") {
			t.Errorf("records page %d: Link %q, want a rel=\"next\" link with cursor=", i, pg.header.Get("Link"))
		}
	}
	// Above 10,000 moves GitLab leaves out the totals.
	first := moves.pages[0].header
	if first.Get("X-Total") != "" || strings.Contains(first.Get("Link"), `rel="last"`) {
		t.Errorf("moves: X-Total %q, Link %q; want neither totals nor rel=\"last\" above 10,000", first.Get("X-Total"), first.Get("Link"))
	}
	if got := moves.pages[len(moves.pages)-1].header.Get("X-Next-Page"); got != "" {
		t.Errorf("moves: last page X-Next-Page %q, want empty", got)
	}
	baseline := contenders()[3]
	if baseline.name != nameBaseline {
		t.Fatalf("contenders()[3] is %s, want %s", baseline.name, nameBaseline)
	}
	if err := runChecked(t.Context(), srv, workload{name: "moves", ds: moves.info(), pick: kinds[1].pick}, baseline, &consumer{}); err != nil {
		t.Error(err)
	}
}

func TestCountItems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want int
	}{
		{`[]`, 0},
		{`[{}]`, 1},
		{`[{"a":{"b":[{},{}]}},{"c":"}{[\"{"}, {"d":[]}]`, 3},
		{"[\n {\"x\":\"\\\\\"},\n {}\n]", 2},
	} {
		if got := countItems([]byte(tc.body)); got != tc.want {
			t.Errorf("countItems(%s) = %d, want %d", tc.body, got, tc.want)
		}
	}
	// Every rendered page counts as many items as it holds.
	_, data, err := startServer(250, 150)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		got := 0
		for _, pg := range data[k.name].pages {
			got += countItems(pg.body)
		}
		if want := data[k.name].items; got != want {
			t.Errorf("%s: countItems over the pages = %d, want %d", k.name, got, want)
		}
	}
}

// TestServerGzip checks that with gzip on the server compresses exactly
// for the clients that ask, and that the compressed body is the page.
func TestServerGzip(t *testing.T) {
	t.Parallel()
	srv, data, err := startServer(200, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.gzip.Store(true)
	want := data[kindGroupMoves].pages[0].body
	for _, accept := range []string{"gzip", ""} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+groupMovesPath+"?page=1&per_page=100", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("PRIVATE-TOKEN", token)
		req.Header.Set("Accept-Encoding", accept) // set by hand: the transport does not decompress
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if got := resp.Header.Get("Content-Encoding"); (got == "gzip") != (accept == "gzip") {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", accept, got)
		}
		if accept == "gzip" {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		got, err := io.ReadAll(body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Accept-Encoding %q: body of %d bytes (%v), want the %d-byte page", accept, len(got), err, len(want))
		}
	}
}

// TestChildProcesses runs the default layout with this test binary as the
// children: one server child, and a client child for every contender on
// every listing, plain and gzip, with and without a partial warm-up, and a
// live heap pass.
func TestChildProcesses(t *testing.T) {
	t.Parallel()
	p, err := startProcs(0.5)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, gz := range []bool{false, true} {
		for _, k := range kinds {
			ds, err := p.serve(k, 2_500, gz, 0)
			if err != nil {
				t.Fatal(err)
			}
			w := workload{name: k.name, kind: k.name, ds: ds, pick: k.pick}
			for i, c := range contenders() {
				p.warmUp = float64(i%2) * 0.5 // 0: no warm-up; 0.5: half the listing
				s, err := p.round(t.Context(), w, c, 0)
				if err != nil {
					t.Errorf("gzip %t: %v", gz, err)
					continue
				}
				if s.used < 1 || s.conns < s.used || s.cpu <= 0 || s.allocs == 0 || s.serverCPU <= 0 {
					t.Errorf("%s on %s (gzip %t): %d connections accepted, %d used, CPU %s, %d allocations, server CPU %s",
						c.name, k.name, gz, s.conns, s.used, s.cpu, s.allocs, s.serverCPU)
				}
			}
		}
	}
	ds, err := p.serve(kinds[0], 1_000, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	live, err := p.live(t.Context(), workload{name: kindRecords, kind: kindRecords, ds: ds, pick: kinds[0].pick}, contenders()[0])
	if err != nil || live.peak == 0 {
		t.Errorf("live heap: %+v, %v", live, err)
	}
}

// TestChildFailsWrongCounts checks that a client child fails, and the parent
// with it, when the items are not the ones the server serves.
func TestChildFailsWrongCounts(t *testing.T) {
	t.Parallel()
	p, err := startProcs(0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ds, err := p.serve(kinds[1], 1_000, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	ds.Sum++
	w := workload{name: kindMoves, kind: kindMoves, ds: ds, pick: kinds[1].pick}
	if _, err := p.round(t.Context(), w, contenders()[0], 0); err == nil || !strings.Contains(err.Error(), "id sum") {
		t.Errorf("round with a wrong id sum: %v, want a mismatch", err)
	}
}
