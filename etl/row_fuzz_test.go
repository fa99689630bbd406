package etl

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadAndShape feeds arbitrary bytes through the whole row parser: the
// reader, then the shaper. Whatever the input: no panic, and everything
// that would reach PostgreSQL is valid UTF-8 without NUL, and the facts and
// extras are valid JSON objects.
func FuzzReadAndShape(f *testing.F) {
	f.Add([]byte(testHeader + `C-1,s,t,17,"[{""id"": ""a"", ""role"": ""user"", ""content"": ""h\u00e9 \ud83d\ude00""}]","{""first_name"": ""x"", ""pois"": [1, NaN]}",2025-07-01T08:00:00,2025-07-01T08:05:00Z,NL,yes,,,1` + "\n"))
	f.Add([]byte(testHeader + "C-2,\"a\"b,t\n,,\n\"open"))
	f.Add([]byte("\xEF\xBB\xBFCHAT_ID,UPDATED_AT,CONVERSATION_LOG\r\nx,2025-01-01 00:00:00.1234567+0130,\"[1, {}, [\"\"\\u0000\"\"]]\"\r\n"))
	f.Add([]byte("chat_id,updated_at,conversation_log,structured_info\nx\x00,2025-01-01T00:00:00,\"[{\"\"a\"\": \"\"\xff\xfe\"\"}]\",\"{\"\"k\"\": {\"\"k\"\": [[[]]]}}\"\n"))
	f.Add([]byte("chat_id,updated_at,conversation_log\n" + "x,2025-01-01T00:00:00," + strings.Repeat("[", 2000) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(strings.NewReader(string(data)), ReaderOptions{})
		if err != nil {
			return
		}
		s := NewShaper(nil)
		for {
			rec, err := r.Next()
			var rej *Reject
			if err == io.EOF {
				return
			}
			if errors.As(err, &rej) {
				checkText(t, "reject raw", rej.Raw)
				checkText(t, "reject reason", rej.Reason)
				continue
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			row, rej := s.Shape(&rec)
			if rej != nil {
				checkText(t, "reject raw", rej.Raw)
				continue
			}
			if row.ChatID == "" {
				t.Fatal("empty chat_id accepted")
			}
			for _, tx := range []Text{row.Slug, row.Token, row.OrganizationID, row.Language, row.Sentiment,
				row.Resolution, row.ConversationLog, row.StructuredInfo, row.DefaultMessageID} {
				checkText(t, "field", tx.S)
			}
			checkText(t, "chat_id", row.ChatID)
			checkObject(t, "facts", row.Facts)
			for _, m := range row.Messages {
				for _, tx := range []Text{m.ID, m.Role, m.Type, m.Content, m.Disclaimer} {
					checkText(t, "message field", tx.S)
				}
				if m.Extra.Valid {
					checkObject(t, "extra", []byte(m.Extra.S))
				}
			}
		}
	})
}

func checkText(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		t.Fatalf("%s is not storable text: %q", what, s)
	}
}

func checkObject(t *testing.T, what string, b []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %s: %v", what, b, err)
	}
	if strings.Contains(string(b), `\u0000`) {
		t.Fatalf("%s holds a NUL, which jsonb refuses: %s", what, b)
	}
}
