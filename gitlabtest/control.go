package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// controlPrefix is where the control plane lives: a path GitLab's routes
// never use (GitLab's own "/-/" paths are for the web UI and health
// checks, not "/-/fake").
const controlPrefix = "/-/fake"

// ControlEndpoints documents the HTTP control plane, one line per endpoint
// ("METHOD PATH  what it does"), as command gitlabfake prints it in -h.
const ControlEndpoints = `GET    /-/fake/                          this list, as JSON
POST   /-/fake/step                      advance moves and checksums n states, after moving the clock
                                         forward; body {"n":3,"advance":"1h"} (default n 1, advance 0)
GET    /-/fake/faults                    the scoped faults still active
POST   /-/fake/faults                    add a fault; body {"method":"GET","path":"/api/v4/projects/**",
                                         "status":429,"count":1,"latency":"250ms","retry_after":0}; status
                                         400-599, or 0 to answer normally after the latency; add
                                         "application_limit":true (status 429) for GitLab's JSON application
                                         rate limit, whose Retry-After is the route's interval by default;
                                         "after_serving":true serves the request, then answers the status
                                         (an answer lost on the way: a POST's move is still scheduled)
DELETE /-/fake/faults                    remove every fault
PUT    /-/fake/retry_after               default Retry-After of a 429; body {"seconds":0}
POST   /-/fake/tokens                    add a token; body {"token":"t","admin":false,"username":"alice",
                                         "granular":true,"permissions":["read_admin_data_management"]};
                                         409 if the token exists with other values (no change)
PUT    /-/fake/feature_flags/NAME        body {"enabled":false} (geo_primary_verification_view, 18.3-18.9)
PUT    /-/fake/geo                       body {"enabled":false}: an instance without Geo (and without Geo sites)
PUT    /-/fake/geo/sites/ID/status       merge keys into Geo site ID's status (1 the primary, 2.. the secondaries);
                                         body {"healthy":false,"health":"Geo database configuration file is
                                         missing.","db_replication_lag_seconds":120}; a key set to null drops its
                                         override (back to the computed value), {"null":true} makes the key null;
                                         answers the overrides in effect
DELETE /-/fake/geo/sites/ID/status       drop every override of site ID's status
GET    /-/fake/storages                  every storage by name: [{"name":"default","weight":100,
                                         "capacity_bytes":0,"used_bytes":5242880}]; used_bytes sums the
                                         repository_size of its projects, capacity_bytes is 0 unless set
PUT    /-/fake/storages/NAME             add a storage or set its weight and capacity; body {"weight":0} (0-100),
                                         {"capacity_bytes":10737418240}, or both (a new storage needs its weight)
PUT    /-/fake/projects/ID               change a project; body (each field optional) {"broken":true,
                                         "no_repository":true,"pending_delete":true,"stuck_in":"started",
                                         "move_failure":"text","cleanup_failure":"text",
                                         "repository_size":1048576,"wiki_size":4096,"storage":"default"}
                                         (storage: a configured one)
PUT    /-/fake/groups/ID                 change a group; body (each field optional) {"no_wiki":true,
                                         "stuck_in":"started","move_failure":"text","cleanup_failure":"text",
                                         "storage":"default"} (storage: a configured one, not with no_wiki)
PUT    /-/fake/sidekiq/queues/NAME       override a queue of GET /api/v4/sidekiq/queue_metrics; body
                                         {"latency":SECONDS,"backlog":N}, either key optional (left out: the
                                         computed value); a queue the fake does not list is added
DELETE /-/fake/sidekiq/queues/NAME       drop the queue's override (404 if it has none)
PUT    /-/fake/stuck/KIND/ID             hold or release moves of a project, group or snippet
                                         (KIND projects, groups, snippets); body {"state":"started"} or {"state":""}
GET    /-/fake/requests                  the request log (GitLab API requests only), oldest first
DELETE /-/fake/requests                  forget the request log`

// controlFault is a Fault on the wire of the control plane.
type controlFault struct {
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Status     int    `json:"status,omitempty"`
	AppLimit   bool   `json:"application_limit,omitempty"`
	After      bool   `json:"after_serving,omitempty"`
	Count      int    `json:"count,omitempty"`
	Latency    string `json:"latency,omitempty"`
	RetryAfter *int   `json:"retry_after,omitempty"`
}

// controlRequest is a RecordedRequest on the wire of the control plane.
type controlRequest struct {
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Query     string    `json:"query"`
	Body      string    `json:"body"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
	Time      time.Time `json:"time"`
}

// serveControl serves the control plane. It needs no token: it is served
// only to clients that reach the fake's listener directly, and a request
// that carries proxy headers (Forwarded, X-Forwarded-For,
// X-Forwarded-Host, X-Real-Ip) gets 403, so that putting the fake behind a
// reverse proxy does not expose it. Its requests are not recorded in the
// request log and bypass latency and faults.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			controlError(w, http.StatusForbidden, "the control plane answers only direct clients of the fake's listener")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	decode := func(v any) bool { return decodeControl(w, body, v) }
	// decodeEnabled reads {"enabled":true|false}, the body of every switch.
	decodeEnabled := func() (enabled, ok bool) {
		var in struct {
			Enabled *bool `json:"enabled"`
		}
		if !decode(&in) {
			return false, false
		}
		if in.Enabled == nil {
			controlError(w, http.StatusBadRequest, `body must be {"enabled":true} or {"enabled":false}`)
			return false, false
		}
		return *in.Enabled, true
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.EscapedPath(), controlPrefix), "/")
	rest = strings.TrimSuffix(rest, "/")
	name, sub, _ := strings.Cut(rest, "/")
	route := r.Method + " " + name
	if sub != "" {
		route += "/:name"
	}
	switch route {
	case "GET ":
		var lines []string
		for _, l := range strings.Split(ControlEndpoints, "\n") {
			if !strings.HasPrefix(l, " ") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
		}
		controlJSON(w, http.StatusOK, map[string]any{"version": s.cfg.version.String(), "era": s.era().String(), "endpoints": lines})
	case "POST step":
		var in struct {
			N       *int   `json:"n"`
			Advance string `json:"advance"`
		}
		if !decode(&in) {
			return
		}
		var advance time.Duration
		if in.Advance != "" {
			d, err := time.ParseDuration(in.Advance)
			if err != nil {
				controlError(w, http.StatusBadRequest, fmt.Sprintf("advance %q is not a duration such as 1h", in.Advance))
				return
			}
			if d < 0 {
				controlError(w, http.StatusBadRequest, fmt.Sprintf("advance %q is negative: the clock only moves forward", in.Advance))
				return
			}
			advance = d
		}
		n := 1
		if in.N != nil {
			n = *in.N
		}
		if n < 0 || n > 1_000_000 {
			controlError(w, http.StatusBadRequest, "n must be between 0 and 1000000")
			return
		}
		s.AdvanceClock(advance)
		for range n {
			s.Step()
		}
		controlJSON(w, http.StatusOK, map[string]any{"steps": n, "now": s.now().UTC()})
	case "GET faults":
		out := []controlFault{}
		for _, f := range s.Faults() {
			out = append(out, toControlFault(f))
		}
		controlJSON(w, http.StatusOK, out)
	case "POST faults":
		var in controlFault
		if !decode(&in) {
			return
		}
		f := Fault{Method: in.Method, Path: in.Path, Status: in.Status, Count: in.Count, RetryAfter: in.RetryAfter, ApplicationLimit: in.AppLimit, AfterServing: in.After}
		if in.Latency != "" {
			d, err := time.ParseDuration(in.Latency)
			if err != nil || d < 0 {
				controlError(w, http.StatusBadRequest, fmt.Sprintf("latency %q is not a duration such as 250ms", in.Latency))
				return
			}
			f.Latency = d
		}
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) || f.Count < 0 || (f.RetryAfter != nil && *f.RetryAfter < 0) {
			controlError(w, http.StatusBadRequest, "status must be 400-599 (or 0 to answer normally after the latency), count and retry_after must not be negative")
			return
		}
		if f.AfterServing && f.Status == 0 {
			controlError(w, http.StatusBadRequest, "after_serving needs a status")
			return
		}
		if f.ApplicationLimit && f.Status != http.StatusTooManyRequests {
			controlError(w, http.StatusBadRequest, "application_limit needs status 429")
			return
		}
		if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
			controlError(w, http.StatusBadRequest, `path must start with "/", such as /api/v4/projects`)
			return
		}
		s.InjectFault(f)
		controlJSON(w, http.StatusCreated, toControlFault(f))
	case "DELETE faults":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "PUT retry_after":
		var in struct {
			Seconds *int `json:"seconds"`
		}
		if !decode(&in) {
			return
		}
		if in.Seconds == nil || *in.Seconds < 0 {
			controlError(w, http.StatusBadRequest, `body must be {"seconds":N} with N >= 0`)
			return
		}
		s.SetRetryAfter(*in.Seconds)
		controlJSON(w, http.StatusOK, map[string]int{"seconds": *in.Seconds})
	case "POST tokens":
		var in struct {
			Token       string   `json:"token"`
			Admin       bool     `json:"admin"`
			Granular    bool     `json:"granular"`
			Permissions []string `json:"permissions"`
			Username    string   `json:"username"`
		}
		if !decode(&in) {
			return
		}
		if in.Token == "" {
			controlError(w, http.StatusBadRequest, "token must not be empty")
			return
		}
		ti, created, ok := s.addTokenOnce(Token{Token: in.Token, Admin: in.Admin, Granular: in.Granular, Permissions: in.Permissions, Username: in.Username})
		if !ok {
			// The token is not echoed: it is a secret.
			controlError(w, http.StatusConflict, "the token already exists with other values (admin, granular, permissions or username); tokens are never changed, add another one")
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		controlJSON(w, status, map[string]any{"token": in.Token, "admin": ti.admin, "granular": ti.granular, "username": ti.username})
	case "PUT feature_flags/:name":
		enabled, ok := decodeEnabled()
		if !ok {
			return
		}
		if !s.SetFeatureFlag(sub, enabled) {
			controlError(w, http.StatusNotFound, fmt.Sprintf("GitLab %s has no feature flag %q", s.cfg.version, sub))
			return
		}
		controlJSON(w, http.StatusOK, map[string]any{"name": sub, "enabled": enabled})
	case "PUT geo":
		enabled, ok := decodeEnabled()
		if !ok {
			return
		}
		s.SetGeo(enabled)
		controlJSON(w, http.StatusOK, map[string]bool{"enabled": enabled})
	case "PUT geo/:name", "DELETE geo/:name":
		s.controlGeoStatus(w, r.Method, sub, body)
	case "PUT sidekiq/:name", "DELETE sidekiq/:name":
		s.controlSidekiq(w, r.Method, sub, body)
	case "GET storages":
		controlJSON(w, http.StatusOK, s.Storages())
	case "PUT storages/:name":
		var in struct {
			Weight   *int   `json:"weight"`
			Capacity *int64 `json:"capacity_bytes"`
		}
		if !decode(&in) {
			return
		}
		known := s.storageKnown(sub)
		switch {
		case in.Weight == nil && in.Capacity == nil:
			controlError(w, http.StatusBadRequest, `body must be {"weight":N} with N from 0 to 100, {"capacity_bytes":N}, or both`)
			return
		case in.Weight != nil && (*in.Weight < 0 || *in.Weight > 100):
			controlError(w, http.StatusBadRequest, `body must be {"weight":N} with N from 0 to 100, as GitLab's setting takes`)
			return
		case in.Weight == nil && !known:
			controlError(w, http.StatusBadRequest, fmt.Sprintf(`storage %q is not configured: add it with its weight, {"weight":N,"capacity_bytes":N}`, sub))
			return
		case in.Capacity != nil && *in.Capacity < 0:
			controlError(w, http.StatusBadRequest, `capacity_bytes must not be negative (0: no capacity)`)
			return
		}
		if in.Weight != nil {
			s.AddStorage(sub, *in.Weight)
		}
		if in.Capacity != nil {
			s.SetStorageCapacity(sub, *in.Capacity)
		}
		s.mu.Lock()
		st, _ := s.storageUsageLocked(sub)
		s.mu.Unlock()
		controlJSON(w, http.StatusOK, st)
	case "PUT projects/:name":
		var in struct {
			Broken         *bool   `json:"broken"`
			NoRepository   *bool   `json:"no_repository"`
			PendingDelete  *bool   `json:"pending_delete"`
			StuckIn        *string `json:"stuck_in"`
			MoveFailure    *string `json:"move_failure"`
			CleanupFailure *string `json:"cleanup_failure"`
			RepositorySize *int64  `json:"repository_size"`
			WikiSize       *int64  `json:"wiki_size"`
			Storage        *string `json:"storage"`
		}
		if !decode(&in) {
			return
		}
		id, err := strconv.ParseInt(sub, 10, 64)
		switch {
		case !validStuckIn(in.StuckIn):
			controlError(w, http.StatusBadRequest, `stuck_in must be "initial", "scheduled", "started" or ""`)
			return
		case in.RepositorySize != nil && *in.RepositorySize < 0 || in.WikiSize != nil && *in.WikiSize < 0:
			controlError(w, http.StatusBadRequest, "repository_size and wiki_size must not be negative")
			return
		case in.Storage != nil && !s.storageKnown(*in.Storage):
			controlError(w, http.StatusBadRequest, fmt.Sprintf("storage %q is not a configured storage (add it with PUT /-/fake/storages/NAME)", *in.Storage))
			return
		}
		var out Project
		found := err == nil && s.UpdateProject(id, func(p *Project) {
			set(&p.Broken, in.Broken)
			set(&p.NoRepository, in.NoRepository)
			set(&p.PendingDelete, in.PendingDelete)
			set(&p.StuckIn, in.StuckIn)
			set(&p.MoveFailure, in.MoveFailure)
			set(&p.CleanupFailure, in.CleanupFailure)
			set(&p.RepositorySize, in.RepositorySize)
			set(&p.WikiSize, in.WikiSize)
			set(&p.Storage, in.Storage)
		})
		if found {
			out, _ = s.Project(id) // as UpdateProject left it
		}
		if !found {
			controlError(w, http.StatusNotFound, "no project "+sub)
			return
		}
		controlJSON(w, http.StatusOK, map[string]any{
			"id": out.ID, "broken": out.Broken, "no_repository": out.NoRepository, "pending_delete": out.PendingDelete,
			"stuck_in": out.StuckIn, "move_failure": out.MoveFailure, "cleanup_failure": out.CleanupFailure,
			"repository_size": out.RepositorySize, "wiki_size": out.WikiSize, "storage": out.Storage,
		})
	case "PUT groups/:name":
		var in struct {
			NoWiki         *bool   `json:"no_wiki"`
			StuckIn        *string `json:"stuck_in"`
			MoveFailure    *string `json:"move_failure"`
			CleanupFailure *string `json:"cleanup_failure"`
			Storage        *string `json:"storage"`
		}
		if !decode(&in) {
			return
		}
		id, err := strconv.ParseInt(sub, 10, 64)
		switch {
		case !validStuckIn(in.StuckIn):
			controlError(w, http.StatusBadRequest, `stuck_in must be "initial", "scheduled", "started" or ""`)
			return
		case in.Storage != nil && in.NoWiki != nil && *in.NoWiki:
			controlError(w, http.StatusBadRequest, "a group without a wiki repository (no_wiki) has no storage")
			return
		case in.Storage != nil && !s.storageKnown(*in.Storage):
			controlError(w, http.StatusBadRequest, fmt.Sprintf("storage %q is not a configured storage (add it with PUT /-/fake/storages/NAME)", *in.Storage))
			return
		}
		var out Group
		found := err == nil && s.UpdateGroup(id, func(g *Group) {
			set(&g.NoWiki, in.NoWiki)
			set(&g.StuckIn, in.StuckIn)
			set(&g.MoveFailure, in.MoveFailure)
			set(&g.CleanupFailure, in.CleanupFailure)
			if in.Storage != nil {
				g.Storage, g.NoWiki = *in.Storage, false
			}
		})
		if found {
			out, _ = s.Group(id) // as UpdateGroup left it
		}
		if !found {
			controlError(w, http.StatusNotFound, "no group "+sub)
			return
		}
		controlJSON(w, http.StatusOK, map[string]any{
			"id": out.ID, "no_wiki": out.NoWiki, "stuck_in": out.StuckIn, "move_failure": out.MoveFailure,
			"cleanup_failure": out.CleanupFailure, "storage": out.Storage,
		})
	case "PUT stuck/:name":
		var in struct {
			State *string `json:"state"`
		}
		if !decode(&in) {
			return
		}
		kind, idText, _ := strings.Cut(sub, "/")
		id, err := strconv.ParseInt(idText, 10, 64)
		if in.State == nil || err != nil || !s.SetStuckIn(kind, id, *in.State) {
			controlError(w, http.StatusNotFound, `want PUT /-/fake/stuck/{projects|groups|snippets}/ID of an existing container with {"state":"initial|scheduled|started|"}`)
			return
		}
		controlJSON(w, http.StatusOK, map[string]any{"kind": kind, "id": id, "state": *in.State})
	case "GET requests":
		out := []controlRequest{}
		for _, rr := range s.Requests() {
			out = append(out, controlRequest{
				Method: rr.Method, Path: rr.Path, Query: rr.RawQuery, Body: string(rr.Body),
				Status: rr.Status, RequestID: rr.RequestID, Time: rr.Time.UTC(),
			})
		}
		controlJSON(w, http.StatusOK, out)
	case "DELETE requests":
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	default:
		controlError(w, http.StatusNotFound, "no control endpoint "+r.Method+" "+r.URL.EscapedPath()+"; GET "+controlPrefix+"/ lists them")
	}
}

// decodeControl decodes a control request's JSON body into v, refusing
// unknown keys; an empty body leaves v alone. On an error it answers 400
// and returns false.
func decodeControl(w http.ResponseWriter, body []byte, v any) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// validStuckIn reports whether a stuck_in value, if given, is a state a
// move can be held in.
func validStuckIn(v *string) bool {
	return v == nil || slices.Contains([]string{"", string(moveInitial), string(moveScheduled), string(moveStarted)}, *v)
}

// storageKnown reports whether name is a configured storage.
func (s *Server) storageKnown(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storageKnownLocked(name)
}

// addTokenOnce adds t unless a token with its secret exists. An existing
// token with the same values is fine (created false); one with other
// values is left alone (ok false): the control plane never demotes or
// changes a token.
func (s *Server) addTokenOnce(t Token) (ti tokenInfo, created, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, exists := s.tokens[t.Token]
	if !exists {
		return s.addTokenLocked(t), true, true
	}
	same := prev.admin == t.Admin && prev.granular == t.Granular &&
		(t.Username == "" || t.Username == prev.username)
	if same {
		a, b := slices.Clone(prev.perms), slices.Clone(t.Permissions)
		slices.Sort(a)
		slices.Sort(b)
		same = slices.Equal(slices.Compact(a), slices.Compact(b))
	}
	return prev, false, same
}

// set copies *v into *dst when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func toControlFault(f Fault) controlFault {
	c := controlFault{Method: f.Method, Path: f.Path, Status: f.Status, AppLimit: f.ApplicationLimit, After: f.AfterServing, Count: f.Count, RetryAfter: f.RetryAfter}
	if f.Latency > 0 {
		c.Latency = f.Latency.String()
	}
	return c
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(mustJSON(v), '\n'))
}

func controlError(w http.ResponseWriter, status int, msg string) {
	controlJSON(w, status, map[string]string{"error": msg})
}

// APIEndpoints documents the GitLab routes the fake serves under /api/v4,
// one line per route, as command gitlabfake prints it in -h.
const APIEndpoints = `GET  /version                                          version of the emulated GitLab, e.g. {"version":"18.9.0-ee",...}
GET  /admin/data_management/:model_name                offset or keyset (pagination=keyset) listing
GET  /admin/data_management/:model_name/:id            one record (integer or base64 composite id)
PUT  /admin/data_management/:model_name/:id/checksum   recalculate one checksum (integer id)
PUT  /admin/data_management/:model_name/checksum       queue a bulk recalculation (18.4 and later)
GET  /project_repository_storage_moves[/:move_id]      and the same for group_ and snippet_
POST /project_repository_storage_moves                 bulk schedule: {"source_storage_name","destination_storage_name"}
GET  /projects/:id/repository_storage_moves[/:move_id] and /groups/:id/..., /snippets/:id/...
POST /projects/:id/repository_storage_moves            schedule one move: {"destination_storage_name"} (optional)
GET  /user                                             the token's user; "is_admin":true for an administrator only
GET  /projects                                         repository_storage= and include_pending_delete=true (admins),
                                                       statistics=true, order_by, sort, offset paging or
                                                       pagination=keyset&order_by=id (id_after links),
                                                       simple=true (BasicProjectDetails); a fork carries
                                                       forked_from_project, every project forks_count
GET  /projects/:id                                     numeric id or URL-encoded full path; statistics=true
GET  /projects/:id/forks                               the direct forks; the params, paging and headers of GET /projects
GET  /groups                                           repository_storage= and statistics=true (admins); offset paging
GET  /groups/:id                                       numeric id or URL-encoded full path; with_projects=false
GET  /snippets/all                                     repository_storage= (admins); offset paging, newest first
GET  /snippets/:id                                     one snippet (numeric id)
GET  /application/settings                             repository_storages_weighted (the only setting)
PUT  /application/settings                             repository_storages_weighted[NAME]=0..100 (or a JSON object)
GET  /geo_sites                                        the primary (id 1) and the simulated secondaries; offset paging
GET  /geo_sites/:id                                    one site; unknown id 404 {"message":"404 Not found"}
GET  /geo_sites/status                                 one status per site, by site id; offset paging
GET  /geo_sites/:id/status                             the primary counts the Data management records, each secondary
                                                       is fully synced and verified (PUT /-/fake/geo/sites/ID/status)
GET  /sidekiq/queue_metrics                            queues default (backlog: the scheduled storage moves, latency:
                                                       the oldest one's wait in seconds) and mailers (0 and 0);
                                                       override them with PUT /-/fake/sidekiq/queues/NAME`
