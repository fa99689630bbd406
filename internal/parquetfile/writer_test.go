package parquetfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The CSV inputs: the repo's exported deliverables of testdata/export/source.csv
// and hand-written ones for what those lack. A case with a golden file has
// DuckDB's reading of it checked byte for byte as well.
var fixtures = []struct {
	name   string
	file   Deliverable
	csv    string
	golden string // read.mjs rows output, reviewed by hand; "" for none
}{
	{"export/chats", Chats, "../../testdata/export/chats.csv", ""},
	{"export/messages", Messages, "../../testdata/export/messages.csv", ""},
	// Quoted fields with commas, quotes, LF, CRLF and bare CR; a row of
	// NULLs; leading and trailing spaces; unicode; extreme timestamps.
	{"quoting", Chats, "testdata/quoting/chats.csv", "testdata/quoting/duckdb.jsonl"},
	// Arrays: numbers as written, nested objects and arrays, duplicate
	// keys, null and empty-string elements, escapes, unicode, [] and NULL.
	{"arrays", Messages, "testdata/arrays/messages.csv", "testdata/arrays/duckdb.jsonl"},
}

// TestWriterMatchesCSV writes each fixture as Parquet, reads it back with
// DuckDB, and compares every value of every row with the CSV.
func TestWriterMatchesCSV(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			src := readFile(t, fx.csv)
			path, w := writeFile(t, fx.file, Options{}, src, len(src))
			checkAgainstCSV(t, fx.file, src, path)
			if got, want := w.Rows(), int64(len(expectRows(t, fx.file, src))); got != want {
				t.Errorf("Rows() = %d, want %d", got, want)
			}
			if fx.golden != "" {
				_, _, out := duckRows(t, path)
				checkGolden(t, fx.golden, out)
			}
		})
	}
}

// TestWriterChunks feeds the writer in chunks of 1 byte, 7 bytes and whole:
// the Parquet must be the same bytes each time, and read back right.
func TestWriterChunks(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures[1:] { // messages.csv has the most rows
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			src := readFile(t, fx.csv)
			opts := Options{RowGroupRows: 5}
			wholePath, _ := writeFile(t, fx.file, opts, src, len(src))
			whole := readFile(t, wholePath)
			for _, chunk := range []int{1, 7, 4096} {
				path, _ := writeFile(t, fx.file, opts, src, chunk)
				if got := readFile(t, path); !bytes.Equal(got, whole) {
					t.Errorf("chunks of %d bytes: %d bytes of Parquet, unlike the %d written whole", chunk, len(got), len(whole))
				}
			}
			checkAgainstCSV(t, fx.file, src, wholePath)
		})
	}
}

// TestWriterMetadata checks the file as DuckDB sees it: zstd everywhere,
// several row groups when they are small, the Parquet types of the issue.
func TestWriterMetadata(t *testing.T) {
	t.Parallel()
	src := readFile(t, "../../testdata/export/messages.csv")
	rows := int64(len(expectRows(t, Messages, src)))
	for _, tc := range []struct {
		name   string
		opts   Options
		groups int
	}{
		{"one group", Options{}, 1},
		{"by rows", Options{RowGroupRows: 4}, int(rows+3) / 4},
		{"by bytes", Options{RowGroupBytes: 2000}, 0}, // 0: more than one
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path, _ := writeFile(t, Messages, tc.opts, src, len(src))
			m := duckMetadata(t, path)
			if !slices.Equal(m.Compression, []string{"ZSTD"}) {
				t.Errorf("compression of the column chunks = %v, want only ZSTD", m.Compression)
			}
			if m.Rows != rows {
				t.Errorf("rows = %d, want %d", m.Rows, rows)
			}
			if tc.groups > 0 && m.RowGroups != tc.groups || tc.groups == 0 && m.RowGroups < 2 {
				t.Errorf("row groups = %d, want %d (0: more than one)", m.RowGroups, tc.groups)
			}
			for _, s := range m.Schema {
				if s.Name != "created at" && s.Name != "updated at" {
					continue
				}
				lt := deref(s.LogicalType)
				if deref(s.Type) != "INT64" || !strings.Contains(lt, "isAdjustedToUTC=1") || !strings.Contains(lt, "MICROS=MicroSeconds()") {
					t.Errorf("%s: type %s, logical type %s; want INT64 TIMESTAMP(MICROS, isAdjustedToUTC)", s.Name, deref(s.Type), lt)
				}
			}
		})
	}
}

// TestWriterHeaderOnly: a deliverable with no rows is a Parquet file with
// the schema and no rows, as a header-only CSV is a valid empty export.
func TestWriterHeaderOnly(t *testing.T) {
	t.Parallel()
	for _, d := range []Deliverable{Chats, Messages} {
		src := []byte(strings.Join(d.Header(), ",") + "\n")
		path, w := writeFile(t, d, Options{}, src, len(src))
		if w.Rows() != 0 {
			t.Errorf("%s: Rows() = %d", d, w.Rows())
		}
		checkAgainstCSV(t, d, src, path)
	}
}

func TestDeliverableColumns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file                         Deliverable
		strings, bools, times, lists int
		missingBools                 []string
	}{
		{Chats, 31, 5, 2, 9, nil},
		{Messages, 31, 4, 2, 10, []string{"has email"}},
	} {
		l := tc.file.layout()
		count := map[kind]int{}
		for _, c := range l.columns {
			count[c.kind]++
		}
		if len(l.columns) != 47 || count[kindString] != tc.strings || count[kindBool] != tc.bools ||
			count[kindTime] != tc.times || count[kindList] != tc.lists {
			t.Errorf("%s: %d columns, kinds %v", tc.file, len(l.columns), count)
		}
		if got := len(l.schema.Columns()); got != 47 {
			t.Errorf("%s: %d Parquet leaf columns, want 47 (one per CSV column)", tc.file, got)
		}
		for i, path := range l.schema.Columns() {
			if path[0] != l.columns[i].name {
				t.Errorf("%s: Parquet column %d is %q, CSV column %q", tc.file, i, path[0], l.columns[i].name)
			}
		}
		for _, n := range boolColumns {
			if !slices.Contains(tc.file.Header(), n) && !slices.Contains(tc.missingBools, n) {
				t.Errorf("%s: boolean column %q is not in the header", tc.file, n)
			}
		}
	}
	if Deliverable(0).Header() != nil || Deliverable(3).String() != "Deliverable(3)" {
		t.Error("an unknown Deliverable has a header or a name")
	}
}

func TestNewWriterRefuses(t *testing.T) {
	t.Parallel()
	if _, err := NewWriter(&bytes.Buffer{}, Deliverable(0), Options{}); err == nil {
		t.Error("unknown deliverable: no error")
	}
	if _, err := NewWriter(&bytes.Buffer{}, Chats, Options{RowGroupRows: -1}); err == nil {
		t.Error("negative RowGroupRows: no error")
	}
}

// TestWriterErrors: input that is not COPY's CSV of the deliverable is an
// error at the line (and column) where it is, whatever the chunking; after
// it no Parquet footer is written.
func TestWriterErrors(t *testing.T) {
	t.Parallel()
	header := strings.Join(Messages.Header(), ",") + "\n"
	good := copyRow(Messages, map[string]string{"chatId": "c1", "content": "two\nlines"}) // lines 2-3
	row := func(vals map[string]string) string { return copyRow(Messages, vals) }
	long := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name   string
		in     string
		opts   Options
		want   error
		line   int64
		column string
	}{
		{"empty input", "", Options{}, ErrHeader, 1, ""},
		{"header without LF", strings.TrimSuffix(header, "\n"), Options{}, ErrTruncated, 1, ""},
		{"header of chats.csv", strings.Join(Chats.Header(), ",") + "\n", Options{}, ErrHeader, 1, ""},
		{"header renamed", strings.Replace(header, "chatId", "chat id", 1), Options{}, ErrHeader, 1, ""},
		{"header extra column", strings.TrimSuffix(header, "\n") + ",extra\n", Options{}, ErrHeader, 1, ""},
		{"header short", header[strings.IndexByte(header, ',')+1:], Options{}, ErrHeader, 1, ""},
		{"header with BOM", "\uFEFF" + header, Options{}, ErrHeader, 1, ""},
		{"header CRLF", strings.TrimSuffix(header, "\n") + "\r\n", Options{}, ErrHeader, 1, ""},
		{"truncated final row", header + good + strings.TrimSuffix(good, "\n"), Options{}, ErrTruncated, 4, ""},
		{"truncated inside quotes", header + good + `"[""Amster`, Options{}, ErrTruncated, 4, ""},
		{"truncated after a comma", header + good + ",", Options{}, ErrTruncated, 4, ""},
		{"too few fields", header + good + ",,\n", Options{}, ErrMalformed, 4, ""},
		{"too many fields", header + good + strings.TrimSuffix(good, "\n") + ",x\n", Options{}, ErrMalformed, 4, ""},
		{"blank line", header + "\n", Options{}, ErrMalformed, 2, ""},
		{"quote in unquoted field", header + row(map[string]string{"role": "x"}) + strings.Replace(good, "c1", `c"1`, 1), Options{}, ErrMalformed, 3, ""},
		{"text after closing quote", header + strings.Replace(good, `lines"`, `lines"x`, 1), Options{}, ErrMalformed, 2, ""},
		{"CRLF line end", header + strings.TrimSuffix(good, "\n") + "\r\n", Options{}, ErrMalformed, 2, ""},
		{"bad boolean", header + good + row(map[string]string{"is test chat": "yes"}), Options{}, ErrValue, 4, "is test chat"},
		{"bad boolean case", header + row(map[string]string{"is default chat": "True"}), Options{}, ErrValue, 2, "is default chat"},
		{"timestamp with space", header + row(map[string]string{"created at": "2025-05-28 12:55:10.546493Z"}), Options{}, ErrValue, 2, "created at"},
		{"timestamp five digits", header + row(map[string]string{"updated at": "2025-05-28T12:55:10.54649Z"}), Options{}, ErrValue, 2, "updated at"},
		{"timestamp no zone", header + row(map[string]string{"updated at": "2025-05-28T12:55:10.546493"}), Options{}, ErrValue, 2, "updated at"},
		{"timestamp February 30", header + row(map[string]string{"created at": "2025-02-30T00:00:00.000000Z"}), Options{}, ErrValue, 2, "created at"},
		{"list is an object", header + row(map[string]string{"locations": `{"a":1}`}), Options{}, ErrValue, 2, "locations"},
		{"list is a string", header + row(map[string]string{"themes": `"x"`}), Options{}, ErrValue, 2, "themes"},
		{"list is null", header + row(map[string]string{"cities": `null`}), Options{}, ErrValue, 2, "cities"},
		{"list not JSON", header + row(map[string]string{"pois": `[1,`}), Options{}, ErrValue, 2, "pois"},
		{"list with trailing text", header + row(map[string]string{"pois": `[1]x`}), Options{}, ErrValue, 2, "pois"},
		{"list with NaN", header + row(map[string]string{"regions": `[NaN]`}), Options{}, ErrValue, 2, "regions"},
		{"invalid UTF-8", header + row(map[string]string{"content": "a\xffb"}), Options{}, ErrMalformed, 2, "content"},
		{"row too long", header + row(map[string]string{"content": long}), Options{MaxRowBytes: 1500}, ErrMalformed, 2, ""},
		{"row too long, unclosed quote", header + `"` + long, Options{MaxRowBytes: 1500}, ErrMalformed, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var errs []string
			for _, chunk := range []int{len(tc.in), 1, 7} {
				var out bytes.Buffer
				w, err := NewWriter(&out, Messages, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				werr := feed(w, []byte(tc.in), chunk)
				cerr := w.Close()
				err = cmpErr(werr, cerr)
				if err == nil {
					t.Fatalf("chunks of %d: no error", chunk)
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("chunks of %d: %v, want %v", chunk, err, tc.want)
				}
				var re *RowError
				if !errors.As(err, &re) || re.Line != tc.line || re.Column != tc.column || re.File != Messages {
					t.Fatalf("chunks of %d: %#v, want line %d column %q", chunk, err, tc.line, tc.column)
				}
				if werr != nil && !errors.Is(cerr, werr) {
					t.Errorf("Close after %v returned %v", werr, cerr)
				}
				if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, tc.want) && !errors.Is(err, ErrClosed) {
					t.Errorf("Write after the error: %d, %v", n, err)
				}
				if bytes.HasSuffix(out.Bytes(), []byte("PAR1")) {
					t.Error("a Parquet footer was written after an error")
				}
				errs = append(errs, err.Error())
			}
			if errs[0] != errs[1] || errs[0] != errs[2] {
				t.Errorf("the error depends on the chunking: %q", errs)
			}
			t.Log(errs[0])
		})
	}
}

func TestWriterClosed(t *testing.T) {
	t.Parallel()
	w, err := NewWriter(&bytes.Buffer{}, Chats, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(strings.Join(Chats.Header(), ",") + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// cmpErr returns the error a caller sees first: Write's, else Close's.
func cmpErr(werr, cerr error) error {
	if werr != nil {
		return werr
	}
	return cerr
}

// feed writes src to w in chunks of the given size.
func feed(w *Writer, src []byte, chunk int) error {
	chunk = max(chunk, 1)
	for len(src) > 0 {
		n := min(chunk, len(src))
		if _, err := w.Write(src[:n]); err != nil {
			return err
		}
		src = src[n:]
	}
	return nil
}

// writeFile writes src as the Parquet of d into a temporary file.
func writeFile(t testing.TB, d Deliverable, opts Options, src []byte, chunk int) (string, *Writer) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := feed(w, src, chunk); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), strings.TrimSuffix(d.String(), ".csv")+".parquet")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, w
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkAgainstCSV compares DuckDB's reading of the Parquet at path with the
// CSV it was written from: names, types, and every value of every row.
func checkAgainstCSV(t *testing.T, d Deliverable, src []byte, path string) {
	t.Helper()
	cols, got, _ := duckRows(t, path)
	l := d.layout()
	if len(cols) != len(l.columns) {
		t.Fatalf("DuckDB reads %d columns, want %d", len(cols), len(l.columns))
	}
	for i, c := range l.columns {
		if cols[i].Name != c.name || cols[i].Type != duckType(c.kind) {
			t.Errorf("column %d: DuckDB reads %q %s, want %q %s", i, cols[i].Name, cols[i].Type, c.name, duckType(c.kind))
		}
	}
	want := expectRows(t, d, src)
	if len(got) != len(want) {
		t.Fatalf("DuckDB reads %d rows, the CSV has %d", len(got), len(want))
	}
	for r := range want {
		for i, c := range l.columns {
			if !reflect.DeepEqual(got[r][i], want[r][i]) {
				t.Errorf("row %d, %q: DuckDB reads %s, the CSV says %s", r+1, c.name, show(got[r][i]), show(want[r][i]))
			}
		}
	}
}

// checkGolden compares got with the golden file; on a mismatch it writes
// got beside it as .got.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(golden)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if err := os.WriteFile(golden+".got", got, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Errorf("DuckDB's reading differs from %s; see: diff %s %s.got (if .got is right, move it over the golden file)",
		golden, golden, golden)
}

// copyRow renders one row of d as COPY writes it, from the named values;
// the others are empty.
func copyRow(d Deliverable, vals map[string]string) string {
	var b strings.Builder
	for i, name := range d.Header() {
		if i > 0 {
			b.WriteByte(',')
		}
		v := vals[name]
		if strings.ContainsAny(v, ",\"\r\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		b.WriteString(v)
	}
	b.WriteByte('\n')
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
