package gitlabtest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxProjectOffset is GitLab's offset limit for project listings.
const maxProjectOffset = 50_000

// groupProjectsLimit is how many projects GET /groups/:id shows
// (GroupProjectsFinder::DEFAULT_PROJECTS_LIMIT).
const groupProjectsLimit = 100

// matchContainers routes the project, group and snippet listings and
// lookups; nil means none matched.
func (s *Server) matchContainers(c *call, segs []string) map[string]handler {
	n := len(segs)
	switch {
	case n == 1 && segs[0] == "projects":
		return map[string]handler{http.MethodGet: {fn: s.listProjects, public: true}}
	case n == 2 && segs[0] == "projects" && segs[1] != "":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.getProject(c, segs[1]) }, public: true}}
	case n == 3 && segs[0] == "projects" && segs[1] != "" && segs[2] == "forks":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.listForks(c, segs[1]) }, public: true}}
	case n == 1 && segs[0] == "groups":
		return map[string]handler{http.MethodGet: {fn: s.listGroups, public: true}}
	case n == 2 && segs[0] == "groups" && segs[1] != "":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.getGroup(c, segs[1]) }, public: true}}
	case n == 2 && segs[0] == "snippets" && segs[1] == "all":
		return map[string]handler{http.MethodGet: {fn: s.listAllSnippets, anyUser: true}}
	case n == 2 && segs[0] == "snippets" && segs[1] != "":
		c.pathParams = [][2]string{{"id", segs[1]}}
		return map[string]handler{http.MethodGet: {fn: func(c *call) { s.getSnippet(c, segs[1]) }, public: true}}
	}
	return nil
}

// visible says whether the caller sees something of visibility v:
// administrators see everything, users the public and internal ones,
// anonymous clients the public ones. (The fake has no memberships.)
func (c *call) visible(v string) bool {
	switch {
	case c.admin:
		return true
	case c.user:
		return v == "public" || v == "internal"
	}
	return v == "public"
}

// boolParam reads a Grape Boolean (false when absent), adding "<key> is
// invalid" for a value that is not one.
func boolParam(q map[string][]string, key string, errs *paramErrors) bool {
	return boolParamOr(q, key, false, errs)
}

// boolParamOr reads a Grape Boolean with a default.
func boolParamOr(q map[string][]string, key string, def bool, errs *paramErrors) bool {
	v, present := last(q, key)
	if !present || v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "t":
		return true
	case "false", "0", "no", "f":
		return false
	}
	errs.add(key + " is invalid")
	return def
}

// optString is a JSON string field that is left out (the zero value, with
// the omitzero option), sent as null, or sent as a string.
type optString struct {
	set bool
	val *string
}

func shown(v *string) optString { return optString{set: true, val: v} }

func (o optString) IsZero() bool { return !o.set }

func (o optString) MarshalJSON() ([]byte, error) {
	if o.val == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*o.val)
}

// Wire forms of the container entities, in GitLab's key order (a subset of
// GitLab's fields: those a tool that drains a storage needs).
type (
	wireNamespace struct {
		ID        int64   `json:"id"`
		Name      string  `json:"name"`
		Path      string  `json:"path"`
		Kind      string  `json:"kind"`
		FullPath  string  `json:"full_path"`
		ParentID  *int64  `json:"parent_id"`
		AvatarURL *string `json:"avatar_url"`
		WebURL    string  `json:"web_url"`
	}
	wireProjectStats struct {
		CommitCount           int64 `json:"commit_count"`
		StorageSize           int64 `json:"storage_size"`
		RepositorySize        int64 `json:"repository_size"`
		WikiSize              int64 `json:"wiki_size"`
		LFSObjectsSize        int64 `json:"lfs_objects_size"`
		JobArtifactsSize      int64 `json:"job_artifacts_size"`
		PipelineArtifactsSize int64 `json:"pipeline_artifacts_size"`
		PackagesSize          int64 `json:"packages_size"`
		SnippetsSize          int64 `json:"snippets_size"`
		UploadsSize           int64 `json:"uploads_size"`
		ContainerRegistrySize int64 `json:"container_registry_size"`
	}
	// wireProjectHead is the keys GitLab's project entities (basic and
	// full) begin with, in their order.
	wireProjectHead struct {
		ID                int64    `json:"id"`
		Description       *string  `json:"description"`
		Name              string   `json:"name"`
		NameWithNamespace string   `json:"name_with_namespace"`
		Path              string   `json:"path"`
		PathWithNamespace string   `json:"path_with_namespace"`
		CreatedAt         jsonTime `json:"created_at"`
		DefaultBranch     *string  `json:"default_branch"`
		TagList           []string `json:"tag_list"`
		Topics            []string `json:"topics"`
		SSHURLToRepo      string   `json:"ssh_url_to_repo"`
		HTTPURLToRepo     string   `json:"http_url_to_repo"`
		WebURL            string   `json:"web_url"`
		ReadmeURL         *string  `json:"readme_url"`
		ForksCount        int      `json:"forks_count"`
		AvatarURL         *string  `json:"avatar_url"`
		StarCount         int      `json:"star_count"`
		LastActivityAt    jsonTime `json:"last_activity_at"`
	}
	wireFullProject struct {
		wireProjectHead
		Namespace         wireNamespace `json:"namespace"`
		EmptyRepo         bool          `json:"empty_repo"`
		Archived          bool          `json:"archived"`
		Visibility        string        `json:"visibility"`
		RepositoryStorage string        `json:"repository_storage,omitempty"`
		// ForkedFromProject and MRDefaultTargetSelf are sent for a fork
		// only (forked_from_project when the caller sees the parent).
		ForkedFromProject   *wireBasicProject `json:"forked_from_project,omitempty"`
		MRDefaultTargetSelf *bool             `json:"mr_default_target_self,omitempty"`
		Statistics          *wireProjectStats `json:"statistics,omitempty"`
	}
	wireGroupStats struct {
		StorageSize           int64 `json:"storage_size"`
		RepositorySize        int64 `json:"repository_size"`
		WikiSize              int64 `json:"wiki_size"`
		LFSObjectsSize        int64 `json:"lfs_objects_size"`
		JobArtifactsSize      int64 `json:"job_artifacts_size"`
		PipelineArtifactsSize int64 `json:"pipeline_artifacts_size"`
		PackagesSize          int64 `json:"packages_size"`
		SnippetsSize          int64 `json:"snippets_size"`
		UploadsSize           int64 `json:"uploads_size"`
	}
	wireFullGroup struct {
		ID          int64    `json:"id"`
		WebURL      string   `json:"web_url"`
		Name        string   `json:"name"`
		Path        string   `json:"path"`
		Description string   `json:"description"`
		Visibility  string   `json:"visibility"`
		FullName    string   `json:"full_name"`
		FullPath    string   `json:"full_path"`
		CreatedAt   jsonTime `json:"created_at"`
		ParentID    *int64   `json:"parent_id"`
		// RepositoryStorage is the wiki's shard, shown to administrators
		// only, null for a group without a wiki repository.
		RepositoryStorage optString       `json:"repository_storage,omitzero"`
		Statistics        *wireGroupStats `json:"statistics,omitempty"`
	}
	// wireGroupDetail is GET /groups/:id (GroupDetail).
	wireGroupDetail struct {
		wireFullGroup
		Projects       *[]wireFullProject `json:"projects,omitempty"`
		SharedProjects *[]wireFullProject `json:"shared_projects,omitempty"`
	}
	wireFullSnippet struct {
		*wireSnippet
		Imported          bool   `json:"imported"`
		ImportedFrom      string `json:"imported_from"`
		RepositoryStorage string `json:"repository_storage,omitempty"`
	}
)

// wireFullProjectLocked renders a project as GET /projects does; web is
// the origin for URLs.
func (s *Server) wireFullProjectLocked(c *call, web string, p *Project, stats bool) wireFullProject {
	out := s.projectFieldsLocked(c, web, p, stats)
	s.addForkFieldsLocked(c, web, p, &out)
	return out
}

// projectFieldsLocked renders the fields of a project that do not depend
// on its fork network (forks_count aside).
func (s *Server) projectFieldsLocked(c *call, web string, p *Project, stats bool) wireFullProject {
	host := hostOf(web)
	full := p.Namespace + "/" + p.Path
	out := wireFullProject{
		wireProjectHead: wireProjectHead{
			ID: p.ID, Description: nullable(p.Description), Name: p.Name,
			NameWithNamespace: p.Namespace + " / " + p.Name, Path: p.Path, PathWithNamespace: full,
			CreatedAt: jsonTime(p.CreatedAt), TagList: []string{}, Topics: []string{},
			SSHURLToRepo: "git@" + host + ":" + full + ".git", HTTPURLToRepo: web + "/" + full + ".git",
			WebURL: web + "/" + full, ForksCount: s.forksCountLocked(p.ID), LastActivityAt: jsonTime(p.CreatedAt),
		},
		Namespace: wireNamespace{
			ID: s.namespaceIDLocked(p.Namespace), Name: p.Namespace, Path: p.Namespace, Kind: "group",
			FullPath: p.Namespace, WebURL: web + "/groups/" + p.Namespace,
		},
		EmptyRepo: p.NoRepository, Visibility: p.Visibility,
	}
	if !p.NoRepository {
		out.DefaultBranch = nullable("main")
		out.ReadmeURL = nullable(web + "/" + full + "/-/blob/main/README.md")
	}
	if c.admin {
		out.RepositoryStorage = p.Storage
		if stats {
			out.Statistics = &wireProjectStats{
				CommitCount: p.RepositorySize / (64 << 10), StorageSize: p.RepositorySize + p.WikiSize,
				RepositorySize: p.RepositorySize, WikiSize: p.WikiSize,
			}
		}
	}
	return out
}

// wireFullGroupLocked renders a group as GET /groups does: its
// repository_storage for administrators, and with stats its statistics,
// the sums over its projects (GitLab's Namespace.with_statistics).
func (s *Server) wireFullGroupLocked(c *call, web string, g *Group, stats bool) wireFullGroup {
	out := wireFullGroup{
		ID: g.ID, WebURL: web + "/groups/" + g.Path, Name: g.Name, Path: g.Path, Description: g.Description,
		Visibility: g.Visibility, FullName: g.Name, FullPath: g.Path, CreatedAt: jsonTime(g.CreatedAt),
	}
	if c.admin {
		out.RepositoryStorage = shown(nullable(g.Storage))
		if stats {
			var repo, wiki int64
			if ns := s.namespaces[g.Path]; ns != nil {
				repo, wiki = ns.repositorySize, ns.wikiSize
			}
			out.Statistics = &wireGroupStats{StorageSize: repo + wiki, RepositorySize: repo, WikiSize: wiki}
		}
	}
	return out
}

// namespaceIDLocked is the id of the group with path ns, or a stable id
// above the groups' for a namespace that is not a group.
func (s *Server) namespaceIDLocked(ns string) int64 {
	var id int64
	for _, gid := range s.groupPaths[strings.ToLower(ns)] {
		if s.groups[gid].Path == ns && (id == 0 || gid < id) {
			id = gid
		}
	}
	if id != 0 {
		return id
	}
	var h int64 = 1000
	for _, c := range []byte(ns) {
		h = (h*31 + int64(c)) % 1_000_000
	}
	return 1_000_000 + h
}

func hostOf(web string) string {
	rest, _ := strings.CutPrefix(web, "http://")
	rest, _ = strings.CutPrefix(rest, "https://")
	host, _, _ := strings.Cut(rest, "/")
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		return h
	}
	return host
}

// idBounds are the id_after and id_before filters of GET /projects.
type idBounds struct {
	after, before       int64
	hasAfter, hasBefore bool
}

// positions returns the range [lo, hi) of the ascending ids inside the
// bounds, found by binary search.
func (b idBounds) positions(ids []int64) (lo, hi int) {
	hi = len(ids)
	if b.hasAfter {
		lo, _ = slices.BinarySearch(ids, b.after)
		if lo < len(ids) && ids[lo] == b.after {
			lo++
		}
	}
	if b.hasBefore {
		hi, _ = slices.BinarySearch(ids, b.before)
	}
	return lo, max(lo, hi)
}

// pageOfIDs returns the ids of one page: walking ids[lo:hi) upward (or
// downward when desc), it skips the first skip ids that match and keeps
// the next limit ones. With lookahead it also reports whether another
// match follows. allMatch says that every id matches: the page is then
// taken by position, without a walk. The cost is the page plus the ids
// walked past: those skipped and those that do not match.
func pageOfIDs(ids []int64, lo, hi int, desc bool, skip, limit int, allMatch, lookahead bool, match func(int64) bool) (page []int64, more bool) {
	if allMatch {
		n := hi - lo
		start := min(skip, n)
		end := min(start+limit, n)
		page = make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			if desc {
				page = append(page, ids[hi-1-i])
			} else {
				page = append(page, ids[lo+i])
			}
		}
		return page, end < n
	}
	i, step, stop := lo, 1, hi
	if desc {
		i, step, stop = hi-1, -1, lo-1
	}
	page = make([]int64, 0, limit)
	for ; i != stop; i += step {
		if !match(ids[i]) {
			continue
		}
		switch {
		case skip > 0:
			skip--
			continue
		case len(page) == limit:
			return page, true
		}
		page = append(page, ids[i])
		if len(page) == limit && !lookahead {
			return page, false
		}
	}
	return page, false
}

// countUpTo counts the ids of ids[lo:hi) that match, stopping at limit.
func countUpTo(ids []int64, lo, hi, limit int, match func(int64) bool) int {
	n := 0
	for _, id := range ids[lo:hi] {
		if match(id) {
			if n++; n == limit {
				break
			}
		}
	}
	return n
}

// offsetByID serves an offset page of containers of kind k in id order:
// keyMatch filters by the counted attributes, in the bounds of b. It
// counts the matches from the index's counts when b does not narrow the
// range (else by a walk that stops above countLimit) and walks only to
// the page, or jumps to it when every container matches.
func (s *Server) offsetByIDLocked(k kind, b idBounds, desc bool, p paging, keyMatch func(countKey) bool, match func(int64) bool) ([]int64, offsetPage) {
	ix := &s.idx[k]
	ids := ix.ids.sorted()
	lo, hi := b.positions(ids)
	var total int
	if lo == 0 && hi == len(ids) {
		total = ix.countMatching(keyMatch)
	} else {
		total = countUpTo(ids, lo, hi, countLimit+1, match)
	}
	counted := total <= countLimit
	skip := (p.page - 1) * p.perPage
	page, more := pageOfIDs(ids, lo, hi, desc, skip, p.perPage, total == hi-lo, !counted, match)
	return page, newOffsetPage(p, counted, total, len(page), more)
}

// projectOrders are the order_by values of GET /projects the fake
// supports (updated_at and last_activity_at sort by created_at).
var projectOrders = []string{"id", "name", "path", "created_at", "updated_at", "last_activity_at"}

// projectListParams are the params of GET /projects and GET
// /projects/:id/forks after Grape's checks.
type projectListParams struct {
	p       paging
	keyset  bool
	orderBy string
	desc    bool
	// stats is statistics=true; simple is simple=true (the
	// BasicProjectDetails entity, without statistics).
	stats, simple  bool
	includePending bool
	bounds         idBounds
	// storage filters by repository_storage when byStorage.
	storage   string
	byStorage bool
}

// parseProjectList reads and checks the params of a project listing. ok
// is false after an error answer was sent.
func parseProjectList(c *call) (lp projectListParams, ok bool) {
	var errs paramErrors
	if v, _ := last(c.query, "pagination"); v == "keyset" {
		lp.keyset = true
	}
	lp.p = parsePaging(c.query, &errs, true)
	lp.orderBy = "created_at"
	if v, ok := last(c.query, "order_by"); ok {
		if !slices.Contains(projectOrders, v) {
			errs.add("order_by does not have a valid value")
		}
		lp.orderBy = v
	}
	lp.desc = true
	if v, ok := last(c.query, "sort"); ok {
		switch v {
		case "asc":
			lp.desc = false
		case "desc":
		default:
			errs.add("sort does not have a valid value")
		}
	}
	lp.stats = boolParam(c.query, "statistics", &errs)
	lp.simple = boolParam(c.query, "simple", &errs)
	lp.includePending = boolParam(c.query, "include_pending_delete", &errs)
	for _, key := range []string{"id_after", "id_before"} {
		if v, ok := last(c.query, key); ok && v != "" {
			n, ok := parseInt(v)
			if !ok {
				errs.add(key + " is invalid")
			}
			if key == "id_after" {
				lp.bounds.after, lp.bounds.hasAfter = n, true
			} else {
				lp.bounds.before, lp.bounds.hasBefore = n, true
			}
		}
	}
	if errs.send(c) {
		return lp, false
	}
	if lp.keyset && lp.orderBy != "id" {
		c.grapeError(http.StatusMethodNotAllowed, "Keyset pagination is not yet available for this type of request")
		return lp, false
	}
	if _, pageSent := last(c.query, "page"); !lp.keyset && pageSent && lp.p.page*lp.p.perPage > maxProjectOffset {
		c.grapeError(http.StatusMethodNotAllowed, "Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination.")
		return lp, false
	}
	lp.storage, lp.byStorage = last(c.query, "repository_storage")
	// GitLab drops the filter of a non-administrator, and a blank one.
	lp.byStorage = lp.byStorage && lp.storage != "" && c.admin
	lp.includePending = lp.includePending && c.admin
	return lp, true
}

// keyMatch says whether containers with the counted attributes k match
// the listing's filters for the caller.
func (lp projectListParams) keyMatch(c *call, k countKey) bool {
	return c.visible(k.visibility) && (!lp.byStorage || k.storage == lp.storage) && (lp.includePending || !k.pending)
}

// listProjects serves GET /projects: repository_storage (administrators
// only), statistics, simple, include_pending_delete (administrators
// only), order_by/sort, offset pagination (at most 50,000 records deep)
// and keyset pagination with order_by=id (id_after / id_before links).
// Pages in id order start by binary search in the id index; other orders
// sort every matching project.
func (s *Server) listProjects(c *call) {
	lp, ok := parseProjectList(c)
	if !ok {
		return
	}
	keyMatch := func(k countKey) bool { return lp.keyMatch(c, k) }
	web := c.origin()
	s.mu.Lock()
	match := func(id int64) bool { return keyMatch(projectKey(s.projects[id])) }
	ids := s.idx[kindProject].ids.sorted()
	var pageIDs []int64
	var op offsetPage
	switch {
	case lp.keyset:
		lo, hi := lp.bounds.positions(ids)
		pageIDs, _ = pageOfIDs(ids, lo, hi, lp.desc, 0, lp.p.perPage, false, false, match)
	case lp.orderBy == "id":
		pageIDs, op = s.offsetByIDLocked(kindProject, lp.bounds, lp.desc, lp.p, keyMatch, match)
	default:
		pageIDs, op = s.sortedProjectPageLocked(ids, lp.bounds, lp.orderBy, lp.desc, lp.p, match)
	}
	s.writeProjectPageLocked(c, web, lp, pageIDs, op)
}

// writeProjectPageLocked renders the projects of pageIDs and answers
// them with the pagination headers of lp and op. It releases the lock.
func (s *Server) writeProjectPageLocked(c *call, web string, lp projectListParams, pageIDs []int64, op offsetPage) {
	var out any
	broken := false
	if lp.simple {
		rows := make([]wireBasicProject, 0, len(pageIDs))
		for _, id := range pageIDs {
			pr := s.projects[id]
			broken = broken || pr.Broken
			rows = append(rows, s.wireBasicProjectLocked(c, web, pr))
		}
		out = rows
	} else {
		rows := make([]wireFullProject, 0, len(pageIDs))
		for _, id := range pageIDs {
			pr := s.projects[id]
			broken = broken || pr.Broken
			rows = append(rows, s.wireFullProjectLocked(c, web, pr, lp.stats))
		}
		out = rows
	}
	s.mu.Unlock()
	if broken {
		c.message(http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	if lp.keyset {
		// GitLab sends a next link after every non-empty page, the last
		// one included (corrections #22).
		if n := len(pageIDs); n > 0 {
			key := "id_after"
			if lp.desc {
				key = "id_before"
			}
			q := map[string]string{key: strconv.FormatInt(pageIDs[n-1], 10), "per_page": strconv.Itoa(lp.p.perPage)}
			c.w.Header().Set("Link", "<"+c.linkURLWithout([]string{"id_after", "id_before"}, map[string]string{"order_by": "id", "sort": sortName(lp.desc)}, q)+`>; rel="next"`)
		}
	} else {
		c.setOffsetHeaders(op, map[string]string{"order_by": lp.orderBy, "sort": sortName(lp.desc)})
	}
	c.json(http.StatusOK, out)
}

// sortedProjectPageLocked serves an offset page of the projects of ids
// (ascending) in an order other than id: it collects and sorts every
// matching project, O(n log n) in the number of projects.
func (s *Server) sortedProjectPageLocked(ids []int64, b idBounds, orderBy string, desc bool, p paging, match func(int64) bool) ([]int64, offsetPage) {
	lo, hi := b.positions(ids)
	var list []*Project
	for _, id := range ids[lo:hi] {
		if match(id) {
			list = append(list, s.projects[id])
		}
	}
	slices.SortFunc(list, func(a, b *Project) int {
		var r int
		switch orderBy {
		case "name":
			r = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "path":
			r = strings.Compare(a.Path, b.Path)
		case "created_at", "updated_at", "last_activity_at":
			r = a.CreatedAt.Compare(b.CreatedAt)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			r = -r
		}
		return r
	})
	total := len(list)
	start, end := p.bounds(total)
	page := make([]int64, 0, end-start)
	for _, pr := range list[start:end] {
		page = append(page, pr.ID)
	}
	return page, newOffsetPage(p, total <= countLimit, total, len(page), end < total)
}

func sortName(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// linkURLWithout is linkURL after dropping the params in drop.
func (c *call) linkURLWithout(drop []string, defaults, overrides map[string]string) string {
	saved := c.query
	q := make(map[string][]string, len(saved))
	for k, v := range saved {
		if !slices.Contains(drop, k) {
			q[k] = v
		}
	}
	c.query = q
	defer func() { c.query = saved }()
	return c.linkURL(defaults, overrides)
}

// getProject serves GET /projects/:id (numeric or URL-encoded full path),
// with statistics=true. A pending-delete project is not found, by
// administrators either (corrections #19).
func (s *Server) getProject(c *call, param string) {
	var errs paramErrors
	stats := boolParam(c.query, "statistics", &errs)
	if errs.send(c) {
		return
	}
	web := c.origin()
	s.mu.Lock()
	id, ok := s.findContainerLocked(kindProject, param)
	var pr *Project
	if ok {
		pr = s.projects[id]
		ok = c.visible(pr.Visibility) && !pr.PendingDelete
	}
	if !ok {
		s.mu.Unlock()
		c.message(http.StatusNotFound, "404 Project Not Found")
		return
	}
	out := s.wireFullProjectLocked(c, web, pr, stats)
	broken := pr.Broken
	s.mu.Unlock()
	if broken {
		c.message(http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	c.json(http.StatusOK, out)
}

// listGroups serves GET /groups: repository_storage (administrators only;
// groups without a wiki repository never match), statistics
// (administrators only), ordered by name (or id, path) with offset
// pagination. Pages in id order walk the id index; the other orders sort
// every matching group.
func (s *Server) listGroups(c *call) {
	var errs paramErrors
	p := parsePaging(c.query, &errs, true)
	orderBy := "name"
	if v, ok := last(c.query, "order_by"); ok {
		if !slices.Contains([]string{"name", "path", "id"}, v) {
			errs.add("order_by does not have a valid value")
		}
		orderBy = v
	}
	desc := false
	if v, ok := last(c.query, "sort"); ok {
		switch v {
		case "asc":
		case "desc":
			desc = true
		default:
			errs.add("sort does not have a valid value")
		}
	}
	stats := boolParam(c.query, "statistics", &errs)
	if errs.send(c) {
		return
	}
	storage, byStorage := last(c.query, "repository_storage")
	byStorage = byStorage && storage != "" && c.admin
	keyMatch := func(k countKey) bool {
		return c.visible(k.visibility) && (!byStorage || k.storage == storage)
	}
	web := c.origin()
	s.mu.Lock()
	match := func(id int64) bool { return keyMatch(groupKey(s.groups[id])) }
	var pageIDs []int64
	var op offsetPage
	if orderBy == "id" {
		pageIDs, op = s.offsetByIDLocked(kindGroup, idBounds{}, desc, p, keyMatch, match)
	} else {
		var list []*Group
		for _, id := range s.idx[kindGroup].ids.sorted() {
			if match(id) {
				list = append(list, s.groups[id])
			}
		}
		slices.SortFunc(list, func(a, b *Group) int {
			var r int
			switch orderBy {
			case "name":
				r = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			case "path":
				r = strings.Compare(a.Path, b.Path)
			}
			if r == 0 {
				r = cmp.Compare(a.ID, b.ID)
			}
			if desc {
				r = -r
			}
			return r
		})
		total := len(list)
		start, end := p.bounds(total)
		for _, g := range list[start:end] {
			pageIDs = append(pageIDs, g.ID)
		}
		op = newOffsetPage(p, total <= countLimit, total, len(pageIDs), end < total)
	}
	out := make([]wireFullGroup, 0, len(pageIDs))
	for _, id := range pageIDs {
		out = append(out, s.wireFullGroupLocked(c, web, s.groups[id], stats))
	}
	s.mu.Unlock()
	c.setOffsetHeaders(op, nil)
	c.json(http.StatusOK, out)
}

// getGroup serves GET /groups/:id (numeric or URL-encoded full path) as
// GitLab's GroupDetail: with_projects (default true) adds the group's
// projects (at most 100, newest id first, those the caller sees, without
// pending-delete ones) and shared_projects (always empty: the fake has no
// sharing).
func (s *Server) getGroup(c *call, param string) {
	var errs paramErrors
	withProjects := boolParamOr(c.query, "with_projects", true, &errs)
	if errs.send(c) {
		return
	}
	web := c.origin()
	s.mu.Lock()
	id, ok := s.findContainerLocked(kindGroup, param)
	var g *Group
	if ok {
		g = s.groups[id]
		ok = c.visible(g.Visibility)
	}
	if !ok {
		s.mu.Unlock()
		c.message(http.StatusNotFound, "404 Group Not Found")
		return
	}
	out := wireGroupDetail{wireFullGroup: s.wireFullGroupLocked(c, web, g, false)}
	if withProjects {
		projects := []wireFullProject{}
		if ns := s.namespaces[g.Path]; ns != nil {
			ids := ns.ids.sorted()
			match := func(id int64) bool {
				pr := s.projects[id]
				return c.visible(pr.Visibility) && !pr.PendingDelete
			}
			page, _ := pageOfIDs(ids, 0, len(ids), true, 0, groupProjectsLimit, false, false, match)
			for _, pid := range page {
				projects = append(projects, s.wireFullProjectLocked(c, web, s.projects[pid], false))
			}
		}
		out.Projects, out.SharedProjects = &projects, &[]wireFullProject{}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}

// listAllSnippets serves GET /snippets/all: every snippet for an
// administrator (repository_storage filters them), the public and
// internal ones for other users; newest id first, offset pagination.
func (s *Server) listAllSnippets(c *call) {
	var errs paramErrors
	p := parsePaging(c.query, &errs, true)
	if errs.send(c) {
		return
	}
	storage, byStorage := last(c.query, "repository_storage")
	byStorage = byStorage && storage != "" && c.admin
	keyMatch := func(k countKey) bool {
		return c.visible(k.visibility) && (!byStorage || k.storage == storage)
	}
	web := c.origin()
	s.mu.Lock()
	match := func(id int64) bool { return keyMatch(snippetKey(s.snippets[id])) }
	pageIDs, op := s.offsetByIDLocked(kindSnippet, idBounds{}, true, p, keyMatch, match)
	out := make([]wireFullSnippet, 0, len(pageIDs))
	for _, id := range pageIDs {
		out = append(out, s.wireFullSnippetLocked(c, web, s.snippets[id]))
	}
	s.mu.Unlock()
	c.setOffsetHeaders(op, nil)
	c.json(http.StatusOK, out)
}

func (s *Server) wireFullSnippetLocked(c *call, web string, sn *Snippet) wireFullSnippet {
	ws := wireFullSnippet{wireSnippet: s.wireSnippetLocked(web, sn), ImportedFrom: "none"}
	if c.admin {
		ws.RepositoryStorage = sn.Storage
	}
	return ws
}

// getSnippet serves GET /snippets/:id (numeric only) as GitLab's
// PersonalSnippet entity, to the users who see it.
func (s *Server) getSnippet(c *call, param string) {
	id, ok := parseInt(param)
	if !ok {
		c.grapeError(http.StatusBadRequest, "id is invalid")
		return
	}
	web := c.origin()
	s.mu.Lock()
	sn, found := s.snippets[id]
	if !found || !c.visible(sn.Visibility) {
		s.mu.Unlock()
		c.message(http.StatusNotFound, "404 Snippet Not Found")
		return
	}
	out := s.wireFullSnippetLocked(c, web, sn)
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}

// matchSettings routes GET and PUT /application/settings.
func (s *Server) matchSettings(segs []string) map[string]handler {
	if len(segs) == 2 && segs[0] == "application" && segs[1] == "settings" {
		return map[string]handler{http.MethodGet: {fn: s.getSettings}, http.MethodPut: {fn: s.putSettings}}
	}
	return nil
}

// settingsJSON renders the application settings the fake has: only
// repository_storages_weighted, in configuration order.
func (s *Server) settingsJSON() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := []byte(`{"id":1,"repository_storages_weighted":{`)
	for i, st := range s.storages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, mustJSON(st.name)...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(st.weight), 10)
	}
	return append(b, "}}"...)
}

func (s *Server) getSettings(c *call) { c.raw(http.StatusOK, s.settingsJSON()) }

// putSettings serves PUT /application/settings for
// repository_storages_weighted, sent as JSON
// {"repository_storages_weighted":{"default":0}} or as
// repository_storages_weighted[default]=0 in the query or a form body.
// GitLab's model validation refuses unknown storages and weights outside
// 0 to 100.
func (s *Server) putSettings(c *call) {
	params, ok := c.bodyParams()
	if !ok {
		return
	}
	weights := map[string]string{}
	for k, v := range params {
		if name, ok := strings.CutPrefix(k, "repository_storages_weighted["); ok && strings.HasSuffix(name, "]") {
			if str, _, valid := stringParam(params, k); valid {
				weights[strings.TrimSuffix(name, "]")] = str
			}
		}
		if k == "repository_storages_weighted" {
			obj, isObj := v.(map[string]any)
			if !isObj {
				c.grapeError(http.StatusBadRequest, "repository_storages_weighted is invalid")
				return
			}
			for name := range obj {
				str, _, valid := stringParam(obj, name)
				if !valid {
					c.grapeError(http.StatusBadRequest, "repository_storages_weighted is invalid")
					return
				}
				weights[name] = str
			}
		}
	}
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	slices.Sort(names)
	parsed := map[string]int{}
	var unknown []string
	var errs []fieldError
	s.mu.Lock()
	for _, name := range names {
		if !s.storageKnownLocked(name) {
			unknown = append(unknown, name)
			continue
		}
		n, ok := parseInt(weights[name])
		if !ok {
			c.grapeError(http.StatusBadRequest, "repository_storages_weighted["+name+"] is invalid")
			s.mu.Unlock()
			return
		}
		if n < 0 || n > 100 {
			errs = append(errs, fieldError{"repository_storages_weighted_" + name, []string{"value must be between 0 and 100"}})
			continue
		}
		parsed[name] = int(n)
	}
	if len(unknown) > 0 {
		errs = append([]fieldError{{"repository_storages_weighted", []string{"can't include: " + strings.Join(unknown, ", ")}}}, errs...)
	}
	if len(errs) == 0 {
		for i := range s.storages {
			if w, ok := parsed[s.storages[i].name]; ok {
				s.storages[i].weight = w
			}
		}
	}
	s.mu.Unlock()
	if len(errs) > 0 {
		c.fieldErrors(errs)
		return
	}
	c.raw(http.StatusOK, s.settingsJSON())
}
