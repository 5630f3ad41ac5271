package gitlabdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
)

// decodeCmp compares decoded values strictly: times must be the same
// instant in the same zone with the same offset, not merely Equal.
var decodeCmp = cmp.Comparer(func(a, b time.Time) bool {
	aName, aOffset := a.Zone()
	bName, bOffset := b.Zone()
	return a.Equal(b) && aName == bName && aOffset == bOffset &&
		a.Location().String() == b.Location().String() &&
		a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano)
})

// decodeAgrees checks decodeJSON against json.Unmarshal on data, both into
// a fresh T: the same error (or none) and the same value, even when the
// input is bad. It also checks that the decoded value does not point into
// the input buffer, which readAndDecode reuses, and that decodeFast only
// accepts what encoding/json accepts, with the same result. It reports
// whether decodeFast took the input.
func decodeAgrees[T any](t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(data, &want)

	buf := bytes.Clone(data)
	var got T
	gotErr := decodeJSON(buf, &got)
	for i := range buf {
		buf[i] = '#' // as the next body would overwrite the pooled buffer
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if gotErr == nil {
			t.Errorf("decodeJSON(%q) error = nil; want the empty body error", data)
		}
	} else if fmt.Sprintf("%T %v", gotErr, gotErr) != fmt.Sprintf("%T %v", wantErr, wantErr) {
		t.Errorf("decodeJSON(%q) error = %T %v; json.Unmarshal error = %T %v", data, gotErr, gotErr, wantErr, wantErr)
	}
	if diff := cmp.Diff(want, got, decodeCmp); diff != "" {
		t.Errorf("decodeJSON(%q) into %T mismatch (-want +got):\n%s", data, got, diff)
	}

	// A listing's pages decode through its table of shared strings: the
	// first page fills it and the next ones take values from it.
	var table jsonscan.Shared
	for page := 1; page <= 2; page++ {
		var shared T
		sharedErr := decodeJSON(bytes.Clone(data), pageInto{&shared, &table})
		if fmt.Sprintf("%T %v", sharedErr, sharedErr) != fmt.Sprintf("%T %v", gotErr, gotErr) {
			t.Errorf("page %d: decodeJSON(%q) with a shared table error = %v; without = %v", page, data, sharedErr, gotErr)
		}
		if diff := cmp.Diff(want, shared, decodeCmp); diff != "" {
			t.Errorf("page %d: decodeJSON(%q) into %T with a shared table mismatch (-want +got):\n%s", page, data, shared, diff)
		}
	}

	var direct T
	fast = decodeFast(bytes.Clone(data), &direct)
	if fast && wantErr != nil {
		t.Errorf("decodeFast(%q) into %T = true; json.Unmarshal refuses it: %v", data, direct, wantErr)
	}
	var zero T
	if !fast {
		want = zero // declining must leave out untouched
	}
	if diff := cmp.Diff(want, direct, decodeCmp); diff != "" {
		t.Errorf("decodeFast(%q) into %T (took it: %t) mismatch (-want +got):\n%s", data, direct, fast, diff)
	}
	return fast
}

// decodeRecordsPage renders n data management records as GitLab does
// (compact, times in UTC with milliseconds), ids from first on, cycling
// through checksum states and the null fields that go with them.
func decodeRecordsPage(first, n int) []byte {
	b := []byte{'['}
	for i := range n {
		id := first + i
		if i > 0 {
			b = append(b, ',')
		}
		created := time.Date(2024, 11, 2, 9, 14, 3, 511e6, time.UTC).Add(time.Duration(id) * time.Minute)
		b = fmt.Appendf(b, `{"record_identifier":%d,"model_class":"LfsObject","created_at":"%s","file_size":%d,"checksum_information":`,
			id, created.Format("2006-01-02T15:04:05.000Z"), 1024*(id%977+1))
		switch id % 4 {
		case 0, 1:
			b = fmt.Appendf(b, `{"checksum":"%064x","last_checksum":"%s","checksum_state":"succeeded","checksum_retry_count":0,"checksum_retry_at":null,"checksum_failure":null}`,
				id*7919, created.Add(36*time.Hour).Format("2006-01-02T15:04:05.000Z"))
		case 2:
			b = append(b, `{"checksum":null,"last_checksum":null,"checksum_state":"pending","checksum_retry_count":null,"checksum_retry_at":null,"checksum_failure":null}`...)
		case 3:
			b = fmt.Appendf(b, `{"checksum":null,"last_checksum":"%s","checksum_state":"failed","checksum_retry_count":1,"checksum_retry_at":"%s","checksum_failure":"Verification timed out after 28800"}`,
				created.Add(36*time.Hour).Format("2006-01-02T15:04:05.000Z"), created.Add(37*time.Hour).Format("2006-01-02T15:04:05.000Z"))
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// decodeMovesPage renders n project storage moves as GitLab does, newest
// (highest id) first, ids counting down from first.
func decodeMovesPage(first, n int) []byte {
	b := []byte{'['}
	for i := range n {
		id := first - i
		if i > 0 {
			b = append(b, ',')
		}
		created := time.Date(2023, 11, 13, 3, 24, 51, 902e6, time.UTC).Add(time.Duration(id) * time.Second)
		state, errMsg := "finished", "null"
		switch id % 10 {
		case 3:
			state, errMsg = "failed", `"Failed to verify project repository checksum from 9cb6d4b6f2a8 to 000000000000"`
		case 7:
			state = "scheduled"
		}
		desc := `"Sapiente cumque unde eos quae est."`
		if id%3 == 0 {
			desc = "null"
		}
		b = fmt.Appendf(b, `{"id":%d,"created_at":"%s","state":"%s","source_storage_name":"default","destination_storage_name":"gitaly-1","error_message":%s,`+
			`"project":{"id":%d,"description":%s,"name":"Project %d","name_with_namespace":"Group %d / Project %d","path":"project-%d","path_with_namespace":"group-%d/project-%d","created_at":"%s"}}`,
			id, created.Format("2006-01-02T15:04:05.000Z"), state, errMsg,
			id+1000, desc, id, id%50, id, id, id%50, id, created.Add(-72*time.Hour).Format("2006-01-02T15:04:05.000Z"))
	}
	return append(b, ']')
}

// decodeGroupMovesPage renders n group storage moves as GitLab does,
// newest first, ids counting down from first.
func decodeGroupMovesPage(first, n int) []byte {
	b := []byte{'['}
	for i := range n {
		id := first - i
		if i > 0 {
			b = append(b, ',')
		}
		created := time.Date(2021, 2, 9, 10, 12, 23, 104e6, time.UTC).Add(time.Duration(id) * time.Second)
		b = fmt.Appendf(b, `{"id":%d,"created_at":"%s","state":"finished","source_storage_name":"default","destination_storage_name":"gitaly-2","error_message":null,`+
			`"group":{"id":%d,"web_url":"https://gitlab.example.com/groups/group-%d","name":"group-%d"}}`,
			id, created.Format("2006-01-02T15:04:05.000Z"), id+300, id, id)
	}
	return append(b, ']')
}

// decodeSnippetMovesPage renders n snippet storage moves as GitLab does,
// newest first, ids counting down from first; every other snippet is a
// personal one (project_id null) and every third author has a public email.
func decodeSnippetMovesPage(first, n int) []byte {
	b := []byte{'['}
	for i := range n {
		id := first - i
		if i > 0 {
			b = append(b, ',')
		}
		created := time.Date(2020, 12, 1, 11, 20, 14, 128e6, time.UTC).Add(time.Duration(id) * time.Second)
		project, email := "null", ""
		if id%2 == 0 {
			project = fmt.Sprint(id % 40)
		}
		if id%3 == 0 {
			email = fmt.Sprintf("user%d@example.com", id%17)
		}
		b = fmt.Appendf(b, `{"id":%d,"created_at":"%s","state":"finished","source_storage_name":"default","destination_storage_name":"gitaly-3","error_message":null,`+
			`"snippet":{"id":%d,"title":"Snippet %d","description":null,"visibility":"internal",`+
			`"author":{"id":%d,"username":"user%d","public_email":"%s","name":"User %d","state":"active","locked":false,"avatar_url":"https://www.gravatar.com/avatar/%032x?s=80&d=identicon","web_url":"https://gitlab.example.com/user%d"},`+
			`"created_at":"%s","updated_at":"%s","project_id":%s,"web_url":"https://gitlab.example.com/-/snippets/%d","raw_url":"https://gitlab.example.com/-/snippets/%d/raw",`+
			`"ssh_url_to_repo":"ssh://git@gitlab.example.com/snippets/%d.git","http_url_to_repo":"https://gitlab.example.com/snippets/%d.git"}}`,
			id, created.Format("2006-01-02T15:04:05.000Z"), id+60, id, id%17, id%17, email, id%17, id%17*7919, id%17,
			created.Add(-time.Hour).Format("2006-01-02T15:04:05.000Z"), created.Add(-time.Minute).Format("2006-01-02T15:04:05.000Z"), project, id+60, id+60, id+60, id+60)
	}
	return append(b, ']')
}

// decodeFixtures returns the bodies of the testdata files matching pattern.
func decodeFixtures(tb testing.TB, pattern string) map[string][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		tb.Fatalf("filepath.Glob(%q) = %v, %v; want fixtures", pattern, names, err)
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(name)] = b
	}
	return out
}

// recordSeeds are realistic record pages and single records, and variants
// that must fall back to encoding/json or fail there.
var recordSeeds = []string{
	`[]`, ` [ ] `, `null`, `[null]`, `[null,{"record_identifier":1}]`, `{}`,
	// composite ids, escaped ids, integer and string checksum states
	`[{"record_identifier":"MTIgMzQ=","model_class":"VirtualRegistries::Packages::Maven::Cache::Remote::Entry","created_at":"2025-06-02T11:30:27.842Z","file_size":884736}]`,
	`[{"record_identifier":"MTIgMzQ\u003d","model_class":"X"}]`,
	`[{"record_identifier":7,"checksum_information":{"checksum_state":0}},{"record_identifier":8,"checksum_information":{"checksum_state":4}},{"record_identifier":9,"checksum_information":{"checksum_state":7}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum_state":-1}},{"record_identifier":2,"checksum_information":{"checksum_state":-0}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum_state":"verification_failed"}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum_state":"\u0073ucceeded"}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum_state":2.0}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum_state":true}}]`,
	// nulls everywhere, empty and absent checksum information
	`[{"record_identifier":null,"model_class":null,"created_at":null,"file_size":null,"checksum_information":null}]`,
	`[{"record_identifier":1,"checksum_information":{}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum":null,"last_checksum":null,"checksum_state":null,"checksum_retry_count":null,"checksum_retry_at":null,"checksum_failure":null}}]`,
	// unknown fields of every shape
	`[{"record_identifier":1,"extra":{"a":[1,-2.5e+10,{"b":null}],"c":"d\"e\u00e9","t":true,"f":false},"more":[]}]`,
	`[{"record_identifier":1,"bad_escape":"\x"}]`,
	`[{"record_identifier":1,"k\u00e9y":1}]`,
	`[{"record_identifier":1,"":0}]`,
	// unicode and escapes in values
	`[{"record_identifier":1,"model_class":"Ünïcødé::Ræcord ✓ 日本"}]`,
	`[{"record_identifier":1,"model_class":"Lfs\u004fbject\n\t\/\\\"\ud83d\ude00 \ud800 \udc00x"}]`,
	"[{\"record_identifier\":1,\"model_class\":\"bad \xff utf8 \xed\xa0\x80\"}]",
	"[{\"record_identifier\":1,\"model_class\":\"tab\tinside\"}]",
	// whitespace variants
	"[\r\n\t{ \"record_identifier\" :\t1 ,\n\"file_size\"\r:\n2 }\n]\n",
	"\xef\xbb\xbf[]",
	"[{\"record_identifier\":1}\v]",
	// keys that differ only by case, or by Unicode folding
	`[{"Record_Identifier":5}]`, `[{"MODEL_CLASS":"x"}]`, `[{"record_identifier":1,"checkſum_information":{}}]`,
	`[{"record_identifier":1,"checksum_information":{"CHECKSUM":"x"}}]`,
	`[{"record_\u0069dentifier":5}]`,
	// duplicate keys (encoding/json merges into the first object)
	`[{"record_identifier":1,"record_identifier":2}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum":"a"},"checksum_information":{"checksum_state":"failed"}}]`,
	`[{"record_identifier":1,"checksum_information":{"checksum":"a"},"checksum_information":null}]`,
	// wrong types, odd numbers, odd times
	`[{"record_identifier":true}]`, `[{"record_identifier":1.5}]`, `[{"record_identifier":{}}]`, `[{"record_identifier":99999999999999999999}]`,
	`[{"record_identifier":-0}]`, `[{"record_identifier":01}]`, `[{"record_identifier":""}]`,
	`[{"model_class":5}]`, `[{"file_size":"12"}]`, `[{"file_size":1.0}]`, `[{"file_size":1e3}]`, `[{"file_size":-9223372036854775808}]`,
	`[{"created_at":123}]`, `[{"created_at":"yesterday"}]`, `[{"created_at":"2025-07-21T08:00:12.551+02:00"}]`,
	`[{"created_at":"2025-07-21T08:00:12+05:30"}]`, `[{"created_at":"2025-07-21t08:00:12z"}]`, `[{"created_at":"2025-07-21T08:00:12.551\u005a"}]`,
	`[{"created_at":"2025-07-21T24:00:00Z"}]`, `[{"created_at":"0000-01-01T00:00:00-00:00"}]`,
	`[1]`, `["x"]`, `[[]]`, `{"record_identifier":1}`, `[{"checksum_information":[]}]`, `[{"checksum_information":"x"}]`,
	// broken syntax and trailing data
	`[{"record_identifier":1}`, `[{"record_identifier":1},]`, `[{"record_identifier":1,}]`, `[{"record_identifier"}]`,
	`[] []`, `[]x`, `[],`, `[{"a":1}]]`, `[nul]`, `[{"a":tru}]`, `[{"a":-}]`, `[{"a":1.}]`, `[{"a":1e}]`,
	`[{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]`,
	"", " \n", "[{\"record_identifier\":1}]\x00",
}

// moveSeeds are the same for project storage moves.
var moveSeeds = []string{
	`[]`, `null`, `[null]`, `{}`,
	`[{"id":1,"created_at":"2020-05-07T04:27:17.234Z","state":"scheduled","source_storage_name":"default","destination_storage_name":"storage2","project":{"id":1,"description":null,"name":"project1","name_with_namespace":"John Doe2 / project1","path":"project1","path_with_namespace":"namespace1/project1","created_at":"2020-05-07T04:27:17.016Z"}}]`,
	`[{"id":1,"created_at":null,"state":null,"source_storage_name":null,"destination_storage_name":null,"error_message":null,"project":null}]`,
	`[{"id":1,"project":{"id":null,"description":null,"name":null,"name_with_namespace":null,"path":null,"path_with_namespace":null,"created_at":null}}]`,
	`[{"id":1,"state":"cleanup failed","error_message":"Failed to remove the old repository: 14:connect: connection refused \u003cstderr\u003e"}]`,
	`[{"id":1,"project":{"id":2,"name":"Prøjekt ✓","description":"line\nbreak \"quoted\" \u2028"}}]`,
	`[{"id":1,"group":{"id":2},"unknown":[1,2,{"x":"y"}]}]`,
	`[{"RepositoryStorageMove":{"id":5}}]`, `[{"ID":1}]`, `[{"id":1,"Project":{}}]`, `[{"id":1,"project":{"Name":"x"}}]`, `[{"id":1,"ſtate":"x"}]`,
	`[{"id":1,"id":2}]`, `[{"id":1,"project":{"id":2},"project":{"name":"merged"}}]`,
	`[{"id":"1"}]`, `[{"id":1.0}]`, `[{"id":9223372036854775808}]`, `[{"state":1}]`, `[{"created_at":"2023-11-13"}]`,
	`[{"created_at":5}]`, `[{"project":[]}]`, `[{"project":{"created_at":"2023-11-13T03:24:51.902-07:00"}}]`,
	`[{"id":1,"project":{"id":2}}`, `[{"id":1}] x`, `[{"id":1,"error_message":"\ud83d"}]`,
	"[{\"id\":1,\"state\":\"bad \xc3\x28\"}]",
	`{"id":1,"created_at":"2023-11-13T03:24:51.902Z","state":"finished","project":{"id":1}}`,
}

func FuzzDecodeModelRecords(f *testing.F) {
	for _, seed := range recordSeeds {
		f.Add([]byte(seed))
	}
	for _, body := range decodeFixtures(f, "datamanagement_*.json") {
		f.Add(body)
	}
	f.Add(decodeRecordsPage(1, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAgrees[[]*ModelRecord](t, data)
		decodeAgrees[ModelRecord](t, data)
	})
}

// groupSnippetMoveSeeds add the group and snippet shapes to moveSeeds.
var groupSnippetMoveSeeds = []string{
	`[{"id":1,"created_at":"2021-02-09T10:12:23.104Z","state":"finished","source_storage_name":"default","destination_storage_name":"storage2","error_message":null,"group":{"id":283,"web_url":"https://gitlab.example.com/groups/testgroup","name":"testgroup"}}]`,
	`[{"id":1,"group":null},{"id":2,"group":{}},{"id":3,"group":{"id":null,"web_url":null,"name":null}}]`,
	`[{"id":1,"group":{"ID":2}}]`, `[{"id":1,"group":{"id":2,"id":3}}]`, `[{"id":1,"group":{"id":"2"}}]`, `[{"group":[]}]`,
	`[{"id":1,"snippet":{"id":65,"title":"Test Snippet","description":null,"visibility":"internal","author":{"id":1,"username":"root","public_email":"root@example.com","name":"Administrator","state":"active","locked":false,"avatar_url":"https://www.gravatar.com/avatar/e64c?s=80&d=identicon","web_url":"https://gitlab.example.com/root"},"created_at":"2020-12-01T11:15:50.385Z","updated_at":"2020-12-01T11:15:50.385Z","project_id":null,"web_url":"https://gitlab.example.com/-/snippets/65","raw_url":"https://gitlab.example.com/-/snippets/65/raw","ssh_url_to_repo":"ssh://user@gitlab.example.com/snippets/65.git","http_url_to_repo":"https://gitlab.example.com/snippets/65.git"}}]`,
	`[{"id":1,"snippet":{"id":2,"project_id":7,"author":null}},{"id":3,"snippet":{"author":{"locked":true,"avatar_url":null,"public_email":null}}}]`,
	`[{"snippet":{"author":{"locked":"yes"}}}]`, `[{"snippet":{"author":{"locked":1}}}]`, `[{"snippet":{"author":{"Locked":true}}}]`,
	`[{"snippet":{"author":{"public_email":"a@b","public_email":"c@d"}}}]`, `[{"snippet":{"project_id":1.5}}]`,
	`[{"snippet":{"updated_at":"2020-12-01T11:15:50.385+01:00"}}]`, `[{"snippet":{"author":{"locked":tru}}}]`,
	`{"id":1,"state":"finished","snippet":{"id":1,"author":{"id":1,"public_email":""}}}`,
	`{"id":1,"state":"scheduled","group":{"id":1,"name":"g\u00e9"}}`,
}

// FuzzDecodeStorageMoves decodes every input as each of the three kinds of
// storage move, as a list and as a single move.
func FuzzDecodeStorageMoves(f *testing.F) {
	for _, seed := range append(moveSeeds, groupSnippetMoveSeeds...) {
		f.Add([]byte(seed))
	}
	for _, body := range decodeFixtures(f, "storagemoves_*.json") {
		f.Add(body)
	}
	f.Add(decodeMovesPage(20, 8))
	f.Add(decodeGroupMovesPage(20, 8))
	f.Add(decodeSnippetMovesPage(20, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAgrees[[]*ProjectRepositoryStorageMove](t, data)
		decodeAgrees[ProjectRepositoryStorageMove](t, data)
		decodeAgrees[[]*GroupRepositoryStorageMove](t, data)
		decodeAgrees[GroupRepositoryStorageMove](t, data)
		decodeAgrees[[]*SnippetRepositoryStorageMove](t, data)
		decodeAgrees[SnippetRepositoryStorageMove](t, data)
	})
}

// TestDecodeFixturesTakeFastPath proves the fast path decodes what GitLab
// really sends, and decodes it as encoding/json does.
func TestDecodeFixturesTakeFastPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		check   func(*testing.T, []byte) bool
	}{
		{"datamanagement_*page*.json", decodeAgrees[[]*ModelRecord]},
		{"datamanagement_list_*.json", decodeAgrees[[]*ModelRecord]},
		{"datamanagement_get_*.json", decodeAgrees[ModelRecord]},
		{"datamanagement_checksum_*.json", decodeAgrees[ModelRecord]},
		{"storagemoves_project_page*.json", decodeAgrees[[]*ProjectRepositoryStorageMove]},
		{"storagemoves_project.json", decodeAgrees[ProjectRepositoryStorageMove]},
		{"storagemoves_project_scheduled.json", decodeAgrees[ProjectRepositoryStorageMove]},
		{"storagemoves_group_page*.json", decodeAgrees[[]*GroupRepositoryStorageMove]},
		{"storagemoves_group.json", decodeAgrees[GroupRepositoryStorageMove]},
		{"storagemoves_group_scheduled.json", decodeAgrees[GroupRepositoryStorageMove]},
		{"storagemoves_snippet_page*.json", decodeAgrees[[]*SnippetRepositoryStorageMove]},
		{"storagemoves_snippet.json", decodeAgrees[SnippetRepositoryStorageMove]},
		{"storagemoves_snippet_scheduled.json", decodeAgrees[SnippetRepositoryStorageMove]},
	} {
		for name, body := range decodeFixtures(t, tc.pattern) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if !tc.check(t, body) {
					t.Errorf("decodeFast(%s) declined a real GitLab body", name)
				}
			})
		}
	}
	t.Run("generated pages", func(t *testing.T) {
		t.Parallel()
		if !decodeAgrees[[]*ModelRecord](t, decodeRecordsPage(1, 100)) {
			t.Error("decodeFast declined decodeRecordsPage(1, 100)")
		}
		if !decodeAgrees[[]*ProjectRepositoryStorageMove](t, decodeMovesPage(500, 100)) {
			t.Error("decodeFast declined decodeMovesPage(500, 100)")
		}
		if !decodeAgrees[[]*GroupRepositoryStorageMove](t, decodeGroupMovesPage(500, 100)) {
			t.Error("decodeFast declined decodeGroupMovesPage(500, 100)")
		}
		if !decodeAgrees[[]*SnippetRepositoryStorageMove](t, decodeSnippetMovesPage(500, 100)) {
			t.Error("decodeFast declined decodeSnippetMovesPage(500, 100)")
		}
	})
}

// TestDecodeModelRecordsPath lists which odd inputs the fast path still
// takes and which it leaves to encoding/json; either way the result must
// be encoding/json's.
func TestDecodeModelRecordsPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		fast       bool
	}{
		{"empty list", `[]`, true},
		{"null element", `[null,{"record_identifier":1}]`, true},
		{"composite id", `[{"record_identifier":"MTIgMzQ="}]`, true},
		{"escaped composite id", `[{"record_identifier":"MTIgMzQ\u003d"}]`, true},
		{"integer states", `[{"checksum_information":{"checksum_state":0}},{"checksum_information":{"checksum_state":4}}]`, true},
		{"unknown integer state", `[{"checksum_information":{"checksum_state":7}}]`, true},
		{"unknown string state", `[{"checksum_information":{"checksum_state":"verification_failed"}}]`, true},
		{"nulls everywhere", `[{"record_identifier":null,"model_class":null,"created_at":null,"file_size":null,"checksum_information":null}]`, true},
		{"empty checksum information", `[{"checksum_information":{}}]`, true},
		{"unknown fields", `[{"extra":{"a":[1,-2.5e+10,{"b":null}],"c":"d\"e","t":true,"f":false},"record_identifier":1}]`, true},
		{"unicode", `[{"model_class":"Ünïcødé ✓ 日本"}]`, true},
		{"escapes", `[{"model_class":"a\nb\u00e9\ud83d\ude00"}]`, true},
		{"lone surrogate", `[{"model_class":"\ud800"}]`, true},
		{"invalid UTF-8", "[{\"model_class\":\"\xff\"}]", true},
		{"whitespace", "\r\n[ {\t\"record_identifier\" : 1 } ]\n", true},
		{"time with offset", `[{"created_at":"2025-07-21T08:00:12.551+02:00"}]`, true},
		{"time with odd offset", `[{"created_at":"2025-07-21T08:00:12+05:30"}]`, true},
		{"negative zero", `[{"record_identifier":-0,"file_size":-0}]`, true},

		{"top-level null", `null`, false},
		{"object for a list", `{"record_identifier":1}`, false},
		{"case-variant key", `[{"Record_Identifier":5}]`, false},
		{"case-variant nested key", `[{"checksum_information":{"CHECKSUM":"x"}}]`, false},
		{"Unicode-folded key", `[{"checkſum_information":{}}]`, false},
		{"escaped key", `[{"record_\u0069dentifier":5}]`, false},
		{"duplicate key", `[{"record_identifier":1,"record_identifier":2}]`, false},
		{"duplicate object", `[{"checksum_information":{"checksum":"a"},"checksum_information":{"checksum_state":"failed"}}]`, false},
		{"boolean id", `[{"record_identifier":true}]`, false},
		{"fractional id", `[{"record_identifier":1.5}]`, false},
		{"id overflow", `[{"record_identifier":99999999999999999999}]`, false},
		{"number for a string", `[{"model_class":5}]`, false},
		{"string for a number", `[{"file_size":"12"}]`, false},
		{"exponent", `[{"file_size":1e3}]`, false},
		{"fractional state", `[{"checksum_information":{"checksum_state":2.0}}]`, false},
		{"unparsable time", `[{"created_at":"yesterday"}]`, false},
		{"number for a time", `[{"created_at":123}]`, false},
		{"escaped time", `[{"created_at":"2025-07-21T08:00:12.551\u005a"}]`, false},
		{"string for an object", `[{"checksum_information":"x"}]`, false},
		{"number element", `[1]`, false},
		{"control character", "[{\"model_class\":\"a\tb\"}]", false},
		{"bad escape in unknown field", `[{"extra":"\x"}]`, false},
		{"deep unknown value", `[{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]`, false},
		{"leading zero", `[{"record_identifier":01}]`, false},
		{"truncated", `[{"record_identifier":1}`, false},
		{"trailing comma", `[{"record_identifier":1},]`, false},
		{"trailing data", `[] []`, false},
		{"byte order mark", "\xef\xbb\xbf[]", false},
		{"vertical tab", "[{\"record_identifier\":1}\v]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := decodeAgrees[[]*ModelRecord](t, []byte(tc.data)); got != tc.fast {
				t.Errorf("decodeFast(%q) took it: %t; want %t", tc.data, got, tc.fast)
			}
		})
	}
}

func TestDecodeStorageMovesPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		fast       bool
	}{
		{"empty list", `[]`, true},
		{"null project", `[{"id":1,"project":null,"error_message":null}]`, true},
		{"null non-pointer fields", `[{"id":null,"created_at":null,"state":null,"source_storage_name":null}]`, true},
		{"escaped error message", `[{"id":1,"error_message":"\u003cstderr\u003e \"x\""}]`, true},
		{"unknown fields", `[{"id":1,"group":{"id":2},"later":[1,{"x":null}]}]`, true},
		{"embedded struct name", `[{"RepositoryStorageMove":{"id":5}}]`, true},
		{"project offset time", `[{"project":{"created_at":"2023-11-13T03:24:51.902-07:00"}}]`, true},

		{"case-variant key", `[{"ID":1}]`, false},
		{"case-variant project key", `[{"project":{"Name":"x"}}]`, false},
		{"duplicate project", `[{"project":{"id":2},"project":{"name":"merged"}}]`, false},
		{"string id", `[{"id":"1"}]`, false},
		{"id overflow", `[{"id":9223372036854775808}]`, false},
		{"number state", `[{"state":1}]`, false},
		{"date without time", `[{"created_at":"2023-11-13"}]`, false},
		{"list for a project", `[{"project":[]}]`, false},
		{"trailing data", `[{"id":1}] x`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := decodeAgrees[[]*ProjectRepositoryStorageMove](t, []byte(tc.data)); got != tc.fast {
				t.Errorf("decodeFast(%q) took it: %t; want %t", tc.data, got, tc.fast)
			}
		})
	}
}

// TestDecodeGroupAndSnippetMovesPath is TestDecodeStorageMovesPath for the
// group and snippet shapes.
func TestDecodeGroupAndSnippetMovesPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		fast       bool
	}{
		{"group", `[{"id":1,"group":{"id":2,"web_url":"u","name":"n"}}]`, true},
		{"null group", `[{"id":1,"group":null}]`, true},
		{"snippet", `[{"id":1,"snippet":{"id":2,"author":{"id":3,"public_email":"a@example.com","locked":true}}}]`, true},
		{"null author and project", `[{"snippet":{"author":null,"project_id":null,"description":null}}]`, true},
		{"null locked", `[{"snippet":{"author":{"locked":null}}}]`, true},
		{"project key on a group move", `[{"id":1,"project":{"id":2}}]`, true},

		{"case-variant group key", `[{"group":{"Name":"x"}}]`, false},
		{"case-variant author key", `[{"snippet":{"author":{"Public_Email":"x"}}}]`, false},
		{"duplicate author", `[{"snippet":{"author":{"id":1},"author":{"name":"merged"}}}]`, false},
		{"string locked", `[{"snippet":{"author":{"locked":"true"}}}]`, false},
		{"number email", `[{"snippet":{"author":{"public_email":1}}}]`, false},
		{"fractional project id", `[{"snippet":{"project_id":1.5}}]`, false},
		{"list for a group", `[{"group":[]}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			group := decodeAgrees[[]*GroupRepositoryStorageMove](t, []byte(tc.data))
			snippet := decodeAgrees[[]*SnippetRepositoryStorageMove](t, []byte(tc.data))
			if tc.name == "project key on a group move" {
				snippet = group
			}
			if strings.Contains(tc.data, `"group"`) {
				snippet = group // the snippet decoder skips "group"
			}
			if strings.Contains(tc.data, `"snippet"`) {
				group = snippet // the group decoder skips "snippet"
			}
			if group != tc.fast || snippet != tc.fast {
				t.Errorf("decodeFast(%q) took it: group %t, snippet %t; want %t", tc.data, group, snippet, tc.fast)
			}
		})
	}
}

// TestDecodeFastLeavesFilledValues checks that values already holding data
// go to encoding/json, which merges into them.
func TestDecodeFastLeavesFilledValues(t *testing.T) {
	t.Parallel()
	data := []byte(`[{"record_identifier":2}]`)
	recs := []*ModelRecord{{ModelClass: "Kept"}}
	if decodeFast(data, &recs) {
		t.Errorf("decodeFast(%s) into a non-nil slice = true; want false", data)
	}
	rec := ModelRecord{ModelClass: "Kept"}
	if decodeFast([]byte(`{"record_identifier":2}`), &rec) {
		t.Error("decodeFast into a non-zero ModelRecord = true; want false")
	}
	move := ProjectRepositoryStorageMove{RepositoryStorageMove: RepositoryStorageMove{ID: 9}}
	if decodeFast([]byte(`{"state":"finished"}`), &move) {
		t.Error("decodeFast into a non-zero ProjectRepositoryStorageMove = true; want false")
	}
	groups := []*GroupRepositoryStorageMove{nil}
	if decodeFast([]byte(`[]`), &groups) {
		t.Error("decodeFast into a non-nil []*GroupRepositoryStorageMove = true; want false")
	}
	snippet := SnippetRepositoryStorageMove{Snippet: &BasicSnippet{}}
	if decodeFast([]byte(`{"id":1}`), &snippet) {
		t.Error("decodeFast into a non-zero SnippetRepositoryStorageMove = true; want false")
	}
	var other []*RepositoryStorageMove
	if decodeFast([]byte(`[]`), &other) {
		t.Error("decodeFast into a type without a fast path = true; want false")
	}
	if err := decodeJSON(data, &recs); err != nil {
		t.Fatalf("decodeJSON(%s) error = %v", data, err)
	}
	want := []*ModelRecord{{RecordIdentifier: IntRecordID(2), ModelClass: "Kept"}}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("decodeJSON(%s) into a filled slice mismatch (-want +got):\n%s", data, diff)
	}
}

// TestDecodeRecordsDoNotShareValues checks that records cut from one slab
// stay independent: changing every other record, and what it points to,
// leaves the records in between as decoded.
func TestDecodeRecordsDoNotShareValues(t *testing.T) {
	t.Parallel()
	page := decodeRecordsPage(1, 300)
	var recs []*ModelRecord
	if !decodeFast(page, &recs) {
		t.Fatal("decodeFast(decodeRecordsPage(1, 300)) = false; want true")
	}
	var want []*ModelRecord
	if err := json.Unmarshal(page, &want); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(recs); i += 2 {
		r := recs[i]
		r.RecordIdentifier, r.ModelClass = RecordID{}, "changed"
		*r.CreatedAt, *r.FileSize = time.Time{}, -1
		ci := r.ChecksumInformation
		ci.ChecksumState = "changed"
		for _, tp := range []*time.Time{ci.LastChecksum, ci.ChecksumRetryAt} {
			if tp != nil {
				*tp = time.Time{}
			}
		}
		for _, sp := range []*string{ci.Checksum, ci.ChecksumFailure} {
			if sp != nil {
				*sp = "changed"
			}
		}
		if ci.ChecksumRetryCount != nil {
			*ci.ChecksumRetryCount = -1
		}
	}
	for i := 1; i < len(recs); i += 2 {
		if diff := cmp.Diff(want[i], recs[i], decodeCmp); diff != "" {
			t.Errorf("record %d after changing its neighbours mismatch (-want +got):\n%s", i, diff)
		}
	}
}
