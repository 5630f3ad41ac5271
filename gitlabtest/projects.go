package gitlabtest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxProjectOffset is GitLab's offset limit for project listings.
const maxProjectOffset = 50_000

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
	case n == 1 && segs[0] == "groups":
		return map[string]handler{http.MethodGet: {fn: s.listGroups, public: true}}
	case n == 2 && segs[0] == "snippets" && segs[1] == "all":
		return map[string]handler{http.MethodGet: {fn: s.listAllSnippets, anyUser: true}}
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

// boolParam reads a Grape Boolean, adding "<key> is invalid" for a value
// that is not one.
func boolParam(q map[string][]string, key string, errs *paramErrors) bool {
	v, present := last(q, key)
	if !present || v == "" {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "t":
		return true
	case "false", "0", "no", "f":
		return false
	}
	errs.add(key + " is invalid")
	return false
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
	wireFullProject struct {
		ID                int64             `json:"id"`
		Description       *string           `json:"description"`
		Name              string            `json:"name"`
		NameWithNamespace string            `json:"name_with_namespace"`
		Path              string            `json:"path"`
		PathWithNamespace string            `json:"path_with_namespace"`
		CreatedAt         jsonTime          `json:"created_at"`
		DefaultBranch     *string           `json:"default_branch"`
		TagList           []string          `json:"tag_list"`
		Topics            []string          `json:"topics"`
		SSHURLToRepo      string            `json:"ssh_url_to_repo"`
		HTTPURLToRepo     string            `json:"http_url_to_repo"`
		WebURL            string            `json:"web_url"`
		ReadmeURL         *string           `json:"readme_url"`
		ForksCount        int               `json:"forks_count"`
		AvatarURL         *string           `json:"avatar_url"`
		StarCount         int               `json:"star_count"`
		LastActivityAt    jsonTime          `json:"last_activity_at"`
		Namespace         wireNamespace     `json:"namespace"`
		EmptyRepo         bool              `json:"empty_repo"`
		Archived          bool              `json:"archived"`
		Visibility        string            `json:"visibility"`
		RepositoryStorage string            `json:"repository_storage,omitempty"`
		Statistics        *wireProjectStats `json:"statistics,omitempty"`
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
		ID                int64           `json:"id"`
		WebURL            string          `json:"web_url"`
		Name              string          `json:"name"`
		Path              string          `json:"path"`
		Description       string          `json:"description"`
		Visibility        string          `json:"visibility"`
		FullName          string          `json:"full_name"`
		FullPath          string          `json:"full_path"`
		CreatedAt         jsonTime        `json:"created_at"`
		ParentID          *int64          `json:"parent_id"`
		RepositoryStorage string          `json:"repository_storage,omitempty"`
		Statistics        *wireGroupStats `json:"statistics,omitempty"`
	}
	wireFullSnippet struct {
		*wireSnippet
		Imported          bool   `json:"imported"`
		ImportedFrom      string `json:"imported_from"`
		RepositoryStorage string `json:"repository_storage,omitempty"`
	}
)

// wireFullProjectLocked renders a project as GET /projects does.
func (s *Server) wireFullProjectLocked(c *call, p *Project, stats bool) wireFullProject {
	web := c.origin()
	host := hostOf(web)
	full := p.Namespace + "/" + p.Path
	out := wireFullProject{
		ID: p.ID, Description: nullable(p.Description), Name: p.Name,
		NameWithNamespace: p.Namespace + " / " + p.Name, Path: p.Path, PathWithNamespace: full,
		CreatedAt: jsonTime(p.CreatedAt), TagList: []string{}, Topics: []string{},
		SSHURLToRepo: "git@" + host + ":" + full + ".git", HTTPURLToRepo: web + "/" + full + ".git",
		WebURL: web + "/" + full, LastActivityAt: jsonTime(p.CreatedAt),
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
				CommitCount: p.RepositorySize / (64 << 10), StorageSize: p.RepositorySize, RepositorySize: p.RepositorySize,
			}
		}
	}
	return out
}

// namespaceIDLocked is the id of the group with path ns, or a stable id
// above the groups' for a namespace that is not a group.
func (s *Server) namespaceIDLocked(ns string) int64 {
	for id, g := range s.groups {
		if g.Path == ns {
			return id
		}
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

// projectOrders are the order_by values of GET /projects the fake
// supports (updated_at and last_activity_at sort by created_at).
var projectOrders = []string{"id", "name", "path", "created_at", "updated_at", "last_activity_at"}

// listProjects serves GET /projects: repository_storage (administrators
// only), statistics, order_by/sort, offset pagination (at most 50,000
// records deep) and keyset pagination with order_by=id (id_after /
// id_before links).
func (s *Server) listProjects(c *call) {
	var errs paramErrors
	keyset := false
	if v, _ := last(c.query, "pagination"); v == "keyset" {
		keyset = true
	}
	p := parsePaging(c.query, &errs, true)
	orderBy := "created_at"
	if v, ok := last(c.query, "order_by"); ok {
		if !slices.Contains(projectOrders, v) {
			errs.add("order_by does not have a valid value")
		}
		orderBy = v
	}
	desc := true
	if v, ok := last(c.query, "sort"); ok {
		switch v {
		case "asc":
			desc = false
		case "desc":
		default:
			errs.add("sort does not have a valid value")
		}
	}
	stats := boolParam(c.query, "statistics", &errs)
	var idAfter, idBefore int64
	for key, dst := range map[string]*int64{"id_after": &idAfter, "id_before": &idBefore} {
		if v, ok := last(c.query, key); ok && v != "" {
			n, ok := parseInt(v)
			if !ok {
				errs.add(key + " is invalid")
			}
			*dst = n
		}
	}
	if errs.send(c) {
		return
	}
	if keyset && orderBy != "id" {
		c.grapeError(http.StatusMethodNotAllowed, "Keyset pagination is not yet available for this type of request")
		return
	}
	if _, pageSent := last(c.query, "page"); !keyset && pageSent && p.page*p.perPage > maxProjectOffset {
		c.grapeError(http.StatusMethodNotAllowed, "Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination.")
		return
	}
	storage, byStorage := last(c.query, "repository_storage")
	byStorage = byStorage && c.admin // GitLab ignores the filter for others
	s.mu.Lock()
	var list []*Project
	for _, pr := range s.projects {
		if !c.visible(pr.Visibility) || (byStorage && pr.Storage != storage) {
			continue
		}
		if idAfter != 0 && pr.ID <= idAfter || idBefore != 0 && pr.ID >= idBefore {
			continue
		}
		list = append(list, pr)
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
	var page []*Project
	var op offsetPage
	hasNext := false
	if keyset {
		page = list[:min(len(list), p.perPage)]
		hasNext = len(list) > p.perPage
	} else {
		total := len(list)
		start, end := p.bounds(total)
		page = list[start:end]
		op = newOffsetPage(p, total <= countLimit, total, len(page), end < total)
	}
	out := make([]wireFullProject, 0, len(page))
	broken := false
	for _, pr := range page {
		broken = broken || pr.Broken
		out = append(out, s.wireFullProjectLocked(c, pr, stats))
	}
	var lastID int64
	if len(page) > 0 {
		lastID = page[len(page)-1].ID
	}
	s.mu.Unlock()
	if broken {
		c.message(http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	if keyset {
		if hasNext {
			key := "id_after"
			if desc {
				key = "id_before"
			}
			q := map[string]string{key: strconv.FormatInt(lastID, 10), "per_page": strconv.Itoa(p.perPage)}
			c.w.Header().Set("Link", "<"+c.linkURLWithout([]string{"id_after", "id_before"}, map[string]string{"order_by": "id", "sort": sortName(desc)}, q)+`>; rel="next"`)
		}
	} else {
		c.setOffsetHeaders(op, map[string]string{"order_by": orderBy, "sort": sortName(desc)})
	}
	c.json(http.StatusOK, out)
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
// with statistics=true.
func (s *Server) getProject(c *call, param string) {
	var errs paramErrors
	stats := boolParam(c.query, "statistics", &errs)
	if errs.send(c) {
		return
	}
	s.mu.Lock()
	id, ok := s.findContainerLocked(kindProject, param)
	var pr *Project
	if ok {
		pr = s.projects[id]
		ok = c.visible(pr.Visibility)
	}
	if !ok {
		s.mu.Unlock()
		c.message(http.StatusNotFound, "404 Project Not Found")
		return
	}
	out := s.wireFullProjectLocked(c, pr, stats)
	broken := pr.Broken
	s.mu.Unlock()
	if broken {
		c.message(http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	c.json(http.StatusOK, out)
}

// listGroups serves GET /groups: repository_storage (administrators only),
// statistics (administrators only), ordered by name (or id, path) with
// offset pagination.
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
	byStorage = byStorage && c.admin
	web := c.origin()
	s.mu.Lock()
	var list []*Group
	for _, g := range s.groups {
		if c.visible(g.Visibility) && (!byStorage || g.Storage == storage) {
			list = append(list, g)
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
	out := make([]wireFullGroup, 0, end-start)
	for _, g := range list[start:end] {
		wg := wireFullGroup{
			ID: g.ID, WebURL: web + "/groups/" + g.Path, Name: g.Name, Path: g.Path, Description: g.Description,
			Visibility: g.Visibility, FullName: g.Name, FullPath: g.Path, CreatedAt: jsonTime(g.CreatedAt),
		}
		if c.admin {
			wg.RepositoryStorage = g.Storage
			if stats {
				wiki := g.WikiSize
				if wiki == 0 {
					wiki = 64<<10 + (g.ID*104729%4096)<<10
				}
				wg.Statistics = &wireGroupStats{StorageSize: wiki, WikiSize: wiki}
			}
		}
		out = append(out, wg)
	}
	s.mu.Unlock()
	c.setOffsetHeaders(newOffsetPage(p, total <= countLimit, total, len(out), end < total), nil)
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
	byStorage = byStorage && c.admin
	web := c.origin()
	s.mu.Lock()
	var list []*Snippet
	for _, sn := range s.snippets {
		if c.visible(sn.Visibility) && (!byStorage || sn.Storage == storage) {
			list = append(list, sn)
		}
	}
	slices.SortFunc(list, func(a, b *Snippet) int { return cmp.Compare(b.ID, a.ID) })
	total := len(list)
	start, end := p.bounds(total)
	out := make([]wireFullSnippet, 0, end-start)
	for _, sn := range list[start:end] {
		ws := wireFullSnippet{wireSnippet: s.wireSnippetLocked(web, sn), ImportedFrom: "none"}
		if c.admin {
			ws.RepositoryStorage = sn.Storage
		}
		out = append(out, ws)
	}
	s.mu.Unlock()
	c.setOffsetHeaders(newOffsetPage(p, total <= countLimit, total, len(out), end < total), nil)
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
