package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// udtNames maps the declarations' SQL types to information_schema's
// udt_name.
var udtNames = map[string]string{
	"text": "text", "timestamptz": "timestamptz", "boolean": "bool", "bigint": "int8",
	"integer": "int4", "jsonb": "jsonb", "bytea": "bytea", "text[]": "_text",
}

// declared renders a table's declared columns as "name type" lines, the
// type as information_schema names it.
func declared(t *testing.T, table string) []string {
	t.Helper()
	var out []string
	for _, c := range store.DeclaredColumns()[table] {
		name, typ, _ := strings.Cut(c, " ")
		base := strings.Fields(strings.ReplaceAll(typ, ` COLLATE "C"`, ""))[0]
		udt, ok := udtNames[base]
		if !ok {
			t.Fatalf("%s.%s: no udt name for %q", table, name, typ)
		}
		out = append(out, name+" "+udt)
	}
	if len(out) == 0 {
		t.Fatalf("no declaration of %s", table)
	}
	return out
}

// TestColumnsMatchTheSchema: each table a load writes by COPY is declared
// once in Go (columns.go); the declarations must list the migrated
// tables' columns, in order, with their types, so that a migration and a
// declaration cannot drift apart. The landing tables, which Migrate makes
// from their declarations (schema chatstage_load), are checked the same
// way.
func TestColumnsMatchTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	actual := func(schema, name string) []string {
		rows, err := conn.Query(ctx, `SELECT column_name || ' ' || udt_name FROM information_schema.columns
		      WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(schema, name string, want []string) {
		t.Helper()
		got := actual(schema, name)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s.%s: the schema has\n  %s\nthe declaration says\n  %s", schema, name,
				strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	check("staging", "chat_versions", declared(t, "staging.chat_versions"))
	check("staging", "messages", declared(t, "staging.messages"))
	// staging.chats has columns no load writes by COPY only if a migration
	// added them: then the declaration must say so.
	check("staging", "chats", declared(t, "staging.chats"))
	check("chatstage_load", "incoming", declared(t, "incoming"))
	check("chatstage_load", "incoming_messages", declared(t, "incoming_messages"))
	check("chatstage_load", "incoming_keys", declared(t, "incoming_keys"))
	check("chatstage_load", "known_first", declared(t, "known_first"))
	check("chatstage_load", "incoming_rejects", declared(t, "incoming_rejects"))
}
