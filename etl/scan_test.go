package etl

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// csvRecords reads data with encoding/csv as the contract names it:
// strict quotes, any field count. For each record: its fields (or its
// parse error) and the input offset after it.
type csvOutcome struct {
	fields []string
	err    string
	offset int64
	line   int64
	raw    string
}

func readWithEncodingCSV(data []byte) []csvOutcome {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var out []csvOutcome
	var prev int64
	for {
		fields, err := r.Read()
		if err == io.EOF {
			return out
		}
		o := csvOutcome{fields: fields, offset: r.InputOffset(), raw: string(data[prev:r.InputOffset()])}
		prev = o.offset
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			o.fields, o.err, o.line = nil, pe.Error(), int64(pe.StartLine)
		} else if err != nil {
			o.err = err.Error()
		} else {
			line, _ := r.FieldPos(0)
			o.line = int64(line)
		}
		out = append(out, o)
	}
}

// readWithScanner reads data with the scanner, through a window of win
// bytes (tiny windows: records cross them all the time).
func readWithScanner(data []byte, maxField, win int) []csvOutcome {
	s := newScanner(iotest.OneByteReader(bytes.NewReader(data)), maxField, rawKeepBytes)
	s.win = make([]byte, win)
	var out []csvOutcome
	for {
		rec, err := s.read()
		if err == io.EOF {
			return out
		}
		o := csvOutcome{fields: rec.fields, offset: s.offset, line: rec.startLine, raw: string(rec.raw)}
		switch {
		case err != nil:
			o.err = err.Error()
		case rec.err != nil:
			o.err = rec.err.Error()
		}
		out = append(out, o)
	}
}

var scannerSeeds = []string{
	"a,b,c\n1,2,3\n",
	"a,b\r\n1,2\r\n",
	"\n\n\r\na,b\n\n",
	"a,\"b\nc\",d\n",
	"a,\"b\r\nc\",d\r\n",
	"a,\"b\"\"c\",d\n",
	"a,b\"c,d\n",
	"a,\"b\"c,d\nx,y\n",
	"a,\"never closed\nmore\n",
	"a,\"never closed",
	"a,\"closed at eof\"",
	"a,\"x\"\r",
	"a,b\r",
	"\r",
	"\r\r\n",
	"a\rb,c\n",
	"\"\"\n",
	"\"\n",
	",\n,,\n",
	"a,\"b\"\rx\n",
	"a,\"\"\"\"\n",
	"\"a\"\"\",b\n\"\n\"\n",
	"x,\"é\"\n\"é\",\"",
	"a,\"b\n\n\nc\"\n",
	"a,\"b\n",
	"a,\"b\n\n",
}

// TestScannerMatchesEncodingCSV and its fuzz target hold the scanner to
// encoding/csv's reading, the contract's: the same records, fields, parse
// errors (lines, columns) and bytes consumed per record.
func TestScannerMatchesEncodingCSV(t *testing.T) {
	t.Parallel()
	for _, seed := range scannerSeeds {
		for _, win := range []int{1, 7, 64 << 10} {
			want, got := readWithEncodingCSV([]byte(seed)), readWithScanner([]byte(seed), 1<<20, win)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q (window %d):\nscanner      %+v\nencoding/csv %+v", seed, win, got, want)
			}
		}
	}
}

func FuzzScannerMatchesEncodingCSV(f *testing.F) {
	for _, seed := range scannerSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := readWithEncodingCSV(data)
		for _, win := range []int{3, 64 << 10} {
			if got := readWithScanner(data, 1<<20, win); !reflect.DeepEqual(got, want) {
				t.Errorf("%q (window %d):\nscanner      %+v\nencoding/csv %+v", data, win, got, want)
			}
		}
	})
}

// TestScannerCapsWithoutHolding: a field over the cap is not kept, and
// the record's raw text is cut; reading goes on at the next record.
func TestScannerCapsWithoutHolding(t *testing.T) {
	t.Parallel()
	data := "a,\"" + strings.Repeat("x", 100_000) + "\"\nb,c\n"
	s := newScanner(strings.NewReader(data), 1000, 100)
	rec, err := s.read()
	if err != nil || !rec.tooLarge || rec.bigField != 1 || rec.bigSize != 100_000 || len(rec.raw) != 100 || rec.fields != nil {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if cap(s.content) > 2000 || cap(s.spill) > 2000 {
		t.Errorf("the scanner kept %d and %d bytes of the field", cap(s.content), cap(s.spill))
	}
	rec, err = s.read()
	if err != nil || !reflect.DeepEqual(rec.fields, []string{"b", "c"}) || rec.startLine != 2 {
		t.Fatalf("the next record %+v, %v", rec, err)
	}
}
