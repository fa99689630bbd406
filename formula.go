package chatstage

import "io"

// formulaEscaper passes the CSV that COPY writes (FORMAT csv, HEADER) on to
// w with a ' put in front of every value that starts with =, +, - or @, so
// that a spreadsheet shows it as text instead of running it. The header is
// passed on as it is.
//
// It gives the bytes that store.CopyOptions.EscapeFormulas has PostgreSQL
// write (TestFormulaEscaperMatchesSQL), but in Go, after the COPY: one COPY
// can then feed the escaped CSV file and the Parquet file, which keeps the
// contract's values (a Parquet file is read by programs, not
// spreadsheets). The ' never changes whether a field is quoted: COPY quotes
// a value for a comma, a quote, CR or LF, and for being empty or \., none
// of which the ' adds or removes.
//
// Each Write makes at most one Write to w, so a writer that counts COPY's
// writes as rows still does.
type formulaEscaper struct {
	w      io.Writer
	state  escapeState
	header bool // the header line has ended
	buf    []byte
}

type escapeState uint8

const (
	escFieldStart  escapeState = iota // before a field's first byte
	escQuotedStart                    // after the opening quote of a field
	escQuoted                         // inside a quoted field
	escQuoteSeen                      // after a quote inside a quoted field
	escUnquoted                       // inside an unquoted field
)

func formulaStart(c byte) bool { return c == '=' || c == '+' || c == '-' || c == '@' }

func (e *formulaEscaper) Write(p []byte) (int, error) {
	e.buf = e.buf[:0]
	for _, c := range p {
		switch e.state {
		case escFieldStart:
			switch {
			case c == '"':
				e.state = escQuotedStart
			case c == ',':
			case c == '\n':
				e.header = true
			case formulaStart(c) && e.header:
				e.buf = append(e.buf, '\'')
				e.state = escUnquoted
			default:
				e.state = escUnquoted
			}
		case escQuotedStart:
			switch {
			case c == '"':
				e.state = escQuoteSeen
			case formulaStart(c) && e.header:
				e.buf = append(e.buf, '\'')
				e.state = escQuoted
			default:
				e.state = escQuoted
			}
		case escQuoted:
			if c == '"' {
				e.state = escQuoteSeen
			}
		case escQuoteSeen:
			switch c {
			case '"':
				e.state = escQuoted
			case ',':
				e.state = escFieldStart
			case '\n':
				e.state, e.header = escFieldStart, true
			default: // not COPY's CSV: pass it on as it is
				e.state = escUnquoted
			}
		case escUnquoted:
			switch c {
			case ',':
				e.state = escFieldStart
			case '\n':
				e.state, e.header = escFieldStart, true
			}
		}
		e.buf = append(e.buf, c)
	}
	if _, err := e.w.Write(e.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
