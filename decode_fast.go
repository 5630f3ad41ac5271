package gitlabdata

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file decodes the two hot bodies, data management records and project
// storage moves, without reflection. It accepts the well-formed JSON GitLab
// sends and gives up on anything unusual: a key that matches a field only
// case-insensitively, a duplicate key, a value of the wrong type, a number
// that is not a plain integer, a time encoding/json would refuse, bad syntax.
// decodeJSON then hands the same bytes to encoding/json, so unusual input
// gets encoding/json's own values and errors. FuzzDecodeModelRecords and
// FuzzDecodeStorageMoves check that both decoders agree on any input.
//
// Memory: the strings of a body are copied into one buffer (never pointing
// into the read buffer, which is reused); each record and the values it
// points to share one box, and a page's boxes come in two or three chunks.
// So a page costs a handful of allocations, and a record kept after its page
// is done keeps the page's strings and its chunk of boxes alive.

// decodeFast decodes data into out when out is a hot type and still holds
// its zero value (encoding/json merges into non-zero values; that case is
// left to it) and data is the usual JSON. It reports whether it did; when it
// did not, out is untouched.
func decodeFast(data []byte, out any) bool {
	switch out := out.(type) {
	case *[]*ModelRecord:
		if *out == nil {
			if items, ok := decodeList(data, (*cursor).modelRecord); ok {
				*out = items
				return true
			}
		}
	case *[]*ProjectRepositoryStorageMove:
		if *out == nil {
			if items, ok := decodeList(data, (*cursor).storageMove); ok {
				*out = items
				return true
			}
		}
	case *ModelRecord:
		if *out == (ModelRecord{}) {
			if item, ok := decodeOne(data, (*cursor).modelRecord); ok {
				*out = *item
				return true
			}
		}
	case *ProjectRepositoryStorageMove:
		if *out == (ProjectRepositoryStorageMove{}) {
			if item, ok := decodeOne(data, (*cursor).storageMove); ok {
				*out = *item
				return true
			}
		}
	}
	return false
}

// decodeList decodes a JSON array of objects, each into a box B by decode.
// A JSON null element becomes a nil item, as with encoding/json.
func decodeList[T, B any](data []byte, decode func(*cursor, *B) *T) ([]*T, bool) {
	c := newCursor(data)
	c.expect('[')
	start := c.pos
	items := make([]*T, 0, len(data)/256+1) // never nil: "[]" is an empty slice
	var free []B
	for i := 0; c.next(']', i); i++ {
		if c.null() {
			items = append(items, nil)
			continue
		}
		if len(free) == 0 {
			free = make([]B, c.chunkSize(start, i))
		}
		items = append(items, decode(c, &free[0]))
		free = free[1:]
	}
	c.end()
	return items, c.ok
}

// decodeOne decodes a single JSON object into a new box.
func decodeOne[T, B any](data []byte, decode func(*cursor, *B) *T) (*T, bool) {
	c := newCursor(data)
	item := decode(c, new(B))
	c.end()
	return item, c.ok
}

// recordBox holds a ModelRecord and every value it can point to.
type recordBox struct {
	rec                              ModelRecord
	info                             ChecksumInformation
	createdAt, lastChecksum, retryAt time.Time
	fileSize, retryCount             int64
	checksum, failure                string
}

var (
	modelRecordFields = []string{"record_identifier", "model_class", "created_at", "file_size", "checksum_information"}
	checksumFields    = []string{"checksum", "last_checksum", "checksum_state", "checksum_retry_count", "checksum_retry_at", "checksum_failure"}
)

func (c *cursor) modelRecord(b *recordBox) *ModelRecord {
	r := &b.rec
	var seen uint32
	c.expect('{')
	for i := 0; c.next('}', i); i++ {
		switch c.field(modelRecordFields, &seen) {
		case "record_identifier":
			r.RecordIdentifier = c.recordID()
		case "model_class":
			r.ModelClass = c.stringOrNull()
		case "created_at":
			r.CreatedAt = c.timePtr(&b.createdAt)
		case "file_size":
			r.FileSize = c.int64Ptr(&b.fileSize)
		case "checksum_information":
			if !c.null() {
				r.ChecksumInformation = c.checksumInformation(b)
			}
		default:
			c.skipValue(0)
		}
	}
	return r
}

func (c *cursor) checksumInformation(b *recordBox) *ChecksumInformation {
	ci := &b.info
	var seen uint32
	c.expect('{')
	for i := 0; c.next('}', i); i++ {
		switch c.field(checksumFields, &seen) {
		case "checksum":
			ci.Checksum = c.stringPtr(&b.checksum)
		case "last_checksum":
			ci.LastChecksum = c.timePtr(&b.lastChecksum)
		case "checksum_state":
			ci.ChecksumState = c.checksumState()
		case "checksum_retry_count":
			ci.ChecksumRetryCount = c.int64Ptr(&b.retryCount)
		case "checksum_retry_at":
			ci.ChecksumRetryAt = c.timePtr(&b.retryAt)
		case "checksum_failure":
			ci.ChecksumFailure = c.stringPtr(&b.failure)
		default:
			c.skipValue(0)
		}
	}
	return ci
}

// moveBox holds a ProjectRepositoryStorageMove and every value it can point to.
type moveBox struct {
	move                      ProjectRepositoryStorageMove
	project                   ProjectIdentity
	errorMessage, description string
	projectCreatedAt          time.Time
}

var (
	storageMoveFields = []string{"id", "created_at", "state", "source_storage_name", "destination_storage_name", "error_message", "project"}
	projectFields     = []string{"id", "description", "name", "name_with_namespace", "path", "path_with_namespace", "created_at"}
)

func (c *cursor) storageMove(b *moveBox) *ProjectRepositoryStorageMove {
	m := &b.move
	var seen uint32
	c.expect('{')
	for i := 0; c.next('}', i); i++ {
		switch c.field(storageMoveFields, &seen) {
		case "id":
			m.ID = c.int64OrNull()
		case "created_at":
			m.CreatedAt = c.timeOrNull()
		case "state":
			m.State = StorageMoveState(c.stringOrNull())
		case "source_storage_name":
			m.SourceStorageName = c.stringOrNull()
		case "destination_storage_name":
			m.DestinationStorageName = c.stringOrNull()
		case "error_message":
			m.ErrorMessage = c.stringPtr(&b.errorMessage)
		case "project":
			if !c.null() {
				m.Project = c.projectIdentity(b)
			}
		default:
			c.skipValue(0)
		}
	}
	return m
}

func (c *cursor) projectIdentity(b *moveBox) *ProjectIdentity {
	p := &b.project
	var seen uint32
	c.expect('{')
	for i := 0; c.next('}', i); i++ {
		switch c.field(projectFields, &seen) {
		case "id":
			p.ID = c.int64OrNull()
		case "description":
			p.Description = c.stringPtr(&b.description)
		case "name":
			p.Name = c.stringOrNull()
		case "name_with_namespace":
			p.NameWithNamespace = c.stringOrNull()
		case "path":
			p.Path = c.stringOrNull()
		case "path_with_namespace":
			p.PathWithNamespace = c.stringOrNull()
		case "created_at":
			p.CreatedAt = c.timePtr(&b.projectCreatedAt)
		default:
			c.skipValue(0)
		}
	}
	return p
}

// cursor reads JSON from data. Once it meets anything outside the subset
// it handles it fails: ok turns false, it jumps to the end, and every later
// read returns zero values, so callers need not check after each step.
type cursor struct {
	data  []byte
	pos   int
	ok    bool
	arena strings.Builder // holds decoded strings back to back
}

func newCursor(data []byte) *cursor {
	return &cursor{data: data, ok: true}
}

// keep copies b out of data into the arena. When the arena is full, a new
// one takes over, sized for a quarter of the bytes left (about the share of
// strings in GitLab's records); strings handed out earlier keep pointing
// into the old one, which never changes.
func (c *cursor) keep(b []byte) string {
	if c.arena.Cap()-c.arena.Len() < len(b) {
		c.arena = strings.Builder{}
		c.arena.Grow(len(b) + (len(c.data)-c.pos)/4)
	}
	start := c.arena.Len()
	c.arena.Write(b)
	return c.arena.String()[start:]
}

func (c *cursor) fail() {
	c.ok = false
	c.pos = len(c.data)
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (c *cursor) peek() byte {
	for c.pos < len(c.data) {
		switch b := c.data[c.pos]; b {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return b
		}
	}
	return 0
}

func (c *cursor) expect(b byte) {
	if c.peek() != b {
		c.fail()
		return
	}
	c.pos++
}

// end checks that only whitespace is left.
func (c *cursor) end() {
	if c.peek() != 0 || c.pos != len(c.data) {
		c.fail()
	}
}

// next steps to element i of the array or object that ends with closer:
// it consumes the comma before every element but the first. It returns
// false, having consumed closer, when there is no element i.
func (c *cursor) next(closer byte, i int) bool {
	if !c.ok {
		return false
	}
	switch b := c.peek(); {
	case b == closer:
		c.pos++
		return false
	case i == 0:
		return true
	case b == ',':
		c.pos++
		return true
	}
	c.fail()
	return false
}

// chunkSize is how many boxes to allocate at once: the number of elements
// the rest of the array probably holds, judged by the average size of the
// i elements since start. Before any element is known it assumes large
// ones, so that the first chunk is rarely too big; the next is then exact.
func (c *cursor) chunkSize(start, i int) int {
	size := 512
	if i > 0 {
		size = max((c.pos-start)/i, 1)
	}
	return min((len(c.data)-c.pos)/size+1, 1024)
}

// null consumes a null literal if one comes next.
func (c *cursor) null() bool {
	if c.peek() != 'n' {
		return false
	}
	c.literal("null")
	return true
}

func (c *cursor) literal(word string) {
	if string(c.data[c.pos:min(c.pos+len(word), len(c.data))]) != word {
		c.fail()
		return
	}
	c.pos += len(word)
}

// asciiText marks the bytes that stand for themselves inside a JSON string:
// printable ASCII but the quote and the backslash.
var asciiText = func() (t [256]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// span consumes the string literal that comes next and returns its bounds,
// quotes included. plain reports that it has no escapes and only valid
// UTF-8, so that its value is exactly the bytes between the quotes.
func (c *cursor) span() (start, end int, plain bool) {
	if c.peek() != '"' {
		c.fail()
		return 0, 0, false
	}
	d := c.data
	start, plain = c.pos, true
	ascii := true
	for i := start + 1; ; {
		for i < len(d) && asciiText[d[i]] {
			i++
		}
		switch {
		case i >= len(d):
			c.fail() // unterminated
			return 0, 0, false
		case d[i] == '"':
			c.pos = i + 1
			if !ascii {
				plain = plain && utf8.Valid(d[start+1:i])
			}
			return start, i + 1, plain
		case d[i] == '\\':
			plain = false
			i += 2 // the escaped byte cannot end the string
		case d[i] < ' ':
			c.fail() // a syntax error for encoding/json
			return 0, 0, false
		default:
			ascii = false
			i++
		}
	}
}

// str reads a string value.
func (c *cursor) str() string {
	start, end, plain := c.span()
	switch {
	case !c.ok:
		return ""
	case plain:
		return c.keep(c.data[start+1 : end-1])
	}
	// Escapes and invalid UTF-8 are rare: let encoding/json unquote them,
	// which also refuses malformed escapes.
	var s string
	if err := json.Unmarshal(c.data[start:end], &s); err != nil {
		c.fail()
	}
	return s
}

// field reads an object key and its colon. It returns the key when it is one
// of known, or "" for a key encoding/json would ignore. It fails on a key
// seen before (seen has a bit per known key) and on one encoding/json might
// match to a field case-insensitively or after unescaping.
func (c *cursor) field(known []string, seen *uint32) string {
	start, end, plain := c.span()
	c.expect(':')
	if !c.ok {
		return ""
	}
	key := c.data[start+1 : end-1]
	for i, name := range known {
		if string(key) == name {
			if *seen&(1<<i) != 0 {
				c.fail()
			}
			*seen |= 1 << i
			return name
		}
	}
	if !plain {
		c.fail()
		return ""
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf { // Unicode case folding, as in "ſ" and "s"
			c.fail()
			return ""
		}
	}
	for _, name := range known {
		if asciiEqualFold(key, name) {
			c.fail()
			return ""
		}
	}
	return ""
}

// asciiEqualFold is strings.EqualFold for ASCII text.
func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// number consumes a JSON number and reports whether it is a plain integer
// (no fraction or exponent).
func (c *cursor) number() (integer bool) {
	d, i := c.data, c.pos
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		c.fail()
		return false
	}
	integer = true
	if i < len(d) && d[i] == '.' {
		i++
		integer = false
		if !digits() {
			c.fail()
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		integer = false
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			c.fail()
			return false
		}
	}
	c.pos = i
	return integer
}

// integer reads a number that encoding/json would store in an int64.
func (c *cursor) integer() int64 {
	c.peek()
	start := c.pos
	if !c.number() {
		c.fail()
		return 0
	}
	n, err := strconv.ParseInt(string(c.data[start:c.pos]), 10, 64)
	if err != nil {
		c.fail()
	}
	return n
}

// stringOrNull reads a string field; null leaves it empty.
func (c *cursor) stringOrNull() string {
	if c.null() {
		return ""
	}
	return c.str()
}

// stringPtr reads a *string field into slot; null gives nil.
func (c *cursor) stringPtr(slot *string) *string {
	if c.null() {
		return nil
	}
	*slot = c.str()
	return slot
}

func (c *cursor) int64OrNull() int64 {
	if c.null() {
		return 0
	}
	return c.integer()
}

func (c *cursor) int64Ptr(slot *int64) *int64 {
	if c.null() {
		return nil
	}
	*slot = c.integer()
	return slot
}

// timeOrNull reads a time.Time field with time.Time's own UnmarshalJSON, as
// encoding/json does; null leaves it zero.
func (c *cursor) timeOrNull() time.Time {
	var t time.Time
	if c.null() {
		return t
	}
	start, end, plain := c.span()
	if !plain || t.UnmarshalJSON(c.data[start:end]) != nil {
		c.fail()
	}
	return t
}

func (c *cursor) timePtr(slot *time.Time) *time.Time {
	if c.null() {
		return nil
	}
	*slot = c.timeOrNull()
	return slot
}

// recordID decodes as RecordID.UnmarshalJSON does.
func (c *cursor) recordID() RecordID {
	switch c.peek() {
	case '"':
		return RecordID{enc: c.str()}
	case 'n':
		c.literal("null")
		return RecordID{}
	}
	return RecordID{num: c.integer()}
}

// checksumState decodes as ChecksumState.UnmarshalJSON does.
func (c *cursor) checksumState() ChecksumState {
	switch c.peek() {
	case '"':
		return ChecksumState(c.str())
	case 'n':
		c.literal("null")
		return ""
	}
	n := c.integer()
	if n >= 0 && n < int64(len(checksumStatesByInt)) {
		return checksumStatesByInt[n]
	}
	return ChecksumState(strconv.FormatInt(n, 10))
}

// skipString consumes a string literal, checking its escapes.
func (c *cursor) skipString() {
	start, end, plain := c.span()
	if c.ok && !plain && !json.Valid(c.data[start:end]) {
		c.fail()
	}
}

// maxSkipDepth bounds the nesting of ignored values the cursor skips
// itself; deeper ones go to encoding/json.
const maxSkipDepth = 32

// skipValue consumes a value of an unknown key, checking its syntax.
func (c *cursor) skipValue(depth int) {
	if depth > maxSkipDepth {
		c.fail()
		return
	}
	switch b := c.peek(); {
	case b == '"':
		c.skipString()
	case b == '{':
		c.pos++
		for i := 0; c.next('}', i); i++ {
			c.skipString()
			c.expect(':')
			c.skipValue(depth + 1)
		}
	case b == '[':
		c.pos++
		for i := 0; c.next(']', i); i++ {
			c.skipValue(depth + 1)
		}
	case b == 't':
		c.literal("true")
	case b == 'f':
		c.literal("false")
	case b == 'n':
		c.literal("null")
	case b == '-' || '0' <= b && b <= '9':
		c.number()
	default:
		c.fail()
	}
}
