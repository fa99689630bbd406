package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// DocumentedSchemas are the schemas chatstage owns and documents, in the
// order a reader meets them.
var DocumentedSchemas = []string{"staging", "export", "analytics"}

// Catalog is what the database says of chatstage's schemas: every table
// and view with its columns, their types, their COMMENT ON text and the
// relations' keys. It is read from the system catalogs, so a description
// can never drift from the database.
type Catalog struct {
	Schemas []SchemaInfo
}

// SchemaInfo is one schema.
type SchemaInfo struct {
	Name    string
	Comment string // COMMENT ON SCHEMA; "" when none
	// Relations are its tables and views, by name.
	Relations []RelationInfo
}

// RelationInfo is one table or view.
type RelationInfo struct {
	Schema, Name string
	Kind         string // "table" or "view"
	Comment      string
	Columns      []ColumnInfo // in column order
	// Keys are the relation's unique keys, each a list of column names:
	// for a table its primary key, then its unique indexes on plain
	// columns, from pg_index; for a view the key its rows are unique by
	// (viewKeys), which the catalog cannot hold. Each key's columns are
	// never null.
	Keys []Key
}

// Key is a unique key.
type Key struct {
	Columns []string
	Primary bool // the table's primary key
	// Declared is set for a view's key: chatstage declares it (viewKeys);
	// a test holds the views to it.
	Declared bool
}

// ColumnInfo is one column.
type ColumnInfo struct {
	Name    string
	Type    string // as format_type writes it: bigint, text[], timestamp with time zone
	NotNull bool   // declared NOT NULL (a view's columns never are)
	Comment string
}

// viewKeys are the keys of chatstage's views, which PostgreSQL does not
// record for a view: one row per current chat, per message of a current
// chat, per load, per day. TestViewKeysHold checks them on data.
var viewKeys = map[string][][]string{
	"export.chat_columns":     {{"sort_chat_id"}},
	"export.chats":            {{"chatId"}},
	"export.messages":         {{"chatId", "sk messageId"}},
	"analytics.chat_metrics":  {{"chat_id"}},
	"analytics.load_quality":  {{"load_id"}},
	"analytics.daily_quality": {{"day"}},
}

const catalogSchemasSQL = `
SELECT n.nspname::text, coalesce(obj_description(n.oid, 'pg_namespace'), '')
FROM pg_namespace n
WHERE n.nspname = ANY ($1)`

const catalogRelationsSQL = `
SELECT n.nspname::text, c.relname::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END,
       coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.relname`

const catalogColumnsSQL = `
SELECT n.nspname::text, c.relname::text, a.attname::text,
       format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(col_description(c.oid, a.attnum), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'v', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum`

// Unique indexes that are not partial and hold only plain columns (an
// expression's attnum is 0): the keys a dbt test can check as they are.
const catalogKeysSQL = `
SELECT n.nspname::text, c.relname::text, i.indisprimary,
       array_agg(a.attname::text ORDER BY k.ord)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = ANY ($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
GROUP BY n.nspname, c.relname, i.indexrelid, i.indisprimary
ORDER BY i.indisprimary DESC, i.indexrelid`

// CatalogRead reads what the database says of DocumentedSchemas. It only
// reads, and refuses a database with a pending migration
// (ErrNotMigrated): its documentation would not be chatstage's.
func (s *Store) CatalogRead(ctx context.Context) (Catalog, error) {
	var cat Catalog
	migs, err := s.MigrationStatus(ctx)
	if err != nil {
		return cat, err
	}
	pending := 0
	for _, m := range migs {
		if !m.Applied {
			pending++
		}
	}
	if pending > 0 {
		return cat, fmt.Errorf("%s: %w (%d of %d migrations pending)", s.target, ErrNotMigrated, pending, len(migs))
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return cat, s.translate(err, "reading the catalog")
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: rolling back is how it ends
	if err := catalogRead(ctx, tx, &cat); err != nil {
		return cat, s.translate(err, "reading the catalog")
	}
	return cat, nil
}

func catalogRead(ctx context.Context, tx pgx.Tx, cat *Catalog) error {
	rows, err := tx.Query(ctx, catalogSchemasSQL, DocumentedSchemas)
	if err != nil {
		return err
	}
	schemas, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SchemaInfo, error) {
		var si SchemaInfo
		err := row.Scan(&si.Name, &si.Comment)
		return si, err
	})
	if err != nil {
		return err
	}
	// In DocumentedSchemas' order, not the catalog's.
	slices.SortFunc(schemas, func(a, b SchemaInfo) int {
		return slices.Index(DocumentedSchemas, a.Name) - slices.Index(DocumentedSchemas, b.Name)
	})
	rels := map[string]*RelationInfo{}
	var order []*RelationInfo
	rows, err = tx.Query(ctx, catalogRelationsSQL, DocumentedSchemas)
	if err != nil {
		return err
	}
	var r RelationInfo
	if _, err := pgx.ForEachRow(rows, []any{&r.Schema, &r.Name, &r.Kind, &r.Comment}, func() error {
		rel := r
		rels[rel.Schema+"."+rel.Name] = &rel
		order = append(order, &rel)
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, catalogColumnsSQL, DocumentedSchemas)
	if err != nil {
		return err
	}
	var schema, name string
	var c ColumnInfo
	if _, err := pgx.ForEachRow(rows, []any{&schema, &name, &c.Name, &c.Type, &c.NotNull, &c.Comment}, func() error {
		if rel := rels[schema+"."+name]; rel != nil {
			rel.Columns = append(rel.Columns, c)
		}
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, catalogKeysSQL, DocumentedSchemas)
	if err != nil {
		return err
	}
	var k Key
	if _, err := pgx.ForEachRow(rows, []any{&schema, &name, &k.Primary, &k.Columns}, func() error {
		if rel := rels[schema+"."+name]; rel != nil {
			rel.Keys = append(rel.Keys, Key{Columns: slices.Clone(k.Columns), Primary: k.Primary})
		}
		return nil
	}); err != nil {
		return err
	}
	for full, keys := range viewKeys {
		rel := rels[full]
		if rel == nil {
			continue // a view a later migration dropped: no key to declare
		}
		for _, cols := range keys {
			rel.Keys = append(rel.Keys, Key{Columns: cols, Declared: true})
		}
	}
	for i := range schemas {
		for _, rel := range order {
			if rel.Schema == schemas[i].Name {
				schemas[i].Relations = append(schemas[i].Relations, *rel)
			}
		}
	}
	cat.Schemas = schemas
	return nil
}

// KeyColumn reports whether column is in one of the relation's keys.
func (r RelationInfo) KeyColumn(column string) bool {
	for _, k := range r.Keys {
		if slices.Contains(k.Columns, column) {
			return true
		}
	}
	return false
}
