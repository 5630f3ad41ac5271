package jsonscan

import (
	"hash/maphash"
	"strings"
)

// sharedSeed seeds the hash of every Shared table.
var sharedSeed = maphash.MakeSeed()

// Shared hands out one copy of each short string value it is given, so
// that the values a listing repeats on every item (states, storage names,
// model classes, authors) share their bytes instead of being copied once
// per item. It is meant to live as long as one listing, across its pages.
//
// It is bounded: it keeps at most [MaxShared] values of at most
// [MaxSharedLen] bytes each. Once it is full, or when a value is longer,
// [Scanner.Shared] copies the value into the Scanner's arena as
// [Scanner.String] does. The zero value is empty and ready to use. A Shared
// must not be used by two Scanners at once.
type Shared struct {
	// slots is an open-addressed hash table, at most half full; it starts
	// small and doubles as values come, up to 2*MaxShared slots.
	slots []string
	n     int
}

const (
	// MaxShared is the most values a [Shared] keeps.
	MaxShared = 256
	// MaxSharedLen is the longest value a [Shared] keeps, in bytes: room
	// for an avatar URL.
	MaxSharedLen = 128

	firstSharedSlots = 16 // a power of two, as every size after it
)

// get returns the kept copy of b, keeping one if there is room. ok is
// false when b is not kept and cannot be.
func (t *Shared) get(b []byte) (v string, ok bool) {
	if len(b) == 0 {
		return "", true
	}
	if len(b) > MaxSharedLen {
		return "", false
	}
	h := maphash.Bytes(sharedSeed, b)
	if len(t.slots) > 0 {
		if slot := t.find(h, b); *slot != "" {
			return *slot, true
		}
	}
	if t.n >= MaxShared {
		return "", false
	}
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	slot := t.find(h, b)
	*slot = strings.Clone(string(b))
	t.n++
	return *slot, true
}

// find returns the slot that holds b, or the empty slot where b goes.
func (t *Shared) find(h uint64, b []byte) *string {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if slot := &t.slots[i]; *slot == "" || *slot == string(b) {
			return slot
		}
	}
}

// grow doubles the table (or makes its first slots) and puts every value
// back.
func (t *Shared) grow() {
	old := t.slots
	t.slots = make([]string, max(2*len(old), firstSharedSlots))
	for _, v := range old {
		if v != "" {
			*t.find(maphash.String(sharedSeed, v), []byte(v)) = v
		}
	}
}

// Share makes s hand out the values [Scanner.Shared] reads from t; nil
// makes Shared read as String.
func (s *Scanner) Share(t *Shared) { s.shared = t }

// Shared reads a string value as [Scanner.String] does, and hands out the
// copy kept in the Scanner's [Shared] table (see [Scanner.Share]) when the
// value has no escapes and fits the table.
func (s *Scanner) Shared() string {
	if s.shared == nil {
		return s.String()
	}
	start, end, plain := s.span()
	if s.ok && plain {
		if v, ok := s.shared.get(s.data[start+1 : end-1]); ok {
			return v
		}
	}
	return s.value(start, end, plain)
}

// SharedOrNull reads a string as [Scanner.Shared] does; null gives "".
func (s *Scanner) SharedOrNull() string {
	if s.Null() {
		return ""
	}
	return s.Shared()
}

// SharedPtr reads a string as [Scanner.Shared] does into slot and returns
// slot; null gives nil.
func (s *Scanner) SharedPtr(slot *string) *string {
	if s.Null() {
		return nil
	}
	*slot = s.Shared()
	return slot
}
