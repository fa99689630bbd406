package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"
)

// dataDictionary is the data dictionary docs/ keeps: what schema --format
// markdown prints for a freshly migrated database.
const dataDictionary = "../../docs/data-dictionary.md"

// The dbt sources.yml as dbt reads it: only what the test checks.
type dbtSources struct {
	Version int `yaml:"version"`
	Sources []struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Schema      string `yaml:"schema"`
		Tables      []struct {
			Name        string            `yaml:"name"`
			Description string            `yaml:"description"`
			Meta        map[string]string `yaml:"meta"`
			Columns     []struct {
				Name        string   `yaml:"name"`
				Description string   `yaml:"description"`
				DataType    string   `yaml:"data_type"`
				Quote       bool     `yaml:"quote"`
				DataTests   []string `yaml:"data_tests"`
			} `yaml:"columns"`
			DataTests []map[string]map[string]string `yaml:"data_tests"`
		} `yaml:"tables"`
	} `yaml:"sources"`
}

// TestSchemaDBT parses schema --format dbt with a YAML library and checks
// it against the catalog of the same database, read here by other
// queries: the three schemas as sources, every table and view, every
// column in order with its type, every description the COMMENT ON text,
// and unique/not_null tests on the keys. Then it runs every test the way
// dbt's built-in tests run, on the golden nights' data: none fails.
func TestSchemaDBT(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "schema", "--format", "dbt")
	if r.code != exitOK {
		t.Fatalf("schema --format dbt: exit %d", r.code)
	}
	var got dbtSources
	if err := yaml.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("the output is not YAML: %v\n%s", err, r.stdout)
	}
	conn := connect(t, url)

	if got.Version != 2 || len(got.Sources) != 3 {
		t.Fatalf("version %d, %d sources", got.Version, len(got.Sources))
	}
	tested := map[string][]string{} // relation -> tests seen, for the key checks below
	for i, src := range got.Sources {
		want := []string{"staging", "export", "analytics"}[i]
		if src.Name != want || src.Schema != want {
			t.Errorf("source %d is %q (schema %q), want %q", i, src.Name, src.Schema, want)
		}
		if c := comment(t, conn, `SELECT obj_description($1::regnamespace, 'pg_namespace')`, want); src.Description != c || c == "" {
			t.Errorf("source %s: description %q, the schema's comment %q", want, src.Description, c)
		}
		rels := queryStrings(t, conn, `
			SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') ORDER BY 1`, want)
		var names []string
		for _, tb := range src.Tables {
			names = append(names, tb.Name)
			rel := pgx.Identifier{want, tb.Name}.Sanitize()
			if c := comment(t, conn, `SELECT obj_description($1::regclass, 'pg_class')`, rel); tb.Description != c || c == "" {
				t.Errorf("%s: description %q, the comment %q", rel, tb.Description, c)
			}
			cols := queryStrings(t, conn, `
				SELECT concat_ws('|', attname, format_type(atttypid, atttypmod), coalesce(col_description(attrelid, attnum), ''))
				FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, rel)
			if len(cols) != len(tb.Columns) {
				t.Errorf("%s: %d columns, the view or table has %d", rel, len(tb.Columns), len(cols))
				continue
			}
			for k, c := range tb.Columns {
				if w := c.Name + "|" + c.DataType + "|" + c.Description; w != cols[k] {
					t.Errorf("%s column %d: %q, the catalog says %q", rel, k+1, w, cols[k])
				}
				if c.Quote == (strings.ToLower(c.Name) == c.Name && !strings.Contains(c.Name, " ")) {
					t.Errorf("%s.%q: quote %v", rel, c.Name, c.Quote)
				}
				for _, test := range c.DataTests {
					tested[want+"."+tb.Name] = append(tested[want+"."+tb.Name], test+" "+c.Name)
					checkDBTTest(t, conn, rel, test, pgx.Identifier{c.Name}.Sanitize())
				}
			}
			for _, test := range tb.DataTests {
				for name, args := range test {
					tested[want+"."+tb.Name] = append(tested[want+"."+tb.Name], name+" "+args["column_name"])
					checkDBTTest(t, conn, rel, name, args["column_name"])
				}
			}
			if kind := map[bool]string{true: "view", false: "table"}[want != "staging"]; tb.Meta["relation"] != kind {
				t.Errorf("%s: meta %v, want relation %s", rel, tb.Meta, kind)
			}
		}
		if !slices.Equal(names, rels) {
			t.Errorf("source %s: tables %q, the schema has %q", want, names, rels)
		}
	}
	for rel, want := range map[string][]string{
		"staging.loads":           {"unique load_id", "not_null load_id"},
		"staging.chats":           {"unique chat_id", "not_null chat_id"},
		"staging.chat_versions":   {"not_null chat_id", "not_null updated_at", "unique (chat_id, updated_at)"},
		"staging.messages":        {"not_null chat_id", "not_null ordinal", "unique (chat_id, ordinal)"},
		"staging.rejects":         {"not_null load_id", "not_null source_line", "unique (load_id, source_line)"},
		"export.chats":            {"unique chatId", "not_null chatId"},
		"export.messages":         {"not_null chatId", "not_null sk messageId", `unique ("chatId", "sk messageId")`},
		"analytics.chat_metrics":  {"unique chat_id", "not_null chat_id"},
		"analytics.load_quality":  {"unique load_id", "not_null load_id"},
		"analytics.daily_quality": {"unique day", "not_null day"},
	} {
		if !slices.Equal(tested[rel], want) {
			t.Errorf("%s: tests %q, want %q", rel, tested[rel], want)
		}
		// The golden nights fill every one of these: a key test on an
		// empty relation would prove nothing.
		if queryInt(t, conn, `SELECT count(*) FROM `+pgx.Identifier(strings.Split(rel, ".")).Sanitize()) == 0 {
			t.Errorf("%s is empty: the tests of its key prove nothing", rel)
		}
	}
}

// checkDBTTest runs dbt's built-in test on rel as dbt compiles it: unique
// finds the values held twice, not_null the nulls; either must find none.
func checkDBTTest(t *testing.T, conn *pgx.Conn, rel, test, column string) {
	t.Helper()
	var q string
	switch test {
	case "unique":
		q = fmt.Sprintf(`SELECT count(*) FROM (SELECT %[1]s AS unique_field, count(*) AS n_records FROM %[2]s
			WHERE %[1]s IS NOT NULL GROUP BY %[1]s HAVING count(*) > 1) AS failures`, column, rel)
	case "not_null":
		q = fmt.Sprintf(`SELECT count(*) FROM %[2]s WHERE %[1]s IS NULL`, column, rel)
	default:
		t.Errorf("%s: unknown test %q", rel, test)
		return
	}
	if n := queryInt(t, conn, q); n != 0 {
		t.Errorf("dbt test %s of %s on %s fails %d times", test, column, rel, n)
	}
}

func comment(t *testing.T, conn *pgx.Conn, q, arg string) string {
	t.Helper()
	var c *string
	if err := conn.QueryRow(context.Background(), q, arg).Scan(&c); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if c == nil {
		return ""
	}
	return strings.Join(strings.Fields(*c), " ")
}

// TestDataDictionary: docs/data-dictionary.md is what schema --format
// markdown prints for a freshly migrated database. After a migration,
// rewrite it with
//
//	go test ./cmd/chatstage -run DataDictionary -update
func TestDataDictionary(t *testing.T) {
	t.Parallel()
	r := runCLI(t, testURL(t), nil, "schema", "--format", "markdown")
	if r.code != exitOK {
		t.Fatalf("schema --format markdown: exit %d", r.code)
	}
	if exportUpdate() {
		if err := os.WriteFile(dataDictionary, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", dataDictionary)
		return
	}
	want, err := os.ReadFile(dataDictionary)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./cmd/chatstage -run DataDictionary -update)", err)
	}
	if string(want) != r.stdout {
		if err := os.WriteFile(dataDictionary+".got", []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s differs from what schema --format markdown prints: diff -u docs/data-dictionary.md docs/data-dictionary.md.got "+
			"(after a migration, rewrite it: go test ./cmd/chatstage -run DataDictionary -update)", dataDictionary)
	}
}

// TestSchemaNotMigrated: schema only reads. On a database chatstage never
// migrated it says so and migrates nothing.
func TestSchemaNotMigrated(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t, "")
	r := runCLI(t, url, nil, "schema", "--format", "dbt")
	if r.code != exitFailure || !strings.Contains(r.stderr, "not migrated yet") || r.stdout != "" {
		t.Errorf("schema of an unmigrated database: exit %d\nstdout %q\nstderr %s", r.code, r.stdout, r.stderr)
	}
	conn := connect(t, url)
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname IN ('staging', 'export', 'analytics')`) +
		queryInt(t, conn, `SELECT count(*) FROM pg_class WHERE relname = 'goose_db_version'`); n != 0 {
		t.Errorf("schema created %d objects", n)
	}
	for _, args := range [][]string{{"schema", "--format", "yaml"}, {"schema", "extra"}} {
		if r := runCLI(t, url, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, r.code, exitUsage)
		}
	}
}
