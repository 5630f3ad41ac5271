package metrics

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListenRefusesWhatItCannotServe(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ addr, want string }{
		{"9101", "want host:port, such as 127.0.0.1:9101 (or :9101 for every interface)"},
		{"http://127.0.0.1:9101/metrics", "want host:port"},
		{"127.0.0.1:99999", `port "99999": want a number from 0 to 65535`},
		{"127.0.0.1:metrics", `port "metrics": want a number from 0 to 65535`},
		{busy.Addr().String(), "cannot listen: bind: address already in use"},
	} {
		s, err := Listen(tc.addr)
		if err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded; want %q", tc.addr, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Listen(%q) error = %q; want one line with %q", tc.addr, err, tc.want)
		}
	}
}

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The tools' server: our metrics and the process's at /metrics, nothing
// elsewhere; Linger waits for a scrape that starts after it; nothing is
// served after Close.
func TestServerServesLingersAndStops(t *testing.T) {
	t.Parallel()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(NewDrain(), NewChecksums())
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(reg)
	code, body := get(t, s.URL())
	for _, want := range []string{"\ngitlabdata_moves_running 0\n", "\ngo_goroutines ", "\nprocess_start_time_seconds "} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, without %q:\n%s", s.URL(), code, want, body)
		}
	}
	if code, _ := get(t, strings.TrimSuffix(s.URL(), "metrics")); code != http.StatusNotFound {
		t.Errorf("GET / = %d; want 404", code)
	}

	if s.Linger(t.Context(), 50*time.Millisecond) {
		t.Error("Linger() with no scrape = true")
	}
	lingered := make(chan bool)
	go func() { lingered <- s.Linger(t.Context(), 10*time.Second) }()
	for done := false; !done; {
		get(t, s.URL()) // one of these starts after Linger's call
		select {
		case ok := <-lingered:
			if !ok {
				t.Error("Linger() after a scrape = false")
			}
			done = true
		case <-time.After(10 * time.Millisecond):
		}
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Errorf("GET %s after Close succeeded", s.URL())
	}
}
