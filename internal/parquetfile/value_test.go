package parquetfile

import (
	"errors"
	"reflect"
	"testing"
)

// listOf runs appendList on one field and returns the list it wrote: nil
// elements for JSON null, an empty list for [].
func listOf(t testing.TB, f string) ([]any, error) {
	t.Helper()
	var b rowBuilder
	if err := b.appendList(0, []byte(f)); err != nil {
		return nil, err
	}
	list := []any{}
	for i, v := range b.row {
		if v.Column() != 0 || (i == 0) != (v.RepetitionLevel() == 0) {
			t.Fatalf("%q: value %d has column %d, repetition level %d", f, i, v.Column(), v.RepetitionLevel())
		}
		switch v.DefinitionLevel() {
		case listEmpty:
			if len(b.row) != 1 {
				t.Fatalf("%q: an empty-list value among %d", f, len(b.row))
			}
		case listNullElement:
			list = append(list, nil)
		case listElement:
			list = append(list, string(v.ByteArray()))
		default:
			t.Fatalf("%q: value %d has definition level %d", f, i, v.DefinitionLevel())
		}
	}
	return list, nil
}

func TestAppendList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []any
	}{
		{`[]`, []any{}},
		{`[null]`, []any{nil}},
		{`[""]`, []any{""}},
		{`["Netherlands",2.50,{"id":3},[1,2],null,true]`, []any{"Netherlands", "2.50", `{"id":3}`, "[1,2]", nil, "true"}},
		{`[1e5,-0,0.1E-7,-1.5e+3,12345678901234567890123]`, []any{"1e5", "-0", "0.1E-7", "-1.5e+3", "12345678901234567890123"}},
		{`["]","[","{","}",",","\"",",\"]"]`, []any{"]", "[", "{", "}", ",", `"`, `,"]`}},
		{`["a\\","b\\\"",""]`, []any{`a\`, `b\"`, ""}},
		{`[{"a":"x\"]},[{"},["]\\"],{}]`, []any{`{"a":"x\"]},[{"}`, `["]\\"]`, "{}"}},
		{`["\u00e9\ud83d\ude00\n\t\u0001","é😀"]`, []any{"é😀\n\t\x01", "é😀"}},
		{`[false,"false",0]`, []any{"false", "false", "0"}},
		// Not what COPY writes (the export's JSON is compact), but valid JSON:
		// elements are cut without the space around them, and keep their own.
		{"[ \"a\" ,\t1 ,\n{ \"k\" : [ 1 ] } , null ] ", []any{"a", "1", `{ "k" : [ 1 ] }`, nil}},
		// Refused: not an array at its first byte, or not JSON.
		{` [1]`, nil},
		{`[1]]`, nil},
		{`["a"`, nil},
		{`["\ud800"]x`, nil},
	} {
		got, err := listOf(t, tc.in)
		if tc.want == nil {
			if !errors.Is(err, ErrValue) {
				t.Errorf("%q: %v, want ErrValue", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
