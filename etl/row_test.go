package etl

import (
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
)

// shapeLine reads one record given as CSV fields in testHeader order and shapes it.
func shapeLine(t *testing.T, fields map[Column]string) Row {
	t.Helper()
	vals := []string{"C-1", "s", "t", "17", `[{"id": "m1", "role": "assistant", "type": "default", "content": "Hallo!"}]`,
		`{}`, "2025-07-01T08:00:00", "2025-07-01T08:05:00", "nl", "", "", "", "1"}
	for c, v := range fields {
		vals[c] = v
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(vals)
	w.Flush()
	recs, rejs := readAll(t, testHeader+b.String())
	if len(recs) != 1 || len(rejs) != 0 {
		t.Fatalf("want one record, got %d records and rejects %+v", len(recs), rejs)
	}
	row, rej := NewShaper(nil).Shape(&recs[0])
	if rej != nil {
		t.Fatalf("unexpected reject %+v", rej)
	}
	return row
}

func TestShapeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields map[Column]string
		flags  []string
		check  func(t *testing.T, r Row)
	}{
		{"clean row", nil, nil, func(t *testing.T, r Row) {
			if !r.HasCreatedAt || len(r.Messages) != 1 || !r.HasMessageCount || r.HasIsTestChat {
				t.Errorf("row = %+v", r)
			}
		}},
		{"created_at invalid", map[Column]string{ColCreatedAt: "1 juli 2025"}, []string{"created_at_invalid"},
			func(t *testing.T, r Row) {
				if r.HasCreatedAt {
					t.Error("created_at must be null")
				}
			}},
		{"created_at empty is null, no flag", map[Column]string{ColCreatedAt: " "}, nil,
			func(t *testing.T, r Row) {
				if r.HasCreatedAt {
					t.Error("created_at must be null")
				}
			}},
		{"conversation_log empty", map[Column]string{ColConversationLog: "", ColMessageCount: "0"}, []string{"conversation_log_missing"}, nil},
		{"conversation_log not JSON", map[Column]string{ColConversationLog: "[{]", ColMessageCount: ""}, []string{"conversation_log_invalid"}, nil},
		{"conversation_log not an array", map[Column]string{ColConversationLog: `{"id": 1}`, ColMessageCount: ""}, []string{"conversation_log_invalid"}, nil},
		{"conversation_log trailing garbage", map[Column]string{ColConversationLog: `[] x`, ColMessageCount: ""}, []string{"conversation_log_invalid"}, nil},
		{"element not an object", map[Column]string{ColConversationLog: `[1, {"id": "a"}, "x", null]`}, []string{"message_invalid"},
			func(t *testing.T, r Row) {
				if len(r.Messages) != 1 || r.Messages[0].ID.S != "a" {
					t.Errorf("messages = %+v", r.Messages)
				}
			}},
		{"structured_info not JSON", map[Column]string{ColStructuredInfo: "{x}"}, []string{"structured_info_invalid"},
			func(t *testing.T, r Row) {
				if string(r.Facts) != "{}" {
					t.Errorf("facts = %s", r.Facts)
				}
			}},
		{"structured_info an array", map[Column]string{ColStructuredInfo: "[1, 2]"}, []string{"structured_info_invalid"}, nil},
		{"is_test_chat invalid", map[Column]string{ColIsTestChat: "on"}, []string{"is_test_chat_invalid"}, nil},
		{"is_test_chat yes", map[Column]string{ColIsTestChat: " YES "}, nil, func(t *testing.T, r Row) {
			if !r.HasIsTestChat || !r.IsTestChat {
				t.Error("is_test_chat must be true")
			}
		}},
		{"message_count invalid", map[Column]string{ColMessageCount: "-1"}, []string{"message_count_invalid"},
			func(t *testing.T, r Row) {
				if r.HasMessageCount {
					t.Error("message_count must be null")
				}
			}},
		{"message_count mismatch", map[Column]string{ColMessageCount: "3"}, []string{"message_count_mismatch"},
			func(t *testing.T, r Row) {
				if r.MessageCount != 3 {
					t.Error("message_count is kept as given")
				}
			}},
		{"raw NUL", map[Column]string{ColSlug: "s\x00lug"}, []string{"text_sanitized"}, func(t *testing.T, r Row) {
			if r.Slug.S != "slug" {
				t.Errorf("slug = %q", r.Slug.S)
			}
		}},
		{"invalid UTF-8", map[Column]string{ColSentiment: "a\xffb"}, []string{"text_sanitized"}, func(t *testing.T, r Row) {
			if r.Sentiment.S != "a\uFFFDb" {
				t.Errorf("sentiment = %q", r.Sentiment.S)
			}
		}},
		{"JSON NUL escape", map[Column]string{ColConversationLog: `[{"content": "a\u0000b"}]`}, []string{"text_sanitized"},
			func(t *testing.T, r Row) {
				if r.Messages[0].Content.S != "ab" {
					t.Errorf("content = %q", r.Messages[0].Content.S)
				}
			}},
		{"lone surrogate in structured_info", map[Column]string{ColStructuredInfo: `{"name": "\ud83d x"}`}, []string{"text_sanitized"},
			func(t *testing.T, r Row) {
				if string(r.Facts) != `{"name":"`+"\uFFFD"+` x"}` {
					t.Errorf("facts = %s", r.Facts)
				}
			}},
		{"several flags", map[Column]string{ColCreatedAt: "x", ColIsTestChat: "x", ColMessageCount: "x"},
			[]string{"created_at_invalid", "is_test_chat_invalid", "message_count_invalid"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := shapeLine(t, tt.fields)
			got := r.Flags.Names()
			want := tt.flags
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("flags = %v, want %v", got, want)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestShapeTrimming(t *testing.T) {
	t.Parallel()
	r := shapeLine(t, map[Column]string{
		ColChatID: " C-9\u00a0", ColOrganizationID: " 17 ", ColLanguage: " NL ", ColSlug: " s ",
		ColSentiment: " happy ", ColUpdatedAt: " 2025-07-01T08:05:00 ", ColMessageCount: " 1 ",
	})
	if r.ChatID != "C-9" || r.OrganizationID.S != "17" || r.Language.S != "nl" || r.Slug.S != " s " || r.Sentiment.S != " happy " {
		t.Errorf("row = %+v", r)
	}
	if r.Flags != 0 {
		t.Errorf("flags = %v", r.Flags.Names())
	}
}

func TestShapeFactsAndMessages(t *testing.T) {
	t.Parallel()
	r := shapeLine(t, map[Column]string{
		ColStructuredInfo: `{"First Name": "Lotte", "firstName": "later clash", "countries": ["Spain", "Portugal"], ` +
			`"cities": "Porto", "pois": [3, 4.50, 6e2, -0], "trip_type": null, "is_reviewed": false, ` +
			`"suborganization": {"name": "zoover-nl", "id": 7}, "locations": {"a": 1}, "n": NaN}`,
		ColConversationLog: `[{"id": "m-1", "role": "assistant", "type": "handover", "content": "x"}, ` +
			`{"ID": "m-2", "Role": "assistant", "type": "default", "content": 12.50, "disclaimer": null, ` +
			`"intentType": "booking", "current_brands": "Zoover", "categories": ["hotel"], "themes": null, "role": "user"}, ` +
			`{"id": "m-3", "role": "user", "content": {"a": [1, "\u00e9"]}}]`,
		ColMessageCount: "3",
	})
	wantFacts := `{"firstname":"Lotte","countries":"[\"Spain\",\"Portugal\"]","cities":"[\"Porto\"]",` +
		`"pois":"[3,4.50,6e2,-0]","triptype":null,"isreviewed":"false",` +
		`"suborganization":"{\"name\":\"zoover-nl\",\"id\":7}","locations":"[{\"a\":1}]","n":null}`
	if string(r.Facts) != wantFacts {
		t.Errorf("facts\n got %s\nwant %s", r.Facts, wantFacts)
	}
	if len(r.Messages) != 3 {
		t.Fatalf("messages = %+v", r.Messages)
	}
	m := r.Messages[1]
	if m.ID.S != "m-2" || m.Role.S != "assistant" || m.Content.S != "12.50" || m.Disclaimer.Valid {
		t.Errorf("message 2 = %+v", m)
	}
	if want := `{"intenttype":"booking","currentbrands":"[\"Zoover\"]","categories":"[\"hotel\"]","themes":null}`; m.Extra.S != want {
		t.Errorf("extra\n got %s\nwant %s", m.Extra.S, want)
	}
	if r.Messages[0].Extra.Valid {
		t.Errorf("a message without other keys has no extra: %s", r.Messages[0].Extra.S)
	}
	if r.Messages[2].Content.S != `{"a":[1,"é"]}` {
		t.Errorf("object content = %q", r.Messages[2].Content.S)
	}
	if r.DefaultMessageID.S != "m-2" || r.IsDefaultChat {
		t.Errorf("default message %q, is default chat %v", r.DefaultMessageID.S, r.IsDefaultChat)
	}
}

func TestShapeDefaultMessageIsTheFirstEvenWithoutID(t *testing.T) {
	t.Parallel()
	r := shapeLine(t, map[Column]string{ColConversationLog: `[{"role": "assistant", "type": "default", "id": null}, ` +
		`{"id": "m-2", "role": "assistant", "type": "default"}]`, ColMessageCount: "2"})
	if r.DefaultMessageID.Valid {
		t.Errorf("defaultMessageId = %q, want empty: the first default message has no id", r.DefaultMessageID.S)
	}
}

func TestShapeHashIgnoresTrimmedSpace(t *testing.T) {
	t.Parallel()
	a := shapeLine(t, map[Column]string{ColLanguage: "nl"})
	b := shapeLine(t, map[Column]string{ColLanguage: " NL "})
	c := shapeLine(t, map[Column]string{ColSlug: "other"})
	if a.Hash != b.Hash {
		t.Error("values equal after trimming must hash equal")
	}
	if a.Hash == c.Hash {
		t.Error("different content must hash differently")
	}
}
