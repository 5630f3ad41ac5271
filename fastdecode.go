package gitlabdata

import (
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
)

// This file decodes the hot bodies without reflection: data management
// records and the storage moves of projects, groups and snippets, as lists
// and as single objects. It reads them with a jsonscan.Scanner, which takes
// the well-formed JSON GitLab sends and gives up on anything unusual: a key
// that matches a field only case-insensitively, a duplicate key, a value of
// the wrong type, a number that is not a plain integer, a time
// encoding/json would refuse, bad syntax. decodeJSON then hands the same
// bytes to encoding/json, so unusual input gets encoding/json's own values
// and errors. FuzzDecodeModelRecords and FuzzDecodeStorageMoves check that
// both decoders agree on any input.
//
// The keys each decoder knows come from its struct's json tags (see
// tagKeys). A key a decoder knows but has no case for makes it give up, so
// a field added to a struct and not to its decoder costs speed, never
// correctness; TestFastDecodersCoverEveryField fails until it is added.
//
// Memory: the strings of a body are copied into one arena (never pointing
// into the read buffer, which is reused); each item and the values it
// points to share one box, and a page's boxes come in two or three chunks.
// So a page costs a handful of allocations, and an item kept after its page
// is done keeps the page's strings and its chunk of boxes alive.

// decodeFast decodes data into out when out is a hot type and still holds
// its zero value (encoding/json merges into non-zero values; that case is
// left to it) and data is the usual JSON. It reports whether it did; when it
// did not, out is untouched.
func decodeFast(data []byte, out any) bool { return decodeFastShared(data, out, nil) }

// decodeFastShared is decodeFast for a page of a listing: the short values
// items repeat (states, storage names, model classes, authors) come from
// shared, the listing's table, one copy each. A nil shared copies them.
func decodeFastShared(data []byte, out any, shared *jsonscan.Shared) bool {
	switch out := out.(type) {
	case *[]*ModelRecord:
		return *out == nil && decodeList(data, out, shared, decodeRecord)
	case *ModelRecord:
		return *out == (ModelRecord{}) && decodeOne(data, out, decodeRecord)
	case *[]*ProjectRepositoryStorageMove:
		return *out == nil && decodeList(data, out, shared, decodeProjectMove)
	case *ProjectRepositoryStorageMove:
		return *out == (ProjectRepositoryStorageMove{}) && decodeOne(data, out, decodeProjectMove)
	case *[]*GroupRepositoryStorageMove:
		return *out == nil && decodeList(data, out, shared, decodeGroupMove)
	case *GroupRepositoryStorageMove:
		return *out == (GroupRepositoryStorageMove{}) && decodeOne(data, out, decodeGroupMove)
	case *[]*SnippetRepositoryStorageMove:
		return *out == nil && decodeList(data, out, shared, decodeSnippetMove)
	case *SnippetRepositoryStorageMove:
		return *out == (SnippetRepositoryStorageMove{}) && decodeOne(data, out, decodeSnippetMove)
	}
	return false
}

// decodeList decodes a JSON array of objects into *out, each into a box B
// by decode, with shared as the Scanner's table of shared strings. A JSON null element becomes a nil item, as with encoding/json.
func decodeList[T, B any](data []byte, out *[]*T, shared *jsonscan.Shared, decode func(*jsonscan.Scanner, *B) *T) bool {
	var s jsonscan.Scanner
	s.Reset(data)
	s.Share(shared)
	s.Expect('[')
	start := s.Pos()
	items := make([]*T, 0, len(data)/256+1) // never nil: "[]" is an empty slice
	var free []B
	for i := 0; s.More(']', i); i++ {
		if s.Null() {
			items = append(items, nil)
			continue
		}
		if len(free) == 0 {
			free = make([]B, min(chunkSize(&s, start, i), maxChunkBytes/max(int(unsafe.Sizeof(free[0])), 1)))
		}
		items = append(items, decode(&s, &free[0]))
		free = free[1:]
	}
	s.End()
	if s.OK() {
		*out = items
	}
	return s.OK()
}

// maxChunkBytes bounds each allocation of boxes, and jsonscan bounds each
// arena of strings alike: 32 KiB is Go's largest small-object size class,
// so a chunk comes from the allocator's per-P caches, while anything larger
// takes the heap lock and is zeroed and returned to the OS on its own.
const maxChunkBytes = 32 << 10

// chunkSize is how many boxes to allocate at once: the number of elements
// the rest of the array probably holds, judged by the average size of the
// i elements since start. Before any element is known it assumes large
// ones, so that the first chunk is rarely too big; the next is then exact.
func chunkSize(s *jsonscan.Scanner, start, i int) int {
	size := 512
	if i > 0 {
		size = max((s.Pos()-start)/i, 1)
	}
	return min((s.Len()-s.Pos())/size+1, 1024)
}

// decodeOne decodes a single JSON object into *out.
func decodeOne[T, B any](data []byte, out *T, decode func(*jsonscan.Scanner, *B) *T) bool {
	var s jsonscan.Scanner
	s.Reset(data)
	item := decode(&s, new(B))
	s.End()
	if s.OK() {
		*out = *item
	}
	return s.OK()
}

// tagKeys returns the keys of T's json tags for a jsonscan decoder.
func tagKeys[T any]() *jsonscan.Keys {
	return jsonscan.NewKeys(jsonscan.FieldKeys(reflect.TypeFor[T]())...)
}

// Data management records.

var (
	recordKeys   = tagKeys[ModelRecord]()
	checksumKeys = tagKeys[ChecksumInformation]()
)

// recordBox holds a ModelRecord and every value it can point to.
type recordBox struct {
	rec                              ModelRecord
	info                             ChecksumInformation
	createdAt, lastChecksum, retryAt time.Time
	fileSize, retryCount             int64
	checksum, failure                string
}

func decodeRecord(s *jsonscan.Scanner, b *recordBox) *ModelRecord {
	r := &b.rec
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(recordKeys, &seen) {
		case "record_identifier":
			r.RecordIdentifier = decodeRecordID(s)
		case "model_class":
			r.ModelClass = s.SharedOrNull()
		case "created_at":
			r.CreatedAt = s.TimePtr(&b.createdAt)
		case "file_size":
			r.FileSize = s.Int64Ptr(&b.fileSize)
		case "checksum_information":
			if !s.Null() {
				r.ChecksumInformation = decodeChecksumInformation(s, b)
			}
		case "":
			s.Skip()
		default:
			s.Fail() // a field this decoder does not know yet
		}
	}
	return r
}

func decodeChecksumInformation(s *jsonscan.Scanner, b *recordBox) *ChecksumInformation {
	ci := &b.info
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(checksumKeys, &seen) {
		case "checksum":
			ci.Checksum = s.StringPtr(&b.checksum)
		case "last_checksum":
			ci.LastChecksum = s.TimePtr(&b.lastChecksum)
		case "checksum_state":
			ci.ChecksumState = decodeChecksumState(s)
		case "checksum_retry_count":
			ci.ChecksumRetryCount = s.Int64Ptr(&b.retryCount)
		case "checksum_retry_at":
			ci.ChecksumRetryAt = s.TimePtr(&b.retryAt)
		case "checksum_failure":
			ci.ChecksumFailure = s.StringPtr(&b.failure)
		case "":
			s.Skip()
		default:
			s.Fail()
		}
	}
	return ci
}

// decodeRecordID decodes as RecordID.UnmarshalJSON does.
func decodeRecordID(s *jsonscan.Scanner) RecordID {
	switch s.Peek() {
	case '"':
		return RecordID{enc: s.String()}
	case 'n':
		s.Literal("null")
		return RecordID{}
	}
	return RecordID{num: s.Int64()}
}

// decodeChecksumState decodes as ChecksumState.UnmarshalJSON does.
func decodeChecksumState(s *jsonscan.Scanner) ChecksumState {
	switch s.Peek() {
	case '"':
		return ChecksumState(s.Shared())
	case 'n':
		s.Literal("null")
		return ""
	}
	n := s.Int64()
	if n >= 0 && n < int64(len(checksumStatesByInt)) {
		return checksumStatesByInt[n]
	}
	return ChecksumState(strconv.FormatInt(n, 10))
}

// Storage moves.

var (
	projectMoveKeys = tagKeys[ProjectRepositoryStorageMove]()
	groupMoveKeys   = tagKeys[GroupRepositoryStorageMove]()
	snippetMoveKeys = tagKeys[SnippetRepositoryStorageMove]()
	projectKeys     = tagKeys[ProjectIdentity]()
	groupKeys       = tagKeys[BasicGroupDetails]()
	snippetKeys     = tagKeys[BasicSnippet]()
	userKeys        = tagKeys[UserBasic]()
)

// decodeMoveField decodes the value of key, a key of the shared
// RepositoryStorageMove fields, into m; errorMessage is the box's slot for
// *m.ErrorMessage. key "" is skipped; any other key makes s give up.
func decodeMoveField(s *jsonscan.Scanner, key string, m *RepositoryStorageMove, errorMessage *string) {
	switch key {
	case "id":
		m.ID = s.Int64OrNull()
	case "created_at":
		m.CreatedAt = s.TimeOrNull()
	case "state":
		m.State = StorageMoveState(s.SharedOrNull())
	case "source_storage_name":
		m.SourceStorageName = s.SharedOrNull()
	case "destination_storage_name":
		m.DestinationStorageName = s.SharedOrNull()
	case "error_message":
		m.ErrorMessage = s.StringPtr(errorMessage)
	case "":
		s.Skip()
	default:
		s.Fail()
	}
}

// projectMoveBox holds a ProjectRepositoryStorageMove and every value it
// can point to.
type projectMoveBox struct {
	move                      ProjectRepositoryStorageMove
	project                   ProjectIdentity
	errorMessage, description string
	projectCreatedAt          time.Time
}

func decodeProjectMove(s *jsonscan.Scanner, b *projectMoveBox) *ProjectRepositoryStorageMove {
	m := &b.move
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch key := s.Key(projectMoveKeys, &seen); key {
		case "project":
			if !s.Null() {
				m.Project = decodeProjectIdentity(s, b)
			}
		default:
			decodeMoveField(s, key, &m.RepositoryStorageMove, &b.errorMessage)
		}
	}
	return m
}

func decodeProjectIdentity(s *jsonscan.Scanner, b *projectMoveBox) *ProjectIdentity {
	p := &b.project
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(projectKeys, &seen) {
		case "id":
			p.ID = s.Int64OrNull()
		case "description":
			p.Description = s.StringPtr(&b.description)
		case "name":
			p.Name = s.StringOrNull()
		case "name_with_namespace":
			p.NameWithNamespace = s.StringOrNull()
		case "path":
			p.Path = s.StringOrNull()
		case "path_with_namespace":
			p.PathWithNamespace = s.StringOrNull()
		case "created_at":
			p.CreatedAt = s.TimePtr(&b.projectCreatedAt)
		case "":
			s.Skip()
		default:
			s.Fail()
		}
	}
	return p
}

// groupMoveBox holds a GroupRepositoryStorageMove and every value it can
// point to.
type groupMoveBox struct {
	move         GroupRepositoryStorageMove
	group        BasicGroupDetails
	errorMessage string
}

func decodeGroupMove(s *jsonscan.Scanner, b *groupMoveBox) *GroupRepositoryStorageMove {
	m := &b.move
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch key := s.Key(groupMoveKeys, &seen); key {
		case "group":
			if !s.Null() {
				m.Group = decodeGroupDetails(s, &b.group)
			}
		default:
			decodeMoveField(s, key, &m.RepositoryStorageMove, &b.errorMessage)
		}
	}
	return m
}

func decodeGroupDetails(s *jsonscan.Scanner, g *BasicGroupDetails) *BasicGroupDetails {
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(groupKeys, &seen) {
		case "id":
			g.ID = s.Int64OrNull()
		case "web_url":
			g.WebURL = s.StringOrNull()
		case "name":
			g.Name = s.StringOrNull()
		case "":
			s.Skip()
		default:
			s.Fail()
		}
	}
	return g
}

// snippetMoveBox holds a SnippetRepositoryStorageMove and every value it
// can point to.
type snippetMoveBox struct {
	move                              SnippetRepositoryStorageMove
	snippet                           BasicSnippet
	author                            UserBasic
	errorMessage, description, avatar string
	createdAt, updatedAt              time.Time
	projectID                         int64
}

func decodeSnippetMove(s *jsonscan.Scanner, b *snippetMoveBox) *SnippetRepositoryStorageMove {
	m := &b.move
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch key := s.Key(snippetMoveKeys, &seen); key {
		case "snippet":
			if !s.Null() {
				m.Snippet = decodeBasicSnippet(s, b)
			}
		default:
			decodeMoveField(s, key, &m.RepositoryStorageMove, &b.errorMessage)
		}
	}
	return m
}

func decodeBasicSnippet(s *jsonscan.Scanner, b *snippetMoveBox) *BasicSnippet {
	sn := &b.snippet
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(snippetKeys, &seen) {
		case "id":
			sn.ID = s.Int64OrNull()
		case "title":
			sn.Title = s.StringOrNull()
		case "description":
			sn.Description = s.StringPtr(&b.description)
		case "visibility":
			sn.Visibility = s.SharedOrNull()
		case "author":
			if !s.Null() {
				sn.Author = decodeUserBasic(s, b)
			}
		case "created_at":
			sn.CreatedAt = s.TimePtr(&b.createdAt)
		case "updated_at":
			sn.UpdatedAt = s.TimePtr(&b.updatedAt)
		case "project_id":
			sn.ProjectID = s.Int64Ptr(&b.projectID)
		case "web_url":
			sn.WebURL = s.StringOrNull()
		case "raw_url":
			sn.RawURL = s.StringOrNull()
		case "ssh_url_to_repo":
			sn.SSHURLToRepo = s.StringOrNull()
		case "http_url_to_repo":
			sn.HTTPURLToRepo = s.StringOrNull()
		case "":
			s.Skip()
		default:
			s.Fail()
		}
	}
	return sn
}

func decodeUserBasic(s *jsonscan.Scanner, b *snippetMoveBox) *UserBasic {
	u := &b.author
	var seen uint64
	s.Expect('{')
	for i := 0; s.More('}', i); i++ {
		switch s.Key(userKeys, &seen) {
		case "id":
			u.ID = s.Int64OrNull()
		case "username":
			u.Username = s.SharedOrNull()
		case "public_email":
			u.PublicEmail = s.SharedOrNull()
		case "name":
			u.Name = s.SharedOrNull()
		case "state":
			u.State = s.SharedOrNull()
		case "locked":
			u.Locked = s.BoolOrNull()
		case "avatar_url":
			u.AvatarURL = s.SharedPtr(&b.avatar)
		case "web_url":
			u.WebURL = s.SharedOrNull()
		case "":
			s.Skip()
		default:
			s.Fail()
		}
	}
	return u
}
