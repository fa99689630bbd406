package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The merge runs set-wise over the incoming table, in this order. Each
// statement is one pass; none runs per row.

// incomingAnalyzeSQL: temporary tables are never auto-analyzed, and the
// window sorts and joins below need row estimates to pick hash plans.
const incomingAnalyzeSQL = `ANALYZE incoming`

// rejectsInsertSQL keeps every rejected record with its load.
const rejectsInsertSQL = `
INSERT INTO staging.rejects (load_id, source_line, reason_code, reason, raw)
SELECT $1, line, reject_code, reject_reason, raw FROM incoming WHERE reject_code IS NOT NULL`

// outcomeCountSQL classifies every row as if the file were applied one row
// at a time, in file order, on top of the current state: the version
// before a row is the greatest of the current one and the file's earlier
// rows of that chat; for the same version, the latest earlier content.
const outcomeCountSQL = `
WITH ordered AS (
    SELECT line, chat_id, updated_at, row_hash,
           max(updated_at) OVER (PARTITION BY chat_id ORDER BY line
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS file_prior,
           lag(row_hash) OVER (PARTITION BY chat_id, updated_at ORDER BY line) AS file_same_hash
    FROM incoming WHERE reject_code IS NULL
), classified AS (
    SELECT CASE
             WHEN p.prior IS NULL THEN 'inserted'
             WHEN o.updated_at > p.prior THEN 'updated'
             WHEN o.updated_at < p.prior THEN 'stale'
             WHEN coalesce(o.file_same_hash,
                           CASE WHEN c.updated_at = o.updated_at THEN c.row_hash END) = o.row_hash THEN 'unchanged'
             ELSE 'updated'
           END AS outcome
    FROM ordered o
    LEFT JOIN staging.chats c ON c.chat_id = o.chat_id
    CROSS JOIN LATERAL (SELECT greatest(o.file_prior, c.updated_at) AS prior) p
)
SELECT count(*) FILTER (WHERE outcome = 'inserted'),
       count(*) FILTER (WHERE outcome = 'updated'),
       count(*) FILTER (WHERE outcome = 'unchanged'),
       count(*) FILTER (WHERE outcome = 'stale')
FROM classified`

// versionsUpsertSQL adds the file's versions to the history. Of the same
// version twice in the file the later line wins. A version already kept
// with the same content is filtered out before the INSERT, because ON
// CONFLICT would lock, and so rewrite, every row it touches even when
// nothing changes. (xmax = 0) tells an inserted row from an updated one.
const versionsUpsertSQL = `
WITH latest AS (
    SELECT DISTINCT ON (chat_id, updated_at) *
    FROM incoming WHERE reject_code IS NULL
    ORDER BY chat_id, updated_at, line DESC
), written AS (
    INSERT INTO staging.chat_versions AS v (
        chat_id, updated_at, created_at, slug, token, organization_id, language, is_test_chat,
        sentiment, resolution, message_count, conversation_log, structured_info, facts,
        default_message_id, is_default_chat, messages_kept, quality_flags, row_hash, load_id, source_line)
    SELECT chat_id, updated_at, created_at, slug, token, organization_id, language, is_test_chat,
           sentiment, resolution, message_count, conversation_log, structured_info, facts::jsonb,
           default_message_id, is_default_chat, messages_kept, quality_flags, row_hash, $1, line
    FROM latest l
    WHERE NOT EXISTS (SELECT 1 FROM staging.chat_versions x
                      WHERE x.chat_id = l.chat_id AND x.updated_at = l.updated_at AND x.row_hash = l.row_hash)
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
const changedCreateSQL = `CREATE TEMP TABLE changed (chat_id text PRIMARY KEY, line bigint NOT NULL) ON COMMIT DROP`

// chatsUpsertSQL makes each chat's greatest version current: the greatest
// updated_at of the file (the later line on a tie) when it is newer than
// the current one, or the same version with other content.
const chatsUpsertSQL = `
WITH candidate AS (
    SELECT DISTINCT ON (chat_id) *
    FROM incoming WHERE reject_code IS NULL
    ORDER BY chat_id, updated_at DESC, line DESC
), written AS (
    INSERT INTO staging.chats AS c (
        chat_id, updated_at, created_at, slug, token, organization_id, language, is_test_chat,
        sentiment, resolution, message_count, facts, default_message_id, is_default_chat,
        messages_kept, quality_flags, row_hash, load_id, source_line)
    SELECT n.chat_id, n.updated_at, n.created_at, n.slug, n.token, n.organization_id, n.language,
           n.is_test_chat, n.sentiment, n.resolution, n.message_count, n.facts::jsonb,
           n.default_message_id, n.is_default_chat, n.messages_kept, n.quality_flags, n.row_hash, $1, n.line
    FROM candidate n
    LEFT JOIN staging.chats cur ON cur.chat_id = n.chat_id
    WHERE cur.chat_id IS NULL
       OR n.updated_at > cur.updated_at
       OR (n.updated_at = cur.updated_at AND n.row_hash <> cur.row_hash)
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

const messagesDeleteSQL = `
DELETE FROM staging.messages m USING changed ch WHERE m.chat_id = ch.chat_id`

// messagesInsertSQL explodes the message arrays of the new current versions.
const messagesInsertSQL = `
INSERT INTO staging.messages (chat_id, ordinal, updated_at, message_id, role, type, content, disclaimer, extra)
SELECT i.chat_id, (m.ord - 1)::integer, i.updated_at, m.id, m.role, m.type, m.content, m.disclaimer, m.extra::jsonb
FROM changed ch
JOIN incoming i ON i.line = ch.line
CROSS JOIN LATERAL unnest(i.m_id, i.m_role, i.m_type, i.m_content, i.m_disclaimer, i.m_extra)
     WITH ORDINALITY AS m(id, role, type, content, disclaimer, extra, ord)`

// merge applies the incoming table to the staging tables and fills the
// counts of res.
func (s *Store) merge(ctx context.Context, tx pgx.Tx, res *Load) error {
	if _, err := tx.Exec(ctx, incomingAnalyzeSQL); err != nil {
		return fmt.Errorf("analyzing incoming rows: %w", err)
	}
	if _, err := tx.Exec(ctx, rejectsInsertSQL, res.LoadID); err != nil {
		return fmt.Errorf("storing rejects: %w", err)
	}
	if err := tx.QueryRow(ctx, outcomeCountSQL).Scan(
		&res.ChatsInserted, &res.ChatsUpdated, &res.ChatsUnchanged, &res.ChatsStale); err != nil {
		return fmt.Errorf("classifying rows: %w", err)
	}
	if err := tx.QueryRow(ctx, versionsUpsertSQL, res.LoadID).Scan(&res.VersionsNew); err != nil {
		return fmt.Errorf("writing versions: %w", err)
	}
	if _, err := tx.Exec(ctx, changedCreateSQL); err != nil {
		return fmt.Errorf("preparing current chats: %w", err)
	}
	if _, err := tx.Exec(ctx, chatsUpsertSQL, res.LoadID); err != nil {
		return fmt.Errorf("writing current chats: %w", err)
	}
	if _, err := tx.Exec(ctx, messagesDeleteSQL); err != nil {
		return fmt.Errorf("removing replaced messages: %w", err)
	}
	tag, err := tx.Exec(ctx, messagesInsertSQL)
	if err != nil {
		return fmt.Errorf("writing messages: %w", err)
	}
	res.MessagesWritten = tag.RowsAffected()
	return nil
}
