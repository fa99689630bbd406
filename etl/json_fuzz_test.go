package etl

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzJSONDecoder checks, for any bytes, that the decoder never panics,
// that value, text, skip and the callback API agree on what is valid, and
// that a compact rendering is valid UTF-8 and valid JSON that renders to
// itself again.
func FuzzJSONDecoder(f *testing.F) {
	for _, seed := range []string{
		`{"a": 1, "b": [1, 2.50, 6e2, -0, 1.0], "c": {"d": null}}`,
		`[NaN, Infinity, -Infinity, 1]`,
		`"Cura\u00e7ao \ud83d\ude00 \ud83d alleen \ude00 \ud83d\u00e7"`,
		`"\u0000x\u0001\u001F\b\f\n\r\t\"\\\/<>&\u2028"`,
		`{"a": 1, "a": 2, "First Name": "x", "caf\u00e9": [true, false, null]}`,
		"\"a\xff\xfeb\xc3\" ",
		"{\"\xed\xa0\x80\": \"\xf4\x90\x80\x80\"}",
		strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
		strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001),
		`[12345678901234567890, -1.5E+10, 0.000e-0, 1E400]`,
		`{"a":1,}`,
		`[01, +1, .5, 1., 1e]`,
		`"\u12"`,
		"[\"\x01\"]",
		`[{"id": "m1", "role": "user", "content": "Bonjour \u00e0 tous", "disclaimer": null}]`,
		` 1 2`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var d jsonDecoder
		d.reset(in)
		compact, _, err := d.value(nil)
		if err == nil {
			err = d.finish()
		}
		sanitized := d.sanitized()

		// skip, text and the callback walk accept exactly what value
		// accepts.
		d.reset(in)
		skipErr := d.skip()
		if skipErr == nil {
			skipErr = d.finish()
		}
		if (skipErr == nil) != (err == nil) {
			t.Fatalf("value error %v but skip error %v", err, skipErr)
		}
		d.reset(in)
		_, _, textErr := d.text(nil)
		if textErr == nil {
			textErr = d.finish()
		}
		if (textErr == nil) != (err == nil) {
			t.Fatalf("value error %v but text error %v", err, textErr)
		}
		d.reset(in)
		walked, walkErr := jsonTestWalk(&d, nil)
		if walkErr == nil {
			walkErr = d.finish()
		}
		if (walkErr == nil) != (err == nil) {
			t.Fatalf("value error %v but walk error %v", err, walkErr)
		}

		// encoding/json accepts everything we must accept; its depth limit
		// is higher, and 1001 levels need more than 2000 bytes.
		if err != nil {
			if len(in) <= 2*maxJSONDepth && json.Valid(in) {
				t.Fatalf("rejected valid JSON: %v", err)
			}
			return
		}
		if !json.Valid(in) && !bytes.Contains(in, []byte("NaN")) && !bytes.Contains(in, []byte("Infinity")) {
			t.Fatalf("accepted invalid JSON, rendered as %q", compact)
		}

		if !utf8.Valid(compact) {
			t.Fatalf("compact rendering %q is not valid UTF-8", compact)
		}
		if !json.Valid(compact) {
			t.Fatalf("compact rendering %q is not valid JSON", compact)
		}
		if !bytes.Equal(walked, compact) {
			t.Fatalf("walk rendering %q differs from value rendering %q", walked, compact)
		}
		d.reset(compact)
		again, _, err := d.value(nil)
		if err == nil {
			err = d.finish()
		}
		if err != nil {
			t.Fatalf("compact rendering %q rejected: %v", compact, err)
		}
		if !bytes.Equal(again, compact) {
			t.Fatalf("rendering is not idempotent: %q then %q", compact, again)
		}
		if d.sanitized() {
			t.Fatalf("compact rendering %q needed sanitizing", compact)
		}

		// Where encoding/json decodes the same thing (valid UTF-8, no
		// \u0000 it would keep), both renderings must mean the same.
		if !sanitized && utf8.Valid(in) && json.Valid(in) {
			a, b := jsonFuzzUnmarshal(t, in), jsonFuzzUnmarshal(t, compact)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("encoding/json sees %#v in %q but %#v in its rendering %q", a, in, b, compact)
			}
		}
	})
}

func jsonFuzzUnmarshal(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json rejects %q: %v", data, err)
	}
	return v
}
