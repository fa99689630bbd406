package etl

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want string // RFC3339Nano in UTC; "" means not a timestamp
	}{
		{"2025-05-28T12:55:10.546493", nil, "2025-05-28T12:55:10.546493Z"},
		{"2025-05-28 12:55:10", nil, "2025-05-28T12:55:10Z"},
		{"2025-07-01T10:00:00+02:00", nil, "2025-07-01T08:00:00Z"},
		{"2025-07-01T06:30:00-0130", nil, "2025-07-01T08:00:00Z"},
		{"2025-07-01 08:00:00Z", nil, "2025-07-01T08:00:00Z"},
		{"2025-07-01T08:00:00.0000009", nil, "2025-07-01T08:00:00Z"},              // truncated, not rounded
		{"2025-07-02T00:00:00.1234567+00:00", nil, "2025-07-02T00:00:00.123456Z"}, // truncated
		{"2025-07-01T08:00:00.9999999", nil, "2025-07-01T08:00:00.999999Z"},
		{"2025-07-01T08:00:00.5", nil, "2025-07-01T08:00:00.5Z"},
		{"2024-02-29T00:00:00", nil, "2024-02-29T00:00:00Z"},
		{"2025-07-01T08:00:00", cet, "2025-07-01T07:00:00Z"}, // no zone: the user's zone
		{"2025-07-01T08:00:00Z", cet, "2025-07-01T08:00:00Z"},
		{"9999-12-31T23:59:59", nil, "9999-12-31T23:59:59Z"},
		{"0001-01-01T00:00:00", nil, "0001-01-01T00:00:00Z"},
		// not timestamps
		{"yesterday", nil, ""},
		{"now", nil, ""},
		{"2025-07-01", nil, ""},
		{"2025-07-01T08:05:00+02", nil, ""},
		{"2025-07-01t08:05:00", nil, ""},
		{"2025-07-01T08:05:00z", nil, ""},
		{"2025-07-01T23:59:60", nil, ""},
		{"2025-02-29T00:00:00", nil, ""},
		{"2025-13-01T00:00:00", nil, ""},
		{"2025-07-01T24:00:00", nil, ""},
		{"2025-07-01T08:00:00.", nil, ""},
		{"2025-07-01T08:00:00+24:00", nil, ""},
		{"2025-07-01T08:00:00+02:60", nil, ""},
		{"2025-07-01T08:00:00 +02:00", nil, ""},
		{"2025-07-01  08:00:00", nil, ""},
		{"２025-07-01T08:00:00", nil, ""},
		{"0001-01-01T00:30:00+01:00", nil, ""}, // year 0 in UTC
		{"9999-12-31T23:30:00-01:00", nil, ""}, // year 10000 in UTC
		{"", nil, ""},
	}
	for _, tt := range tests {
		loc := tt.loc
		if loc == nil {
			loc = time.UTC
		}
		got, err := parseTimestamp(tt.in, loc)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseTimestamp(%q) = %v, want not a timestamp", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if s := got.Format(time.RFC3339Nano); s != tt.want {
			t.Errorf("parseTimestamp(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"true", "TRUE", "t", "T", "1", "yes", "Yes"} {
		if v, valid, ok := parseBool(in); !v || !valid || !ok {
			t.Errorf("parseBool(%q) = %v %v %v, want true", in, v, valid, ok)
		}
	}
	for _, in := range []string{"false", "F", "0", "no", "NO"} {
		if v, valid, ok := parseBool(in); v || !valid || !ok {
			t.Errorf("parseBool(%q) = %v %v %v, want false", in, v, valid, ok)
		}
	}
	if _, valid, ok := parseBool(""); valid || !ok {
		t.Errorf("parseBool(\"\") must be null without complaint")
	}
	for _, in := range []string{"on", "y", "tr", "2", "ja"} {
		if _, valid, ok := parseBool(in); valid || ok {
			t.Errorf("parseBool(%q) must be invalid", in)
		}
	}
}

func TestParseCount(t *testing.T) {
	t.Parallel()
	good := map[string]int64{"0": 0, "2": 2, "0012": 12, "123456789012345678": 123456789012345678}
	for in, want := range good {
		if n, ok := parseCount(in); !ok || n != want {
			t.Errorf("parseCount(%q) = %d %v, want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1.0", "+3", "1e3", "twee", "1234567890123456789012"} {
		if _, ok := parseCount(in); ok {
			t.Errorf("parseCount(%q) must be invalid", in)
		}
	}
}

func TestSanitizeText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b", "ab"},
		{"ongeldig \xC3(\xFF\xFE eind", "ongeldig \uFFFD(\uFFFD eind"},
		{"\x00\xff", "\uFFFD"},
	}
	for _, tt := range tests {
		got, changed := sanitizeText(tt.in)
		if got != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("sanitizeText(%q) = %q %v, want %q", tt.in, got, changed, tt.want)
		}
	}
}
