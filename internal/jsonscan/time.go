package jsonscan

import "time"

// Time reads a JSON string as time.Time's UnmarshalJSON does (RFC 3339).
// The layout GitLab writes is parsed in place, digit by digit (see
// parseRails); anything else goes to UnmarshalJSON itself. A string that is
// not plain text, or that UnmarshalJSON refuses, makes the Scanner give up.
func (s *Scanner) Time() time.Time {
	if s.Peek() == '"' {
		if t, n, ok := parseRails(s.data[s.pos:]); ok {
			s.pos += n
			return t
		}
	}
	start, end, plain := s.span()
	if !s.ok {
		return time.Time{}
	}
	var t time.Time
	if !plain || t.UnmarshalJSON(s.data[start:end]) != nil {
		s.Fail()
	}
	return t
}

// parseRails parses the quoted time at the start of b when it has the form
// Rails writes, "2006-01-02T15:04:05.000Z" or "2006-01-02T15:04:05.000+02:00"
// (any 0 to 9 fractional digits), and returns it and the bytes it took, as
// time.Time's UnmarshalJSON would: in UTC for Z; otherwise in time.Local
// when Local has that offset at that instant, else in an unnamed fixed
// zone. It reports false for anything else, which UnmarshalJSON then
// handles: more than 9 fractional digits, a comma, escapes, bad ranges.
func parseRails(b []byte) (t time.Time, n int, ok bool) {
	const dateTime = len(`"2006-01-02T15:04:05`)
	if len(b) < dateTime+2 || b[0] != '"' ||
		b[5] != '-' || b[8] != '-' || b[11] != 'T' || b[14] != ':' || b[17] != ':' {
		return time.Time{}, 0, false
	}
	year := digits(b[1:5])
	month := digits(b[6:8])
	hour := digits(b[12:14])
	minute := digits(b[15:17])
	sec := digits(b[18:20])
	if year < 0 || month < 1 || month > 12 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, 0, false
	}
	day := digits(b[9:11])
	if day < 1 || day > daysIn(month, year) {
		return time.Time{}, 0, false
	}
	i, nsec := dateTime, 0
	if b[i] == '.' {
		i++
		first := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == first || i-first > 9 {
			return time.Time{}, 0, false
		}
		nsec = digits(b[first:i])
		for range 9 - (i - first) {
			nsec *= 10
		}
	}
	offset, utc := 0, false
	switch {
	case i < len(b) && b[i] == 'Z':
		utc = true
		i++
	case i+6 <= len(b) && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		hh, mm := digits(b[i+1:i+3]), digits(b[i+4:i+6])
		if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
			return time.Time{}, 0, false
		}
		offset = (hh*60 + mm) * 60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, 0, false
	}
	if i >= len(b) || b[i] != '"' {
		return time.Time{}, 0, false
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	t = time.Unix(unix, int64(nsec))
	switch {
	case utc:
		// time.Date would normalise and look up the zone; for UTC the
		// result is the same Time as time.Unix(...).UTC().
		t = t.UTC()
	case localOffset(t) == offset:
		t = t.In(time.Local)
	default:
		t = t.In(time.FixedZone("", offset))
	}
	return t, i + 1, true
}

// localOffset is time.Local's offset from UTC at t, in seconds.
func localOffset(t time.Time) int {
	_, offset := t.In(time.Local).Zone()
	return offset
}

// digits is the value of b, a run of ASCII digits, or -1 if any byte of b
// is not a digit.
func digits(b []byte) int {
	x := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		x = x*10 + int(c-'0')
	}
	return x
}

// daysSinceEpoch is the number of days from 1970-01-01 to the given date
// of the proleptic Gregorian calendar (year 0 to 9999).
func daysSinceEpoch(year, month, day int) int64 {
	y := year
	if month <= 2 {
		y-- // count the year from March, so that leap days come last
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400     // [0, 399]
	mp := (month + 9) % 12 // March is 0
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// daysIn is the number of days in month of year, in the proleptic
// Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
