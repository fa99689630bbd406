package etl

import (
	"encoding/csv"
	"io"
	"unsafe"
)

// scanner reads CSV records exactly as encoding/csv reads them with strict
// quotes and any number of fields (contract section 1: the same fields,
// the same parse errors at the same lines and columns, the same bytes
// consumed per record; FuzzScannerMatchesEncodingCSV holds it to that),
// but streaming, in bounded memory: encoding/csv holds a record's whole
// line, its contents and a string copy of them (and chatstage kept a copy
// of its raw text), four copies of a 200 MB field before it could reject
// it. Here a record's contents are kept once, its raw text is a view of
// the read buffer (copied only for a record longer than the buffer), and a
// field over the cap is not kept at all: scanning goes on to the end of
// the record, keeping only the start of its raw text, and the record is
// reported too large.
//
// Written by hand because no CSV library reads encoding/csv's dialect
// with a cap on what it holds.
type scanner struct {
	src      io.Reader
	srcErr   error  // the source's error, io.EOF at its end
	win      []byte // read buffer: win[pos:end] is not consumed yet
	pos, end int

	maxField int // a field, or a record's fields together, over this is not kept
	keepRaw  int // raw bytes kept of a record too large

	numLine int64 // lines read, as encoding/csv counts them
	offset  int64 // bytes consumed

	// The record being read.
	rawStart int      // where its raw text starts in win; -1 once it spilled
	spill    []byte   // its raw text when longer than the buffer (cut to keepRaw when too large)
	rawBytes int64    // its raw bytes, kept or not
	rawCut   bool     // spill holds only the start of them
	content  []byte   // its fields' contents, one after the other (the last chunk of them)
	chunks   [][]byte // the earlier chunks of a big record's contents
	kept     int      // bytes of contents kept, in chunks and content
	ends     []int    // where each field ends in content
	lines    []int64
	size     int64 // its fields' contents, kept or not
	field    int64 // the current field's size, kept or not
	tooLarge bool  // size is over the cap: content is not kept
	bigField int   // the first field over the cap, -1 if none
	bigSize  int64 // its size, once it ended
}

// scanRecord is one record read by the scanner.
type scanRecord struct {
	fields    []string
	fieldLine []int64 // line where each field starts
	startLine int64
	raw       []byte          // valid until the next read; cut to keepRaw when tooLarge or rawCut
	rawCut    bool            // raw is only the start of a record over bigRecord
	err       *csv.ParseError // not well-formed: a bare or extraneous quote
	tooLarge  bool            // a field, or the fields together, over the cap
	bigField  int             // with tooLarge: the first field over the cap, or -1 for the fields together
	bigSize   int64           // with tooLarge: that field's size, or the fields' together
	size      int64           // its fields' contents
}

const scanBufferSize = 64 << 10

// bigRecord is the size over which a record's contents are not copied
// into a string of their own.
const bigRecord = 1 << 20

func newScanner(src io.Reader, maxField, keepRaw int) *scanner {
	return &scanner{src: src, win: make([]byte, scanBufferSize), maxField: maxField, keepRaw: keepRaw}
}

// errIO wraps a read error of the source, which ends the file.
type errIO struct{ err error }

func (e errIO) Error() string { return e.err.Error() }
func (e errIO) Unwrap() error { return e.err }

// more makes at least one more byte available unless the source ended:
// it reports whether win[pos:end] is not empty.
func (s *scanner) more() (bool, error) { return s.ensure(1) }

// ensure makes n bytes available in win[pos:end] unless the source ends
// first, and reports whether it did. When the buffer is reused, the
// record's raw text read so far moves to spill and the bytes not consumed
// yet to the buffer's start.
func (s *scanner) ensure(n int) (bool, error) {
	for s.end-s.pos < n {
		if s.srcErr != nil {
			if s.srcErr == io.EOF {
				return false, nil
			}
			return false, errIO{s.srcErr}
		}
		if s.rawStart >= 0 {
			s.spillAppend(s.win[s.rawStart:s.pos])
			s.rawStart = -1
		}
		s.end = copy(s.win, s.win[s.pos:s.end])
		s.pos = 0
		var m int
		m, s.srcErr = s.src.Read(s.win[s.end:])
		s.end += m
	}
	return true, nil
}

// spillAppend keeps raw text of a record longer than the buffer: all of
// it up to bigRecord, then only its first keepRaw bytes (a reject of such
// a monster keeps its start, which says what it was).
func (s *scanner) spillAppend(b []byte) {
	if s.tooLarge || s.rawBytes > bigRecord {
		if len(s.spill) > s.keepRaw {
			s.spill = append([]byte(nil), s.spill[:s.keepRaw]...)
			s.rawCut = true
		}
		b = b[:max(0, min(len(b), s.keepRaw-len(s.spill)))]
	}
	s.spill = append(s.spill, b...)
}

// take consumes n bytes of win from pos.
func (s *scanner) take(n int) {
	if s.rawStart < 0 {
		s.spillAppend(s.win[s.pos : s.pos+n])
	}
	s.pos += n
	s.offset += int64(n)
	s.rawBytes += int64(n)
}

// cr decides what a "\r" at pos is, as encoding/csv's readLine does: the
// line's end when "\n" follows (both consumed), dropped when it ends the
// input (consumed), else data (not consumed). It returns which.
func (s *scanner) cr() (kind crKind, err error) {
	if s.pos+1 < s.end {
		if s.win[s.pos+1] == '\n' {
			s.take(2)
			return crLineEnd, nil
		}
		return crData, nil
	}
	s.take(1)
	ok, err := s.more()
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return crDropped, nil
	case s.win[s.pos] == '\n':
		s.take(1)
		return crLineEnd, nil
	}
	return crDataTaken, nil
}

type crKind int

const (
	crLineEnd   crKind = iota // "\r\n", consumed
	crDropped                 // "\r" at the end of the input, consumed
	crData                    // "\r" followed by another byte, not consumed
	crDataTaken               // the same, already consumed
)

// addContent appends field content, unless the field or the record is
// over the cap, which it then records.
func (s *scanner) addContent(b []byte) {
	n := int64(len(b))
	if n == 0 {
		return
	}
	s.field += n
	s.size += n
	if s.bigField < 0 && s.field > int64(s.maxField) {
		s.bigField = len(s.ends)
	}
	if s.tooLarge {
		return
	}
	if s.size > int64(s.maxField) {
		s.tooLarge = true
		s.content, s.chunks = nil, nil // nothing of it is needed any more
		if len(s.spill) > s.keepRaw {
			s.spill = append([]byte(nil), s.spill[:s.keepRaw]...)
		}
		return
	}
	if len(s.content)+len(b) > cap(s.content) && len(s.content) >= bigRecord {
		// A big record's content grows in chunks, assembled once at the
		// end: growing one slice would copy it again and again and, for a
		// moment, hold it twice.
		s.chunks = append(s.chunks, s.content)
		s.content = make([]byte, 0, max(len(s.content), 4<<20))
	}
	s.content = append(s.content, b...)
	s.kept += len(b)
}

func (s *scanner) addByte(c byte) { s.addContent([]byte{c}) }

func (s *scanner) endField() {
	if s.bigField == len(s.ends) {
		s.bigSize = s.field
	}
	s.ends = append(s.ends, s.kept)
	s.field = 0
}

// Byte classes of the scan: what ends a span of field content.
var (
	stopUnquoted = byteSet(',', '"', '\n', '\r')
	stopQuoted   = byteSet('"', '\n', '\r')
	stopLine     = byteSet('\n', '\r')
)

func byteSet(bs ...byte) (t [256]bool) {
	for _, b := range bs {
		t[b] = true
	}
	return t
}

// indexIn returns the index of the first byte of b in set, or -1. Spans of
// CSV fields are short (a JSON field has a doubled quote every few bytes),
// where a plain loop beats several vectorized scans.
func indexIn(b []byte, set *[256]bool) int {
	for i, c := range b {
		if set[c] {
			return i
		}
	}
	return -1
}

// skipLine consumes the rest of the current line, as encoding/csv drops
// it after an error.
func (s *scanner) skipLine() error {
	for {
		ok, err := s.more()
		if err != nil || !ok {
			return err
		}
		i := indexIn(s.win[s.pos:s.end], &stopLine)
		if i < 0 {
			s.take(s.end - s.pos)
			continue
		}
		s.take(i)
		if s.win[s.pos] == '\n' {
			s.take(1)
			return nil
		}
		kind, err := s.cr()
		if err != nil {
			return err
		}
		switch kind {
		case crLineEnd, crDropped:
			return nil
		case crData:
			s.take(1)
		}
	}
}

// read reads the next record; io.EOF at the end of the input.
func (s *scanner) read() (scanRecord, error) {
	s.rawStart, s.spill, s.rawBytes, s.rawCut = s.pos, nil, 0, false
	s.content, s.chunks, s.kept = s.content[:0], nil, 0
	s.ends, s.lines = s.ends[:0], s.lines[:0]
	s.size, s.field, s.tooLarge, s.bigField, s.bigSize = 0, 0, false, -1, 0
	// Skip blank lines: a line that is only a line end.
	for {
		ok, err := s.more()
		if err != nil {
			return scanRecord{}, err
		}
		if !ok {
			s.numLine++
			return scanRecord{}, io.EOF
		}
		c := s.win[s.pos]
		if c == '\n' {
			s.take(1)
			s.numLine++
			continue
		}
		if c == '\r' {
			kind, err := s.cr()
			if err != nil {
				return scanRecord{}, err
			}
			switch kind {
			case crLineEnd:
				s.numLine++
				continue
			case crDropped:
				s.numLine += 2
				return scanRecord{}, io.EOF
			case crDataTaken: // a record that starts with a "\r"
				s.numLine++
				return s.record(true)
			}
		}
		break
	}
	s.numLine++
	return s.record(false)
}

// record reads the fields of a record whose first line is numLine;
// crTaken says its first byte, a "\r" that is data, was consumed.
func (s *scanner) record(crTaken bool) (scanRecord, error) {
	rec := scanRecord{startLine: s.numLine}
	line, col := s.numLine, int64(1)
	fail := func(l, c int64, e error) (scanRecord, error) {
		rec.err = &csv.ParseError{StartLine: int(rec.startLine), Line: int(l), Column: int(c), Err: e}
		err := s.skipLine() // encoding/csv drops the rest of the line
		return s.finish(rec), err
	}
	if crTaken {
		s.addByte('\r')
		col++
	}
	for { // each field
		s.lines = append(s.lines, line)
		ok, err := s.more()
		if err != nil {
			return scanRecord{}, err
		}
		quoted := !crTaken && ok && s.win[s.pos] == '"'
		crTaken = false
		if !quoted {
			// Not quoted: to the comma or the line's end.
			for {
				ok, err := s.more()
				if err != nil {
					return scanRecord{}, err
				}
				if !ok {
					s.endField()
					return s.finish(rec), nil
				}
				span := s.win[s.pos:s.end]
				i := indexIn(span, &stopUnquoted)
				if i < 0 {
					s.addContent(span)
					s.take(len(span))
					col += int64(len(span))
					continue
				}
				s.addContent(span[:i])
				s.take(i)
				col += int64(i)
				switch span[i] {
				case ',':
					s.take(1)
					col++
					s.endField()
				case '"':
					s.take(1)
					return fail(line, col, csv.ErrBareQuote)
				case '\n':
					s.take(1)
					s.endField()
					return s.finish(rec), nil
				case '\r':
					kind, err := s.cr()
					if err != nil {
						return scanRecord{}, err
					}
					switch kind {
					case crLineEnd, crDropped:
						s.endField()
						return s.finish(rec), nil
					case crData:
						s.take(1)
					}
					s.addByte('\r')
					col++
					continue
				}
				break
			}
			continue
		}
		// Quoted.
		s.take(1)
		col++
	inQuotes:
		for {
			ok, err := s.more()
			if err != nil {
				return scanRecord{}, err
			}
			if !ok { // the input ended inside the quotes
				return fail(line, col, csv.ErrQuote)
			}
			span := s.win[s.pos:s.end]
			// Runs of content and doubled quotes (a JSON field has one
			// every few bytes) in one piece: the content up to each
			// first quote, the second skipped.
			i, from := 0, 0
			for {
				j := indexIn(span[i:], &stopQuoted)
				if j < 0 || span[i+j] != '"' || i+j+1 >= len(span) || span[i+j+1] != '"' {
					if j >= 0 {
						j += i
					}
					i = j
					break
				}
				s.addContent(span[from : i+j+1])
				i += j + 2
				from = i
			}
			if from > 0 {
				s.take(from)
				col += int64(from)
				span = span[from:]
				if i >= 0 {
					i -= from
				}
			}
			if i < 0 {
				s.addContent(span)
				s.take(len(span))
				col += int64(len(span))
				continue
			}
			s.addContent(span[:i])
			s.take(i)
			col += int64(i)
			switch span[i] {
			case '\n':
				s.take(1)
				if err := s.newline(&line, &col); err != nil {
					return scanRecord{}, err
				}
				continue
			case '\r':
				kind, err := s.cr()
				if err != nil {
					return scanRecord{}, err
				}
				switch kind {
				case crLineEnd:
					if err := s.newline(&line, &col); err != nil {
						return scanRecord{}, err
					}
				case crDropped: // then the input ends inside the quotes
				case crData:
					s.take(1)
					s.addByte('\r')
					col++
				case crDataTaken:
					s.addByte('\r')
					col++
				}
				continue
			}
			// A quote: the field's end, or the first of two.
			s.take(1)
			col++
			ok, err = s.more()
			if err != nil {
				return scanRecord{}, err
			}
			if !ok {
				s.endField()
				return s.finish(rec), nil
			}
			switch s.win[s.pos] {
			case '"':
				s.take(1)
				s.addByte('"')
				col++
				continue
			case ',':
				s.take(1)
				col++
				s.endField()
				break inQuotes
			case '\n':
				s.take(1)
				s.endField()
				return s.finish(rec), nil
			case '\r':
				kind, err := s.cr()
				if err != nil {
					return scanRecord{}, err
				}
				if kind == crLineEnd || kind == crDropped {
					s.endField()
					return s.finish(rec), nil
				}
			}
			return fail(line, col-1, csv.ErrQuote)
		}
	}
}

// newline accounts for a line end inside quotes: the field goes on, on the
// next line, as encoding/csv counts it: a next line that is empty (the
// input's end, or a lone "\r" before it) is not one.
func (s *scanner) newline(line, col *int64) error {
	s.addByte('\n')
	ok, err := s.more()
	if err != nil {
		return err
	}
	if ok && s.win[s.pos] == '\r' {
		if ok, err = s.ensure(2); err != nil {
			return err
		}
	}
	s.numLine++
	if ok {
		*line, *col = s.numLine, 1
	} else {
		*col++ // encoding/csv counts the line end in the column at the end of the input
	}
	return nil
}

// finish gives rec the record's fields and raw text.
func (s *scanner) finish(rec scanRecord) scanRecord {
	if s.rawStart >= 0 {
		rec.raw = s.win[s.rawStart:s.pos]
		if s.tooLarge && len(rec.raw) > s.keepRaw {
			rec.raw = rec.raw[:s.keepRaw]
		}
	} else {
		rec.raw, rec.rawCut = s.spill, s.rawCut
	}
	rec.fieldLine = append([]int64(nil), s.lines...)
	rec.size = s.size
	if s.tooLarge {
		rec.tooLarge, rec.bigField, rec.bigSize = true, s.bigField, s.size
		if s.bigField >= 0 {
			rec.bigSize = max(s.bigSize, s.field)
		}
		return rec
	}
	if rec.err != nil {
		return rec
	}
	// One string for all the fields. A large record's is its content
	// buffer itself, without a copy (the buffer is then the record's
	// alone: the next record starts a new one); a small one's is a copy,
	// and the buffer is reused.
	if s.chunks != nil {
		all := make([]byte, 0, int(s.size))
		for _, c := range s.chunks {
			all = append(all, c...)
		}
		s.content, s.chunks = append(all, s.content...), nil
	}
	var str string
	if len(s.content) > bigRecord {
		str = unsafe.String(unsafe.SliceData(s.content), len(s.content))
		s.content = nil
	} else {
		str = string(s.content)
	}
	rec.fields = make([]string, len(s.ends))
	prev := 0
	for i, end := range s.ends {
		rec.fields[i] = str[prev:end]
		prev = end
	}
	return rec
}
