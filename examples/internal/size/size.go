// Package size reads and writes byte sizes for the example tools: 500GiB,
// 2TB, 1073741824.
package size

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

var units = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}

// Parse reads a number of bytes with an optional unit, decimal (KB, MB,
// GB, TB, PB) or binary (KiB, MiB, GiB, TiB, PiB), such as 500GiB or 1.5TB.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseFloat(num, 64)
	mult, ok := units[unit]
	switch {
	case err != nil || num == "":
		return 0, errors.New("want a size such as 500GiB, 2TB or 1073741824")
	case !ok:
		return 0, fmt.Errorf("unknown unit %q (want B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB)", strings.TrimSpace(t[i:]))
	case n*mult >= math.MaxInt64:
		return 0, errors.New("too large")
	}
	return int64(n * mult), nil
}

// Text writes n bytes for people: 512 B, 1.5 GiB.
func Text(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Flag is a flag.Value of a size.
type Flag int64

func (f *Flag) String() string { return strconv.FormatInt(int64(*f), 10) }

// Set parses s with Parse.
func (f *Flag) Set(s string) error {
	n, err := Parse(s)
	if err != nil {
		return err
	}
	*f = Flag(n)
	return nil
}
