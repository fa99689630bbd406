package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

func TestRejectsTableGolden(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "rejects")
	if r.code != exitOK {
		t.Fatalf("rejects: exit %d", r.code)
	}
	golden(t, "rejects.txt", r.stdout)

	r = runCLI(t, url, nil, "rejects", "--load", "2")
	if r.code != exitOK || strings.Contains(r.stdout, "chat_id_missing") || !strings.Contains(r.stdout, "malformed_csv") ||
		!strings.Contains(r.stdout, "1 reject in 1 load;") {
		t.Errorf("rejects --load 2: exit %d\n%s", r.code, r.stdout)
	}
}

func TestRejectsCSVGolden(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	if r.code != exitOK {
		t.Fatalf("rejects --format csv: exit %d", r.code)
	}
	golden(t, "rejects.csv", r.stdout)
}

// TestRejectsCSVReingest is the round trip the csv format is for: write
// the rejects out, fix them, ingest the fixed file, and every row loads.
func TestRejectsCSVReingest(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	if r.code != exitOK {
		t.Fatalf("rejects --format csv: exit %d", r.code)
	}
	fixed := strings.NewReplacer(
		"\n,s,t,17,", "\nC-9,s,t,17,", // chat_id_missing
		"gisteren", "2025-07-01T08:06:00Z", // updated_at_invalid
		"nl,,,\n", "nl,,,,0\n", // field_count: the missing message_count
		`s"x`, "s-x", // malformed_csv
	).Replace(r.stdout)
	path := filepath.Join(t.TempDir(), "fixed.csv")
	if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	loads, ir := ingestJSON(t, url, path)
	if ir.code != exitOK || len(loads) != 1 {
		t.Fatalf("ingest of the fixed rejects: exit %d", ir.code)
	}
	if l := loads[0]; l.RowsRead != 4 || l.RowsRejected != 0 || l.ChatsInserted != 4 {
		t.Errorf("fixed rejects loaded as %+v, want 4 rows, 0 rejected, 4 inserted", l)
	}
	conn := connect(t, url)
	// The record spanning two lines came back whole, its newline included.
	if got := queryStrings(t, conn, `SELECT slug FROM staging.chats WHERE chat_id = 'C-6'`); len(got) != 1 || got[0] != "multi\nline slug" {
		t.Errorf("C-6 slug = %q", got)
	}
	r = runCLI(t, url, nil, "rejects", "--load", "3")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "no open rejects") {
		t.Errorf("rejects of the fixed load: exit %d %q", r.code, r.stdout)
	}
	// Fixed, C-5 is kept by load 3: its reject is resolved. The others
	// cannot name their chat (no chat_id, another number of fields, not
	// well-formed CSV): they stay open until someone looks.
	open := runCLI(t, url, nil, "rejects")
	all := runCLI(t, url, nil, "rejects", "--all")
	if open.code != exitOK || strings.Contains(open.stdout, "C-5") || strings.Count(open.stdout, " open ") != 3 {
		t.Errorf("open rejects after the fix:\n%s", open.stdout)
	}
	if all.code != exitOK || !strings.Contains(all.stdout, "resolved by load 3") || strings.Count(all.stdout, "\n") != 6 {
		t.Errorf("rejects --all after the fix:\n%s", all.stdout)
	}
}

// TestRejectsCSVKeepsHeader: rejects come back under their own file's
// header (other column order, an unknown column), and that output read
// again gives the same rejects at the same lines.
func TestRejectsCSVKeepsHeader(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	header := "\ufeffupdated_at,Chat_ID,conversation_log,\"note, free text\""
	src := header + "\n" +
		"2025-07-01T08:00:00Z,C-1,[],ok\n" +
		"2025-07-01T08:00:00Z,,[],no id\n" +
		"later,C-2,[],bad time\n" +
		"2025-07-01T08:00:00Z,C-3,[]\n"
	path := filepath.Join(t.TempDir(), "odd.csv")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, r := ingestJSON(t, url, path); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	want := "updated_at,Chat_ID,conversation_log,\"note, free text\"\n" +
		"2025-07-01T08:00:00Z,,[],no id\n" +
		"later,C-2,[],bad time\n" +
		"2025-07-01T08:00:00Z,C-3,[]\n"
	if r.code != exitOK || r.stdout != want {
		t.Fatalf("rejects --format csv: exit %d\n got %q\nwant %q", r.code, r.stdout, want)
	}
	again := filepath.Join(t.TempDir(), "again.csv")
	if err := os.WriteFile(again, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	loads, ir := ingestJSON(t, url, again)
	if ir.code != exitOK || loads[0].RowsRejected != 3 || loads[0].RowsRead != 3 {
		t.Fatalf("re-ingest: exit %d %+v", ir.code, loads)
	}
	conn := connect(t, url)
	codes := func(load int) []string {
		return queryStrings(t, conn, `SELECT source_line || ' ' || reason_code FROM staging.rejects WHERE load_id = $1 ORDER BY source_line`, load)
	}
	// The same records rejected again stay the first load's open rejects,
	// seen twice: the second load adds none.
	first, second := codes(1), codes(2)
	if !reflect.DeepEqual(first, []string{"3 chat_id_missing", "4 updated_at_invalid", "5 field_count"}) || len(second) != 0 {
		t.Errorf("rejects: first load %q, re-ingested %q", first, second)
	}
	if got := queryStrings(t, conn, `SELECT DISTINCT repeats || '×, last load ' || last_load_id FROM staging.rejects`); !reflect.DeepEqual(got, []string{"2×, last load 2"}) {
		t.Errorf("repeats: %q", got)
	}
}

func TestRejectsCSVHeadersDiffer(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte("chat_id,updated_at,conversation_log\n,2025-07-01T08:00:00Z,[]\n"), 0o600)
	os.WriteFile(b, []byte("updated_at,chat_id,conversation_log\n2025-07-01T08:00:00Z,,[]\n"), 0o600)
	if _, r := ingestJSON(t, url, a, b); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, "loads 1 and 2: the rejects come from files with different headers") {
		t.Errorf("csv over two headers: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, url, nil, "rejects", "--format", "csv", "--load", "2")
	if r.code != exitOK || r.stdout != "updated_at,chat_id,conversation_log\n2025-07-01T08:00:00Z,,[]\n" {
		t.Errorf("csv of load 2: exit %d %q", r.code, r.stdout)
	}
}

// TestRejectsDefaultHeader: a load recorded before headers were kept is
// written under the contract's 13 columns.
func TestRejectsDefaultHeader(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `UPDATE staging.loads SET header = NULL`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "rejects", "--format", "csv", "--load", "1")
	wantHeader := "chat_id,slug,token,organization_id,conversation_log,structured_info,created_at,updated_at,language,is_test_chat,sentiment,resolution,message_count\n"
	if r.code != exitOK || !strings.HasPrefix(r.stdout, wantHeader) {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestRejectsUsage(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	if r := runCLI(t, url, nil, "rejects", "--load", "99"); r.code != exitFailure || !strings.Contains(r.stderr, "load 99: no such load") {
		t.Errorf("--load 99: exit %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, url, nil, "rejects", "--format", "xml"); r.code != exitUsage {
		t.Errorf("--format xml: exit %d", r.code)
	}
	if r := runCLI(t, url, nil, "rejects"); r.code != exitOK || !strings.HasPrefix(r.stdout, "no open rejects") {
		t.Errorf("no rejects: exit %d %q", r.code, r.stdout)
	}
	if r := runCLI(t, url, nil, "rejects", "--all"); r.code != exitOK || r.stdout != "no rejects\n" {
		t.Errorf("no rejects: exit %d %q", r.code, r.stdout)
	}
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	if r.code != exitOK || r.stdout != etl.DefaultHeader()+"\n" {
		t.Errorf("csv without rejects: exit %d %q", r.code, r.stdout)
	}
}

// stagingCounts counts the rows of every staging table.
func stagingCounts(t *testing.T, url string) map[string]int64 {
	t.Helper()
	conn := connect(t, url)
	out := map[string]int64{}
	for _, table := range []string{"loads", "chats", "chat_versions", "messages", "rejects"} {
		out[table] = queryInt(t, conn, "SELECT count(*) FROM staging."+table)
	}
	return out
}

// TestIngestDryRun: a dry run prints the counts the real load then gives,
// and the first rejects, and leaves the database as it was: no load
// record, no row in any table.
func TestIngestDryRun(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	r := runCLI(t, url, nil, "ingest", "--dry-run", goldenDay1)
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d", r.code)
	}
	want := goldenDay1 + ": dry run, nothing written: 7 rows read, 3 rejected; would write 4 new versions and 7 messages; chats 4 inserted, 0 updated, 0 unchanged, 0 stale\n" +
		"rejects:\n" +
		"  line 5: chat_id_missing: chat_id is empty\n" +
		"  line 6: updated_at_invalid: updated_at \"gisteren\" is not a timestamp\n" +
		"  line 7: field_count: has 12 fields, the header has 13\n"
	if r.stdout != want {
		t.Errorf("dry run printed\n%s\nwant\n%s", r.stdout, want)
	}
	empty := map[string]int64{"loads": 0, "chats": 0, "chat_versions": 0, "messages": 0, "rejects": 0}
	if got := stagingCounts(t, url); !reflect.DeepEqual(got, empty) {
		t.Errorf("after a dry run: %v, want nothing", got)
	}

	// On a database with data, a dry run of the next file gives the counts
	// its real load gives, and writes nothing.
	if loads, r := ingestJSON(t, url, goldenDay1); r.code != exitOK || loads[0].LoadID != 1 {
		t.Fatalf("ingest after a dry run: exit %d, %+v; want load 1: a dry run takes no load_id", r.code, loads)
	}
	before, beforeTuples := stagingCounts(t, url), tupleVersions(t, url)
	r = runCLI(t, url, nil, "ingest", "--dry-run", "--json", goldenDay2)
	var dry dryRun
	if err := json.Unmarshal([]byte(r.stdout), &dry); r.code != exitOK || err != nil {
		t.Fatalf("dry run --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if after := stagingCounts(t, url); !reflect.DeepEqual(before, after) {
		t.Errorf("the dry run changed the row counts: %v -> %v", before, after)
	}
	if afterTuples := tupleVersions(t, url); !reflect.DeepEqual(beforeTuples, afterTuples) {
		t.Error("the dry run wrote rows")
	}
	if strings.Contains(r.stderr, "succeeded") {
		t.Errorf("a dry run printed a load summary: %s", r.stderr)
	}
	loads, _ := ingestJSON(t, url, goldenDay2)
	loaded := loads[0]
	if !dry.DryRun || dry.Status != "dry_run" || dry.LoadID != 0 {
		t.Errorf("dry run = %+v", dry)
	}
	dry.LoadResult.LoadID, dry.LoadResult.Status = loaded.LoadID, loaded.Status
	if dry.LoadResult != loaded {
		t.Errorf("dry run counted %+v\nthe load counted %+v", dry.LoadResult, loaded)
	}
	if len(dry.FirstRejects) != 1 || dry.FirstRejects[0].Line != 5 || dry.FirstRejects[0].ReasonCode != "malformed_csv" {
		t.Errorf("first rejects = %+v", dry.FirstRejects)
	}
}

func TestPrintDryRunManyRejects(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printDryRun(&b, "f.csv", chatstage.LoadResult{LoadResult: store.LoadResult{RowsRead: 30, RowsRejected: 25},
		FirstRejects: []etl.Reject{{Line: 2, Code: "field_count", Reason: "has 1 field, the header has 13"}}}, false)
	if !strings.Contains(b.String(), "first 1 of 25 rejects:\n  line 2: field_count: has 1 field, the header has 13\n") {
		t.Errorf("got\n%s", b.String())
	}
}

// TestIngestDryRunBudget: a dry run says when the load would fail its
// reject budget, with the budget's exit code, and still writes nothing.
func TestIngestDryRunBudget(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	r := runCLI(t, url, nil, "ingest", "--dry-run", "--max-rejects", "10%", goldenDay1)
	if r.code != exitRejectBudget || !strings.Contains(r.stdout, "the load would fail: 3 of 7 rows rejected, over the budget of 10%") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if got := stagingCounts(t, url); got["loads"]+got["rejects"]+got["chats"] != 0 {
		t.Errorf("a dry run over budget wrote %v", got)
	}
}

// TestRejectsCSVLeavesOutCutRecords: a field_too_large reject keeps only
// the start of its record, so the csv leaves it out, with a warning,
// rather than write a broken record that would swallow the next ones.
func TestRejectsCSVLeavesOutCutRecords(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "caps.csv",
		chatRow("C-1", "2025-07-01T08:05:00Z", strings.Repeat("x", 300)), // line 2: field_too_large
		chatRow("", "2025-07-01T08:05:00Z", "short"),                     // line 3: chat_id_missing
	)
	if r := runCLI(t, url, nil, "ingest", "--max-field-bytes", "250", file); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	r := runCLI(t, url, nil, "rejects", "--format", "csv")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[1], ",s-,t-,17,") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "left out the rejects whose text was cut") || !strings.Contains(r.stderr, "load 1 line 2") {
		t.Errorf("no warning: %s", r.stderr)
	}
	if r := runCLI(t, url, nil, "rejects"); !strings.Contains(r.stdout, "field_too_large") {
		t.Errorf("the table lists every reject:\n%s", r.stdout)
	}
}
