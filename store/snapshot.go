package store

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// View is a view that a Snapshot copies as CSV: a deliverable or a
// metrics file. The views hold the column names, the formatting and, for
// the deliverables, the row order (migrations 00002 and 00003), so the
// COPY is a plain SELECT.
type View struct {
	schema, name string
	orderBy      string // for views without an order of their own; a column list
	// citusOrder is the view's own order in terms of its columns: on a
	// distributed database a view's ORDER BY runs on each shard, and the
	// coordinator only appends the shards' rows, so a copy orders them
	// again. The text of "created at" (UTC, fixed width) sorts as the time
	// does, and the ordinal is the number before '#' in "sk messageId".
	citusOrder string
	// ranged: the view can be copied in ranges (split.go).
	ranged bool
}

const (
	chatsOrder    = `"created at" COLLATE "C" NULLS LAST, "chatId" COLLATE "C"`
	messagesOrder = chatsOrder + `, split_part("sk messageId", '#', 1)::bigint`
)

// The views a Snapshot copies.
var (
	ChatsView       = View{schema: "export", name: "chats", citusOrder: chatsOrder, ranged: true}       // chats.csv
	MessagesView    = View{schema: "export", name: "messages", citusOrder: messagesOrder, ranged: true} // messages.csv
	ChatMetricsView = View{schema: "analytics", name: "chat_metrics", orderBy: "chat_id"}
	LoadQualityView = View{schema: "analytics", name: "load_quality", orderBy: "load_id"}
)

func (v View) String() string { return v.schema + "." + v.name }

func (v View) ident() string { return pgx.Identifier{v.schema, v.name}.Sanitize() }

// Snapshot is a read-only view of the database at one instant: every read
// through it sees the same state, so files copied from it agree with each
// other, and a load committing meanwhile is in all of them or in none.
type Snapshot struct {
	s    *Store
	conn *pgxpool.Conn
	tx   pgx.Tx
	// shared: the snapshot holds the ingest lock shared (on Citus).
	shared bool
	// LastLoadID is the greatest succeeded load visible in the snapshot:
	// it holds every load up to it and none after. 0 when no load has
	// succeeded yet.
	LastLoadID int64
	// TakenAt is the database's time of the snapshot, in UTC.
	TakenAt time.Time
	// RunningLoads are the loads recorded running at the snapshot (or
	// whose process died): none of their rows is in it.
	RunningLoads []int64
}

// snapshotPrepareSQL runs first in a snapshot. JIT is off because the
// messages plan (a nested loop over every chat) is estimated far above
// jit_above_cost, and compiling it costs a few hundred milliseconds that a
// streaming COPY never wins back. TimeZone and DateStyle make the text of
// the metrics' timestamps and dates the same whatever the server's and
// the role's settings (the deliverables format theirs in the views).
var snapshotPrepareSQL = []string{
	`SET LOCAL jit = off`,
	`SET LOCAL TimeZone = 'UTC'`,
	`SET LOCAL DateStyle = 'ISO, YMD'`,
}

// snapshotTakeSQL is the first query of the transaction, so the REPEATABLE
// READ snapshot is taken here.
const snapshotTakeSQL = `
SELECT coalesce(max(load_id) FILTER (WHERE status = 'succeeded'), 0), now(),
       coalesce(array_agg(load_id ORDER BY load_id) FILTER (WHERE status = 'running'), '{}')
FROM staging.loads`

// SnapshotBegin takes a snapshot (a REPEATABLE READ, READ ONLY
// transaction). Close it when done.
//
// On a distributed database (Citus) a REPEATABLE READ transaction is not
// one instant: each worker takes its snapshot when first read, so a load
// committing meanwhile could be in one file and not in the other. There a
// snapshot holds the ingest lock shared from before its transaction
// begins to its end: it waits for a running load to end, and a load waits
// for it.
func (s *Store) SnapshotBegin(ctx context.Context) (*Snapshot, error) {
	return s.snapshotBegin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
}

// SnapshotBeginShared takes a snapshot as SnapshotBegin does, and up to
// readers-1 more that read exactly the same rows, each a REPEATABLE READ,
// READ ONLY transaction on a connection of its own: several views can then
// be copied at the same time, one per connection, as pg_dump -j does. The
// first snapshot is the one SnapshotBegin would return (on Citus it holds
// the ingest lock); the others carry its LastLoadID, TakenAt and
// RunningLoads. Close the others before the first.
//
// On one server the first exports its snapshot (pg_export_snapshot) and
// each other one imports it (SET TRANSACTION SNAPSHOT) before any query:
// they see the same rows whatever commits meanwhile. On Citus an exported
// snapshot is the coordinator's alone, not the workers'; there the first
// already holds the ingest lock shared, so no load or erasure can commit
// until it is closed, and each other transaction, begun after the lock
// was taken, sees what the first sees: the same committed loads.
//
// Fewer snapshots than asked come back, never an error, when the other
// connections cannot be had (the pool is busy, the server refuses one):
// the caller then reads everything through the first, one view after the
// other. Only the first snapshot's own errors are returned.
func (s *Store) SnapshotBeginShared(ctx context.Context, readers int) ([]*Snapshot, error) {
	first, err := s.SnapshotBegin(ctx)
	if err != nil {
		return nil, err
	}
	if readers < 2 {
		return []*Snapshot{first}, nil
	}
	conns := s.acquireIdle(ctx, readers-1)
	if len(conns) == 0 {
		return []*Snapshot{first}, nil
	}
	var id string
	if !s.citus {
		if err := first.tx.QueryRow(ctx, snapshotExportSQL).Scan(&id); err != nil {
			// The first's transaction is aborted with it: take it anew,
			// nothing was read from it yet.
			s.logger.Debug("reading the snapshot on one connection: it could not be exported", "error", err)
			first.Close()
			for _, c := range conns {
				c.Release()
			}
			if first, err = s.SnapshotBegin(ctx); err != nil {
				return nil, err
			}
			return []*Snapshot{first}, nil
		}
	}
	sns := []*Snapshot{first}
	for _, conn := range conns {
		sn, err := first.share(ctx, conn, id)
		if err != nil {
			s.logger.Debug("reading the snapshot on fewer connections: one could not import it", "error", err)
			continue
		}
		sns = append(sns, sn)
	}
	return sns, nil
}

// shareAcquireTimeout bounds the wait for another connection of a shared
// snapshot: when the pool is busy (other exports of this process hold its
// connections) the wait could last as long as they do, and a snapshot
// read on one connection is only slower.
const shareAcquireTimeout = 2 * time.Second

// acquireIdle acquires up to n connections of the pool without waiting for
// others to be released: none when the pool has no room.
func (s *Store) acquireIdle(ctx context.Context, n int) []*pgxpool.Conn {
	var conns []*pgxpool.Conn
	for range n {
		st := s.pool.Stat()
		if st.IdleConns() == 0 && st.TotalConns() >= st.MaxConns() {
			s.logger.Debug("reading the snapshot on fewer connections: the pool is busy", "max_conns", st.MaxConns())
			break
		}
		actx, cancel := context.WithTimeout(ctx, shareAcquireTimeout)
		conn, err := s.pool.Acquire(actx)
		cancel()
		if err != nil {
			s.logger.Debug("reading the snapshot on fewer connections: no other connection", "error", connectCause(err))
			break
		}
		conns = append(conns, conn)
	}
	return conns
}

const snapshotExportSQL = `SELECT pg_export_snapshot()`

// snapshotIDPattern is the form of pg_export_snapshot's identifiers
// (00000003-0000001B-1): SET TRANSACTION SNAPSHOT takes a literal, not a
// parameter, so the identifier is checked before it is quoted into one.
var snapshotIDPattern = regexp.MustCompile(`^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$`)

// share begins on conn a transaction that reads what sn reads: it imports
// snapshot id, or on Citus (id "") relies on sn's ingest lock. conn is
// released on error.
func (sn *Snapshot) share(ctx context.Context, conn *pgxpool.Conn, id string) (*Snapshot, error) {
	tw := &Snapshot{s: sn.s, conn: conn, LastLoadID: sn.LastLoadID, TakenAt: sn.TakenAt, RunningLoads: sn.RunningLoads}
	fail := func(err error) (*Snapshot, error) {
		tw.Close()
		return nil, err
	}
	if !sn.s.citus && !snapshotIDPattern.MatchString(id) {
		return fail(fmt.Errorf("unexpected snapshot identifier %q", id))
	}
	var err error
	if tw.tx, err = conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}); err != nil {
		return fail(err)
	}
	if id != "" {
		// Before any query: the transaction's snapshot is this one.
		if _, err := tw.tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+id+"'"); err != nil {
			return fail(err)
		}
	}
	for _, q := range snapshotPrepareSQL {
		if _, err := tw.tx.Exec(ctx, q); err != nil {
			return fail(err)
		}
	}
	return tw, nil
}

// PID is the server process that reads the snapshot, as pg_stat_activity
// and pg_locks show it.
func (sn *Snapshot) PID() uint32 { return sn.conn.Conn().PgConn().PID() }

const (
	ingestLockSharedSQL   = `SELECT pg_advisory_lock_shared(hashtext('chatstage.ingest'))`
	ingestUnlockSharedSQL = `SELECT pg_advisory_unlock_shared(hashtext('chatstage.ingest'))`
)

func (s *Store) snapshotBegin(ctx context.Context, opts pgx.TxOptions) (*Snapshot, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.translate(err, "taking a snapshot")
	}
	sn := &Snapshot{s: s, conn: conn}
	if s.citus {
		onWait := func(w LockWait) { s.logger.Info(w.String()) }
		if err := s.lockIngestShared(ctx, conn, onWait); err != nil {
			sn.Close()
			return nil, s.translate(err, "waiting for the load in progress")
		}
		sn.shared = true
	}
	if sn.tx, err = conn.BeginTx(ctx, opts); err != nil {
		sn.Close()
		return nil, s.translate(err, "taking a snapshot")
	}
	if err := sn.prepare(ctx); err != nil {
		sn.Close()
		return nil, err
	}
	return sn, nil
}

// prepare sets the snapshot's session and takes it.
func (sn *Snapshot) prepare(ctx context.Context) error {
	for _, q := range snapshotPrepareSQL {
		if _, err := sn.tx.Exec(ctx, q); err != nil {
			return sn.s.translate(err, "taking a snapshot")
		}
	}
	if err := sn.tx.QueryRow(ctx, snapshotTakeSQL).Scan(&sn.LastLoadID, &sn.TakenAt, &sn.RunningLoads); err != nil {
		return sn.s.translate(err, "taking a snapshot")
	}
	sn.TakenAt = sn.TakenAt.UTC()
	return nil
}

// Close ends the snapshot: rolling back is how it ends (a work snapshot's
// writes to the work area go with it).
func (sn *Snapshot) Close() {
	if sn.tx != nil {
		sn.tx.Rollback(context.Background()) //nolint:errcheck // read-only
		sn.tx = nil
	}
	if sn.conn == nil {
		return
	}
	if sn.shared {
		sn.conn.Exec(context.Background(), ingestUnlockSharedSQL) //nolint:errcheck // ends with the session anyway
	}
	sn.conn.Release()
	sn.conn = nil
}

// CopyOptions tune CopyView. The zero value copies the view exactly.
type CopyOptions struct {
	// EscapeFormulas prefixes with ' every cell that starts with =, +, -
	// or @, so that a spreadsheet shows it as text instead of running it.
	EscapeFormulas bool
	// Range copies only those rows (split.go), with the header only when
	// it is the first range.
	Range Range
}

// CopyView writes the view as CSV with a header (COPY ... TO STDOUT
// (FORMAT csv, HEADER)) to w, streaming: memory stays flat whatever its
// size. It returns the data rows written, the header not counted. A range
// of a view that is not copied in ranges is ErrNotRanged.
func (sn *Snapshot) CopyView(ctx context.Context, v View, w io.Writer, opts CopyOptions) (int64, error) {
	query := "SELECT * FROM " + v.ident()
	if opts.EscapeFormulas {
		var err error
		if query, err = sn.escapedQuery(ctx, v); err != nil {
			return 0, sn.s.translate(err, "copying "+v.String())
		}
	}
	where, err := sn.rangeWhere(ctx, v, opts.Range)
	if err != nil {
		return 0, sn.s.translate(err, "copying "+v.String())
	}
	query += where
	switch {
	case v.orderBy != "":
		query += " ORDER BY " + v.orderBy
	case sn.s.citus && v.citusOrder != "":
		query += " ORDER BY " + v.citusOrder
	}
	header := ", HEADER"
	if opts.Range.From != "" {
		header = ""
	}
	tag, err := sn.tx.Conn().PgConn().CopyTo(ctx, errorTaggingWriter{w}, "COPY ("+query+") TO STDOUT (FORMAT csv"+header+")")
	if err != nil {
		return 0, sn.s.translate(err, "copying "+v.String())
	}
	return tag.RowsAffected(), nil
}

const viewColumnsSQL = `
SELECT attname FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum`

// formulaEscapeSQL wraps one quoted column: a cell a spreadsheet would run
// as a formula gets a leading quote.
const formulaEscapeSQL = `CASE WHEN %[1]s ~ '^[-=+@]' THEN '''' || %[1]s ELSE %[1]s END AS %[1]s`

// escapedQuery selects every column of v wrapped in the formula escape.
// The column names come from the catalog and are quoted as identifiers; no
// value is ever part of the SQL. The view's own ORDER BY still orders the
// rows: the outer query only projects.
func (sn *Snapshot) escapedQuery(ctx context.Context, v View) (string, error) {
	rows, err := sn.tx.Query(ctx, viewColumnsSQL, v.ident())
	if err != nil {
		return "", err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = fmt.Sprintf(formulaEscapeSQL, pgx.Identifier{c}.Sanitize())
	}
	return "SELECT " + strings.Join(exprs, ", ") + " FROM " + v.ident(), nil
}

// Summary is what a report says of the data besides its files.
type Summary struct {
	Chats     int64 `json:"chats"`      // live chats: those the deliverables hold
	UserSpoke int64 `json:"user_spoke"` // live chats with at least one user message
	Messages  int64 `json:"messages"`   // messages of the live chats
	// A chat's whole life (contract section 6): chats retired by a
	// snapshot and not live again, chats erased, rows of erased chats
	// that loads skipped, and rejects no later load resolved.
	Retired     int64 `json:"retired"`
	Erased      int64 `json:"erased"`
	Suppressed  int64 `json:"rows_suppressed"`
	OpenRejects int64 `json:"open_rejects"`
	// Flags counts the current chats carrying each quality flag.
	Flags []NameCount `json:"flags"`
	// Rejects counts the rejects of every load by reason code.
	Rejects []NameCount `json:"rejects"`
}

// NameCount is a count under a stable name (a flag, a reason code).
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// summarySQL counts the messages of the live chats from messages_kept,
// each chat's number of rows in staging.messages: no pass over them.
const summarySQL = `
SELECT (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NULL),
       (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NULL AND NOT is_default_chat),
       (SELECT coalesce(sum(messages_kept), 0) FROM staging.chats WHERE retired_by_load IS NULL),
       (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NOT NULL),
       (SELECT count(*) FROM staging.erasures WHERE existed),
       (SELECT coalesce(sum(rows_suppressed), 0) FROM staging.loads WHERE status = 'succeeded'),
       (SELECT count(*) FROM staging.rejects WHERE resolved_by_load IS NULL)`

const summaryFlagsSQL = `
SELECT flag, count(*) FROM staging.chats, unnest(quality_flags) AS flag
WHERE retired_by_load IS NULL
GROUP BY flag ORDER BY count(*) DESC, flag`

const summaryRejectsSQL = `
SELECT reason_code, count(*) FROM staging.rejects
GROUP BY reason_code ORDER BY count(*) DESC, reason_code`

// Summary counts the live chats, their messages and flags, the rejects,
// and the chats retired and erased, in the snapshot.
func (sn *Snapshot) Summary(ctx context.Context) (Summary, error) {
	var sum Summary
	if err := sn.tx.QueryRow(ctx, summarySQL).Scan(&sum.Chats, &sum.UserSpoke, &sum.Messages,
		&sum.Retired, &sum.Erased, &sum.Suppressed, &sum.OpenRejects); err != nil {
		return sum, sn.s.translate(err, "summarizing")
	}
	var err error
	if sum.Flags, err = nameCounts(ctx, sn.tx, summaryFlagsSQL); err != nil {
		return sum, sn.s.translate(err, "counting flags")
	}
	if sum.Rejects, err = nameCounts(ctx, sn.tx, summaryRejectsSQL); err != nil {
		return sum, sn.s.translate(err, "counting rejects")
	}
	return sum, nil
}

func nameCounts(ctx context.Context, tx pgx.Tx, sql string) ([]NameCount, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (NameCount, error) {
		var n NameCount
		err := row.Scan(&n.Name, &n.Count)
		return n, err
	})
	if out == nil {
		out = []NameCount{} // [] in JSON, not null
	}
	return out, err
}
