package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// byteSize is a -max-bytes value: a number of bytes with an optional unit,
// decimal (KB, MB, GB, TB, PB) or binary (KiB, MiB, GiB, TiB, PiB), such as
// 500GiB or 1.5TB.
type byteSize int64

var units = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
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
		return errors.New("want a size such as 500GiB, 2TB or 1073741824")
	case !ok:
		return fmt.Errorf("unknown unit %q (want B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB)", t[i:])
	case n*mult >= math.MaxInt64:
		return errors.New("too large")
	}
	*b = byteSize(n * mult)
	return nil
}

// parseUntil reads -until: a clock time today (or tomorrow when it has
// passed), such as 06:00, or an RFC 3339 time.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, errors.New("it has passed")
		}
		return t, nil
	}
	c, err := time.ParseInLocation("15:04", s, now.Location())
	if err != nil {
		return time.Time{}, errors.New("want a time such as 06:00 or 2026-12-04T06:00:00+01:00")
	}
	t := time.Date(now.Year(), now.Month(), now.Day(), c.Hour(), c.Minute(), 0, 0, now.Location())
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
