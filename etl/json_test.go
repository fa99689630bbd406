package etl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONCompact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      string
		kind      jsonKind
		sanitized bool
	}{
		{"nested", `{"a": 1, "b": [1, 2.50, 6e2, -0, 1.0], "c": {"d": null}}`, `{"a":1,"b":[1,2.50,6e2,-0,1.0],"c":{"d":null}}`, jsonObject, false},
		{"duplicate keys", `{"a": 1, "b": 2, "a": 3}`, `{"a":1,"b":2,"a":3}`, jsonObject, false},
		{"python non-finite", `[NaN, Infinity, -Infinity, 1]`, `[null,null,null,1]`, jsonArray, false},
		{"top-level NaN", ` NaN `, `null`, jsonNull, false},
		{"numbers as written", `[12345678901234567890, -1.5E+10, 0.000e-0, 1E400]`, `[12345678901234567890,-1.5E+10,0.000e-0,1E400]`, jsonArray, false},
		{"literals", "\t[true,\r\nfalse , null]\n", `[true,false,null]`, jsonArray, false},
		{"empty containers", `{"a": {}, "b": [ ], "c": [{}]}`, `{"a":{},"b":[],"c":[{}]}`, jsonObject, false},
		{"non-ascii escape", `"Cura\u00e7ao"`, `"Curaçao"`, jsonString, false},
		{"upper-case hex", `"Cura\u00E7ao"`, `"Curaçao"`, jsonString, false},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"`, jsonString, false},
		{"upper-case surrogate pair", `"\uD83D\uDE00!"`, `"😀!"`, jsonString, false},
		{"no needless escapes", `"a\/b<>&\u2028\u2029"`, "\"a/b<>&\u2028\u2029\"", jsonString, false},
		{"control characters", `"\u0001\u001f\b\f\n\r\t"`, `"\u0001\u001f\b\f\n\r\t"`, jsonString, false},
		{"control characters as \\u", `"\u0008\u000C\u000a\u000D\u0009\u001F\u007f"`, "\"\\b\\f\\n\\r\\t\\u001f\x7f\"", jsonString, false},
		{"quote and backslash", `"\"\\\u0022\u005C"`, `"\"\\\"\\"`, jsonString, false},
		{"raw utf-8 kept", `"Crète ✓ 😀"`, `"Crète ✓ 😀"`, jsonString, false},
		{"raw U+FFFD is not sanitizing", "\"\uFFFD\"", "\"\uFFFD\"", jsonString, false},
		{"nul removed", `"\u0000x"`, `"x"`, jsonString, true},
		{"nul in key removed", `{"a\u0000": 1}`, `{"a":1}`, jsonObject, true},
		{"lone high surrogate", `"\ud83d alleen"`, "\"\uFFFD alleen\"", jsonString, true},
		{"lone high surrogate at end", `"\ud83d"`, "\"\uFFFD\"", jsonString, true},
		{"lone low surrogate", `"x\ude00y"`, "\"x\uFFFDy\"", jsonString, true},
		{"high then non-surrogate escape", `"\ud83d\u00e7"`, "\"\uFFFDç\"", jsonString, true},
		{"high then high then low", `"\ud83d\ud83d\ude00"`, "\"\uFFFD😀\"", jsonString, true},
		{"high then short escape", `"\ud83d\n"`, "\"\uFFFD\\n\"", jsonString, true},
		{"invalid utf-8 run", "\"a\xff\xfeb\xc3\"", "\"a\uFFFDb\uFFFD\"", jsonString, true},
		{"utf-8 encoded surrogate", "\"\xed\xa0\x80\"", "\"\uFFFD\"", jsonString, true},
		{"invalid utf-8 in key", "{\"\xff\": 1}", "{\"\uFFFD\":1}", jsonObject, true},
		{"white space only between tokens", " { \"a b\" : [ 1 , \"c d\" ] } ", `{"a b":[1,"c d"]}`, jsonObject, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d jsonDecoder
			d.reset([]byte(tt.in))
			got, kind, err := d.value([]byte("prefix:"))
			if err != nil {
				t.Fatalf("value(%q): %v", tt.in, err)
			}
			if err := d.finish(); err != nil {
				t.Fatalf("finish(%q): %v", tt.in, err)
			}
			if want := "prefix:" + tt.want; string(got) != want {
				t.Errorf("value(%q) = %q, want %q", tt.in, got, want)
			}
			if kind != tt.kind {
				t.Errorf("value(%q) kind = %d, want %d", tt.in, kind, tt.kind)
			}
			if d.sanitized() != tt.sanitized {
				t.Errorf("value(%q) sanitized = %v, want %v", tt.in, d.sanitized(), tt.sanitized)
			}
			if !json.Valid(got[len("prefix:"):]) {
				t.Errorf("value(%q) = %q is not valid JSON", tt.in, got)
			}

			// The same document through skip: valid, nothing sanitized.
			d.reset([]byte(tt.in))
			if err := d.skip(); err != nil {
				t.Errorf("skip(%q): %v", tt.in, err)
			}
			if err := d.finish(); err != nil {
				t.Errorf("finish after skip(%q): %v", tt.in, err)
			}
			if d.sanitized() {
				t.Errorf("skip(%q) marked sanitized", tt.in)
			}
		})
	}
}

func TestJSONText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		kind jsonKind
	}{
		{`"a\"b\\c\/d\n\u00e7\ud83d\ude00"`, "a\"b\\c/d\nç😀", jsonString},
		{`"Crète"`, "Crète", jsonString},
		{`""`, "", jsonString},
		{`"\u0001"`, "\x01", jsonString},
		{`2.50`, "2.50", jsonNumber},
		{`-0`, "-0", jsonNumber},
		{`6e2`, "6e2", jsonNumber},
		{`true`, "true", jsonBool},
		{`false`, "false", jsonBool},
		{`null`, "", jsonNull},
		{`NaN`, "", jsonNull},
		{`Infinity`, "", jsonNull},
		{`-Infinity`, "", jsonNull},
		{`{"a": "x\ty", "b": [NaN, "\u00e7"]}`, `{"a":"x\ty","b":[null,"ç"]}`, jsonObject},
		{`[ 1, "two" ]`, `[1,"two"]`, jsonArray},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var d jsonDecoder
			d.reset([]byte(tt.in))
			kind, err := d.peek()
			if err != nil {
				t.Fatalf("peek(%q): %v", tt.in, err)
			}
			if kind != tt.kind {
				t.Errorf("peek(%q) = %d, want %d", tt.in, kind, tt.kind)
			}
			got, kind, err := d.text([]byte("p:"))
			if err != nil {
				t.Fatalf("text(%q): %v", tt.in, err)
			}
			if err := d.finish(); err != nil {
				t.Fatalf("finish(%q): %v", tt.in, err)
			}
			if want := "p:" + tt.want; string(got) != want {
				t.Errorf("text(%q) = %q, want %q", tt.in, got, want)
			}
			if kind != tt.kind {
				t.Errorf("text(%q) kind = %d, want %d", tt.in, kind, tt.kind)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		// off is the offset the message must name, -1 for "don't care".
		off int
	}{
		{"trailing comma in object", `{"a":1,}`, 7},
		{"trailing comma in array", `[1,]`, 3},
		{"single quotes", `'a'`, 0},
		{"leading zero", `01`, 0},
		{"leading zero negative", `-01`, 0},
		{"plus sign", `+1`, 0},
		{"leading dot", `.5`, 0},
		{"trailing dot", `1.`, 2},
		{"empty exponent", `1e`, 2},
		{"exponent sign only", `1e+`, 3},
		{"lone minus", `-`, 1},
		{"minus letter", `-a`, 1},
		{"lower-case nan", `nan`, 1},
		{"lower-case infinity", `infinity`, 0},
		{"truncated Infinity", `Infin`, 5},
		{"minus NaN", `-NaN`, 1},
		{"bare word", `hello`, 0},
		{"truncated true", `tru`, 3},
		{"unterminated string", `"abc`, 4},
		{"invalid escape", `"\x"`, 2},
		{"backslash at end", `"\`, 2},
		{"short unicode escape", `"\u12"`, 5},
		{"bad hex in unicode escape", `"\u12g4"`, 5},
		{"bad hex after high surrogate", `"\ud83d\uzzzz"`, 9},
		{"missing colon", `{"a" 1}`, 5},
		{"non-string key", `{1:2}`, 1},
		{"missing comma in array", `[1 2]`, 3},
		{"missing comma in object", `{"a":1 "b":2}`, 7},
		{"raw newline in string", "\"a\nb\"", 2},
		{"raw tab in string", "\"a\tb\"", 2},
		{"raw NUL in string", "\"a\x00b\"", 2},
		{"too deep arrays", strings.Repeat("[", 2000), maxJSONDepth},
		{"too deep objects", strings.Repeat(`{"a":`, 2000), -1},
		{"trailing garbage", `1 2`, 2},
		{"trailing garbage after object", `{} x`, 3},
		{"concatenated literals", `truefalse`, 4},
		{"empty input", ``, 0},
		{"white space only", " \t\r\n", 4},
		{"unclosed array", `[1, 2`, 5},
		{"unclosed object", `{"a": 1`, 7},
		{"colon without value", `{"a":}`, 5},
		{"mismatched brackets", `[1}`, 2},
		{"vertical tab is not white space", "\v1", 0},
		{"non-breaking space is not white space", "\u00a01", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d jsonDecoder
			for _, consume := range []struct {
				name string
				fn   func() error
			}{
				{"value", func() error { _, _, err := d.value(nil); return err }},
				{"text", func() error { _, _, err := d.text(nil); return err }},
				{"skip", d.skip},
				{"walk", func() error { _, err := jsonTestWalk(&d, nil); return err }},
			} {
				d.reset([]byte(tt.in))
				err := consume.fn()
				if err == nil {
					err = d.finish()
				}
				if err == nil {
					t.Errorf("%s(%q): no error", consume.name, tt.in)
					continue
				}
				if !strings.HasPrefix(err.Error(), "json: ") {
					t.Errorf("%s(%q): error %q lacks the json: prefix", consume.name, tt.in, err)
				}
				if tt.off >= 0 && !strings.HasSuffix(err.Error(), " at offset "+strconv.Itoa(tt.off)) {
					t.Errorf("%s(%q): error %q, want offset %d", consume.name, tt.in, err, tt.off)
				}
			}
		})
	}
}

func TestJSONErrorMessage(t *testing.T) {
	t.Parallel()
	var d jsonDecoder
	d.reset([]byte(`[1, x]`))
	_, _, err := d.value(nil)
	const want = "json: invalid character 'x' looking for beginning of value at offset 4"
	if err == nil || err.Error() != want {
		t.Errorf("value error = %v, want %q", err, want)
	}
	d.reset([]byte("\"\x01\""))
	_, _, err = d.value(nil)
	const want2 = `json: invalid character '\x01' in string literal at offset 1`
	if err == nil || err.Error() != want2 {
		t.Errorf("value error = %v, want %q", err, want2)
	}
}

func TestJSONDepthLimit(t *testing.T) {
	t.Parallel()
	var d jsonDecoder
	ok := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	d.reset([]byte(ok))
	got, _, err := d.value(nil)
	if err != nil || string(got) != ok {
		t.Errorf("value at depth %d: %v", maxJSONDepth, err)
	}
	tooDeep := "[" + ok + "]"
	d.reset([]byte(tooDeep))
	if _, _, err := d.value(nil); err == nil {
		t.Errorf("value at depth %d: no error", maxJSONDepth+1)
	}
	// The limit also holds through the callback API, which shares the count.
	d.reset([]byte(tooDeep))
	if _, err := jsonTestWalk(&d, nil); err == nil {
		t.Errorf("walk at depth %d: no error", maxJSONDepth+1)
	}
	d.reset([]byte(ok))
	if _, err := jsonTestWalk(&d, nil); err != nil {
		t.Errorf("walk at depth %d: %v", maxJSONDepth, err)
	}
}

func TestJSONPeek(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want jsonKind
		err  bool
	}{
		{` "x"`, jsonString, false},
		{"\n{", jsonObject, false},
		{`[`, jsonArray, false},
		{`true`, jsonBool, false},
		{`false`, jsonBool, false},
		{`null`, jsonNull, false},
		{`NaN`, jsonNull, false},
		{`Infinity`, jsonNull, false},
		{`-Infinity`, jsonNull, false},
		{`-1`, jsonNumber, false},
		{`7`, jsonNumber, false},
		{``, 0, true},
		{`  `, 0, true},
		{`}`, 0, true},
		{`'`, 0, true},
	}
	for _, tt := range tests {
		var d jsonDecoder
		d.reset([]byte(tt.in))
		got, err := d.peek()
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("peek(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if !tt.err && d.pos != len(tt.in)-len(strings.TrimLeft(tt.in, " \n")) {
			t.Errorf("peek(%q) consumed more than white space", tt.in)
		}
	}
}

func TestJSONObjectArrayCallbacks(t *testing.T) {
	t.Parallel()
	in := `[{"id": "m1", "Role": "user", "content": "Bonjour \u00e0 tous", "disclaimer": null},
	        {"id": "m2", "first_name": "Ana\u00efs", "tags": ["a", {"x": 1}], "score": 2.50},
	        {},
	        {"messageSuborganization": NaN, "caf\u00e9": true, "a\u0000b": "nul"}]`
	type member struct{ key, text string }
	var got [][]member
	var d jsonDecoder
	d.reset([]byte(in))
	var key, buf []byte
	err := d.array(func() error {
		var ms []member
		err := d.object(func(name []byte) error {
			key = appendKey(key[:0], name)
			var err error
			buf, _, err = d.text(buf[:0])
			ms = append(ms, member{string(key), string(buf)})
			return err
		})
		got = append(got, ms)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.finish(); err != nil {
		t.Fatal(err)
	}
	want := [][]member{
		{{"id", "m1"}, {"role", "user"}, {"content", "Bonjour à tous"}, {"disclaimer", ""}},
		{{"id", "m2"}, {"firstname", "Anaïs"}, {"tags", `["a",{"x":1}]`}, {"score", "2.50"}},
		nil,
		{{"messagesuborganization", ""}, {"caf", "true"}, {"ab", "nul"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !d.sanitized() {
		t.Error("sanitized() = false after a \\u0000 in a member name")
	}
}

// TestJSONNestedNames checks that a member name handed to a callback stays
// intact while the callback decodes nested objects whose names also need
// unescaping (they share the decoder's scratch buffer).
func TestJSONNestedNames(t *testing.T) {
	t.Parallel()
	in := `{"\u00e9t\u00e9": {"\u00e0": {"\u00fc": 1, "b": 2}, "c\u00e7": [{"\u00f1": 3}]}, "\u00e9t\u00e9": 4}`
	var d jsonDecoder
	d.reset([]byte(in))
	var seen []string
	var walk func(path string) func(name []byte) error
	walk = func(path string) func(name []byte) error {
		return func(name []byte) error {
			before := string(name)
			p := path + "/" + before
			kind, err := d.peek()
			if err != nil {
				return err
			}
			switch kind {
			case jsonObject:
				err = d.object(walk(p))
			case jsonArray:
				err = d.array(func() error { return d.object(walk(p + "[]")) })
			default:
				var v []byte
				v, _, err = d.text(nil)
				p += "=" + string(v)
			}
			if string(name) != before {
				return fmt.Errorf("name %q changed to %q during its callback", before, name)
			}
			seen = append(seen, p)
			return err
		}
	}
	if err := d.object(walk("")); err != nil {
		t.Fatal(err)
	}
	want := []string{"/été/à/ü=1", "/été/à/b=2", "/été/à", "/été/cç[]/ñ=3", "/été/cç", "/été", "/été=4"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("got  %q\nwant %q", seen, want)
	}
}

func TestJSONCallbackErrors(t *testing.T) {
	t.Parallel()
	var d jsonDecoder
	sentinel := errors.New("stop")
	d.reset([]byte(`{"a": 1}`))
	if err := d.object(func([]byte) error { return sentinel }); err != sentinel {
		t.Errorf("object returned %v, want the callback's error", err)
	}
	d.reset([]byte(`[1]`))
	if err := d.array(func() error { return sentinel }); err != sentinel {
		t.Errorf("array returned %v, want the callback's error", err)
	}
	d.reset([]byte(`{"a": 1}`))
	if err := d.object(func([]byte) error { return nil }); err == nil {
		t.Error("object accepted a callback that consumed nothing")
	}
	d.reset([]byte(`[1]`))
	if err := d.array(func() error { return nil }); err == nil {
		t.Error("array accepted a callback that consumed nothing")
	}
	d.reset([]byte(`[1, 2]`))
	if err := d.object(func([]byte) error { return d.skip() }); err == nil {
		t.Error("object accepted an array")
	}
	d.reset([]byte(`{}`))
	if err := d.array(func() error { return d.skip() }); err == nil {
		t.Error("array accepted an object")
	}
	// A callback consuming two values desynchronizes the member list.
	d.reset([]byte(`[1, 2]`))
	if err := d.array(func() error {
		if err := d.skip(); err != nil {
			return err
		}
		return d.skip()
	}); err == nil {
		t.Error("array accepted a callback that consumed two values")
	}
}

func TestJSONDecoderReuse(t *testing.T) {
	t.Parallel()
	var d jsonDecoder
	d.reset([]byte(`"\u0000"`))
	if _, _, err := d.value(nil); err != nil || !d.sanitized() {
		t.Fatalf("value: %v, sanitized %v", err, d.sanitized())
	}
	d.reset([]byte(`"ok"`))
	if d.sanitized() {
		t.Error("reset did not clear sanitized")
	}
	got, _, err := d.value(nil)
	if err != nil || string(got) != `"ok"` {
		t.Errorf("value after reset = %q, %v", got, err)
	}
	// A reset after an error mid-document starts clean.
	d.reset([]byte(`[[[[`))
	if _, _, err := d.value(nil); err == nil {
		t.Fatal("no error for [[[[")
	}
	d.reset([]byte(strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)))
	if err := d.skip(); err != nil {
		t.Errorf("skip after a failed document: %v", err)
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\b\f\n\r\t\x00\x01\x1f\x7f", "\"\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f\""},
		{"/<>&\u2028\u2029", "\"/<>&\u2028\u2029\""},
		{"Crète 😀", `"Crète 😀"`},
		{"a\xff\xfeb\xe2\x82", "\"a\uFFFDb\uFFFD\""},
	}
	for _, tt := range tests {
		got := appendJSONString([]byte("x"), []byte(tt.in))
		if string(got) != "x"+tt.want {
			t.Errorf("appendJSONString(%q) = %q, want %q", tt.in, got[1:], tt.want)
		}
		if !json.Valid(got[1:]) || !utf8.Valid(got) {
			t.Errorf("appendJSONString(%q) = %q is not valid JSON", tt.in, got[1:])
		}
	}
}

func TestAppendKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"First Name", "firstname"},
		{"first_name", "firstname"},
		{"firstName", "firstname"},
		{"EMAIL", "email"},
		{"Crète", "crte"},
		{"messageSuborganization", "messagesuborganization"},
		{"current_brands", "currentbrands"},
		{"!!", ""},
		{"", ""},
		{"Address Line 2", "addressline2"},
		{"ÉCOLE", "cole"},
		{"\xff\x00a", "a"},
		// Lower-cased by Unicode's rules before the filter (issue 10):
		// dotted capital I lowers to "i" plus a combining dot, the Kelvin
		// sign to "k".
		{"clientİd", "clientid"},
		{"İd", "id"},
		{"read only to\u212Aen", "readonlytoken"},
		{"fİrst name", "firstname"},
		{"\u212Aelvin\u212B", "kelvin"},
	}
	for _, tt := range tests {
		if got := appendKey([]byte("k:"), []byte(tt.in)); string(got) != "k:"+tt.want {
			t.Errorf("appendKey(%q) = %q, want %q", tt.in, got[2:], tt.want)
		}
	}
}

// TestAppendKeyASCIINoAllocs: the ASCII path, which nearly every key
// takes, allocates nothing (not parallel: AllocsPerRun needs that).
func TestAppendKeyASCIINoAllocs(t *testing.T) {
	dst := make([]byte, 0, 64)
	name := []byte("Subscription Idle Message_Sent time")
	if n := testing.AllocsPerRun(100, func() { dst = appendKey(dst[:0], name) }); n != 0 {
		t.Errorf("appendKey of an ASCII name allocates %v times, want 0", n)
	}
}

// jsonTestWalk rebuilds the compact rendering of the next value through the
// peek/object/array API, as the package's callers walk documents.
func jsonTestWalk(d *jsonDecoder, dst []byte) ([]byte, error) {
	kind, err := d.peek()
	if err != nil {
		return dst, err
	}
	switch kind {
	case jsonObject:
		dst = append(dst, '{')
		first := true
		err = d.object(func(name []byte) error {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, name)
			dst = append(dst, ':')
			var err error
			dst, err = jsonTestWalk(d, dst)
			return err
		})
		return append(dst, '}'), err
	case jsonArray:
		dst = append(dst, '[')
		first := true
		err = d.array(func() error {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			var err error
			dst, err = jsonTestWalk(d, dst)
			return err
		})
		return append(dst, ']'), err
	case jsonString:
		// text then appendJSONString must agree with value's rendering.
		start := len(dst)
		dst, _, err = d.text(dst)
		s := string(dst[start:])
		return appendJSONString(dst[:start], []byte(s)), err
	default:
		dst, _, err = d.value(dst)
		return dst, err
	}
}

// jsonTestGen generates random documents together with the compact
// rendering the contract requires, so the decoder is checked against an
// independent re-encoder rather than against itself.
type jsonTestGen struct {
	r       *rand.Rand
	src     []byte
	want    []byte
	special bool // the document has a \u0000, which encoding/json keeps
}

func (g *jsonTestGen) ws() {
	for g.r.IntN(4) == 0 {
		g.src = append(g.src, " \t\r\n"[g.r.IntN(4)])
	}
}

func (g *jsonTestGen) value(depth int) {
	g.ws()
	n := 7
	if depth > 6 {
		n = 4 // leaves only
	}
	switch g.r.IntN(n) {
	case 0:
		lit := []string{"true", "false", "null"}[g.r.IntN(3)]
		g.src = append(g.src, lit...)
		g.want = append(g.want, lit...)
	case 1:
		num := g.number()
		g.src = append(g.src, num...)
		g.want = append(g.want, num...)
	case 2, 3:
		g.str()
	case 4, 5:
		g.src = append(g.src, '{')
		g.want = append(g.want, '{')
		g.ws()
		used := map[string]bool{}
		for i, n := 0, g.r.IntN(5); i < n; i++ {
			if i > 0 {
				g.src = append(g.src, ',')
				g.want = append(g.want, ',')
				g.ws()
			}
			// Keys stay unique after decoding so encoding/json's map
			// comparison is meaningful.
			var before, wantBefore = len(g.src), len(g.want)
			for {
				g.src, g.want = g.src[:before], g.want[:wantBefore]
				g.str()
				var k string
				if err := json.Unmarshal(g.want[wantBefore:], &k); err != nil {
					panic(err)
				}
				if !used[k] {
					used[k] = true
					break
				}
			}
			g.ws()
			g.src = append(g.src, ':')
			g.want = append(g.want, ':')
			g.value(depth + 1)
			g.ws()
		}
		g.src = append(g.src, '}')
		g.want = append(g.want, '}')
	default:
		g.src = append(g.src, '[')
		g.want = append(g.want, '[')
		g.ws()
		for i, n := 0, g.r.IntN(5); i < n; i++ {
			if i > 0 {
				g.src = append(g.src, ',')
				g.want = append(g.want, ',')
			}
			g.value(depth + 1)
			g.ws()
		}
		g.src = append(g.src, ']')
		g.want = append(g.want, ']')
	}
	g.ws()
}

func (g *jsonTestGen) number() string {
	var b strings.Builder
	if g.r.IntN(3) == 0 {
		b.WriteByte('-')
	}
	if g.r.IntN(4) == 0 {
		b.WriteByte('0')
	} else {
		b.WriteString(strconv.FormatUint(g.r.Uint64()>>g.r.IntN(64), 10))
	}
	if g.r.IntN(3) == 0 {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(g.r.IntN(100000)))
	}
	if g.r.IntN(4) == 0 {
		b.WriteByte("eE"[g.r.IntN(2)])
		if g.r.IntN(2) == 0 {
			b.WriteByte("+-"[g.r.IntN(2)])
		}
		b.WriteString(strconv.Itoa(g.r.IntN(400)))
	}
	return b.String()
}

// str appends a string literal whose characters are written in randomly
// chosen source forms (raw, short escape, \u escape in either hex case,
// surrogate pairs) and its expected compact rendering.
func (g *jsonTestGen) str() {
	g.src = append(g.src, '"')
	g.want = append(g.want, '"')
	for i, n := 0, g.r.IntN(12); i < n; i++ {
		var r rune
		switch g.r.IntN(6) {
		case 0:
			r = rune(g.r.IntN(0x20)) // control
		case 1:
			r = []rune{'"', '\\', '/', '<', '&', 0x7f, 0x2028, 0xFFFD}[g.r.IntN(8)]
		case 2:
			r = rune(0x80 + g.r.IntN(0x780)) // 2-byte
		case 3:
			r = rune(0x10000 + g.r.IntN(0x100000)) // astral
		case 4:
			// Lone surrogates decode to U+FFFD; one right before a low
			// surrogate escape would pair with it, so only use low ones,
			// which never pair backwards.
			r = rune(0xDC00 + g.r.IntN(0x400))
		default:
			r = rune(0x20 + g.r.IntN(0x5f)) // printable ASCII
		}
		if r == 0 {
			g.special = true
		}
		g.strRune(r)
	}
	g.src = append(g.src, '"')
	g.want = append(g.want, '"')
}

func (g *jsonTestGen) strRune(r rune) {
	// Expected rendering.
	switch {
	case r == 0:
	case r >= 0xD800 && r < 0xE000:
		g.want = append(g.want, "\uFFFD"...)
	default:
		g.want = jsonTestEscape(g.want, r)
	}
	// Source form.
	short := map[rune]byte{'"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}
	mustEscape := r < 0x20 || r == '"' || r == '\\' || (r >= 0xD800 && r < 0xE000)
	switch c, ok := short[r]; {
	case ok && g.r.IntN(2) == 0:
		g.src = append(g.src, '\\', c)
	case !mustEscape && g.r.IntN(2) == 0:
		g.src = utf8.AppendRune(g.src, r)
	default:
		hex := "%04x"
		if g.r.IntN(2) == 0 {
			hex = "%04X"
		}
		if r >= 0x10000 {
			hi, lo := 0xD800+(r-0x10000)>>10, 0xDC00+(r-0x10000)&0x3ff
			g.src = fmt.Appendf(g.src, `\u`+hex+`\u`+hex, hi, lo)
		} else {
			g.src = fmt.Appendf(g.src, `\u`+hex, r)
		}
	}
}

// jsonTestEscape is the reference escaper: Python's json.dumps with
// ensure_ascii=False, written independently of the code under test.
func jsonTestEscape(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, `\"`...)
	case '\\':
		return append(dst, `\\`...)
	case '\b':
		return append(dst, `\b`...)
	case '\f':
		return append(dst, `\f`...)
	case '\n':
		return append(dst, `\n`...)
	case '\r':
		return append(dst, `\r`...)
	case '\t':
		return append(dst, `\t`...)
	}
	if r < 0x20 {
		return fmt.Appendf(dst, `\u%04x`, r)
	}
	return utf8.AppendRune(dst, r)
}

func TestJSONRandomDocuments(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var d jsonDecoder
	for i := range 500 {
		g := jsonTestGen{r: r}
		g.value(0)
		src := g.src
		d.reset(src)
		got, _, err := d.value(nil)
		if err == nil {
			err = d.finish()
		}
		if err != nil {
			t.Fatalf("doc %d %q: %v", i, src, err)
		}
		if !bytes.Equal(got, g.want) {
			t.Fatalf("doc %d %q:\ngot  %q\nwant %q", i, src, got, g.want)
		}
		if !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("doc %d: compact %q is not valid JSON", i, got)
		}
		if !g.special {
			// encoding/json decodes lone surrogates to U+FFFD like the
			// contract does, but keeps \u0000, hence the exclusion.
			a, b := jsonTestUnmarshal(t, src), jsonTestUnmarshal(t, got)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("doc %d %q: encoding/json sees\n%#v\nin the compact rendering, want\n%#v", i, src, b, a)
			}
		}
		// The callback API and text() give the same rendering.
		d.reset(src)
		walked, err := jsonTestWalk(&d, nil)
		if err != nil || !bytes.Equal(walked, got) {
			t.Fatalf("doc %d %q: walk = %q, %v; want %q", i, src, walked, err, got)
		}
		// skip accepts it too.
		d.reset(src)
		if err := d.skip(); err != nil {
			t.Fatalf("doc %d %q: skip: %v", i, src, err)
		}
	}
}

func jsonTestUnmarshal(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json rejects %q: %v", data, err)
	}
	return v
}

func TestJSONNoAllocs(t *testing.T) {
	data := jsonTestConversationLog()
	var d jsonDecoder
	var key, buf []byte
	walk := func() {
		d.reset(data)
		var err error
		key, buf, err = jsonTestConsume(&d, key, buf)
		if err != nil {
			t.Fatal(err)
		}
	}
	walk() // warm the buffers
	if n := testing.AllocsPerRun(100, walk); n != 0 {
		t.Errorf("walking a conversation log allocates %v times per run, want 0", n)
	}
}

// jsonTestConsume walks a conversation log the way the package's caller
// does: array of message objects, key-matched members, text() values.
func jsonTestConsume(d *jsonDecoder, key, buf []byte) ([]byte, []byte, error) {
	err := d.array(func() error {
		return d.object(func(name []byte) error {
			key = appendKey(key[:0], name)
			var err error
			switch string(key) {
			case "content", "id", "role", "type":
				buf, _, err = d.text(buf[:0])
			default:
				buf, _, err = d.value(buf[:0])
			}
			return err
		})
	})
	if err == nil {
		err = d.finish()
	}
	return key, buf, err
}

// jsonTestConversationLog builds a conversation_log as Python writes it.
func jsonTestConversationLog() []byte {
	contents := []string{
		`Bonjour, je voudrais savoir si ma commande n\u00b0 48213 est bien partie ? Merci d\u2019avance.`,
		`Bonjour ! Je v\u00e9rifie cela pour vous. Pouvez-vous me confirmer l\u2019adresse e-mail utilis\u00e9e lors de la commande ?`,
		`Oui c\u2019est marie.dupont@example.fr \ud83d\ude4f`,
		`Merci. Votre commande a \u00e9t\u00e9 exp\u00e9di\u00e9e hier et devrait arriver d\u2019ici jeudi.\nVous recevrez un lien de suivi par e-mail.`,
		`Super, merci beaucoup ! Et pour le retour de l\u2019article pr\u00e9c\u00e9dent, comment dois-je proc\u00e9der ?`,
		`Vous pouvez imprimer l\u2019\u00e9tiquette depuis votre espace client, rubrique \"Mes retours\", puis d\u00e9poser le colis en point relais.`,
		`D\u2019accord. Il y a un d\u00e9lai maximum ?`,
		`Oui, 30 jours apr\u00e8s la r\u00e9ception. Puis-je vous aider pour autre chose ?`,
		`Non, ce sera tout. Bonne journ\u00e9e !`,
		`Bonne journ\u00e9e \u00e0 vous \u00e9galement \ud83d\ude0a`,
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, c := range contents {
		if i > 0 {
			b.WriteString(", ")
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `{"id": "msg_%04d_6f1c2a9e", "role": "%s", "type": "text", "content": "%s", "disclaimer": null}`, i, role, c)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func BenchmarkJSONDecoder(b *testing.B) {
	data := jsonTestConversationLog()
	b.Run("walk", func(b *testing.B) {
		var d jsonDecoder
		var key, buf []byte
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d.reset(data)
			var err error
			if key, buf, err = jsonTestConsume(&d, key, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("value", func(b *testing.B) {
		var d jsonDecoder
		var buf []byte
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d.reset(data)
			var err error
			if buf, _, err = d.value(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("skip", func(b *testing.B) {
		var d jsonDecoder
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d.reset(data)
			if err := d.skip(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
