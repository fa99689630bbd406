package store

import (
	"context"
	"time"
)

// The merge applies a load's landing tables to the staging tables,
// set-wise, in this order; each statement is one pass, none runs per row.
// The direct rows (load.go) are already in place: the merge sees them as
// part of the state before it, which is right because each is the first
// row of its chat in the file.

// mergeSettingsSQL: the window sorts below fit in memory with a little
// more than the default work_mem; LOCAL ends with the transaction.
const mergeSettingsSQL = `SET LOCAL work_mem = '64MB'`

// loadCompressionSQL runs before the COPY: a chat's raw JSON over ~2 kB is
// compressed into TOAST; lz4 does that several times faster than the
// default pglz, for about the same size. Servers built without lz4 keep
// pglz.
const loadCompressionSQL = `
SELECT set_config('default_toast_compression', 'lz4', true)
FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`

// landingAnalyzeSQL: the landing tables were empty a moment ago, and the
// joins below need row estimates to pick hash plans; autovacuum would
// analyze them too late. Only the key columns are analyzed: sampling the
// wide ones costs seconds and informs nothing.
var landingAnalyzeSQL = []string{
	`ANALYZE chatstage_load.incoming (line, chat_id, updated_at)`,
	`ANALYZE chatstage_load.incoming_keys`,
	`ANALYZE chatstage_load.known_first`,
	`ANALYZE chatstage_load.incoming_messages (line, chat_id)`,
}

// rejectsRepeatSQL counts a record rejected again while an earlier load's
// reject of it (the same raw text) is open: one open reject, with its
// repeats, instead of a new one each night.
const rejectsRepeatSQL = `
UPDATE staging.rejects r SET repeats = r.repeats + 1, last_load_id = $1
FROM (SELECT DISTINCT sha256(convert_to(raw, 'UTF8')) AS h FROM chatstage_load.incoming_rejects) i
WHERE r.resolved_by_load IS NULL AND r.raw_sha256 = i.h AND r.load_id <> $1`

// rejectsInsertSQL keeps every other rejected record with its load.
const rejectsInsertSQL = `
INSERT INTO staging.rejects (load_id, source_line, reason_code, reason, raw, chat_id, raw_sha256, last_load_id)
SELECT $1, i.line, i.reason_code, i.reason, i.raw, i.chat_id, i.h, $1
FROM (SELECT *, sha256(convert_to(raw, 'UTF8')) AS h FROM chatstage_load.incoming_rejects) i
WHERE NOT EXISTS (SELECT 1 FROM staging.rejects r
                  WHERE r.resolved_by_load IS NULL AND r.raw_sha256 = i.h AND r.load_id <> $1)`

// rejectsResolveSQL resolves the open rejects of earlier loads whose chat
// this load kept a row of: the record was made good. Run last, when the
// load succeeds.
const rejectsResolveSQL = `
UPDATE staging.rejects r SET resolved_by_load = $1
WHERE r.resolved_by_load IS NULL AND r.last_load_id < $1 AND r.chat_id IS NOT NULL
  AND (r.chat_id IN (SELECT chat_id FROM chatstage_load.keys)
       OR r.chat_id IN (SELECT chat_id FROM chatstage_load.known_first)
       OR r.chat_id IN (SELECT chat_id FROM staging.chats WHERE load_id = $1))`

// keysCreateSQL computes, on the narrow key columns only, what the merge
// decides, so no statement has to sort the wide rows:
//   - last_of_version: the row that wins its (chat_id, updated_at): the
//     later line;
//   - candidate: the row that would be the chat's current version: the
//     greatest updated_at, the later line on a tie.
//
// Rows whose version is kept as it is (incoming_keys) take part as keys
// only: they are never written, but one of them may be a chat's candidate.
const keysCreateSQL = `
INSERT INTO chatstage_load.keys (line, chat_id, updated_at, row_hash, known, last_of_version, candidate)
SELECT line, chat_id, updated_at, row_hash, known,
       row_number() OVER (PARTITION BY chat_id, updated_at ORDER BY line DESC) = 1 AS last_of_version,
       row_number() OVER (PARTITION BY chat_id ORDER BY updated_at DESC, line DESC) = 1 AS candidate
FROM (SELECT line, chat_id, updated_at, row_hash, false AS known FROM chatstage_load.incoming
      UNION ALL
      SELECT line, chat_id, updated_at, row_hash, true FROM chatstage_load.incoming_keys) rows`

// keysAnalyzeSQL: keys is analyzed like the landing tables. A Bloom
// filter's false positive puts a row or two in it on a re-load, and
// without row estimates the classification hashed all of known_first
// (200,000 rows) for them.
const keysAnalyzeSQL = `ANALYZE chatstage_load.keys`

// outcomeCountSQL gives each chat of the merged rows its one outcome
// (contract section 3: counts are per chat), judged by its current
// version before the load and its candidate (the version that would be
// current: the file's greatest updated_at, the later line on a tie, which
// is also the last row of that version):
//   - inserted: no kept version before the load. A chat whose first row
//     took the direct path is already in staging.chats under this load: it
//     was counted as it was copied ('direct' here, not counted again);
//   - updated: the candidate is newer, or the same version with other
//     content;
//   - unchanged: the candidate is the current version as it is, or the
//     chat's first row, counted as it was copied (known_first), was;
//   - stale: the file carried only older versions.
//
// It also counts the chats that known_first holds too, by what Copy
// counted them as, so that they can be taken out of those counts: each
// chat is counted once.
const outcomeCountSQL = `
WITH classified AS (
    SELECT CASE
             WHEN c.chat_id IS NULL THEN 'inserted'
             WHEN c.load_id = $1 THEN 'direct'
             WHEN k.updated_at > c.updated_at
               OR (k.updated_at = c.updated_at AND k.row_hash <> c.row_hash) THEN 'updated'
             WHEN k.updated_at = c.updated_at OR kf.current THEN 'unchanged'
             ELSE 'stale'
           END AS outcome,
           kf.current AS copied_current
    FROM chatstage_load.keys k
    LEFT JOIN staging.chats c ON c.chat_id = k.chat_id
    LEFT JOIN chatstage_load.known_first kf ON kf.chat_id = k.chat_id
    WHERE k.candidate
)
SELECT count(*) FILTER (WHERE outcome = 'inserted'),
       count(*) FILTER (WHERE outcome = 'updated'),
       count(*) FILTER (WHERE outcome = 'unchanged'),
       count(*) FILTER (WHERE outcome = 'stale'),
       count(*) FILTER (WHERE copied_current),
       count(*) FILTER (WHERE NOT copied_current)
FROM classified`

// fromIncoming are the expressions of a staging table's columns that do
// not come from incoming's column of the same name.
var fromIncoming = map[string]string{"load_id": "$1", "source_line": "i.line", "retired_by_load": "NULL::bigint"}

// versionsReplacedSQL moves to the history the contents this load
// replaces by other content of the same version (contract section 6:
// every content kept), unless this load wrote them itself.
var versionsReplacedSQL = `
INSERT INTO staging.chat_version_history (` + list("", columnNames(chatVersionsTable)) + `, replaced_by_load)
SELECT ` + list("v.", columnNames(chatVersionsTable)) + `, $1
FROM chatstage_load.keys k
JOIN staging.chat_versions v ON v.chat_id = k.chat_id AND v.updated_at = k.updated_at
WHERE k.last_of_version AND NOT k.known AND v.row_hash <> k.row_hash AND v.load_id <> $1`

// versionsUpsertSQL adds the winning row of each version to the history.
// A version already kept with the same content is filtered out before the
// INSERT, because ON CONFLICT would lock, and so rewrite, every row it
// touches even when nothing changes. (xmax = 0) tells an inserted row from
// an updated one.
var versionsUpsertSQL = `
WITH written AS (
    INSERT INTO staging.chat_versions AS v (` + list("", columnNames(chatVersionsTable)) + `)
    SELECT ` + selectList("i", columnNames(chatVersionsTable), fromIncoming) + `
    FROM chatstage_load.keys k
    JOIN chatstage_load.incoming i ON i.chat_id = k.chat_id AND i.line = k.line
    WHERE k.last_of_version AND NOT k.known
      AND NOT EXISTS (SELECT 1 FROM staging.chat_versions x
                      WHERE x.chat_id = k.chat_id AND x.updated_at = k.updated_at AND x.row_hash = k.row_hash)
    ON CONFLICT (chat_id, updated_at) DO UPDATE SET ` + setExcluded(columnNames(chatVersionsTable, "chat_id", "updated_at")) + `
    RETURNING (xmax = 0) AS fresh
)
SELECT count(*) FILTER (WHERE fresh) FROM written`

// chatsUpsertSQL makes each chat's candidate current when it is newer than
// the current version, or the same version with other content, and keeps
// the chats it changed, with the line that now is current, in
// chatstage_load.changed to rewrite their messages. A known candidate is
// already in the history and so can never be newer than the current
// version, which is the greatest of the history.
var chatsUpsertSQL = `
WITH written AS (
    INSERT INTO staging.chats AS c (` + list("", columnNames(chatsTable)) + `)
    SELECT ` + selectList("i", columnNames(chatsTable), fromIncoming) + `
    FROM chatstage_load.keys k
    JOIN chatstage_load.incoming i ON i.chat_id = k.chat_id AND i.line = k.line
    LEFT JOIN staging.chats cur ON cur.chat_id = k.chat_id
    WHERE k.candidate AND NOT k.known
      AND (cur.chat_id IS NULL
           OR k.updated_at > cur.updated_at
           OR (k.updated_at = cur.updated_at AND k.row_hash <> cur.row_hash))
    ON CONFLICT (chat_id) DO UPDATE SET ` + setExcluded(columnNames(chatsTable, "chat_id", "retired_by_load")) + `,
        -- A retired chat comes back only with a newer version; other
        -- content of the same version leaves it retired (section 6).
        retired_by_load = CASE WHEN EXCLUDED.updated_at > c.updated_at THEN NULL ELSE c.retired_by_load END
    RETURNING c.chat_id, c.source_line
)
INSERT INTO chatstage_load.changed SELECT chat_id, source_line FROM written`

// retirementsRevivedSQL closes the retirements of the chats this load
// brought back: live now, retired until now.
const retirementsRevivedSQL = `
UPDATE staging.retirements r SET revived_by_load = $1
FROM chatstage_load.changed ch JOIN staging.chats c ON c.chat_id = ch.chat_id
WHERE r.chat_id = ch.chat_id AND r.revived_by_load IS NULL AND c.retired_by_load IS NULL`

// messageValues are a message's values, besides its chat, ordinal and
// the load that wrote it.
var messageValues = columnNames(messagesTable, "chat_id", "ordinal", "load_id")

// newMessagesSQL gathers the messages of the new current versions.
var newMessagesSQL = `
INSERT INTO chatstage_load.new_messages (chat_id, ordinal, ` + list("", messageValues) + `, load_id)
SELECT ch.chat_id, m.ordinal, ` + list("m.", messageValues) + `, $1
FROM chatstage_load.changed ch
JOIN chatstage_load.incoming_messages m ON m.chat_id = ch.chat_id AND m.line = ch.line`

// messagesDeleteSQL removes the messages of the changed chats that the new
// version does not have as they are, and keeps them in the history (but
// those this load wrote itself). A chat that goes on usually keeps its
// earlier messages unchanged and adds some: those rows are left alone,
// which spares their pages a rewrite (and a full-page image in the WAL).
var messagesDeleteSQL = `
WITH gone AS (
    DELETE FROM staging.messages m USING chatstage_load.changed ch
    WHERE m.chat_id = ch.chat_id
      AND NOT EXISTS (SELECT 1 FROM chatstage_load.new_messages n
                      WHERE n.chat_id = m.chat_id AND n.ordinal = m.ordinal
                        AND (` + list("n.", messageValues) + `)
                            IS NOT DISTINCT FROM (` + list("m.", messageValues) + `))
    RETURNING ` + list("m.", columnNames(messagesTable)) + `
)
INSERT INTO staging.message_history (` + list("", columnNames(messagesTable)) + `, replaced_by_load)
SELECT ` + list("", columnNames(messagesTable)) + `, $1 FROM gone WHERE load_id <> $1`

// messagesInsertSQL writes the new and changed messages, in primary key
// order so the index grows at its right edge; the unchanged ones are still
// there and DO NOTHING skips them without a write.
var messagesInsertSQL = `
INSERT INTO staging.messages (` + list("", columnNames(messagesTable)) + `)
SELECT ` + list("", columnNames(messagesTable)) + `
FROM chatstage_load.new_messages
ORDER BY chat_id, ordinal
ON CONFLICT (chat_id, ordinal) DO NOTHING`

// updatesApplySQL makes the direct updates (Batch.Updates) current: each
// row of chatstage_load.updates replaces its chat's row.
var updatesApplySQL = `
UPDATE staging.chats c SET ` + setFrom("u", columnNames(updatesTable, "chat_id")) + `
FROM chatstage_load.updates u
WHERE u.chat_id = c.chat_id`

// applyUpdates writes the current rows of the direct updates, before
// anything else reads staging.chats: the retire plan and the merge take
// them as the state before the file's later rows, as they take the new
// chats. The join must walk the updates and probe staging.chats by its
// primary key, so that its cost follows the file: the planner, which
// costs each probe as a read from disk, scans the whole table instead
// once the updates are a few percent of it (0.5 s on 1,000,000 chats for
// 20,000 updates, docs/performance.md), hence hash and merge joins off
// for this one statement.
func (l *Load) applyUpdates(ctx context.Context) error {
	if l.counts.updates == 0 {
		return nil
	}
	start := time.Now()
	err := l.withIndexJoins(ctx, func() error {
		_, err := l.tx.Exec(ctx, updatesApplySQL)
		return err
	})
	if err != nil {
		return l.s.translate(err, l.step("writing updated chats"))
	}
	l.s.logger.Debug("merge step", "load_id", l.id, "step", "updates", "rows", l.counts.updates, "duration", time.Since(start))
	return nil
}

// withIndexJoins runs f with hash and merge joins off, so that a join of
// a landing table with a staging table is a nested loop over the landing
// rows, each probing an index; then sets them back as they were. The
// settings are the transaction's (set_config's is_local), and on a
// distributed database only the coordinator's: the workers plan their
// shards' statements themselves.
func (l *Load) withIndexJoins(ctx context.Context, f func() error) error {
	var hash, merge string
	if err := l.tx.QueryRow(ctx, joinSettingsSQL).Scan(&hash, &merge); err != nil {
		return err
	}
	if _, err := l.tx.Exec(ctx, joinSettingsSetSQL, "off", "off"); err != nil {
		return err
	}
	if err := f(); err != nil {
		return err
	}
	_, err := l.tx.Exec(ctx, joinSettingsSetSQL, hash, merge)
	return err
}

// joinSettingsSQL reads, and joinSettingsSetSQL sets for the transaction,
// enable_hashjoin and enable_mergejoin.
const (
	joinSettingsSQL    = `SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')`
	joinSettingsSetSQL = `SELECT set_config('enable_hashjoin', $1, true), set_config('enable_mergejoin', $2, true)`
)

// merge applies the landing tables to the staging tables and fills the
// counts of res, its own and those Copy made.
func (l *Load) merge(ctx context.Context, res *LoadResult) error {
	tx := l.tx
	step := time.Now()
	lap := func(what string) {
		l.s.logger.Debug("merge step", "load_id", l.id, "step", what, "duration", time.Since(step))
		step = time.Now()
	}
	exec := func(what, sql string, args ...any) error {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return l.s.translate(err, l.step(what))
		}
		return nil
	}
	if err := exec("preparing the merge", mergeSettingsSQL); err != nil {
		return err
	}
	if err := l.storeRejects(ctx); err != nil {
		return err
	}
	lap("rejects")
	// What Copy counted as it wrote: each direct row is a new chat, each
	// direct update an updated one, each with its new version.
	c := l.counts
	res.ChatsInserted, res.ChatsUpdated = c.direct, c.updates
	res.ChatsUnchanged, res.ChatsStale = c.unchanged, c.stale
	res.VersionsNew = c.direct + c.updates
	res.MessagesWritten = c.directMessages + c.updateMessages
	// A file whose every row was known, new or a direct update (a re-load,
	// a nightly file of the chats that changed) has nothing to merge: the
	// steps below would each read the staging tables for nothing.
	if c.merged+c.knownAgain > 0 {
		if err := l.mergeRows(ctx, res, lap, exec); err != nil {
			return err
		}
	}
	if l.p.Snapshot && l.retire.unknown == 0 && l.retire.would > 0 {
		tag, err := tx.Exec(ctx, retireSQL, l.id)
		if err != nil {
			return l.s.translate(err, l.step("retiring chats"))
		}
		res.ChatsRetired = tag.RowsAffected()
		lap("retire")
	}
	if err := exec("resolving rejects", rejectsResolveSQL, l.id); err != nil {
		return err
	}
	return nil
}

// mergeRows merges the rows Copy copied to the landing tables, and adds
// their counts to res.
func (l *Load) mergeRows(ctx context.Context, res *LoadResult, lap func(string), exec func(string, string, ...any) error) error {
	tx := l.tx
	for _, q := range landingAnalyzeSQL {
		if err := exec("analyzing the landing tables", q); err != nil {
			return err
		}
	}
	lap("analyze")
	for _, q := range []string{keysCreateSQL, keysAnalyzeSQL} {
		if err := exec("ordering rows", q); err != nil {
			return err
		}
	}
	lap("keys")
	var inserted, updated, unchanged, stale int64
	var againUnchanged, againStale int64 // chats Copy counted that the merge counts too
	if err := tx.QueryRow(ctx, outcomeCountSQL, l.id).Scan(&inserted, &updated, &unchanged, &stale,
		&againUnchanged, &againStale); err != nil {
		return l.s.translate(err, l.step("classifying chats"))
	}
	res.ChatsInserted += inserted
	res.ChatsUpdated += updated
	res.ChatsUnchanged += unchanged - againUnchanged
	res.ChatsStale += stale - againStale
	lap("classify")
	if l.counts.merged == 0 {
		return nil // only keys of known rows: nothing to write
	}
	// Only a version kept with other content, which a lookup saw, has a
	// content to move to the history.
	if l.replaces.Load() {
		if err := exec("keeping replaced contents", versionsReplacedSQL, l.id); err != nil {
			return err
		}
	}
	var versions int64
	if err := tx.QueryRow(ctx, versionsUpsertSQL, l.id).Scan(&versions); err != nil {
		return l.s.translate(err, l.step("writing versions"))
	}
	res.VersionsNew += versions
	lap("versions")
	if err := exec("writing current chats", chatsUpsertSQL, l.id); err != nil {
		return err
	}
	if err := exec("bringing back retired chats", retirementsRevivedSQL, l.id); err != nil {
		return err
	}
	lap("chats")
	if err := exec("gathering messages", newMessagesSQL, l.id); err != nil {
		return err
	}
	if err := exec("removing replaced messages", messagesDeleteSQL, l.id); err != nil {
		return err
	}
	lap("messages delete")
	tag, err := tx.Exec(ctx, messagesInsertSQL)
	if err != nil {
		return l.s.translate(err, l.step("writing messages"))
	}
	lap("messages insert")
	res.MessagesWritten += tag.RowsAffected()
	return nil
}

// storeRejects keeps the load's rejects: counted again when the same
// record is an open reject already, stored otherwise.
func (l *Load) storeRejects(ctx context.Context) error {
	for _, q := range []string{rejectsRepeatSQL, rejectsInsertSQL} {
		if _, err := l.tx.Exec(ctx, q, l.id); err != nil {
			return l.s.translate(err, l.step("storing rejects"))
		}
	}
	return nil
}
