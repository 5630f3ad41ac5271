package gitlabdata_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Options for an ops tool: a bound per attempt, a log record per attempt
// (here without the fields that change from run to run), and the storage
// move that the fake's demo data holds first.
func ExampleWithLogger() {
	srv := gitlabtest.NewServer(gitlabtest.WithDemoData())
	defer srv.Close()

	quiet := func(_ []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey, "duration", "request_id":
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: quiet}))
	client, err := gitlabdata.NewClient(srv.URL(), srv.Token(),
		gitlabdata.WithTimeout(10*time.Second),
		gitlabdata.WithLogger(logger),
		gitlabdata.WithUserAgent("storage-janitor/1.0"))
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = client.ProjectRepositoryStorageMoves.Get(context.Background(), 999)
	fmt.Println(errors.Is(err, gitlabdata.ErrNotFound))
	// Output:
	// level=WARN msg="gitlabdata request" method=GET path=/api/v4/project_repository_storage_moves/999 attempt=1 status=404 error="404 Not found"
	// true
}
