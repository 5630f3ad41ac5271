// Package gitlabdata is a Go client for GitLab's instance-data admin APIs:
// the Data management API (Geo data records, their checksums, checksum
// recalculation) and the repository storage moves APIs (moving project,
// group wiki and snippet repositories between Gitaly storages), with the
// Geo sites' status ([Client.GeoSites]) and the backlog of Sidekiq's
// queues ([Client.Sidekiq]), where storage moves wait to start.
//
// Create one [Client] per process and share it:
//
//	client, err := gitlabdata.NewClient("https://gitlab.example.com", os.Getenv("GITLAB_TOKEN"))
//	if err != nil {
//		return err
//	}
//	for rec, err := range client.DataManagement.All(ctx, gitlabdata.ModelLFSObjects, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(rec.RecordIdentifier, rec.ChecksumState()) // "" when GitLab omits checksum_information
//	}
//
// Every method takes a [context.Context] first; cancelling it ends the
// request, any wait before a retry, and any iteration.
//
// # Authentication
//
// Both APIs need an administrator's token (with admin mode, where the
// instance enables it). A personal access token is sent in the PRIVATE-TOKEN
// header; with [WithOAuthToken] the token is an OAuth 2 access token, sent
// as "Authorization: Bearer". A token of a user who is not an administrator
// gets 403 ([ErrForbidden]); a missing, unknown, expired or revoked token
// gets 401 ([ErrUnauthorized]). Both errors say what token GitLab wants
// ([APIError.Hint]).
//
// # Options
//
// [NewClient] takes options: [WithTimeout] bounds each attempt of a request
// (default [DefaultTimeout], whatever http.Client [WithHTTPClient] brings);
// [WithRetry] sets the [RetryPolicy]; [WithLogger] logs one record per
// attempt to a log/slog logger (quiet without it); [WithOAuthToken],
// [WithUserAgent] and [WithPrefetch] do what they say.
//
// Limits combine like this: a request makes at most MaxAttempts attempts,
// each bounded by the timeout, with waits between them of at most MaxDelay;
// the context's deadline bounds the whole. Give long jobs a context with a
// deadline or a cancel on SIGINT.
//
// # Endpoints this package does not wrap
//
// [Client.Do] calls any endpoint of GitLab's REST API with the Client's
// token, retries, error model and origin rules, such as GET /projects for
// the projects on a storage. [Client.Version] reads GET /version.
//
// # Pagination
//
// Each listing has two methods. List fetches one page and returns a
// [Response] whose NextPage (offset) or NextCursor (keyset) lets a job
// resume later. All returns an [iter.Seq2] over every item across pages:
//
//   - it is lazy: no request is sent until the loop runs;
//   - it can be ranged again, and each range starts from the options given;
//   - it stops after the first error, which it yields with a nil item, so
//     check err first in the loop body;
//   - breaking out of the loop sends no further request;
//   - it follows Link rel="next" when GitLab sends it, else X-Next-Page,
//     refuses a next link that points outside the client's base URL, and
//     reports an error instead of looping when a page does not advance.
//
// DataManagementService.All asks for keyset pagination, which GitLab 18.8
// and later serve for every model; older servers answer with offset pages
// and All follows those. To collect everything in memory:
//
//	var moves []*gitlabdata.ProjectRepositoryStorageMove
//	for m, err := range client.ProjectRepositoryStorageMoves.All(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		moves = append(moves, m)
//	}
//
// Items decoded from one page share a few allocations, which keeps
// streaming cheap: a record or move kept after the loop moves on keeps its
// page's memory (tens of KiB) alive. Tools that keep a few items out of
// millions can copy the fields they need.
//
// # Errors
//
// Input that GitLab would refuse, or that cannot be sent safely, fails
// before any request with an error wrapping [ErrInvalidArgument]. Every
// answer other than 2xx becomes an [*APIError] with the status, GitLab's
// message (its three error body shapes flattened to one line, field errors
// kept in Fields), and the request id. It matches the sentinels
// [ErrNotFound], [ErrUnauthorized], [ErrForbidden] and [ErrRateLimited]:
//
//	_, _, err := client.ProjectRepositoryStorageMoves.Get(ctx, 42)
//	if errors.Is(err, gitlabdata.ErrNotFound) {
//		// no such move
//	}
//	var apiErr *gitlabdata.APIError
//	if errors.As(err, &apiErr) {
//		log.Printf("GitLab said %q (request id %s)", apiErr.Message, apiErr.RequestID)
//	}
//
// A request that got no answer says so, with the method, path and number of
// attempts; it unwraps to the *url.Error of net/http (without the host). A
// done context gives an error wrapping ctx.Err().
//
// # Retries and rate limits
//
// The client retries by its [RetryPolicy] (3 attempts by default): GET on
// 429, 502, 503, 504, transient network errors and timed-out attempts; POST
// and PUT only on 429,
// since GitLab has no idempotency keys and a retried POST could schedule a
// second storage move. It waits as long as Retry-After or RateLimit-Reset
// asks, up to MaxDelay, else a jittered exponential pause. Every wait ends
// when the context does. Response.Rate carries the RateLimit-* headers.
//
// # Security
//
// The token is sent only to the scheme, host and port of the base URL: the
// client refuses redirects elsewhere (net/http would forward PRIVATE-TOKEN to
// any host) and refuses next-page links elsewhere. The token never appears
// in an error, a log record, a URL, or the output of fmt's %v and %+v on a
// Client; query values that look secret are redacted in errors and logs.
// Error bodies are read up to 64 KiB.
//
// # Emptying a storage
//
// Package drain (github.com/gitlabdata/gitlabdata/drain) empties a Gitaly
// storage end to end on top of this package: discovery, a plan and dry run,
// a bound on running moves, budgets, re-attaching to moves under way,
// retries, a watchdog, verification, rounds until empty, and a journal to
// resume from.
//
// # Testing with gitlabtest
//
// Package gitlabtest starts an in-process fake GitLab that serves both APIs
// from memory, so tools built on this package can be tested without a GitLab
// instance.
package gitlabdata
