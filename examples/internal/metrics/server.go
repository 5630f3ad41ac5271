package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry for one tool run: the Go runtime's and
// the process's metrics (go_*, process_*: a long drain's memory and CPU)
// and cs.
func NewRegistry(cs ...prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	all := append([]prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}, cs...)
	for _, c := range all {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Server is the HTTP server of -metrics: /metrics, and 404 elsewhere.
type Server struct {
	l    net.Listener
	srv  *http.Server
	done chan struct{} // closed when the server has stopped serving

	mu   sync.Mutex
	last *scrape // set by Linger
}

// scrape is closed by the first scrape that starts after a Linger call.
type scrape struct {
	once sync.Once
	ch   chan struct{}
}

// Listen checks addr (host:port; port 0 picks a free port) and binds it,
// so that a tool refuses a bad -metrics before it talks to GitLab. Its
// error is one line, without the flag's name.
func Listen(addr string) (*Server, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, errors.New("want host:port, such as 127.0.0.1:9101 (or :9101 for every interface)")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err // without "listen tcp <addr>:", which the caller says
		}
		return nil, fmt.Errorf("cannot listen: %v", err)
	}
	return &Server{l: l}, nil
}

// URL is where the metrics are served, with the port Listen bound.
func (s *Server) URL() string { return "http://" + s.l.Addr().String() + "/metrics" }

// Serve serves reg at /metrics until Close.
func (s *Server) Serve(reg *prometheus.Registry) {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		sc := s.last
		s.mu.Unlock()
		h.ServeHTTP(w, r)
		if sc != nil {
			sc.once.Do(func() { close(sc.ch) })
		}
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.l) // ends with http.ErrServerClosed at Close
	}()
}

// Linger keeps the caller until a scrape that started after the call has
// been answered, for at most max or until ctx ends, so that the values of
// a run's end reach Prometheus. It reports whether such a scrape came.
func (s *Server) Linger(ctx context.Context, max time.Duration) bool {
	if max <= 0 || s.srv == nil {
		return false
	}
	sc := &scrape{ch: make(chan struct{})}
	s.mu.Lock()
	s.last = sc
	s.mu.Unlock()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-sc.ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// Close stops the server; a scrape under way gets a second to end.
func (s *Server) Close() error {
	if s.srv == nil {
		return s.l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
