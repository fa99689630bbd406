package etl

import (
	"errors"
	"strings"
	"testing"
)

func TestCapsTurnMonstersIntoRejects(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2000)
	src := testHeader +
		"C-1,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,," + big + "\n" + // line 2: a field over the cap
		"C-2,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n" // line 3: fine
	r, err := NewReader(strings.NewReader(src), ReaderOptions{MaxFieldBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	var rej *Reject
	if !errors.As(err, &rej) || rej.Code != RejectFieldTooLarge || rej.Line != 2 || !strings.Contains(rej.Reason, "field 13 is 2000 bytes") {
		t.Fatalf("err = %v", err)
	}
	if rec, err := r.Next(); err != nil || rec.ChatID != "C-2" {
		t.Fatalf("reading goes on after a monster: %v", err)
	}

	// A record far over the cap is a reject too, never held whole, and
	// so are fields under the cap that together are over it.
	huge := testHeader + "C-1,\"" + strings.Repeat("y", 10000) + "\"\n" +
		"C-2," + strings.Repeat("z,", 5) + strings.Repeat("w", 600) + "," + strings.Repeat("v", 600) + ",,,,,\n" +
		"C-3,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n"
	r, err = NewReader(strings.NewReader(huge), ReaderOptions{MaxFieldBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"field 2 is 10000 bytes", "the fields of the record are"} {
		_, err := r.Next()
		if !errors.As(err, &rej) || rej.Code != RejectFieldTooLarge || !strings.Contains(rej.Reason, want) || len(rej.Raw) > rawKeepBytes {
			t.Fatalf("err = %v, want a field_too_large reject saying %q", err, want)
		}
	}
	if rec, err := r.Next(); err != nil || rec.ChatID != "C-3" {
		t.Fatalf("reading goes on after monsters: %v", err)
	}
}

func TestCapOnMessages(t *testing.T) {
	t.Parallel()
	log := `"[` + strings.TrimSuffix(strings.Repeat(`{""id"": ""m""}, `, 6), ", ") + `]"`
	recs, _ := readAll(t, testHeader+"C-1,s,t,17,"+log+",{},,2025-07-01T08:05:00,nl,,,,6\n")
	s := NewShaper(nil)
	s.MaxMessages = 5
	_, rej := s.Shape(&recs[0])
	if rej == nil || rej.Code != RejectTooManyMessages || rej.Line != 2 {
		t.Fatalf("reject = %+v", rej)
	}
	// The raw text is the record written back as CSV: it reads again as the same record.
	again, _ := readAll(t, testHeader+rej.Raw+"\n")
	if len(again) != 1 || again[0].values[ColConversationLog] != recs[0].values[ColConversationLog] {
		t.Errorf("raw %q does not read back as the record", rej.Raw)
	}
	s.MaxMessages = 6
	if _, rej := s.Shape(&recs[0]); rej != nil {
		t.Errorf("six messages are within a cap of six: %+v", rej)
	}
}

func TestHostileJSONIsBounded(t *testing.T) {
	t.Parallel()
	million := `"[` + strings.TrimSuffix(strings.Repeat(`{}, `, 1_000_000), ", ") + `]"`
	deep := strings.Repeat("[", 100_000)
	src := testHeader +
		"C-1,s,t,17," + million + ",{},,2025-07-01T08:05:00,nl,,,,\n" +
		"C-2,s,t,17," + deep + "," + deep + ",,2025-07-01T08:05:00,nl,,,,\n"
	recs, rejs := readAll(t, src)
	if len(recs) != 2 || len(rejs) != 0 {
		t.Fatalf("records %d rejects %d", len(recs), len(rejs))
	}
	s := NewShaper(nil)
	if _, rej := s.Shape(&recs[0]); rej == nil || rej.Code != RejectTooManyMessages {
		t.Errorf("a million messages: reject = %+v", rej)
	}
	row, rej := s.Shape(&recs[1])
	if rej != nil {
		t.Fatalf("deep nesting is a quality problem, not a reject: %+v", rej)
	}
	if want := []string{"conversation_log_invalid", "structured_info_invalid"}; strings.Join(row.Flags.Names(), ",") != strings.Join(want, ",") {
		t.Errorf("flags = %v, want %v", row.Flags.Names(), want)
	}
}
