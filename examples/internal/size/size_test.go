package size

import (
	"strings"
	"testing"
)

func TestParseAndText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"500GiB", 500 << 30, ""},
		{"2TB", 2e12, ""},
		{"1073741824", 1 << 30, ""},
		{"1.5 KiB", 1536, ""},
		{"10tib", 10 << 40, ""},
		{"", 0, "want a size"},
		{"5 GB/s", 0, `unknown unit "GB/s"`},
		{"99999999PiB", 0, "too large"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error = %v; want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for n, want := range map[int64]string{512: "512 B", 1536: "1.5 KiB", 10 << 40: "10.0 TiB"} {
		if got := Text(n); got != want {
			t.Errorf("Text(%d) = %q; want %q", n, got, want)
		}
	}
}
