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
	slots [sharedSlots]string
	n     int
}

const (
	// MaxShared is the most values a [Shared] keeps.
	MaxShared = 256
	// MaxSharedLen is the longest value a [Shared] keeps, in bytes: room
	// for an avatar URL.
	MaxSharedLen = 128

	sharedSlots = 2 * MaxShared // a power of two, half full at most
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
	for i := maphash.Bytes(sharedSeed, b); ; i++ {
		slot := &t.slots[i%sharedSlots]
		switch {
		case *slot == "":
			if t.n >= MaxShared {
				return "", false
			}
			t.n++
			*slot = strings.Clone(string(b))
			return *slot, true
		case *slot == string(b):
			return *slot, true
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
