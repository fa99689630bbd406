package main

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
)

// Contract section 2: no value of one row may fail the whole load. These
// tests send rows built from the values PostgreSQL refuses or chokes on
// (docs/contract-notes.md lists them) through the whole path, etl and
// store, into a real database, and then through export and report, whose
// views cast and index those values again.

// hostileValues are field values each of which once failed, or could
// fail, a load, an index or a view's cast.
var hostileValues = []string{
	"",
	" ",
	"\x00",
	"a\x00b",
	"\xff\xfe\xfd",
	"caf\xe9",
	"\xed\xa0\x80", // a UTF-16 surrogate encoded as UTF-8: invalid
	"\uFFFE\uFFFF",
	"\u2028\u2029",
	"\r",
	"\r\n",
	"\n",
	`"`,
	`""`,
	`\.`,
	"=1+1",
	"\t",
	"\u00a0",
	"İ",
	"\u212A",
	"-1",
	"99999999999999999999999",
	"1e400",
	"NaN",
	"true",
	"yes",
	"0000-01-01T00:00:00",
	"0001-01-01T00:00:00+01:00",
	"9999-12-31T23:59:59-01:00",
	"9999-12-31T23:59:59.9999999Z",
	"2025-02-29T00:00:00",
	"2024-02-29T23:59:59.999999",
	"2025-07-01T08:00:00",
	"2025-07-01 08:00:00.5+0530",
	"yesterday",
	strings.Repeat("x", 511),
	strings.Repeat("x", 512),
	strings.Repeat("x", 513),
	strings.Repeat("é", 257),
	strings.Repeat("\x00", 600) + "z",
	strings.Repeat("ж", 1500), // 3,000 bytes: over a B-tree entry's limit
}

// hostileJSON are conversation_log and structured_info values: broken,
// deep, huge numbers, NUL and surrogate escapes, keys that clash.
var hostileJSON = []string{
	`[]`,
	`{}`,
	`null`,
	`[{"id": "a", "role": "user", "content": "h\u0000i"}]`,
	`[{"id": "\ud800", "role": "assistant", "type": "default", "content": "\udc00x"}]`,
	`[{"Id": "1", "id": "2", "ID": "3", "İd": "4", "content": 1e999}]`,
	`[{"content": -0.0e-0, "extra": {"a": [NaN, Infinity, -Infinity]}}]`,
	`[1, "x", null, [], {"role": "user"}]`,
	`[{"id": "` + strings.Repeat("é", 3000) + `"}]`,
	strings.Repeat("[", 1001) + strings.Repeat("]", 1001),
	strings.Repeat("[", 999) + strings.Repeat("]", 999),
	`[{"content": "\u0000\u0000"}, {"content": "\ud83d\ude00"}]`,
	`[{"role": "user", "content": "a"}`, // never closed
	`{"first_name": "\u0000", "pois": [1, 2.50, {"a": null}], "countries": "NL", "email": "\ud800@x"}`,
	`{"İd": "k", "clientİd": "c-1", "read only to\u212Aen": "t", "actions": 1e999999}`,
	`{"` + strings.Repeat("k", 5000) + `": "` + strings.Repeat("v", 5000) + `"}`,
	`{"a": "\u0000"}`,
	`{"a": 1, "a": 2}`,
	`[{"a": ` + strings.Repeat("9", 5000) + `}]`,
	"\xff[]",
	`{"x": "` + "\x01\x02\x1f" + `"}`,
}

// hostileFile writes a source file of n rows whose every field is drawn
// from the hostile values, with a sane chat_id and updated_at in most rows
// so that most rows are kept and reach the database.
func hostileFile(t testing.TB, rng *rand.Rand, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hostile.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	header := []string{"chat_id", "slug", "token", "organization_id", "conversation_log", "structured_info",
		"created_at", "updated_at", "language", "is_test_chat", "sentiment", "resolution", "message_count"}
	w.Write(header)
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	for i := range n {
		rec := make([]string, len(header))
		for j := range rec {
			rec[j] = pick(hostileValues)
		}
		if rng.IntN(4) > 0 {
			rec[0] = fmt.Sprintf("H-%d%s", rng.IntN(n/2+1), pick([]string{"", "", " ", "\x00", "\xff", "é"}))
		}
		if rng.IntN(4) > 0 {
			rec[7] = fmt.Sprintf("2025-07-%02dT%02d:00:00%s", 1+rng.IntN(28), rng.IntN(24), pick([]string{"", "Z", "+02:00", ".1234567"}))
		}
		rec[4] = pick(hostileJSON)
		rec[5] = pick(hostileJSON)
		if rng.IntN(50) == 0 {
			rec = rec[:5] // a wrong field count
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(100) == 0 {
			fmt.Fprintf(f, "H-%d,\"broken\"x,\n", i) // not well-formed
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileRowsNeverFailALoad is a property test: random files of
// hostile values load (exit 0), every record is kept or rejected and
// counted, and the views of export and report render every kept row.
func TestHostileRowsNeverFailALoad(t *testing.T) {
	t.Parallel()
	const files, rows = 6, 300
	url := testURL(t)
	conn := connect(t, url)
	for i := range files {
		rng := rand.New(rand.NewPCG(uint64(i), 10))
		file := hostileFile(t, rng, rows)
		loads, r := ingestJSON(t, url, file)
		if r.code != exitOK || len(loads) != 1 {
			t.Fatalf("file %d (seed %d): exit %d: %s", i, i, r.code, r.stderr)
		}
		l := loads[0]
		if l.RowsRead < rows {
			t.Errorf("file %d: %d rows read, want at least %d", i, l.RowsRead, rows)
		}
		kept := queryInt(t, conn, `SELECT count(*) FROM staging.chat_versions WHERE load_id = $1`, l.LoadID)
		rejected := queryInt(t, conn, `SELECT count(*) FROM staging.rejects WHERE load_id = $1`, l.LoadID)
		// Versions this load wrote: its new ones, and those of kept
		// versions that it gave other content.
		chats := l.ChatsInserted + l.ChatsUpdated + l.ChatsUnchanged + l.ChatsStale
		if rejected != l.RowsRejected || kept > l.RowsRead-l.RowsRejected || kept < l.VersionsNew ||
			chats > l.RowsRead-l.RowsRejected || (chats == 0) != (l.RowsRead == l.RowsRejected) {
			t.Errorf("file %d: %d rows read, %d rejected (%d stored), %d versions kept (%d new), %d chats",
				i, l.RowsRead, l.RowsRejected, rejected, kept, l.VersionsNew, chats)
		}
	}
	out := t.TempDir()
	if r := runCLI(t, url, nil, "export", "--out", out); r.code != exitOK {
		t.Fatalf("export of hostile rows: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, url, nil, "report", "--out", filepath.Join(out, "report")); r.code != exitOK {
		t.Fatalf("report of hostile rows: exit %d: %s", r.code, r.stderr)
	}
	if n := exportCSVRecords(t, filepath.Join(out, "chats.csv")) - 1; n != queryInt(t, conn, `SELECT count(*) FROM staging.chats`) {
		t.Errorf("chats.csv has %d rows, staging.chats %d", n, queryInt(t, conn, `SELECT count(*) FROM staging.chats`))
	}
}

// FuzzIngest loads arbitrary bytes as a source file into a real database:
// the load either refuses the file whole (a bad header, exit 1, nothing
// written) or succeeds; it never fails on a value of one row. Its seeds
// run with every go test; go test -fuzz FuzzIngest -fuzztime 60s ./cmd/chatstage
// explores further.
func FuzzIngest(f *testing.F) {
	header := "chat_id,slug,token,organization_id,conversation_log,structured_info,created_at,updated_at,language,is_test_chat,sentiment,resolution,message_count\n"
	f.Add([]byte(header + strings.Repeat("x", 3000) + ",,,,[],{},,2025-07-01T08:00:00,,,,,\n"))
	f.Add([]byte(header + "a\x00,\xff,,,\"[{\"\"id\"\": \"\"\\u0000\"\"}]\",\"{\"\"a\"\": \"\"\\ud800\"\"}\",0001-01-01T00:00:00+01:00,2025-07-01T08:00:00,,,,,99999999999999999999\n"))
	f.Add([]byte("chat_id,updated_at,conversation_log\nC-1,9999-12-31T23:59:59.9999999Z,[]\nC-2,2025-07-01T08:00:00," + strings.Repeat("[", 1001) + "\n"))
	f.Add([]byte("chat_id,updated_at,conversation_log\n\"a\"b,2025-07-01T08:00:00,[]\n"))
	url := dbtest.URL(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, url, nil, "ingest", "--quiet", p)
		switch {
		case r.code == exitOK:
		case r.code == exitFailure && strings.Contains(r.stderr, "refused, nothing written"):
		default:
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
}
