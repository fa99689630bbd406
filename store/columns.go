package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/jackc/pgx/v5"
)

// Every table a load writes by COPY is declared once here, its columns in
// the order of its CREATE TABLE: the COPY column lists, the landing
// tables' definitions and the values of each row are derived from these
// declarations, never spelled again. TestColumnsMatchTheSchema compares
// them with the migrated tables, so a migration and a declaration cannot
// drift apart, and COPY always names its columns, so two swapped text
// columns fail loudly instead of loading wrong.

// column is one column of a table written by COPY: its name, its SQL type
// as the schema declares it, and how a row of R gives its value (nil is
// NULL), in a form pgx encodes to that type.
type column[R any] struct {
	name    string
	sqlType string
	value   func(R) any
}

// table is a table written by COPY from rows of type R.
type table[R any] struct {
	schema, name string
	columns      []column[R]
}

func (t *table[R]) ident() pgx.Identifier { return pgx.Identifier{t.schema, t.name} }

func (t *table[R]) names() []string {
	out := make([]string, len(t.columns))
	for i, c := range t.columns {
		out[i] = c.name
	}
	return out
}

// copyRows copies rows into the table with pgx's CopyFrom (binary COPY
// with the column list).
func (t *table[R]) copyRows(ctx context.Context, tx pgx.Tx, rows []R) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	values := make([]any, len(t.columns))
	i := -1
	n, err := tx.CopyFrom(ctx, t.ident(), t.names(), pgx.CopyFromFunc(func() ([]any, error) {
		i++
		if i == len(rows) {
			return nil, nil
		}
		for j, c := range t.columns {
			values[j] = c.value(rows[i])
		}
		return values, nil
	}))
	if err != nil {
		return n, fmt.Errorf("%s: %w", t.ident().Sanitize(), err) // the caller says it was copying
	}
	return n, nil
}

// Value helpers: nil is NULL.

func textValue(t etl.Text) any {
	if !t.Valid {
		return nil
	}
	return t.S
}

func timeValue(t time.Time, ok bool) any {
	if !ok {
		return nil
	}
	return t
}

// A row with its load: what the staging tables keep of a version.
type loadRow struct {
	row    *etl.Row
	loadID int64
}

// sourceColumns are the typed source columns every table of chat versions
// has, from chat_id to message_count, in this order.
func sourceColumns[R any](row func(R) *etl.Row) []column[R] {
	return []column[R]{
		{"chat_id", `text COLLATE "C"`, func(r R) any { return row(r).ChatID }},
		{"updated_at", "timestamptz", func(r R) any { return row(r).UpdatedAt }},
		{"created_at", "timestamptz", func(r R) any { x := row(r); return timeValue(x.CreatedAt, x.HasCreatedAt) }},
		{"slug", "text", func(r R) any { return textValue(row(r).Slug) }},
		{"token", "text", func(r R) any { return textValue(row(r).Token) }},
		{"organization_id", "text", func(r R) any { return textValue(row(r).OrganizationID) }},
		{"language", "text", func(r R) any { return textValue(row(r).Language) }},
		{"is_test_chat", "boolean", func(r R) any {
			if x := row(r); x.HasIsTestChat {
				return x.IsTestChat
			}
			return nil
		}},
		{"sentiment", "text", func(r R) any { return textValue(row(r).Sentiment) }},
		{"resolution", "text", func(r R) any { return textValue(row(r).Resolution) }},
		{"message_count", "bigint", func(r R) any {
			if x := row(r); x.HasMessageCount {
				return x.MessageCount
			}
			return nil
		}},
	}
}

// rawColumns are the source JSON as in the file, which only the history
// and the landing table keep.
func rawColumns[R any](row func(R) *etl.Row) []column[R] {
	return []column[R]{
		{"conversation_log", "text", func(r R) any { return textValue(row(r).ConversationLog) }},
		{"structured_info", "text", func(r R) any { return textValue(row(r).StructuredInfo) }},
	}
}

// shapedColumns are what ingest derived from the JSON, from facts to
// row_hash.
func shapedColumns[R any](row func(R) *etl.Row) []column[R] {
	return []column[R]{
		{"facts", "jsonb", func(r R) any { return row(r).Facts }},
		{"default_message_id", "text", func(r R) any { return textValue(row(r).DefaultMessageID) }},
		{"is_default_chat", "boolean", func(r R) any { return row(r).IsDefaultChat }},
		{"messages_kept", "integer", func(r R) any { return int32(len(row(r).Messages)) }},
		{"quality_flags", "text[]", func(r R) any { return row(r).Flags.Names() }},
		{"row_hash", "bytea", func(r R) any { return row(r).Hash[:] }},
	}
}

func concat[R any](parts ...[]column[R]) []column[R] {
	var out []column[R]
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func rowOf(r loadRow) *etl.Row { return r.row }

var loadColumns = []column[loadRow]{
	{"load_id", "bigint", func(r loadRow) any { return r.loadID }},
	{"source_line", "bigint", func(r loadRow) any { return r.row.Line }},
}

// chatVersionsTable is staging.chat_versions (migration 00001): every
// version, with its raw JSON.
var chatVersionsTable = &table[loadRow]{schema: "staging", name: "chat_versions",
	columns: concat(sourceColumns(rowOf), rawColumns(rowOf), shapedColumns(rowOf), loadColumns)}

// chatsTable is staging.chats: the current version, without the raw JSON.
// A chat written by COPY is new, so live.
var chatsTable = &table[loadRow]{schema: "staging", name: "chats",
	columns: concat(sourceColumns(rowOf), shapedColumns(rowOf), loadColumns,
		[]column[loadRow]{{"retired_by_load", "bigint", func(loadRow) any { return nil }}},
		digestColumn(rowOf))}

// digestColumn is the digest of a row's messages, which staging.chats
// keeps beside the current version (migration 00006) so that a newer
// version whose conversation only grew writes only its new messages.
func digestColumn[R any](row func(R) *etl.Row) []column[R] {
	return []column[R]{{"messages_digest", "bytea", func(r R) any { return row(r).MessagesDigest[:] }}}
}

// messageRow is message i of a row, written by load loadID.
type messageRow struct {
	row    *etl.Row
	i      int
	loadID int64
}

func (m messageRow) msg() *etl.Message { return &m.row.Messages[m.i] }

// messageColumns are a message's columns from ordinal on, which
// staging.messages and the landing table share.
var messageColumns = []column[messageRow]{
	{"ordinal", "integer", func(m messageRow) any { return int32(m.i) }},
	{"message_id", "text", func(m messageRow) any { return textValue(m.msg().ID) }},
	{"role", "text", func(m messageRow) any { return textValue(m.msg().Role) }},
	{"type", "text", func(m messageRow) any { return textValue(m.msg().Type) }},
	{"content", "text", func(m messageRow) any { return textValue(m.msg().Content) }},
	{"disclaimer", "text", func(m messageRow) any { return textValue(m.msg().Disclaimer) }},
	{"extra", "jsonb", func(m messageRow) any { return textValue(m.msg().Extra) }},
}

// messagesTable is staging.messages: the messages of the current version,
// with the load that wrote each.
var messagesTable = &table[messageRow]{schema: "staging", name: "messages",
	columns: concat([]column[messageRow]{{"chat_id", `text COLLATE "C"`, func(m messageRow) any { return m.row.ChatID }}},
		messageColumns,
		[]column[messageRow]{{"load_id", "bigint", func(m messageRow) any { return m.loadID }}})}

// The landing tables of one load, in schema chatstage_load
// (loadtables.go). The merge (merge.go) reads them.

func lineColumn[R any](line func(R) int64) []column[R] {
	return []column[R]{{"line", "bigint NOT NULL", func(r R) any { return line(r) }}}
}

// incomingTable holds the rows to merge, whole, by their line in the file.
var incomingTable = &table[*etl.Row]{schema: loadSchema, name: "incoming",
	columns: concat(lineColumn(func(r *etl.Row) int64 { return r.Line }),
		sourceColumns(func(r *etl.Row) *etl.Row { return r }),
		rawColumns(func(r *etl.Row) *etl.Row { return r }),
		shapedColumns(func(r *etl.Row) *etl.Row { return r }),
		digestColumn(func(r *etl.Row) *etl.Row { return r }))}

// updatesTable holds the new current rows of the chats a load updates the
// direct way (Batch.Updates): every column of staging.chats that changes,
// applied by one UPDATE before the merge (updatesApplySQL). A direct
// update is of a live chat, whose retired_by_load stays null.
var updatesTable = &table[loadRow]{schema: loadSchema, name: "updates",
	columns: slices.DeleteFunc(slices.Clone(chatsTable.columns), func(c column[loadRow]) bool { return c.name == "retired_by_load" })}

// incomingMessagesTable holds the messages of the rows to merge; the
// merge writes those of the rows that become current.
var incomingMessagesTable = &table[messageRow]{schema: loadSchema, name: "incoming_messages",
	columns: concat(lineColumn(func(m messageRow) int64 { return m.row.Line }),
		[]column[messageRow]{{"chat_id", `text COLLATE "C" NOT NULL`, func(m messageRow) any { return m.row.ChatID }}},
		messageColumns)}

// incomingKeysTable holds the keys of rows whose version the database
// keeps as it is, of chats the file named before: the merge counts them.
var incomingKeysTable = &table[Known]{schema: loadSchema, name: "incoming_keys",
	columns: []column[Known]{
		{"line", "bigint NOT NULL", func(k Known) any { return k.Line }},
		{"chat_id", `text COLLATE "C" NOT NULL`, func(k Known) any { return k.Key.ChatID }},
		{"updated_at", "timestamptz NOT NULL", func(k Known) any { return k.Key.UpdatedAt }},
		{"row_hash", "bytea NOT NULL", func(k Known) any { return k.Key.Hash[:] }},
	}}

// knownFirstTable holds the chats whose first row in the file is a
// version the database keeps as it is: counted as they stream, and needed
// by the merge only when the file names the chat again.
var knownFirstTable = &table[Known]{schema: loadSchema, name: "known_first",
	columns: []column[Known]{
		{"chat_id", `text COLLATE "C" NOT NULL`, func(k Known) any { return k.Key.ChatID }},
		{"current", "boolean NOT NULL", func(k Known) any { return k.Current }},
	}}

// incomingRejectsTable holds the rejected records until the merge stores
// them with the load.
var incomingRejectsTable = &table[*etl.Reject]{schema: loadSchema, name: "incoming_rejects",
	columns: []column[*etl.Reject]{
		{"line", "bigint NOT NULL", func(r *etl.Reject) any { return r.Line }},
		{"reason_code", "text NOT NULL", func(r *etl.Reject) any { return string(r.Code) }},
		{"reason", "text NOT NULL", func(r *etl.Reject) any { return r.Reason }},
		{"raw", "text NOT NULL", func(r *etl.Reject) any { return r.Raw }},
		{"chat_id", `text COLLATE "C"`, func(r *etl.Reject) any { return textValue(etl.Text{S: r.ChatID, Valid: r.ChatID != ""}) }},
	}}

// Column lists for the merge's statements, derived from the declarations
// so that they are never spelled by hand.

// columnNames returns the names of a table's columns, but those in skip.
func columnNames[R any](t *table[R], skip ...string) []string {
	var out []string
	for _, c := range t.columns {
		if !slices.Contains(skip, c.name) {
			out = append(out, c.name)
		}
	}
	return out
}

// list joins names with commas, each prefixed with prefix ("i.").
func list(prefix string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = prefix + n
	}
	return strings.Join(parts, ", ")
}

// selectList is names read from the alias, but those given an expression
// in exprs.
func selectList(alias string, names []string, exprs map[string]string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		if e, ok := exprs[n]; ok {
			parts[i] = e
		} else {
			parts[i] = alias + "." + n
		}
	}
	return strings.Join(parts, ", ")
}

// setFrom is "c = alias.c" for each name.
func setFrom(alias string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " = " + alias + "." + n
	}
	return strings.Join(parts, ", ")
}

// setExcluded is "c = EXCLUDED.c" for each name.
func setExcluded(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " = EXCLUDED." + n
	}
	return strings.Join(parts, ", ")
}
