package etl

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/charmap"
)

func TestEncodingByName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"utf-8", "UTF8", "windows-1252", "CP1252", "latin1", "ISO-8859-1", "utf-16", "utf-16le", "utf-16be", " utf-16 "} {
		if _, err := EncodingByName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	if enc, _ := EncodingByName("utf-8"); enc != nil {
		t.Error("utf-8 needs no decoding")
	}
	if _, err := EncodingByName("ebcdic"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("an unknown encoding: %v, want an error listing the known ones", err)
	}
}

// TestUTF8Stats: the counts are the same whatever the reads' sizes (a
// character cut between reads is completed), and Suspect names the
// encoding a file of Windows-1252 or UTF-16 looks like, and no encoding
// for UTF-8 with a stray bad byte.
func TestUTF8Stats(t *testing.T) {
	t.Parallel()
	french := "chat_id,slug\nC-1,café crème à l'hôtel, « déjà vu » – 5 €\n"
	cp1252, err := charmap.Windows1252.NewEncoder().String(french)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		want    UTF8Stats
		suspect string
	}{
		{"ascii", "chat_id\nC-1\n", UTF8Stats{Bytes: 12}, ""},
		{"utf-8", french, UTF8Stats{Bytes: int64(len(french)), Runes: 10}, ""},
		{"utf-8 and a stray byte", french + "\xff", UTF8Stats{Bytes: int64(len(french)) + 1, Runes: 10, Invalid: 1}, ""},
		{"windows-1252", cp1252, UTF8Stats{Bytes: int64(len(cp1252)), Invalid: 10}, "windows-1252"},
		{"one latin1 byte", "chat_id\nJos\xe9\n", UTF8Stats{Bytes: 13, Invalid: 1}, "windows-1252"},
		{"utf-16", string(utf16Bytes("chat_id\nC-1\n", false, false)), UTF8Stats{Bytes: 24, NULBytes: 12}, "utf-16"},
		{"cut at the end", "ab\xe2\x82", UTF8Stats{Bytes: 4, Invalid: 2}, "windows-1252"},
	}
	for _, tt := range tests {
		for _, r := range []io.Reader{strings.NewReader(tt.text), iotest.OneByteReader(strings.NewReader(tt.text)),
			iotest.HalfReader(strings.NewReader(tt.text))} {
			c := &utf8Counter{r: r}
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatal(err)
			}
			got := c.stats()
			if got != tt.want {
				t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
			}
			if s, ok := got.Suspect(); s != tt.suspect || ok != (tt.suspect != "") {
				t.Errorf("%s: suspect %q %v, want %q", tt.name, s, ok, tt.suspect)
			}
		}
	}
}

// TestOpenSourceDecodes: a named encoding is decoded into UTF-8, while the
// size and SHA-256 stay those of the bytes as stored.
func TestOpenSourceDecodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		encoding string
		stored   []byte
	}{
		{"windows-1252", []byte("chat_id,slug\nC-1,caf\xe9 \x80\n")},
		{"latin1", []byte("chat_id,slug\nC-1,caf\xe9 \xa4\n")},
		{"utf-16", utf16Bytes("chat_id,slug\nC-1,café €\n", false, true)},
		{"utf-16", utf16Bytes("chat_id,slug\nC-1,café €\n", true, true)},
		{"utf-16be", utf16Bytes("chat_id,slug\nC-1,café €\n", true, false)},
	} {
		want := "chat_id,slug\nC-1,café €\n"
		if tt.encoding == "latin1" {
			want = "chat_id,slug\nC-1,café ¤\n"
		}
		name := filepath.Join(dir, tt.encoding+".csv")
		if err := os.WriteFile(name, tt.stored, 0o600); err != nil {
			t.Fatal(err)
		}
		enc, err := EncodingByName(tt.encoding)
		if err != nil {
			t.Fatal(err)
		}
		src, err := OpenSource(name, nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(src)
		src.Close()
		sum := sha256.Sum256(tt.stored)
		if err != nil || string(got) != want || src.Size() != int64(len(tt.stored)) || !bytes.Equal(src.SHA256(), sum[:]) {
			t.Errorf("%s: read %q (%v), size %d; want %q, the stored size %d and digest", tt.encoding, got, err, src.Size(), want, len(tt.stored))
		}
		if src.UTF8() != (UTF8Stats{}) {
			t.Errorf("%s: counted UTF-8 of decoded content: %+v", tt.encoding, src.UTF8())
		}
	}
}
