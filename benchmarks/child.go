package main

// The default process layout: the harness (the parent) starts one server
// child, and one client child for every measured run. Both are this same
// program, started again with childEnv set to "server" or "client".

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// childEnv names the environment variable that makes this program a child:
// "server" or "client".
const childEnv = "GITLABDATA_BENCH_CHILD"

// childMain runs the child role named in childEnv, if any, and exits; it
// returns when the process is not a child.
func childMain() {
	var err error
	switch role := os.Getenv(childEnv); role {
	case "":
		return
	case "server":
		err = serverChild(os.Stdin, os.Stdout)
	case "client":
		err = clientChild(context.Background(), os.Args[1:], os.Stdout)
	default:
		err = fmt.Errorf("unknown %s=%q", childEnv, role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchmarks %s child: %v\n", os.Getenv(childEnv), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// hello is the first line a server child writes on stdout.
type hello struct {
	// URL is where the listings are served; Control is a second port for
	// the parent and the client children, whose connections are not
	// counted.
	URL     string `json:"url"`
	Control string `json:"control"`
}

// serverChild serves the listings until stdin closes (the parent closes it,
// or dies). The control port answers:
//
//	POST /load?kind=K&n=N&gzip=0|1&latency=D  serve kind K's listing of N items (rendered once, then kept), gzip bodies or not, sleeping D before each page; answers the dataset's dsInfo
//	POST /reset                               close idle connections, zero the connection counts
//	GET  /stats                               serverStats, with this process's CPU time
func serverChild(stdin io.Reader, stdout io.Writer) error {
	srv, err := newServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctl := &http.Server{Handler: newControl(srv), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ctl.Serve(ln) }()
	defer ctl.Close()
	if err := json.NewEncoder(stdout).Encode(hello{URL: srv.URL, Control: "http://" + ln.Addr().String()}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

type control struct {
	srv *server
	mu  sync.Mutex
	// rendered keeps every dataset rendered, by kind and size.
	rendered map[string]*dataset
}

func newControl(srv *server) http.Handler {
	c := &control{srv: srv, rendered: make(map[string]*dataset)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /load", c.load)
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		srv.resetConnections()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		st, _ := srv.stats()
		st.CPU = cpuTime()
		writeJSON(w, st)
	})
	return mux
}

func (c *control) load(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, ok := kindNamed(q.Get("kind"))
	n, err := strconv.Atoi(q.Get("n"))
	lat, lerr := time.ParseDuration(q.Get("latency"))
	if !ok || err != nil || n < 1 || lerr != nil {
		http.Error(w, "want kind, n and latency", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := k.name + "/" + strconv.Itoa(n)
	ds := c.rendered[key]
	if ds == nil {
		if ds, err = k.render(c.srv.URL, n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.rendered[key] = ds
	}
	c.srv.store(k.path, ds)
	c.srv.gzip.Store(q.Get("gzip") == "1")
	c.srv.latency.Store(int64(lat))
	writeJSON(w, ds.info())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func kindNamed(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}

func contenderNamed(name string) (contender, bool) {
	for _, c := range contenders() {
		if c.name == name {
			return c, true
		}
	}
	return contender{}, false
}

// remote is a server child, seen from a client child or the parent through
// its control port.
type remote struct {
	url, control string
	hc           *http.Client
}

func newRemote(url, control string) *remote {
	return &remote{url: url, control: control, hc: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Minute}}
}

func (r *remote) base() string { return r.url }

func (r *remote) reset() error { return r.call(http.MethodPost, "/reset", nil, nil) }

func (r *remote) stats() (st serverStats, err error) {
	err = r.call(http.MethodGet, "/stats", nil, &st)
	return st, err
}

// load makes the server serve k's listing of n items.
func (r *remote) load(k kind, n int, gz bool, latency time.Duration) (info dsInfo, err error) {
	q := url.Values{"kind": {k.name}, "n": {strconv.Itoa(n)}, "gzip": {"0"}, "latency": {latency.String()}}
	if gz {
		q.Set("gzip", "1")
	}
	err = r.call(http.MethodPost, "/load", q, &info)
	return info, err
}

func (r *remote) call(method, path string, q url.Values, out any) error {
	u := r.control + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("server control %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(body))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// result is what a client child writes on stdout, as one JSON object.
type result struct {
	Wall       time.Duration `json:"wall_ns"`
	CPU        time.Duration `json:"cpu_ns"`
	Allocs     uint64        `json:"allocs"`
	Bytes      uint64        `json:"bytes"`
	PeakHeap   uint64        `json:"peak_heap"`
	Conns      int           `json:"conns"`
	Used       int           `json:"used"`
	ServerCPU  time.Duration `json:"server_cpu_ns"`
	LivePeak   uint64        `json:"live_peak"`
	LiveMedian uint64        `json:"live_median"`
	// Items and Sum are what the consumer saw; the child has checked
	// them already, the parent checks them again.
	Items int   `json:"items"`
	Sum   int64 `json:"sum"`
}

// clientArgs is what a client child is told to do.
type clientArgs struct {
	url, control    string
	kind, contender string
	mode            string // "run" or "live"
	ds              dsInfo
	pause           time.Duration
	warmUp          float64
}

func (a clientArgs) flags() []string {
	return []string{
		"-url", a.url, "-control", a.control, "-kind", a.kind, "-contender", a.contender, "-mode", a.mode,
		"-items", strconv.Itoa(a.ds.Items), "-pages", strconv.Itoa(a.ds.Pages), "-sum", strconv.FormatInt(a.ds.Sum, 10),
		"-pause", a.pause.String(), "-warm-up", strconv.FormatFloat(a.warmUp, 'g', -1, 64),
	}
}

// clientChild warms up, then runs one contender on one listing once, checks
// it and writes its result.
func clientChild(ctx context.Context, args []string, stdout io.Writer) error {
	var a clientArgs
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.StringVar(&a.url, "url", "", "")
	fs.StringVar(&a.control, "control", "", "")
	fs.StringVar(&a.kind, "kind", "", "")
	fs.StringVar(&a.contender, "contender", "", "")
	fs.StringVar(&a.mode, "mode", "run", "")
	fs.IntVar(&a.ds.Items, "items", 0, "")
	fs.IntVar(&a.ds.Pages, "pages", 0, "")
	fs.Int64Var(&a.ds.Sum, "sum", 0, "")
	fs.DurationVar(&a.pause, "pause", 0, "")
	fs.Float64Var(&a.warmUp, "warm-up", 0, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, ok := kindNamed(a.kind)
	if !ok {
		return fmt.Errorf("unknown kind %q", a.kind)
	}
	c, ok := contenderNamed(a.contender)
	if !ok {
		return fmt.Errorf("unknown contender %q", a.contender)
	}
	t := newRemote(a.url, a.control)
	w := workload{name: k.name, ds: a.ds, pick: k.pick}
	if err := warmUp(ctx, t, w, c, a.warmUp); err != nil {
		return err
	}
	var res result
	switch a.mode {
	case "run":
		s, err := measure(ctx, t, w, c, a.pause)
		if err != nil {
			return err
		}
		res = result{Wall: s.wall, CPU: s.cpu, Allocs: s.allocs, Bytes: s.bytes, PeakHeap: s.peakHeap, Conns: s.conns, Used: s.used, ServerCPU: s.serverCPU, Items: s.items, Sum: s.sum}
	case "live":
		l, err := measureLive(ctx, t, w, c)
		if err != nil {
			return err
		}
		res = result{LivePeak: l.peak, LiveMedian: l.median, Items: l.items, Sum: l.sum}
	default:
		return fmt.Errorf("unknown mode %q", a.mode)
	}
	return json.NewEncoder(stdout).Encode(res)
}

// warmUp walks the first fraction of the listing (at least 10 pages, at
// most all of it) and stops there. The server must refuse nothing.
func warmUp(ctx context.Context, t target, w workload, c contender, fraction float64) error {
	if fraction <= 0 {
		return nil
	}
	limit := min(w.ds.Items, max(int(fraction*float64(w.ds.Items)), 10*perPage))
	if limit == w.ds.Items {
		return runChecked(ctx, t, w, c, &consumer{})
	}
	st0, err := t.stats()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons := &consumer{limit: limit, stop: cancel}
	err = w.pick(c)(wctx, t.base(), cons)
	if err != nil && (wctx.Err() == nil || cons.n < limit) {
		return fmt.Errorf("warm-up, %s on %s: %w", c.name, w.name, err)
	}
	st1, err := t.stats()
	if err != nil {
		return err
	}
	if n := st1.Refused - st0.Refused; n > 0 {
		return fmt.Errorf("warm-up, %s on %s: the server refused %d requests", c.name, w.name, n)
	}
	return nil
}

// procs is the parent's side of the default layout.
type procs struct {
	exe    string
	warmUp float64
	server *exec.Cmd
	stdin  io.WriteCloser
	*remote
}

// startProcs starts the server child.
func startProcs(warm float64) (*procs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=server")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &procs{exe: exe, warmUp: warm, server: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	var hi hello
	if err == nil {
		err = json.Unmarshal(line, &hi)
	}
	if err != nil {
		p.close()
		return nil, fmt.Errorf("starting the server child: %w", err)
	}
	p.remote = newRemote(hi.URL, hi.Control)
	return p, nil
}

// close tells the server child to stop, and kills it if it has not within
// 5 seconds.
func (p *procs) close() {
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.server.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.server.Process.Kill()
		<-done
	}
}

// run starts a client child and reads its result.
func (p *procs) run(ctx context.Context, a clientArgs) (result, error) {
	a.url, a.control, a.warmUp = p.url, p.control, p.warmUp
	cmd := exec.CommandContext(ctx, p.exe, a.flags()...)
	cmd.Env = append(os.Environ(), childEnv+"=client")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var res result
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return res, errors.New(msg)
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return res, fmt.Errorf("%s on %s: reading the client child's result %q: %w", a.contender, a.kind, stdout.String(), err)
	}
	want := a.ds.Sum
	if c, _ := contenderNamed(a.contender); !c.decodes {
		want = 0
	}
	if res.Items != a.ds.Items || res.Sum != want {
		return res, fmt.Errorf("%s on %s: the client child reports %d items (id sum %d), want %d (id sum %d)",
			a.contender, a.kind, res.Items, res.Sum, a.ds.Items, want)
	}
	return res, nil
}
