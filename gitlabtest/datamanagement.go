package gitlabtest

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
)

const (
	noTime   = math.MinInt64 // a null timestamp
	noState  = int8(-1)      // no checksum_information
	anyState = int8(-2)      // no checksum_state filter
)

// Checksum state numbers, as older GitLab sends them.
const (
	statePending int8 = iota
	stateStarted
	stateSucceeded
	stateFailed
	stateDisabled
)

const (
	flagSum       uint8 = 1 << iota // checksum is set (ext.sum, else derived)
	flagFailure                     // checksum_failure is set (ext.failure)
	flagSharedExt                   // ext is shared with other records: copy before changing
)

// defaultFailure is the checksum_failure of records that AddRecords creates
// in state failed.
const defaultFailure = "Error during verification: File is not checksummable"

// record is one Data management record, kept small and free of pointers
// so that a million of them fit in memory cheaply and cost the garbage
// collector nothing. Times are Unix milliseconds.
type record struct {
	id       int64 // integer primary key; 0 for a composite key
	created  int64
	size     int64 // -1: null
	verified int64 // last_checksum
	retryAt  int64
	retries  int32 // -1: null
	ext      int32 // 1-based index into modelStore.exts; 0: none
	state    int8  // statePending…stateDisabled, or noState
	flags    uint8
}

// recordExt holds what most records do not have.
type recordExt struct {
	parts    []string // composite primary key
	sum      string   // explicit checksum
	failure  string   // checksum_failure
	failWith string   // verification of this record fails with this text
}

// ext returns the record's extension, or nil. The pointer is valid until
// the next newExt.
func (m *modelStore) ext(r *record) *recordExt {
	if r.ext == 0 {
		return nil
	}
	return &m.exts[r.ext-1]
}

func (m *modelStore) newExt(e recordExt) int32 {
	m.exts = append(m.exts, e)
	return int32(len(m.exts))
}

// ownExt returns an extension of r's own, to change.
func (m *modelStore) ownExt(r *record) *recordExt {
	if r.ext == 0 || r.flags&flagSharedExt != 0 {
		var e recordExt
		if r.ext != 0 {
			e = m.exts[r.ext-1]
		}
		r.ext = m.newExt(e)
		r.flags &^= flagSharedExt
	}
	return &m.exts[r.ext-1]
}

func (m *modelStore) composite(r *record) bool {
	e := m.ext(r)
	return e != nil && e.parts != nil
}

func (m *modelStore) key(r *record) recKey {
	if e := m.ext(r); e != nil && e.parts != nil {
		return recKey{parts: e.parts}
	}
	return recKey{id: r.id}
}

// recKey is a primary key: an integer, or composite parts. Integer keys
// sort before composite ones.
type recKey struct {
	id    int64
	parts []string
}

func (k recKey) String() string {
	if k.parts != nil {
		return base64.URLEncoding.EncodeToString([]byte(strings.Join(k.parts, " ")))
	}
	return strconv.FormatInt(k.id, 10)
}

func compareKeys(a, b recKey) int {
	switch ac, bc := a.parts != nil, b.parts != nil; {
	case !ac && !bc:
		return cmp.Compare(a.id, b.id)
	case !ac:
		return -1
	case !bc:
		return 1
	}
	for i := range min(len(a.parts), len(b.parts)) {
		if c := comparePart(a.parts[i], b.parts[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.parts), len(b.parts))
}

// comparePart orders numeric parts numerically, before other parts.
func comparePart(x, y string) int {
	xi, xerr := strconv.ParseInt(x, 10, 64)
	yi, yerr := strconv.ParseInt(y, 10, 64)
	switch {
	case xerr == nil && yerr == nil:
		return cmp.Compare(xi, yi)
	case xerr == nil:
		return -1
	case yerr == nil:
		return 1
	}
	return strings.Compare(x, y)
}

// modelStore holds the records of one model, sorted by key.
type modelStore struct {
	name     gitlabdata.ModelName
	class    string
	noVerify bool
	recs     []record
	exts     []recordExt
	maxID    int64
	busy     int // records pending or started
}

// modelClasses are the Rails class names GitLab sends in model_class.
var modelClasses = map[gitlabdata.ModelName]string{
	"ci_job_artifacts":                        "Ci::JobArtifact",
	"ci_pipeline_artifacts":                   "Ci::PipelineArtifact",
	"ci_secure_files":                         "Ci::SecureFile",
	"container_repositories":                  "ContainerRepository",
	"dependency_proxy_blobs":                  "DependencyProxy::Blob",
	"dependency_proxy_manifests":              "DependencyProxy::Manifest",
	"design_management_repositories":          "DesignManagement::Repository",
	"group_wiki_repositories":                 "GroupWikiRepository",
	"lfs_objects":                             "LfsObject",
	"merge_request_diffs":                     "MergeRequestDiff",
	"packages_debian_project_component_files": "Packages::Debian::ProjectComponentFile",
	"packages_nuget_symbols":                  "Packages::Nuget::Symbol",
	"packages_package_files":                  "Packages::PackageFile",
	"pages_deployments":                       "PagesDeployment",
	"projects":                                "Project",
	"projects_wiki_repositories":              "Projects::WikiRepository",
	"snippet_repositories":                    "SnippetRepository",
	"supply_chain_attestations":               "SupplyChain::Attestation",
	"terraform_state_versions":                "Terraform::StateVersion",
	"uploads":                                 "Upload",
	"packages_helm_metadata_caches":           "Packages::Helm::MetadataCache",
}

// noCreatedAt are the models whose tables have no created_at column: the
// entity sends null (corrections #5).
var noCreatedAt = map[gitlabdata.ModelName]bool{"snippet_repositories": true, "group_wiki_repositories": true}

// primaryKeys are the primary-key columns of the models not keyed by id
// (corrections #4); they name the keyset order and the cursor's key.
var primaryKeys = map[gitlabdata.ModelName]string{"snippet_repositories": "snippet_id", "group_wiki_repositories": "group_id"}

// primaryKey returns the name of model's primary-key column.
func primaryKey(model gitlabdata.ModelName) string {
	if pk, ok := primaryKeys[model]; ok {
		return pk
	}
	return "id"
}

// sizedModels have a size column, so their file_size is not null.
var sizedModels = map[gitlabdata.ModelName]bool{
	"ci_job_artifacts": true, "ci_pipeline_artifacts": true, "dependency_proxy_blobs": true,
	"dependency_proxy_manifests": true, "lfs_objects": true, "packages_debian_project_component_files": true,
	"packages_nuget_symbols": true, "packages_package_files": true, "pages_deployments": true, "uploads": true,
}

// className is the class of model: known; Geo::<Owner>Upload for the
// geo_<owner>_uploads partitions; else the singular in CamelCase.
func className(model gitlabdata.ModelName) string {
	if c, ok := modelClasses[model]; ok {
		return c
	}
	if owner, ok := strings.CutPrefix(string(model), "geo_"); ok && strings.HasSuffix(owner, "_uploads") {
		return "Geo::" + camel(strings.TrimSuffix(owner, "s"))
	}
	return camel(singularize(string(model)))
}

func camel(name string) string {
	var b strings.Builder
	for _, w := range strings.Split(name, "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// modelLocked returns model's store, creating it.
func (s *Server) modelLocked(model gitlabdata.ModelName) *modelStore {
	m, ok := s.models[model]
	if !ok {
		m = &modelStore{name: model, class: className(model)}
		s.models[model] = m
	}
	return m
}

// resolveModelLocked maps the :model_name of a request to a store name
// (stores are named by the plural): exactly the names of the server's
// release ([ModelNamesOf]; the singular ones on 18.3 to 18.7) plus the
// extra models of [Server.AcceptModel]. Names are case-sensitive, as in
// GitLab.
func (s *Server) resolveModelLocked(name string) (gitlabdata.ModelName, bool) {
	if s.legacy() {
		for _, sg := range singularModelNames {
			if sg == name {
				if _, ok := s.models[gitlabdata.ModelName(name)]; ok {
					return gitlabdata.ModelName(name), true // seeded by its singular name
				}
				for _, p := range replicatorModelNames {
					if singularize(p) == name {
						return gitlabdata.ModelName(p), true
					}
				}
			}
		}
		for p := range s.extraModels {
			if singularize(string(p)) == name {
				return p, true
			}
		}
		return "", false
	}
	if acceptsPluralName(s.cfg.version, name) {
		return gitlabdata.ModelName(name), true
	}
	if s.extraModels[gitlabdata.ModelName(name)] {
		return gitlabdata.ModelName(name), true
	}
	return "", false
}

// AcceptModel makes the server accept model in requests although its
// release does not list it ([ModelNamesOf]): a model a later GitLab
// release adds, or one with a composite primary key, which no released
// GitLab serves (see [Server.AddCompositeRecords], which calls it). Pass
// the plural name; on 18.3 to 18.7 requests use its singular form.
func (s *Server) AcceptModel(model gitlabdata.ModelName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extraModels[model] = true
}

// verifiable reports whether model has Geo verification; an unseeded model
// has.
func (s *Server) verifiableLocked(model gitlabdata.ModelName) bool {
	if s.noGeo {
		return false
	}
	m, ok := s.models[model]
	return !ok || !m.noVerify
}

// firstRelease reports whether the server is GitLab 18.3, the first
// version of the Data management API: integer ids only, no filters, no
// bulk recalculation.
func (s *Server) firstRelease() bool { return s.cfg.version.less(Version{18, 4, 0}) }

// refuseNotPrimary answers GitLab's 400 for a checksum recalculation on an
// instance that is not a Geo primary, and reports whether it did.
func (s *Server) refuseNotPrimary(c *call) bool {
	s.mu.Lock()
	refused := s.noGeo
	s.mu.Unlock()
	if refused {
		c.message(http.StatusBadRequest, "400 Bad request - Endpoint only available on primary site.")
	}
	return refused
}

func unixMilli(t *time.Time) int64 {
	if t == nil {
		return noTime
	}
	return t.UnixMilli()
}

func stateNumber(st gitlabdata.ChecksumState) int8 {
	if n := stateByName(string(st)); n >= 0 {
		return n
	}
	return statePending
}

// AddRecord adds a record to model (use the plural name; on 18.3 to 18.7
// the singular name of a request finds the same records) and returns its
// id. Requests reach the records only if the server's release has the
// model (see [ModelNamesOf]) or [Server.AcceptModel] accepted it; a record
// with a composite identifier makes the model accepted. A zero
// RecordIdentifier gets the next integer id. A record with the same id is
// replaced. ModelClass, when set, becomes the class of the whole
// model. A nil ChecksumInformation leaves checksum_information out of the
// record's JSON.
//
// A record seeded with a non-empty ChecksumFailure fails every verification
// with that text (see [Server.SetVerificationFailure]). An unknown
// ChecksumState counts as pending. AddRecord returns the zero RecordID and
// stores nothing when the identifier is a composite id that is not valid
// base64.
func (s *Server) AddRecord(model gitlabdata.ModelName, r gitlabdata.ModelRecord) gitlabdata.RecordID {
	rec := record{created: unixMilli(r.CreatedAt), size: -1, verified: noTime, retryAt: noTime, retries: -1, state: noState}
	var ext recordExt
	if r.FileSize != nil {
		rec.size = *r.FileSize
	}
	if r.RecordIdentifier.IsComposite() {
		parts, err := r.RecordIdentifier.Parts()
		if err != nil {
			return gitlabdata.RecordID{}
		}
		ext.parts = parts
	} else {
		rec.id, _ = r.RecordIdentifier.Int()
	}
	if ci := r.ChecksumInformation; ci != nil {
		rec.state = stateNumber(ci.ChecksumState)
		rec.verified = unixMilli(ci.LastChecksum)
		rec.retryAt = unixMilli(ci.ChecksumRetryAt)
		if ci.ChecksumRetryCount != nil {
			rec.retries = int32(min(max(*ci.ChecksumRetryCount, 0), math.MaxInt32))
		}
		if ci.Checksum != nil {
			rec.flags |= flagSum
			ext.sum = *ci.Checksum
		}
		if ci.ChecksumFailure != nil {
			rec.flags |= flagFailure
			ext.failure = *ci.ChecksumFailure
			ext.failWith = *ci.ChecksumFailure
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelLocked(model)
	if ext.parts != nil {
		s.extraModels[model] = true // no GitLab model has a composite key
	}
	if r.ModelClass != "" {
		m.class = r.ModelClass
	}
	if ext.parts != nil || ext.sum != "" || ext.failure != "" || ext.failWith != "" {
		rec.ext = m.newExt(ext)
	}
	if ext.parts == nil && rec.id <= 0 {
		rec.id = m.maxID + 1
	}
	m.put(rec)
	if ext.parts != nil {
		return gitlabdata.CompositeRecordID(ext.parts...)
	}
	return gitlabdata.IntRecordID(rec.id)
}

// put inserts or replaces rec, keeping the slice sorted.
func (m *modelStore) put(rec record) {
	if !m.composite(&rec) {
		m.maxID = max(m.maxID, rec.id)
	}
	st := rec.state
	rec.state = noState
	i, found := m.find(m.key(&rec))
	if found {
		m.setState(&m.recs[i], noState)
		m.recs[i] = rec
	} else {
		m.recs = slices.Insert(m.recs, i, rec)
	}
	m.setState(&m.recs[i], st)
}

// find returns the index of key, or where it would be inserted.
func (m *modelStore) find(key recKey) (int, bool) {
	i := sort.Search(len(m.recs), func(i int) bool { return compareKeys(m.key(&m.recs[i]), key) >= 0 })
	return i, i < len(m.recs) && compareKeys(m.key(&m.recs[i]), key) == 0
}

// setState changes a record's state and keeps the count of records in
// progress.
func (m *modelStore) setState(r *record, st int8) {
	if r.state == statePending || r.state == stateStarted {
		m.busy--
	}
	if st == statePending || st == stateStarted {
		m.busy++
	}
	r.state = st
}

// recordEpoch anchors the created_at of generated records.
var recordEpoch = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC).UnixMilli()

// AddRecords adds n records with consecutive integer ids after the
// model's largest one, all in checksum state state, and returns the first
// id. The records have realistic fields derived from their id (created_at,
// file_size for models with a size, checksum and last_checksum when
// succeeded, checksum_failure and a retry when failed; failed records also
// fail verification again). It is meant for volume: records take 56 bytes
// each, and a million are added in a fraction of a second.
func (s *Server) AddRecords(model gitlabdata.ModelName, n int, state gitlabdata.ChecksumState) int64 {
	if n <= 0 {
		return 0
	}
	st := stateNumber(state)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelLocked(model)
	var ext int32
	if st == stateFailed {
		ext = m.newExt(recordExt{failure: defaultFailure, failWith: defaultFailure})
	}
	sized := sizedModels[model]
	first := m.maxID + 1
	// Integer keys sort before composite ones: open a gap before those.
	pos := sort.Search(len(m.recs), func(i int) bool { return m.composite(&m.recs[i]) })
	if pos == len(m.recs) {
		m.recs = slices.Grow(m.recs, n)[:pos+n]
		clear(m.recs[pos:])
	} else {
		m.recs = slices.Insert(m.recs, pos, make([]record, n)...)
	}
	for i := range n {
		r := &m.recs[pos+i]
		id := first + int64(i)
		r.id = id
		r.created = recordEpoch + id*60_000
		r.size = -1
		r.verified = noTime
		r.retryAt = noTime
		r.state = st
		if sized {
			r.size = 1024 + (id*7919)%50_000_000
		}
		switch st {
		case stateSucceeded:
			r.flags = flagSum
			r.verified = r.created + 3_600_000
		case stateFailed:
			r.flags = flagFailure | flagSharedExt
			r.verified = r.created + 3_600_000
			r.retries = 1
			r.retryAt = r.verified + 120_000
			r.ext = ext
		}
	}
	m.maxID = first + int64(n) - 1
	if st == statePending || st == stateStarted {
		m.busy += n
	}
	return first
}

// AddCompositeRecords adds n records with composite primary keys of
// keyParts columns (at least 2) to model, in checksum state succeeded, and
// returns their ids (base64, as GitLab sends them). No released GitLab
// model has a composite key, so it also accepts model in requests
// ([Server.AcceptModel]). Record i of the model
// has the key parts "<i>", "1", "2", ….
func (s *Server) AddCompositeRecords(model gitlabdata.ModelName, n int, keyParts int) []gitlabdata.RecordID {
	keyParts = max(keyParts, 2)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelLocked(model)
	s.extraModels[model] = true
	next := int64(1)
	for i := range m.recs {
		if e := m.ext(&m.recs[i]); e != nil && e.parts != nil {
			if v, err := strconv.ParseInt(e.parts[0], 10, 64); err == nil {
				next = max(next, v+1)
			}
		}
	}
	ids := make([]gitlabdata.RecordID, 0, max(n, 0))
	for i := range max(n, 0) {
		seq := next + int64(i)
		parts := make([]string, keyParts)
		parts[0] = strconv.FormatInt(seq, 10)
		for j := 1; j < keyParts; j++ {
			parts[j] = strconv.Itoa(j)
		}
		created := recordEpoch + seq*60_000
		r := record{
			created: created, size: 2048 + seq*31, verified: created + 3_600_000, retryAt: noTime,
			retries: 0, state: stateSucceeded, flags: flagSum, ext: m.newExt(recordExt{parts: parts}),
		}
		m.put(r)
		ids = append(ids, gitlabdata.CompositeRecordID(parts...))
	}
	return ids
}

// DisableVerification turns Geo verification off for model, as for a model
// without a replicator: its records have no checksum_information, and a
// checksum_state filter or a checksum recalculation answers 400
// "<Class> is not a verifiable model.".
func (s *Server) DisableVerification(model gitlabdata.ModelName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelLocked(model).noVerify = true
}

// SetVerificationFailure makes every later verification of the record fail
// with failure as checksum_failure, or succeed again when failure is "".
// It reports whether the record exists.
func (s *Server) SetVerificationFailure(model gitlabdata.ModelName, id gitlabdata.RecordID, failure string) bool {
	key, ok := keyOf(id)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[model]
	if !ok {
		return false
	}
	i, found := m.find(key)
	if !found {
		return false
	}
	m.ownExt(&m.recs[i]).failWith = failure
	return true
}

// Record returns a record of model as the API would send it (with
// ChecksumState as a string even in legacy mode).
func (s *Server) Record(model gitlabdata.ModelName, id gitlabdata.RecordID) (gitlabdata.ModelRecord, bool) {
	key, ok := keyOf(id)
	if !ok {
		return gitlabdata.ModelRecord{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[model]
	if !ok {
		return gitlabdata.ModelRecord{}, false
	}
	i, found := m.find(key)
	if !found {
		return gitlabdata.ModelRecord{}, false
	}
	var out gitlabdata.ModelRecord
	if err := json.Unmarshal(m.appendJSON(nil, &m.recs[i], false, s.noGeo), &out); err != nil {
		return gitlabdata.ModelRecord{}, false
	}
	return out, true
}

// keyOf converts an SDK id to a key.
func keyOf(id gitlabdata.RecordID) (recKey, bool) {
	if n, ok := id.Int(); ok {
		return recKey{id: n}, true
	}
	parts, err := id.Parts()
	if err != nil {
		return recKey{}, false
	}
	return recKey{parts: parts}, true
}

// derivedSum is the checksum of a record without an explicit one: stable,
// so that verifying unchanged data gives the same checksum.
func (m *modelStore) derivedSum(r *record) string {
	h := sha256.Sum256([]byte(string(m.name) + "/" + m.key(r).String()))
	return hex.EncodeToString(h[:])
}

// appendJSON renders a record as API::Entities::Admin::Model does.
//
// legacy sends checksum_state as an integer; noInfo leaves
// checksum_information out (an instance without Geo).
func (m *modelStore) appendJSON(b []byte, r *record, legacy, noInfo bool) []byte {
	b = append(b, `{"record_identifier":`...)
	ext := m.ext(r)
	if ext != nil && ext.parts != nil {
		b = appendString(b, m.key(r).String())
	} else {
		b = strconv.AppendInt(b, r.id, 10)
	}
	b = append(b, `,"model_class":`...)
	b = appendString(b, m.class)
	b = append(b, `,"created_at":`...)
	if noCreatedAt[m.name] {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, r.created)
	}
	b = append(b, `,"file_size":`...)
	if r.size < 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, r.size, 10)
	}
	if r.state != noState && !m.noVerify && !noInfo {
		b = append(b, `,"checksum_information":{"checksum":`...)
		switch {
		case r.flags&flagSum == 0:
			b = append(b, "null"...)
		case ext != nil && ext.sum != "":
			b = appendString(b, ext.sum)
		default:
			b = appendString(b, m.derivedSum(r))
		}
		b = append(b, `,"last_checksum":`...)
		b = appendTime(b, r.verified)
		b = append(b, `,"checksum_state":`...)
		if legacy {
			b = strconv.AppendInt(b, int64(r.state), 10)
		} else {
			b = appendString(b, checksumStateNames[r.state])
		}
		b = append(b, `,"checksum_retry_count":`...)
		if r.retries < 0 {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, int64(r.retries), 10)
		}
		b = append(b, `,"checksum_retry_at":`...)
		b = appendTime(b, r.retryAt)
		b = append(b, `,"checksum_failure":`...)
		if r.flags&flagFailure != 0 && ext != nil {
			b = appendString(b, ext.failure)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendTime(b []byte, ms int64) []byte {
	if ms == noTime {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, '"')
}

// appendString appends s as a JSON string, escaping like encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, mustJSON(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// verify recalculates a record's checksum now, as Geo's verification does,
// and reports whether it succeeded.
func (m *modelStore) verify(r *record, now time.Time) bool {
	ms := now.UnixMilli()
	r.verified = ms
	if e := m.ext(r); e != nil && e.failWith != "" {
		if failWith := e.failWith; e.failure != failWith {
			m.ownExt(r).failure = failWith // e is stale from here
		}
		r.flags = r.flags&^flagSum | flagFailure
		r.retries = max(r.retries, 0) + 1
		r.retryAt = now.Add(retryDelay(r.retries)).UnixMilli()
		m.setState(r, stateFailed)
		return false
	}
	r.flags = r.flags&^flagFailure | flagSum
	r.retries = 0
	r.retryAt = noTime
	m.setState(r, stateSucceeded)
	return true
}

// retryDelay is the wait before a failed verification is retried:
// 2^retries minutes, at most a week.
func retryDelay(retries int32) time.Duration {
	return min(time.Duration(1)<<min(retries, 14)*time.Minute, 7*24*time.Hour)
}

// step advances the records in progress: pending → started → succeeded or
// failed.
func (m *modelStore) step(now time.Time) {
	if m.busy == 0 {
		return
	}
	for i := range m.recs {
		r := &m.recs[i]
		switch r.state {
		case statePending:
			m.setState(r, stateStarted)
		case stateStarted:
			m.verify(r, now)
		}
	}
}

// urlsafeDecode64 decodes like Ruby's Base64.urlsafe_decode64: padding is
// optional, "-_" and "+/" are both accepted, and anything else (bad
// characters, bad length, non-zero trailing bits, line breaks) is an error.
func urlsafeDecode64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(strings.IndexAny(s, "\r\n"))
	}
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		s += strings.Repeat("=", 4-len(s)%4)
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	return base64.StdEncoding.Strict().DecodeString(s)
}

// decodeComposite decodes a base64 record identifier like GitLab: Ruby's
// urlsafe_decode64, then a split on spaces. msg is the reason for a 400
// when it fails.
func decodeComposite(s string) (parts []string, msg string) {
	raw, err := urlsafeDecode64(s)
	if err != nil {
		return nil, "invalid base64"
	}
	if !strings.Contains(string(raw), " ") {
		return nil, "Invalid composite key format"
	}
	return strings.Fields(string(raw)), ""
}

// idFilter selects records by key.
type idFilter struct {
	active bool
	keys   []recKey
}

// identifierValues reads the identifiers param like Grape's
// types: [Array[Integer], Array[String]]: valid is false for a scalar or an
// array of objects. Empty values are dropped, as Grape turns them into nil
// and GitLab compacts the list.
func identifierValues(params map[string]any) (vals []string, valid bool) {
	v, ok := params["identifiers"]
	if !ok || v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	for _, e := range list {
		switch e := e.(type) {
		case nil:
		case string:
			if e != "" {
				vals = append(vals, e)
			}
		case json.Number:
			vals = append(vals, e.String())
		default:
			return nil, false
		}
	}
	return vals, true
}

// decodeIdentifiers turns identifier values into keys like GitLab: all
// integers are used as they are; otherwise every value is decoded as a
// base64 composite key. msg is the reason for a 400.
func decodeIdentifiers(vals []string) (f idFilter, msg string) {
	if len(vals) == 0 {
		return f, ""
	}
	f.active = true
	ints := make([]recKey, 0, len(vals))
	for _, v := range vals {
		n, ok := parseInt(v)
		if !ok {
			ints = nil
			break
		}
		ints = append(ints, recKey{id: n})
	}
	if ints != nil {
		f.keys = ints
		return f, ""
	}
	for _, v := range vals {
		parts, msg := decodeComposite(v)
		if msg != "" {
			return idFilter{}, msg
		}
		f.keys = append(f.keys, recKey{parts: parts})
	}
	return f, ""
}

// candidates returns the indexes of the records f names, ascending.
func (m *modelStore) candidates(f idFilter) []int {
	var idx []int
	for _, k := range f.keys {
		if i, ok := m.find(k); ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// walk calls fn for each record index in [lo, hi) that matches the id
// filter and the state, ascending (or descending), until fn returns false.
func (m *modelStore) walk(f idFilter, state int8, lo, hi int, desc bool, fn func(i int) bool) {
	ok := func(i int) bool { return state == anyState || m.recs[i].state == state }
	if f.active {
		c := m.candidates(f)
		if desc {
			slices.Reverse(c)
		}
		for _, i := range c {
			if i >= lo && i < hi && ok(i) && !fn(i) {
				return
			}
		}
		return
	}
	if desc {
		for i := hi - 1; i >= lo; i-- {
			if ok(i) && !fn(i) {
				return
			}
		}
		return
	}
	for i := lo; i < hi; i++ {
		if ok(i) && !fn(i) {
			return
		}
	}
}

// dmParams holds the validated params of a listing.
type dmParams struct {
	model    gitlabdata.ModelName
	paging   paging
	keyset   bool
	desc     bool
	state    int8
	idVals   []string
	cursor   string
	hasState bool
}

// validateModel checks :model_name; it takes the lock.
func (s *Server) validateModel(c *call, errs *paramErrors) gitlabdata.ModelName {
	s.mu.Lock()
	model, ok := s.resolveModelLocked(c.pathParams[0][1])
	s.mu.Unlock()
	if !ok {
		errs.add("model_name does not have a valid value")
	}
	return model
}

// checksumStateParam validates checksum_state against allowed.
func checksumStateParam(params map[string]any, allowed []string, errs *paramErrors) (int8, bool) {
	v, present, valid := stringParam(params, "checksum_state")
	if !present {
		return anyState, false
	}
	if valid && slices.Contains(allowed, v) {
		return stateByName(v), true
	}
	errs.add("checksum_state does not have a valid value")
	return anyState, false
}

// refuseUnverifiable answers GitLab's 400 when model's verification is off,
// and reports whether it did. It takes and releases s.mu itself.
func (s *Server) refuseUnverifiable(c *call, model gitlabdata.ModelName) bool {
	s.mu.Lock()
	refused := !s.verifiableLocked(model)
	var class string
	if refused {
		class = s.modelLocked(model).class
	}
	s.mu.Unlock()
	if refused {
		c.message(http.StatusBadRequest, "400 Bad request - "+class+" is not a verifiable model.")
	}
	return refused
}

// dmList serves GET /admin/data_management/:model_name.
func (s *Server) dmList(c *call) {
	params := paramsOf(c.query)
	var errs paramErrors
	var p dmParams
	p.model = s.validateModel(c, &errs)
	pagination, _ := last(c.query, "pagination")
	p.keyset = !s.legacy() && pagination == "keyset"
	p.paging = parsePaging(c.query, &errs, !p.keyset)
	if s.firstRelease() {
		// 18.3 declared no filters: they are ignored.
		params = nil
	}
	vals, valid := identifierValues(params)
	if !valid {
		errs.add("identifiers is invalid")
	}
	p.idVals = vals
	p.state, p.hasState = checksumStateParam(params, checksumStateNames[:], &errs)
	if !s.legacy() {
		p.cursor, _ = last(c.query, "cursor")
		if v, ok := last(c.query, "sort"); ok {
			switch v {
			case "asc":
			case "desc":
				p.desc = true
			default:
				errs.add("sort does not have a valid value")
			}
		}
	}
	if errs.send(c) {
		return
	}
	f, msg := decodeIdentifiers(p.idVals)
	if msg != "" {
		c.message(http.StatusBadRequest, "400 Bad request - "+msg)
		return
	}
	if p.hasState && s.refuseUnverifiable(c, p.model) {
		return
	}
	s.mu.Lock()
	m := s.models[p.model]
	if m == nil {
		m = &modelStore{name: p.model, class: className(p.model)}
	}
	if p.keyset {
		s.dmKeysetLocked(c, m, f, p)
	} else {
		s.dmOffsetLocked(c, m, f, p)
	}
}

// dmOffsetLocked answers an offset page, always ascending by key. It
// releases the lock.
func (s *Server) dmOffsetLocked(c *call, m *modelStore, f idFilter, p dmParams) {
	per := p.paging.perPage
	off := (p.paging.page - 1) * per
	var items []int
	n := 0
	if !f.active && p.state == anyState {
		n = len(m.recs)
		for i := off; i < min(off+per+1, n); i++ {
			items = append(items, i)
		}
	} else {
		m.walk(f, p.state, 0, len(m.recs), false, func(i int) bool {
			if n >= off && len(items) <= per {
				items = append(items, i)
			}
			n++
			return n <= countLimit || n < off+per+1
		})
	}
	hasNext := len(items) > per
	items = items[:min(len(items), per)]
	body := s.renderLocked(m, items)
	s.mu.Unlock()
	counted := n <= countLimit && !s.legacy()
	defaults := map[string]string{}
	if !s.legacy() {
		defaults["sort"] = "asc"
	}
	c.setOffsetHeaders(newOffsetPage(p.paging, counted, n, len(items), hasNext), defaults)
	c.raw(http.StatusOK, body)
}

// dmKeysetLocked answers a keyset page. It releases the lock.
//
// A forward cursor ("_kd":"n") gives the page after its key, a backward
// one ("_kd":"p") the page before it, in the requested order either way
// (corrections #3). As GitLab's Paginator, a page reached by a forward
// cursor is taken to have a previous page and one reached backward to
// have a next page. X-NEXT-CURSOR (with Link rel="next") and
// X-PREV-CURSOR are sent for the pages that exist (corrections #2); an
// empty page carries no pagination headers.
func (s *Server) dmKeysetLocked(c *call, m *modelStore, f idFilter, p dmParams) {
	pk := primaryKey(m.name)
	lo, hi := 0, len(m.recs)
	backward := false
	if p.cursor != "" {
		bound, kd, ok := decodeCursor(p.cursor, pk)
		if !ok {
			s.mu.Unlock()
			// GitLab does not rescue a malformed cursor.
			c.message(http.StatusInternalServerError, "500 Internal Server Error")
			return
		}
		backward = kd == "p"
		i, found := m.find(bound)
		if after := p.desc == backward; after {
			lo = i
			if found {
				lo++
			}
		} else {
			hi = i
		}
	}
	per := p.paging.perPage
	var items []int
	m.walk(f, p.state, lo, hi, p.desc != backward, func(i int) bool {
		items = append(items, i)
		return len(items) <= per
	})
	more := len(items) > per
	items = items[:min(len(items), per)]
	if backward {
		slices.Reverse(items)
	}
	hasNext, hasPrev := more, p.cursor != ""
	if backward {
		hasNext, hasPrev = true, more
	}
	var next, prev string
	if len(items) > 0 {
		if hasNext {
			next = encodeCursor(pk, m.key(&m.recs[items[len(items)-1]]), "n")
		}
		if hasPrev {
			prev = encodeCursor(pk, m.key(&m.recs[items[0]]), "p")
		}
	}
	body := s.renderLocked(m, items)
	s.mu.Unlock()
	h := c.w.Header()
	if next != "" {
		href := c.linkURL(
			map[string]string{"page": "1", "sort": "asc"},
			map[string]string{"cursor": next, "order_by": pk, "per_page": strconv.FormatInt(p.paging.linkPerPage, 10)},
		)
		h.Set("Link", "<"+href+`>; rel="next"`)
		h.Set("X-Next-Cursor", next)
	}
	if prev != "" {
		h.Set("X-Prev-Cursor", prev)
	}
	c.raw(http.StatusOK, body)
}

// encodeCursor builds GitLab's keyset cursor: padded URL-safe base64 of
// {"<pk>":"<key>","_kd":"<kd>"}, the key as a string.
func encodeCursor(pk string, k recKey, kd string) string {
	raw := `{` + string(mustJSON(pk)) + `:` + string(mustJSON(k.String())) + `,"_kd":"` + kd + `"}`
	return base64.URLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a cursor keyed by the column pk, and its direction
// ("n" unless "_kd" says "p").
func decodeCursor(s, pk string) (recKey, string, bool) {
	raw, err := urlsafeDecode64(s)
	if err != nil {
		return recKey{}, "", false
	}
	var attrs map[string]any
	if err := json.Unmarshal(raw, &attrs); err != nil {
		return recKey{}, "", false
	}
	kd := "n"
	if v, _ := attrs["_kd"].(string); v == "p" {
		kd = "p"
	}
	var id string
	switch v := attrs[pk].(type) {
	case string:
		id = v
	case float64:
		id = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return recKey{}, "", false
	}
	if n, ok := parseInt(id); ok {
		return recKey{id: n}, kd, true
	}
	parts, msg := decodeComposite(id)
	if msg != "" {
		return recKey{}, "", false
	}
	return recKey{parts: parts}, kd, true
}

// renderLocked renders the records at idx as a JSON array.
func (s *Server) renderLocked(m *modelStore, idx []int) []byte {
	b := make([]byte, 0, 64+len(idx)*360)
	b = append(b, '[')
	for j, i := range idx {
		if j > 0 {
			b = append(b, ',')
		}
		b = m.appendJSON(b, &m.recs[i], s.legacy(), s.noGeo)
	}
	return append(b, ']')
}

// recordParam reads :record_identifier as Grape's types: [Integer, String]
// and GitLab's lookup do: the key, and the text GitLab echoes in a 404.
func recordParam(v string) (key recKey, shown string, msg string) {
	if n, ok := parseInt(v); ok {
		return recKey{id: n}, strconv.FormatInt(n, 10), ""
	}
	parts, msg := decodeComposite(v)
	return recKey{parts: parts}, v, msg
}

// dmGet serves GET /admin/data_management/:model_name/:record_identifier.
func (s *Server) dmGet(c *call) {
	var errs paramErrors
	model := s.validateModel(c, &errs)
	if s.firstRelease() {
		// 18.3 declared the record's :id as an Integer.
		if _, ok := parseInt(c.pathParams[1][1]); !ok {
			errs.add("id is invalid")
		}
	}
	if errs.send(c) {
		return
	}
	key, shown, msg := recordParam(c.pathParams[1][1])
	if msg != "" {
		c.message(http.StatusBadRequest, "400 Bad request - "+msg)
		return
	}
	s.mu.Lock()
	var body []byte
	if m, ok := s.models[model]; ok {
		if i, found := m.find(key); found {
			body = m.appendJSON(nil, &m.recs[i], s.legacy(), s.noGeo)
		}
	}
	s.mu.Unlock()
	if body == nil {
		c.message(http.StatusNotFound, "404 "+shown+" Not Found")
		return
	}
	c.raw(http.StatusOK, body)
}

// dmChecksum serves PUT /admin/data_management/:model_name/:record_identifier/checksum:
// a synchronous verification.
func (s *Server) dmChecksum(c *call) {
	var errs paramErrors
	model := s.validateModel(c, &errs)
	id, isInt := parseInt(c.pathParams[1][1])
	if !isInt {
		errs.add("record_identifier is invalid")
	}
	if errs.send(c) || s.refuseNotPrimary(c) {
		return
	}
	if s.refuseUnverifiable(c, model) {
		return
	}
	s.mu.Lock()
	var body []byte
	found, ok := false, false
	if m, exists := s.models[model]; exists {
		var i int
		if i, found = m.find(recKey{id: id}); found {
			ok = m.verify(&m.recs[i], s.now())
			body = m.appendJSON(nil, &m.recs[i], s.legacy(), s.noGeo)
		}
	}
	s.mu.Unlock()
	idText := strconv.FormatInt(id, 10)
	switch {
	case !found:
		c.message(http.StatusNotFound, "404 "+idText+" Not Found")
	case !ok:
		c.message(http.StatusBadRequest, "400 Bad request - Verifying "+c.pathParams[0][1]+"/"+idText+" failed.")
	default:
		c.raw(http.StatusOK, body)
	}
}

// bulkChecksumStates are the filters the bulk endpoint accepts (not
// pending).
var bulkChecksumStates = checksumStateNames[1:]

// dmBulkChecksum serves PUT /admin/data_management/:model_name/checksum:
// the matching records that are not pending become pending at once (the
// fake runs GitLab's batch worker synchronously); Step verifies them.
func (s *Server) dmBulkChecksum(c *call) {
	params, ok := c.bodyParams()
	if !ok {
		return
	}
	var errs paramErrors
	model := s.validateModel(c, &errs)
	state := anyState
	var vals []string
	if !s.legacy() {
		var valid bool
		vals, valid = identifierValues(params)
		if !valid {
			errs.add("identifiers is invalid")
		}
		state, _ = checksumStateParam(params, bulkChecksumStates, &errs)
	}
	if errs.send(c) || s.refuseNotPrimary(c) {
		return
	}
	if s.refuseUnverifiable(c, model) {
		return
	}
	f, msg := decodeIdentifiers(vals)
	if msg != "" {
		c.message(http.StatusBadRequest, "400 Bad request - "+msg)
		return
	}
	s.mu.Lock()
	if m, exists := s.models[model]; exists {
		if f.active && len(m.candidates(f)) == 0 {
			// GitLab's quirk: no matching record means no id filter.
			f = idFilter{}
		}
		m.walk(f, state, 0, len(m.recs), false, func(i int) bool {
			if r := &m.recs[i]; r.state != statePending {
				m.setState(r, statePending)
			}
			return true
		})
	}
	s.mu.Unlock()
	c.raw(http.StatusOK, []byte(`{"status":"success","message":"Batch update job has been successfully enqueued."}`))
}
