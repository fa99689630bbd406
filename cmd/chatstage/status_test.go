package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/store"
)

// The operator commands' golden files: the output of status, rejects and
// report on a fixed database. After a deliberate change, rewrite them with
//
//	go test ./cmd/chatstage -run 'Status|Rejects|Report' -update
//
// and review the diff before committing it.
const goldenDir = "testdata/golden"

// The fixed database: two nightly files with rejects, quality flags, an
// update, a stale row and an unchanged one.
var (
	goldenDay1 = filepath.Join(goldenDir, "input", "day1.csv")
	goldenDay2 = filepath.Join(goldenDir, "input", "day2.csv")
)

// -update is shared with the export tests; whoever comes first registers it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/ with what the code gives")
	}
}

func goldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/golden/name. On a mismatch it writes
// got beside it as name.got and says how to compare them.
func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if goldenUpdate() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) == got {
		os.Remove(path + ".got")
		return
	}
	if err := os.WriteFile(path+".got", []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Errorf("%s differs from the golden file; compare with: diff -u cmd/chatstage/%s cmd/chatstage/%s.got", name, path, path)
}

// goldenDatabase ingests the two golden files, one load each, and pins the
// loads' times so that every output is the same on every run.
func goldenDatabase(t *testing.T) string {
	t.Helper()
	url := testURL(t)
	for _, f := range []string{goldenDay1, goldenDay2} {
		if r := runCLI(t, url, nil, "ingest", "--quiet", f); r.code != exitOK {
			t.Fatalf("ingest %s: exit %d", f, r.code)
		}
	}
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `
		UPDATE staging.loads l SET started_at = v.started, finished_at = v.finished
		FROM (VALUES (1, timestamptz '2025-07-01 02:00:00+00', timestamptz '2025-07-01 02:00:01.5+00'),
		             (2, timestamptz '2025-07-02 02:00:00+00', timestamptz '2025-07-02 02:00:01.5+00')) v(load_id, started, finished)
		WHERE l.load_id = v.load_id`); err != nil {
		t.Fatal(err)
	}
	return url
}

// stableTarget replaces the test database's name, which is random.
func stableTarget(out, url string) string {
	st, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		return out
	}
	defer st.Close()
	return strings.ReplaceAll(out, st.Target(), "postgres@host:5432/chatstage")
}

func TestStatusGolden(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "status")
	if r.code != exitOK {
		t.Fatalf("status: exit %d", r.code)
	}
	golden(t, "status.txt", stableTarget(r.stdout, url))

	r = runCLI(t, url, nil, "status", "--limit", "1")
	if r.code != exitOK || !strings.Contains(r.stdout, "(the 1 most recent of 2 loads; --limit 0 lists all)") {
		t.Errorf("status --limit 1: exit %d\n%s", r.code, r.stdout)
	}
}

func TestStatusJSONGolden(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "status", "--json")
	if r.code != exitOK {
		t.Fatalf("status --json: exit %d", r.code)
	}
	var out statusOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("status --json is not one JSON object: %v\n%s", err, r.stdout)
	}
	if len(out.Loads) != 2 || out.Loads[0].LoadID != 2 || out.Totals.Chats != 5 || out.MigrationsPending != 0 {
		t.Errorf("status --json = %+v", out)
	}
	golden(t, "status.json", stableTarget(r.stdout, url))
}

// TestStatusUnmigrated: status never migrates, and says what is pending on
// a database chatstage never touched.
func TestStatusUnmigrated(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(),
		`DROP SCHEMA staging, export, analytics CASCADE; DROP TABLE goose_db_version`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "status")
	if r.code != exitOK {
		t.Fatalf("status: exit %d", r.code)
	}
	for _, want := range []string{"no staging schema yet", "migrations: 0 applied, ", "00001_staging.sql"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'`); n != 0 {
		t.Error("status migrated the database")
	}
}

func TestStatusEmpty(t *testing.T) {
	t.Parallel()
	r := runCLI(t, testURL(t), nil, "status")
	if r.code != exitOK || !strings.Contains(r.stdout, "no loads yet") ||
		!strings.Contains(r.stdout, "totals: 0 chats, 0 versions, 0 messages, 0 rejects (0 open), 0 loads") {
		t.Errorf("status on an empty database: exit %d\n%s", r.code, r.stdout)
	}
}

// TestStatusShowsFailedLoad: a failed load is listed with its error.
func TestStatusShowsFailedLoad(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `
		INSERT INTO staging.loads (source, status, error, finished_at)
		VALUES ('nightly.csv', 'failed', 'reading nightly.csv: unexpected EOF', clock_timestamp())`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "status")
	if !strings.Contains(r.stdout, "load 1 failed: reading nightly.csv: unexpected EOF") {
		t.Errorf("status does not show the failure:\n%s", r.stdout)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestHelpShowsExample: every command's --help has an example and exits 0.
func TestHelpShowsExample(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		r := runCLI(t, "", nil, c.name, "--help")
		if r.code != exitOK || !strings.Contains(r.stderr, "Example:\n  chatstage "+c.name) {
			t.Errorf("%s --help: exit %d\n%s", c.name, r.code, r.stderr)
		}
	}
}
