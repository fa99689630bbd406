package etl

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// sanitizeText makes s storable as PostgreSQL text: NUL characters are
// removed and each run of invalid UTF-8 bytes becomes one U+FFFD, as
// strings.ToValidUTF8 does. changed reports whether anything was altered, so
// the row can carry the text_sanitized flag.
func sanitizeText(s string) (out string, changed bool) {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	out = strings.ToValidUTF8(s, "\uFFFD")
	out = strings.ReplaceAll(out, "\x00", "")
	return out, true
}

// ChatID returns s as the chat_id field of a row is read: made storable
// (sanitizeText) and trimmed of white space. Ids given anywhere else, such
// as to forget, go through it so that they name the chats rows name.
func ChatID(s string) string {
	id, _ := sanitizeText(s)
	return strings.TrimSpace(id)
}

var errTimestamp = errors.New("not a timestamp")

// parseTimestamp reads the contract's one timestamp syntax:
// YYYY-MM-DD, 'T' or one space, hh:mm:ss, an optional '.' and one or more
// digits, and an optional zone 'Z', +hh:mm, +hhmm (or '-'). A value without a
// zone is in loc. Fractions beyond microseconds are truncated, not rounded,
// and the result is in UTC with a year between 0001 and 9999.
//
// It is deliberately stricter than PostgreSQL's ::timestamptz, which accepts
// words such as "yesterday", dates alone and hour-only zones.
func parseTimestamp(s string, loc *time.Location) (time.Time, error) {
	if len(s) < 19 {
		return time.Time{}, errTimestamp
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for j := i; j < i+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, errTimestamp
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errTimestamp
	}
	rest := s[19:]
	nanos := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := 100_000_000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 6 { // keep microseconds, drop the rest: truncation
				nanos += int(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == 1 {
			return time.Time{}, errTimestamp
		}
		rest = rest[i:]
	}
	zone := loc
	switch {
	case rest == "":
	case rest == "Z":
		zone = time.UTC
	case rest[0] == '+' || rest[0] == '-':
		var zh, zm int
		var ok bool
		switch len(rest) {
		case 6: // +hh:mm
			if rest[3] != ':' {
				return time.Time{}, errTimestamp
			}
			zh, ok = numAt(rest, 1)
			if ok {
				zm, ok = numAt(rest, 4)
			}
		case 5: // +hhmm
			zh, ok = numAt(rest, 1)
			if ok {
				zm, ok = numAt(rest, 3)
			}
		}
		if !ok || zh > 23 || zm > 59 {
			return time.Time{}, errTimestamp
		}
		offset := zh*3600 + zm*60
		if rest[0] == '-' {
			offset = -offset
		}
		zone = time.FixedZone("", offset)
	default:
		return time.Time{}, errTimestamp
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, zone).UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, errTimestamp
	}
	return t, nil
}

// numAt reads two ASCII digits at s[i:i+2].
func numAt(s string, i int) (int, bool) {
	a, b := s[i], s[i+1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func daysIn(year, month int) int {
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

// parseBool reads is_test_chat. ok is false for a value the contract does
// not know; empty is reported as null (valid=false, ok=true).
func parseBool(s string) (value, valid, ok bool) {
	switch strings.ToLower(s) {
	case "":
		return false, false, true
	case "true", "t", "1", "yes":
		return true, true, true
	case "false", "f", "0", "no":
		return false, true, true
	}
	return false, false, false
}

// parseCount reads message_count: a non-negative integer of ASCII digits
// that fits in an int64.
func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
