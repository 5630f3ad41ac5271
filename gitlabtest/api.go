package gitlabtest

import (
	"bytes"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// call is one API request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	rid   string
	body  []byte
	query url.Values
	// path params in the order GitLab declares them, for Link headers.
	pathParams [][2]string
	// admin and user say who is calling: an administrator, a known user,
	// or (neither) an anonymous client of a public route.
	admin, user bool
	// token is what the server knows of the caller's token.
	token tokenInfo
}

// handler serves one route once authentication passed.
type handler struct {
	fn func(*call)
	// anyUser lets a non-administrator through (GET /version).
	anyUser bool
	// perm is the granular permission the route needs on 18.10 and later.
	perm string
	// public lets a request without a token through, as an anonymous
	// user (GET /projects, /projects/:id, /groups).
	public bool
	// dm marks the Data management routes, which 18.3 to 18.9 hide behind
	// the geo_primary_verification_view feature flag.
	dm bool
}

// Granular token permissions of the routes (newest GitLab's
// route_setting :authorization).
const (
	permReadDM     = "read_admin_data_management"
	permUpdateDM   = "update_admin_data_management"
	permReadMoves  = "read_repository_storage_move"
	permCreateMove = "create_repository_storage_move"
	permReadUser   = "read_user"
	permReadAPI    = "" // no granular permission needed
)

// route dispatches rest (the escaped path after /api/v4/) like Grape: an
// unknown path, or a method no route serves there, gets the catch-all 404
// before authentication; then 401 and 403; then the feature flag; then the
// route.
func (s *Server) route(c *call, rest string) {
	raw := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	segs := make([]string, len(raw))
	for i, seg := range raw {
		u, err := url.PathUnescape(seg)
		if err != nil {
			c.grapeError(http.StatusNotFound, "404 Not Found")
			return
		}
		segs[i] = u
	}
	methods := s.match(c, segs)
	method := c.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	h, ok := methods[method]
	if !ok {
		// GitLab's catch-all route serves every method, so Grape never
		// answers 405 (corrections #15).
		c.grapeError(http.StatusNotFound, "404 Not Found")
		return
	}
	tok, known, sent := s.authenticate(c.r)
	c.admin, c.user, c.token = tok.admin, known, tok
	switch {
	case !known && h.public && !sent:
		// anonymous
	case !known:
		c.message(http.StatusUnauthorized, "401 Unauthorized")
		return
	case tok.granular && h.perm != "" && s.checksPermission(h) && !slices.Contains(tok.perms, h.perm):
		c.granularError(h.perm)
		return
	case !tok.admin && !h.anyUser && !h.public:
		c.message(http.StatusForbidden, "403 Forbidden")
		return
	}
	if h.dm && s.era() != EraGranular && !s.flagEnabled(flagVerificationView) {
		c.message(http.StatusNotFound, "404 Not Found")
		return
	}
	h.fn(c)
}

// checksPermission says whether the server's release checks the granular
// permission of route h: GitLab 19.2 and later on the Data management
// routes (corrections #1), 18.10 and later on the others.
func (s *Server) checksPermission(h handler) bool {
	if h.dm {
		return !s.cfg.version.less(Version{19, 2, 0})
	}
	return s.era() == EraGranular
}

// granularError answers the APIGuard's 403 for a fine-grained token that
// lacks perm.
func (c *call) granularError(perm string) {
	c.json(http.StatusForbidden, map[string]string{
		"error":             "insufficient_granular_scope",
		"error_description": "Access denied: Your Personal Access Token lacks the required permissions: [" + perm + "].",
	})
}

// match returns the handlers of the route segs names, by method, and sets
// the call's path params. nil means no route.
func (s *Server) match(c *call, segs []string) map[string]handler {
	n := len(segs)
	switch {
	case n == 1 && segs[0] == "version":
		return map[string]handler{http.MethodGet: {fn: s.handleVersion, anyUser: true}}
	case n == 1 && segs[0] == "user":
		return map[string]handler{http.MethodGet: {fn: s.handleUser, anyUser: true, perm: permReadUser}}
	case n >= 3 && segs[0] == "admin" && segs[1] == "data_management":
		c.pathParams = [][2]string{{"model_name", segs[2]}}
		get := func(fn func(*call)) handler { return handler{fn: fn, perm: permReadDM, dm: true} }
		put := func(fn func(*call)) handler { return handler{fn: fn, perm: permUpdateDM, dm: true} }
		switch {
		case n == 3:
			return map[string]handler{http.MethodGet: get(s.dmList)}
		case n == 4 && segs[3] == "checksum":
			c.pathParams = append(c.pathParams, [2]string{"record_identifier", segs[3]})
			if s.firstRelease() {
				// 18.3 had no bulk recalculation.
				return map[string]handler{http.MethodGet: get(s.dmGet)}
			}
			return map[string]handler{http.MethodGet: get(s.dmGet), http.MethodPut: put(s.dmBulkChecksum)}
		case n == 4:
			c.pathParams = append(c.pathParams, [2]string{"record_identifier", segs[3]})
			return map[string]handler{http.MethodGet: get(s.dmGet)}
		case n == 5 && segs[4] == "checksum":
			c.pathParams = append(c.pathParams, [2]string{"record_identifier", segs[3]})
			return map[string]handler{http.MethodPut: put(s.dmChecksum)}
		}
		return nil
	}
	if hs := s.matchContainers(c, segs); hs != nil {
		return hs
	}
	if hs := s.matchSettings(segs); hs != nil {
		return hs
	}
	if hs := s.matchGeo(c, segs); hs != nil {
		return hs
	}
	if hs := s.matchSidekiq(segs); hs != nil {
		return hs
	}
	get := func(fn func(*call)) handler { return handler{fn: fn, perm: permReadMoves} }
	post := func(fn func(*call)) handler { return handler{fn: fn, perm: permCreateMove} }
	for k := range kindCount {
		ki := kinds[k]
		switch {
		case segs[0] == ki.collection && n == 1:
			return map[string]handler{
				http.MethodGet:  get(func(c *call) { s.listMoves(c, k, "") }),
				http.MethodPost: post(func(c *call) { s.scheduleAll(c, k) }),
			}
		case segs[0] == ki.collection && n == 2:
			c.pathParams = [][2]string{{"repository_storage_move_id", segs[1]}}
			return map[string]handler{http.MethodGet: get(func(c *call) { s.getMove(c, k, "", segs[1]) })}
		case segs[0] == ki.container && n >= 3 && n <= 4 && segs[2] == "repository_storage_moves" && segs[1] != "":
			c.pathParams = [][2]string{{"id", segs[1]}}
			if n == 3 {
				return map[string]handler{
					http.MethodGet:  get(func(c *call) { s.listMoves(c, k, segs[1]) }),
					http.MethodPost: post(func(c *call) { s.scheduleMove(c, k, segs[1]) }),
				}
			}
			c.pathParams = append(c.pathParams, [2]string{"repository_storage_move_id", segs[3]})
			return map[string]handler{http.MethodGet: get(func(c *call) { s.getMove(c, k, segs[1], segs[3]) })}
		}
	}
	return nil
}

// tokenInfo is what the server knows of a token.
type tokenInfo struct {
	admin    bool
	granular bool
	perms    []string
	username string // the token's user
}

// authenticate reads the token from PRIVATE-TOKEN or an Authorization
// bearer header.
func (s *Server) authenticate(r *http.Request) (ti tokenInfo, known, sent bool) {
	tok := r.Header.Get("Private-Token")
	if tok == "" {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = strings.TrimSpace(v)
		}
	}
	if tok == "" {
		return tokenInfo{}, false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, known = s.tokens[tok]
	return ti, known, true
}

func (s *Server) handleVersion(c *call) {
	v := s.cfg.version
	c.raw(http.StatusOK, []byte(`{"version":"`+v.String()+`","revision":"`+v.revision()+`","kas":{"enabled":false,"externalUrl":null,"version":null},"enterprise":true}`))
}

// Wire forms of GET /user: GitLab's UserPublic entity, and UserWithAdmin
// for an administrator (a subset of their fields, in GitLab's order).
type (
	wireCurrentUser struct {
		ID               int64    `json:"id"`
		Username         string   `json:"username"`
		PublicEmail      string   `json:"public_email"`
		Name             string   `json:"name"`
		State            string   `json:"state"`
		Locked           bool     `json:"locked"`
		AvatarURL        *string  `json:"avatar_url"`
		WebURL           string   `json:"web_url"`
		CreatedAt        jsonTime `json:"created_at"`
		Bot              bool     `json:"bot"`
		LastSignInAt     *string  `json:"last_sign_in_at"`
		ConfirmedAt      jsonTime `json:"confirmed_at"`
		LastActivityOn   *string  `json:"last_activity_on"`
		Email            string   `json:"email"`
		ProjectsLimit    int      `json:"projects_limit"`
		CurrentSignInAt  *string  `json:"current_sign_in_at"`
		Identities       []string `json:"identities"`
		CanCreateGroup   bool     `json:"can_create_group"`
		CanCreateProject bool     `json:"can_create_project"`
		TwoFactorEnabled bool     `json:"two_factor_enabled"`
		External         bool     `json:"external"`
		PrivateProfile   bool     `json:"private_profile"`
		CommitEmail      string   `json:"commit_email"`
	}
	wireCurrentAdmin struct {
		wireCurrentUser
		IsAdmin     bool    `json:"is_admin"`
		Note        *string `json:"note"`
		NamespaceID int64   `json:"namespace_id"`
		CreatedBy   *string `json:"created_by"`
	}
)

// handleUser serves GET /user: the token's user, with "is_admin": true
// for an administrator and without the key for anyone else (corrections
// #18).
func (s *Server) handleUser(c *call) {
	web := c.origin()
	s.mu.Lock()
	u := s.userLocked(c.token.username)
	out := wireCurrentUser{
		ID: u.id, Username: u.username, PublicEmail: u.publicEmail, Name: u.name, State: "active",
		WebURL: web + "/" + u.username, CreatedAt: jsonTime(u.created), ConfirmedAt: jsonTime(u.created),
		Email: u.email, ProjectsLimit: 100_000, Identities: []string{}, CanCreateGroup: true,
		CanCreateProject: true, CommitEmail: u.email,
	}
	nsID := s.namespaceIDLocked(u.username)
	s.mu.Unlock()
	if c.admin {
		c.json(http.StatusOK, wireCurrentAdmin{wireCurrentUser: out, IsAdmin: true, NamespaceID: nsID})
		return
	}
	c.json(http.StatusOK, out)
}

// origin is GitLab's external URL (Link hrefs, web_url): the one of
// WithExternalURL, else the scheme http and the host the request was sent
// to.
func (c *call) origin() string {
	if ext := c.s.cfg.external; ext != "" {
		return ext
	}
	if c.r.Host != "" {
		return "http://" + c.r.Host
	}
	return c.s.URL()
}

// writeJSON sends body with the headers GitLab's API sends.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Vary", "Origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if status < 300 {
		h.Set("Cache-Control", "max-age=0, private, must-revalidate")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// mustJSON encodes values built by this package, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"message":"500 Internal Server Error"}`)
	}
	return b
}

func jsonMessage(msg string) []byte { return mustJSON(map[string]string{"message": msg}) }

func (c *call) json(status int, v any) { writeJSON(c.w, status, mustJSON(v)) }

func (c *call) raw(status int, body []byte) { writeJSON(c.w, status, body) }

// message answers {"message": msg}, the body of GitLab's error helpers.
func (c *call) message(status int, msg string) { writeJSON(c.w, status, jsonMessage(msg)) }

// grapeError answers {"error": msg}, the body of Grape's validation errors
// and of the catch-all route.
func (c *call) grapeError(status int, msg string) {
	writeJSON(c.w, status, mustJSON(map[string]string{"error": msg}))
}

// fieldError is one entry of a model validation error.
type fieldError struct {
	field string
	msgs  []string
}

// fieldErrors answers 400 {"message":{"field":["msg", ...]}} with the
// fields in the order given.
func (c *call) fieldErrors(errs []fieldError) {
	var b bytes.Buffer
	b.WriteString(`{"message":{`)
	for i, fe := range errs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustJSON(fe.field))
		b.WriteByte(':')
		b.Write(mustJSON(fe.msgs))
	}
	b.WriteString(`}}`)
	c.raw(http.StatusBadRequest, b.Bytes())
}

// paramErrors collects Grape validation messages; GitLab joins them with
// ", " in one {"error": ...} body.
type paramErrors []string

func (e *paramErrors) add(msg string) { *e = append(*e, msg) }

// send answers 400 and reports true if there were errors.
func (e paramErrors) send(c *call) bool {
	if len(e) == 0 {
		return false
	}
	c.grapeError(http.StatusBadRequest, strings.Join(e, ", "))
	return true
}

// last returns the last value of key, as Rack keeps the last of repeated
// scalar parameters.
func last(q url.Values, key string) (string, bool) {
	vs, ok := q[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// parseInt coerces a parameter to an Integer the way Grape does.
func parseInt(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "+")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// bodyParams merges the query with a JSON or form body (the body wins), as
// Grape builds params. ok is false after a 400 was sent for a malformed
// body.
func (c *call) bodyParams() (map[string]any, bool) {
	params := paramsOf(c.query)
	if len(bytes.TrimSpace(c.body)) == 0 {
		return params, true
	}
	mediaType, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mediaType == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(c.body))
		if err != nil {
			c.grapeError(http.StatusBadRequest, "message body does not match declared format")
			return nil, false
		}
		maps.Copy(params, paramsOf(form))
		return params, true
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		c.grapeError(http.StatusBadRequest, "message body does not match declared format")
		return nil, false
	}
	maps.Copy(params, obj)
	return params, true
}

// paramsOf converts query or form values to params as Rack builds them:
// "key[]" gives an array under "key", a repeated scalar keeps its last value.
func paramsOf(q url.Values) map[string]any {
	params := make(map[string]any, len(q))
	for k, vs := range q {
		if name, ok := strings.CutSuffix(k, "[]"); ok {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			params[name] = list
		} else if len(vs) > 0 {
			params[k] = vs[len(vs)-1]
		}
	}
	return params
}

// stringParam coerces a body parameter to a Grape String: absent or null
// gives ok=false, numbers and booleans become text, objects and arrays are
// invalid.
func stringParam(params map[string]any, key string) (val string, present, valid bool) {
	v, ok := params[key]
	if !ok || v == nil {
		return "", false, true
	}
	switch v := v.(type) {
	case string:
		return v, true, true
	case json.Number:
		return v.String(), true, true
	case bool:
		return strconv.FormatBool(v), true, true
	}
	return "", true, false
}

// gitlabTime formats t as GitLab's JSON does: UTC with milliseconds.
func gitlabTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// jsonTime marshals like GitLab's timestamps.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + gitlabTime(time.Time(t)) + `"`), nil
}
