// Package jsonscan reads the plain JSON that GitLab sends, for the
// reflection-free decoders of the gitlabdata package.
//
// A [Scanner] handles a strict subset of JSON and gives up on anything
// outside it: a syntax error, a string with a control character, a number
// that is not a plain integer where one is wanted, nesting deeper than
// [MaxSkipDepth]. Giving up is not an error. The caller is expected to hand
// the same bytes to encoding/json, which then produces its own values and
// errors; the Scanner never accepts what encoding/json would refuse.
//
// Once the Scanner has given up, [Scanner.OK] is false, the Scanner sits at
// the end of its input and every read returns a zero value, so callers need
// not check after each step, only once at the end.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads JSON values from a byte slice.
//
// Strings it returns are copied into an arena of its own, never pointing
// into the input, so the input may be overwritten once decoding is done.
type Scanner struct {
	data  []byte
	pos   int
	ok    bool
	arena strings.Builder // holds decoded strings back to back
	// scratch holds a string while its escapes are resolved.
	scratch []byte
	// kept counts the string bytes copied into arenas since Reset.
	kept int
	// shared, when set, keeps one copy of short repeated values.
	shared *Shared
}

// Reset makes s read data from the start, keeping nothing from before but
// the arena's unused room (strings handed out earlier stay valid).
func (s *Scanner) Reset(data []byte) {
	s.data, s.pos, s.ok, s.kept = data, 0, true, 0
}

// OK reports whether the Scanner has read everything so far.
func (s *Scanner) OK() bool { return s.ok }

// Pos is the offset of the next unread byte.
func (s *Scanner) Pos() int { return s.pos }

// Len is the length of the input.
func (s *Scanner) Len() int { return len(s.data) }

// Fail gives up: OK turns false and the Scanner jumps to the end.
func (s *Scanner) Fail() {
	s.ok = false
	s.pos = len(s.data)
}

// maxArena bounds the room an arena is given beyond the string that needs
// it: 32 KiB, Go's largest small-object size class, so that an arena comes
// from the allocator's per-P caches rather than the heap lock.
const maxArena = 32<<10 - 64

// firstArena is the most room the first arena of an input gets: until a
// few items are read nothing says how many of their string bytes must be
// copied (values a Shared table holds are not).
const firstArena = 4 << 10

// keep copies b into the arena. When the arena is full, a new one takes
// over, sized for the strings the rest of the input probably holds: the
// share of string bytes copied so far (before any, a quarter of what is
// left, at most firstArena), plus a little. Strings handed out earlier keep
// pointing into the old one, which never changes.
func (s *Scanner) keep(b []byte) string {
	if s.arena.Cap()-s.arena.Len() < len(b) {
		left := len(s.data) - s.pos
		guess := min(left/4, firstArena)
		if s.pos > 0 && s.kept > 0 {
			guess = int(int64(left)*int64(s.kept)/int64(s.pos)) + left/32
		}
		s.arena = strings.Builder{}
		s.arena.Grow(len(b) + min(guess, left, maxArena))
	}
	s.kept += len(b)
	start := s.arena.Len()
	s.arena.Write(b)
	return s.arena.String()[start:]
}

// Peek skips whitespace and returns the next byte, or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return s.data[s.pos] // the common case: compact JSON
	}
	return s.skipSpace()
}

// skipSpace is Peek past whitespace.
func (s *Scanner) skipSpace() byte {
	for s.pos < len(s.data) {
		switch b := s.data[s.pos]; b {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return b
		}
	}
	return 0
}

// Expect consumes b, the next byte after whitespace, or gives up.
func (s *Scanner) Expect(b byte) {
	if s.pos < len(s.data) && s.data[s.pos] == b {
		s.pos++ // the common case: no whitespace
		return
	}
	if s.Peek() != b {
		s.Fail()
		return
	}
	s.pos++
}

// End gives up unless only whitespace is left.
func (s *Scanner) End() {
	if s.Peek() != 0 || s.pos != len(s.data) {
		s.Fail()
	}
}

// More steps to element i of the array or object that ends with closer:
// it consumes the comma before every element but the first. It returns
// false, having consumed closer, when there is no element i.
func (s *Scanner) More(closer byte, i int) bool {
	if !s.ok {
		return false
	}
	switch b := s.Peek(); {
	case b == closer:
		s.pos++
		return false
	case i == 0:
		return true
	case b == ',':
		s.pos++
		return true
	}
	s.Fail()
	return false
}

// Null consumes a null literal if one comes next.
func (s *Scanner) Null() bool {
	if s.Peek() != 'n' {
		return false
	}
	s.Literal("null")
	return true
}

// Literal consumes word, or gives up.
func (s *Scanner) Literal(word string) {
	if string(s.data[s.pos:min(s.pos+len(word), len(s.data))]) != word {
		s.Fail()
		return
	}
	s.pos += len(word)
}

// asciiText marks the bytes that stand for themselves inside a JSON string:
// printable ASCII but the quote and the backslash.
var asciiText = func() (t [256]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// SWAR constants: a byte of each in every lane of a uint64.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plainRun returns how many of the 8 bytes in w, from the lowest, stand for
// themselves in a JSON string (see asciiText).
func plainRun(w uint64) int {
	// A lane is special when it is below 0x20, is '"' or '\\', or has its
	// top bit set. Each test sets the top bit of the lanes it finds; the
	// borrow of a subtraction can only spill upwards, from a lane that is
	// special itself, so the lowest set lane is exact.
	low := (w - lanes01*0x20) &^ w
	quote := w ^ (lanes01 * '"')
	quote = (quote - lanes01) &^ quote
	slash := w ^ (lanes01 * '\\')
	slash = (slash - lanes01) &^ slash
	special := (low | quote | slash | w) & lanes80
	return bits.TrailingZeros64(special) / 8
}

// span consumes the string literal that comes next and returns its bounds,
// quotes included. plain reports that it has no escapes and only valid
// UTF-8, so that its value is exactly the bytes between the quotes.
func (s *Scanner) span() (start, end int, plain bool) {
	if s.Peek() != '"' {
		s.Fail()
		return 0, 0, false
	}
	d := s.data
	start, plain = s.pos, true
	ascii := true
	for i := start + 1; ; {
		for i+8 <= len(d) {
			n := plainRun(binary.LittleEndian.Uint64(d[i:]))
			i += n
			if n < 8 {
				break
			}
		}
		for i < len(d) && asciiText[d[i]] {
			i++
		}
		switch {
		case i >= len(d):
			s.Fail() // unterminated
			return 0, 0, false
		case d[i] == '"':
			s.pos = i + 1
			if !ascii {
				plain = plain && utf8.Valid(d[start+1:i])
			}
			return start, i + 1, plain
		case d[i] == '\\':
			plain = false
			i += 2 // the escaped byte cannot end the string
		case d[i] < ' ':
			s.Fail() // a syntax error for encoding/json
			return 0, 0, false
		default:
			ascii = false
			i++
		}
	}
}

// String reads a string value.
func (s *Scanner) String() string {
	start, end, plain := s.span()
	return s.value(start, end, plain)
}

// value is the value of the string literal span just read: a copy in the
// arena, with any escapes resolved.
func (s *Scanner) value(start, end int, plain bool) string {
	switch {
	case !s.ok:
		return ""
	case plain:
		return s.keep(s.data[start+1 : end-1])
	}
	var ok bool
	s.scratch, ok = unquote(s.scratch[:0], s.data[start+1:end-1])
	if !ok {
		s.Fail()
		return ""
	}
	return s.keep(s.scratch)
}

// unquote appends to dst the value of the string literal whose contents
// (between the quotes, with no control characters) are raw, as
// encoding/json decodes it: escapes resolved, a surrogate that is not
// half of a pair and every byte of invalid UTF-8 replaced by U+FFFD. It
// reports false for a malformed escape.
func unquote(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '\\':
			if i+1 >= len(raw) {
				return dst, false
			}
			switch raw[i+1] {
			case '"', '\\', '/':
				dst = append(dst, raw[i+1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(raw[i:])
				if r < 0 {
					return dst, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if dec := utf16.DecodeRune(r, hex4(raw[i:])); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return dst, false
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
		}
	}
	return dst, true
}

// hex4 decodes the \uXXXX escape at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// Keys is the set of object keys a decoder knows, in the order the server
// usually sends them. Its zero value knows no keys.
type Keys struct {
	names []string
	// byShape lists, for each key length and first byte, the indexes of
	// the names of that shape: a key out of the usual order is compared
	// with those only.
	byShape map[keyShape][]uint8
}

// keyShape is what a key is dispatched on: its length and first byte.
type keyShape struct {
	length int
	first  byte
}

// MaxKeys is the most keys a [Keys] can hold.
const MaxKeys = 64

// NewKeys returns the set of names, which must be distinct, at most
// [MaxKeys], and in the order the server sends them (lookups try the key
// after the last one seen first).
func NewKeys(names ...string) *Keys {
	if len(names) > MaxKeys {
		panic("jsonscan: more than 64 keys")
	}
	for i, a := range names {
		for j := range len(a) {
			if !asciiText[a[j]] {
				panic("jsonscan: key " + strconv.Quote(a) + " needs escaping")
			}
		}
		for _, b := range names[:i] {
			if a == b {
				panic("jsonscan: duplicate key " + strconv.Quote(a))
			}
		}
	}
	k := &Keys{names: append([]string(nil), names...), byShape: map[keyShape][]uint8{}}
	for i, name := range names {
		if name != "" {
			shape := keyShape{len(name), name[0]}
			k.byShape[shape] = append(k.byShape[shape], uint8(i))
		}
	}
	return k
}

// Names returns the keys, in order. The slice is new on every call.
func (k *Keys) Names() []string { return append([]string(nil), k.names...) }

// Key reads an object key and its colon. It returns the key when it is one
// of keys, or "" for a key encoding/json would ignore. It gives up on a key
// seen before in the same object (seen holds a bit per known key, zero for
// a new object) and on one that encoding/json might match to a known key
// case-insensitively or after unescaping it.
func (s *Scanner) Key(keys *Keys, seen *uint64) string {
	names := keys.names
	// Servers send keys in one order: try the one after the last seen,
	// comparing in place. Names hold no byte that needs escaping, so the
	// bytes between the quotes matching a name means the key is the name.
	if i := bits.Len64(*seen); i < len(names) {
		name := names[i]
		s.Peek()
		d, p := s.data, s.pos
		if end := p + 1 + len(name); end < len(d) && d[p] == '"' && d[end] == '"' && string(d[p+1:end]) == name {
			s.pos = end + 1
			s.Expect(':')
			*seen |= 1 << i
			return name
		}
	}
	start, end, plain := s.span()
	s.Expect(':')
	if !s.ok {
		return ""
	}
	key := s.data[start+1 : end-1]
	if len(key) > 0 {
		for _, i := range keys.byShape[keyShape{len(key), key[0]}] {
			if name := names[i]; string(key) == name {
				if *seen&(1<<i) != 0 {
					s.Fail()
					return ""
				}
				*seen |= 1 << i
				return name
			}
		}
	}
	if !plain {
		s.Fail()
		return ""
	}
	for _, b := range key {
		if b >= utf8.RuneSelf { // Unicode case folding, as in "ſ" and "s"
			s.Fail()
			return ""
		}
	}
	for _, name := range names {
		if asciiEqualFold(key, name) {
			s.Fail()
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
func (s *Scanner) number() (integer bool) {
	d, i := s.data, s.pos
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
		s.Fail()
		return false
	}
	integer = true
	if i < len(d) && d[i] == '.' {
		i++
		integer = false
		if !digits() {
			s.Fail()
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
			s.Fail()
			return false
		}
	}
	s.pos = i
	return integer
}

// Int64 reads a number that encoding/json would store in an int64: an
// integer without fraction or exponent, in range.
func (s *Scanner) Int64() int64 {
	s.Peek()
	d, i := s.data, s.pos
	// The common case: up to 18 digits, no sign, no leading zero.
	var n int64
	j := i
	for j < len(d) && j-i < 18 && '0' <= d[j] && d[j] <= '9' {
		n = n*10 + int64(d[j]-'0')
		j++
	}
	if j > i && (d[i] != '0' || j == i+1) && (j == len(d) || !isNumberByte(d[j])) {
		s.pos = j
		return n
	}
	if !s.number() {
		s.Fail()
		return 0
	}
	n, err := strconv.ParseInt(string(d[i:s.pos]), 10, 64)
	if err != nil {
		s.Fail()
	}
	return n
}

// isNumberByte reports whether b can continue a JSON number.
func isNumberByte(b byte) bool {
	return '0' <= b && b <= '9' || b == '.' || b == 'e' || b == 'E' || b == '-' || b == '+'
}

// Bool reads true or false.
func (s *Scanner) Bool() bool {
	switch s.Peek() {
	case 't':
		s.Literal("true")
		return true
	case 'f':
		s.Literal("false")
		return false
	}
	s.Fail()
	return false
}

// StringOrNull reads a string; null gives "".
func (s *Scanner) StringOrNull() string {
	if s.Null() {
		return ""
	}
	return s.String()
}

// StringPtr reads a string into slot and returns slot; null gives nil.
func (s *Scanner) StringPtr(slot *string) *string {
	if s.Null() {
		return nil
	}
	*slot = s.String()
	return slot
}

// Int64OrNull reads an integer; null gives 0.
func (s *Scanner) Int64OrNull() int64 {
	if s.Null() {
		return 0
	}
	return s.Int64()
}

// Int64Ptr reads an integer into slot and returns slot; null gives nil.
func (s *Scanner) Int64Ptr(slot *int64) *int64 {
	if s.Null() {
		return nil
	}
	*slot = s.Int64()
	return slot
}

// BoolOrNull reads a boolean; null gives false.
func (s *Scanner) BoolOrNull() bool {
	if s.Null() {
		return false
	}
	return s.Bool()
}

// TimeOrNull reads a time; null gives the zero time.
func (s *Scanner) TimeOrNull() time.Time {
	if s.Null() {
		return time.Time{}
	}
	return s.Time()
}

// TimePtr reads a time into slot and returns slot; null gives nil.
func (s *Scanner) TimePtr(slot *time.Time) *time.Time {
	if s.Null() {
		return nil
	}
	*slot = s.Time()
	return slot
}

// skipString consumes a string literal, checking its escapes.
func (s *Scanner) skipString() {
	start, end, plain := s.span()
	if s.ok && !plain && !json.Valid(s.data[start:end]) {
		s.Fail()
	}
}

// MaxSkipDepth bounds the nesting of the values [Scanner.Skip] consumes
// itself; it gives up on deeper ones.
const MaxSkipDepth = 32

// Skip consumes any one value, checking its syntax.
func (s *Scanner) Skip() { s.skip(0) }

func (s *Scanner) skip(depth int) {
	if depth > MaxSkipDepth {
		s.Fail()
		return
	}
	switch b := s.Peek(); {
	case b == '"':
		s.skipString()
	case b == '{':
		s.pos++
		for i := 0; s.More('}', i); i++ {
			s.skipString()
			s.Expect(':')
			s.skip(depth + 1)
		}
	case b == '[':
		s.pos++
		for i := 0; s.More(']', i); i++ {
			s.skip(depth + 1)
		}
	case b == 't':
		s.Literal("true")
	case b == 'f':
		s.Literal("false")
	case b == 'n':
		s.Literal("null")
	case b == '-' || '0' <= b && b <= '9':
		s.number()
	default:
		s.Fail()
	}
}

// FieldKeys returns the JSON keys encoding/json uses for the fields of the
// struct type t, in field order: the name in the json tag, or the field
// name when the tag gives none. Fields tagged "-" and unexported fields are
// left out, and the fields of an embedded struct without a tag name take
// its place, as encoding/json promotes them. It panics if t is not a struct.
func FieldKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			keys = append(keys, FieldKeys(ft)...)
		case !f.IsExported():
		case name != "":
			keys = append(keys, name)
		default:
			keys = append(keys, f.Name)
		}
	}
	return keys
}
