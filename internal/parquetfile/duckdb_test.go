package parquetfile

import (
	"slices"
	"testing"

	"github.com/chatstage/chatstage/internal/parquetfile/duckdbtest"
)

// The tests read every Parquet file back with DuckDB, a real consumer,
// through package duckdbtest (which says how to run them without DuckDB).

// duckRows reads file with DuckDB: its columns, its rows and read.mjs's
// output.
func duckRows(t testing.TB, file string) ([]duckdbtest.Column, [][]any, []byte) {
	t.Helper()
	return duckdbtest.Rows(t, file)
}

// duckMetadata reads file's Parquet metadata with DuckDB.
func duckMetadata(t testing.TB, file string) duckdbtest.Meta {
	t.Helper()
	return duckdbtest.Metadata(t, file)
}

// duckType is the DuckDB type a column of kind k must read as.
func duckType(k kind) string {
	switch k {
	case kindBool:
		return duckdbtest.TypeBool
	case kindTime:
		return duckdbtest.TypeTimestamp
	case kindList:
		return duckdbtest.TypeList
	}
	return duckdbtest.TypeString
}

// TestKindsAsIssued: the writer's column kinds are the types issue 16
// gives the columns, as duckdbtest (the expectation of every DuckDB
// comparison) has them.
func TestKindsAsIssued(t *testing.T) {
	t.Parallel()
	for _, d := range []Deliverable{Chats, Messages} {
		for _, c := range d.layout().columns {
			if got, want := duckType(c.kind), duckdbtest.TypeOf(c.name); got != want {
				t.Errorf("%s %q: the writer makes it %s, the issue %s", d, c.name, got, want)
			}
		}
	}
}

// expectRows is what DuckDB must read for the CSV of d (duckdbtest.ExpectRows).
func expectRows(t testing.TB, d Deliverable, src []byte) [][]any {
	t.Helper()
	header, rows := duckdbtest.ExpectRows(t, src)
	if !slices.Equal(header, d.Header()) {
		t.Fatalf("the CSV's header is not that of %s", d)
	}
	return rows
}

func expectList(t testing.TB, s string) []any { return duckdbtest.ExpectList(t, s) }

// show renders a value as read.mjs's JSON, for messages.
func show(v any) string { return duckdbtest.Show(v) }
