package gitlabdata_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"
	"time"

	"github.com/gitlabdata/gitlabdata"
	"github.com/gitlabdata/gitlabdata/gitlabtest"
)

// List every LFS object whose checksum failed, across all pages.
func ExampleDataManagementService_All() {
	srv := gitlabtest.NewServer() // a fake GitLab; use your instance's URL and token
	defer srv.Close()
	srv.AddRecords(gitlabdata.ModelLFSObjects, 250, gitlabdata.ChecksumStateSucceeded)
	srv.AddRecord(gitlabdata.ModelLFSObjects, gitlabdata.ModelRecord{ChecksumInformation: &gitlabdata.ChecksumInformation{
		ChecksumState: gitlabdata.ChecksumStateFailed, ChecksumFailure: gitlabdata.String("Checksum does not match"),
	}})
	gitlabURL, token, ctx := srv.URL(), srv.Token(), context.Background()

	client, err := gitlabdata.NewClient(gitlabURL, token)
	if err != nil {
		log.Fatal(err)
	}
	failed := &gitlabdata.ListModelRecordsOptions{ChecksumState: gitlabdata.ChecksumStateFailed}
	for rec, err := range client.DataManagement.All(ctx, gitlabdata.ModelLFSObjects, failed) {
		if err != nil {
			log.Fatal(err) // the loop stops after the first error
		}
		fmt.Println(rec.RecordIdentifier, rec.ChecksumState(), rec.ChecksumFailure()) // nil-safe: GitLab may omit checksum_information
	}
	// Output: 251 failed Checksum does not match
}

// Fetch one page at a time and resume from the cursor GitLab returned, as a
// job that stops and restarts would.
func ExampleDataManagementService_List() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	srv.AddRecords(gitlabdata.ModelUploads, 5, gitlabdata.ChecksumStateSucceeded)
	client := srv.Client()
	ctx := context.Background()

	opts := &gitlabdata.ListModelRecordsOptions{Pagination: gitlabdata.PaginationKeyset, PerPage: 2}
	for {
		records, resp, err := client.DataManagement.List(ctx, gitlabdata.ModelUploads, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(records), "records, more:", resp.NextCursor != "")
		if resp.NextCursor == "" {
			break
		}
		opts.Cursor = resp.NextCursor // save it to resume later
	}
	// Output:
	// 2 records, more: true
	// 2 records, more: true
	// 1 records, more: false
}

// Recalculate the checksums of every failed record of a model.
func ExampleDataManagementService_RecalculateChecksums() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	srv.AddRecords(gitlabdata.ModelUploads, 3, gitlabdata.ChecksumStateFailed)
	client := srv.Client()

	_, _, err := client.DataManagement.RecalculateChecksums(context.Background(), gitlabdata.ModelUploads,
		gitlabdata.RecalculateChecksumsRequest{ChecksumState: gitlabdata.ChecksumStateFailed})
	fmt.Println(err)
	// Output: <nil>
}

// Schedule a move and wait for it to end.
func ExampleProjectRepositoryStorageMovesService_Wait() {
	srv := gitlabtest.NewServer(gitlabtest.WithStepInterval(10 * time.Millisecond))
	defer srv.Close()
	srv.AddStorage("storage2", 50)
	id := srv.AddProject(gitlabtest.Project{Name: "Website", Namespace: "acme"})
	client := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	move, _, err := client.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, id,
		gitlabdata.ScheduleStorageMoveRequest{DestinationStorageName: gitlabdata.String("storage2")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(move.Project.PathWithNamespace, move.State)
	move, err = client.ProjectRepositoryStorageMoves.Wait(ctx, move.ID,
		&gitlabdata.WaitOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
	if errors.Is(err, gitlabdata.ErrMoveFailed) {
		log.Fatalf("move failed: %v", err)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(move.State, "on", move.DestinationStorageName)
	// Output:
	// acme/website scheduled
	// finished on storage2
}

// Tell GitLab's answers apart with errors.Is and read their details with
// errors.As.
func ExampleAPIError() {
	srv := gitlabtest.NewServer()
	defer srv.Close()
	srv.AddStorage("storage2", 50)
	id := srv.AddProject(gitlabtest.Project{ReadOnly: true}) // a move is under way
	client := srv.Client()
	ctx := context.Background()

	_, _, err := client.ProjectRepositoryStorageMoves.Get(ctx, 999)
	fmt.Println(errors.Is(err, gitlabdata.ErrNotFound))

	_, _, err = client.ProjectRepositoryStorageMoves.ScheduleForProject(ctx, id, gitlabdata.ScheduleStorageMoveRequest{})
	var apiErr *gitlabdata.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message, apiErr.Fields["project"])
	}

	_, _, err = client.DataManagement.Get(ctx, "LFS_OBJECTS", gitlabdata.IntRecordID(1))
	fmt.Println(errors.Is(err, gitlabdata.ErrInvalidArgument))
	// Output:
	// true
	// 400 project is read-only [is read-only]
	// true
}

// Build the id of a record whose primary key has several columns.
func ExampleCompositeRecordID() {
	id := gitlabdata.CompositeRecordID("12", "34")
	parts, _ := id.Parts()
	fmt.Println(id, parts)
	// Output: MTIgMzQ= [12 34]
}

// Check every secondary's sync and verification of every data type: a
// data type the SDK does not know is counted too, and a null count stays
// nil.
func ExampleGeoSitesService_AllStatus() {
	srv := gitlabtest.NewServer(gitlabtest.WithGeoSecondaries(1)) // a fake primary and one secondary
	defer srv.Close()
	srv.AddRecords(gitlabdata.ModelLFSObjects, 40, gitlabdata.ChecksumStateSucceeded)
	srv.OverrideGeoSiteStatus(2, map[string]any{"lfs_objects_failed_count": 2, "lfs_objects_synced_count": 38})
	client, ctx := srv.Client(), context.Background()

	for st, err := range client.GeoSites.AllStatus(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		d := st.DataTypes["lfs_objects"]
		if d.SyncedCount == nil { // the primary counts what it holds, not what it synced
			fmt.Printf("site %d: %d lfs_objects, %d checksum failures\n", st.GeoSiteID, *d.Count, *d.ChecksumFailedCount)
			continue
		}
		fmt.Printf("site %d (%s): %d of %d synced, %d failed; model %s\n", st.GeoSiteID, st.HealthStatus,
			*d.SyncedCount, *d.RegistryCount, *d.FailedCount, gitlabdata.DataTypeModel("lfs_objects"))
	}
	// Output:
	// site 1: 40 lfs_objects, 0 checksum failures
	// site 2 (Healthy): 38 of 40 synced, 2 failed; model lfs_objects
}

// Watch the backlog of storage moves: GitLab's default routing sends their
// jobs to the "default" queue, where they wait until a Sidekiq worker
// starts them.
func ExampleSidekiqService_QueueMetrics() {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	srv := gitlabtest.NewServer(gitlabtest.WithClock(func() time.Time { return start }))
	defer srv.Close()
	srv.AddStorage("storage2", 100)
	srv.AddProjects(3, "default")
	client, ctx := srv.Client(), context.Background()
	_, err := client.ProjectRepositoryStorageMoves.ScheduleAll(ctx, gitlabdata.ScheduleAllStorageMovesRequest{
		SourceStorageName: "default", DestinationStorageName: gitlabdata.String("storage2"),
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.AdvanceClock(90 * time.Second) // no worker has started them yet

	metrics, _, err := client.Sidekiq.QueueMetrics(ctx)
	if err != nil {
		log.Fatal(err) // a token that is not an administrator's gets 403
	}
	for _, name := range slices.Sorted(maps.Keys(metrics.Queues)) {
		q := metrics.Queues[name]
		fmt.Printf("%s: %d waiting, the oldest for %s\n", name, q.Backlog, q.Latency)
	}
	// Output:
	// default: 3 waiting, the oldest for 1m30s
	// mailers: 0 waiting, the oldest for 0s
}
