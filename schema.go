package chatstage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"
)

// SchemaFormat is a way Schema documents the database.
type SchemaFormat string

// The formats of Schema.
const (
	// SchemaDBT is a dbt sources.yml: one source per schema, its tables
	// and views with their columns, descriptions and key tests.
	SchemaDBT SchemaFormat = "dbt"
	// SchemaMarkdown is the same as a data dictionary (docs/data-dictionary.md).
	SchemaMarkdown SchemaFormat = "markdown"
)

// ErrSchemaFormat: a format Schema does not write.
var ErrSchemaFormat = errors.New("unknown format (want dbt or markdown)")

// Schema writes to w the documentation of chatstage's schemas (staging,
// export, analytics) in format f, read from the database's catalog: every
// description is the COMMENT ON text of the object, so it cannot drift
// from the database, and the keys are its primary keys and unique indexes
// (a view's key, which PostgreSQL does not record, is the one chatstage
// declares and tests). It only reads; on a database with a pending
// migration it returns store.ErrNotMigrated.
func Schema(ctx context.Context, st *store.Store, w io.Writer, f SchemaFormat) error {
	if f != SchemaDBT && f != SchemaMarkdown {
		return fmt.Errorf("%q: %w", f, ErrSchemaFormat)
	}
	cat, err := st.CatalogRead(ctx)
	if err != nil {
		return err
	}
	var out []byte
	if f == SchemaDBT {
		out, err = dbtSources(cat)
	} else {
		out = dataDictionary(cat)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// dbt's sources.yml (https://docs.getdbt.com/reference/source-properties).
type dbtFile struct {
	Version int         `yaml:"version"`
	Sources []dbtSource `yaml:"sources"`
}

type dbtSource struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description,omitempty"`
	Schema      string     `yaml:"schema"`
	Tables      []dbtTable `yaml:"tables"`
}

type dbtTable struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description,omitempty"`
	Meta        map[string]string `yaml:"meta,omitempty"`
	Columns     []dbtColumn       `yaml:"columns"`
	DataTests   []any             `yaml:"data_tests,omitempty"`
}

type dbtColumn struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	DataType    string   `yaml:"data_type,omitempty"`
	Quote       bool     `yaml:"quote,omitempty"`
	DataTests   []string `yaml:"data_tests,omitempty"`
}

// plainIdent is a name dbt and PostgreSQL both take unquoted.
var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// sqlIdent writes a column name as SQL: quoted when it must be.
func sqlIdent(name string) string {
	if plainIdent.MatchString(name) {
		return name
	}
	return pgx.Identifier{name}.Sanitize()
}

const dbtHeader = `# dbt sources for chatstage's staging database, written by
# chatstage schema --format dbt from the database's own catalog: every
# description is the COMMENT ON text of its object, and the tests are the
# keys (primary keys and unique indexes; for a view, the key chatstage
# declares). Regenerate it rather than edit it.
`

// dbtSources renders the catalog as a dbt sources.yml. A one-column key
// gets dbt's unique and not_null tests on its column; a key of several
// columns gets not_null on each and a unique test of the table on the
// row of them, which dbt's built-in unique test checks as it checks a
// column (SELECT (a, b) ... GROUP BY (a, b) HAVING count(*) > 1).
func dbtSources(cat store.Catalog) ([]byte, error) {
	f := dbtFile{Version: 2}
	for _, s := range cat.Schemas {
		src := dbtSource{Name: s.Name, Description: oneLine(s.Comment), Schema: s.Name}
		for _, r := range s.Relations {
			t := dbtTable{Name: r.Name, Description: oneLine(r.Comment), Meta: map[string]string{"relation": r.Kind}}
			tests := map[string][]string{}
			for _, k := range r.Keys {
				for _, c := range k.Columns {
					tests[c] = appendOnce(tests[c], "not_null")
				}
				if len(k.Columns) == 1 {
					tests[k.Columns[0]] = appendOnce(tests[k.Columns[0]], "unique")
					continue
				}
				cols := make([]string, len(k.Columns))
				for i, c := range k.Columns {
					cols[i] = sqlIdent(c)
				}
				t.DataTests = append(t.DataTests, map[string]any{
					"unique": map[string]string{"column_name": "(" + strings.Join(cols, ", ") + ")"},
				})
			}
			for _, c := range r.Columns {
				t.Columns = append(t.Columns, dbtColumn{
					Name: c.Name, Description: oneLine(c.Comment), DataType: c.Type,
					Quote: !plainIdent.MatchString(c.Name), DataTests: orderTests(tests[c.Name]),
				})
			}
			src.Tables = append(src.Tables, t)
		}
		f.Sources = append(f.Sources, src)
	}
	var b bytes.Buffer
	b.WriteString(dbtHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// orderTests puts unique before not_null, as dbt's examples do.
func orderTests(tests []string) []string {
	var out []string
	for _, t := range []string{"unique", "not_null"} {
		for _, x := range tests {
			if x == t {
				out = append(out, t)
			}
		}
	}
	return out
}

// oneLine joins a comment's lines: a description is one paragraph.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cell escapes text for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

// dataDictionary renders the catalog as Markdown.
func dataDictionary(cat store.Catalog) []byte {
	var b strings.Builder
	b.WriteString(`# Data dictionary

The schemas, tables and views of chatstage's staging database, as the
database itself describes them: every description is the object's
` + "`COMMENT ON`" + ` text (set by the migrations in ` + "`migrations/`" + `), the types
are PostgreSQL's, and the keys are the tables' primary keys and unique
indexes. PostgreSQL records no key for a view: a view's key is the one
chatstage declares (` + "`store/catalog.go`" + `) and its tests check.
A column without a comment has an empty description; ` + "`mapping.md`" + `
describes every column of the deliverables.

Written by ` + "`chatstage schema --format markdown`" + ` (` + "`--format dbt`" + ` writes the
same as a dbt ` + "`sources.yml`" + `); ` + "`go test ./cmd/chatstage -run DataDictionary -update`" + `
rewrites this file from a freshly migrated database, and the test fails
when it differs.

| relation | kind | description |
|---|---|---|
`)
	for _, s := range cat.Schemas {
		for _, r := range s.Relations {
			fmt.Fprintf(&b, "| `%s.%s` | %s | %s |\n", r.Schema, r.Name, r.Kind, cell(r.Comment))
		}
	}
	for _, s := range cat.Schemas {
		fmt.Fprintf(&b, "\n## Schema `%s`\n\n", s.Name)
		if s.Comment != "" {
			fmt.Fprintf(&b, "%s\n", oneLine(s.Comment))
		}
		for _, r := range s.Relations {
			fmt.Fprintf(&b, "\n### `%s.%s` (%s)\n\n", r.Schema, r.Name, r.Kind)
			if r.Comment != "" {
				fmt.Fprintf(&b, "%s\n\n", oneLine(r.Comment))
			}
			if len(r.Keys) > 0 {
				var keys []string
				for _, k := range r.Keys {
					cols := make([]string, len(k.Columns))
					for i, c := range k.Columns {
						cols[i] = "`" + c + "`"
					}
					what := "unique"
					switch {
					case k.Primary:
						what = "primary key"
					case k.Declared:
						what = "unique, declared"
					}
					keys = append(keys, "("+strings.Join(cols, ", ")+") "+what)
				}
				fmt.Fprintf(&b, "Key: %s.\n\n", strings.Join(keys, "; "))
			}
			b.WriteString("| column | type | not null | key | description |\n|---|---|---|---|---|\n")
			for _, c := range r.Columns {
				notNull, key := "", ""
				if c.NotNull {
					notNull = "yes"
				}
				if r.KeyColumn(c.Name) {
					key = "yes"
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, c.Type, notNull, key, cell(c.Comment))
			}
		}
	}
	return []byte(b.String())
}
