package parquetfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
)

// timeLayout is how the deliverables write created at and updated at: UTC,
// always six fraction digits (CONTRACT.md section 4).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// rowBuilder turns the CSV fields of one record into a parquet.Row. Its
// buffers are reused from row to row: a row it returns is valid until the
// next call.
type rowBuilder struct {
	row     parquet.Row
	elems   []json.RawMessage
	scratch []byte // the decoded strings of list elements
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
	var t time.Time
	err := fmt.Errorf("%w: %s is not a timestamp written as %s", ErrValue, quote(f), timeLayout)
	if len(f) != len(timeLayout) {
		return err
	}
	t, perr := time.Parse(timeLayout, string(f))
	if perr != nil {
		return err
	}
	b.row = append(b.row, parquet.Int64Value(t.UnixMicro()).Level(0, 1, i))
	return nil
}

// appendList writes a JSON array's elements as strings, each as a scalar
// column renders that JSON value (CONTRACT.md section 4): a string unescaped,
// a number, true or false as written, an object or array as its compact JSON
// text, null as a NULL element. The input is compact JSON already (the
// export writes it so), so an element's raw bytes are its compact rendering.
func (b *rowBuilder) appendList(i int, f []byte) error {
	if f[0] != '[' {
		return fmt.Errorf("%w: %s is not a JSON array", ErrValue, quote(f))
	}
	b.elems = b.elems[:0]
	if err := json.Unmarshal(f, &b.elems); err != nil {
		return fmt.Errorf("%w: %s is not a JSON array: %v", ErrValue, quote(f), err)
	}
	if len(b.elems) == 0 {
		b.row = append(b.row, parquet.NullValue().Level(0, listEmpty, i))
		return nil
	}
	for j, e := range b.elems {
		rep := 1
		if j == 0 {
			rep = 0
		}
		if e[0] == 'n' {
			b.row = append(b.row, parquet.NullValue().Level(rep, listNullElement, i))
			continue
		}
		// The row's values point into scratch, not into elems, which the
		// next list column of the row reuses. When append moves scratch,
		// the values already built keep the old array alive.
		from := len(b.scratch)
		if e[0] == '"' {
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return fmt.Errorf("%w: element %d of %s: %v", ErrValue, j, quote(f), err)
			}
			b.scratch = append(b.scratch, s...)
		} else {
			b.scratch = append(b.scratch, e...)
		}
		v := b.scratch[from:len(b.scratch):len(b.scratch)]
		b.row = append(b.row, parquet.ByteArrayValue(v).Level(rep, listElement, i))
	}
	return nil
}

// quote renders a CSV value for an error message, cut short when long.
func quote(f []byte) string {
	const max = 64
	if len(f) > max {
		return fmt.Sprintf("%q...", bytes.ToValidUTF8(f[:max], nil))
	}
	return fmt.Sprintf("%q", f)
}
