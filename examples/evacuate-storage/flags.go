package main

import (
	"errors"
	"time"
)

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
