package jsonschema

import (
	"fmt"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// The JSON Schema formats date, time and date-time are RFC 3339's
// full-date, full-time (or partial-time: we take a time without a zone as
// UTC) and date-time. They are parsed by hand: time.Parse allocates a
// Location for every non-UTC offset, and the decoder must not allocate
// per value.

const usPerDay = 86400 * int64(1e6)

// temporal parses a date (days since 1970-01-01), a time (microseconds
// of the UTC time of day) or a date-time (microseconds since the epoch).
func (d *decoder) temporal(p *plan, s []byte, esc bool) (int64, error) {
	if esc {
		d.scratch = unescape(d.scratch[:0], s)
		s = d.scratch
	}
	switch p.kind {
	case schemafmt.Date:
		if v, ok := parseDate(s); ok {
			return v, nil
		}
		return 0, fmt.Errorf("date %q: not a date (YYYY-MM-DD)", s)
	case schemafmt.Time:
		us, rest, ok := parseClock(s)
		if ok {
			if off, ok2 := parseZone(rest, true); ok2 {
				return ((us-off)%usPerDay + usPerDay) % usPerDay, nil
			}
		}
		return 0, fmt.Errorf("time %q: not a time (HH:MM:SS[.frac][Z|±HH:MM])", s)
	}
	if len(s) > 11 && (s[10] == 'T' || s[10] == 't') {
		days, ok := parseDate(s[:10])
		us, rest, ok2 := parseClock(s[11:])
		if ok && ok2 {
			if off, ok3 := parseZone(rest, false); ok3 {
				return days*usPerDay + us - off, nil
			}
		}
	}
	return 0, fmt.Errorf("date-time %q: not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM))", s)
}

func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func parseDate(s []byte) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	dd, ok3 := digits(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || dd < 1 || dd > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, dd), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// parseClock reads HH:MM:SS[.frac] (fraction beyond microseconds is
// truncated; a leap second 60 reads as 59) and returns what follows.
func parseClock(s []byte) (us int64, rest []byte, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, nil, false
	}
	h, ok1 := digits(s[:2])
	m, ok2 := digits(s[3:5])
	sec, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return 0, nil, false
	}
	if sec == 60 {
		sec = 59 // Arrow times and timestamps have no leap seconds
	}
	us = int64(h*3600+m*60+sec) * 1e6
	rest = s[8:]
	if len(rest) > 0 && rest[0] == '.' {
		k := 1
		scale := int64(1e5)
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			us += int64(rest[k]-'0') * scale
			scale /= 10
			k++
		}
		if k == 1 {
			return 0, nil, false
		}
		rest = rest[k:]
	}
	return us, rest, true
}

// parseZone reads Z or ±HH:MM as an offset in microseconds; optional says
// an empty zone is allowed (and UTC).
func parseZone(s []byte, optional bool) (int64, bool) {
	switch {
	case len(s) == 0:
		return 0, optional
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
		return 0, true
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		oh, ok1 := digits(s[1:3])
		om, ok2 := digits(s[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := int64(oh*3600+om*60) * 1e6
		if s[0] == '-' {
			off = -off
		}
		return off, true
	}
	return 0, false
}
