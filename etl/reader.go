package etl

import (
	"bufio"
	"bytes"
	"encoding/csv"
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
	DefaultMaxFieldBytes = 64 << 20
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

// ErrRecordTooLarge: one record is so large (four times the field cap) that
// reading it whole would take unbounded memory; the file fails.
var ErrRecordTooLarge = errors.New("record too large")

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
	// MaxFieldBytes rejects a record with a longer field; 0 means
	// DefaultMaxFieldBytes. A record over four times this fails the file.
	MaxFieldBytes int
}

// Reader streams the records of one source file, in file order. It holds
// at most one record and a read-ahead buffer in memory, whatever the size
// of the file.
type Reader struct {
	src      *recorder
	csv      *csv.Reader
	h        *header
	loc      *time.Location
	lastEnd  int64 // input offset where the previous record ended
	lastLine int64 // line where the previous record started
	maxField int
}

var bom = []byte("\xEF\xBB\xBF")

// NewReader reads the header of r and returns a Reader positioned on the
// first record. It returns ErrNoHeader for an empty input and a
// *HeaderError (errors.Is ErrBadHeader) for a header that is refused.
func NewReader(r io.Reader, opts ReaderOptions) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(3); bytes.Equal(head, bom) {
		br.Discard(3)
	}
	if err := bareCRCheck(br); err != nil {
		return nil, err
	}
	maxField := opts.MaxFieldBytes
	if maxField <= 0 {
		maxField = DefaultMaxFieldBytes
	}
	src := &recorder{r: br, max: 4 * maxField}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	rd := &Reader{src: src, csv: cr, loc: loc, maxField: maxField}
	names, err := cr.Read()
	if err == io.EOF {
		return nil, ErrNoHeader
	}
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	names = append([]string(nil), names...)
	rd.h, err = parseHeader(names)
	if err != nil {
		return nil, err
	}
	rd.lastEnd = cr.InputOffset()
	src.discard(rd.lastEnd)
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
	fields, err := r.csv.Read()
	end := r.csv.InputOffset()
	raw := r.src.slice(r.lastEnd, end)
	r.lastEnd = end
	defer r.src.discard(end)
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return Record{}, io.EOF
	case errors.As(err, &pe):
		r.lastLine = int64(pe.StartLine)
		return Record{}, r.reject(int64(pe.StartLine), RejectMalformed,
			fmt.Sprintf("not well-formed CSV: %v (line %d, column %d)", pe.Err, pe.Line, pe.Column), raw)
	case err != nil:
		return Record{}, fmt.Errorf("reading the record after line %d: %w", r.lineAfter(), err)
	}
	for i, f := range fields {
		if len(f) > r.maxField {
			line, _ := r.csv.FieldPos(i)
			r.lastLine = int64(line)
			if len(raw) > rawKeepBytes {
				raw = raw[:rawKeepBytes]
			}
			return Record{}, r.reject(int64(line), RejectFieldTooLarge,
				fmt.Sprintf("field %d is %d bytes, over the cap of %d (raw text cut to its first %d bytes)",
					i+1, len(f), r.maxField, rawKeepBytes), raw)
		}
	}
	line, _ := r.csv.FieldPos(0)
	r.lastLine = int64(line)
	if len(fields) != r.h.fields {
		return Record{}, r.reject(int64(line), RejectFieldCount,
			fmt.Sprintf("has %d fields, the header has %d", len(fields), r.h.fields), raw)
	}
	rec := Record{Line: int64(line), fields: append([]string(nil), fields...)}
	for c, i := range r.h.index {
		if i >= 0 {
			rec.values[c] = fields[i]
		}
	}
	id, changed := sanitizeText(rec.values[ColChatID])
	rec.sanitized = changed
	rec.ChatID = strings.TrimSpace(id)
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

// lineAfter is the line of the last record read, for errors that have no
// record (csv.Reader.FieldPos panics without one).
func (r *Reader) lineAfter() int64 { return r.lastLine }

func (r *Reader) reject(line int64, code RejectCode, reason string, raw []byte) *Reject {
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

// recorder keeps the bytes the CSV reader has consumed since the last
// record, because encoding/csv does not give a record's raw text and a
// reject must keep it.
type recorder struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
	max  int   // bytes one record may take before reading fails
}

func (rc *recorder) Read(p []byte) (int, error) {
	if len(rc.buf) > rc.max {
		return 0, fmt.Errorf("%w: over %d bytes", ErrRecordTooLarge, rc.max)
	}
	n, err := rc.r.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	return n, err
}

// slice returns the bytes between two input offsets, both at or after the
// last discard.
func (rc *recorder) slice(from, to int64) []byte {
	return rc.buf[from-rc.base : to-rc.base]
}

// discard forgets the bytes before offset upto. It compacts only when the
// dead prefix is large, so a record costs no copy of the read-ahead.
func (rc *recorder) discard(upto int64) {
	dead := int(upto - rc.base)
	if dead < 64<<10 && dead < len(rc.buf)/2 {
		return
	}
	n := copy(rc.buf, rc.buf[dead:])
	rc.buf = rc.buf[:n]
	rc.base = upto
}
