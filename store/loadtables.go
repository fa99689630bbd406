package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The tables of one load: the landing tables its batches are copied into
// and the merge's intermediate sets. They live in schema chatstage_load,
// unlogged (no WAL, emptied by a crash), and are empty between loads: each
// load empties them before it commits, in its own transaction, so a load
// that fails leaves them as they were (and a load that finds rows in them
// empties them first). Loads run
// one at a time (the ingest lock), so one set serves every load.
//
// They are real tables rather than temporary ones so that a distributed
// database can distribute them beside the staging tables (citus.go): the
// merge then runs on each shard. Their definitions come from the
// declarations in columns.go; Migrate makes them (ensureLoadTables) and
// makes them again when a declaration changes.

// loadSchema is the schema of the load tables.
const loadSchema = "chatstage_load"

// loadTable is one table of a load.
type loadTable struct {
	name string
	defs []string // column definitions, then constraints
	with string   // storage parameters, if any
	// reference: a distributed database replicates it to every node
	// instead of distributing it by chat_id (its chat_id may be null).
	reference bool
}

func (t loadTable) qualified() string { return loadSchema + "." + t.name }

func (t loadTable) createSQL() string {
	with := ""
	if t.with != "" {
		with = " WITH (" + t.with + ")"
	}
	return "CREATE UNLOGGED TABLE " + pgx.Identifier{loadSchema, t.name}.Sanitize() +
		" (" + strings.Join(t.defs, ", ") + ")" + with
}

func defsOf[R any](t *table[R]) []string {
	defs := make([]string, len(t.columns))
	for i, c := range t.columns {
		defs[i] = pgx.Identifier{c.name}.Sanitize() + " " + c.sqlType
	}
	return defs
}

// loadTables are the tables of a load. The rows of incoming, a few kB
// each, are kept inline and uncompressed (toast_tuple_target): compressing
// them on the way in only to decompress them for the merge cost more than
// the COPY itself.
func loadTables() []loadTable {
	return []loadTable{
		{name: "incoming", defs: defsOf(incomingTable), with: "toast_tuple_target = 8160"},
		{name: "incoming_messages", defs: defsOf(incomingMessagesTable)},
		{name: "incoming_keys", defs: defsOf(incomingKeysTable)},
		{name: "known_first", defs: defsOf(knownFirstTable)},
		{name: "updates", defs: defsOf(updatesTable)},
		{name: "incoming_rejects", defs: defsOf(incomingRejectsTable), reference: true},
		// keys: the merge's decisions on the narrow key columns (keysSQL).
		{name: "keys", defs: []string{`line bigint NOT NULL`, `chat_id text COLLATE "C" NOT NULL`,
			`updated_at timestamptz NOT NULL`, `row_hash bytea NOT NULL`, `known boolean NOT NULL`,
			`last_of_version boolean NOT NULL`, `candidate boolean NOT NULL`}},
		// changed: the chats whose current row this load replaced, with
		// the line that now is current.
		{name: "changed", defs: []string{`chat_id text COLLATE "C" PRIMARY KEY`, `line bigint NOT NULL`}},
		// new_messages: the messages of the new current versions.
		{name: "new_messages", defs: defsOf(messagesTable)},
		// named: every chat a snapshot file names (retire.go).
		{name: "named", defs: []string{`chat_id text COLLATE "C" NOT NULL`}},
	}
}

// loadTablesDDL is every statement that makes the load tables.
func loadTablesDDL() []string {
	ddl := []string{"CREATE SCHEMA " + loadSchema}
	for _, t := range loadTables() {
		ddl = append(ddl, t.createSQL())
	}
	return ddl
}

// SchemaVersion names the schema chatstage makes besides the migrations:
// a hash of the load tables' definitions and of what a distributed
// database distributes. A test template named after the migrations and
// it is never reused for another schema.
var SchemaVersion = func() string {
	h := sha256.New()
	for _, q := range loadTablesDDL() {
		fmt.Fprintln(h, q)
	}
	fmt.Fprintln(h, referenceTables, distributedTables, citusLayout)
	return hex.EncodeToString(h.Sum(nil))[:16]
}()

// The schema's comment says what it is for, and the version of its tables.
const (
	loadSchemaComment    = "The tables of the load in progress (landing tables and the merge's sets), unlogged and empty between loads; chatstage makes them from its declarations. Version "
	loadSchemaVersionSQL = `
SELECT coalesce((SELECT substring(obj_description(oid, 'pg_namespace') from 'Version ([0-9a-f]+)$')
                 FROM pg_namespace WHERE nspname = 'chatstage_load'), '')`
)

// loadTablesTruncateSQL empties every load table, inside a load's
// transaction: before it commits, and as it begins if a table is not
// empty.
var loadTablesTruncateSQL = func() string {
	names := make([]string, 0, len(loadTables()))
	for _, t := range loadTables() {
		names = append(names, t.qualified())
	}
	return "TRUNCATE " + strings.Join(names, ", ")
}()

// loadTablesLeftoverSQL tells whether any load table holds a row.
var loadTablesLeftoverSQL = func() string {
	parts := make([]string, 0, len(loadTables()))
	for _, t := range loadTables() {
		parts = append(parts, "EXISTS (SELECT 1 FROM "+t.qualified()+")")
	}
	return "SELECT " + strings.Join(parts, " OR ")
}()

// ensureLoadTables makes the load tables when they are missing or were
// made from other declarations. Remaking them waits for the ingest lock:
// a running load uses them.
func (s *Store) ensureLoadTables(ctx context.Context) error {
	var have string
	if err := s.pool.QueryRow(ctx, loadSchemaVersionSQL).Scan(&have); err != nil {
		return s.translate(err, "reading the load tables' version")
	}
	if have == SchemaVersion {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.translate(err, "making the load tables")
	}
	defer conn.Release()
	if err := s.lockIngest(ctx, conn, nil); err != nil {
		return s.translate(err, "waiting for the ingest lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('chatstage.ingest'))`) //nolint:errcheck // ends with the session anyway
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, loadSchemaVersionSQL).Scan(&have); err != nil || have == SchemaVersion {
			return err // made meanwhile by another process
		}
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+loadSchema+" CASCADE"); err != nil {
			return err
		}
		for _, q := range loadTablesDDL() {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		comment := strings.ReplaceAll(loadSchemaComment+SchemaVersion, "'", "''")
		_, err := tx.Exec(ctx, "COMMENT ON SCHEMA "+loadSchema+" IS '"+comment+"'")
		return err
	})
	return s.translate(err, "making the load tables")
}
