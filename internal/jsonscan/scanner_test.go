package jsonscan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin for TestTimeRailsForm on any machine

	"github.com/google/go-cmp/cmp"
)

func scan(data string) *Scanner {
	var s Scanner
	s.Reset([]byte(data))
	return &s
}

// TestSkipNeverAcceptsInvalid checks Skip+End against json.Valid: what the
// Scanner accepts is valid JSON, and the plain values GitLab sends are
// accepted.
func TestSkipNeverAcceptsInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{`null`, true}, {`true`, true}, {`false`, true}, {`0`, true}, {`-0`, true}, {`12.5e-3`, true},
		{`"x"`, true}, {`"\u00e9\n\"\\"`, true}, {`"日本 ✓"`, true}, {` [ 1 , {"a" : [ ] } ] `, true},
		{`{"a":{"b":{"c":[null,true,false,"d"]}}}`, true}, {`[]`, true}, {`{}`, true},
		{strings.Repeat("[", MaxSkipDepth+1) + strings.Repeat("]", MaxSkipDepth+1), true},

		{``, false}, {` `, false}, {`nul`, false}, {`tru`, false}, {`01`, false}, {`1.`, false}, {`1e`, false},
		{`-`, false}, {`+1`, false}, {`.5`, false}, {`"x`, false}, {`"\x"`, false}, {`"\u12"`, false},
		{"\"a\tb\"", false}, {`[1,]`, false}, {`[1 2]`, false}, {`{"a"}`, false}, {`{"a":1,}`, false},
		{`{1:2}`, false}, {`[] []`, false}, {"\xef\xbb\xbf[]", false}, {"[\v]", false}, {`'x'`, false},
		{strings.Repeat("[", MaxSkipDepth+2) + strings.Repeat("]", MaxSkipDepth+2), false}, // valid, too deep
	} {
		s := scan(tc.data)
		s.Skip()
		s.End()
		if s.OK() != tc.ok {
			t.Errorf("Skip+End(%q) OK = %t; want %t", tc.data, s.OK(), tc.ok)
		}
		if s.OK() && !json.Valid([]byte(tc.data)) {
			t.Errorf("Skip+End(%q) accepted what json.Valid refuses", tc.data)
		}
	}
}

// TestString checks String against encoding/json, with every byte class
// at every position of an 8-byte word.
func TestString(t *testing.T) {
	t.Parallel()
	inputs := []string{`""`, `"plain ascii text, long enough for a few words"`, `"é"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", "\"\xed\xa0\x80\"",
		`"\ud800\u0041"`, `"\udc00\ud800"`, `"\ud83d\u00e9"`, `"\ud83dx"`, `"\ud83d\ud83d\ude00"`, `"\u00"`, `"\uZZZZ"`, `"\u00E9\u00e9"`,
		`"\'"`, `"\x41"`, `"\/\b\f\n\r\t\"\\"`, `"\"`, "\"\xc3\"", "\"a\xe2\x82\"", "\"\xf0\x9f\x98\x80 \\u0041\"", `"\u0000"`}
	for _, special := range []string{`\"`, `\\`, `\n`, "\t", "\x00", "\x1f", "\x7f", "é", "\xff", " ", "~"} {
		for pad := range 17 {
			inputs = append(inputs, `"`+strings.Repeat("a", pad)+special+strings.Repeat("b", 17-pad)+`"`)
		}
	}
	for _, in := range inputs {
		s := scan(in)
		got := s.String()
		s.End()
		var want string
		err := json.Unmarshal([]byte(in), &want)
		if s.OK() != (err == nil) {
			t.Errorf("String(%q) OK = %t; json.Unmarshal error = %v", in, s.OK(), err)
			continue
		}
		if got != want {
			t.Errorf("String(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestPlainRun checks the word-at-a-time scan against the byte table for
// every byte value at every lane, after plain bytes and before any byte.
func TestPlainRun(t *testing.T) {
	t.Parallel()
	for lane := range 8 {
		for b := range 256 {
			for _, after := range []byte{'a', 0x00, 0xff, '"'} {
				var w [8]byte
				for i := range w {
					w[i] = 'a'
					if i > lane {
						w[i] = after
					}
				}
				w[lane] = byte(b)
				word := uint64(0)
				for i := 7; i >= 0; i-- {
					word = word<<8 | uint64(w[i])
				}
				want := 0
				for want < 8 && asciiText[w[want]] {
					want++
				}
				if got := plainRun(word); got != want {
					t.Fatalf("plainRun(%q) = %d; want %d", w[:], got, want)
				}
			}
		}
	}
}

func TestInt64(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`0`, `7`, `-0`, `-7`, `42`, `123456789012345678`, `1234567890123456789`, `9223372036854775807`,
		`9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`, `01`, `00`, `1.0`, `1e3`, `1E3`,
		`-`, `1x`, ``, `"1"`, `1,`, `1]`, `1 `, `18446744073709551616`,
	} {
		s := scan(in)
		got := s.Int64()
		s.End()
		var want int64
		err := json.Unmarshal([]byte(in), &want)
		if s.OK() && (err != nil || got != want) {
			t.Errorf("Int64(%q) = %d, OK; json.Unmarshal = %d, %v", in, got, want, err)
		}
		if !s.OK() && err == nil && !strings.ContainsAny(in, ".eE") {
			t.Errorf("Int64(%q) gave up; json.Unmarshal = %d", in, want)
		}
	}
}

// TestTime checks Time against time.Time's UnmarshalJSON, on the Rails form
// and around it.
func TestTime(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`"2024-02-29T23:59:58.125Z"`, `"2023-02-29T00:00:00Z"`, `"2000-02-29T00:00:00Z"`, `"1900-02-29T00:00:00Z"`,
		`"2025-07-21T08:00:12Z"`, `"2025-07-21T08:00:12.5Z"`, `"2025-07-21T08:00:12.123456789Z"`, `"2025-07-21T08:00:12.1234567891Z"`,
		`"2025-07-21T08:00:12.Z"`, `"2025-07-21T08:00:12,5Z"`, `"2025-07-21T24:00:00Z"`, `"2025-07-21T23:60:00Z"`, `"2025-07-21T23:59:60Z"`,
		`"2025-13-01T00:00:00Z"`, `"2025-00-01T00:00:00Z"`, `"2025-04-31T00:00:00Z"`, `"2025-04-00T00:00:00Z"`, `"0000-01-01T00:00:00Z"`,
		`"9999-12-31T23:59:59.999Z"`, `"2025-07-21t08:00:12z"`, `"2025-07-21 08:00:12Z"`, `"2025-07-21T08:00:12+02:00"`,
		`"2025-07-21T08:00:12-00:00"`, `"2025-07-21T08:00:12.551\u005a"`, `"2025-07-21"`, `"2025-7-21T08:00:12Z"`,
		`"-025-07-21T08:00:12Z"`, `"2025-07-21T08:00:1aZ"`, `"+2025-07-21T08:00:12Z"`, `""`, `"x"`, `5`,
	} {
		s := scan(in)
		got := s.Time()
		s.End()
		var want time.Time
		err := want.UnmarshalJSON([]byte(in))
		if s.OK() && (err != nil || !sameTime(got, want)) {
			t.Errorf("Time(%s) = %v, OK; UnmarshalJSON = %v, %v", in, got, want, err)
		}
		if !s.OK() && err == nil && !strings.Contains(in, `\`) {
			t.Errorf("Time(%s) gave up; UnmarshalJSON = %v", in, want)
		}
	}
}

// sameTime is true for the same instant in the same zone, with the same
// offset and location name.
func sameTime(a, b time.Time) bool {
	aName, aOffset := a.Zone()
	bName, bOffset := b.Zone()
	return a.Equal(b) && aName == bName && aOffset == bOffset &&
		a.Location().String() == b.Location().String() &&
		a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano) && reflect.DeepEqual(a, b)
}

func TestKey(t *testing.T) {
	t.Parallel()
	keys := NewKeys("id", "name", "created_at")
	for _, tc := range []struct {
		object string
		want   []string
		ok     bool
	}{
		{`{"id":1,"name":2,"created_at":3}`, []string{"id", "name", "created_at"}, true},
		{`{"created_at":1,"id":2,"name":3}`, []string{"created_at", "id", "name"}, true},
		{`{"other":1,"name":2,"":3}`, []string{"", "name", ""}, true},
		{`{"id":1,"id":2}`, []string{"id"}, false},
		{`{"Name":1}`, nil, false},
		{`{"CREATED_AT":1}`, nil, false},
		{`{"ıd":1}`, nil, false},        // Unicode folding might match
		{`{"n\u0061me":1}`, nil, false}, // escaped
		{`{"oth\u0065r":1}`, nil, false},
		{`{"id" 1}`, nil, false},
	} {
		s := scan(tc.object)
		var got []string
		var seen uint64
		s.Expect('{')
		for i := 0; s.More('}', i); i++ {
			key := s.Key(keys, &seen)
			if s.OK() {
				got = append(got, key)
			}
			s.Skip()
		}
		s.End()
		if s.OK() != tc.ok {
			t.Errorf("keys of %s: OK = %t; want %t", tc.object, s.OK(), tc.ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("keys of %s mismatch (-want +got):\n%s", tc.object, diff)
		}
	}
}

func TestNewKeysRefusesDuplicates(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `duplicate key "a"`) {
			t.Errorf("NewKeys(a, b, a) panic = %v; want a duplicate key panic", r)
		}
	}()
	NewKeys("a", "b", "a")
}

func TestFieldKeys(t *testing.T) {
	t.Parallel()
	type Inner struct {
		A int `json:"a"`
		B int
	}
	type Tagged struct {
		C int `json:"c"`
	}
	type outer struct {
		Inner
		*Tagged `json:"tagged"`
		D       string `json:"d,omitempty"`
		E       int    `json:"-"`
		F       int    `json:",omitempty"`
		g       int
	}
	_ = outer{}.g
	want := []string{"a", "B", "tagged", "d", "F"}
	if diff := cmp.Diff(want, FieldKeys(reflect.TypeFor[outer]())); diff != "" {
		t.Errorf("FieldKeys(outer) mismatch (-want +got):\n%s", diff)
	}
	// encoding/json agrees on which keys fill which fields.
	var o outer
	if err := json.Unmarshal([]byte(`{"a":1,"B":2,"tagged":{"c":3},"d":"4","F":5}`), &o); err != nil || o.A != 1 || o.B != 2 || o.Tagged.C != 3 || o.D != "4" || o.F != 5 {
		t.Errorf("json.Unmarshal into outer = %+v, %v; want every field set", o, err)
	}
}

// TestStringsOutliveInput checks that strings do not point into the input.
func TestStringsOutliveInput(t *testing.T) {
	t.Parallel()
	data := []byte(`["first","second",{"k":"third"}]`)
	var s Scanner
	s.Reset(data)
	var got []string
	s.Expect('[')
	got = append(got, s.String())
	s.Expect(',')
	got = append(got, s.String())
	s.Expect(',')
	s.Expect('{')
	s.Key(NewKeys("k"), new(uint64))
	got = append(got, s.String())
	s.Expect('}')
	s.Expect(']')
	s.End()
	for i := range data {
		data[i] = '#'
	}
	if diff := cmp.Diff([]string{"first", "second", "third"}, got); diff != "" || !s.OK() {
		t.Errorf("strings after overwriting the input mismatch (OK %t) (-want +got):\n%s", s.OK(), diff)
	}
}

// FuzzScanner checks the Scanner against encoding/json on any input: Skip
// accepts only valid JSON, and String, Int64, Bool and Time accept only
// what encoding/json accepts for their types, with the same value.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,-2.5e+10,{"b":null}],"c":"d\"e\u00e9","t":true,"f":false}`, `"2024-02-29T23:59:58.125Z"`,
		`"2025-07-21T08:00:12+05:30"`, `9223372036854775807`, `-0`, `"\ud83d\ude00 \ud800"`, "\"\xff\"", `true`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Scanner
		s.Reset(data)
		s.Skip()
		s.End()
		if s.OK() && !json.Valid(data) {
			t.Errorf("Skip+End(%q) accepted what json.Valid refuses", data)
		}

		s.Reset(data)
		str := s.String()
		s.End()
		var wantStr string
		if err := json.Unmarshal(data, &wantStr); s.OK() && (err != nil || str != wantStr) {
			t.Errorf("String(%q) = %q, OK; json.Unmarshal = %q, %v", data, str, wantStr, err)
		}

		var table Shared
		for range 2 { // the second read takes values from the table
			s.Reset(data)
			s.Share(&table)
			shared := s.Shared()
			s.End()
			if err := json.Unmarshal(data, &wantStr); s.OK() && (err != nil || shared != wantStr) {
				t.Errorf("Shared(%q) = %q, OK; json.Unmarshal = %q, %v", data, shared, wantStr, err)
			}
		}
		s.Share(nil)

		s.Reset(data)
		n := s.Int64()
		s.End()
		var wantN int64
		if err := json.Unmarshal(data, &wantN); s.OK() && (err != nil || n != wantN) {
			t.Errorf("Int64(%q) = %d, OK; json.Unmarshal = %d, %v", data, n, wantN, err)
		}

		s.Reset(data)
		b := s.Bool()
		s.End()
		var wantB bool
		if err := json.Unmarshal(data, &wantB); s.OK() && (err != nil || b != wantB) {
			t.Errorf("Bool(%q) = %t, OK; json.Unmarshal = %t, %v", data, b, wantB, err)
		}

		s.Reset(data)
		tm := s.Time()
		s.End()
		var wantT time.Time
		if err := json.Unmarshal(data, &wantT); s.OK() && (err != nil || !sameTime(tm, wantT)) {
			t.Errorf("Time(%q) = %v, OK; json.Unmarshal = %v, %v", data, tm, wantT, err)
		}
	})
}

// TestDaysSinceEpoch checks the calendar arithmetic against time.Date on
// the first and last day of every month from year 0 to 9999.
func TestDaysSinceEpoch(t *testing.T) {
	t.Parallel()
	for year := 0; year <= 9999; year++ {
		for month := 1; month <= 12; month++ {
			for _, day := range []int{1, daysIn(month, year)} {
				want := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Unix() / 86400
				if got := daysSinceEpoch(year, month, day); got != want {
					t.Fatalf("daysSinceEpoch(%d, %d, %d) = %d; want %d", year, month, day, got, want)
				}
			}
		}
	}
}

// TestTimeRailsForm checks that the forms GitLab writes take the fast path
// (parseRails) and give what UnmarshalJSON gives, with time.Local in UTC,
// at +02:00, and at +02:00 only in summer (so that the same offset is Local
// on one date and a fixed zone on another).
func TestTimeRailsForm(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	berlin, err := time.LoadLocation("Europe/Berlin") // from time/tzdata when the machine has none
	if err != nil {
		t.Fatal(err)
	}
	for _, local := range []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), berlin} {
		time.Local = local
		for _, in := range []string{
			`"2026-01-02T15:04:05.000Z"`, `"2026-07-02T15:04:05.000+02:00"`, `"2026-01-02T15:04:05.000+02:00"`,
			`"2026-01-02T15:04:05+02:00"`, `"2026-01-02T15:04:05.123456789-05:30"`, `"2026-01-02T15:04:05Z"`,
			`"2026-01-02T15:04:05.000+00:00"`, `"2026-01-02T15:04:05.000-00:00"`,
		} {
			got, n, ok := parseRails([]byte(in + ","))
			if !ok || n != len(in) {
				t.Errorf("Local %s: parseRails(%s) = %d, %t; want %d, true", local, in, n, ok, len(in))
				continue
			}
			var want time.Time
			if err := want.UnmarshalJSON([]byte(in)); err != nil || !sameTime(got, want) {
				t.Errorf("Local %s: parseRails(%s) = %v (%s); UnmarshalJSON = %v (%s), %v", local, in, got, got.Location(), want, want.Location(), err)
			}
		}
	}
}

// FuzzTime compares Time with time.Time's UnmarshalJSON on times built from
// their parts, most of them in GitLab's layout and some just outside it,
// with time.Local in UTC or at +02:00. Time must agree whenever it accepts,
// and must accept (through parseRails, the fast path) every valid time in
// the Rails layout.
func FuzzTime(f *testing.F) {
	f.Add(uint16(2026), uint8(1), uint8(2), uint8(15), uint8(4), uint8(5), "000", int16(0), true, false)
	f.Add(uint16(2026), uint8(7), uint8(2), uint8(15), uint8(4), uint8(5), "000", int16(120), false, true)
	f.Add(uint16(2024), uint8(2), uint8(29), uint8(23), uint8(59), uint8(59), "123456789", int16(-330), false, false)
	f.Add(uint16(1900), uint8(2), uint8(29), uint8(0), uint8(0), uint8(0), "", int16(0), false, false)
	f.Add(uint16(2026), uint8(1), uint8(2), uint8(24), uint8(0), uint8(60), "1234567890", int16(1440), false, true)
	f.Fuzz(func(t *testing.T, year uint16, month, day, hour, minute, sec uint8, frac string, offsetMinutes int16, utc, localPlus2 bool) {
		in := fmt.Sprintf(`"%04d-%02d-%02dT%02d:%02d:%02d`, year, month, day, hour, minute, sec)
		if frac != "" {
			in += "." + frac
		}
		if utc {
			in += "Z"
		} else {
			sign, m := '+', int(offsetMinutes)
			if m < 0 {
				sign, m = '-', -m
			}
			in += fmt.Sprintf("%c%02d:%02d", sign, m/60, m%60)
		}
		in += `"`
		if localPlus2 {
			saved := time.Local
			time.Local = time.FixedZone("CEST", 2*3600)
			defer func() { time.Local = saved }()
		}
		var want time.Time
		wantErr := want.UnmarshalJSON([]byte(in))
		s := scan(in)
		got := s.Time()
		s.End()
		if s.OK() && (wantErr != nil || !sameTime(got, want)) {
			t.Errorf("Time(%s) = %v (%s), OK; UnmarshalJSON = %v (%s), %v", in, got, got.Location(), want, want.Location(), wantErr)
		}
		if wantErr == nil && !s.OK() {
			t.Errorf("Time(%s) gave up; UnmarshalJSON = %v", in, want)
		}
		railsForm := (utc || offsetMinutes > -24*60 && offsetMinutes < 24*60) && year <= 9999 && len(frac) <= 9 && strings.Trim(frac, "0123456789") == "" && len(in) <= len(`"2006-01-02T15:04:05.123456789+00:00"`)
		if _, _, fast := parseRails([]byte(in)); wantErr == nil && railsForm && !fast {
			t.Errorf("parseRails(%s) declined a time in the Rails layout", in)
		}
	})
}
