package etl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// The source is UTF-8 (contract section 1), but exports that went through
// Excel or an old Windows tool arrive in Windows-1252 or UTF-16. Read as
// UTF-8, every é of such a file becomes U+FFFD and the load succeeds: a
// silent corruption. OpenSource decodes a named encoding, and, when none
// is named, counts the bytes that are not UTF-8 so that Ingest can warn.
// golang.org/x/text does the decoding: it is the Go project's own, and
// its charmaps are generated from the WHATWG and Unicode tables.

// encodings are the encodings EncodingByName knows, by their names.
var encodings = map[string]encoding.Encoding{
	"utf-8":        nil,
	"utf8":         nil,
	"windows-1252": charmap.Windows1252,
	"cp1252":       charmap.Windows1252,
	"latin1":       charmap.ISO8859_1,
	"iso-8859-1":   charmap.ISO8859_1,
	// A byte-order mark, when the file has one, says which UTF-16 it is
	// and is not part of the text; without one, little-endian, as Windows
	// writes it.
	"utf-16":   unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	"utf-16le": unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	"utf-16be": unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
}

// EncodingNames lists the names EncodingByName takes, for a usage text.
const EncodingNames = "utf-8, windows-1252 (cp1252), latin1 (iso-8859-1), utf-16 (utf-16le, utf-16be)"

// EncodingByName returns the encoding of a source file named as ingest
// --encoding takes it (case-insensitive); nil for UTF-8, which needs no
// decoding.
func EncodingByName(name string) (encoding.Encoding, error) {
	enc, ok := encodings[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("unknown encoding %q: want %s", name, EncodingNames)
	}
	return enc, nil
}

// UTF8Stats count what a Source's content held, read as UTF-8.
type UTF8Stats struct {
	Bytes    int64 // of the content (after gunzip)
	Runes    int64 // valid characters outside ASCII
	Invalid  int64 // bytes that are not UTF-8: each is one U+FFFD where the contract sanitizes
	NULBytes int64
}

// Suspect says whether the content looks like another encoding than
// UTF-8, and which: most of its non-ASCII characters are not UTF-8
// ("windows-1252", whose letters latin1 shares), or a tenth of its bytes
// are NUL ("utf-16"). A stray bad byte among valid characters is no
// suspect: the contract's sanitizing is for those.
func (s UTF8Stats) Suspect() (likely string, ok bool) {
	switch {
	case s.Bytes > 0 && s.NULBytes*10 >= s.Bytes:
		return "utf-16", true
	case s.Invalid > 0 && s.Invalid >= s.Runes:
		return "windows-1252", true
	}
	return "", false
}

// Share is the invalid bytes' share of the non-ASCII characters, in percent.
func (s UTF8Stats) Share() float64 {
	if s.Invalid+s.Runes == 0 {
		return 0
	}
	return float64(s.Invalid) * 100 / float64(s.Invalid+s.Runes)
}

// utf8Counter counts the UTF8Stats of what is read through it. A
// character cut between two reads is completed with the next one.
type utf8Counter struct {
	r       io.Reader
	pending [utf8.UTFMax]byte
	np      int
	st      UTF8Stats
}

func (c *utf8Counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.count(p[:n])
	return n, err
}

// stats returns the counts so far; the bytes of a character still cut at
// the end are invalid.
func (c *utf8Counter) stats() UTF8Stats {
	st := c.st
	st.Invalid += int64(c.np)
	return st
}

func (c *utf8Counter) count(b []byte) {
	c.st.Bytes += int64(len(b))
	if c.np > 0 {
		// Finish the character the previous read cut: at most UTFMax
		// bytes of b can belong to it.
		var tmp [2 * utf8.UTFMax]byte
		k := copy(tmp[:], c.pending[:c.np])
		m := copy(tmp[k:], b)
		off := 0
		for off < c.np {
			if !utf8.FullRune(tmp[off : k+m]) {
				c.np = copy(c.pending[:], tmp[off:k+m])
				return // b was shorter than the rest of the character
			}
			r, size := utf8.DecodeRune(tmp[off : k+m])
			c.tally(r, size)
			off += size
		}
		b = b[off-c.np:]
		c.np = 0
	}
	for len(b) > 0 {
		if i := asciiPrefix(b); i > 0 {
			c.st.NULBytes += int64(bytes.Count(b[:i], nul))
			b = b[i:]
			continue
		}
		if !utf8.FullRune(b) {
			c.np = copy(c.pending[:], b)
			return
		}
		r, size := utf8.DecodeRune(b)
		c.tally(r, size)
		b = b[size:]
	}
}

func (c *utf8Counter) tally(r rune, size int) {
	switch {
	case r == utf8.RuneError && size == 1:
		c.st.Invalid++
	case size > 1:
		c.st.Runes++
	}
}

var nul = []byte{0}

// asciiPrefix returns how many bytes at the start of b are ASCII, eight
// at a time: source files are mostly ASCII (their JSON escapes the rest),
// so counting costs little next to reading the CSV.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b) && b[i] < utf8.RuneSelf; i++ {
	}
	return i
}
