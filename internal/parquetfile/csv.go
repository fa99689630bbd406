package parquetfile

import (
	"errors"
	"fmt"
)

// scanner splits the CSV that PostgreSQL's COPY ... (FORMAT csv) writes into
// records, from bytes pushed in chunks of any size. It is a state machine
// rather than encoding/csv behind a pipe so that a bad byte is reported by
// the Write that carried it, with no goroutine to stop.
//
// It reads COPY's dialect and nothing looser: comma separator, records ended
// by LF, a field quoted only when it must be, quotes inside doubled. A quote
// inside an unquoted field, anything but a comma or LF after a closing
// quote, and a CR outside quotes (a CRLF file) are errors: COPY writes none
// of them, so they mean the stream is not COPY's.
type scanner struct {
	state     scanState
	buf       []byte // the current record's field values, unquoted, back to back
	ends      []int  // where each complete field of the current record ends in buf
	maxFields int    // a record with more fields is an error
	maxBytes  int    // a record whose values hold more bytes is an error
	line      int64  // line of the next byte, from 1
	start     int64  // line where the current record starts
}

type scanState uint8

const (
	fieldStart scanState = iota // before the first byte of a field
	unquoted                    // inside a field that did not start with a quote
	quoted                      // inside a quoted field
	quoteSeen                   // after a quote inside a quoted field: its end, or the first of a doubled quote
)

// scanError is a syntax error of the CSV; Writer wraps it in a RowError.
type scanError struct {
	line int64
	err  error
}

func (e *scanError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

var (
	errQuoteInField   = errors.New("quote inside an unquoted field")
	errAfterQuote     = errors.New("text after a closing quote")
	errCarriageReturn = errors.New("carriage return outside quotes (COPY ends lines with LF alone)")
)

func newScanner(maxFields, maxBytes int) scanner {
	return scanner{maxFields: maxFields, maxBytes: maxBytes, line: 1, start: 1}
}

// special marks the bytes that end a run of plain field bytes.
var special = [256]bool{',': true, '\n': true, '"': true, '\r': true}

// feed scans p, calling record for each complete record. record reads the
// record with fields and field, and must not keep them: feed reuses the
// memory.
func (s *scanner) feed(p []byte, record func() error) error {
	for i := 0; i < len(p); {
		c := p[i]
		switch s.state {
		case fieldStart, unquoted:
			if s.state == fieldStart && c == '"' {
				s.state = quoted
				i++
				continue
			}
			j := i
			for j < len(p) && !special[p[j]] {
				j++
			}
			if j > i {
				if err := s.take(p[i:j]); err != nil {
					return err
				}
				s.state = unquoted
				i = j
				continue
			}
			i++
			switch c {
			case ',':
				if err := s.endField(); err != nil {
					return err
				}
			case '\n':
				if err := s.endRecord(record); err != nil {
					return err
				}
			case '"':
				return &scanError{s.start, errQuoteInField}
			case '\r':
				return &scanError{s.start, errCarriageReturn}
			}
		case quoted:
			j := i
			for j < len(p) && p[j] != '"' {
				if p[j] == '\n' {
					s.line++
				}
				j++
			}
			if err := s.take(p[i:j]); err != nil {
				return err
			}
			if j < len(p) {
				s.state = quoteSeen
				j++
			}
			i = j
		case quoteSeen:
			i++
			switch c {
			case '"':
				if err := s.take(p[i-1 : i]); err != nil {
					return err
				}
				s.state = quoted
			case ',':
				if err := s.endField(); err != nil {
					return err
				}
			case '\n':
				if err := s.endRecord(record); err != nil {
					return err
				}
			default:
				return &scanError{s.start, errAfterQuote}
			}
		}
	}
	return nil
}

func (s *scanner) take(b []byte) error {
	if len(s.buf)+len(b) > s.maxBytes {
		return &scanError{s.start, fmt.Errorf("row longer than %d bytes", s.maxBytes)}
	}
	s.buf = append(s.buf, b...)
	return nil
}

func (s *scanner) endField() error {
	if len(s.ends)+1 >= s.maxFields {
		return &scanError{s.start, fmt.Errorf("more than %d fields", s.maxFields)}
	}
	s.ends = append(s.ends, len(s.buf))
	s.state = fieldStart
	return nil
}

func (s *scanner) endRecord(record func() error) error {
	s.ends = append(s.ends, len(s.buf))
	s.state = fieldStart
	if err := record(); err != nil {
		return err // the stream is dead: keep start for the error
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	s.line++
	s.start = s.line
	return nil
}

// partial reports whether the stream stopped inside a record.
func (s *scanner) partial() bool { return s.state != fieldStart || len(s.ends) > 0 }

// fields is the number of fields of the current record.
func (s *scanner) fields() int { return len(s.ends) }

// field returns field i of the current record, unquoted.
func (s *scanner) field(i int) []byte {
	from := 0
	if i > 0 {
		from = s.ends[i-1]
	}
	return s.buf[from:s.ends[i]]
}
