package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The cases of issue 10: inputs shaped like real-world exports, and flags
// where users put them, that once lost data or did the opposite of what
// was asked.

// TestFlagsAfterArguments: every command reads its flags wherever they
// stand; "--" ends them. "ingest FILE --dry-run" once loaded FILE for real
// and then failed on a file named --dry-run.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "night.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))

	r := runCLI(t, url, nil, "ingest", file, "--dry-run")
	if r.code != exitOK || !strings.Contains(r.stdout, "dry run, nothing written") {
		t.Fatalf("ingest FILE --dry-run: exit %d, stdout %q", r.code, r.stdout)
	}
	if got := stagingCounts(t, url); got["loads"]+got["chats"] != 0 {
		t.Fatalf("ingest FILE --dry-run wrote %v", got)
	}

	// The database URL after the file: with no URL in the environment the
	// file must still go to the database named on the command line.
	r = runCLI(t, "", nil, "ingest", file, "--json", "--database-url", url)
	if r.code != exitOK || !strings.Contains(r.stdout, `"load_id":1`) {
		t.Fatalf("ingest FILE --json --database-url URL: exit %d, stdout %q", r.code, r.stdout)
	}

	// "--" ends the flags: a file whose name starts with a dash.
	dir := t.TempDir()
	odd := filepath.Join(dir, "-odd-name.csv")
	if err := os.WriteFile(odd, []byte("chat_id,updated_at,conversation_log\nC-2,2025-07-01T08:05:00,[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) result {
		t.Helper()
		return runCLI(t, url, nil, args...)
	}
	// Relative to the test's directory, where no such file is: the error
	// names it as a file, not as an unknown flag.
	if r := cmd("ingest", "--json", "--", "-odd-name.csv"); r.code != exitFailure || !strings.Contains(r.stderr, "-odd-name.csv: no such file") {
		t.Errorf("ingest -- -odd-name.csv: exit %d, stderr %q; want it read as a file name", r.code, r.stderr)
	}
	if r := cmd("ingest", "--quiet", "--", odd); r.code != exitOK {
		t.Errorf("ingest --quiet -- %s: exit %d, stderr %q", odd, r.code, r.stderr)
	}

	out := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string // on stdout
	}{
		{[]string{"export", "--out", out, "--json"}, `"files"`},
		{[]string{"report", "--out", filepath.Join(out, "report"), "--json"}, `"chats":2`},
		{[]string{"status", "--limit", "1", "--json"}, `"load_id":2`},
		{[]string{"rejects", "--load", "1", "--format", "csv"}, "chat_id,slug"},
		{[]string{"migrate", "status", "--verbose"}, "applied"},
		{[]string{"version", "--help"}, ""},
	} {
		r := cmd(tt.args...)
		if r.code != exitOK || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("chatstage %s: exit %d, stdout %q; want 0 and %q", strings.Join(tt.args, " "), r.code, r.stdout, tt.want)
		}
	}
	// A flag after a positional argument is a flag, and a stray argument
	// after flags is still refused.
	for _, args := range [][]string{
		{"status", "extra", "--json"},
		{"export", "--out", out, "extra"},
		{"migrate", "up", "status", "--verbose"},
		{"rejects", "--load", "1", "x"},
	} {
		if r := cmd(args...); r.code != exitUsage {
			t.Errorf("chatstage %s: exit %d, want %d", strings.Join(args, " "), r.code, exitUsage)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		pos  []string
		dry  bool
		code int // when parsing fails
	}{
		{[]string{"a.csv", "--dry-run"}, []string{"a.csv"}, true, -1},
		{[]string{"--dry-run", "a.csv", "b.csv"}, []string{"a.csv", "b.csv"}, true, -1},
		{[]string{"a.csv", "-", "b.csv"}, []string{"a.csv", "-", "b.csv"}, false, -1},
		{[]string{"--", "-odd.csv", "--dry-run"}, []string{"-odd.csv", "--dry-run"}, false, -1},
		{[]string{"a.csv", "--dry-run", "--", "-odd.csv"}, []string{"a.csv", "-odd.csv"}, true, -1},
		{[]string{"a.csv", "-dry-run"}, []string{"a.csv"}, true, -1},
		{[]string{"a.csv", "--nope"}, nil, false, exitUsage},
		{[]string{"a.csv", "--help"}, nil, false, exitOK},
	}
	for _, tt := range tests {
		e := &env{stderr: new(bytes.Buffer)}
		cl := e.newCmdline("ingest", "ingest", "", true)
		dry := cl.fs.Bool("dry-run", false, "")
		pos, err := cl.parse(tt.args)
		if tt.code >= 0 {
			if code := e.exit(context.Background(), "ingest", err); err == nil || code != tt.code {
				t.Errorf("%q: err %v, exit %d, want exit %d", tt.args, err, code, tt.code)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(pos, tt.pos) || *dry != tt.dry {
			t.Errorf("%q: positional %q dry-run %v err %v, want %q %v", tt.args, pos, *dry, err, tt.pos, tt.dry)
		}
	}
}

// TestIngestChatIDTooLong: one chat_id of 3,000 random characters once
// failed the whole file on the primary key's index; it is now a reject
// and the other chats of the night load.
func TestIngestChatIDTooLong(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	long := strings.Repeat("ж", 1500) // 3,000 bytes
	file := writeSource(t, "night.csv",
		chatRow("C-1", "2025-07-01T08:05:00", "a"),
		chatRow(long, "2025-07-01T08:05:00", "b"),
		chatRow("C-2", "2025-07-01T08:05:00", "c"))
	loads, r := ingestJSON(t, url, file)
	if r.code != exitOK || len(loads) != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if l := loads[0]; l.RowsRead != 3 || l.RowsRejected != 1 || l.ChatsInserted != 2 {
		t.Errorf("load = %+v", l)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT reason_code || ' line ' || source_line FROM staging.rejects`)
	if want := []string{"chat_id_too_long line 3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rejects %v, want %v", got, want)
	}
}

// TestIngestPerChatCounts is the file: loaded twice, the second
// load once reported 2 updated and 1 stale although nothing was written.
// Counts are per chat (contract section 3).
func TestIngestPerChatCounts(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "p.csv")
	src := "chat_id,updated_at,conversation_log\n" +
		`P-1,2025-04-02T10:00:00,"[{""role"": ""user"", ""content"": ""one""}]"` + "\n" +
		`P-1,2025-04-02T10:00:00,"[{""role"": ""user"", ""content"": ""two""}]"` + "\n" +
		"P-2,2025-04-02T12:00:00,[]\n" +
		"P-2,2025-04-02T11:00:00,[]\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	type counts struct{ inserted, updated, unchanged, stale int64 }
	for i, want := range []counts{{2, 0, 0, 0}, {0, 0, 2, 0}} {
		// The dry run counts as the load then does.
		r := runCLI(t, url, nil, "ingest", "--dry-run", file)
		loads, _ := ingestJSON(t, url, file)
		l := loads[0]
		if got := (counts{l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale}); got != want {
			t.Errorf("load %d: chats %+v, want %+v", i+1, got, want)
		}
		if !strings.Contains(r.stdout, "chats "+itoa(want.inserted)+" inserted, "+itoa(want.updated)+" updated, "+
			itoa(want.unchanged)+" unchanged, "+itoa(want.stale)+" stale") {
			t.Errorf("dry run %d printed %q", i+1, r.stdout)
		}
	}
}

func itoa(n int64) string { return thousands(n) }

// TestIngestPerChatCountsAcrossPaths: a chat whose first row in the file
// is a version already kept (counted as the file streams) and that the
// file names again later is still counted once, by its state before and
// after the whole load.
func TestIngestPerChatCountsAcrossPaths(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	base := writeSource(t, "base.csv",
		chatRow("A", "2025-07-02T08:00:00", "a2"),
		chatRow("B", "2025-07-02T08:00:00", "b2"),
		chatRow("C", "2025-07-02T08:00:00", "c2"),
		chatRow("D", "2025-07-02T08:00:00", "d2"),
		chatRow("E", "2025-07-01T08:00:00", "e1"),
		chatRow("E", "2025-07-02T08:00:00", "e2"))
	if _, r := ingestJSON(t, url, base); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	night := writeSource(t, "night.csv",
		chatRow("A", "2025-07-02T08:00:00", "a2"),  // current, as it is
		chatRow("B", "2025-07-02T08:00:00", "b2"),  // current, as it is
		chatRow("C", "2025-07-02T08:00:00", "c2"),  // current, as it is
		chatRow("D", "2025-07-02T08:00:00", "d2"),  // current, as it is
		chatRow("E", "2025-07-01T08:00:00", "e1"),  // older, kept
		chatRow("A", "2025-07-01T08:00:00", "a1"),  // then an older one: A unchanged
		chatRow("B", "2025-07-02T08:00:00", "b2'"), // then other content: B updated
		chatRow("C", "2025-07-02T08:00:00", "c2'"),
		chatRow("C", "2025-07-02T08:00:00", "c2"), // and back: C unchanged
		chatRow("D", "2025-07-03T08:00:00", "d3"), // then newer: D updated
		chatRow("E", "2025-06-30T08:00:00", "e0"), // only older versions: E stale
		chatRow("F", "2025-07-01T08:00:00", "f1"), // new
		chatRow("F", "2025-07-02T08:00:00", "f2")) // and again: F inserted once
	loads, r := ingestJSON(t, url, night)
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	l := loads[0]
	if l.ChatsInserted != 1 || l.ChatsUpdated != 2 || l.ChatsUnchanged != 2 || l.ChatsStale != 1 {
		t.Errorf("chats %d inserted, %d updated, %d unchanged, %d stale; want 1, 2, 2, 1 (one per chat)",
			l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale)
	}
}

// TestIngestFailedLoadRecordsWhatItRead: a truncated .gz fails, and its
// load record keeps the size and SHA-256 of the bytes read.
func TestIngestFailedLoadRecordsWhatItRead(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("chat_id,updated_at,conversation_log\n" + strings.Repeat("C-1,2025-07-01T08:05:00,[]\n", 5000)))
	zw.Close()
	cut := buf.Bytes()[:buf.Len()/2]
	file := filepath.Join(t.TempDir(), "night.csv.gz")
	if err := os.WriteFile(file, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "ingest", file)
	if r.code != exitFailure {
		t.Fatalf("a truncated gzip: exit %d, want %d", r.code, exitFailure)
	}
	conn := connect(t, url)
	var status, sum string
	var size int64
	if err := conn.QueryRow(t.Context(), `SELECT status, size_bytes, sha256 FROM staging.loads`).Scan(&status, &size, &sum); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(cut)
	if status != "failed" || size != int64(len(cut)) || sum != hex.EncodeToString(want[:]) {
		t.Errorf("load record: %s, %d bytes, sha256 %s; want failed, %d bytes, %x", status, size, sum, len(cut), want)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM staging.chats`); n != 0 {
		t.Errorf("a failed load left %d chats", n)
	}
}

// TestIngestBareCRFileRefused: a file whose lines end in bare CRs once
// loaded 0 rows and "succeeded"; it is refused whole, saying why.
func TestIngestBareCRFileRefused(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := filepath.Join(t.TempDir(), "mac.csv")
	src := "chat_id,updated_at,conversation_log\rC-1,2025-07-01T08:05:00,[]\rC-2,2025-07-01T08:05:00,[]\r"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "ingest", file)
	if r.code != exitFailure || !strings.Contains(r.stderr, "bare CRs") || !strings.Contains(r.stderr, file) {
		t.Errorf("exit %d, stderr %q; want exit 1 naming the file and bare CRs", r.code, r.stderr)
	}
	if got := stagingCounts(t, url); got["loads"] != 0 {
		t.Errorf("a refused file wrote %v", got)
	}
}

// TestIngestOddFileNameAndHeader: a file name and a header with bytes that
// are not UTF-8 (a Latin-1 file system, an Excel header) once failed the
// load before it started; they are stored repaired.
func TestIngestOddFileNameAndHeader(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := filepath.Join(t.TempDir(), "caf\xe9.csv")
	if err := os.WriteFile(file, []byte("chat_id,updated_at,conversation_log,r\xe9gion\nC-1,2025-07-01T08:05:00,[],x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loads, r := ingestJSON(t, url, file)
	if r.code != exitOK || len(loads) != 1 || loads[0].ChatsInserted != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT source || ' | ' || header FROM staging.loads`)
	if want := []string{strings.ToValidUTF8(file, "\uFFFD") + " | chat_id,updated_at,conversation_log,r\uFFFDgion"}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestIngestCapsWithinWhatCanBeStored: caps that would let a field too
// large for the database through are refused as usage errors.
func TestIngestCapsWithinWhatCanBeStored(t *testing.T) {
	t.Parallel()
	file := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))
	for _, args := range [][]string{
		{"--max-field-bytes", "67108865"},
		{"--max-field-bytes", "0"},
		{"--max-messages", "10000001"},
		{"--max-messages", "-1"},
	} {
		r := runCLI(t, "postgres://nobody@127.0.0.1:1/none", nil, append(append([]string{"ingest"}, args...), file)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, args[0]) {
			t.Errorf("ingest %s: exit %d, stderr %q; want a usage error naming the flag", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

// TestMigrateRefusesANonUTF8Database: in a database of another encoding,
// one row's character would fail a whole load; migrate refuses it first.
func TestMigrateRefusesANonUTF8Database(t *testing.T) {
	t.Parallel()
	admin := connect(t, testURL(t))
	name := fmt.Sprintf("chatstage_test_latin1_%d", os.Getpid())
	if _, err := admin.Exec(t.Context(), `DROP DATABASE IF EXISTS `+name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(t.Context(), `CREATE DATABASE `+name+` ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	u := fmt.Sprintf("postgres://%s@%s:%d/%s", admin.Config().User, admin.Config().Host, admin.Config().Port, name)
	r := runCLI(t, u, nil, "migrate")
	if r.code != exitFailure || !strings.Contains(r.stderr, "LATIN1") || !strings.Contains(r.stderr, "UTF8") {
		t.Errorf("migrate of a LATIN1 database: exit %d, stderr %q", r.code, r.stderr)
	}
}
