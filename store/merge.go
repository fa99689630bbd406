package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The merge runs set-wise over the incoming table, in this order. Each
// statement is one pass; none runs per row.

// mergeSettingsSQL: the window sorts below fit in memory with a little
// more than the default work_mem; LOCAL ends with the transaction.
const mergeSettingsSQL = `SET LOCAL work_mem = '64MB'`

// loadCompressionSQL runs before the COPY: a chat's raw JSON over ~2 kB is compressed into
// TOAST; lz4 does that several times faster than the default pglz, for
// about the same size. Servers built without lz4 keep pglz.
const loadCompressionSQL = `
SELECT set_config('default_toast_compression', 'lz4', true)
FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`

// incomingAnalyzeSQL: temporary tables are never auto-analyzed, and the
// joins below need row estimates to pick hash plans. Only the key columns
// are analyzed: sampling the wide ones costs seconds and informs nothing.
const incomingAnalyzeSQL = `ANALYZE incoming (line, reject_code, chat_id, updated_at)`

const knownFirstAnalyzeSQL = `ANALYZE known_first`

// rejectsInsertSQL keeps every rejected record with its load.
const rejectsInsertSQL = `
INSERT INTO staging.rejects (load_id, source_line, reason_code, reason, raw)
SELECT $1, line, reject_code, reject_reason, raw FROM incoming WHERE reject_code IS NOT NULL`

// keysCreateSQL computes, on the narrow key columns only, everything the
// merge decides, so no statement has to sort the wide rows:
//   - file_prior / file_same_hash: the state before each row if the file
//     were applied one row at a time, in file order (for the counts);
//   - last_of_version: the row that wins its (chat_id, updated_at): the
//     later line;
//   - candidate: the row that would be the chat's current version: the
//     greatest updated_at, the later line on a tie.
const keysCreateSQL = `
CREATE TEMP TABLE keys ON COMMIT DROP AS
SELECT line, chat_id, updated_at, row_hash, known,
       max(updated_at) OVER (PARTITION BY chat_id ORDER BY line
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS file_prior,
       lag(row_hash) OVER (PARTITION BY chat_id, updated_at ORDER BY line) AS file_same_hash,
       row_number() OVER (PARTITION BY chat_id, updated_at ORDER BY line DESC) = 1 AS last_of_version,
       row_number() OVER (PARTITION BY chat_id ORDER BY updated_at DESC, line DESC) = 1 AS candidate
FROM incoming WHERE reject_code IS NULL`

// outcomeCountSQL gives each chat of the incoming rows its one outcome
// (contract section 3: counts are per chat), judged by its current
// version before the load and its candidate (the version that would be
// current: the file's greatest updated_at, the later line on a tie, which
// is also the last row of that version):
//   - inserted: no kept version before the load. A chat whose first row
//     took the direct path is already in staging.chats under this load: it
//     was counted as it streamed ('direct' here, not counted again);
//   - updated: the candidate is newer, or the same version with other
//     content;
//   - unchanged: the candidate is the current version as it is, or the
//     chat's first row, counted as it streamed (known_first), was;
//   - stale: the file carried only older versions.
//
// It also counts the chats that known_first holds too, by what the stream
// counted them as, so that the caller can take them out of those counts:
// each chat is counted once.
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
           kf.current AS streamed_current
    FROM keys k
    LEFT JOIN staging.chats c ON c.chat_id = k.chat_id
    LEFT JOIN known_first kf ON kf.chat_id = k.chat_id
    WHERE k.candidate
)
SELECT count(*) FILTER (WHERE outcome = 'inserted'),
       count(*) FILTER (WHERE outcome = 'updated'),
       count(*) FILTER (WHERE outcome = 'unchanged'),
       count(*) FILTER (WHERE outcome = 'stale'),
       count(*) FILTER (WHERE streamed_current),
       count(*) FILTER (WHERE NOT streamed_current)
FROM classified`

// versionsUpsertSQL adds the winning row of each version to the history.
// A version already kept with the same content is filtered out before the
// INSERT, because ON CONFLICT would lock, and so rewrite, every row it
// touches even when nothing changes; rows the loader found already kept
// (known) arrive without their wide columns and are never written.
// (xmax = 0) tells an inserted row from an updated one.
const versionsUpsertSQL = `
WITH written AS (
    INSERT INTO staging.chat_versions AS v (
        chat_id, updated_at, created_at, slug, token, organization_id, language, is_test_chat,
        sentiment, resolution, message_count, conversation_log, structured_info, facts,
        default_message_id, is_default_chat, messages_kept, quality_flags, row_hash, load_id, source_line)
    SELECT i.chat_id, i.updated_at, i.created_at, i.slug, i.token, i.organization_id, i.language,
           i.is_test_chat, i.sentiment, i.resolution, i.message_count, i.conversation_log,
           i.structured_info, i.facts::jsonb, i.default_message_id, i.is_default_chat, i.messages_kept,
           i.quality_flags, i.row_hash, $1, i.line
    FROM keys k
    JOIN incoming i ON i.line = k.line
    WHERE k.last_of_version AND NOT k.known
      AND NOT EXISTS (SELECT 1 FROM staging.chat_versions x
                      WHERE x.chat_id = k.chat_id AND x.updated_at = k.updated_at AND x.row_hash = k.row_hash)
    ON CONFLICT (chat_id, updated_at) DO UPDATE SET
        created_at = EXCLUDED.created_at, slug = EXCLUDED.slug, token = EXCLUDED.token,
        organization_id = EXCLUDED.organization_id, language = EXCLUDED.language,
        is_test_chat = EXCLUDED.is_test_chat, sentiment = EXCLUDED.sentiment,
        resolution = EXCLUDED.resolution, message_count = EXCLUDED.message_count,
        conversation_log = EXCLUDED.conversation_log, structured_info = EXCLUDED.structured_info,
        facts = EXCLUDED.facts, default_message_id = EXCLUDED.default_message_id,
        is_default_chat = EXCLUDED.is_default_chat, messages_kept = EXCLUDED.messages_kept,
        quality_flags = EXCLUDED.quality_flags, row_hash = EXCLUDED.row_hash,
        load_id = EXCLUDED.load_id, source_line = EXCLUDED.source_line
    RETURNING (xmax = 0) AS fresh
)
SELECT count(*) FILTER (WHERE fresh) FROM written`

// changedCreateSQL holds the chats whose current version this load
// replaces, with the line that now is current, to rewrite their messages.
const changedCreateSQL = `CREATE TEMP TABLE changed (chat_id text COLLATE "C" PRIMARY KEY, line bigint NOT NULL) ON COMMIT DROP`

// chatsUpsertSQL makes each chat's candidate current when it is newer than
// the current version, or the same version with other content. A known
// candidate is already in the history and so can never be newer than the
// current version, which is the greatest of the history.
const chatsUpsertSQL = `
WITH written AS (
    INSERT INTO staging.chats AS c (
        chat_id, updated_at, created_at, slug, token, organization_id, language, is_test_chat,
        sentiment, resolution, message_count, facts, default_message_id, is_default_chat,
        messages_kept, quality_flags, row_hash, load_id, source_line)
    SELECT i.chat_id, i.updated_at, i.created_at, i.slug, i.token, i.organization_id, i.language,
           i.is_test_chat, i.sentiment, i.resolution, i.message_count, i.facts::jsonb,
           i.default_message_id, i.is_default_chat, i.messages_kept, i.quality_flags, i.row_hash, $1, i.line
    FROM keys k
    JOIN incoming i ON i.line = k.line
    LEFT JOIN staging.chats cur ON cur.chat_id = k.chat_id
    WHERE k.candidate AND NOT k.known
      AND (cur.chat_id IS NULL
           OR k.updated_at > cur.updated_at
           OR (k.updated_at = cur.updated_at AND k.row_hash <> cur.row_hash))
    ON CONFLICT (chat_id) DO UPDATE SET
        updated_at = EXCLUDED.updated_at, created_at = EXCLUDED.created_at, slug = EXCLUDED.slug,
        token = EXCLUDED.token, organization_id = EXCLUDED.organization_id,
        language = EXCLUDED.language, is_test_chat = EXCLUDED.is_test_chat,
        sentiment = EXCLUDED.sentiment, resolution = EXCLUDED.resolution,
        message_count = EXCLUDED.message_count, facts = EXCLUDED.facts,
        default_message_id = EXCLUDED.default_message_id, is_default_chat = EXCLUDED.is_default_chat,
        messages_kept = EXCLUDED.messages_kept, quality_flags = EXCLUDED.quality_flags,
        row_hash = EXCLUDED.row_hash, load_id = EXCLUDED.load_id, source_line = EXCLUDED.source_line
    RETURNING c.chat_id, c.source_line
)
INSERT INTO changed SELECT chat_id, source_line FROM written`

// newMessagesSQL explodes the message arrays of the new current versions.
const newMessagesSQL = `
CREATE TEMP TABLE new_messages ON COMMIT DROP AS
SELECT i.chat_id, (m.ord - 1)::integer AS ordinal, m.id AS message_id, m.role, m.type, m.content,
       m.disclaimer, m.extra::jsonb AS extra
FROM changed ch
JOIN incoming i ON i.line = ch.line
CROSS JOIN LATERAL unnest(i.m_id, i.m_role, i.m_type, i.m_content, i.m_disclaimer, i.m_extra)
     WITH ORDINALITY AS m(id, role, type, content, disclaimer, extra, ord)`

// messagesDeleteSQL removes the messages of the changed chats that the new
// version does not have as they are. A chat that goes on usually keeps its
// earlier messages unchanged and adds some: those rows are left alone,
// which spares their pages a rewrite (and a full-page image in the WAL).
const messagesDeleteSQL = `
DELETE FROM staging.messages m USING changed ch
WHERE m.chat_id = ch.chat_id
  AND NOT EXISTS (SELECT 1 FROM new_messages n
                  WHERE n.chat_id = m.chat_id AND n.ordinal = m.ordinal
                    AND (n.message_id, n.role, n.type, n.content, n.disclaimer, n.extra)
                        IS NOT DISTINCT FROM (m.message_id, m.role, m.type, m.content, m.disclaimer, m.extra))`

// messagesInsertSQL writes the new and changed messages, in primary key
// order so the index grows at its right edge; the unchanged ones are still
// there and DO NOTHING skips them without a write.
const messagesInsertSQL = `
INSERT INTO staging.messages (chat_id, ordinal, message_id, role, type, content, disclaimer, extra)
SELECT chat_id, ordinal, message_id, role, type, content, disclaimer, extra
FROM new_messages
ORDER BY chat_id, ordinal
ON CONFLICT (chat_id, ordinal) DO NOTHING`

// merge applies the incoming table to the staging tables and fills the
// counts of res from its own and those the stream counted.
func (s *Store) merge(ctx context.Context, tx pgx.Tx, res *Load, streamed copyCounts) error {
	step := time.Now()
	lap := func(what string) {
		s.logger.Debug("merge step", "load_id", res.LoadID, "step", what, "duration", time.Since(step))
		step = time.Now()
	}
	if _, err := tx.Exec(ctx, mergeSettingsSQL); err != nil {
		return fmt.Errorf("preparing merge: %w", err)
	}
	for _, q := range []string{incomingAnalyzeSQL, knownFirstAnalyzeSQL} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("analyzing incoming rows: %w", err)
		}
	}
	lap("analyze")
	if _, err := tx.Exec(ctx, rejectsInsertSQL, res.LoadID); err != nil {
		return fmt.Errorf("storing rejects: %w", err)
	}
	lap("rejects")
	if _, err := tx.Exec(ctx, keysCreateSQL); err != nil {
		return fmt.Errorf("ordering rows: %w", err)
	}
	lap("keys")
	var againUnchanged, againStale int64 // chats the stream counted that the merge counts too
	if err := tx.QueryRow(ctx, outcomeCountSQL, res.LoadID).Scan(
		&res.ChatsInserted, &res.ChatsUpdated, &res.ChatsUnchanged, &res.ChatsStale,
		&againUnchanged, &againStale); err != nil {
		return fmt.Errorf("classifying chats: %w", err)
	}
	// The direct rows were new chats: each one inserted, one new version.
	res.ChatsInserted += streamed.direct
	res.VersionsNew += streamed.direct
	res.MessagesWritten += streamed.directMessages
	res.ChatsUnchanged += streamed.unchanged - againUnchanged
	res.ChatsStale += streamed.stale - againStale
	lap("classify")
	var versionsNew int64
	if err := tx.QueryRow(ctx, versionsUpsertSQL, res.LoadID).Scan(&versionsNew); err != nil {
		return fmt.Errorf("writing versions: %w", err)
	}
	res.VersionsNew += versionsNew
	lap("versions")
	if _, err := tx.Exec(ctx, changedCreateSQL); err != nil {
		return fmt.Errorf("preparing current chats: %w", err)
	}
	if _, err := tx.Exec(ctx, chatsUpsertSQL, res.LoadID); err != nil {
		return fmt.Errorf("writing current chats: %w", err)
	}
	lap("chats")
	if _, err := tx.Exec(ctx, newMessagesSQL); err != nil {
		return fmt.Errorf("exploding messages: %w", err)
	}
	if _, err := tx.Exec(ctx, messagesDeleteSQL); err != nil {
		return fmt.Errorf("removing replaced messages: %w", err)
	}
	lap("messages delete")
	tag, err := tx.Exec(ctx, messagesInsertSQL)
	if err != nil {
		return fmt.Errorf("writing messages: %w", err)
	}
	lap("messages insert")
	res.MessagesWritten += tag.RowsAffected()
	return nil
}
