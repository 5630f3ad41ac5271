// Package gitlabtest provides an in-process fake GitLab that serves the
// Data management API and the project, group and snippet repository
// storage moves APIs from memory, for testing tools built on package
// gitlabdata (or on any other GitLab client) without a GitLab instance.
//
// The server answers with GitLab's paths, JSON bodies, status codes, error
// bodies and pagination headers, as described in the project's notes on
// GitLab's source. Storage moves and checksum recalculations run through
// GitLab's state machines, one state per call of [Server.Step] (or per tick
// of [WithStepInterval]), so tests stay deterministic.
//
// # Usage
//
//	func TestEvacuate(t *testing.T) {
//		srv := gitlabtest.NewServer(gitlabtest.WithSeed(1))
//		defer srv.Close()
//		srv.AddStorage("storage2", 50)
//		ids := srv.AddProjects(3, "default")
//
//		client, err := srv.NewClient(gitlabdata.WithRetry(gitlabdata.RetryPolicy{MaxAttempts: 1}))
//		if err != nil {
//			t.Fatal(err)
//		}
//		_, err = client.ProjectRepositoryStorageMoves.ScheduleAll(t.Context(),
//			gitlabdata.ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: gitlabdata.Ptr("storage2")})
//		if err != nil {
//			t.Fatal(err)
//		}
//		srv.Step() // scheduled → started
//		srv.Step() // started → replicated: the project is on storage2
//		srv.Step() // replicated → finished
//		if p, _ := srv.Project(ids[0]); p.Storage != "storage2" {
//			t.Errorf("project %d is on %q", ids[0], p.Storage)
//		}
//	}
//
// Seed data with the Add methods ([Server.AddProject], [Server.AddRecord],
// [Server.AddRecords] for volume, …) or start from [WithDemoData]. Inspect
// what the code under test sent with [Server.Requests], and provoke
// failures with [Server.FailNext], [Server.RedirectNext], [Project]'s
// MoveFailure and CleanupFailure, and [Server.SetVerificationFailure].
// Command gitlabfake (cmd/gitlabfake) serves the same fake on a fixed
// address for manual use.
//
// # Behaviour
//
// Requests are checked in GitLab's order: an unknown path answers 404
// {"error":"404 Not Found"} and a known path with another method 405, both
// before authentication (GitLab's catch-all route does not authenticate);
// then a missing or unknown token answers 401 {"message":"401 Unauthorized"}
// and a non-administrator's token 403 {"message":"403 Forbidden"}; then
// parameters are validated (400 {"error":"…"} messages joined by ", "), and
// finally the endpoint runs (404 and 400 {"message":…} bodies). The token is
// read from the PRIVATE-TOKEN header or an Authorization: Bearer header
// (not from a private_token query parameter).
// Every answer carries a unique X-Request-Id.
//
// Lists use offset pagination with X-Page, X-Per-Page, X-Next-Page,
// X-Prev-Page, X-Total, X-Total-Pages and a Link header (prev, next, first,
// last); above 10,000 matching records X-Total, X-Total-Pages and
// rel="last" are left out, as GitLab does. Data management listings with
// pagination=keyset answer a Link rel="next" with a cursor instead, and no
// Link on the last page.
//
// # Differences from GitLab
//
// The fake is faithful where GitLab's behaviour is specified and simple
// where it is not. Known differences:
//
//   - There is no Geo secondary site: checksum recalculation never answers
//     "Endpoint only available on primary site.", and Geo is always
//     enabled, so records carry checksum_information unless
//     [Server.DisableVerification] was called for their model.
//   - GitLab's background workers run synchronously: a bulk storage move
//     (ScheduleAll) creates its scheduled moves before the 202 answer, and
//     a bulk checksum recalculation marks its records pending before the
//     200 answer. After that, only Step (or the clock) advances them.
//   - Storage moves copy nothing and have no Gitaly: a move succeeds unless
//     the container has MoveFailure or CleanupFailure set. A move to the
//     storage it is already on is allowed and finishes, as GitLab's is when
//     both storages share a filesystem.
//   - The destination picked when none is given uses GitLab's weighted
//     choice; a bulk move without a destination picks one per container
//     (GitLab's behaviour there is unsettled, and may fail every move).
//   - Snippets without a repository can be moved; HasRepository only
//     controls ssh_url_to_repo and http_url_to_repo.
//   - The keyset cursor is padded URL-safe base64 of
//     {"id":"<key>","_kd":"n"}, like GitLab's, where <key> is the integer
//     id or, for composite keys, the whole base64 record identifier (GitLab
//     names the first key column instead). The Link sends order_by=id for
//     every model. Only forward cursors exist.
//   - A malformed keyset cursor answers 500 {"message":"500 Internal
//     Server Error"}, which is what GitLab appears to do (it does not rescue
//     the decoding error); this is not confirmed on a live instance.
//   - Link hrefs and web_url fields use the scheme http and the host the
//     request was sent to, where GitLab uses its configured external URL.
//     Link queries repeat the request's params, the path params (id,
//     model_name) and the declared defaults (per_page, sort=asc, page=1 in
//     keyset links), sorted like Rails' to_query. GitLab builds them the same
//     way, but no GitLab test pins the full string.
//   - per_page is not capped in keyset mode, and a negative page or
//     per_page falls back to the default, as Kaminari does.
//   - Recalculating one record's checksum (PUT …/:id/checksum) accepts
//     integer ids only, as GitLab's route declares; composite records can
//     only be requeued in bulk.
//   - Legacy mode ([WithLegacy]) imitates GitLab 18.3–18.7 as one version:
//     singular model names, integer checksum_state, no totals, and a bulk
//     recalculation that ignores identifiers and checksum_state and requeues
//     every record, as the first versions did.
//   - Verification failures set checksum_retry_at to 2^retries minutes
//     after the attempt (at most a week); GitLab adds jitter.
//   - Rate limiting exists only through FailNext(n, 429). RateLimit-*
//     headers are sent on those answers only; GitLab may send them on every
//     answer when throttling is enabled.
//   - Users exist only as tokens and as snippet authors; avatar_url is
//     null. Projects, groups and snippets cannot be created, changed or
//     deleted through the API, and project and group paths are flat
//     ("namespace/project", "group").
//   - GET /api/v4/version is served (to any user) with version 18.8.0-ee,
//     or 18.7.0-ee in legacy mode; no other GitLab endpoint exists.
package gitlabtest
