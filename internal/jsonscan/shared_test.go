package jsonscan

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestSharedHandsOutOneCopy checks that a value read twice through one
// table is one string, equal to what String reads, and that it does not
// point into the input.
func TestSharedHandsOutOneCopy(t *testing.T) {
	t.Parallel()
	var table Shared
	in := []byte(`["finished","default","finished","fin\u0069shed",""]`)
	got, ok := readShared(in, &table)
	if !ok {
		t.Fatal("Scanner gave up")
	}
	for i := range in {
		in[i] = '#'
	}
	if want := []string{"finished", "default", "finished", "finished", ""}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Shared read %q; want %q", got, want)
	}
	if unsafe.StringData(got[0]) != unsafe.StringData(got[2]) {
		t.Error(`the two "finished" are two copies; want one`)
	}
	if unsafe.StringData(got[0]) == unsafe.StringData(got[3]) {
		t.Error(`an escaped "finished" came from the table; escaped values are read as String reads them`)
	}
	if table.n != 2 {
		t.Errorf("the table keeps %d values; want 2", table.n)
	}
}

// TestSharedIsBounded checks that a table keeps at most MaxShared values
// of at most MaxSharedLen bytes, and that values beyond are still read
// right.
func TestSharedIsBounded(t *testing.T) {
	t.Parallel()
	var table Shared
	var in strings.Builder
	in.WriteByte('[')
	n := 3 * MaxShared
	for i := range n {
		if i > 0 {
			in.WriteByte(',')
		}
		fmt.Fprintf(&in, `"user%d"`, i)
	}
	long := strings.Repeat("x", MaxSharedLen+1)
	fmt.Fprintf(&in, `,"%s","%s","user0"]`, long, long)
	got, ok := readShared([]byte(in.String()), &table)
	if !ok || len(got) != n+3 {
		t.Fatalf("read %d values, OK %t; want %d, true", len(got), ok, n+3)
	}
	for i := range n {
		if want := fmt.Sprintf("user%d", i); got[i] != want {
			t.Fatalf("value %d = %q; want %q", i, got[i], want)
		}
	}
	if got[n] != long || got[n+1] != long || unsafe.StringData(got[n]) == unsafe.StringData(got[n+1]) {
		t.Errorf("a value of %d bytes was kept in the table or read wrong", len(long))
	}
	if table.n != MaxShared {
		t.Errorf("the table keeps %d values; want %d", table.n, MaxShared)
	}
	if unsafe.StringData(got[n+2]) != unsafe.StringData(got[0]) {
		t.Error(`"user0", kept first, is not handed out again once the table is full`)
	}
}

// readShared reads in, a JSON array of strings, with Shared through table.
func readShared(in []byte, table *Shared) (values []string, ok bool) {
	var s Scanner
	s.Reset(in)
	s.Share(table)
	s.Expect('[')
	for i := 0; s.More(']', i); i++ {
		values = append(values, s.Shared())
	}
	s.End()
	return values, s.OK()
}
