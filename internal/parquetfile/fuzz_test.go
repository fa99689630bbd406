package parquetfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// FuzzWriter feeds the writer any bytes after the deliverable's header, whole
// and in chunks. It must never panic; every error must be a *RowError; the
// chunking must not change the outcome; and a file it accepts must read
// back (with parquet-go's reader, DuckDB being too slow for fuzzing) as the
// rows the CSV holds, by the same independent expectation as the DuckDB
// tests.
func FuzzWriter(f *testing.F) {
	for _, fx := range fixtures {
		src, err := os.ReadFile(fx.csv)
		if err != nil {
			f.Fatal(err)
		}
		_, body, _ := bytes.Cut(src, []byte("\n"))
		f.Add(body, fx.file == Messages, uint8(7))
	}
	m := func(vals map[string]string) []byte { return []byte(copyRow(Messages, vals)) }
	f.Add(m(map[string]string{"locations": `[{"a":"x\"]},[{"},["]\\"],{}]`, "themes": `[]`}), true, uint8(1))
	f.Add(m(map[string]string{"content": "a\r\nb", "is test chat": "true", "created at": "1969-12-31T23:59:59.999999Z"}), true, uint8(3))
	f.Add([]byte("\"unclosed,\n"), false, uint8(0))
	f.Add([]byte(strings.Repeat(",", 46)+"\n"+strings.Repeat(",", 47)+"\n"), false, uint8(5))
	f.Fuzz(func(t *testing.T, body []byte, messages bool, chunk uint8) {
		d := Chats
		if messages {
			d = Messages
		}
		src := append([]byte(strings.Join(d.Header(), ",")+"\n"), body...)
		out, rows, err := fuzzWrite(d, src, len(src))
		out2, rows2, err2 := fuzzWrite(d, src, int(chunk))
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !bytes.Equal(out, out2) || rows != rows2 {
			t.Fatalf("whole: %v, %d rows, %d bytes; chunks of %d: %v, %d rows, %d bytes", err, rows, len(out), chunk, err2, rows2, len(out2))
		}
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is no *RowError", err, err)
			}
			return
		}
		if bytes.Contains(src, []byte("\uE000")) {
			return // expectRows uses U+E000 in place of CR
		}
		got := readBack(t, d, out)
		if int64(len(got)) != rows {
			t.Fatalf("%d rows read back, Rows() = %d", len(got), rows)
		}
		want := expectRows(t, d, src)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read back:\n%s\nthe CSV says:\n%s", show(got), show(want))
		}
	})
}

// FuzzAppendList holds the cutting of list elements to a JSON decoder: for
// any JSON array in valid UTF-8 the two agree; anything that is not a JSON
// array is ErrValue.
func FuzzAppendList(f *testing.F) {
	for _, s := range []string{`[]`, `["Netherlands",2.50,{"id":3},[1,2],null,true]`, `["a\\","b\\\"",""]`,
		`[{"a":"x\"]},[{"},["]\\"],{}]`, "[ 1 ,\n\"x\" ] ", `[1]]`, `["\ud800"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := listOf(t, s)
		if s == "" || s[0] != '[' || !json.Valid([]byte(s)) {
			if !errors.Is(err, ErrValue) {
				t.Fatalf("%q: %v, want ErrValue", s, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !utf8.ValidString(s) {
			return // the Writer refuses the field before cutting; the decoder would put U+FFFD
		}
		if want := expectList(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: cut %q, decoded %q", s, got, want)
		}
	})
}

func fuzzWrite(d Deliverable, src []byte, chunk int) ([]byte, int64, error) {
	var out bytes.Buffer
	w, err := NewWriter(&out, d, Options{RowGroupRows: 3, MaxRowBytes: 1 << 20})
	if err != nil {
		return nil, 0, err
	}
	if err := feed(w, src, chunk); err != nil {
		return nil, w.Rows(), err
	}
	if err := w.Close(); err != nil {
		return nil, w.Rows(), err
	}
	return out.Bytes(), w.Rows(), nil
}

// readBack reads a file with parquet-go into rows of the values read.mjs
// would print.
func readBack(t *testing.T, d Deliverable, file []byte) [][]any {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("parquet-go cannot open the file: %v", err)
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	cols := d.layout().columns
	var rows [][]any
	buf := make([]parquet.Row, 8)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make([]any, len(cols))
			for _, v := range pr {
				i := v.Column()
				switch c := cols[i]; {
				case v.DefinitionLevel() == 0:
					row[i] = nil
				case c.kind == kindBool:
					row[i] = v.Boolean()
				case c.kind == kindTime:
					row[i] = time.UnixMicro(v.Int64()).UTC().Format(timeLayout)
				case c.kind == kindList:
					list, _ := row[i].([]any)
					if list == nil {
						list = []any{}
					}
					switch v.DefinitionLevel() {
					case listNullElement:
						list = append(list, nil)
					case listElement:
						list = append(list, string(v.ByteArray()))
					}
					row[i] = list
				default:
					row[i] = string(v.ByteArray())
				}
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("parquet-go cannot read the rows: %v", err)
		}
	}
}
