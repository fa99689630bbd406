package etl

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"
)

// Flag is a data quality flag: a field of a kept row was bad and became
// null, or text was repaired. Contract section 2 names them.
type Flag uint16

// The quality flags, in the order they are listed on a row.
const (
	FlagCreatedAtInvalid Flag = 1 << iota
	FlagConversationLogMissing
	FlagConversationLogInvalid
	FlagMessageInvalid
	FlagStructuredInfoInvalid
	FlagIsTestChatInvalid
	FlagMessageCountInvalid
	FlagMessageCountMismatch
	FlagTextSanitized
)

var flagNames = []string{
	"created_at_invalid", "conversation_log_missing", "conversation_log_invalid", "message_invalid",
	"structured_info_invalid", "is_test_chat_invalid", "message_count_invalid", "message_count_mismatch",
	"text_sanitized",
}

// Names returns the names of the flags set, in a stable order.
func (f Flag) Names() []string {
	names := []string{}
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// Text is a text value that may be null.
type Text struct {
	S     string
	Valid bool
}

func textOf(s string) Text { return Text{S: s, Valid: s != ""} }

// Row is one chat version, validated and shaped for staging: typed source
// fields, the raw JSON (sanitized), the structured_info facts rendered for
// the deliverables, and the exploded messages.
type Row struct {
	Line            int64
	ChatID          string
	UpdatedAt       time.Time // UTC, microseconds
	CreatedAt       time.Time // zero when null
	HasCreatedAt    bool
	Slug            Text
	Token           Text
	OrganizationID  Text
	Language        Text // lower-cased
	Sentiment       Text
	Resolution      Text
	IsTestChat      bool
	HasIsTestChat   bool
	MessageCount    int64
	HasMessageCount bool

	ConversationLog Text // as in the file, sanitized
	StructuredInfo  Text // as in the file, sanitized

	// Facts is a JSON object: for each top-level key of structured_info,
	// its key() mapped to its rendering (contract section 4) as a JSON
	// string, or null. Keys that feed array columns get the array
	// rendering. It is {} when structured_info is not an object.
	Facts []byte

	Messages         []Message
	DefaultMessageID Text // id of the first assistant message of type default
	IsDefaultChat    bool // no message has role "user"
	Flags            Flag

	// Hash identifies the version's content: two records of the same
	// version with the same hash are identical and need no write.
	Hash [sha256.Size]byte
}

// Message is one element of conversation_log that is an object. Values are
// their scalar rendering (contract section 4); Extra holds the other keys
// like Row.Facts.
type Message struct {
	ID         Text
	Role       Text
	Type       Text
	Content    Text
	Disclaimer Text
	Extra      []byte // JSON object, nil when the message has no other key
}

// chatArrayKeys are the structured_info keys whose deliverable columns are
// arrays; messageArrayKeys likewise for message-level keys.
var (
	chatArrayKeys = map[string]bool{
		"locations": true, "pois": true, "provinces": true, "sectiontype": true, "triptype": true,
		"countries": true, "emailtypes": true, "actions": true, "cities": true,
	}
	messageArrayKeys = map[string]bool{
		"categories": true, "themes": true, "regions": true, "currentbrands": true,
		"locations": true, "pois": true, "provinces": true, "triptype": true, "countries": true, "cities": true,
	}
)

// Shaper turns Records into Rows. It keeps scratch buffers between calls,
// so each goroutine needs its own.
type Shaper struct {
	loc  *time.Location
	dec  jsonDecoder
	buf  []byte
	keys [][]byte
}

// NewShaper returns a Shaper reading zone-less timestamps in loc (nil: UTC).
func NewShaper(loc *time.Location) *Shaper {
	if loc == nil {
		loc = time.UTC
	}
	return &Shaper{loc: loc}
}

// Shape validates and shapes one record. It never fails: a bad field
// becomes null and sets a flag on the row (contract section 2).
func (s *Shaper) Shape(rec *Record) Row {
	row := Row{Line: rec.Line, ChatID: rec.ChatID, UpdatedAt: rec.UpdatedAt}
	var v [numColumns]string
	for c := range rec.values {
		var changed bool
		v[c], changed = sanitizeText(rec.values[c])
		if changed {
			row.Flags |= FlagTextSanitized
		}
	}
	if rec.sanitized {
		row.Flags |= FlagTextSanitized
	}
	v[ColChatID] = rec.ChatID
	for _, c := range []Column{ColOrganizationID, ColLanguage, ColIsTestChat, ColCreatedAt, ColUpdatedAt, ColMessageCount} {
		v[c] = strings.TrimSpace(v[c])
	}
	v[ColLanguage] = strings.ToLower(v[ColLanguage])

	row.Slug = textOf(v[ColSlug])
	row.Token = textOf(v[ColToken])
	row.OrganizationID = textOf(v[ColOrganizationID])
	row.Language = textOf(v[ColLanguage])
	row.Sentiment = textOf(v[ColSentiment])
	row.Resolution = textOf(v[ColResolution])

	if v[ColCreatedAt] != "" {
		t, err := parseTimestamp(v[ColCreatedAt], s.loc)
		if err != nil {
			row.Flags |= FlagCreatedAtInvalid
		} else {
			row.CreatedAt, row.HasCreatedAt = t, true
		}
	}
	var ok bool
	row.IsTestChat, row.HasIsTestChat, ok = parseBool(v[ColIsTestChat])
	if !ok {
		row.Flags |= FlagIsTestChatInvalid
	}
	if v[ColMessageCount] != "" {
		row.MessageCount, row.HasMessageCount = parseCount(v[ColMessageCount])
		if !row.HasMessageCount {
			row.Flags |= FlagMessageCountInvalid
		}
	}

	row.ConversationLog = textOf(v[ColConversationLog])
	row.StructuredInfo = textOf(v[ColStructuredInfo])
	s.shapeMessages(&row, v[ColConversationLog])
	s.shapeFacts(&row, v[ColStructuredInfo])

	row.IsDefaultChat = true
	for i := range row.Messages {
		m := &row.Messages[i]
		if m.Role.S == "user" {
			row.IsDefaultChat = false
		}
		if !row.DefaultMessageID.Valid && m.Role.S == "assistant" && m.Type.S == "default" && m.ID.Valid {
			row.DefaultMessageID = m.ID
		}
	}
	if row.HasMessageCount && row.MessageCount != int64(len(row.Messages)) {
		row.Flags |= FlagMessageCountMismatch
	}
	row.Hash = hashValues(&v)
	return row
}

// hashValues hashes the normalized source values, so the same content
// gives the same hash whatever the column order or white space around
// trimmed fields.
func hashValues(v *[numColumns]string) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range v {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// shapeMessages explodes conversation_log. Any syntax error discards all
// messages: a half-read log would be a silent corruption.
func (s *Shaper) shapeMessages(row *Row, log string) {
	if strings.TrimSpace(log) == "" {
		row.Flags |= FlagConversationLogMissing
		return
	}
	d := &s.dec
	d.reset([]byte(log))
	kind, err := d.peek()
	if err != nil || kind != jsonArray {
		row.Flags |= FlagConversationLogInvalid
		return
	}
	var msgs []Message
	invalid := false
	err = d.array(func() error {
		k, err := d.peek()
		if err != nil {
			return err
		}
		if k != jsonObject {
			invalid = true
			return d.skip()
		}
		m, err := s.message()
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
		return nil
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		row.Flags |= FlagConversationLogInvalid
		return
	}
	if invalid {
		row.Flags |= FlagMessageInvalid
	}
	if d.sanitized() {
		row.Flags |= FlagTextSanitized
	}
	row.Messages = msgs
}

// message reads one message object. Keys are matched by key(); the first
// of clashing keys wins.
func (s *Shaper) message() (Message, error) {
	d := &s.dec
	var m Message
	s.keys = s.keys[:0]
	extra := s.buf[:0]
	err := d.object(func(name []byte) error {
		k := string(appendKey(nil, name))
		for _, seen := range s.keys {
			if string(seen) == k {
				return d.skip()
			}
		}
		s.keys = append(s.keys, []byte(k))
		var dst *Text
		switch k {
		case "id":
			dst = &m.ID
		case "role":
			dst = &m.Role
		case "type":
			dst = &m.Type
		case "content":
			dst = &m.Content
		case "disclaimer":
			dst = &m.Disclaimer
		}
		if dst != nil {
			t, kind, err := d.text(nil)
			if err != nil {
				return err
			}
			if kind != jsonNull {
				*dst = Text{S: string(t), Valid: true}
			}
			return nil
		}
		var err error
		extra, err = s.appendFact(extra, k, messageArrayKeys[k])
		return err
	})
	if err != nil {
		return m, err
	}
	if len(extra) > 0 {
		m.Extra = append(append([]byte{'{'}, extra[1:]...), '}')
	}
	s.buf = extra[:0]
	return m, nil
}

// appendFact appends `,"key":rendering` for the value at the decoder.
func (s *Shaper) appendFact(dst []byte, key string, array bool) ([]byte, error) {
	d := &s.dec
	dst = append(dst, ',')
	dst = appendJSONString(dst, []byte(key))
	dst = append(dst, ':')
	var val []byte
	var kind jsonKind
	var err error
	if array {
		val, kind, err = d.value(nil)
		if err == nil && kind != jsonArray && kind != jsonNull {
			val = append(append([]byte{'['}, val...), ']')
		}
	} else {
		val, kind, err = d.text(nil)
	}
	if err != nil {
		return dst, err
	}
	if kind == jsonNull {
		return append(dst, "null"...), nil
	}
	return appendJSONString(dst, val), nil
}

// shapeFacts renders the top-level keys of structured_info.
func (s *Shaper) shapeFacts(row *Row, info string) {
	row.Facts = []byte("{}")
	if strings.TrimSpace(info) == "" {
		return
	}
	d := &s.dec
	d.reset([]byte(info))
	kind, err := d.peek()
	if err != nil || kind != jsonObject {
		row.Flags |= FlagStructuredInfoInvalid
		return
	}
	var facts []byte
	var seen []string
	err = d.object(func(name []byte) error {
		k := string(appendKey(nil, name))
		for _, sk := range seen {
			if sk == k {
				return d.skip()
			}
		}
		seen = append(seen, k)
		var err error
		facts, err = s.appendFact(facts, k, chatArrayKeys[k])
		return err
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		row.Flags |= FlagStructuredInfoInvalid
		return
	}
	if d.sanitized() {
		row.Flags |= FlagTextSanitized
	}
	if len(facts) > 0 {
		row.Facts = append(append([]byte{'{'}, facts[1:]...), '}')
	}
}
