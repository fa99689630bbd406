package htmlreport

import (
	"math"
	"slices"
	"testing"

	"github.com/chatstage/chatstage/etl"
)

// TestKnownNamesMatchETL keeps the fixed colours in step with the codes
// package etl gives: a code missing here would still be drawn, but in a
// colour that can change from night to night.
func TestKnownNamesMatchETL(t *testing.T) {
	t.Parallel()
	if got := etl.Flag(math.MaxUint16).Names(); !slices.Equal(got, knownFlags) {
		t.Errorf("etl's flags are %q, knownFlags %q", got, knownFlags)
	}
	var codes []string
	for _, c := range []etl.RejectCode{
		etl.RejectMalformed, etl.RejectFieldCount, etl.RejectChatIDMissing, etl.RejectUpdatedAtMissing,
		etl.RejectUpdatedAtInvalid, etl.RejectFieldTooLarge, etl.RejectTooManyMessages,
	} {
		codes = append(codes, string(c))
	}
	if !slices.Equal(codes, knownReasons) {
		t.Errorf("etl's reject codes are %q, knownReasons %q", codes, knownReasons)
	}
	if len(knownFlags) > len(muted) || len(knownReasons) > len(muted) {
		t.Error("more known names than colours")
	}
}

func TestPalette(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		known  []string
		counts map[string]int64
		want   map[string]string
		order  []string
	}{
		{
			name:   "known names keep their colour whatever else is there",
			known:  []string{"a", "b", "c"},
			counts: map[string]int64{"c": 1, "a": 100},
			want:   map[string]string{"a": muted[0], "b": muted[1], "c": muted[2]},
			order:  []string{"a", "b", "c"},
		},
		{
			name:   "unknown names take the free colours, most counted first",
			known:  []string{"a", "b"},
			counts: map[string]int64{"a": 1, "y": 5, "x": 5, "z": 50},
			want:   map[string]string{"a": muted[0], "z": muted[2], "x": muted[3], "y": muted[4]},
			order:  []string{"a", "b", "z", "x", "y"},
		},
		{
			name:   "then the colours of known names not on the page, then grey",
			known:  knownFlags,
			counts: map[string]int64{"text_sanitized": 1, "new1": 3, "new2": 2},
			want: map[string]string{
				"text_sanitized": muted[8], "new1": muted[0], "new2": muted[1],
				"created_at_invalid": muted[0],
			},
		},
		{
			name:  "past the colours, grey",
			known: knownFlags,
			counts: map[string]int64{
				"created_at_invalid": 1, "conversation_log_missing": 1, "conversation_log_invalid": 1,
				"message_invalid": 1, "structured_info_invalid": 1, "is_test_chat_invalid": 1,
				"message_count_invalid": 1, "message_count_mismatch": 1, "text_sanitized": 1, "new": 9,
			},
			want: map[string]string{"new": otherColour, "text_sanitized": muted[8]},
		},
	} {
		p := newPalette(tc.known, tc.counts)
		for name, c := range tc.want {
			if got := p.of(name); got != c {
				t.Errorf("%s: colour of %q = %s, want %s", tc.name, name, got, c)
			}
		}
		if tc.order != nil && !slices.Equal(p.order, tc.order) {
			t.Errorf("%s: order %q, want %q", tc.name, p.order, tc.order)
		}
		// Two names on the page never share a colour, bar grey.
		seen := map[string]string{}
		for name := range tc.counts {
			c := p.of(name)
			if other, ok := seen[c]; ok && c != otherColour {
				t.Errorf("%s: %q and %q share %s", tc.name, name, other, c)
			}
			seen[c] = name
		}
	}
}
