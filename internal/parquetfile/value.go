package parquetfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
)

// timeLayout is how the deliverables write created at and updated at: UTC,
// always six fraction digits (docs/rules.md section 4).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// rowBuilder turns the CSV fields of one record into a parquet.Row. Its
// buffers are reused from row to row: a row it returns is valid until the
// next call.
type rowBuilder struct {
	row     parquet.Row
	scratch []byte // list elements that had to be unescaped
}

// valueError is a CSV value that is not of its column's type.
type valueError struct {
	column int
	err    error
}

func (e *valueError) Error() string { return e.err.Error() }

// build appends one Parquet value per column (several for a list) to the
// row, in column order, with the levels the schema of newLayout gives them.
func (b *rowBuilder) build(cols []column, field func(int) []byte) (parquet.Row, error) {
	b.row, b.scratch = b.row[:0], b.scratch[:0]
	for i, c := range cols {
		f := field(i)
		if len(f) == 0 {
			// An empty field is NULL, whatever the type: COPY writes NULL
			// and the export renders empty text as NULL.
			b.row = append(b.row, parquet.NullValue().Level(0, 0, i))
			continue
		}
		var err error
		switch c.kind {
		case kindString:
			b.row = append(b.row, parquet.ByteArrayValue(f).Level(0, 1, i))
		case kindBool:
			err = b.appendBool(i, f)
		case kindTime:
			err = b.appendTime(i, f)
		case kindList:
			err = b.appendList(i, f)
		}
		if err != nil {
			return nil, &valueError{column: i, err: err}
		}
	}
	return b.row, nil
}

func (b *rowBuilder) appendBool(i int, f []byte) error {
	var v bool
	switch string(f) {
	case "true":
		v = true
	case "false":
	default:
		return fmt.Errorf("%w: %s is not true or false", ErrValue, quote(f))
	}
	b.row = append(b.row, parquet.BooleanValue(v).Level(0, 1, i))
	return nil
}

func (b *rowBuilder) appendTime(i int, f []byte) error {
	t, err := time.Parse(timeLayout, string(f))
	if err != nil || len(f) != len(timeLayout) {
		return fmt.Errorf("%w: %s is not a timestamp written as %s", ErrValue, quote(f), timeLayout)
	}
	b.row = append(b.row, parquet.Int64Value(t.UnixMicro()).Level(0, 1, i))
	return nil
}

// appendList writes a JSON array's elements as strings, each as a scalar
// column renders that JSON value (docs/rules.md section 4): a string unescaped,
// a number, true or false as written, an object or array as its compact JSON
// text, null as a NULL element. The input is compact JSON already (the
// export writes it so), so an element's text in the field is its compact
// rendering: encoding/json checks the field, then the elements are cut out of
// it as they are written, numbers and key order untouched.
func (b *rowBuilder) appendList(i int, f []byte) error {
	if len(f) == 0 || f[0] != '[' || !json.Valid(f) {
		return fmt.Errorf("%w: %s is not a JSON array", ErrValue, quote(f))
	}
	j, rep := 1, 0
	for {
		j = skipSpace(f, j)
		if j >= len(f) || f[j] == ']' {
			break
		}
		end := valueEnd(f, j)
		if end <= j || end > len(f) {
			return fmt.Errorf("%w: %s: cannot cut element at byte %d", ErrValue, quote(f), j)
		}
		e := f[j:end]
		switch {
		case e[0] == 'n':
			b.row = append(b.row, parquet.NullValue().Level(rep, listNullElement, i))
		case e[0] == '"' && bytes.IndexByte(e, '\\') < 0:
			b.row = append(b.row, parquet.ByteArrayValue(e[1:len(e)-1]).Level(rep, listElement, i))
		case e[0] == '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrValue, quote(f), err)
			}
			// The row's values point into scratch. When append moves it,
			// the values already built keep the old array alive.
			from := len(b.scratch)
			b.scratch = append(b.scratch, s...)
			v := b.scratch[from:len(b.scratch):len(b.scratch)]
			b.row = append(b.row, parquet.ByteArrayValue(v).Level(rep, listElement, i))
		default:
			b.row = append(b.row, parquet.ByteArrayValue(e).Level(rep, listElement, i))
		}
		rep = 1
		j = skipSpace(f, end)
		if j < len(f) && f[j] == ',' {
			j++
		}
	}
	if rep == 0 {
		b.row = append(b.row, parquet.NullValue().Level(0, listEmpty, i))
	}
	return nil
}

func skipSpace(f []byte, j int) int {
	for j < len(f) && (f[j] == ' ' || f[j] == '\t' || f[j] == '\n' || f[j] == '\r') {
		j++
	}
	return j
}

// valueEnd returns where the JSON value starting at f[j] ends, for f that
// json.Valid accepted; len(f)+1 if it runs past the end.
func valueEnd(f []byte, j int) int {
	depth := 0
	for ; j < len(f); j++ {
		switch f[j] {
		case '"':
			for j++; j < len(f) && f[j] != '"'; j++ {
				if f[j] == '\\' {
					j++
				}
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the array: a number or literal ends here
				return j
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return j
			}
		}
	}
	return len(f) + 1
}

// quote renders a CSV value for an error message, cut short when long.
func quote(f []byte) string {
	const max = 64
	if len(f) > max {
		return fmt.Sprintf("%q...", bytes.ToValidUTF8(f[:max], nil))
	}
	return fmt.Sprintf("%q", f)
}
