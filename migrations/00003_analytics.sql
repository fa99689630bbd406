-- +goose Up
-- Operator and analyst views: data quality and conversation metrics, read
-- by chatstage report and by anyone with SQL. They are plain views over
-- the staging tables (no materialization): always current, nothing to
-- refresh, and nothing ingest has to keep in step. See docs/architecture.md.

-- chatstage rejects --format csv writes rejected records back under the
-- header of the file they came from, so a user can fix them and ingest
-- them again. Null for loads recorded before this column existed: the
-- contract's 13 columns are then assumed.
ALTER TABLE staging.loads ADD COLUMN header text;
COMMENT ON COLUMN staging.loads.header IS
    'the source file''s header line as read (CSV, BOM removed), so its rejects can be written back under it; null when recorded before chatstage stored it';

CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
    'chatstage metrics and data quality as views over the staging schema: per chat (chat_metrics), per load (load_quality) and per day (daily_quality). Read-only.';

-- Per chat, over the current version only (staging.chats and its
-- messages), because that is what the deliverables hold.
--
-- The message aggregates come from one pass over staging.messages in its
-- primary key order (chat_id, ordinal): lag() needs that order for user
-- turns, and the primary key gives it without a sort. The aggregate is
-- grouped by chat_id, the partition key of the window, so a filter on
-- chat_id is pushed down into it and a one-chat query reads one chat.
--
-- Dates and hours are taken in UTC, never the session's TimeZone, so the
-- same database gives the same figures to every client.
CREATE VIEW analytics.chat_metrics AS
WITH per_message AS (
    SELECT chat_id, role, content,
           lag(role) OVER (PARTITION BY chat_id ORDER BY ordinal) AS previous_role
    FROM staging.messages
), per_chat AS (
    SELECT chat_id,
           count(*)                                                        AS messages,
           count(*) FILTER (WHERE role = 'assistant')                      AS assistant_messages,
           count(*) FILTER (WHERE role = 'user')                           AS user_messages,
           count(*) FILTER (WHERE role IS DISTINCT FROM 'assistant'
                              AND role IS DISTINCT FROM 'user')            AS other_messages,
           count(*) FILTER (WHERE role = 'user'
                              AND previous_role IS DISTINCT FROM 'user')   AS user_turns,
           coalesce(sum(length(content)), 0)                               AS content_chars_total
    FROM per_message
    GROUP BY chat_id
)
SELECT c.chat_id,
       c.created_at,
       c.updated_at,
       c.language,
       c.is_test_chat,
       coalesce(m.messages, 0)                                             AS messages,
       coalesce(m.assistant_messages, 0)                                   AS assistant_messages,
       coalesce(m.user_messages, 0)                                        AS user_messages,
       coalesce(m.other_messages, 0)                                       AS other_messages,
       coalesce(m.user_turns, 0)                                           AS user_turns,
       coalesce(m.content_chars_total, 0)                                  AS content_chars_total,
       round(m.content_chars_total::numeric / nullif(m.messages, 0), 1)    AS content_chars_avg,
       coalesce(m.user_messages, 0) > 0                                    AS user_spoke,
       round(extract(epoch FROM c.updated_at - c.created_at), 3)           AS duration_seconds,
       (c.created_at AT TIME ZONE 'UTC')::date                             AS created_date,
       extract(hour FROM c.created_at AT TIME ZONE 'UTC')::integer         AS created_hour,
       extract(isodow FROM c.created_at AT TIME ZONE 'UTC')::integer       AS created_weekday,
       c.quality_flags,
       c.load_id
FROM staging.chats c
LEFT JOIN per_chat m ON m.chat_id = c.chat_id;
COMMENT ON VIEW analytics.chat_metrics IS
    'One row per current chat: its messages by role, user turns, content length, duration and creation time (UTC), and quality flags. Built from staging.chats and staging.messages.';
COMMENT ON COLUMN analytics.chat_metrics.other_messages IS 'messages whose role is neither assistant nor user (null included)';
COMMENT ON COLUMN analytics.chat_metrics.user_turns IS 'runs of consecutive user messages: a user message right after another user message is the same turn';
COMMENT ON COLUMN analytics.chat_metrics.content_chars_total IS 'characters of content over all messages (null content counts 0)';
COMMENT ON COLUMN analytics.chat_metrics.content_chars_avg IS 'content_chars_total / messages, one decimal; null when the chat has no message';
COMMENT ON COLUMN analytics.chat_metrics.user_spoke IS 'at least one message has role user (the opposite of is default chat)';
COMMENT ON COLUMN analytics.chat_metrics.duration_seconds IS 'updated_at - created_at in seconds; null when created_at is null, negative when the source says so';
COMMENT ON COLUMN analytics.chat_metrics.created_date IS 'date of created_at in UTC';
COMMENT ON COLUMN analytics.chat_metrics.created_hour IS 'hour of created_at in UTC, 0-23';
COMMENT ON COLUMN analytics.chat_metrics.created_weekday IS 'ISO weekday of created_at in UTC: 1 Monday .. 7 Sunday';
COMMENT ON COLUMN analytics.chat_metrics.load_id IS 'the load that made this version current';

-- Per load. Rejects are counted from staging.rejects; flags from the
-- versions each load wrote to staging.chat_versions. One column per reject
-- code and per flag (contract section 2, and the caps' field_too_large and
-- too_many_messages) rather than one row each, so a load is one row to
-- read or plot; a new code or flag is a new migration replacing these
-- views, as any change of them is. Until then rejects_other counts it, so
-- the reject columns always add up to rows_rejected.
CREATE VIEW analytics.load_quality AS
WITH rejects AS (
    SELECT load_id,
           count(*) FILTER (WHERE reason_code = 'malformed_csv')      AS malformed_csv,
           count(*) FILTER (WHERE reason_code = 'field_count')        AS field_count,
           count(*) FILTER (WHERE reason_code = 'chat_id_missing')    AS chat_id_missing,
           count(*) FILTER (WHERE reason_code = 'updated_at_missing') AS updated_at_missing,
           count(*) FILTER (WHERE reason_code = 'updated_at_invalid') AS updated_at_invalid,
           count(*) FILTER (WHERE reason_code = 'field_too_large')    AS field_too_large,
           count(*) FILTER (WHERE reason_code = 'too_many_messages')  AS too_many_messages,
           count(*) FILTER (WHERE reason_code NOT IN ('malformed_csv', 'field_count', 'chat_id_missing',
                                                      'updated_at_missing', 'updated_at_invalid',
                                                      'field_too_large', 'too_many_messages')) AS other
    FROM staging.rejects
    GROUP BY load_id
), versions AS (
    SELECT load_id,
           count(*)                                                               AS versions,
           count(*) FILTER (WHERE cardinality(quality_flags) > 0)                 AS flagged,
           count(*) FILTER (WHERE 'created_at_invalid' = ANY (quality_flags))      AS created_at_invalid,
           count(*) FILTER (WHERE 'conversation_log_missing' = ANY (quality_flags)) AS conversation_log_missing,
           count(*) FILTER (WHERE 'conversation_log_invalid' = ANY (quality_flags)) AS conversation_log_invalid,
           count(*) FILTER (WHERE 'message_invalid' = ANY (quality_flags))         AS message_invalid,
           count(*) FILTER (WHERE 'structured_info_invalid' = ANY (quality_flags)) AS structured_info_invalid,
           count(*) FILTER (WHERE 'is_test_chat_invalid' = ANY (quality_flags))    AS is_test_chat_invalid,
           count(*) FILTER (WHERE 'message_count_invalid' = ANY (quality_flags))   AS message_count_invalid,
           count(*) FILTER (WHERE 'message_count_mismatch' = ANY (quality_flags))  AS message_count_mismatch,
           count(*) FILTER (WHERE 'text_sanitized' = ANY (quality_flags))          AS text_sanitized
    FROM staging.chat_versions
    GROUP BY load_id
)
SELECT l.load_id,
       l.source,
       l.status,
       l.started_at,
       l.finished_at,
       (l.started_at AT TIME ZONE 'UTC')::date            AS load_date,
       l.rows_read,
       l.rows_rejected,
       l.versions_new,
       l.chats_inserted,
       l.chats_updated,
       l.chats_unchanged,
       l.chats_stale,
       l.messages_written,
       coalesce(r.malformed_csv, 0)                       AS rejects_malformed_csv,
       coalesce(r.field_count, 0)                         AS rejects_field_count,
       coalesce(r.chat_id_missing, 0)                     AS rejects_chat_id_missing,
       coalesce(r.updated_at_missing, 0)                  AS rejects_updated_at_missing,
       coalesce(r.updated_at_invalid, 0)                  AS rejects_updated_at_invalid,
       coalesce(r.field_too_large, 0)                     AS rejects_field_too_large,
       coalesce(r.too_many_messages, 0)                   AS rejects_too_many_messages,
       coalesce(r.other, 0)                               AS rejects_other,
       coalesce(v.versions, 0)                            AS versions_kept,
       coalesce(v.flagged, 0)                             AS versions_flagged,
       coalesce(v.created_at_invalid, 0)                  AS flag_created_at_invalid,
       coalesce(v.conversation_log_missing, 0)            AS flag_conversation_log_missing,
       coalesce(v.conversation_log_invalid, 0)            AS flag_conversation_log_invalid,
       coalesce(v.message_invalid, 0)                     AS flag_message_invalid,
       coalesce(v.structured_info_invalid, 0)             AS flag_structured_info_invalid,
       coalesce(v.is_test_chat_invalid, 0)                AS flag_is_test_chat_invalid,
       coalesce(v.message_count_invalid, 0)               AS flag_message_count_invalid,
       coalesce(v.message_count_mismatch, 0)              AS flag_message_count_mismatch,
       coalesce(v.text_sanitized, 0)                      AS flag_text_sanitized
FROM staging.loads l
LEFT JOIN rejects r ON r.load_id = l.load_id
LEFT JOIN versions v ON v.load_id = l.load_id;
COMMENT ON VIEW analytics.load_quality IS
    'One row per load (every status): its counts from staging.loads, its rejects by reason code, and the quality flags of the versions it wrote, by name.';
COMMENT ON COLUMN analytics.load_quality.load_date IS 'date the load started, in UTC';
COMMENT ON COLUMN analytics.load_quality.rejects_other IS 'rejects with a reason code this view has no column for (a code added after it)';
COMMENT ON COLUMN analytics.load_quality.versions_kept IS
    'versions in staging.chat_versions written by this load; a later load that rewrites the same version (same chat_id and updated_at, other content) takes it over';
COMMENT ON COLUMN analytics.load_quality.versions_flagged IS 'of versions_kept, those with at least one quality flag';

-- Per day, the loads of that day (UTC) rolled up: a backfill of many files
-- in one night is one row, a failed load counts as one and adds nothing.
CREATE VIEW analytics.daily_quality AS
SELECT load_date                                              AS day,
       count(*)                                               AS loads,
       count(*) FILTER (WHERE status = 'succeeded')           AS loads_succeeded,
       count(*) FILTER (WHERE status = 'failed')              AS loads_failed,
       sum(rows_read)::bigint                                 AS rows_read,
       sum(rows_rejected)::bigint                             AS rows_rejected,
       sum(versions_new)::bigint                              AS versions_new,
       sum(chats_inserted)::bigint                            AS chats_inserted,
       sum(chats_updated)::bigint                             AS chats_updated,
       sum(chats_unchanged)::bigint                           AS chats_unchanged,
       sum(chats_stale)::bigint                               AS chats_stale,
       sum(messages_written)::bigint                          AS messages_written,
       sum(rejects_malformed_csv)::bigint                     AS rejects_malformed_csv,
       sum(rejects_field_count)::bigint                       AS rejects_field_count,
       sum(rejects_chat_id_missing)::bigint                   AS rejects_chat_id_missing,
       sum(rejects_updated_at_missing)::bigint                AS rejects_updated_at_missing,
       sum(rejects_updated_at_invalid)::bigint                AS rejects_updated_at_invalid,
       sum(rejects_field_too_large)::bigint                   AS rejects_field_too_large,
       sum(rejects_too_many_messages)::bigint                 AS rejects_too_many_messages,
       sum(rejects_other)::bigint                             AS rejects_other,
       sum(versions_kept)::bigint                             AS versions_kept,
       sum(versions_flagged)::bigint                          AS versions_flagged,
       sum(flag_created_at_invalid)::bigint                   AS flag_created_at_invalid,
       sum(flag_conversation_log_missing)::bigint             AS flag_conversation_log_missing,
       sum(flag_conversation_log_invalid)::bigint             AS flag_conversation_log_invalid,
       sum(flag_message_invalid)::bigint                      AS flag_message_invalid,
       sum(flag_structured_info_invalid)::bigint              AS flag_structured_info_invalid,
       sum(flag_is_test_chat_invalid)::bigint                 AS flag_is_test_chat_invalid,
       sum(flag_message_count_invalid)::bigint                AS flag_message_count_invalid,
       sum(flag_message_count_mismatch)::bigint               AS flag_message_count_mismatch,
       sum(flag_text_sanitized)::bigint                       AS flag_text_sanitized
FROM analytics.load_quality
GROUP BY load_date;
COMMENT ON VIEW analytics.daily_quality IS
    'One row per UTC day on which loads started: analytics.load_quality summed over that day''s loads.';
COMMENT ON COLUMN analytics.daily_quality.day IS 'date the loads started, in UTC';

-- +goose Down
DROP SCHEMA analytics CASCADE;
ALTER TABLE staging.loads DROP COLUMN header;
