package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// encodingSource is a source file whose text has letters outside ASCII in
// a plain column and in the JSON.
const encodingSource = "chat_id,slug,conversation_log,structured_info,updated_at\n" +
	`C-1,café crème,"[{""id"": ""m1"", ""role"": ""user"", ""content"": ""Grüße, déjà vu""}]","{""first_name"": ""Jérôme""}",2025-07-01T08:05:00` + "\n"

// TestIngestEncodings: an Excel file in Windows-1252 loads its é as é with
// --encoding windows-1252, and without it loads U+FFFD with a warning that
// names windows-1252; UTF-16 with a byte-order mark loads with --encoding
// utf-16. The load's size and SHA-256 are those of the file as stored.
func TestIngestEncodings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cp1252 := filepath.Join(dir, "excel.csv")
	win := strings.NewReplacer("é", "\xe9", "è", "\xe8", "ü", "\xfc", "ß", "\xdf", "à", "\xe0", "ô", "\xf4").Replace(encodingSource)
	if err := os.WriteFile(cp1252, []byte(win), 0o600); err != nil {
		t.Fatal(err)
	}
	var u16 []byte
	for _, u := range utf16.Encode([]rune("\uFEFF" + encodingSource)) {
		u16 = append(u16, byte(u), byte(u>>8))
	}
	utf16File := filepath.Join(dir, "utf16.csv")
	if err := os.WriteFile(utf16File, u16, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		file, encoding string
		stored         string
	}{
		{cp1252, "windows-1252", win},
		{utf16File, "utf-16", string(u16)},
	} {
		url := testURL(t)
		loads, r := ingestJSON(t, url, "--encoding", tt.encoding, tt.file)
		if r.code != exitOK || len(loads) != 1 || loads[0].RowsRejected != 0 {
			t.Fatalf("ingest --encoding %s: exit %d, %+v", tt.encoding, r.code, loads)
		}
		sum := sha256.Sum256([]byte(tt.stored))
		if l := loads[0]; l.SHA256 != hex.EncodeToString(sum[:]) || l.SizeBytes != int64(len(tt.stored)) {
			t.Errorf("%s: load size %d sha256 %s, want those of the stored bytes (%d)", tt.encoding, l.SizeBytes, l.SHA256, len(tt.stored))
		}
		if strings.Contains(r.stderr, "does not look like UTF-8") {
			t.Errorf("%s: warned though the encoding was named:\n%s", tt.encoding, r.stderr)
		}
		conn := connect(t, url)
		got := queryStrings(t, conn, `SELECT concat_ws('|', c.slug, c.facts->>'firstname', m.content)
			FROM staging.chats c JOIN staging.messages m USING (chat_id)`)
		if len(got) != 1 || got[0] != "café crème|Jérôme|Grüße, déjà vu" {
			t.Errorf("%s: stored %q", tt.encoding, got)
		}
	}

	// Without --encoding: loaded as the contract says (U+FFFD), exit 0,
	// and a warning that names the likely encoding and the flag.
	url := testURL(t)
	r := runCLI(t, url, nil, "ingest", cp1252)
	if r.code != exitOK || !strings.Contains(r.stderr, "does not look like UTF-8 but like windows-1252") ||
		!strings.Contains(r.stderr, "--encoding windows-1252") {
		t.Errorf("ingest without --encoding: exit %d, stderr %q; want 0 and a warning naming windows-1252", r.code, r.stderr)
	}
	if got := queryStrings(t, connect(t, url), `SELECT slug FROM staging.chats`); len(got) != 1 || got[0] != "caf\uFFFD cr\uFFFDme" {
		t.Errorf("without --encoding the slug is %q", got)
	}
	// A dry run warns too; UTF-8 does not.
	if r := runCLI(t, url, nil, "ingest", "--dry-run", cp1252); !strings.Contains(r.stderr, "like windows-1252") {
		t.Errorf("dry run: stderr %q", r.stderr)
	}
	if r := runCLI(t, url, nil, "ingest", writeSource(t, "utf8.csv")); strings.Contains(r.stderr, "UTF-8") {
		t.Errorf("a UTF-8 file: stderr %q", r.stderr)
	}
	if r := runCLI(t, url, nil, "ingest", "--encoding", "ebcdic", cp1252); r.code != exitUsage || !strings.Contains(r.stderr, "windows-1252") {
		t.Errorf("--encoding ebcdic: exit %d, stderr %q", r.code, r.stderr)
	}
}
