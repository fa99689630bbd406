package parquetfile

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Defaults of Options.
const (
	DefaultRowGroupRows  = 100_000
	DefaultRowGroupBytes = 64 << 20
	DefaultMaxRowBytes   = 256 << 20
)

// Options tune a Writer. The zero value is the defaults.
type Options struct {
	// RowGroupRows ends a row group once it holds this many rows.
	// Zero means DefaultRowGroupRows.
	RowGroupRows int

	// RowGroupBytes ends a row group once the CSV values of its rows add up
	// to this many bytes, whichever of the two limits comes first. The
	// writer's memory is bounded by one row group (compressed) plus one page
	// per column, so this is the knob for memory. Zero means
	// DefaultRowGroupBytes.
	RowGroupBytes int64

	// MaxRowBytes is the longest CSV row accepted, in bytes of its values.
	// It bounds the memory an unclosed quote can take: past it, the stream
	// is refused. Zero means DefaultMaxRowBytes.
	MaxRowBytes int
}

// The errors of a Writer. Each is returned wrapped in a *RowError that says
// where; test for them with errors.Is.
var (
	// ErrHeader: the first line is not the deliverable's header, the 47
	// names of docs/rules.md section 4 in order, or the stream has no line.
	ErrHeader = errors.New("not the deliverable's header")

	// ErrTruncated: the stream ended inside a row (its last line has no LF).
	ErrTruncated = errors.New("CSV ends inside a row")

	// ErrMalformed: a row is not CSV as COPY writes it: bad quoting, a CR
	// outside quotes, too many or too few fields, invalid UTF-8, too long.
	ErrMalformed = errors.New("malformed CSV")

	// ErrValue: a value is not of its column's type (a boolean that is not
	// true or false, a timestamp in another form, a list that is not a JSON
	// array).
	ErrValue = errors.New("value not of its column's type")

	// ErrClosed: Write or Close after Close.
	ErrClosed = errors.New("parquetfile: writer is closed")
)

// RowError says where the CSV stream stopped being a deliverable.
type RowError struct {
	File   Deliverable
	Line   int64  // line of the CSV where the row starts; the header is line 1
	Column string // the column whose value is wrong; empty when it is the row
	Err    error  // wraps one of ErrHeader, ErrTruncated, ErrMalformed, ErrValue
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("parquetfile: %s line %d, column %q: %v", e.File, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("parquetfile: %s line %d: %v", e.File, e.Line, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Writer writes one deliverable as a Parquet file while its CSV is pushed
// through Write, so that a COPY ... TO STDOUT can be teed into the CSV file
// and the Parquet file at once (io.MultiWriter). It is not safe for
// concurrent use.
//
// The Parquet file has the CSV's 47 columns in header order and its rows in
// order: the boolean columns BOOLEAN, created at and updated at
// TIMESTAMP(MICROS, isAdjustedToUTC), the array columns LIST of STRING, the
// rest STRING; an empty CSV field is NULL; zstd compression.
type Writer struct {
	file    Deliverable
	layout  *layout
	opts    Options
	pw      *parquet.Writer
	scan    scanner
	build   rowBuilder
	rowBuf  []parquet.Row
	header  bool // the header was read and is the deliverable's
	rows    int64
	grpRows int
	grpSize int64
	err     error // the first error; every later call returns it
	closed  bool
}

// NewWriter returns a Writer that writes file's Parquet to dst. It fails
// only for an unknown Deliverable or negative Options. dst receives the
// Parquet bytes as row groups complete; the footer is written by Close, so
// until then, and forever after an error, dst holds no valid Parquet file.
func NewWriter(dst io.Writer, file Deliverable, opts Options) (*Writer, error) {
	l := file.layout()
	if l == nil {
		return nil, fmt.Errorf("parquetfile: unknown deliverable %d", int(file))
	}
	if opts.RowGroupRows < 0 || opts.RowGroupBytes < 0 || opts.MaxRowBytes < 0 {
		return nil, fmt.Errorf("parquetfile: negative option in %+v", opts)
	}
	opts.RowGroupRows = cmp.Or(opts.RowGroupRows, DefaultRowGroupRows)
	opts.RowGroupBytes = cmp.Or(opts.RowGroupBytes, DefaultRowGroupBytes)
	opts.MaxRowBytes = cmp.Or(opts.MaxRowBytes, DefaultMaxRowBytes)
	codec, err := newZstdCodec()
	if err != nil {
		return nil, fmt.Errorf("parquetfile: %w", err)
	}
	config, err := parquet.NewWriterConfig(
		l.schema,
		parquet.Compression(codec),
		// Row groups are ended by Write, by rows or bytes; this is the
		// library's own limit kept in agreement.
		parquet.MaxRowsPerRowGroup(int64(opts.RowGroupRows)),
	)
	if err != nil {
		return nil, fmt.Errorf("parquetfile: %w", err)
	}
	return &Writer{
		file:   file,
		layout: l,
		opts:   opts,
		pw:     parquet.NewWriter(dst, config),
		scan:   newScanner(len(l.columns), opts.MaxRowBytes),
		rowBuf: make([]parquet.Row, 1),
	}, nil
}

// Write takes the next bytes of the CSV, as COPY writes them, in chunks of
// any size: a row may be split across calls or a call may hold many rows.
// Each complete row is written to the Parquet file before Write returns. It
// returns len(p), or 0 and the error (a *RowError, or dst's error) that
// stops the file; every later call returns that error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, ErrClosed
	}
	if err := w.scan.feed(p, w.record); err != nil {
		w.err = w.wrap(err)
		return 0, w.err
	}
	return len(p), nil
}

// Close checks that the CSV ended at the end of a row and after the header,
// writes the last row group and the footer, and returns the first error of
// the file. It does not close dst. After an error no footer is written.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	switch {
	case w.scan.partial():
		w.err = &RowError{File: w.file, Line: w.scan.start, Err: ErrTruncated}
	case !w.header:
		w.err = &RowError{File: w.file, Line: 1, Err: fmt.Errorf("%w: the CSV is empty", ErrHeader)}
	default:
		if err := w.pw.Close(); err != nil {
			w.err = fmt.Errorf("parquetfile: writing %s: %w", w.file, err)
		}
	}
	return w.err
}

// Rows returns the number of rows written so far, the header not counted.
func (w *Writer) Rows() int64 { return w.rows }

// record handles the scanner's current record: the header, then rows.
func (w *Writer) record() error {
	cols := w.layout.columns
	if !w.header {
		return w.checkHeader()
	}
	if n := w.scan.fields(); n != len(cols) {
		return fmt.Errorf("%w: a row of %d field(s), the header has %d", ErrMalformed, n, len(cols))
	}
	for i, c := range cols {
		if c.kind != kindBool && c.kind != kindTime && !utf8.Valid(w.scan.field(i)) {
			return &valueError{column: i, err: fmt.Errorf("%w: invalid UTF-8", ErrMalformed)}
		}
	}
	row, err := w.build.build(cols, w.scan.field)
	if err != nil {
		return err
	}
	w.rowBuf[0] = row
	if _, err := w.pw.WriteRows(w.rowBuf); err != nil {
		return fmt.Errorf("parquetfile: writing %s: %w", w.file, err)
	}
	w.rows++
	w.grpRows++
	w.grpSize += int64(len(w.scan.buf))
	if w.grpRows >= w.opts.RowGroupRows || w.grpSize >= w.opts.RowGroupBytes {
		if err := w.pw.Flush(); err != nil {
			return fmt.Errorf("parquetfile: writing %s: %w", w.file, err)
		}
		w.grpRows, w.grpSize = 0, 0
	}
	return nil
}

func (w *Writer) checkHeader() error {
	names := make([]string, w.scan.fields())
	for i := range names {
		names[i] = string(w.scan.field(i))
	}
	if !slices.Equal(names, w.file.Header()) {
		return fmt.Errorf("%w: want the %d names of %s in order", ErrHeader, len(w.layout.columns), w.file)
	}
	w.header = true
	return nil
}

// wrap places a scanner or row error at its line and column.
func (w *Writer) wrap(err error) error {
	var se *scanError
	var ve *valueError
	line := w.scan.start
	switch {
	case errors.As(err, &se):
		line, err = se.line, fmt.Errorf("%w: %v", ErrMalformed, se.err)
		if !w.header {
			err = fmt.Errorf("%w: %v", ErrHeader, se.err)
		}
	case errors.As(err, &ve):
		return &RowError{File: w.file, Line: line, Column: w.layout.columns[ve.column].name, Err: ve.err}
	case errors.Is(err, ErrHeader), errors.Is(err, ErrMalformed), errors.Is(err, ErrValue):
	default:
		return err // dst's error, from the Parquet writer
	}
	return &RowError{File: w.file, Line: line, Err: err}
}
