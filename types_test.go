package gitlabdata

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checksumStatesInOrder is GitLab's VERIFICATION_STATE_VALUES, written out
// here rather than read from the code under test.
var checksumStatesInOrder = [...]ChecksumState{"pending", "started", "succeeded", "failed", "disabled"}

func TestRecordIDForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		id        RecordID
		wantText  string
		wantComp  bool
		wantInt   int64
		wantIntOK bool
		wantParts []string
		wantJSON  string
	}{
		{"integer", IntRecordID(1), "1", false, 1, true, []string{"1"}, `1`},
		{"integer above 2^53", IntRecordID(9007199254740993), "9007199254740993", false, 9007199254740993, true, []string{"9007199254740993"}, `9007199254740993`},
		{"max int64", IntRecordID(9223372036854775807), "9223372036854775807", false, 9223372036854775807, true, []string{"9223372036854775807"}, `9223372036854775807`},
		{"composite 1 2", CompositeRecordID("1", "2"), "MSAy", true, 0, false, []string{"1", "2"}, `"MSAy"`},
		{"composite 12 34", CompositeRecordID("12", "34"), "MTIgMzQ=", true, 0, false, []string{"12", "34"}, `"MTIgMzQ="`},
		{"composite 1 2 3", CompositeRecordID("1", "2", "3"), "MSAyIDM=", true, 0, false, []string{"1", "2", "3"}, `"MSAyIDM="`},
		{"composite 5 1700000000 abc", CompositeRecordID("5", "1700000000", "abc"), "NSAxNzAwMDAwMDAwIGFiYw==", true, 0, false, []string{"5", "1700000000", "abc"}, `"NSAxNzAwMDAwMDAwIGFiYw=="`},
		{"composite in the URL-safe alphabet", CompositeRecordID("1", "?ab~c"), "MSA_YWJ-Yw==", true, 0, false, []string{"1", "?ab~c"}, `"MSA_YWJ-Yw=="`},
		{"composite with an empty part", CompositeRecordID("7", ""), "NyA=", true, 0, false, []string{"7", ""}, `"NyA="`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.id.String(); got != tc.wantText {
				t.Errorf("String() = %q; want %q", got, tc.wantText)
			}
			if got := tc.id.IsComposite(); got != tc.wantComp {
				t.Errorf("IsComposite() = %t; want %t", got, tc.wantComp)
			}
			if n, ok := tc.id.Int(); n != tc.wantInt || ok != tc.wantIntOK {
				t.Errorf("Int() = %d, %t; want %d, %t", n, ok, tc.wantInt, tc.wantIntOK)
			}
			parts, err := tc.id.Parts()
			if err != nil {
				t.Fatalf("Parts() error = %v", err)
			}
			if diff := cmp.Diff(tc.wantParts, parts); diff != "" {
				t.Errorf("Parts() mismatch (-want +got):\n%s", diff)
			}
			if tc.wantComp {
				again := CompositeRecordID(parts...)
				if !again.Equal(tc.id) {
					t.Errorf("CompositeRecordID(Parts()...) = %q; want %q", again, tc.id)
				}
			}
			if got := ParseRecordID(tc.wantText); !got.Equal(tc.id) {
				t.Errorf("ParseRecordID(%q) = %#v; want %#v", tc.wantText, got, tc.id)
			}
			if err := tc.id.validate(); err != nil {
				t.Errorf("validate() = %v; want nil", err)
			}
			b, err := json.Marshal(tc.id)
			if err != nil {
				t.Fatalf("json.Marshal() error = %v", err)
			}
			if string(b) != tc.wantJSON {
				t.Errorf("json.Marshal() = %s; want %s", b, tc.wantJSON)
			}
			var back RecordID
			if err := json.Unmarshal([]byte(tc.wantJSON), &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) error = %v", tc.wantJSON, err)
			}
			if diff := cmp.Diff(tc.id, back); diff != "" {
				t.Errorf("json.Unmarshal(%s) mismatch (-want +got):\n%s", tc.wantJSON, diff)
			}
		})
	}
}

func TestRecordIDParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want RecordID
	}{
		{"42", IntRecordID(42)},
		{"1", IntRecordID(1)},
		{"-1", IntRecordID(-1)},
		{"0", RecordID{}},
		{"", RecordID{}},
		{"MSAy", CompositeRecordID("1", "2")},
		{"MTIgMzQ=", CompositeRecordID("12", "34")},
		{"MSA_YWJ-Yw==", CompositeRecordID("1", "?ab~c")},
		{"MTIgMzQ", RecordID{enc: "MTIgMzQ"}},           // unpadded: kept as given
		{"MSA/YWJ+Yw==", RecordID{enc: "MSA/YWJ+Yw=="}}, // standard alphabet: kept as given
		{"99999999999999999999", RecordID{enc: "99999999999999999999"}},
	}
	for _, tc := range tests {
		if got := ParseRecordID(tc.in); !got.Equal(tc.want) {
			t.Errorf("ParseRecordID(%q) = %#v; want %#v", tc.in, got, tc.want)
		}
		if tc.want.enc != "" {
			if got := ParseRecordID(tc.in).String(); got != tc.in {
				t.Errorf("ParseRecordID(%q).String() = %q; want the input", tc.in, got)
			}
		}
	}

	// GitLab accepts unpadded composite keys; Parts does too.
	parts, err := ParseRecordID("MTIgMzQ").Parts()
	if err != nil {
		t.Fatalf(`ParseRecordID("MTIgMzQ").Parts() error = %v`, err)
	}
	if diff := cmp.Diff([]string{"12", "34"}, parts); diff != "" {
		t.Errorf(`ParseRecordID("MTIgMzQ").Parts() mismatch (-want +got):\n%s`, diff)
	}
	for _, bad := range []string{"@@@@", "MSAy!", "M"} {
		if parts, err := ParseRecordID(bad).Parts(); err == nil {
			t.Errorf("ParseRecordID(%q).Parts() = %q, nil; want an error", bad, parts)
		}
	}
}

func TestRecordIDEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b RecordID
		want bool
	}{
		{IntRecordID(1), IntRecordID(1), true},
		{IntRecordID(1), IntRecordID(2), false},
		{IntRecordID(1), RecordID{enc: "1"}, false}, // a JSON string "1" is not the integer 1
		{CompositeRecordID("1", "2"), ParseRecordID("MSAy"), true},
		{CompositeRecordID("1", "2"), CompositeRecordID("2", "1"), false},
		{RecordID{}, IntRecordID(0), true},
	}
	for _, tc := range tests {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%#v.Equal(%#v) = %t; want %t", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRecordIDValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   RecordID
		ok   bool
	}{
		{"zero value", RecordID{}, false},
		{"IntRecordID(0)", IntRecordID(0), false},
		{"IntRecordID(-1)", IntRecordID(-1), false},
		{"CompositeRecordID() with no parts", CompositeRecordID(), false},
		{"IntRecordID(1)", IntRecordID(1), true},
		{"composite", CompositeRecordID("1", "2"), true},
	}
	for _, tc := range tests {
		err := tc.id.validate()
		if tc.ok && err != nil {
			t.Errorf("%s: validate() = %v; want nil", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: validate() = %v; want ErrInvalidArgument", tc.name, err)
		}
	}
}

func TestRecordIDUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    RecordID
		wantErr bool
	}{
		{in: `1`, want: IntRecordID(1)},
		{in: `9223372036854775807`, want: IntRecordID(9223372036854775807)},
		{in: `-3`, want: IntRecordID(-3)},
		{in: `"MSAy"`, want: CompositeRecordID("1", "2")},
		{in: `"MTIgMzQ="`, want: CompositeRecordID("12", "34")},
		{in: `"MSA_YWJ-Yw=="`, want: CompositeRecordID("1", "?ab~c")},
		{in: `"123"`, want: RecordID{enc: "123"}}, // string form kept, so it encodes back as a string
		{in: `""`, want: RecordID{}},
		{in: `null`, want: RecordID{}},
		{in: `true`, wantErr: true},
		{in: `false`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `[]`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: `1.5`, wantErr: true},
		{in: `1e3`, wantErr: true},
		{in: `9223372036854775808`, wantErr: true},
	}
	for _, tc := range tests {
		// Start from a non-zero id: null must reset it, errors must not
		// leave a half-decoded value behind that looks valid.
		got := IntRecordID(99)
		err := json.Unmarshal([]byte(tc.in), &got)
		if tc.wantErr {
			if err == nil {
				t.Errorf("json.Unmarshal(%s) = %#v, nil; want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("json.Unmarshal(%s) error = %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("json.Unmarshal(%s) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}

	// Inside a record, both forms decode.
	var recs []ModelRecord
	if err := json.Unmarshal([]byte(`[{"record_identifier":7},{"record_identifier":"MSAy"},{"record_identifier":null}]`), &recs); err != nil {
		t.Fatalf("json.Unmarshal(records) error = %v", err)
	}
	want := []ModelRecord{{RecordIdentifier: IntRecordID(7)}, {RecordIdentifier: CompositeRecordID("1", "2")}, {}}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("json.Unmarshal(records) mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordIDMarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   RecordID
		want string
	}{
		{IntRecordID(7), `7`},
		{IntRecordID(-1), `-1`},
		{RecordID{}, `0`},
		{CompositeRecordID("1", "2"), `"MSAy"`},
		{RecordID{enc: "123"}, `"123"`},
		{ParseRecordID("MSA/YWJ+Yw=="), `"MSA/YWJ+Yw=="`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.id)
		if err != nil {
			t.Errorf("json.Marshal(%#v) error = %v", tc.id, err)
			continue
		}
		if string(b) != tc.want {
			t.Errorf("json.Marshal(%#v) = %s; want %s", tc.id, b, tc.want)
		}
	}

	// A record encodes with GitLab's key order and form.
	rec := ModelRecord{RecordIdentifier: CompositeRecordID("12", "34"), ModelClass: "Upload"}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("json.Marshal(record) error = %v", err)
	}
	const want = `{"record_identifier":"MTIgMzQ=","model_class":"Upload","created_at":null,"file_size":null}`
	if string(b) != want {
		t.Errorf("json.Marshal(record) = %s; want %s", b, want)
	}
}

func TestChecksumStateUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ChecksumState
		wantErr bool
	}{
		{in: `"pending"`, want: ChecksumStatePending},
		{in: `"started"`, want: ChecksumStateStarted},
		{in: `"succeeded"`, want: ChecksumStateSucceeded},
		{in: `"failed"`, want: ChecksumStateFailed},
		{in: `"disabled"`, want: ChecksumStateDisabled},
		{in: `0`, want: ChecksumStatePending},
		{in: `1`, want: ChecksumStateStarted},
		{in: `2`, want: ChecksumStateSucceeded},
		{in: `3`, want: ChecksumStateFailed},
		{in: `4`, want: ChecksumStateDisabled},
		{in: `7`, want: "7"},
		{in: `5`, want: "5"},
		{in: `-1`, want: "-1"},
		{in: `"verification_succeeded"`, want: "verification_succeeded"},
		{in: `"quarantined"`, want: "quarantined"},
		{in: `"SUCCEEDED"`, want: "SUCCEEDED"},
		{in: `"2"`, want: "2"}, // a string is kept as sent, even a digit
		{in: `""`, want: ""},
		{in: `null`, want: ""},
		{in: `true`, wantErr: true},
		{in: `false`, wantErr: true},
		{in: `[]`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `2.0`, wantErr: true},
		{in: `1e0`, wantErr: true},
		{in: `99999999999999999999`, wantErr: true},
	}
	for _, tc := range tests {
		got := ChecksumStateFailed // null must reset a previous value
		err := json.Unmarshal([]byte(tc.in), &got)
		if tc.wantErr {
			if err == nil {
				t.Errorf("json.Unmarshal(%s) = %q, nil; want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("json.Unmarshal(%s) error = %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("json.Unmarshal(%s) = %q; want %q", tc.in, got, tc.want)
		}
	}

	// Inside checksum_information, as GitLab 18.3 to 18.5 and 18.6+ send it.
	var infos []ChecksumInformation
	if err := json.Unmarshal([]byte(`[{"checksum_state":2},{"checksum_state":"failed"},{"checksum_state":null}]`), &infos); err != nil {
		t.Fatalf("json.Unmarshal(checksum_information) error = %v", err)
	}
	want := []ChecksumInformation{{ChecksumState: ChecksumStateSucceeded}, {ChecksumState: ChecksumStateFailed}, {}}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Errorf("json.Unmarshal(checksum_information) mismatch (-want +got):\n%s", diff)
	}
}

func TestChecksumStateInt(t *testing.T) {
	t.Parallel()
	for i, s := range checksumStatesInOrder {
		if got := s.Int(); got != i {
			t.Errorf("ChecksumState(%q).Int() = %d; want %d", s, got, i)
		}
	}
	for _, s := range []ChecksumState{"", "7", "verification_failed", "Failed"} {
		if got := s.Int(); got != -1 {
			t.Errorf("ChecksumState(%q).Int() = %d; want -1", s, got)
		}
	}
	if diff := cmp.Diff(checksumStatesInOrder[:], ChecksumStates()); diff != "" {
		t.Errorf("ChecksumStates() mismatch (-want +got):\n%s", diff)
	}
}

// ChecksumStates backs integer decoding and filter validation; a caller
// that sorts or edits the returned slice must not change either.
func TestChecksumStatesReturnsCopy(t *testing.T) {
	t.Parallel()
	a, b := ChecksumStates(), ChecksumStates()
	if &a[0] == &b[0] {
		t.Errorf("ChecksumStates() returns the package's own array on every call; a caller's write to it changes integer decoding and filter validation for the whole process")
	}
}

func TestStorageMoveStateHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state         StorageMoveState
		wire          string
		wantTerminal  bool
		wantSucceeded bool
	}{
		{StorageMoveStateInitial, "initial", false, false},
		{StorageMoveStateScheduled, "scheduled", false, false},
		{StorageMoveStateStarted, "started", false, false},
		{StorageMoveStateReplicated, "replicated", false, true},
		{StorageMoveStateFinished, "finished", true, true},
		{StorageMoveStateFailed, "failed", true, false},
		{StorageMoveStateCleanupFailed, "cleanup failed", true, false},
		{StorageMoveState("archived"), "archived", false, false},
		{StorageMoveState(""), "", false, false},
	}
	for _, tc := range tests {
		if string(tc.state) != tc.wire {
			t.Errorf("StorageMoveState %q; want wire string %q", tc.state, tc.wire)
		}
		if got := tc.state.Terminal(); got != tc.wantTerminal {
			t.Errorf("StorageMoveState(%q).Terminal() = %t; want %t", tc.state, got, tc.wantTerminal)
		}
		if got := tc.state.Succeeded(); got != tc.wantSucceeded {
			t.Errorf("StorageMoveState(%q).Succeeded() = %t; want %t", tc.state, got, tc.wantSucceeded)
		}
	}
}

func TestStorageMoveStateDecode(t *testing.T) {
	t.Parallel()
	const body = `{"id":1,"created_at":"2023-11-13T02:57:43.523Z","state":"cleanup failed","source_storage_name":"default","destination_storage_name":"gitaly-1","error_message":"13:fatal: could not remove old repository"}`
	var got RepositoryStorageMove
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("json.Unmarshal(storage move) error = %v", err)
	}
	want := RepositoryStorageMove{
		ID:                     1,
		CreatedAt:              *mustTime(t, "2023-11-13T02:57:43.523Z"),
		State:                  StorageMoveStateCleanupFailed,
		SourceStorageName:      "default",
		DestinationStorageName: "gitaly-1",
		ErrorMessage:           String("13:fatal: could not remove old repository"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("json.Unmarshal(storage move) mismatch (-want +got):\n%s", diff)
	}
	if !got.State.Terminal() || got.State.Succeeded() {
		t.Errorf("decoded state %q: Terminal() = %t, Succeeded() = %t; want true, false", got.State, got.State.Terminal(), got.State.Succeeded())
	}

	// Every state GitLab sends decodes to its constant; an unknown one is kept.
	for _, wire := range []string{"initial", "scheduled", "started", "replicated", "finished", "failed", "cleanup failed", "cleanup_failed", "rolled back"} {
		var s struct {
			State StorageMoveState `json:"state"`
		}
		in := `{"state":` + strconv.Quote(wire) + `}`
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			t.Errorf("json.Unmarshal(%s) error = %v", in, err)
			continue
		}
		if string(s.State) != wire {
			t.Errorf("json.Unmarshal(%s) state = %q; want %q", in, s.State, wire)
		}
	}
}

// fixtureTarget returns a pointer to decode testdata/<name>.json into,
// chosen by the name's prefix and the body's first byte ('[' for lists).
// skip is true for bodies that are not resources (errors, bulk answers).
func fixtureTarget(name string, list bool) (target any, skip bool) {
	pick := func(one, many any) any {
		if list {
			return many
		}
		return one
	}
	// prefix matches "p" itself and "p_<case>".
	prefix := func(p string) bool { return name == p || strings.HasPrefix(name, p+"_") }
	switch {
	case prefix("error"), prefix("datamanagement_bulk"):
		return nil, true
	case prefix("datamanagement"):
		return pick(new(ModelRecord), new([]ModelRecord)), false
	case prefix("storagemoves_project"):
		return pick(new(ProjectRepositoryStorageMove), new([]ProjectRepositoryStorageMove)), false
	case prefix("storagemoves_group"):
		return pick(new(GroupRepositoryStorageMove), new([]GroupRepositoryStorageMove)), false
	case prefix("storagemoves_snippet"):
		return pick(new(SnippetRepositoryStorageMove), new([]SnippetRepositoryStorageMove)), false
	case prefix("geosites_status"):
		return pick(new(GeoSiteStatus), new([]GeoSiteStatus)), false
	case prefix("geosites"):
		return pick(new(GeoSite), new([]GeoSite)), false
	case prefix("sidekiq_queue_metrics"):
		return new(SidekiqQueueMetrics), false
	}
	return nil, false
}

// TestFixturesDecodeStrictly decodes every JSON fixture with unknown fields
// refused, which shows the structs carry every field GitLab sends.
func TestFixturesDecodeStrictly(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatalf("listing fixtures: %v", err)
	}
	decoded := 0
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		trimmed := bytes.TrimSpace(raw)
		target, skip := fixtureTarget(name, len(trimmed) > 0 && trimmed[0] == '[')
		if skip {
			continue
		}
		if target == nil {
			t.Errorf("%s: no decoding rule for this fixture name; add one to fixtureTarget", file)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(target); err != nil {
			t.Errorf("%s: decoding into %T: %v", file, target, err)
			continue
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: data after the JSON value (err = %v)", file, err)
		}
		decoded++
	}
	if decoded == 0 {
		t.Errorf("decoded no fixture from testdata/*.json; want at least the datamanagement_* ones")
	}
}

// objectKeys returns the keys of a JSON object in the order sent.
func objectKeys(raw []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	values := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		values[key] = v
	}
	return keys, values, nil
}

// The record fixtures keep GitLab's exposure order (API::Entities::Admin::Model).
func TestFixturesDataManagementKeyOrder(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "datamanagement_*.json"))
	if err != nil {
		t.Fatalf("listing fixtures: %v", err)
	}
	recordKeys := []string{"record_identifier", "model_class", "created_at", "file_size", "checksum_information"}
	checksumKeys := []string{"checksum", "last_checksum", "checksum_state", "checksum_retry_count", "checksum_retry_at", "checksum_failure"}
	checked := 0
	for _, file := range files {
		if strings.HasPrefix(filepath.Base(file), "datamanagement_bulk_") {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		var records []json.RawMessage
		if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
			if err := json.Unmarshal(raw, &records); err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
		} else {
			records = []json.RawMessage{raw}
		}
		for i, rec := range records {
			keys, values, err := objectKeys(rec)
			if err != nil {
				t.Errorf("%s record %d: %v", file, i, err)
				continue
			}
			// checksum_information is left out when verification is off.
			if !slices.Equal(keys, recordKeys) && !slices.Equal(keys, recordKeys[:4]) {
				t.Errorf("%s record %d keys = %v; want %v", file, i, keys, recordKeys)
			}
			if info, ok := values["checksum_information"]; ok {
				keys, _, err := objectKeys(info)
				if err != nil || !slices.Equal(keys, checksumKeys) {
					t.Errorf("%s record %d checksum_information keys = %v (err %v); want %v", file, i, keys, err, checksumKeys)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Errorf("checked no data-management record fixture")
	}
}

func FuzzChecksumStateJSON(f *testing.F) {
	for _, seed := range []string{
		`"pending"`, `"started"`, `"succeeded"`, `"failed"`, `"disabled"`,
		`0`, `1`, `2`, `3`, `4`, `7`, `-1`, `-0`, ` 2 `, `null`, `""`,
		`"verification_failed"`, `"\u0073ucceeded"`, `true`, `[]`, `{}`, `2.0`, `1e0`,
		`99999999999999999999`, `"unterminated`, ``, `"2"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var direct ChecksumState
		_ = direct.UnmarshalJSON(data) // arbitrary bytes: no panic

		var s ChecksumState
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		trimmed := bytes.TrimSpace(data)
		if n, err := strconv.ParseInt(string(trimmed), 10, 64); err == nil {
			want := ChecksumState(strconv.FormatInt(n, 10))
			if n >= 0 && n < int64(len(checksumStatesInOrder)) {
				want = checksumStatesInOrder[n]
			}
			if s != want {
				t.Errorf("json.Unmarshal(%s) = %q; want %q", data, s, want)
			}
			return
		}
		var str string
		if err := json.Unmarshal(data, &str); err == nil {
			if string(s) != str {
				t.Errorf("json.Unmarshal(%s) = %q; want the string %q as sent", data, s, str)
			}
			out, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("json.Marshal(%q) error = %v", s, err)
			}
			wantOut, _ := json.Marshal(str)
			if !bytes.Equal(out, wantOut) {
				t.Errorf("json.Marshal(%q) = %s; want %s", s, out, wantOut)
			}
			var again ChecksumState
			if err := json.Unmarshal(out, &again); err != nil || again != s {
				t.Errorf("round trip of %q gave %q, %v", s, again, err)
			}
			return
		}
		if string(trimmed) != "null" || s != "" {
			t.Errorf("json.Unmarshal(%s) = %q, nil; only strings, integers and null should decode", data, s)
		}
	})
}

func FuzzRecordIDJSON(f *testing.F) {
	seeds := []struct {
		data string
		a, b string
	}{
		{`1`, "1", "2"},
		{`"MSAy"`, "12", "34"},
		{`"MTIgMzQ="`, "5", "1700000000"},
		{`"MSA_YWJ-Yw=="`, "1", "?ab~c"},
		{`"MSA/YWJ+Yw=="`, "", ""},
		{`"123"`, "abc", "é"},
		{`9223372036854775807`, "a", "b c"},
		{`9223372036854775808`, "x", "y"},
		{`-0`, "0", "0"},
		{`""`, "", "x"},
		{`null`, "\xff", "z"},
		{`true`, "a", "b"},
		{`{}`, "a", "b"},
		{`1.5`, "a", "b"},
		{`"\u003c"`, "<", ">"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.a, s.b)
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b string) {
		var direct RecordID
		_ = direct.UnmarshalJSON(data) // arbitrary bytes: no panic

		var id RecordID
		if err := json.Unmarshal(data, &id); err == nil {
			out, err := json.Marshal(id)
			if err != nil {
				t.Fatalf("json.Marshal(%#v) error = %v", id, err)
			}
			var back RecordID
			if err := json.Unmarshal(out, &back); err != nil || !back.Equal(id) {
				t.Errorf("json round trip of %s: %s decodes to %#v, %v; want %#v", data, out, back, err, id)
			}
			trimmed := bytes.TrimSpace(data)
			if n, err := strconv.ParseInt(string(trimmed), 10, 64); err == nil {
				if want := strconv.FormatInt(n, 10); string(out) != want {
					t.Errorf("json.Marshal(Unmarshal(%s)) = %s; want %s", data, out, want)
				}
				if got, ok := id.Int(); !ok || got != n {
					t.Errorf("Unmarshal(%s).Int() = %d, %t; want %d, true", data, got, ok, n)
				}
			}
			var s string
			if err := json.Unmarshal(data, &s); err == nil && s != "" {
				want, _ := json.Marshal(s)
				if !bytes.Equal(out, want) {
					t.Errorf("json.Marshal(Unmarshal(%s)) = %s; want %s", data, out, want)
				}
				if id.String() != s || !id.IsComposite() {
					t.Errorf("Unmarshal(%s) = %#v; want the composite %q", data, id, s)
				}
			}
		}

		// A composite key comes apart into its parts when no part holds
		// the separating space.
		if strings.Contains(a, " ") || strings.Contains(b, " ") {
			return
		}
		for _, parts := range [][]string{{a, b}, {a, b, a}} {
			cid := CompositeRecordID(parts...)
			got, err := cid.Parts()
			if err != nil {
				t.Fatalf("CompositeRecordID(%q).Parts() error = %v", parts, err)
			}
			if !slices.Equal(got, parts) {
				t.Errorf("CompositeRecordID(%q).Parts() = %q; want %q", parts, got, parts)
			}
			if want := base64.URLEncoding.EncodeToString([]byte(strings.Join(parts, " "))); cid.String() != want {
				t.Errorf("CompositeRecordID(%q).String() = %q; want %q", parts, cid.String(), want)
			}
			if !ParseRecordID(cid.String()).Equal(cid) {
				t.Errorf("ParseRecordID(%q) = %#v; want %#v", cid.String(), ParseRecordID(cid.String()), cid)
			}
			if err := cid.validate(); err != nil {
				t.Errorf("CompositeRecordID(%q).validate() = %v; want nil", parts, err)
			}
		}
	})
}
