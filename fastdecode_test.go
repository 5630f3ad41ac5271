package gitlabdata

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
	"github.com/google/go-cmp/cmp"
)

// TestFastDecoderKeysMatchTags checks that every fast decoder knows exactly
// the keys of its struct's json tags, embedded RepositoryStorageMove fields
// included, in field order.
func TestFastDecoderKeysMatchTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		keys *jsonscan.Keys
		typ  reflect.Type
		want []string
	}{
		{recordKeys, reflect.TypeFor[ModelRecord](), nil},
		{checksumKeys, reflect.TypeFor[ChecksumInformation](), nil},
		{projectMoveKeys, reflect.TypeFor[ProjectRepositoryStorageMove](), []string{
			"id", "created_at", "state", "source_storage_name", "destination_storage_name", "error_message", "project"}},
		{groupMoveKeys, reflect.TypeFor[GroupRepositoryStorageMove](), []string{
			"id", "created_at", "state", "source_storage_name", "destination_storage_name", "error_message", "group"}},
		{snippetMoveKeys, reflect.TypeFor[SnippetRepositoryStorageMove](), []string{
			"id", "created_at", "state", "source_storage_name", "destination_storage_name", "error_message", "snippet"}},
		{projectKeys, reflect.TypeFor[ProjectIdentity](), nil},
		{groupKeys, reflect.TypeFor[BasicGroupDetails](), nil},
		{snippetKeys, reflect.TypeFor[BasicSnippet](), nil},
		{userKeys, reflect.TypeFor[UserBasic](), nil},
	} {
		want := tc.want
		if want == nil {
			for i := range tc.typ.NumField() {
				name, _, _ := strings.Cut(tc.typ.Field(i).Tag.Get("json"), ",")
				want = append(want, name)
			}
		}
		if diff := cmp.Diff(want, tc.keys.Names()); diff != "" {
			t.Errorf("keys of the %v decoder mismatch (-want +got):\n%s", tc.typ, diff)
		}
	}
}

// TestFastDecodersCoverEveryField sends each hot type one field at a time,
// for every field reflection finds in its json tags (nested objects too),
// with a value of the field's type, and checks that the fast path takes it
// and decodes it as encoding/json does. A field added to a struct without a
// case in its decoder makes the decoder decline, and this test fail.
func TestFastDecodersCoverEveryField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ       reflect.Type
		one, list func(*testing.T, []byte) bool
	}{
		{reflect.TypeFor[ModelRecord](), decodeAgrees[ModelRecord], decodeAgrees[[]*ModelRecord]},
		{reflect.TypeFor[ProjectRepositoryStorageMove](), decodeAgrees[ProjectRepositoryStorageMove], decodeAgrees[[]*ProjectRepositoryStorageMove]},
		{reflect.TypeFor[GroupRepositoryStorageMove](), decodeAgrees[GroupRepositoryStorageMove], decodeAgrees[[]*GroupRepositoryStorageMove]},
		{reflect.TypeFor[SnippetRepositoryStorageMove](), decodeAgrees[SnippetRepositoryStorageMove], decodeAgrees[[]*SnippetRepositoryStorageMove]},
	} {
		bodies := oneFieldBodies(tc.typ)
		if len(bodies) < 7 {
			t.Fatalf("oneFieldBodies(%v) = %d bodies; want one per field", tc.typ, len(bodies))
		}
		for _, body := range bodies {
			t.Run(tc.typ.Name()+"/"+body, func(t *testing.T) {
				t.Parallel()
				if !tc.one(t, []byte(body)) {
					t.Errorf("decodeFast(%s) into %v declined; its decoder lacks a case for the field", body, tc.typ)
				}
				if !tc.list(t, []byte("["+body+"]")) {
					t.Errorf("decodeFast([%s]) into []*%v declined; its decoder lacks a case for the field", body, tc.typ)
				}
			})
		}
	}
}

// oneFieldBodies returns one JSON object per field of the struct type t,
// nested fields included: {"key":value}, or {"key":{"inner":value}} and so
// on for the fields of a nested struct.
func oneFieldBodies(t reflect.Type) []string {
	var out []string
	for _, f := range flatFields(t) {
		key := `{"` + f.key + `":`
		if inner, ok := nestedStruct(f.typ); ok {
			out = append(out, key+"{}}", key+"null}")
			for _, body := range oneFieldBodies(inner) {
				out = append(out, key+body+"}")
			}
			continue
		}
		out = append(out, key+sampleValue(f.typ)+"}", key+"null}")
	}
	return out
}

type flatField struct {
	key string
	typ reflect.Type
}

// flatFields lists t's fields by json key, with embedded structs flattened,
// as jsonscan.FieldKeys orders them.
func flatFields(t reflect.Type) []flatField {
	var out []flatField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, flatFields(f.Type)...)
			continue
		}
		out = append(out, flatField{name, f.Type})
	}
	return out
}

// nestedStruct reports whether t is (a pointer to) a struct decoded field
// by field, and returns the struct type.
func nestedStruct(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[RecordID]():
		return nil, false
	}
	return t, t.Kind() == reflect.Struct
}

// sampleValue is a non-zero JSON value that decodes into type t.
func sampleValue(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return `"2024-02-29T23:59:58.125Z"`
	case reflect.TypeFor[RecordID]():
		return `"MTIgMzQ="`
	case reflect.TypeFor[ChecksumState]():
		return `3`
	}
	switch t.Kind() {
	case reflect.String:
		return `"sample ✓"`
	case reflect.Int64:
		return `42`
	case reflect.Bool:
		return `true`
	}
	panic("sampleValue: no sample for " + t.String())
}

func TestOneFieldBodies(t *testing.T) {
	t.Parallel()
	got := oneFieldBodies(reflect.TypeFor[GroupRepositoryStorageMove]())
	want := []string{
		`{"id":42}`, `{"id":null}`,
		`{"created_at":"2024-02-29T23:59:58.125Z"}`, `{"created_at":null}`,
		`{"state":"sample ✓"}`, `{"state":null}`,
		`{"source_storage_name":"sample ✓"}`, `{"source_storage_name":null}`,
		`{"destination_storage_name":"sample ✓"}`, `{"destination_storage_name":null}`,
		`{"error_message":"sample ✓"}`, `{"error_message":null}`,
		`{"group":{}}`, `{"group":null}`,
		`{"group":{"id":42}}`, `{"group":{"id":null}}`,
		`{"group":{"web_url":"sample ✓"}}`, `{"group":{"web_url":null}}`,
		`{"group":{"name":"sample ✓"}}`, `{"group":{"name":null}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("oneFieldBodies(GroupRepositoryStorageMove) mismatch (-want +got):\n%s", diff)
	}
}
