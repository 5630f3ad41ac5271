// Command gitlabfake serves the gitlabtest fake GitLab over HTTP, so that
// tools and scripts can be tried against the Data management and
// repository storage moves APIs without a GitLab instance.
//
// Usage:
//
//	go run ./cmd/gitlabfake -listen 127.0.0.1:8080
//
// It prints the URL and the administrator's token, seeds the demo instance
// (unless -demo=false), and runs until interrupted (SIGINT or SIGTERM).
//
// Flags:
//
//	-listen addr     address to listen on (default 127.0.0.1:8080)
//	-demo            seed the demo instance (default true)
//	-records N       add N extra records to every documented model
//	-projects N      add N extra projects on the "default" storage
//	-legacy          behave like GitLab 18.3 to 18.7 (singular model names, integer checksum_state)
//	-latency d       delay every request by d (for example 20ms)
//	-step d          advance storage moves and checksums every d (default 2s; 0 disables)
//	-token t         administrator token (default: random)
//	-seed n          seed for random choices (default: random)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "gitlabfake:", err)
		os.Exit(2)
	}
}

// run parses args, serves until ctx ends, and then shuts the server down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gitlabfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	demo := fs.Bool("demo", true, "seed the demo instance")
	records := fs.Int("records", 0, "extra records per documented model")
	projects := fs.Int("projects", 0, `extra projects on the "default" storage`)
	legacy := fs.Bool("legacy", false, "behave like GitLab 18.3 to 18.7")
	latency := fs.Duration("latency", 0, "delay added to every request")
	step := fs.Duration("step", 2*time.Second, "interval of the background clock (0 disables it)")
	token := fs.String("token", "", "administrator token (default: random)")
	seed := fs.Uint64("seed", 0, "seed for random choices (default: random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case *records < 0:
		return fmt.Errorf("-records must not be negative")
	case *projects < 0:
		return fmt.Errorf("-projects must not be negative")
	case *latency < 0 || *step < 0:
		return fmt.Errorf("-latency and -step must not be negative")
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	opts := []gitlabtest.ServerOption{
		gitlabtest.WithListener(l), gitlabtest.WithLatency(*latency), gitlabtest.WithStepInterval(*step),
	}
	if *demo {
		opts = append(opts, gitlabtest.WithDemoData())
	}
	if *legacy {
		opts = append(opts, gitlabtest.WithLegacy())
	}
	if *token != "" {
		opts = append(opts, gitlabtest.WithAdminToken(*token))
	}
	if isFlagSet(fs, "seed") {
		opts = append(opts, gitlabtest.WithSeed(*seed))
	}
	srv := gitlabtest.NewServer(opts...)
	defer srv.Close()
	if *projects > 0 {
		srv.AddProjects(*projects, "default")
	}
	if n := *records; n > 0 {
		for _, model := range gitlabtest.ModelNames(gitlabtest.NewestVersion.Era()) {
			// Mostly verified records, with some pending and failed ones.
			srv.AddRecords(model, n-n/5, gitlabdata.ChecksumStateSucceeded)
			srv.AddRecords(model, n/10, gitlabdata.ChecksumStatePending)
			srv.AddRecords(model, n/5-n/10, gitlabdata.ChecksumStateFailed)
		}
	}

	fmt.Fprintf(stdout, "gitlabfake serving %s/api/v4\n", srv.URL())
	fmt.Fprintf(stdout, "admin token: %s\n", srv.Token())
	fmt.Fprintf(stdout, "try: curl -H 'PRIVATE-TOKEN: %s' %s/api/v4/project_repository_storage_moves\n", srv.Token(), srv.URL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "gitlabfake stopping")
	return nil
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
