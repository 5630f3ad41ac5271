package gitlabtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// Move a project to another storage and follow the move through GitLab's
// states, one Step at a time.
func Example() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	srv.AddStorage("storage2", 50)
	id := srv.AddProject(gitlabtest.Project{Name: "Website", Namespace: "acme"})

	ctx := context.Background()
	client := srv.Client()
	move, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, id,
		gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(move.Project.PathWithNamespace, move.State)
	for range 3 {
		srv.Step()
		move, _, err = client.ProjectRepositoryStorageMoves.Get(ctx, move.ID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(move.State)
	}
	p, _ := srv.Project(id)
	fmt.Println("now on", p.Storage)
	// Output:
	// acme/website scheduled
	// started
	// replicated
	// finished
	// now on storage2
}

// Recalculate checksums in bulk and watch a record that fails verification.
func Example_dataManagement() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	first := srv.AddRecords(gitlabdata.ModelLFSObjects, 3, gitlabdata.ChecksumStateSucceeded)
	srv.SetVerificationFailure(gitlabdata.ModelLFSObjects, gitlabdata.IntRecordID(first+1), "Checksum does not match")

	ctx := context.Background()
	client := srv.Client()
	if _, _, err := client.DataManagement.RecalculateChecksums(ctx, gitlabdata.ModelLFSObjects, gitlabdata.RecalculateChecksumsRequest{AllowAllRecords: true}); err != nil {
		log.Fatal(err)
	}
	srv.Step() // pending → started
	srv.Step() // started → succeeded or failed
	for rec, err := range client.DataManagement.All(ctx, gitlabdata.ModelLFSObjects, nil) {
		if err != nil {
			log.Fatal(err)
		}
		ci := rec.ChecksumInformation
		if ci.ChecksumFailure != nil {
			fmt.Println(rec.RecordIdentifier, ci.ChecksumState, *ci.ChecksumFailure)
		} else {
			fmt.Println(rec.RecordIdentifier, ci.ChecksumState)
		}
	}
	// Output:
	// 1 succeeded
	// 2 failed Checksum does not match
	// 3 succeeded
}

// Make the next request fail the way GitLab's rate limiter does.
func ExampleServer_FailNext() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, 429)
	_, _, err = client.ProjectRepositoryStorageMoves.List(context.Background(), nil)
	fmt.Println(err != nil, srv.Requests()[0].Status)
	// Output: true 429
}

// Throttle one listing request with Retry-After: 0, so that a client that
// retries does so at once and the test does not wait.
func ExampleServer_InjectFault() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	srv.InjectFault(gitlabtest.Fault{
		Method: "GET", Path: "/api/v4/project_repository_storage_moves",
		Status: 429, Count: 1, RetryAfter: gitlabtest.Seconds(0),
	})
	client, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 2}))
	if err != nil {
		log.Fatal(err)
	}

	_, _, err = client.ProjectRepositoryStorageMoves.List(context.Background(), nil)
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Status)
	}
	fmt.Println(err)
	// Output:
	// GET /api/v4/project_repository_storage_moves 429
	// GET /api/v4/project_repository_storage_moves 200
	// <nil>
}

// Emulate GitLab 18.9, whose Data management API is behind a feature flag,
// and switch the flag off.
func ExampleWithVersion() {
	v, err := gitlabtest.ParseVersion("18.9")
	if err != nil {
		log.Fatal(err)
	}
	srv := gitlabtest.NewServer(gitlabtest.WithVersion(v))
	defer srv.Close()
	srv.SetFeatureFlag("geo_primary_verification_view", false)
	client := srv.Client()

	_, _, err = client.DataManagement.List(context.Background(), gitlabdata.ModelUploads, nil)
	fmt.Println(srv.Version(), v.Era(), err != nil, srv.Requests()[0].Status)
	// Output: 18.9.0-ee 18.8-18.9 true 404
}
