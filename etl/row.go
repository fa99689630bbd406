package etl

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
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
	// MessagesDigest is MessagesDigest(Messages): a destination that keeps
	// it with the messages can tell a newer version whose conversation only
	// grew, and write only the messages it added.
	MessagesDigest [sha256.Size]byte
}

// Key identifies a version and its content without any JSON work: what a
// destination needs to say whether it already keeps the version as it is.
type Key struct {
	ChatID    string
	UpdatedAt time.Time
	Hash      [sha256.Size]byte
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
	Extra      Text // JSON object; null when the message has no other key
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
	// MaxMessages rejects a chat with more messages; NewShaper sets
	// DefaultMaxMessages.
	MaxMessages int

	loc *time.Location
	dec jsonDecoder
	// scratch buffers, reused from row to row
	arena   []byte
	spans   []messageSpans
	key     []byte
	keyBuf  []byte
	keyEnds []int
	extra   []byte
	facts   []byte
	val     []byte
}

// NewShaper returns a Shaper reading zone-less timestamps in loc (nil: UTC).
func NewShaper(loc *time.Location) *Shaper {
	if loc == nil {
		loc = time.UTC
	}
	return &Shaper{loc: loc, MaxMessages: DefaultMaxMessages}
}

// errTooManyMessages stops reading a conversation_log over the cap.
var errTooManyMessages = errors.New("too many messages")

// Shape validates and shapes one record. A bad field becomes null and sets
// a flag on the row (contract section 2); only a conversation over the
// message cap is rejected, with the record written back as CSV.
func (s *Shaper) Shape(rec *Record) (Row, *Reject) {
	var n Normalized
	n.Of(rec)
	return s.ShapeNormalized(rec, &n)
}

// Normalized are a record's values as the contract reads them, before any
// JSON: sanitized, the trimmed fields trimmed, language lower-cased. They
// identify the version's content (Key) without shaping it, which is what a
// load needs to know whether the database keeps the row already. The zero
// value is ready for Of; reuse it from record to record.
type Normalized struct {
	v         [numColumns]string
	sanitized bool
	key       Key
}

// Of normalizes rec and hashes its values.
func (n *Normalized) Of(rec *Record) {
	n.sanitized = rec.sanitized
	for c := range rec.values {
		var changed bool
		n.v[c], changed = sanitizeText(rec.values[c])
		n.sanitized = n.sanitized || changed
	}
	n.v[ColChatID] = rec.ChatID
	for _, c := range []Column{ColOrganizationID, ColLanguage, ColIsTestChat, ColCreatedAt, ColUpdatedAt, ColMessageCount} {
		n.v[c] = strings.TrimSpace(n.v[c])
	}
	n.v[ColLanguage] = strings.ToLower(n.v[ColLanguage])
	n.key = Key{ChatID: rec.ChatID, UpdatedAt: rec.UpdatedAt, Hash: hashValues(&n.v)}
}

// Key identifies the record's version and content.
func (n *Normalized) Key() Key { return n.key }

// ShapeNormalized is Shape for a record that n normalized.
func (s *Shaper) ShapeNormalized(rec *Record, n *Normalized) (Row, *Reject) {
	row := Row{Line: rec.Line, ChatID: rec.ChatID, UpdatedAt: rec.UpdatedAt, Hash: n.key.Hash}
	v := &n.v
	if n.sanitized {
		row.Flags |= FlagTextSanitized
	}

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
	if err := s.shapeMessages(&row, v[ColConversationLog]); errors.Is(err, errTooManyMessages) {
		return Row{}, &Reject{Line: rec.Line, Code: RejectTooManyMessages, ChatID: rec.ChatID,
			Reason: fmt.Sprintf("conversation_log has more than %d messages", s.MaxMessages),
			Raw:    recordText(rec.fields)}
	}
	s.shapeFacts(&row, v[ColStructuredInfo])

	row.IsDefaultChat = true
	foundDefault := false
	for i := range row.Messages {
		m := &row.Messages[i]
		if m.Role.S == "user" {
			row.IsDefaultChat = false
		}
		// The first such message, even when its id is null: the contract
		// names that message's id, not the first id among them.
		if !foundDefault && m.Role.S == "assistant" && m.Type.S == "default" {
			row.DefaultMessageID, foundDefault = m.ID, true
		}
	}
	if row.HasMessageCount && row.MessageCount != int64(len(row.Messages)) {
		row.Flags |= FlagMessageCountMismatch
	}
	row.MessagesDigest = MessagesDigest(row.Messages)
	return row, nil
}

// MessagesDigest is the SHA-256 of msgs' values, each length-prefixed and
// marked null or not, in order. Two lists have the same digest only when
// they hold the same messages, value for value, so the digest of a newer
// version's first n messages equals that of an older version's n
// messages exactly when the conversation only grew.
func MessagesDigest(msgs []Message) [sha256.Size]byte {
	h := sha256.New()
	var n [9]byte
	for i := range msgs {
		m := &msgs[i]
		for _, t := range [...]Text{m.ID, m.Role, m.Type, m.Content, m.Disclaimer, m.Extra} {
			n[0] = 0
			if t.Valid {
				n[0] = 1
			}
			binary.LittleEndian.PutUint64(n[1:], uint64(len(t.S)))
			h.Write(n[:])
			h.Write(bytesOf(t.S))
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// recordText writes fields back as one CSV record, sanitized, for a reject
// found after reading.
func recordText(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	text, _ := sanitizeText(strings.TrimSuffix(b.String(), "\n"))
	return text
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
		h.Write(bytesOf(s))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// span locates a value in the Shaper's arena until the row is done.
type span struct {
	start, end int32
	valid      bool
}

type messageSpans struct {
	id, role, typ, content, disclaimer, extra span
}

// bytesOf views s as bytes without copying: the decoder only reads them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// shapeMessages explodes conversation_log. Any syntax error discards all
// messages: a half-read log would be a silent corruption. All the texts of
// a row's messages are built into one arena and become substrings of a
// single string, one allocation per row instead of several per message.
func (s *Shaper) shapeMessages(row *Row, log string) error {
	if strings.TrimSpace(log) == "" {
		row.Flags |= FlagConversationLogMissing
		return nil
	}
	d := &s.dec
	d.reset(bytesOf(log))
	kind, err := d.peek()
	if err != nil || kind != jsonArray {
		row.Flags |= FlagConversationLogInvalid
		return nil
	}
	s.arena = s.arena[:0]
	if len(log) > bigRecord {
		// A big log's texts get an arena of their own, sized once: no
		// copies as it grows, and no copy into a string at the end.
		s.arena = make([]byte, 0, len(log)+64)
	}
	s.spans = s.spans[:0]
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
		if len(s.spans) >= s.MaxMessages {
			return errTooManyMessages
		}
		return s.message()
	})
	if err == nil {
		err = d.finish()
	}
	if errors.Is(err, errTooManyMessages) {
		return err
	}
	if err != nil {
		row.Flags |= FlagConversationLogInvalid
		return nil
	}
	if invalid {
		row.Flags |= FlagMessageInvalid
	}
	if d.sanitized() {
		row.Flags |= FlagTextSanitized
	}
	var arena string
	if len(log) > bigRecord {
		arena = unsafe.String(unsafe.SliceData(s.arena), len(s.arena))
		s.arena = nil // the row owns it now
	} else {
		arena = string(s.arena)
	}
	text := func(sp span) Text {
		if !sp.valid {
			return Text{}
		}
		return Text{S: arena[sp.start:sp.end], Valid: true}
	}
	row.Messages = make([]Message, len(s.spans))
	for i, sp := range s.spans {
		row.Messages[i] = Message{ID: text(sp.id), Role: text(sp.role), Type: text(sp.typ),
			Content: text(sp.content), Disclaimer: text(sp.disclaimer), Extra: text(sp.extra)}
	}
	return nil
}

// seenKey reports whether key was already seen in the current object, and
// records it if not. Objects have a handful of keys: a linear scan of a
// flat buffer beats a map and allocates nothing.
func (s *Shaper) seenKey(key []byte) bool {
	for i := 0; i+1 < len(s.keyEnds); i++ {
		if string(s.keyBuf[s.keyEnds[i]:s.keyEnds[i+1]]) == string(key) {
			return true
		}
	}
	s.keyBuf = append(s.keyBuf, key...)
	s.keyEnds = append(s.keyEnds, len(s.keyBuf))
	return false
}

func (s *Shaper) resetKeys() {
	s.keyBuf = s.keyBuf[:0]
	s.keyEnds = append(s.keyEnds[:0], 0)
}

// message reads one message object into the arena. Keys are matched by
// key(); the first of clashing keys wins.
func (s *Shaper) message() error {
	d := &s.dec
	var m messageSpans
	s.resetKeys()
	s.extra = s.extra[:0]
	err := d.object(func(name []byte) error {
		s.key = appendKey(s.key[:0], name)
		if s.seenKey(s.key) {
			return d.skip()
		}
		var dst *span
		switch string(s.key) {
		case "id":
			dst = &m.id
		case "role":
			dst = &m.role
		case "type":
			dst = &m.typ
		case "content":
			dst = &m.content
		case "disclaimer":
			dst = &m.disclaimer
		}
		if dst != nil {
			start := len(s.arena)
			var kind jsonKind
			var err error
			s.arena, kind, err = d.text(s.arena)
			if err != nil {
				return err
			}
			*dst = span{int32(start), int32(len(s.arena)), kind != jsonNull}
			return nil
		}
		var err error
		s.extra, err = s.appendFact(s.extra, s.key, messageArrayKeys[string(s.key)])
		return err
	})
	if err != nil {
		return err
	}
	if len(s.extra) > 0 {
		start := len(s.arena)
		s.arena = append(s.arena, '{')
		s.arena = append(s.arena, s.extra[1:]...)
		s.arena = append(s.arena, '}')
		m.extra = span{int32(start), int32(len(s.arena)), true}
	}
	s.spans = append(s.spans, m)
	return nil
}

// appendFact appends `,"key":rendering` for the value at the decoder.
func (s *Shaper) appendFact(dst []byte, key []byte, array bool) ([]byte, error) {
	d := &s.dec
	dst = append(dst, ',')
	dst = appendJSONString(dst, key)
	dst = append(dst, ':')
	var kind jsonKind
	var err error
	s.val = s.val[:0]
	if array {
		s.val = append(s.val, '[')
		s.val, kind, err = d.value(s.val)
		if err == nil && kind == jsonArray {
			s.val = s.val[1:]
		} else {
			s.val = append(s.val, ']')
		}
	} else {
		s.val, kind, err = d.text(s.val)
	}
	if err != nil {
		return dst, err
	}
	if kind == jsonNull {
		return append(dst, "null"...), nil
	}
	return appendJSONString(dst, s.val), nil
}

// shapeFacts renders the top-level keys of structured_info.
func (s *Shaper) shapeFacts(row *Row, info string) {
	row.Facts = []byte("{}")
	if strings.TrimSpace(info) == "" {
		return
	}
	d := &s.dec
	d.reset(bytesOf(info))
	kind, err := d.peek()
	if err != nil || kind != jsonObject {
		row.Flags |= FlagStructuredInfoInvalid
		return
	}
	s.resetKeys()
	facts := s.facts[:0]
	err = d.object(func(name []byte) error {
		s.key = appendKey(s.key[:0], name)
		if s.seenKey(s.key) {
			return d.skip()
		}
		var err error
		facts, err = s.appendFact(facts, s.key, chatArrayKeys[string(s.key)])
		return err
	})
	s.facts = facts
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
		out := make([]byte, 0, len(facts)+1)
		out = append(out, '{')
		out = append(out, facts[1:]...)
		row.Facts = append(out, '}')
	}
}
