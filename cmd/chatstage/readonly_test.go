package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
)

// TestReadCommandsNeverMigrate: on a database chatstage never touched,
// the commands that read (status, rejects, report, ingest --dry-run)
// change nothing, the schema included, and say it is not migrated yet;
// only migrate, ingest and export create the schema.
func TestReadCommandsNeverMigrate(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t, "")
	conn := connect(t, url)
	file := writeSource(t, "night.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))
	// A database prepared for Citus holds the extension's own relations.
	relations := func() int64 {
		return queryInt(t, conn, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`)
	}
	before := relations()
	untouched := func(after string) {
		t.Helper()
		if n := relations(); n != before {
			t.Fatalf("%s created %d relations", after, n-before)
		}
		if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname IN ('staging', 'export', 'analytics')`); n != 0 {
			t.Fatalf("%s created the schemas", after)
		}
	}
	for _, tt := range []struct {
		args []string
		code int
		want string // on stderr, or on stdout for status
	}{
		{[]string{"status"}, exitOK, "no staging schema yet"},
		{[]string{"migrate", "status"}, exitOK, "pending"},
		{[]string{"rejects"}, exitFailure, "not migrated yet: run chatstage migrate"},
		{[]string{"rejects", "--format", "csv"}, exitFailure, "not migrated yet: run chatstage migrate"},
		{[]string{"report", "--out", t.TempDir()}, exitFailure, "not migrated yet: run chatstage migrate"},
		{[]string{"ingest", "--dry-run", file}, exitFailure, "not migrated yet: run chatstage migrate"},
	} {
		r := runCLI(t, url, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("chatstage %s: exit %d, stdout %q, stderr %q; want exit %d saying %q",
				strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.code, tt.want)
		}
		untouched("chatstage " + strings.Join(tt.args, " "))
	}

	// A dry run on a database with a migration pending says which.
	if r := runCLI(t, url, nil, "migrate"); r.code != exitOK {
		t.Fatalf("migrate: exit %d", r.code)
	}
	last := queryStrings(t, conn, `SELECT max(version_id)::text FROM goose_db_version`)[0]
	if _, err := conn.Exec(context.Background(), `DELETE FROM goose_db_version WHERE version_id = `+last); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, nil, "ingest", "--dry-run", file)
	if r.code != exitFailure || !strings.Contains(r.stderr, "is pending: run chatstage migrate") {
		t.Errorf("dry run with a migration pending: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM goose_db_version WHERE version_id = `+last); n != 0 {
		t.Error("the dry run applied the pending migration")
	}

	// The commands that write migrate.
	for _, args := range [][]string{{"ingest", file}, {"export", "--quiet", "--out", t.TempDir()}} {
		fresh := dbtest.EmptyURL(t, "")
		if r := runCLI(t, fresh, nil, args...); r.code != exitOK {
			t.Errorf("chatstage %s on a new database: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		if n := queryInt(t, connect(t, fresh), `SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'`); n != 1 {
			t.Errorf("chatstage %s did not migrate", strings.Join(args, " "))
		}
	}
}
