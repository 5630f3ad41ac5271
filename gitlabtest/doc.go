// Package gitlabtest provides an in-process fake GitLab that serves the
// Data management API, the project, group and snippet repository storage
// moves APIs, the Geo sites API and Sidekiq's queue metrics from memory,
// for testing tools built on package gitlabdata (or on any other GitLab
// client) without a GitLab instance.
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
//			gitlabdata.ScheduleAllStorageMovesRequest{SourceStorageName: "default", DestinationStorageName: gitlabdata.String("storage2")})
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
// Seed data with the Add methods ([Server.AddProject], [Server.AddFork],
// [Server.AddRecord], [Server.AddRecords] for volume, …) or start from
// [WithDemoData], or from [WithFleetDemo] for tools that rebalance
// storages. Inspect
// what the code under test sent with [Server.Requests], and provoke
// failures with [Server.FailNext], [Server.InjectFault] (scoped by method
// and path, with a status, a count, a latency and a Retry-After, 0
// included), [Server.RedirectNext], [Project]'s MoveFailure and
// CleanupFailure, and [Server.SetVerificationFailure]. Command gitlabfake
// (cmd/gitlabfake) serves the same fake on a fixed address for manual use
// and for tools in other languages.
//
// # Versions
//
// The fake answers like one GitLab version, [NewestVersion] (19.2) unless
// [WithVersion] says otherwise ([WithLegacy] is WithVersion 18.7). The
// versions fall into three eras ([Era]), read from GitLab's source:
//
//   - 18.3 to 18.7 ([EraSingular]): the 17 singular model names, integer
//     checksum_state, offset pagination without X-Total, X-Total-Pages or
//     rel="last", pagination=keyset, sort and cursor ignored, and a bulk
//     recalculation that ignores its filters and requeues every record
//     (18.3 has no bulk route at all, ignores the identifiers and
//     checksum_state filters, and takes integer record ids only; its
//     records are rendered like 18.4's, since GitLab's 18.3 entity was not
//     recovered).
//   - 18.8 and 18.9 ([EraPlural]): plural names, string checksum_state,
//     totals, keyset pagination, behind the feature flag.
//   - 18.10 and later ([EraGranular]): no feature flag, and granular token
//     permissions: a fine-grained token ([Token].Granular) without the
//     route's permission gets 403
//     {"error":"insufficient_granular_scope","error_description":"…"}
//     (on the Data management routes from 19.2 only, as below).
//
// Each release accepts its own set of model names ([ModelNamesOf]); any
// other name, including a name of a later release, answers 400
// {"error":"model_name does not have a valid value"}, unless accepted
// with [Server.AcceptModel]. The sets grow with Geo's replicators; only
// 18.9's and 19.2's are confirmed by GitLab's source, the others are
// inferred from the milestone of each replicator's metrics:
//
//   - 18.3 to 18.7: 17 singular names;
//   - 18.8: 19 plural names, 18.9's without packages_helm_metadata_caches
//     (inferred);
//   - 18.9: the 20 plural names of GitLab's OpenAPI enum
//     (packages_helm_metadata_caches, not
//     packages_debian_project_component_files);
//   - 18.10: 22, adding geo_abuse_report_uploads and geo_project_uploads
//     (inferred);
//   - 18.11: 26, adding the geo_*_uploads of achievements, design
//     management actions, groups and users (inferred);
//   - 19.0 and 19.1: 27, adding geo_bulk_import_export_upload_uploads
//     (inferred);
//   - 19.2 and later: all 44 names built from Geo's replicators (the 21
//     models, packages_debian_project_component_files included, plus 23
//     geo_*_uploads partitions).
//
// [ModelNames] gives the set of an era's newest release. Until 18.9 every
// Data management route sits behind the geo_primary_verification_view
// feature flag ([Server.SetFeatureFlag]): off, it answers 404
// {"message":"404 Not Found"} after authentication. GET /api/v4/version
// answers the version, such as {"version":"19.2.0-ee","revision":"<11 hex
// digits>",…}.
//
// GitLab checks granular permissions on the Data management routes
// (read_admin_data_management, update_admin_data_management) from 19.2
// only (corrections #1), and so does the fake; those of the storage moves
// routes from 18.10. Whether 18.10 still had the feature flag is not
// settled; the fake has none from 18.10.
//
// # Behaviour
//
// Requests are checked in GitLab's order: an unknown path, or a method no
// route serves there, answers the catch-all 404 {"error":"404 Not Found"}
// before authentication; then a missing or unknown token answers 401
// {"message":"401 Unauthorized"}, a fine-grained token without the
// route's permission 403 insufficient_granular_scope (18.10 and later),
// and a non-administrator's token 403 {"message":"403 Forbidden"}; then
// the feature flag; then parameters are validated (400 {"error":"…"}
// messages joined by ", "), and finally the endpoint runs (404 and 400
// {"message":…} bodies). The token is read from the PRIVATE-TOKEN header
// or an Authorization: Bearer header (not from a private_token query
// parameter). Every answer carries a unique X-Request-Id.
//
// GET /user answers the token's user ([Token].Username): for an
// administrator's token GitLab's UserWithAdmin entity, with "is_admin":
// true; for any other token the UserPublic entity, without an is_admin
// key, so that a missing is_admin means "not an administrator"
// (corrections #18); without a known token 401 {"message":"401
// Unauthorized"}. An administrator's token belongs to root (id 1) unless
// it names another user; any other token to a user of its own.
//
// Lists use offset pagination with X-Page, X-Per-Page, X-Next-Page,
// X-Prev-Page, X-Total, X-Total-Pages and a Link header (prev, next, first,
// last), whose hrefs carry the page size used (per_page=200 gives 100);
// above 10,000 matching records X-Total, X-Total-Pages and rel="last" are
// left out, as GitLab does. Data management listings with
// pagination=keyset answer X-NEXT-CURSOR with a Link rel="next" while a
// next page exists, and X-PREV-CURSOR while a previous one does; a cursor
// is padded URL-safe base64 of {"<key column>":"<value>","_kd":"n"} (or
// "p", which returns the page before the key). snippet_repositories are
// keyed by snippet_id and group_wiki_repositories by group_id, and both
// send a null created_at. An empty first page carries no pagination
// headers.
//
// Link hrefs and web_url fields use the URL of [WithExternalURL], as
// GitLab uses its configured host, or else http:// and the host the
// request was sent to.
//
// # Projects, groups and snippets
//
// For tools that drain a storage, the fake also serves the containers as
// GitLab does:
//
//   - GET /projects with repository_storage=NAME, include_pending_delete,
//     statistics=true (statistics.repository_size and wiki_size in
//     bytes), order_by and sort, offset pagination (405 past an offset of
//     50,000, as GitLab) or keyset pagination with
//     pagination=keyset&order_by=id: a Link rel="next" with id_after (or
//     id_before when descending) follows every non-empty page, the last
//     one included, and the page after the last is empty and carries none
//     (corrections #22). Projects pending deletion ([Project].PendingDelete)
//     are left out unless an administrator sends
//     include_pending_delete=true (corrections #19).
//   - GET /projects/:id by numeric id or URL-encoded full path; a project
//     pending deletion answers 404 {"message":"404 Project Not Found"},
//     to administrators too, while its storage moves work.
//   - GET /projects/:id/forks: the project's direct forks, with the
//     params, pagination (offset, or keyset with order_by=id) and headers
//     of GET /projects; 404 {"message":"404 Project Not Found"} for a
//     project the caller does not see.
//
// Forks are projects with a [Project].ForkedFromID, added with
// [Server.AddFork] (which puts a fork on its parent's storage) or
// [Server.AddProject]. The full project entity (GET /projects without
// simple=true, GET /projects/:id, the projects of GET /groups/:id) carries
// forks_count, the number of direct forks, and for a fork
// forked_from_project (GitLab's BasicProjectDetails entity of the parent,
// left out when the caller does not see the parent) and
// mr_default_target_self (false). With simple=true, GET /projects and
// /projects/:id/forks answer BasicProjectDetails: no statistics,
// empty_repo, archived or fork fields.
//   - GET /groups with repository_storage and statistics. A group's
//     statistics are the sums over its projects (those whose Namespace is
//     its Path): statistics.wiki_size is the sum of the projects' wikis
//     ([Project].WikiSize), not the group wiki, whose size GitLab shows
//     nowhere over REST, so neither does the fake (corrections #20).
//   - GET /groups/:id by numeric id or URL-encoded full path, as GitLab's
//     GroupDetail: with_projects (a Boolean, true by default) adds
//     "projects" (the group's projects the caller sees, newest id first,
//     at most 100, none pending deletion) and "shared_projects" (always
//     empty); 404 {"message":"404 Group Not Found"}.
//   - GET /snippets/all with repository_storage, newest first, and GET
//     /snippets/:id (numeric; 404 {"message":"404 Snippet Not Found"}).
//
// repository_storage is sent to administrators only; for a group it is
// its wiki's storage, null for a group without a wiki repository
// ([Group].NoWiki), which no repository_storage filter matches and whose
// moves finish having moved nothing (corrections #23). A
// non-administrator's repository_storage filter, and a blank one, are
// ignored. Non-administrators see what their visibility allows, in
// listings and by id alike.
//
// Seed projects with [Server.AddProject], [Server.AddProjects] or
// [WithProjects], groups and snippets with [Server.AddGroup],
// [Server.AddGroups], [Server.AddSnippet] and [Server.AddSnippets], and
// change them with [Server.UpdateProject] and [Server.UpdateGroup]:
// Broken makes every listing page that holds the project answer 500,
// NoRepository gives an empty repository, and StuckIn holds its moves in a
// state until [Server.SetStuckIn] releases them. Storage weights are read
// and set as GitLab's: GET and PUT /application/settings with
// repository_storages_weighted (the only setting the fake has; weights 0
// to 100, configured storages only).
//
// GitLab shows no storage's size over its API; the fake keeps one for
// tests and demos: [Server.SetStorageCapacity] (or the control plane's PUT
// /-/fake/storages/NAME with capacity_bytes) sets it, and
// [Server.Storages] (GET /-/fake/storages) reports each configured
// storage's weight, capacity (0 when none was set) and usage: the sum of
// statistics.repository_size of the projects on it, pending deletions
// included, which follows a project when its move reaches "replicated".
//
// [WithFleetDemo] seeds four storages filled to about 90, 75, 30 and 10%
// of their capacities, with projects of varied sizes and six fork
// networks, each on one storage (command gitlabfake -fleet).
//
// The fake stays fast with 100,000 projects and as many moves: seeding
// takes time linear in what is added; a page of GET /projects in id order
// (keyset, or offset with order_by=id), of GET /groups with order_by=id
// and of GET /snippets/all starts by binary search in an id index and
// walks the page plus the rows a filter skips (an offset page also walks
// the matching rows before it, unless no row is filtered out), with
// X-Total from counts kept per storage and visibility; a container by id
// or full path is a map lookup; a page of a storage move listing, a move
// by id and a container's moves cost what they return; and Step visits
// only the moves not yet in a terminal state. Other orders (GET /projects
// by created_at, its default, name or path; GET /groups by name, its
// default, or path) sort every matching container on each request.
//
// # Geo sites
//
// The instance is a Geo primary, Geo site 1 ("gitlab-primary", its url
// the external URL of [WithExternalURL] or the request's origin, with a
// trailing "/"), with the simulated secondaries of [WithGeoSecondaries]:
// sites 2 to n+1, "gitlab-secondary-1" at
// "http://secondary-1.gitlab.example/" and so on. There are none by
// default, one with [WithDemoData]; [Server.GeoSites] lists them. The fake
// serves, to administrators only, GET /geo_sites and GET
// /geo_sites/status (offset pagination, by site id), GET /geo_sites/:id
// and GET /geo_sites/:id/status (an unknown id answers 404
// {"message":"404 Not found"}, GitLab's RecordNotFound body, and a
// non-integer one 400 {"error":"id is invalid"}), with GitLab's GeoSite
// and GeoSiteStatus entities: keys in GitLab's order, the capacities of
// GitLab's database defaults (10, 10, 10 and 2), no selective sync, and
// absolute _links.
//
// A status is computed on every request. Its data types are the model
// names of the emulated release ([ModelNamesOf], the singular ones
// pluralized), named as Geo names them (projects gives
// project_repositories_*, ci_job_artifacts job_artifacts_*,
// geo_project_uploads project_uploads_*, …), in the order of GitLab 18.9's
// replicators, then the later ones alphabetically. The primary's
// <r>_count is the number of Data management records of the model,
// <r>_checksum_total_count those whose checksum state is not disabled,
// <r>_checksummed_count the succeeded and <r>_checksum_failed_count the
// failed ones (all four null for a model of [Server.DisableVerification],
// as GitLab collects nothing for a replicator without verification); its
// secondary-side keys are null, its percentages "0.00%", its replication
// slots one per secondary, all in use. Each secondary mirrors the primary
// fully synced and verified: <r>_count, _registry_count, _synced_count,
// _verification_total_count and _verified_count equal the primary's
// <r>_count, the failures are 0, the checksum keys null, the percentages
// "100.00%" ("0.00%" for an empty type, as GitLab divides by the registry
// count; the verification keys are null and verified "0.00%" for a model
// without verification), database replication lag 0 and the event cursor
// at the primary's last event. The event log is simulated: last_event_id counts
// the Data management records, the storage moves and the calls of
// [Server.Step] (null while all are 0), and last_event_timestamp is the
// fake's clock when a status first showed that id. The check time
// (last_successful_status_check_timestamp) and updated_at are the fake's
// clock at each request ([WithClock], [Server.AdvanceClock]), so every
// site is healthy unless told otherwise; version and revision are the
// emulated release's, as GET /version answers.
//
// [Server.OverrideGeoSiteStatus] (or PUT /-/fake/geo/sites/ID/status
// with a JSON object) merges keys into a site's status, in GitLab's key
// order, unknown keys at the end in alphabetical order: a key set to null
// drops its override and shows the computed value again, and the value
// {"null":true} makes the key null. Overrides stay until
// [Server.ResetGeoSiteStatus] (DELETE /-/fake/geo/sites/ID/status) and
// apply to the listing and to GET /geo_sites/:id/status alike. Nothing is
// derived from an overridden key: an unhealthy site needs healthy,
// health and health_status, a changed synced count its percentage.
// Without Geo
// ([WithoutGeo], [Server.SetGeo]) there are no sites: the listings answer
// [] and the rest 404.
//
// Where the fake differs from GitLab: the secondaries are simulated, not
// sites with their own database, registries or OAuth applications, and
// their status is computed at each request instead of reported once a
// minute; so the primary's status row and a secondary's never go stale
// on their own. There is no POST /geo/status, no POST /geo_sites, PUT
// or DELETE /geo_sites/:id or POST /geo_sites/:id/repair (the catch-all
// 404), no legacy /geo_nodes, no storage_shards key, no usage data but
// zeros, no Geo JWT authentication and no granular permission on these
// routes; the refresh param is checked as a Boolean and ignored, as
// GitLab does. Sites cannot be renamed or reconfigured. The data types
// follow the Data management model names, which can differ from a
// release's replicators: by their feature flags' milestones, 18.6 and
// 18.7 already had the packages_nuget_symbols replicator and 18.7 the
// supply_chain_attestations one (both off by default), whose keys the
// fake leaves out there. Each
// status request counts the records of the release's models, in time
// linear in their number.
//
// # Sidekiq
//
// GET /sidekiq/queue_metrics (administrators only, as GitLab's) answers
// {"queues":{"default":{"backlog":B,"latency":L},"mailers":{"backlog":0,"latency":0}}},
// the two queues of GitLab's default routing rules, which route every
// worker, the storage moves' included, to "default". B is the number of
// storage moves of every kind in state scheduled: a move's worker is
// enqueued when the move becomes scheduled and leaves the queue when it
// starts. L is how long, in whole seconds on the fake's clock
// ([WithClock], [Server.AdvanceClock]), the first of them to be enqueued
// has waited: since its created_at, or since the step that scheduled a
// move created in state initial. [Server.OverrideSidekiqQueue] (PUT
// /-/fake/sidekiq/queues/NAME) replaces the backlog, the latency or both
// of a queue, and adds a queue the fake does not list;
// [Server.ResetSidekiqQueue] (DELETE) drops the override. The fake has no
// other Sidekiq route (process_metrics, job_stats and compound_metrics
// answer the catch-all 404), no jobs but the moves, and one shard.
//
// # Control plane
//
// Besides the Go methods, the server answers HTTP control requests under
// /-/fake/, a path GitLab never uses, listed in [ControlEndpoints]: step
// the clock, inject and clear faults, set the default Retry-After, add
// tokens, switch the feature flag and Geo, override Geo site statuses and
// Sidekiq queues, list storages with their usage, set storage weights and
// capacities, change projects and groups, read and reset the request log.
// It refuses (400
// {"error":"…"}) what GitLab would not do or what cannot happen: a
// weight outside 0 to 100, a negative capacity, backlog or latency, a
// project or group on a storage that is not configured, a clock moved
// backwards, a fault whose status is not an error (1 to 399); and it
// never changes an existing token: adding one
// that exists with other values answers 409 (the Go methods keep taking
// such values: [Server.AddStorage] keeps a weight above 100,
// [Server.AdvanceClock] moves back, [Server.AddToken] replaces). They
// need no GitLab token. They are served on the fake's own listener only:
// a request that carries proxy headers (Forwarded, X-Forwarded-For,
// X-Forwarded-Host, X-Real-Ip) gets 403, so a reverse proxy in front of
// the fake does not expose them. Control requests are not recorded in the
// request log, and faults and latency do not apply to them.
//
// # Differences from GitLab
//
// The fake is faithful where GitLab's behaviour is specified and simple
// where it is not. Known differences:
//
//   - The instance is a Geo primary unless [WithoutGeo] or
//     [Server.SetGeo](false): then records carry no checksum_information,
//     a checksum_state filter answers 400 "<Class> is not a verifiable
//     model." and the checksum PUTs 400 "Endpoint only available on
//     primary site.". Its Geo secondaries are simulated (see "Geo sites").
//   - GitLab's background workers run synchronously: a bulk storage move
//     (ScheduleAll) creates its scheduled moves before the 202 answer, and
//     a bulk checksum recalculation marks its records pending before the
//     200 answer. After that, only Step (or the clock) advances them.
//   - A bulk storage move without a destination answers 202 and schedules
//     nothing: GitLab's bulk service passes an explicit nil destination,
//     which fails validation for every container (read
//     from the code, not observed).
//   - A per-container move without a destination picks one by weight, the
//     source storage included. Storage moves copy nothing and have no
//     Gitaly: a move succeeds unless the container has MoveFailure or
//     CleanupFailure set, and a move to the storage it is already on
//     finishes without moving (and without those failures), as GitLab's
//     does when both storages share a filesystem.
//   - Snippets without a repository can be moved; HasRepository only
//     controls ssh_url_to_repo and http_url_to_repo. GitLab would show
//     such a snippet's repository_storage as null and leave it out of a
//     repository_storage listing, as it does for a group without a wiki.
//   - A move of a group without a wiki repository takes a source picked
//     by weight, as GitLab's group.repository_storage does, and cannot
//     fail (MoveFailure and CleanupFailure do not apply to it).
//   - Composite primary keys exist on no released GitLab model, and the
//     demo data has none; the fake serves them for models added with
//     [Server.AddCompositeRecords], which accepts the model as
//     [Server.AcceptModel] does. Their keyset cursor holds the whole
//     base64 record identifier under "id".
//   - On 18.3 to 18.9 the feature flag is on by default (GitLab 18.3
//     shipped it off; 18.8 turned it on).
//   - The insufficient_granular_scope body's error_description is the
//     fake's own sentence naming the missing permission, and the answer
//     has no WWW-Authenticate header; GitLab's exact wording was not
//     read.
//   - A page reached by a forward cursor is taken to have a previous page
//     (X-PREV-CURSOR) and one reached by a backward cursor a next page,
//     as GitLab's keyset paginator assumes; a page past the end is empty
//     and carries no cursor headers.
//   - A malformed keyset cursor answers 500 {"message":"500 Internal
//     Server Error"}, which is what GitLab appears to do (it does not rescue
//     the decoding error); this is not confirmed on a live instance.
//   - Link queries repeat the request's params, the path params (id,
//     model_name) and the declared defaults (per_page, sort=asc, page=1 in
//     keyset links), sorted like Rails' to_query. GitLab builds them the same
//     way, but no GitLab test pins the full string.
//   - per_page is not capped in keyset mode, and a negative page or
//     per_page falls back to the default, as Kaminari does.
//   - Recalculating one record's checksum (PUT …/:id/checksum) accepts
//     integer ids only, as GitLab's route declares; composite records can
//     only be requeued in bulk.
//   - Apart from the model names, each era is emulated as one version:
//     differences between the minor releases inside an era are not
//     reproduced (for example, some
//     singular-name versions of GitLab's doc page show a string
//     checksum_state; the fake sends integers for all of 18.3 to 18.7).
//   - Verification failures set checksum_retry_at to 2^retries minutes
//     after the attempt (at most a week); GitLab adds jitter.
//   - Rate limiting exists only through FailNext(n, 429) and faults.
//     RateLimit-* headers are sent on those answers only; GitLab may send
//     them on every answer when throttling is enabled. A fault with
//     ApplicationLimit answers GitLab's application limit (corrections
//     #24) on any path it matches, with the Retry-After of the route's
//     limit where GitLab has one (600 s for GET /projects, 60 s for GET
//     /projects/:id, /groups and /groups/:id).
//   - The project, group and snippet objects carry a subset of GitLab's
//     entity fields (in GitLab's order): the identity and URL fields,
//     forks_count, the namespace, empty_repo, archived, visibility,
//     repository_storage, the fork fields and statistics for projects; id, web_url, name, path, description,
//     visibility, full_name, full_path, created_at, parent_id,
//     repository_storage and statistics for groups; the storage move's
//     snippet fields plus imported, imported_from and repository_storage
//     for snippets (no file_name or files). Only repository_size (and a
//     commit_count derived from it) and wiki_size are non-zero in
//     statistics. GET /groups/:id adds projects and shared_projects only
//     (no shared_with_groups, runners_token and the like). GET /user
//     carries the identity fields of UserPublic (and is_admin, note,
//     namespace_id and created_by of UserWithAdmin), without the profile
//     fields, sign-in times (null) or EE fields.
//   - Visibility is the only access rule: an administrator sees
//     everything, another user the public and internal projects, groups
//     and snippets, an anonymous client the public ones. There are no
//     memberships, archived projects or object pools. order_by
//     updated_at and last_activity_at sort by created_at.
//   - Forks are made and unlinked from Go only (no POST or DELETE
//     /projects/:id/fork), and nothing keeps a fork network on one
//     storage: each project moves on its own, as the fake has no object
//     pools to replicate. forked_from_project follows repository_storage,
//     as in GitLab, and mr_default_target_self follows it directly, where
//     GitLab sends other keys between them.
//   - Users exist only as tokens' owners and as snippet authors
//     ([Server.AddUser]); avatar_url is null. Being an administrator is a
//     property of the token ([Token].Admin), not of the user, and there is
//     no Admin Mode: a token without Admin is a non-administrator's. A
//     user's namespace_id is the id the fake gives the namespace of that
//     name. Projects, groups and snippets cannot be created, changed or
//     deleted through the API (deletion exists only as PendingDelete, set
//     by the test), and project and group paths are flat
//     ("namespace/project", "group").
package gitlabtest
