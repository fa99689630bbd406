package etl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Sentinel errors for what callers test.
var (
	// ErrNoHeader: the file is empty, so it has no header; it is refused.
	ErrNoHeader = errors.New("no header")
	// ErrBadHeader: the header lacks a required column or names one twice;
	// the file is refused. The concrete error is a *HeaderError.
	ErrBadHeader = errors.New("bad header")
)

// RejectCode names why a record cannot be a chat version. The codes are
// stable: they are stored with each reject and grouped on in reports.
type RejectCode string

// The reject codes of contract section 2.
const (
	RejectMalformed        RejectCode = "malformed_csv"
	RejectFieldCount       RejectCode = "field_count"
	RejectChatIDMissing    RejectCode = "chat_id_missing"
	RejectChatIDTooLong    RejectCode = "chat_id_too_long"
	RejectUpdatedAtMissing RejectCode = "updated_at_missing"
	RejectUpdatedAtInvalid RejectCode = "updated_at_invalid"
	RejectFieldTooLarge    RejectCode = "field_too_large"
	RejectTooManyMessages  RejectCode = "too_many_messages"
)

// Caps that a real file never reaches, so that hostile input cannot take
// unbounded memory or time.
const (
	// DefaultMaxFieldBytes keeps ingest within 2 × it + 100 MB whatever
	// the input (docs/performance.md): a record is held once as it is
	// read, and shaping and copying it take about two times more.
	DefaultMaxFieldBytes = 32 << 20
	DefaultMaxMessages   = 100_000
	// MaxFieldBytesLimit is the largest field cap that a database can
	// store whatever the field holds: a structured_info rendered for the
	// deliverables takes up to about twice its size in a jsonb value,
	// whose limit is 256 MB, and a row's values must fit in 1 GB.
	MaxFieldBytesLimit = 64 << 20
	// MaxMessagesLimit keeps a chat's message ordinals far inside the
	// database's integer.
	MaxMessagesLimit = 10_000_000
	// rawKeepBytes bounds the raw text kept with a reject for a field over
	// the cap: the reject says what was wrong without storing the monster.
	rawKeepBytes = 64 << 10
	// MaxChatIDBytes is the longest chat_id kept (contract section 2): a
	// longer one could not be indexed (a B-tree entry holds ~2,700 bytes)
	// and would fail the whole load.
	MaxChatIDBytes = 512
)

// Reject is a record that cannot be a chat version. It is stored with its
// load, never dropped.
type Reject struct {
	Line   int64      // line where the record starts, from 1 (the header is line 1)
	Code   RejectCode // stable reason code
	Reason string     // the reason for a human
	Raw    string     // the record's text as in the file, without its line end (sanitized to valid UTF-8 without NUL)
	// ChatID is the record's chat_id field, trimmed and sanitized as a
	// kept row's, when the record is well-formed CSV with the header's
	// number of fields and the field is 1 to MaxChatIDBytes bytes; else
	// empty: the record's chat cannot be known.
	ChatID string
}

func (r *Reject) Error() string { return fmt.Sprintf("line %d: %s", r.Line, r.Reason) }

// Record is one well-formed source record that can be a chat version: its
// chat_id is present and its updated_at is a timestamp. Shape turns it into
// a Row.
type Record struct {
	Line      int64
	Bytes     int       // the contents of its fields, for accounting memory
	ChatID    string    // trimmed, sanitized, never empty
	UpdatedAt time.Time // UTC, microseconds
	values    [numColumns]string
	fields    []string // every field, to write the record back if the shaper rejects it
	sanitized bool     // chat_id or updated_at was sanitized
}

// ReaderOptions tune a Reader. The zero value follows the contract.
type ReaderOptions struct {
	// Location is the time zone of timestamps written without one; nil means UTC.
	Location *time.Location
	// MaxFieldBytes rejects a record with a longer field, or whose fields
	// together are longer (field_too_large), without holding it; 0 means
	// DefaultMaxFieldBytes.
	MaxFieldBytes int
}

// Reader streams the records of one source file, in file order. It holds
// at most one record and a read-ahead buffer in memory, whatever the size
// of the file.
type Reader struct {
	sc         *scanner
	rawCut     bool // the current record's raw text is only its start
	erased     func(chatID string) bool
	suppressed int64
	h          *header
	loc        *time.Location
	lastLine   int64 // line where the previous record started
	maxField   int
}

var bom = []byte("\xEF\xBB\xBF")

// NewReader reads the header of r and returns a Reader positioned on the
// first record. It returns ErrNoHeader for an empty input and a
// *HeaderError (errors.Is ErrBadHeader) for a header that is refused.
func NewReader(r io.Reader, opts ReaderOptions) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head3, _ := br.Peek(3)
	if bytes.Equal(head3, bom) {
		br.Discard(3)
	}
	for _, b := range utf16BOMs {
		if bytes.HasPrefix(head3, b) {
			return nil, &HeaderError{UTF16: fmt.Sprintf("it starts with the byte-order mark % X", b)}
		}
	}
	if err := bareCRCheck(br); err != nil {
		return nil, err
	}
	maxField := opts.MaxFieldBytes
	if maxField <= 0 {
		maxField = DefaultMaxFieldBytes
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	rd := &Reader{sc: newScanner(br, maxField, rawKeepBytes), loc: loc, maxField: maxField}
	head, err := rd.sc.read()
	switch {
	case err == io.EOF:
		return nil, ErrNoHeader
	case err != nil:
		return nil, fmt.Errorf("reading header: %w", err)
	case head.err != nil:
		if sep := separatorOf(string(head.raw)); sep != "" { // a quoted name before a tab, say
			return nil, &HeaderError{Separator: sep}
		}
		return nil, fmt.Errorf("reading header: %w", head.err)
	case head.tooLarge:
		return nil, fmt.Errorf("reading header: over %d bytes", maxField)
	}
	if rd.h, err = parseHeader(head.fields); err != nil {
		return nil, err
	}
	return rd, nil
}

// bareCRCheck refuses a file whose first line ends in a bare CR before the
// CSV reader swallows the whole file as its header record (which, for a
// large file, would first hold all of it in memory). parseHeader catches
// the same in a header that fits no peek.
func bareCRCheck(br *bufio.Reader) error {
	head, _ := br.Peek(br.Size())
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	i := bytes.IndexByte(line, '\r')
	if i < 0 || i == len(head)-1 || (i+1 < len(head) && head[i+1] == '\n') {
		return nil
	}
	return &HeaderError{LineBreak: string(line[:i+1]), BareCR: true}
}

// Header returns the file's header as written, to write rejects back under it.
func (r *Reader) Header() []string { return r.h.names }

// UnknownColumns returns the header names chatstage does not know; they are
// ignored.
func (r *Reader) UnknownColumns() []string { return r.h.unknown }

// Next returns the next record. A record that cannot be a chat version is
// reported as a *Reject error, after which reading may go on; io.EOF ends
// the file; any other error is fatal to the file.
func (r *Reader) Next() (Record, error) {
	for {
		rec, err := r.next()
		if err != errSuppressed {
			return rec, err
		}
		r.suppressed++
	}
}

// errSuppressed: the record is of an erased chat; Next skips it.
var errSuppressed = errors.New("suppressed")

// Suppress makes Next skip the well-formed records (with the header's
// number of fields) whose chat_id, trimmed and sanitized, erased reports:
// the chats of a right-to-erasure request, skipped before any other check
// (contract section 6) and counted by Suppressed.
func (r *Reader) Suppress(erased func(chatID string) bool) { r.erased = erased }

// Suppressed returns how many records Next skipped for Suppress.
func (r *Reader) Suppressed() int64 { return r.suppressed }

func (r *Reader) next() (Record, error) {
	sr, err := r.sc.read()
	switch {
	case err == io.EOF:
		return Record{}, io.EOF
	case err != nil:
		return Record{}, fmt.Errorf("the record after line %d: %w", r.lastLine, err) // the caller says it was reading
	}
	r.lastLine = sr.startLine
	raw := sr.raw
	r.rawCut = sr.rawCut
	switch {
	case sr.err != nil:
		pe := sr.err
		return Record{}, r.reject(int64(pe.StartLine), RejectMalformed,
			fmt.Sprintf("not well-formed CSV: %v (line %d, column %d)", pe.Err, pe.Line, pe.Column), raw)
	case sr.tooLarge && sr.bigField >= 0:
		return Record{}, r.reject(sr.fieldLine[sr.bigField], RejectFieldTooLarge,
			fmt.Sprintf("field %d is %d bytes, over the cap of %d (raw text cut to its first %d bytes)",
				sr.bigField+1, sr.bigSize, r.maxField, rawKeepBytes), raw)
	case sr.tooLarge:
		return Record{}, r.reject(sr.startLine, RejectFieldTooLarge,
			fmt.Sprintf("the fields of the record are %d bytes or more, over the cap of %d (raw text cut to its first %d bytes)",
				sr.bigSize, r.maxField, rawKeepBytes), raw)
	}
	fields := sr.fields
	line := sr.startLine
	if len(fields) != r.h.fields {
		noun := "fields"
		if len(fields) == 1 {
			noun = "field"
		}
		return Record{}, r.reject(line, RejectFieldCount,
			fmt.Sprintf("has %d %s, the header has %d", len(fields), noun, r.h.fields), raw)
	}
	rec := Record{Line: line, fields: fields, Bytes: int(sr.size)}
	for c, i := range r.h.index {
		if i >= 0 {
			rec.values[c] = fields[i]
		}
	}
	id, changed := sanitizeText(rec.values[ColChatID])
	rec.sanitized = changed
	rec.ChatID = strings.TrimSpace(id)
	if r.erased != nil && r.erased(rec.ChatID) {
		return Record{}, errSuppressed
	}
	switch {
	case rec.ChatID == "":
		return Record{}, r.reject(rec.Line, RejectChatIDMissing, "chat_id is empty", raw)
	case len(rec.ChatID) > MaxChatIDBytes:
		return Record{}, r.reject(rec.Line, RejectChatIDTooLong,
			fmt.Sprintf("chat_id is %d bytes, over the limit of %d", len(rec.ChatID), MaxChatIDBytes), raw)
	}
	upd, changed := sanitizeText(rec.values[ColUpdatedAt])
	rec.sanitized = rec.sanitized || changed
	upd = strings.TrimSpace(upd)
	if upd == "" {
		return Record{}, r.rejectOf(&rec, RejectUpdatedAtMissing, "updated_at is empty", raw)
	}
	rec.UpdatedAt, err = parseTimestamp(upd, r.loc)
	if err != nil {
		return Record{}, r.rejectOf(&rec, RejectUpdatedAtInvalid, fmt.Sprintf("updated_at %q is not a timestamp", upd), raw)
	}
	return rec, nil
}

// rejectOf rejects a well-formed record whose chat_id is known.
func (r *Reader) rejectOf(rec *Record, code RejectCode, reason string, raw []byte) *Reject {
	rej := r.reject(rec.Line, code, reason, raw)
	rej.ChatID = rec.ChatID
	return rej
}

func (r *Reader) reject(line int64, code RejectCode, reason string, raw []byte) *Reject {
	if r.rawCut && code != RejectFieldTooLarge {
		reason += fmt.Sprintf(" (the record is over %d bytes: its raw text is cut to its first %d)", bigRecord, rawKeepBytes)
	}
	text, _ := sanitizeText(string(trimLineEnds(raw)))
	reason, _ = sanitizeText(reason)
	return &Reject{Line: line, Code: code, Reason: reason, Raw: text}
}

// trimLineEnds drops the blank lines the CSV reader skipped before a record
// and the line end after it, leaving the record's own text.
func trimLineEnds(b []byte) []byte {
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
			continue
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
			continue
		}
		break
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
