package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
)

// Erasure is what Forget did, or would do, for one chat_id.
type Erasure struct {
	ChatIDSHA256 string `json:"chat_id_sha256"` // never the id itself
	Existed      bool   `json:"existed"`        // the chat had a kept version
	// Rows removed, per table.
	Versions       int64 `json:"versions_removed"`
	VersionHistory int64 `json:"version_history_removed"`
	Chats          int64 `json:"chats_removed"`
	Messages       int64 `json:"messages_removed"`
	MessageHistory int64 `json:"message_history_removed"`
	Retirements    int64 `json:"retirements_removed"`
	Rejects        int64 `json:"rejects_removed"`
}

// ForgetResult is what Forget did.
type ForgetResult struct {
	// ChatsErased is how many of the ids named were chats that existed.
	ChatsErased int64     `json:"chats_erased"`
	Erasures    []Erasure `json:"erasures"` // in the order of the ids
	DryRun      bool      `json:"dry_run"`
}

// forgetSQL deletes every row of one chat from every table, history and
// rejects (the rejects whose chat_id field is the id) included, and counts
// them per table.
const forgetSQL = `
WITH v  AS (DELETE FROM staging.chat_versions WHERE chat_id = $1 RETURNING 1),
     vh AS (DELETE FROM staging.chat_version_history WHERE chat_id = $1 RETURNING 1),
     c  AS (DELETE FROM staging.chats WHERE chat_id = $1 RETURNING 1),
     m  AS (DELETE FROM staging.messages WHERE chat_id = $1 RETURNING 1),
     mh AS (DELETE FROM staging.message_history WHERE chat_id = $1 RETURNING 1),
     r  AS (DELETE FROM staging.retirements WHERE chat_id = $1 RETURNING 1),
     rj AS (DELETE FROM staging.rejects WHERE chat_id = $1
                OR (reason_code = 'chat_id_too_long' AND octet_length($1) > 512 AND strpos(raw, $1) > 0)
            RETURNING 1)
SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM vh), (SELECT count(*) FROM c),
       (SELECT count(*) FROM m), (SELECT count(*) FROM mh), (SELECT count(*) FROM r), (SELECT count(*) FROM rj)`

// erasureRecordSQL records an erasure: the id's hash, never the id, and
// the last load that ended before it. A load recorded running meanwhile
// waits for the ingest lock that Forget holds: it commits after the
// erasure, so the erasure is not "after" it.
const erasureRecordSQL = `
INSERT INTO staging.erasures (chat_id_sha256, erased_at, after_load, existed, versions_removed,
    version_history_removed, chats_removed, messages_removed, message_history_removed,
    retirements_removed, rejects_removed)
VALUES ($1, $2, $11, $3, $4, $5, $6, $7, $8, $9, $10)`

// lastEndedLoadSQL is an erasure's after_load. (A subquery inside the
// INSERT would be simpler; a distributed database refuses it.)
const lastEndedLoadSQL = `SELECT coalesce(max(load_id), 0) FROM staging.loads WHERE status <> 'running'`

// Forget erases the chats chatIDs (each trimmed and sanitized as a row's
// chat_id, by the caller) from every table, in one transaction, and
// records each erasure by the SHA-256 of the id: later loads skip their
// rows (contract section 6). Every id is recorded, whether or not it was a
// chat. It waits for a running load (the ingest lock). A dry run does the
// same and rolls back: nothing is erased nor recorded.
func (s *Store) Forget(ctx context.Context, chatIDs []string, dryRun bool) (ForgetResult, error) {
	res := ForgetResult{Erasures: []Erasure{}, DryRun: dryRun}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, s.translate(err, "erasing")
	}
	defer conn.Release()
	if err := s.lockIngest(ctx, conn, nil); err != nil {
		return res, s.translate(err, "waiting for the ingest lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock_all()`) //nolint:errcheck // ends with the session anyway
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, s.translate(err, "erasing")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	now := time.Now()
	var afterLoad int64
	if err := tx.QueryRow(ctx, lastEndedLoadSQL).Scan(&afterLoad); err != nil {
		return res, s.translate(err, "erasing")
	}
	for _, id := range chatIDs {
		sum := sha256.Sum256([]byte(id))
		e := Erasure{ChatIDSHA256: hex.EncodeToString(sum[:])}
		if err := tx.QueryRow(ctx, forgetSQL, id).Scan(&e.Versions, &e.VersionHistory, &e.Chats,
			&e.Messages, &e.MessageHistory, &e.Retirements, &e.Rejects); err != nil {
			return res, s.translate(err, "erasing")
		}
		e.Existed = e.Versions+e.VersionHistory > 0
		if e.Existed {
			res.ChatsErased++
		}
		if _, err := tx.Exec(ctx, erasureRecordSQL, e.ChatIDSHA256, now, e.Existed, e.Versions, e.VersionHistory,
			e.Chats, e.Messages, e.MessageHistory, e.Retirements, e.Rejects, afterLoad); err != nil {
			return res, s.translate(err, "recording the erasure")
		}
		res.Erasures = append(res.Erasures, e)
	}
	if dryRun {
		return res, nil // rolled back
	}
	if err := tx.Commit(ctx); err != nil {
		return res, s.translate(err, "committing the erasure")
	}
	return res, nil
}

// Erasures lists the erasures recorded, newest first, at most limit (all
// when limit <= 0).
func (s *Store) Erasures(ctx context.Context, limit int) ([]ErasureRecord, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, erasuresSQL, lim)
	if err != nil {
		return nil, s.translate(err, "reading erasures")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ErasureRecord])
	if err != nil {
		return nil, s.translate(err, "reading erasures")
	}
	return out, nil
}

// ErasureRecord is an erasure as staging.erasures keeps it.
type ErasureRecord struct {
	ChatIDSHA256 string    `json:"chat_id_sha256"`
	ErasedAt     time.Time `json:"erased_at"`
	AfterLoad    int64     `json:"after_load"`
	Existed      bool      `json:"existed"`
}

const erasuresSQL = `
SELECT chat_id_sha256, erased_at, after_load, existed FROM staging.erasures
ORDER BY erasure_id DESC LIMIT $1`
