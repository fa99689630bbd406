package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// Past and delta deliverables (contract section 6) render another state
// than the current one through the same views: the state is written into
// the work area (chatstage_work.chats_state, messages_state) inside the
// snapshot's transaction, and chatstage_work.chats and .messages render it
// exactly as export.chats and .messages render the staging tables. The
// transaction is rolled back at the end: the work area is empty again.

// The work area's views: a past or delta chats.csv and messages.csv.
var (
	WorkChatsView    = View{schema: "chatstage_work", name: "chats", citusOrder: chatsOrder}
	WorkMessagesView = View{schema: "chatstage_work", name: "messages", citusOrder: messagesOrder}
)

// ErrLoadNotSucceeded: a past or delta deliverable was asked of a load
// that failed, is running, or does not exist.
var ErrLoadNotSucceeded = errors.New("not a load that succeeded")

// workLockSQL lets one export at a time use the work area.
const workLockSQL = `SELECT pg_advisory_xact_lock(hashtext('chatstage.work'))`

// WorkSnapshotBegin takes a snapshot that can also render past and delta
// deliverables (a REPEATABLE READ transaction that writes only the work
// area, and is rolled back). Close it when done.
func (s *Store) WorkSnapshotBegin(ctx context.Context) (*Snapshot, error) {
	sn, err := s.snapshotBegin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, err
	}
	if _, err := sn.tx.Exec(ctx, workLockSQL); err != nil {
		sn.Close()
		return nil, s.translate(err, "waiting for the work area")
	}
	return sn, nil
}

const loadStatusSQL = `SELECT status FROM staging.loads WHERE load_id = $1`

// CheckLoad returns nil when load succeeded (and is visible in the
// snapshot), else an error that wraps ErrLoadNotSucceeded and says why.
func (sn *Snapshot) CheckLoad(ctx context.Context, load int64) error {
	var status string
	err := sn.tx.QueryRow(ctx, loadStatusSQL, load).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("load %d: %w: there is no such load", load, ErrLoadNotSucceeded)
	case err != nil:
		return sn.s.translate(err, "reading load "+fmt.Sprint(load))
	case status != "succeeded":
		return fmt.Errorf("load %d: %w: it is %s", load, ErrLoadNotSucceeded, status)
	}
	return nil
}

const loadAtSQL = `
SELECT coalesce(max(load_id), 0) FROM staging.loads WHERE status = 'succeeded' AND finished_at <= $1`

// LoadAt returns the last load that succeeded at or before t, or an error
// wrapping ErrLoadNotSucceeded when none did.
func (sn *Snapshot) LoadAt(ctx context.Context, t time.Time) (int64, error) {
	var id int64
	if err := sn.tx.QueryRow(ctx, loadAtSQL, t).Scan(&id); err != nil {
		return 0, sn.s.translate(err, "finding the load of "+t.Format(time.RFC3339))
	}
	if id == 0 {
		return 0, fmt.Errorf("%s: %w: no load had succeeded by then", t.Format(time.RFC3339), ErrLoadNotSucceeded)
	}
	return id, nil
}

// The state after load $1: of each chat, the content visible after that
// load (brought by then and not replaced by then) of its greatest version,
// unless the chat was retired then; and those chats' messages as they were.
// The work area has no messages_digest: that is a load's bookkeeping, not
// a chat's content, and the history does not keep it.
var (
	contentColumns = list("", columnNames(chatsTable, "retired_by_load", "messages_digest"))
	stateChatsSQL  = `
INSERT INTO chatstage_work.chats_state (` + list("", columnNames(chatsTable, "messages_digest")) + `)
SELECT DISTINCT ON (v.chat_id) ` + list("v.", columnNames(chatsTable, "retired_by_load", "messages_digest")) + `, NULL
FROM (SELECT ` + contentColumns + ` FROM staging.chat_versions WHERE load_id <= $1
      UNION ALL
      SELECT ` + contentColumns + ` FROM staging.chat_version_history WHERE load_id <= $1 AND replaced_by_load > $1) v
WHERE NOT EXISTS (SELECT 1 FROM staging.retirements r
                  WHERE r.chat_id = v.chat_id AND r.retired_by_load <= $1
                    AND (r.revived_by_load IS NULL OR r.revived_by_load > $1))
ORDER BY v.chat_id, v.updated_at DESC`
	stateMessagesSQL = `
INSERT INTO chatstage_work.messages_state (` + list("", columnNames(messagesTable)) + `)
SELECT ` + list("m.", columnNames(messagesTable)) + `
FROM staging.messages m JOIN chatstage_work.chats_state s ON s.chat_id = m.chat_id
WHERE m.load_id <= $1
UNION ALL
SELECT ` + list("h.", columnNames(messagesTable)) + `
FROM staging.message_history h JOIN chatstage_work.chats_state s ON s.chat_id = h.chat_id
WHERE h.load_id <= $1 AND h.replaced_by_load > $1`
	// The state after load $1 of the candidates of a delta, chat by chat
	// through the primary keys: a join the planner could run as a scan of
	// the whole history would make a delta's cost follow the database.
	candidatesThenChatsSQL = `
INSERT INTO chatstage_work.chats_state (` + list("", columnNames(chatsTable, "messages_digest")) + `)
SELECT ` + list("v.", columnNames(chatsTable, "retired_by_load", "messages_digest")) + `, NULL
FROM chatstage_work.delta_candidates d
CROSS JOIN LATERAL (
    SELECT * FROM (SELECT ` + contentColumns + ` FROM staging.chat_versions WHERE chat_id = d.chat_id AND load_id <= $1
                   UNION ALL
                   SELECT ` + contentColumns + ` FROM staging.chat_version_history
                   WHERE chat_id = d.chat_id AND load_id <= $1 AND replaced_by_load > $1) x
    ORDER BY x.updated_at DESC LIMIT 1) v
WHERE NOT EXISTS (SELECT 1 FROM staging.retirements r
                  WHERE r.chat_id = d.chat_id AND r.retired_by_load <= $1
                    AND (r.revived_by_load IS NULL OR r.revived_by_load > $1))`
	candidatesThenMessagesSQL = `
INSERT INTO chatstage_work.messages_state (` + list("", columnNames(messagesTable)) + `)
SELECT m.* FROM chatstage_work.chats_state s
CROSS JOIN LATERAL (
    SELECT ` + list("", columnNames(messagesTable)) + ` FROM staging.messages WHERE chat_id = s.chat_id AND load_id <= $1
    UNION ALL
    SELECT ` + list("", columnNames(messagesTable)) + ` FROM staging.message_history
    WHERE chat_id = s.chat_id AND load_id <= $1 AND replaced_by_load > $1) m`
	// The current state of the candidates.
	candidatesNowChatsSQL = `
INSERT INTO chatstage_work.chats_state (` + list("", columnNames(chatsTable, "messages_digest")) + `)
SELECT ` + list("c.", columnNames(chatsTable, "messages_digest")) + `
FROM chatstage_work.delta_candidates d JOIN staging.chats c ON c.chat_id = d.chat_id
WHERE c.retired_by_load IS NULL`
	candidatesNowMessagesSQL = `
INSERT INTO chatstage_work.messages_state (` + list("", columnNames(messagesTable)) + `)
SELECT m.* FROM chatstage_work.chats_state s
CROSS JOIN LATERAL (
    SELECT ` + list("", columnNames(messagesTable)) + ` FROM staging.messages WHERE chat_id = s.chat_id) m`
)

const workTruncateSQL = `TRUNCATE chatstage_work.chats_state, chatstage_work.messages_state`

// StateAt renders the state after load (which must have succeeded, see
// CheckLoad) into the work area: copy WorkChatsView and WorkMessagesView
// for the deliverables as export wrote them right after that load, with
// every erasure since applied (erased rows are gone from history too).
func (sn *Snapshot) StateAt(ctx context.Context, load int64) error {
	for _, step := range []struct {
		sql  string
		args []any
	}{
		{workTruncateSQL, nil},
		{stateChatsSQL, []any{load}},
		{stateMessagesSQL, []any{load}},
		{`ANALYZE chatstage_work.chats_state`, nil},
		{`ANALYZE chatstage_work.messages_state`, nil},
	} {
		if _, err := sn.tx.Exec(ctx, step.sql, step.args...); err != nil {
			return sn.s.translate(err, fmt.Sprintf("rebuilding the state after load %d", load))
		}
	}
	return nil
}

// Delta is what a delta deliverable holds.
type Delta struct {
	Candidates int64 // live chats changed after the load (what the delta's cost follows)
	Chats      int64 // of them, those whose deliverable rows differ
}

// deltaFingerprintSQL fingerprints, per chat, the deliverable rows that
// the work area renders: its chats.csv row and its messages.csv rows, in
// order. Two states of a chat render alike when the fingerprints match.
func deltaFingerprintSQL(table string) string {
	return `
INSERT INTO chatstage_work.` + table + ` (chat_id, chat_fp, messages_fp)
SELECT c."chatId" AS chat_id, md5(c::text) AS chat_fp, coalesce(mm.fp, '') AS messages_fp
FROM chatstage_work.chats c
LEFT JOIN (SELECT m."chatId", md5(string_agg(m::text, E'\n' ORDER BY split_part(m."sk messageId", '#', 1)::bigint)) AS fp
           FROM chatstage_work.messages m GROUP BY m."chatId") mm ON mm."chatId" = c."chatId"`
}

const (
	deltaTruncateSQL = `TRUNCATE chatstage_work.delta_candidates, chatstage_work.delta_then, chatstage_work.delta_now`
	// The candidates: the live chats a load after $1 changed (made a
	// version current, gave it other content, or brought it back). The
	// index on the load that last changed a chat makes this cost follow
	// the change.
	deltaCandidatesSQL  = `INSERT INTO chatstage_work.delta_candidates SELECT chat_id FROM staging.chats WHERE load_id > $1 AND retired_by_load IS NULL`
	deltaKeepChangedSQL = `
DELETE FROM chatstage_work.chats_state s
USING chatstage_work.delta_then t JOIN chatstage_work.delta_now n ON n.chat_id = t.chat_id
WHERE s.chat_id = t.chat_id AND t.chat_fp = n.chat_fp AND t.messages_fp = n.messages_fp`
	deltaKeepMessagesSQL = `
DELETE FROM chatstage_work.messages_state m
WHERE NOT EXISTS (SELECT 1 FROM chatstage_work.chats_state s WHERE s.chat_id = m.chat_id)`
)

// DeltaSince renders into the work area the live chats whose rows in the
// deliverables differ from those of the export as of load (which must have
// succeeded): new, updated, made live again; each with all its messages.
// Its cost follows the number of chats changed after load, not the
// database.
func (sn *Snapshot) DeltaSince(ctx context.Context, load int64) (Delta, error) {
	var d Delta
	during := fmt.Sprintf("finding what changed since load %d", load)
	exec := func(sql string, args ...any) error {
		if _, err := sn.tx.Exec(ctx, sql, args...); err != nil {
			return sn.s.translate(err, during)
		}
		return nil
	}
	steps := []func() error{
		func() error { return exec(deltaTruncateSQL) },
		func() error { return exec(deltaCandidatesSQL, load) },
		func() error { return exec(`ANALYZE chatstage_work.delta_candidates`) },
		func() error { return exec(workTruncateSQL) },
		func() error { return exec(candidatesThenChatsSQL, load) },
		func() error { return exec(candidatesThenMessagesSQL, load) },
		func() error { return exec(deltaFingerprintSQL("delta_then")) },
		func() error { return exec(workTruncateSQL) },
		func() error { return exec(candidatesNowChatsSQL) },
		func() error { return exec(candidatesNowMessagesSQL) },
		func() error { return exec(deltaFingerprintSQL("delta_now")) },
		func() error { return exec(deltaKeepChangedSQL) },
		func() error { return exec(deltaKeepMessagesSQL) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return d, err
		}
	}
	err := sn.tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM chatstage_work.delta_candidates), (SELECT count(*) FROM chatstage_work.chats_state)`).
		Scan(&d.Candidates, &d.Chats)
	if err != nil {
		return d, sn.s.translate(err, during)
	}
	return d, nil
}

const (
	removedCreateSQL = `
CREATE TEMP TABLE delta_removed ("chatId" text COLLATE "C", "chatId sha256" text COLLATE "C", reason text) ON COMMIT DROP`
	// The chats live after $1 that are retired now, and once each the
	// chats that existed when an erasure after $1 erased them: only their
	// hash is known.
	removedSQL = `
INSERT INTO delta_removed
SELECT c.chat_id, encode(sha256(convert_to(c.chat_id, 'UTF8')), 'hex'), 'retired'
FROM staging.chats c
WHERE c.retired_by_load > $1
  AND (EXISTS (SELECT 1 FROM staging.chat_versions v WHERE v.chat_id = c.chat_id AND v.load_id <= $1)
       OR EXISTS (SELECT 1 FROM staging.chat_version_history h WHERE h.chat_id = c.chat_id AND h.load_id <= $1))
  AND NOT EXISTS (SELECT 1 FROM staging.retirements r
                  WHERE r.chat_id = c.chat_id AND r.retired_by_load <= $1
                    AND (r.revived_by_load IS NULL OR r.revived_by_load > $1))
UNION ALL
SELECT DISTINCT NULL::text, chat_id_sha256, 'erased'
FROM staging.erasures WHERE after_load >= $1 AND existed`
	removedCopySQL = `COPY (SELECT "chatId", "chatId sha256", reason FROM delta_removed ORDER BY "chatId sha256", reason) TO STDOUT (FORMAT csv, HEADER)`
)

// CopyRemoved writes removed.csv of a delta since load to w: header
// chatId,chatId sha256,reason, rows ordered by the hash. It returns the
// rows written.
func (sn *Snapshot) CopyRemoved(ctx context.Context, load int64, w io.Writer) (int64, error) {
	for _, q := range []struct {
		sql  string
		args []any
	}{{removedCreateSQL, nil}, {removedSQL, []any{load}}} {
		if _, err := sn.tx.Exec(ctx, q.sql, q.args...); err != nil {
			return 0, sn.s.translate(err, "listing the removed chats")
		}
	}
	tag, err := sn.tx.Conn().PgConn().CopyTo(ctx, errorTaggingWriter{w}, removedCopySQL)
	if err != nil {
		return 0, sn.s.translate(err, "copying removed.csv")
	}
	return tag.RowsAffected(), nil
}
