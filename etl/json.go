package etl

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds a small pull decoder for the JSON columns of the source
// file (conversation_log, structured_info). encoding/json is not used because
// the deliverables need the source value re-rendered exactly (numbers as
// written, duplicate keys kept, key order kept), the input contains Python's
// NaN/Infinity tokens, and the files are large enough that reflection and
// per-value allocations matter.
//
// Compact rendering is the source value without insignificant white space:
// keys in source order, duplicate keys kept, numbers as written,
// NaN/Infinity/-Infinity as null, strings re-escaped the way Python's
// json.dumps(v, ensure_ascii=False, separators=(",", ":")) does it.

// jsonKind is the kind of a JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota // null, NaN, Infinity, -Infinity
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 1000

// jsonMode selects what the internal scanners produce while they validate.
type jsonMode uint8

const (
	jsonModeSkip jsonMode = iota // validate only, append nothing
	jsonModeJSON                 // append the compact rendering
	jsonModeText                 // append the scalar rendering (strings unquoted and unescaped)
)

// jsonDecoder decodes one JSON document held in memory. The zero value is
// ready after reset. It is meant to be reused across rows so that its
// scratch buffer stops growing after the first few documents. After any
// error the decoder's position is unspecified and it must be reset.
type jsonDecoder struct {
	data  []byte
	pos   int
	depth int
	dirty bool
	// names is a stack of decoded member names that needed unescaping: each
	// object call decodes its names after the ones of the enclosing calls,
	// so a name handed to a callback stays intact while the callback
	// decodes nested objects.
	names []byte
}

// jsonSyntaxError describes why a document was rejected and where.
type jsonSyntaxError struct {
	msg string
	off int
}

// Error returns "json: <what> at offset <n>".
func (e *jsonSyntaxError) Error() string {
	return "json: " + e.msg + " at offset " + strconv.Itoa(e.off)
}

// jsonStrSafe marks the bytes that can be copied from a string literal
// verbatim in every rendering: printable ASCII except the quote and the
// backslash. Everything else needs a look (end, escape, control character,
// UTF-8 validation).
var jsonStrSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// jsonKeyByte maps a byte to its appendKey form, 0 meaning dropped.
var jsonKeyByte = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	return t
}()

const jsonHexDigits = "0123456789abcdef"

// reset starts decoding data, clearing the sanitized mark. The decoder keeps
// a reference to data until the next reset.
func (d *jsonDecoder) reset(data []byte) {
	d.data = data
	d.pos = 0
	d.depth = 0
	d.dirty = false
	d.names = d.names[:0]
}

// sanitized reports whether, since reset, a \u0000 was removed, a lone
// surrogate escape was replaced by U+FFFD, or invalid UTF-8 was replaced by
// U+FFFD in anything the decoder produced. Values consumed with skip never
// set it, because nothing of them reaches the output.
func (d *jsonDecoder) sanitized() bool { return d.dirty }

// skipWS advances past JSON white space. Every byte of white space is at
// most ' ', so the common case (a token right here) costs one comparison.
func (d *jsonDecoder) skipWS() {
	for d.pos < len(d.data) && d.data[d.pos] <= ' ' {
		if c := d.data[d.pos]; c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return
		}
		d.pos++
	}
}

// errAt returns the syntax error for the byte at off, or for the end of the
// input when off is past it. context says what the decoder was doing.
func (d *jsonDecoder) errAt(off int, context string) error {
	if off >= len(d.data) {
		return &jsonSyntaxError{"unexpected end of input " + context, len(d.data)}
	}
	return &jsonSyntaxError{"invalid character " + jsonQuoteChar(d.data[off]) + " " + context, off}
}

// jsonQuoteChar renders c for an error message; bytes that would garble the
// message are shown as hex escapes.
func jsonQuoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	default:
		return `'\x` + string([]byte{jsonHexDigits[c>>4], jsonHexDigits[c&0xf]}) + "'"
	}
}

// peek skips white space and reports the kind of the next value without
// consuming it. It looks only at the first byte (two for -Infinity), so a
// malformed value is reported by the call that consumes it. It returns an
// error at the end of the input or on a byte that cannot start a value.
func (d *jsonDecoder) peek() (jsonKind, error) {
	d.skipWS()
	if d.pos >= len(d.data) {
		return jsonNull, d.errAt(d.pos, "looking for beginning of value")
	}
	switch c := d.data[d.pos]; c {
	case '"':
		return jsonString, nil
	case '{':
		return jsonObject, nil
	case '[':
		return jsonArray, nil
	case 't', 'f':
		return jsonBool, nil
	case 'n', 'N', 'I':
		return jsonNull, nil
	case '-':
		if d.pos+1 < len(d.data) && d.data[d.pos+1] == 'I' {
			return jsonNull, nil
		}
		return jsonNumber, nil
	default:
		if c >= '0' && c <= '9' {
			return jsonNumber, nil
		}
		return jsonNull, d.errAt(d.pos, "looking for beginning of value")
	}
}

// value consumes the next value and appends its compact rendering to dst.
// On error dst may hold a partial rendering.
func (d *jsonDecoder) value(dst []byte) ([]byte, jsonKind, error) {
	return d.val(dst, jsonModeJSON)
}

// text consumes the next value and appends its scalar rendering to dst: a
// string as its decoded text (no quotes, no escaping), a number as written,
// true or false, an object or array as its compact rendering, and nothing
// for null, NaN and ±Infinity (kind jsonNull).
func (d *jsonDecoder) text(dst []byte) ([]byte, jsonKind, error) {
	return d.val(dst, jsonModeText)
}

// skip consumes and validates the next value, producing nothing.
func (d *jsonDecoder) skip() error {
	_, _, err := d.val(nil, jsonModeSkip)
	return err
}

// finish reports an error unless only white space remains.
func (d *jsonDecoder) finish() error {
	d.skipWS()
	if d.pos < len(d.data) {
		return d.errAt(d.pos, "after top-level value")
	}
	return nil
}

// object consumes an object, calling fn for each member in source order with
// the decoded member name. The name is valid only during the call and must
// not be modified. fn must consume exactly one value (value, text, object,
// array or skip); consuming none is an error. An error from fn is returned
// as is and leaves the decoder mid-document.
func (d *jsonDecoder) object(fn func(name []byte) error) error {
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return d.errAt(d.pos, "looking for beginning of object")
	}
	if d.depth >= maxJSONDepth {
		return &jsonSyntaxError{"nesting exceeds maximum depth " + strconv.Itoa(maxJSONDepth), d.pos}
	}
	d.depth++
	d.pos++
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return nil
	}
	mark := len(d.names)
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.errAt(d.pos, "looking for beginning of object key string")
		}
		name, err := d.name(mark)
		if err != nil {
			return err
		}
		d.skipWS()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.errAt(d.pos, "after object key")
		}
		d.pos++
		d.skipWS()
		before := d.pos
		if err := fn(name); err != nil {
			return err
		}
		if d.pos == before {
			return &jsonSyntaxError{"object member value not consumed by callback", before}
		}
		d.names = d.names[:mark]
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.errAt(d.pos, "after object key:value pair")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipWS()
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.errAt(d.pos, "after object key:value pair")
		}
	}
}

// name consumes the member name string at d.pos and returns its decoded
// text. A name without escapes or non-ASCII bytes (the usual case) is
// returned as a capacity-limited slice of the input; any other is decoded
// into d.names after mark.
func (d *jsonDecoder) name(mark int) ([]byte, error) {
	data := d.data
	i := jsonSafeRun(data, d.pos+1)
	if i < len(data) && data[i] == '"' {
		name := data[d.pos+1 : i : i]
		d.pos = i + 1
		return name, nil
	}
	names, err := d.str(d.names[:mark], jsonModeText)
	d.names = names
	return names[mark:len(names):len(names)], err
}

// array consumes an array, calling fn for each element; fn must consume
// exactly one value (consuming none is an error). An error from fn is
// returned as is and leaves the decoder mid-document.
func (d *jsonDecoder) array(fn func() error) error {
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != '[' {
		return d.errAt(d.pos, "looking for beginning of array")
	}
	if d.depth >= maxJSONDepth {
		return &jsonSyntaxError{"nesting exceeds maximum depth " + strconv.Itoa(maxJSONDepth), d.pos}
	}
	d.depth++
	d.pos++
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		before := d.pos
		if err := fn(); err != nil {
			return err
		}
		if d.pos == before {
			return &jsonSyntaxError{"array element not consumed by callback", before}
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.errAt(d.pos, "after array element")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipWS()
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.errAt(d.pos, "after array element")
		}
	}
}

// val consumes the next value, appending what mode asks for.
func (d *jsonDecoder) val(dst []byte, mode jsonMode) ([]byte, jsonKind, error) {
	d.skipWS()
	data := d.data
	if d.pos >= len(data) {
		return dst, jsonNull, d.errAt(d.pos, "looking for beginning of value")
	}
	var err error
	switch c := data[d.pos]; c {
	case '"':
		if mode == jsonModeJSON {
			dst = append(dst, '"')
			dst, err = d.str(dst, mode)
			return append(dst, '"'), jsonString, err
		}
		dst, err = d.str(dst, mode)
		return dst, jsonString, err
	case '{':
		if mode == jsonModeText {
			mode = jsonModeJSON
		}
		dst, err = d.compositeObject(dst, mode)
		return dst, jsonObject, err
	case '[':
		if mode == jsonModeText {
			mode = jsonModeJSON
		}
		dst, err = d.compositeArray(dst, mode)
		return dst, jsonArray, err
	case 't':
		return d.lit(dst, mode, "true", "true", jsonBool)
	case 'f':
		return d.lit(dst, mode, "false", "false", jsonBool)
	case 'n':
		return d.lit(dst, mode, "null", "null", jsonNull)
	case 'N':
		return d.lit(dst, mode, "NaN", "null", jsonNull)
	case 'I':
		return d.lit(dst, mode, "Infinity", "null", jsonNull)
	case '-':
		if d.pos+1 < len(data) && data[d.pos+1] == 'I' {
			return d.lit(dst, mode, "-Infinity", "null", jsonNull)
		}
		dst, err = d.number(dst, mode)
		return dst, jsonNumber, err
	default:
		if c >= '0' && c <= '9' {
			dst, err = d.number(dst, mode)
			return dst, jsonNumber, err
		}
		return dst, jsonNull, d.errAt(d.pos, "looking for beginning of value")
	}
}

// lit consumes the literal token lit and appends out for it (nothing for a
// null in text mode).
func (d *jsonDecoder) lit(dst []byte, mode jsonMode, lit, out string, kind jsonKind) ([]byte, jsonKind, error) {
	rest := d.data[d.pos:]
	if len(rest) < len(lit) || string(rest[:len(lit)]) != lit {
		for i := 0; i < len(lit); i++ {
			if i >= len(rest) || rest[i] != lit[i] {
				return dst, kind, d.errAt(d.pos+i, "in literal "+lit)
			}
		}
	}
	d.pos += len(lit)
	if mode == jsonModeJSON || (mode == jsonModeText && kind != jsonNull) {
		dst = append(dst, out...)
	}
	return dst, kind, nil
}

// number consumes a number per the RFC 8259 grammar and appends it as
// written.
func (d *jsonDecoder) number(dst []byte, mode jsonMode) ([]byte, error) {
	data := d.data
	start := d.pos
	i := start
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return dst, d.errAt(i, "in numeric literal")
	case data[i] == '0':
		i++
		if i < len(data) && data[i] >= '0' && data[i] <= '9' {
			return dst, &jsonSyntaxError{"leading zero in numeric literal", start}
		}
	case data[i] >= '1' && data[i] <= '9':
		i++
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return dst, d.errAt(i, "in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return dst, d.errAt(i, "after decimal point in numeric literal")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return dst, d.errAt(i, "in exponent of numeric literal")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	d.pos = i
	if mode != jsonModeSkip {
		dst = append(dst, data[start:i]...)
	}
	return dst, nil
}

// compositeObject consumes an object, appending its compact rendering
// unless mode is jsonModeSkip.
func (d *jsonDecoder) compositeObject(dst []byte, mode jsonMode) ([]byte, error) {
	if d.depth >= maxJSONDepth {
		return dst, &jsonSyntaxError{"nesting exceeds maximum depth " + strconv.Itoa(maxJSONDepth), d.pos}
	}
	d.depth++
	d.pos++
	emit := mode != jsonModeSkip
	if emit {
		dst = append(dst, '{')
	}
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		if emit {
			dst = append(dst, '}')
		}
		return dst, nil
	}
	var err error
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return dst, d.errAt(d.pos, "looking for beginning of object key string")
		}
		if emit {
			dst = append(dst, '"')
			if dst, err = d.str(dst, mode); err != nil {
				return dst, err
			}
			dst = append(dst, '"', ':')
		} else if dst, err = d.str(dst, mode); err != nil {
			return dst, err
		}
		d.skipWS()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return dst, d.errAt(d.pos, "after object key")
		}
		d.pos++
		if dst, _, err = d.val(dst, mode); err != nil {
			return dst, err
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return dst, d.errAt(d.pos, "after object key:value pair")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipWS()
			if emit {
				dst = append(dst, ',')
			}
		case '}':
			d.pos++
			d.depth--
			if emit {
				dst = append(dst, '}')
			}
			return dst, nil
		default:
			return dst, d.errAt(d.pos, "after object key:value pair")
		}
	}
}

// compositeArray consumes an array, appending its compact rendering unless
// mode is jsonModeSkip.
func (d *jsonDecoder) compositeArray(dst []byte, mode jsonMode) ([]byte, error) {
	if d.depth >= maxJSONDepth {
		return dst, &jsonSyntaxError{"nesting exceeds maximum depth " + strconv.Itoa(maxJSONDepth), d.pos}
	}
	d.depth++
	d.pos++
	emit := mode != jsonModeSkip
	if emit {
		dst = append(dst, '[')
	}
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		if emit {
			dst = append(dst, ']')
		}
		return dst, nil
	}
	var err error
	for {
		if dst, _, err = d.val(dst, mode); err != nil {
			return dst, err
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return dst, d.errAt(d.pos, "after array element")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			if emit {
				dst = append(dst, ',')
			}
		case ']':
			d.pos++
			d.depth--
			if emit {
				dst = append(dst, ']')
			}
			return dst, nil
		default:
			return dst, d.errAt(d.pos, "after array element")
		}
	}
}

// str consumes the string literal whose opening quote is at d.pos and
// appends its contents (without quotes): re-escaped per the contract in
// jsonModeJSON, decoded in jsonModeText, nothing in jsonModeSkip. Raw runs
// are copied with one append each: they cannot need escaping, since a raw
// quote ends the string, a raw backslash starts an escape and raw control
// characters are rejected.
func (d *jsonDecoder) str(dst []byte, mode jsonMode) ([]byte, error) {
	data := d.data
	i := d.pos + 1
	start := i
	emit := mode != jsonModeSkip
	for {
		i = jsonSafeRun(data, i)
		if i >= len(data) {
			return dst, d.errAt(i, "in string literal")
		}
		c := data[i]
		switch {
		case c == '"':
			if emit {
				dst = append(dst, data[start:i]...)
			}
			d.pos = i + 1
			return dst, nil
		case c == '\\':
			if emit {
				dst = append(dst, data[start:i]...)
			}
			var err error
			if dst, i, err = d.escape(dst, i, mode); err != nil {
				return dst, err
			}
			start = i
		case c < 0x20:
			return dst, d.errAt(i, "in string literal")
		default:
			if _, size := utf8.DecodeRune(data[i:]); size > 1 {
				i += size
				continue
			}
			// Invalid UTF-8: one U+FFFD per run of bad bytes, as
			// strings.ToValidUTF8 does. A bad byte is never ASCII, so the
			// run stops at the closing quote at the latest.
			if emit {
				dst = append(dst, data[start:i]...)
				dst = append(dst, "\uFFFD"...)
				d.dirty = true
			}
			i++
			for i < len(data) && data[i] >= utf8.RuneSelf {
				if _, size := utf8.DecodeRune(data[i:]); size > 1 {
					break
				}
				i++
			}
			start = i
		}
	}
}

// jsonSafeRun returns the index of the first byte at or after i that is not
// jsonStrSafe, or len(data). It tests eight bytes at a time: string
// contents are most of a document's bytes.
func jsonSafeRun(data []byte, i int) int {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	for i+8 <= len(data) {
		x := binary.LittleEndian.Uint64(data[i:])
		// A byte's high bit ends up set if the byte has it (non-ASCII) or,
		// for ASCII bytes, if it is below 0x20 or equal to '"' or '\\'
		// (the subtraction borrows). Borrows only start at such a byte
		// and travel upwards, so the lowest flagged byte is a true one.
		m := (x | (x - 0x20*lo) | ((x ^ '"'*lo) - lo) | ((x ^ '\\'*lo) - lo)) & hi
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(data) && jsonStrSafe[data[i]] {
		i++
	}
	return i
}

// escape decodes the escape sequence whose backslash is at i, appends it
// per mode and returns the index after it.
func (d *jsonDecoder) escape(dst []byte, i int, mode jsonMode) ([]byte, int, error) {
	data := d.data
	if i+1 >= len(data) {
		return dst, i, d.errAt(i+1, "in string escape code")
	}
	var r rune
	switch c := data[i+1]; c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		var bad int
		if r, bad = jsonHex4(data, i+2); bad >= 0 {
			return dst, i, d.errAt(bad, "in \\u hexadecimal character escape")
		}
		i += 6
		switch {
		case r == 0:
			// NUL has no place in PostgreSQL text or jsonb, so it is
			// dropped rather than rendered as \u0000.
			if mode != jsonModeSkip {
				d.dirty = true
			}
			return dst, i, nil
		case r >= 0xD800 && r < 0xDC00:
			if i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
				if lo, bad := jsonHex4(data, i+2); bad < 0 && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
					break
				}
			}
			// A lone high surrogate has no UTF-8 form. Whatever follows
			// is decoded on its own, even another \u escape.
			r = utf8.RuneError
			if mode != jsonModeSkip {
				d.dirty = true
			}
		case r >= 0xDC00 && r < 0xE000:
			r = utf8.RuneError
			if mode != jsonModeSkip {
				d.dirty = true
			}
		}
		return jsonAppendRune(dst, r, mode), i, nil
	default:
		return dst, i, d.errAt(i+1, "in string escape code")
	}
	return jsonAppendRune(dst, r, mode), i + 2, nil
}

// jsonHex4 parses the four hex digits at data[i:]. It returns the offset of
// the first bad (or missing) digit, or -1 when all four are good.
func jsonHex4(data []byte, i int) (rune, int) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(data) {
			return 0, j
		}
		c := data[j]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, j
		}
	}
	return r, -1
}

// jsonAppendRune appends the decoded character r per mode.
func jsonAppendRune(dst []byte, r rune, mode jsonMode) []byte {
	switch mode {
	case jsonModeJSON:
		return jsonAppendEscaped(dst, r)
	case jsonModeText:
		if r < utf8.RuneSelf {
			return append(dst, byte(r))
		}
		return utf8.AppendRune(dst, r)
	}
	return dst
}

// jsonAppendEscaped appends r as it appears inside a compact JSON string:
// escaped only if JSON requires it, with the short escapes where they exist
// and lower-case hex otherwise, as Python's json.dumps does.
func jsonAppendEscaped(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	switch {
	case r < 0x20:
		return append(dst, '\\', 'u', '0', '0', jsonHexDigits[r>>4], jsonHexDigits[r&0xf])
	case r < utf8.RuneSelf:
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// appendJSONString appends s as a JSON string literal, quotes included,
// escaped per the compact rendering contract. Invalid UTF-8 in s is
// replaced by one U+FFFD per run of bad bytes so the result is always valid
// JSON; \u0000 is kept (as an escape) since s is text the caller chose.
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonStrSafe[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if _, size := utf8.DecodeRune(s[i:]); size > 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			for i < len(s) && s[i] >= utf8.RuneSelf {
				if _, size := utf8.DecodeRune(s[i:]); size > 1 {
					break
				}
				i++
			}
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = jsonAppendEscaped(dst, rune(c))
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendKey appends the matching key of a name (contract section 4's
// key()): lower-cased by Unicode's rules, as strings.ToLower does, then
// everything but a-z and 0-9 removed, so that "First Name", "first_name"
// and "firstName" all become "firstname", "clientİd" (dotted capital I:
// "i" and a combining dot) becomes "clientid" and a Kelvin sign counts as
// "k". Other non-ASCII letters are removed, so "Crète" becomes "crte".
// ASCII names, nearly all of them, take no allocation.
func appendKey(dst []byte, name []byte) []byte {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return appendKeyUnicode(dst, name)
		}
	}
	for _, c := range name {
		if k := jsonKeyByte[c]; k != 0 {
			dst = append(dst, k)
		}
	}
	return dst
}

// appendKeyUnicode is appendKey for a name with non-ASCII characters:
// lower-casing first matters because a few capitals lower to ASCII.
func appendKeyUnicode(dst []byte, name []byte) []byte {
	lower := strings.ToLower(string(name))
	for i := 0; i < len(lower); i++ {
		if c := lower[i]; (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			dst = append(dst, c)
		}
	}
	return dst
}
