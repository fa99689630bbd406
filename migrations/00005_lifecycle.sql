-- +goose Up
-- A chat's whole life (contract section 6): every content kept, retired
-- chats, erasure with suppression, and the state after any past load, for
-- past (--as-of) and delta (--since) deliverables. Rejects that a later
-- load makes good are resolved, and a reject repeated is counted, not
-- stored again.

-- Loads: what the lifecycle adds to their counts.
ALTER TABLE staging.loads
    ADD COLUMN rows_suppressed bigint NOT NULL DEFAULT 0,
    ADD COLUMN chats_retired   bigint NOT NULL DEFAULT 0,
    ADD COLUMN snapshot        boolean NOT NULL DEFAULT false,
    ADD COLUMN note            text;
COMMENT ON COLUMN staging.loads.rows_read IS 'records read: kept, rejected and suppressed; blank lines are not records';
COMMENT ON COLUMN staging.loads.rows_suppressed IS 'well-formed records of erased chats, skipped before any other check (neither stored nor rejected)';
COMMENT ON COLUMN staging.loads.chats_retired IS 'with snapshot: live chats the file did not name, which this load retired; for a snapshot load that failed its retire budget, how many it would have retired';
COMMENT ON COLUMN staging.loads.snapshot IS 'the file was declared a full snapshot (ingest --snapshot): chats it does not name are retired';
COMMENT ON COLUMN staging.loads.note IS 'what a load that succeeded has to say: why a snapshot retired nothing';

-- Every content of a version. staging.chat_versions keeps each version's
-- content as it is now; when a load brings other content for a version it
-- keeps, the content it replaces moves here, with the load that replaced
-- it. The hot table and its key stay as they were, so a nightly load pays
-- for history only when content is replaced.
CREATE TABLE staging.chat_version_history (
    LIKE staging.chat_versions,
    replaced_by_load bigint NOT NULL,
    PRIMARY KEY (chat_id, updated_at, load_id)
);
COMMENT ON TABLE staging.chat_version_history IS
    'Contents of versions that a later load replaced by other content of the same version (contract section 6): the content from load_id until replaced_by_load. With staging.chat_versions, every content ever kept.';
COMMENT ON COLUMN staging.chat_version_history.replaced_by_load IS 'the load that replaced this content';

-- Messages: which load wrote each row, and the rows later loads removed,
-- so that the messages after any past load can be rebuilt.
ALTER TABLE staging.messages ADD COLUMN load_id bigint NOT NULL DEFAULT 0;
UPDATE staging.messages m SET load_id = c.load_id FROM staging.chats c WHERE c.chat_id = m.chat_id;
ALTER TABLE staging.messages ALTER COLUMN load_id DROP DEFAULT;
COMMENT ON COLUMN staging.messages.load_id IS 'the load that wrote this row (for rows from before migration 00005: the load that made its chat current)';
CREATE TABLE staging.message_history (
    LIKE staging.messages,
    replaced_by_load bigint NOT NULL,
    PRIMARY KEY (chat_id, ordinal, load_id)
);
COMMENT ON TABLE staging.message_history IS
    'Rows of staging.messages that a later load removed or rewrote: the row from load_id until replaced_by_load. With staging.messages, the messages of any past state.';

-- Retired chats (ingest --snapshot). The current row says since when; the
-- history says when each was retired and came back, for past states.
ALTER TABLE staging.chats ADD COLUMN retired_by_load bigint;
COMMENT ON COLUMN staging.chats.retired_by_load IS
    'the snapshot load that retired this chat (a full snapshot did not name it): out of the deliverables until a later load brings a newer version; null for a live chat';
COMMENT ON COLUMN staging.chats.load_id IS 'the load that last changed this row: made its version current, or gave it other content';
-- Delta deliverables (--since) start from the chats changed after a load
-- and those retired after it: these indexes make that cost follow the
-- change, not the database.
CREATE INDEX chats_changed_by_load ON staging.chats (load_id);
CREATE INDEX chats_retired_by_load ON staging.chats (retired_by_load) WHERE retired_by_load IS NOT NULL;
CREATE TABLE staging.retirements (
    chat_id         text   COLLATE "C" NOT NULL,
    retired_by_load bigint NOT NULL,
    revived_by_load bigint,
    PRIMARY KEY (chat_id, retired_by_load)
);
COMMENT ON TABLE staging.retirements IS
    'Each time a snapshot load retired a chat, and the load that brought it back (a newer version), if any.';

-- Erasure (chatstage forget). Only the SHA-256 of an erased chat_id is
-- kept, never the id: loads skip the rows of erased chats (suppression),
-- and deltas report them removed.
CREATE TABLE staging.erasures (
    erasure_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id_sha256          text        NOT NULL,
    erased_at               timestamptz NOT NULL,
    after_load              bigint      NOT NULL,
    existed                 boolean     NOT NULL,
    versions_removed        bigint      NOT NULL,
    version_history_removed bigint      NOT NULL,
    chats_removed           bigint      NOT NULL,
    messages_removed        bigint      NOT NULL,
    message_history_removed bigint      NOT NULL,
    retirements_removed     bigint      NOT NULL,
    rejects_removed         bigint      NOT NULL
);
COMMENT ON TABLE staging.erasures IS
    'One row per chat_id named to chatstage forget (a right-to-erasure request): the SHA-256 of its UTF-8 bytes, when, and the rows removed from each table. The id itself is never stored.';
COMMENT ON COLUMN staging.erasures.chat_id_sha256 IS 'lower-case hex SHA-256 of the erased chat_id''s UTF-8 bytes';
COMMENT ON COLUMN staging.erasures.after_load IS 'the last load that ended before the erasure: a delta since a load up to this one reports the chat removed';
COMMENT ON COLUMN staging.erasures.existed IS 'the chat existed (had a kept version) when it was erased';
CREATE INDEX erasures_hash ON staging.erasures (chat_id_sha256);
CREATE INDEX erasures_after_load ON staging.erasures (after_load);

-- Rejects: the chat a rejected record names (for erasure and resolution),
-- and one open reject per record however often it is rejected again.
ALTER TABLE staging.rejects
    ADD COLUMN chat_id          text COLLATE "C",
    ADD COLUMN raw_sha256       bytea,
    ADD COLUMN repeats          integer NOT NULL DEFAULT 1,
    ADD COLUMN last_load_id     bigint,
    ADD COLUMN resolved_by_load bigint;
UPDATE staging.rejects SET raw_sha256 = sha256(convert_to(raw, 'UTF8')), last_load_id = load_id;
COMMENT ON COLUMN staging.rejects.chat_id IS 'the chat_id field of a well-formed record with the header''s number of fields, trimmed and sanitized; null when its chat cannot be known';
COMMENT ON COLUMN staging.rejects.raw_sha256 IS 'SHA-256 of the raw text: the same record rejected again is this reject, counted in repeats';
COMMENT ON COLUMN staging.rejects.repeats IS 'how many loads rejected this same record while it was open';
COMMENT ON COLUMN staging.rejects.last_load_id IS 'the last load that rejected this record';
COMMENT ON COLUMN staging.rejects.resolved_by_load IS 'the succeeded load that kept a row of the chat this record names: the reject is made good; null while open';
CREATE INDEX rejects_chat ON staging.rejects (chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX rejects_open_raw ON staging.rejects (raw_sha256) WHERE resolved_by_load IS NULL;

-- A work area for deliverables of another state than the current one
-- (--as-of, --since): the same tables as staging.chats and
-- staging.messages, filled inside an export's transaction and emptied by
-- its rollback. Unlogged: nothing in them outlives the export.
CREATE SCHEMA chatstage_work;
COMMENT ON SCHEMA chatstage_work IS
    'chatstage''s work area for past and delta deliverables: a state of the chats, rendered by the same views as export.*; empty outside of an export. Not for analysts.';
CREATE UNLOGGED TABLE chatstage_work.chats_state (LIKE staging.chats INCLUDING ALL);
CREATE UNLOGGED TABLE chatstage_work.messages_state (LIKE staging.messages INCLUDING ALL);
COMMENT ON TABLE chatstage_work.chats_state IS 'a state of staging.chats (after a past load, or some chats of it), during one export';
COMMENT ON TABLE chatstage_work.messages_state IS 'a state of staging.messages, during one export';
-- A delta (--since) renders its candidates as of its load and now, and
-- keeps those whose rows differ: their fingerprints.
CREATE UNLOGGED TABLE chatstage_work.delta_candidates (chat_id text COLLATE "C" PRIMARY KEY);
CREATE UNLOGGED TABLE chatstage_work.delta_then (chat_id text COLLATE "C" PRIMARY KEY, chat_fp text NOT NULL, messages_fp text NOT NULL);
CREATE UNLOGGED TABLE chatstage_work.delta_now (LIKE chatstage_work.delta_then INCLUDING ALL);
COMMENT ON TABLE chatstage_work.delta_candidates IS 'the live chats a load after the delta''s load changed, during one export --since';
COMMENT ON TABLE chatstage_work.delta_then IS 'a fingerprint of each candidate''s deliverable rows as of the delta''s load';
COMMENT ON TABLE chatstage_work.delta_now IS 'a fingerprint of each candidate''s deliverable rows now';

-- The deliverables' views, written once and made twice: over the staging
-- tables (export.*, the current deliverables) and over the work area
-- (chatstage_work.*), so that a past or delta deliverable renders exactly
-- as the current one does. The rendering is migration 00002's; retired
-- chats now leave the deliverables.
-- +goose StatementBegin
DO $do$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('export', 'staging', 'chats', 'messages'),
                                   ('chatstage_work', 'chatstage_work', 'chats_state', 'messages_state'))
                       AS v(views, tables, chats, messages) LOOP
        EXECUTE format($view$
CREATE OR REPLACE VIEW %1$I.chat_columns AS
SELECT
    c.chat_id                                                   AS sort_chat_id,
    c.created_at                                                AS sort_created_at,
    coalesce(c.facts->>'locations', '[]')                       AS "locations",
    nullif(c.facts->>'firstname', '')                           AS "first name",
    nullif(c.facts->>'userbypassmessageslimit', '')             AS "user bypass messages limit",
    coalesce(nullif(c.facts->>'name', ''),
             nullif(concat_ws(' ', nullif(c.facts->>'firstname', ''),
                                   nullif(c.facts->>'lastname', '')), ''))
                                                                AS "name",
    nullif(c.facts->>'readonlytoken', '')                       AS "read only token",
    nullif(c.facts->>'phonenumber', '')                         AS "phone number",
    coalesce(c.facts->>'pois', '[]')                            AS "pois",
    c.is_test_chat::text                                        AS "is test chat",
    nullif(c.facts->>'clientid', '')                            AS "clientId",
    nullif(c.facts->>'organizationconfigid', '')                AS "organizationConfigId",
    nullif(c.facts->>'email', '')                               AS "email",
    nullif(c.facts->>'suborganization', '')                     AS "suborganization",
    coalesce(c.facts->>'provinces', '[]')                       AS "provinces",
    nullif(c.facts->>'startingdomain', '')                      AS "starting domain",
    coalesce(c.facts->>'sectiontype', '[]')                     AS "section type",
    nullif(c.facts->>'isreviewed', '')                          AS "is reviewed",
    nullif(c.facts->>'limitmessagescase', '')                   AS "limit messages case",
    nullif(c.sentiment, '')                                     AS "sentiment",
    nullif(c.slug, '')                                          AS "slug",
    (coalesce(c.sentiment, '') <> '' OR coalesce(c.resolution, '') <> '')::text
                                                                AS "is chat classified",
    nullif(c.facts->>'ontraportupdatetime', '')                 AS "ontraport update time",
    coalesce(c.facts->>'triptype', '[]')                        AS "trip type",
    nullif(c.facts->>'mostrelevanttripname', '')                AS "most relevant trip name",
    coalesce(c.facts->>'countries', '[]')                       AS "countries",
    -- Never empty (a row without chat_id is rejected), and left bare so
    -- WHERE "chatId" = ... can use the primary key.
    c.chat_id                                                   AS "chatId",
    coalesce(c.facts->>'emailtypes', '[]')                      AS "email types",
    nullif(c.facts->>'newslettersubscriptiontime', '')          AS "newsletter subscription time",
    nullif(c.language, '')                                      AS "language",
    nullif(c.facts->>'lastname', '')                            AS "last name",
    nullif(c.facts->>'idlemessagesenttime', '')                 AS "idle message sent time",
    nullif(c.resolution, '')                                    AS "resolution",
    nullif(c.token, '')                                         AS "token",
    nullif(c.facts->>'subscriptionidlemessagesenttime', '')     AS "subscription idle message sent time",
    c.is_default_chat::text                                     AS "is default chat",
    nullif(c.facts->>'ontraportnoteid', '')                     AS "ontraport note id",
    coalesce(c.facts->>'actions', '[]')                         AS "actions",
    (coalesce(c.facts->>'email', '') <> '')::text               AS "has email",
    nullif(c.facts->>'mostrelevantbrandname', '')               AS "most relevant brand name",
    -- AT TIME ZONE 'UTC' makes the text independent of the session's
    -- TimeZone; US always prints six fraction digits.
    to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                                                AS "created at",
    nullif(c.organization_id, '')                               AS "organizationId",
    nullif(c.facts->>'recommendationsctaurl', '')               AS "recommendations cta url",
    to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                                                AS "updated at",
    nullif(c.facts->>'idleemailsenttime', '')                   AS "idle email sent time",
    nullif(c.facts->>'humanloopsessionid', '')                  AS "humanloop session id",
    nullif(c.default_message_id, '')                            AS "defaultMessageId",
    -- A key whose value is null is still a key: facts stores it as JSON
    -- null, so only a structured_info without any key leaves facts = {}.
    (c.facts <> '{}'::jsonb)::text                              AS "is structured info extracted",
    coalesce(c.facts->>'cities', '[]')                          AS "cities"
FROM %2$I.%3$I c
-- Retired chats have left the deliverables (contract section 6).
WHERE c.retired_by_load IS NULL
$view$, t.views, t.tables, t.chats, t.messages);
        EXECUTE format($view$
CREATE OR REPLACE VIEW %1$I.chats AS
SELECT
    "locations", "first name", "user bypass messages limit", "name", "read only token",
    "phone number", "pois", "is test chat", "clientId", "organizationConfigId", "email",
    "suborganization", "provinces", "starting domain", "section type", "is reviewed",
    "limit messages case", "sentiment", "slug", "is chat classified", "ontraport update time",
    "trip type", "most relevant trip name", "countries", "chatId", "email types",
    "newsletter subscription time", "language", "last name", "idle message sent time",
    "resolution", "token", "subscription idle message sent time", "is default chat",
    "ontraport note id", "actions", "has email", "most relevant brand name", "created at",
    "organizationId", "recommendations cta url", "updated at", "idle email sent time",
    "humanloop session id", "defaultMessageId", "is structured info extracted", "cities"
FROM %1$I.chat_columns
ORDER BY sort_created_at, sort_chat_id COLLATE "C"
$view$, t.views, t.tables, t.chats, t.messages);
        EXECUTE format($view$
CREATE OR REPLACE VIEW %1$I.messages AS
SELECT
    c."locations",
    nullif(m.extra->>'suborganization', '')                     AS "messageSuborganization",
    c."user bypass messages limit",
    coalesce(m.extra->>'currentbrands', '[]')                   AS "current brands",
    c."read only token", c."pois", c."is test chat", c."clientId", c."organizationConfigId",
    c."email", c."suborganization", c."provinces",
    nullif(m.role, '')                                          AS "role",
    c."starting domain", c."is reviewed", c."limit messages case", c."sentiment",
    nullif(m.extra->>'intenttype', '')                          AS "intentType",
    c."slug", c."is chat classified", c."ontraport update time", c."trip type",
    coalesce(m.extra->>'regions', '[]')                         AS "regions",
    c."countries", c."chatId", c."newsletter subscription time",
    nullif(m.type, '')                                          AS "conversationLogType",
    c."language", c."idle message sent time", c."resolution",
    -- lpad would cut an ordinal past 9999 to four characters; the contract
    -- wants four digits or more.
    concat(CASE WHEN m.ordinal < 10000 THEN lpad(m.ordinal::text, 4, '0') ELSE m.ordinal::text END,
           '#', m.message_id)                                   AS "sk messageId",
    c."token", c."subscription idle message sent time", c."is default chat",
    nullif(m.message_id, '')                                    AS "messageId",
    coalesce(m.extra->>'categories', '[]')                      AS "categories",
    nullif(m.content, '')                                       AS "content",
    c."ontraport note id", c."created at", c."organizationId", c."updated at",
    c."idle email sent time", c."humanloop session id", c."defaultMessageId",
    c."is structured info extracted",
    coalesce(m.extra->>'themes', '[]')                          AS "themes",
    c."cities"
FROM %1$I.chat_columns c
-- A lateral subquery with its own ORDER BY is not flattened into a join,
-- so the planner cannot hash-join the two tables and sort every message
-- row (a disk sort of the whole file on a big load). It walks the chats in
-- chats_export_order and reads each chat's messages from
-- messages_pkey, already by ordinal: rows stream out as COPY writes them.
CROSS JOIN LATERAL (
    SELECT mm.ordinal, mm.message_id, mm.role, mm.type, mm.content, mm.extra
    FROM %2$I.%4$I mm WHERE mm.chat_id = c.sort_chat_id ORDER BY mm.ordinal
) m
ORDER BY c.sort_created_at, c.sort_chat_id COLLATE "C", m.ordinal
$view$, t.views, t.tables, t.chats, t.messages);
    END LOOP;
END
$do$;
-- +goose StatementEnd
COMMENT ON VIEW chatstage_work.chats IS 'export.chats over the work area: a past or delta chats.csv';
COMMENT ON VIEW chatstage_work.messages IS 'export.messages over the work area: a past or delta messages.csv';
COMMENT ON VIEW chatstage_work.chat_columns IS 'export.chat_columns over the work area';

-- Metrics: the current chats are the live ones; loads count what the
-- lifecycle adds (appended, so the columns before keep their places).
CREATE OR REPLACE VIEW analytics.chat_metrics AS
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
LEFT JOIN per_chat m ON m.chat_id = c.chat_id
WHERE c.retired_by_load IS NULL;

-- chat_id_too_long gets a column of its own (rejects_other counted it).
CREATE OR REPLACE VIEW analytics.load_quality AS
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
                                                      'field_too_large', 'too_many_messages',
                                                      'chat_id_too_long')) AS other,
           count(*) FILTER (WHERE reason_code = 'chat_id_too_long')   AS chat_id_too_long
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
       coalesce(v.text_sanitized, 0)                      AS flag_text_sanitized,
       l.rows_suppressed,
       l.chats_retired,
       coalesce(r.chat_id_too_long, 0)                    AS rejects_chat_id_too_long,
       l.snapshot
FROM staging.loads l
LEFT JOIN rejects r ON r.load_id = l.load_id
LEFT JOIN versions v ON v.load_id = l.load_id;
COMMENT ON COLUMN analytics.load_quality.rejects_other IS 'rejects with a reason code this view has no column for (a code added after it)';
COMMENT ON COLUMN analytics.load_quality.rows_suppressed IS 'records of erased chats the load skipped';
COMMENT ON COLUMN analytics.load_quality.chats_retired IS 'chats the load retired (a full snapshot that did not name them)';

CREATE OR REPLACE VIEW analytics.daily_quality AS
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
       sum(flag_text_sanitized)::bigint                       AS flag_text_sanitized,
       sum(rows_suppressed)::bigint                           AS rows_suppressed,
       sum(chats_retired)::bigint                             AS chats_retired,
       sum(rejects_chat_id_too_long)::bigint                  AS rejects_chat_id_too_long
FROM analytics.load_quality
GROUP BY load_date;

-- Data quality by the data's own day: the day (UTC) of updated_at of the
-- versions kept, whatever the day they were loaded (daily_quality groups by
-- the day loads ran: a backfill of last month lands on today there).
CREATE VIEW analytics.data_days AS
SELECT (v.updated_at AT TIME ZONE 'UTC')::date                                    AS day,
       count(*)                                                                   AS versions,
       count(DISTINCT v.chat_id)                                                  AS chats,
       count(*) FILTER (WHERE cardinality(v.quality_flags) > 0)                   AS versions_flagged,
       count(*) FILTER (WHERE 'created_at_invalid' = ANY (v.quality_flags))        AS flag_created_at_invalid,
       count(*) FILTER (WHERE 'conversation_log_missing' = ANY (v.quality_flags))  AS flag_conversation_log_missing,
       count(*) FILTER (WHERE 'conversation_log_invalid' = ANY (v.quality_flags))  AS flag_conversation_log_invalid,
       count(*) FILTER (WHERE 'message_invalid' = ANY (v.quality_flags))           AS flag_message_invalid,
       count(*) FILTER (WHERE 'structured_info_invalid' = ANY (v.quality_flags))   AS flag_structured_info_invalid,
       count(*) FILTER (WHERE 'is_test_chat_invalid' = ANY (v.quality_flags))      AS flag_is_test_chat_invalid,
       count(*) FILTER (WHERE 'message_count_invalid' = ANY (v.quality_flags))     AS flag_message_count_invalid,
       count(*) FILTER (WHERE 'message_count_mismatch' = ANY (v.quality_flags))    AS flag_message_count_mismatch,
       count(*) FILTER (WHERE 'text_sanitized' = ANY (v.quality_flags))            AS flag_text_sanitized
FROM staging.chat_versions v
GROUP BY 1;
COMMENT ON VIEW analytics.data_days IS
    'One row per day (UTC) of the data itself: the versions kept whose updated_at falls on that day, their chats and their quality flags by name.';
COMMENT ON COLUMN analytics.data_days.day IS 'date of updated_at in UTC';

-- What a chat looked like when: one row per content of a version (the one
-- kept now, and those later replaced), with the span in which it was the
-- chat's current state. A content is current from the load that brought it,
-- unless a newer version was already kept, until the load that replaced it
-- by other content or brought a newer version.
--   SELECT * FROM analytics.chat_history
--   WHERE chat_id = 'X' AND valid_from <= D AND (valid_to IS NULL OR valid_to > D)
CREATE VIEW analytics.chat_history AS
WITH contents AS NOT MATERIALIZED (
    SELECT chat_id, updated_at, load_id, NULL::bigint AS replaced_by_load, created_at, slug, token,
           organization_id, language, is_test_chat, sentiment, resolution, message_count,
           conversation_log, structured_info, facts, default_message_id, is_default_chat,
           messages_kept, quality_flags
    FROM staging.chat_versions
    UNION ALL
    SELECT chat_id, updated_at, load_id, replaced_by_load, created_at, slug, token,
           organization_id, language, is_test_chat, sentiment, resolution, message_count,
           conversation_log, structured_info, facts, default_message_id, is_default_chat,
           messages_kept, quality_flags
    FROM staging.chat_version_history
)
SELECT c.chat_id,
       c.updated_at,
       c.load_id                                            AS content_load_id,
       c.replaced_by_load,
       f.valid_from_load,
       CASE WHEN f.valid_from_load IS NOT NULL THEN t.valid_to_load END AS valid_to_load,
       lf.finished_at                                       AS valid_from,
       CASE WHEN f.valid_from_load IS NOT NULL THEN lt.finished_at END  AS valid_to,
       c.created_at, c.slug, c.token, c.organization_id, c.language, c.is_test_chat, c.sentiment,
       c.resolution, c.message_count, c.conversation_log, c.structured_info, c.facts,
       c.default_message_id, c.is_default_chat, c.messages_kept, c.quality_flags
FROM contents c
CROSS JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM contents x
                             WHERE x.chat_id = c.chat_id AND x.updated_at > c.updated_at AND x.load_id <= c.load_id)
                THEN NULL ELSE c.load_id END AS valid_from_load
) f
CROSS JOIN LATERAL (
    SELECT least(c.replaced_by_load,
                 (SELECT min(x.load_id) FROM contents x
                  WHERE x.chat_id = c.chat_id AND x.updated_at > c.updated_at AND x.load_id > c.load_id)) AS valid_to_load
) t
LEFT JOIN staging.loads lf ON lf.load_id = f.valid_from_load
LEFT JOIN staging.loads lt ON lt.load_id = t.valid_to_load;
COMMENT ON VIEW analytics.chat_history IS
    'One row per content of a version ever kept (an erased chat has none), and when it was the chat''s current state: from valid_from_load (valid_from, that load''s end) until valid_to_load (valid_to); both null for a content that never was current (an older version loaded late). What chat X looked like at time D: the row with valid_from <= D < valid_to (or valid_to null). Retirement is in staging.retirements.';
COMMENT ON COLUMN analytics.chat_history.content_load_id IS 'the load that brought this content';
COMMENT ON COLUMN analytics.chat_history.replaced_by_load IS 'the load that replaced this content by other content of the same version; null while it is the version''s content';
COMMENT ON COLUMN analytics.chat_history.valid_from_load IS 'the load after which this content was the chat''s current state';
COMMENT ON COLUMN analytics.chat_history.valid_to_load IS 'the load after which it no longer was (other content, or a newer version); null while it is';

-- +goose Down
-- The views above were replaced to read the new columns, and history
-- written since cannot be folded back: going down would lose it.
-- +goose StatementBegin
DO $do$ BEGIN
    RAISE EXCEPTION 'migration 00005 (the lifecycle) cannot be rolled back: it would lose history; restore a backup instead';
END $do$;
-- +goose StatementEnd
