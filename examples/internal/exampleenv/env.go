// Package exampleenv connects the example programs to a GitLab instance, or
// to the embedded fake GitLab (gitlabtest, seeded with demo data) when
// GITLAB_URL is not set, so every example runs with nothing but Go.
package exampleenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Env is what an example talks to.
type Env struct {
	Client *gitlabdata.Client
	// Fake is the embedded fake GitLab, or nil against a real instance.
	Fake *gitlabtest.Server
}

// Close stops the fake GitLab, if one was started.
func (e *Env) Close() {
	if e.Fake != nil {
		e.Fake.Close()
	}
}

// Connect uses GITLAB_URL and GITLAB_TOKEN when GITLAB_URL is set, and
// otherwise starts the fake with demo data plus fakeOpts. It says on w which
// one it uses.
func Connect(w io.Writer, fakeOpts []gitlabtest.ServerOption, opts ...gitlabdata.ClientOption) (*Env, error) {
	if url := os.Getenv("GITLAB_URL"); url != "" {
		token := os.Getenv("GITLAB_TOKEN")
		if token == "" {
			return nil, errors.New("GITLAB_URL is set but GITLAB_TOKEN is empty: set it to an administrator's personal access token")
		}
		client, err := gitlabdata.NewClient(url, token, opts...)
		if err != nil {
			return nil, fmt.Errorf("GITLAB_URL: %w", err)
		}
		fmt.Fprintf(w, "Using GitLab at %s\n", client.BaseURL())
		return &Env{Client: client}, nil
	}
	fake := gitlabtest.NewServer(append([]gitlabtest.ServerOption{gitlabtest.WithDemoData()}, fakeOpts...)...)
	client, err := gitlabdata.NewClient(fake.URL(), fake.Token(), opts...)
	if err != nil {
		fake.Close()
		return nil, err
	}
	fmt.Fprintf(w, "GITLAB_URL is not set: using the embedded fake GitLab (gitlabtest, demo data) at %s\n", fake.URL())
	return &Env{Client: client, Fake: fake}, nil
}

// Interruptible returns a context that ends at the first Ctrl-C (or
// SIGTERM), so that a tool stops cleanly and says what it did; a second
// one ends the program at once, as the signal's default does.
func Interruptible() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}
