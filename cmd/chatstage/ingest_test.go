package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/store"
)

// tupleVersions identifies every physical row of the staging tables: if
// they are equal before and after a load, that load wrote nothing.
func tupleVersions(t *testing.T, url string) []string {
	conn := connect(t, url)
	var out []string
	for _, table := range []string{"staging.chats", "staging.chat_versions", "staging.messages"} {
		out = append(out, strings.Join(queryStrings(t, conn,
			// Sorted as text: on Citus each shard has its own ctids.
			"SELECT ctid::text || ':' || xmin::text FROM "+table+" ORDER BY 1"), ","))
	}
	return out
}

func TestIngestSharedSampleTwice(t *testing.T) {
	t.Parallel()
	sample := needShared(t, "data/source_chat_data.csv")
	url := testURL(t)
	loads, r := ingestJSON(t, url, sample)
	if r.code != exitOK || len(loads) != 1 {
		t.Fatalf("first ingest: exit %d, %d loads", r.code, len(loads))
	}
	first := loads[0]
	if first.Status != "succeeded" || first.RowsRead != 50 || first.ChatsInserted != 50 || first.VersionsNew != 50 ||
		first.MessagesWritten != 91 || first.RowsRejected != 0 || first.Source != sample || len(first.SHA256) != 64 {
		t.Errorf("first load = %+v", first)
	}
	before := tupleVersions(t, url)
	loads, r = ingestJSON(t, url, sample)
	if r.code != exitOK || len(loads) != 1 {
		t.Fatalf("second ingest: exit %d", r.code)
	}
	second := loads[0]
	want := store.LoadResult{LoadID: second.LoadID, Source: sample, Status: "succeeded", SizeBytes: first.SizeBytes,
		SHA256: first.SHA256, RowsRead: 50, ChatsUnchanged: 50}
	if second != want {
		t.Errorf("second load = %+v\nwant %+v", second, want)
	}
	if after := tupleVersions(t, url); !reflect.DeepEqual(before, after) {
		t.Error("re-loading the same file wrote rows")
	}
	if !strings.Contains(r.stderr, "50 unchanged") {
		t.Errorf("summary line missing: %s", r.stderr)
	}
}

func TestIngestStoresRejects(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "rejects.csv",
		chatRow("C-1", "2025-07-01T08:05:00", "ok"),                          // line 2
		chatRow("", "2025-07-01T08:05:00", "x"),                              // 3
		chatRow("C-2", "gisteren", "x"),                                      // 4
		chatRow("C-3", "", "x"),                                              // 5
		"C-4,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,",     // 6
		`C-5,s"t,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0`, // 7
		"", // 8: blank, skipped
		chatRow("C-6", "2025-07-01T08:05:00", "ok"), // 9
	)
	loads, r := ingestJSON(t, url, file)
	if r.code != exitOK {
		t.Fatalf("rejects are not fatal: exit %d", r.code)
	}
	l := loads[0]
	if l.RowsRead != 7 || l.RowsRejected != 5 || l.ChatsInserted != 2 {
		t.Errorf("load = %+v", l)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT source_line || ' ' || reason_code FROM staging.rejects WHERE load_id = $1 ORDER BY source_line`, l.LoadID)
	want := []string{"3 chat_id_missing", "4 updated_at_invalid", "5 updated_at_missing", "6 field_count", "7 malformed_csv"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rejects = %v, want %v", got, want)
	}
	raw := queryStrings(t, conn, `SELECT raw FROM staging.rejects WHERE source_line = 7`)
	if len(raw) != 1 || raw[0] != `C-5,s"t,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0` {
		t.Errorf("raw = %q", raw)
	}
	if n := queryInt(t, conn, `SELECT rows_rejected FROM staging.loads WHERE load_id = $1`, l.LoadID); n != 5 {
		t.Errorf("loads.rows_rejected = %d", n)
	}
}

func TestIngestRefusesBadFiles(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	dir := t.TempDir()
	noUpdated := filepath.Join(dir, "no_updated.csv")
	os.WriteFile(noUpdated, []byte("chat_id,conversation_log\nC-1,[]\n"), 0o600)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o600)
	twice := filepath.Join(dir, "twice.csv")
	os.WriteFile(twice, []byte("chat_id,updated_at,conversation_log,CHAT_ID\n"), 0o600)
	tsv := filepath.Join(dir, "tabs.tsv")
	os.WriteFile(tsv, []byte("chat_id\tupdated_at\tconversation_log\nC-1\t2025-07-01T08:05:00\t[]\n"), 0o600)
	semicolons := filepath.Join(dir, "excel.csv")
	os.WriteFile(semicolons, []byte("chat_id;updated_at;conversation_log\r\nC-1;2025-07-01T08:05:00;[]\r\n"), 0o600)
	utf16 := filepath.Join(dir, "utf16.csv")
	os.WriteFile(utf16, []byte("\xFF\xFEc\x00h\x00a\x00t\x00_\x00i\x00d\x00\n\x00"), 0o600)
	tests := []struct{ file, want string }{
		{noUpdated, "missing the required column updated_at"},
		{tsv, "the header looks tab-separated; chatstage reads comma-separated files"},
		{semicolons, "the header looks semicolon-separated; chatstage reads comma-separated files"},
		{utf16, "the file looks UTF-16 (it starts with the byte-order mark FF FE)"},
		{empty, "no header"},
		{twice, `named twice: "chat_id"`},
		{filepath.Join(dir, "absent.csv"), "no such file"},
	}
	for _, tt := range tests {
		r := runCLI(t, url, nil, "ingest", tt.file)
		if r.code != exitFailure || !strings.Contains(r.stderr, tt.file) || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("ingest %s: exit %d, stderr %q; want exit 1 naming the file and %q", tt.file, r.code, r.stderr, tt.want)
		}
	}
	conn := connect(t, url)
	for _, table := range []string{"loads", "chat_versions", "chats", "messages", "rejects"} {
		if n := queryInt(t, conn, "SELECT count(*) FROM staging."+table); n != 0 {
			t.Errorf("a refused file wrote %d rows to staging.%s", n, table)
		}
	}
}

func TestIngestStopsAtFirstFailedFile(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	good := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))
	good2 := writeSource(t, "b.csv", chatRow("C-2", "2025-07-01T08:05:00", "b"))
	loads, r := ingestJSON(t, url, good, "/nonexistent/x.csv", good2)
	if r.code != exitFailure || len(loads) != 1 {
		t.Fatalf("exit %d, %d loads; want 1 and one load", r.code, len(loads))
	}
	conn := connect(t, url)
	if got := queryStrings(t, conn, `SELECT chat_id FROM staging.chats`); !reflect.DeepEqual(got, []string{"C-1"}) {
		t.Errorf("chats = %v: the file before the failure stays, the one after is not loaded", got)
	}
	if r := runCLI(t, url, nil, "ingest"); r.code != exitUsage {
		t.Errorf("no file: exit %d, want %d", r.code, exitUsage)
	}
	if r := runCLI(t, url, nil, "ingest", "--no-such-flag", good); r.code != exitUsage {
		t.Errorf("bad flag: exit %d, want %d", r.code, exitUsage)
	}
}

func TestIngestHeaderOnlyFileIsAnEmptyLoad(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	loads, r := ingestJSON(t, url, writeSource(t, "h.csv"))
	if r.code != exitOK || len(loads) != 1 || loads[0].RowsRead != 0 || loads[0].Status != "succeeded" {
		t.Fatalf("exit %d loads %+v", r.code, loads)
	}
}

func TestIngestVersions(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	conn := connect(t, url)
	current := func() string {
		s := queryStrings(t, conn, `SELECT c.updated_at::text || ' ' || m.content FROM staging.chats c JOIN staging.messages m USING (chat_id) WHERE chat_id = 'C-1'`)
		return strings.Join(s, ";")
	}
	newer := writeSource(t, "newer.csv", chatRow("C-1", "2025-07-02T08:00:00", "newer"))
	older := writeSource(t, "older.csv", chatRow("C-1", "2025-07-01T08:00:00", "older"))

	loads, _ := ingestJSON(t, url, newer, older)
	if loads[1].ChatsStale != 1 || loads[1].VersionsNew != 1 || loads[1].MessagesWritten != 0 {
		t.Errorf("older load = %+v", loads[1])
	}
	if got := current(); got != "2025-07-02 08:00:00+00 newer" {
		t.Errorf("an older version replaced a newer one: %s", got)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM staging.chat_versions WHERE chat_id = 'C-1'`); n != 2 {
		t.Errorf("history keeps %d versions, want 2", n)
	}

	// The same version twice in one file: the later line wins; the chat
	// counts once (contract section 3: counts are per chat).
	twice := writeSource(t, "twice.csv",
		chatRow("C-1", "2025-07-03T08:00:00", "first"),
		chatRow("C-1", "2025-07-03T08:00:00", "second"))
	loads, _ = ingestJSON(t, url, twice)
	if l := loads[0]; l.ChatsUpdated != 1 || l.VersionsNew != 1 || l.MessagesWritten != 1 {
		t.Errorf("twice load = %+v", l)
	}
	if got := current(); got != "2025-07-03 08:00:00+00 second" {
		t.Errorf("current = %s, want the later line", got)
	}
	// The same version again in a later load with other content: the later load wins.
	again := writeSource(t, "again.csv", chatRow("C-1", "2025-07-03T08:00:00", "third"))
	loads, _ = ingestJSON(t, url, again)
	if l := loads[0]; l.ChatsUpdated != 1 || l.VersionsNew != 0 {
		t.Errorf("again load = %+v", l)
	}
	if got := current(); got != "2025-07-03 08:00:00+00 third" {
		t.Errorf("current = %s, want the later load", got)
	}
	hist := queryStrings(t, conn, `SELECT conversation_log FROM staging.chat_versions WHERE chat_id = 'C-1' AND updated_at = '2025-07-03T08:00:00Z'`)
	if len(hist) != 1 || !strings.Contains(hist[0], "third") {
		t.Errorf("history of the version = %v, want the later content", hist)
	}
	// A newer then an older version in the same file: the newer stays
	// current, and the new chat counts once, as inserted.
	mixed := writeSource(t, "mixed.csv",
		chatRow("C-2", "2025-07-05T08:00:00", "new"),
		chatRow("C-2", "2025-07-04T08:00:00", "old"))
	loads, _ = ingestJSON(t, url, mixed)
	if l := loads[0]; l.ChatsInserted != 1 || l.ChatsStale != 0 || l.VersionsNew != 2 {
		t.Errorf("mixed load = %+v", l)
	}
}

// nightlyFiles are three nights of one platform: new chats, updates, a
// stale re-export and a chat that changes every night.
func nightlyFiles(t *testing.T) []string {
	return []string{
		writeSource(t, "n1.csv",
			chatRow("A", "2025-07-01T08:00:00", "a1"),
			chatRow("B", "2025-07-01T08:00:00", "b1"),
			chatRow("C", "2025-07-01T09:00:00", "c1")),
		writeSource(t, "n2.csv",
			chatRow("A", "2025-07-02T08:00:00", "a2"),
			chatRow("B", "2025-07-01T08:00:00", "b1"),
			chatRow("D", "2025-07-02T08:00:00", "d1"),
			chatRow("C", "2025-07-01T09:00:00.5", "c2")),
		writeSource(t, "n3.csv",
			chatRow("A", "2025-07-03T08:00:00", "a3"),
			chatRow("A", "2025-07-01T08:00:00", "a1"),
			chatRow("E", "2025-07-03T08:00:00", "e1"),
			chatRow("D", "2025-07-03T08:00:00+02:00", "d2")),
	}
}

func TestIngestOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	files := nightlyFiles(t)
	orders := [][]string{
		files,
		{files[2], files[1], files[0]},
	}
	shuffled := append([]string(nil), files...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orders = append(orders, shuffled, []string{files[1], files[2], files[0]})
	var states []string
	for _, order := range orders {
		url := testURL(t)
		if _, r := ingestJSON(t, url, order...); r.code != exitOK {
			t.Fatalf("exit %d", r.code)
		}
		states = append(states, currentState(t, connect(t, url)))
	}
	for i := 1; i < len(states); i++ {
		if states[i] != states[0] {
			t.Errorf("order %v gives another current state:\n%s\nwant\n%s", orders[i], states[i], states[0])
		}
	}
	if !strings.Contains(states[0], "A|2025-07-03 08:00:00+00") || !strings.Contains(states[0], "D|2025-07-03 06:00:00+00") {
		t.Errorf("unexpected current state:\n%s", states[0])
	}
}

func TestIngestTimestamps(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "ts.csv",
		chatRow("Z", "2025-07-01T08:00:00Z", "x"),
		chatRow("N", "2025-07-01 08:00:00.1234567", "x"),
		chatRow("P", "2025-07-01T10:00:00+02:00", "x"),
		chatRow("M", "2025-07-01T06:30:00-0130", "x"))
	if _, r := ingestJSON(t, url, file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT chat_id || ' ' || to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM staging.chats ORDER BY chat_id`)
	want := []string{"M 2025-07-01 08:00:00.000000", "N 2025-07-01 08:00:00.123456", "P 2025-07-01 08:00:00.000000", "Z 2025-07-01 08:00:00.000000"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// --timezone says what a timestamp without zone means.
	url2 := testURL(t)
	if r := runCLI(t, url2, nil, "ingest", "--timezone", "Europe/Amsterdam", file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	conn2 := connect(t, url2)
	got = queryStrings(t, conn2, `SELECT chat_id || ' ' || to_char(updated_at AT TIME ZONE 'UTC', 'HH24:MI') FROM staging.chats ORDER BY chat_id`)
	want = []string{"M 08:00", "N 06:00", "P 08:00", "Z 08:00"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with --timezone: got %v, want %v", got, want)
	}
}

func TestIngestQualityFlagsStored(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "flags.csv",
		`C-1,s,t,17,"[1, {""id"": ""a""}]",{x},nooit,2025-07-01T08:05:00,nl,misschien,,,twee`,
		`C-2,s,t,17,,"{""a"": 1}",2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,5`,
		`C-3,s,t,17,[},{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,`)
	if _, r := ingestJSON(t, url, file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT chat_id || ' ' || array_to_string(quality_flags, ',') FROM staging.chat_versions ORDER BY chat_id`)
	want := []string{
		"C-1 created_at_invalid,message_invalid,structured_info_invalid,is_test_chat_invalid,message_count_invalid",
		"C-2 conversation_log_missing,message_count_mismatch",
		"C-3 conversation_log_invalid",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags\n got %v\nwant %v", got, want)
	}
}

func TestIngestStdinAndGzip(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	text := "chat_id,updated_at,conversation_log\nC-1,2025-07-01T08:00:00,[]\n"
	r := runCLI(t, url, strings.NewReader(text), "ingest", "-")
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("chat_id,updated_at,conversation_log\nC-2,2025-07-01T08:00:00,[]\n"))
	zw.Close()
	gz := filepath.Join(t.TempDir(), "x.csv.gz")
	os.WriteFile(gz, buf.Bytes(), 0o600)
	loads, r := ingestJSON(t, url, gz)
	if r.code != exitOK || loads[0].ChatsInserted != 1 || loads[0].SizeBytes != int64(buf.Len()) {
		t.Fatalf("gzip load = %+v", loads)
	}
	// A truncated gzip fails the load, and nothing of it is visible.
	trunc := filepath.Join(t.TempDir(), "t.csv.gz")
	os.WriteFile(trunc, buf.Bytes()[:buf.Len()-6], 0o600)
	loads, r = ingestJSON(t, url, trunc)
	if r.code != exitFailure || len(loads) != 1 || loads[0].Status != "failed" {
		t.Fatalf("truncated gzip: exit %d loads %+v", r.code, loads)
	}
	conn := connect(t, url)
	if got := queryStrings(t, conn, `SELECT status FROM staging.loads WHERE load_id = $1`, loads[0].LoadID); !reflect.DeepEqual(got, []string{"failed"}) {
		t.Errorf("load status = %v", got)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM staging.chats`); n != 2 {
		t.Errorf("%d chats, want the 2 of the good loads", n)
	}
}

func TestIngestRejectBudget(t *testing.T) {
	t.Parallel()
	file := writeSource(t, "budget.csv",
		chatRow("C-1", "2025-07-01T08:05:00", "ok"),
		chatRow("", "2025-07-01T08:05:00", "x"),
		chatRow("C-2", "gisteren", "x"),
		chatRow("C-3", "", "x"),
		chatRow("C-4", "2025-07-01T08:05:00", "ok"))
	for _, tt := range []struct {
		budget string
		code   int
	}{{"2", exitRejectBudget}, {"50%", exitRejectBudget}, {"3", exitOK}, {"60%", exitOK}, {"x", exitUsage}, {"101%", exitUsage}} {
		url := testURL(t)
		r := runCLI(t, url, nil, "ingest", "--max-rejects", tt.budget, file)
		if r.code != tt.code {
			t.Errorf("--max-rejects %s: exit %d, want %d", tt.budget, r.code, tt.code)
			continue
		}
		if tt.code != exitRejectBudget {
			continue
		}
		if !strings.Contains(r.stderr, "3 of 5 rows rejected, over the budget of "+tt.budget) {
			t.Errorf("stderr = %s", r.stderr)
		}
		conn := connect(t, url)
		if got := queryStrings(t, conn, `SELECT status FROM staging.loads`); !reflect.DeepEqual(got, []string{"failed"}) {
			t.Errorf("loads = %v", got)
		}
		if n := queryInt(t, conn, `SELECT count(*) FROM staging.rejects`); n != 3 {
			t.Errorf("%d rejects kept, want 3", n)
		}
		if n := queryInt(t, conn, `SELECT count(*) FROM staging.chat_versions`); n != 0 {
			t.Errorf("%d versions written by a load over budget", n)
		}
	}
}

// TestIngestDuplicatesAcrossBatches: a chat's rows far apart in a big file
// (in different batches) still apply in file order: the later line of the
// same version wins, an older version stays in history only; each chat
// counts once.
func TestIngestDuplicatesAcrossBatches(t *testing.T) {
	t.Parallel()
	rows := []string{
		chatRow("X", "2025-07-01T08:00:00", "first"),
		chatRow("Y", "2025-07-02T08:00:00", "y-new"),
	}
	for i := range 2000 {
		rows = append(rows, chatRow(fmt.Sprintf("F-%04d", i), "2025-07-01T08:00:00", "filler"))
	}
	rows = append(rows,
		chatRow("X", "2025-07-01T08:00:00", "second"),
		chatRow("Y", "2025-07-01T08:00:00", "y-old"))
	url := testURL(t)
	loads, r := ingestJSON(t, url, writeSource(t, "far.csv", rows...))
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	l := loads[0]
	if l.ChatsInserted != 2002 || l.ChatsUpdated != 0 || l.ChatsStale != 0 || l.VersionsNew != 2003 {
		t.Errorf("load = %+v", l)
	}
	conn := connect(t, url)
	got := queryStrings(t, conn, `SELECT chat_id || ' ' || content FROM staging.messages WHERE chat_id IN ('X', 'Y') ORDER BY chat_id`)
	if want := []string{"X second", "Y y-new"}; !reflect.DeepEqual(got, want) {
		t.Errorf("current messages %v, want %v", got, want)
	}
	hist := queryStrings(t, conn, `SELECT conversation_log FROM staging.chat_versions WHERE chat_id = 'X'`)
	if len(hist) != 1 || !strings.Contains(hist[0], "second") {
		t.Errorf("history of X = %v, want the later line", hist)
	}
}

// TestIngestAgainWithRepeatedChats: re-loading a file that has a chat
// several times counts each chat once: X (its older row first, the current
// version twice after it) and Y are unchanged, and nothing is written.
func TestIngestAgainWithRepeatedChats(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "rep.csv",
		chatRow("X", "2025-07-01T08:00:00", "old"),
		chatRow("Y", "2025-07-01T08:00:00", "y"),
		chatRow("X", "2025-07-02T08:00:00", "new"),
		chatRow("X", "2025-07-02T08:00:00", "new"))
	if _, r := ingestJSON(t, url, file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	before := tupleVersions(t, url)
	loads, r := ingestJSON(t, url, file)
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if l := loads[0]; l.ChatsUnchanged != 2 || l.ChatsStale != 0 || l.ChatsInserted+l.ChatsUpdated+l.VersionsNew+l.MessagesWritten != 0 {
		t.Errorf("second load = %+v", l)
	}
	if after := tupleVersions(t, url); !reflect.DeepEqual(before, after) {
		t.Error("re-loading wrote rows")
	}
}

// TestIngestKeepsUnchangedMessages: when a chat goes on (a newer version
// with one more message), its earlier messages are not rewritten.
func TestIngestKeepsUnchangedMessages(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	msgs := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`{""id"": ""m%d"", ""role"": ""user"", ""content"": ""bericht %d""}`, i, i))
		}
		return `"[` + strings.Join(parts, ", ") + `]"`
	}
	v1 := writeSource(t, "v1.csv", "C-1,s,t,17,"+msgs(2)+",{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,2")
	v2 := writeSource(t, "v2.csv", "C-1,s,t,17,"+msgs(3)+",{},2025-07-01T08:00:00,2025-07-02T08:05:00,nl,,,,3")
	if _, r := ingestJSON(t, url, v1); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	conn := connect(t, url)
	tuples := `SELECT ordinal || ':' || ctid::text || ':' || xmin::text FROM staging.messages ORDER BY ordinal`
	before := queryStrings(t, conn, tuples)
	loads, r := ingestJSON(t, url, v2)
	if r.code != exitOK || loads[0].ChatsUpdated != 1 || loads[0].MessagesWritten != 1 {
		t.Fatalf("exit %d, load %+v: want one chat updated and one message written", r.code, loads)
	}
	after := queryStrings(t, conn, tuples)
	if len(after) != 3 || !reflect.DeepEqual(after[:2], before) {
		t.Errorf("messages before %v, after %v: the first two must be the same tuples", before, after)
	}
}
