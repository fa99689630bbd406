-- +goose Up
-- The deliverables as views: SELECT * FROM export.chats is chats.csv and
-- SELECT * FROM export.messages is messages.csv, column for column and row
-- for row (contract section 4). chatstage export only wraps them in
-- COPY ... TO STDOUT (FORMAT csv, HEADER), so the rules live in one place
-- that analysts can query too. See docs/mapping.md for every column.
--
-- Rules that shape every expression below:
-- * COPY (FORMAT csv) writes '' as "" and NULL as an empty field, and the
--   contract wants an empty field for both: every text value that can be
--   empty goes through nullif(x, '').
-- * Values are text already formatted for the file, so COPY adds nothing of
--   its own (no DateStyle, no TimeZone, no 't'/'f').
-- * staging.chats.facts and staging.messages.extra hold each JSON key under
--   its key() with its final rendering as a JSON string (array columns
--   already wrapped), so ->> is the deliverable value; ingest did the JSON
--   work because jsonb would reorder keys and rewrite numbers.
CREATE SCHEMA export;
COMMENT ON SCHEMA export IS
    'chatstage deliverables as views: SELECT * FROM export.chats is chats.csv, SELECT * FROM export.messages is messages.csv (contract section 4). Read-only; built from the staging schema.';

-- The chat-level columns once, so the 36 of them that messages.csv repeats
-- can never render differently from chats.csv. A plain view with no ORDER
-- BY: the planner flattens it into the two views below, so it costs
-- nothing. It also keeps the raw sort keys, which the deliverables do not
-- show.
CREATE VIEW export.chat_columns AS
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
FROM staging.chats c;
COMMENT ON VIEW export.chat_columns IS
    'Building block of export.chats and export.messages: every chat-level deliverable column of the current chats, formatted, plus the raw sort keys sort_created_at and sort_chat_id. Unordered; query export.chats for the deliverable.';
COMMENT ON COLUMN export.chat_columns.sort_chat_id IS 'staging.chats.chat_id, the second sort key (in COLLATE "C" byte order)';
COMMENT ON COLUMN export.chat_columns.sort_created_at IS 'staging.chats.created_at, the first sort key (nulls last)';

-- The ORDER BY is part of the deliverable (created at ascending, nulls
-- last, then chatId in byte order whatever the database collation), so it
-- is part of the view: staging.chats_export_order returns exactly this
-- order, which lets COPY stream rows without sorting the table.
CREATE VIEW export.chats AS
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
FROM export.chat_columns
ORDER BY sort_created_at, sort_chat_id COLLATE "C";
COMMENT ON VIEW export.chats IS
    'chats.csv: one row per current chat, the 47 contract columns in contract order as formatted text (NULL = empty field), ordered by created at (nulls last) then chatId in byte order. SELECT * FROM export.chats is the deliverable.';

-- Messages join their chat by chat_id alone: staging.messages holds only
-- the messages of each chat's current version. The outer ORDER BY is the
-- deliverable's order; the plan meets it with an incremental sort that
-- only ever holds one chat's messages.
CREATE VIEW export.messages AS
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
FROM export.chat_columns c
-- A lateral subquery with its own ORDER BY is not flattened into a join,
-- so the planner cannot hash-join the two tables and sort every message
-- row (a disk sort of the whole file on a big load). It walks the chats in
-- chats_export_order and reads each chat's messages from
-- messages_pkey, already by ordinal: rows stream out as COPY writes them.
CROSS JOIN LATERAL (
    SELECT mm.ordinal, mm.message_id, mm.role, mm.type, mm.content, mm.extra
    FROM staging.messages mm WHERE mm.chat_id = c.sort_chat_id ORDER BY mm.ordinal
) m
ORDER BY c.sort_created_at, c.sort_chat_id COLLATE "C", m.ordinal;
COMMENT ON VIEW export.messages IS
    'messages.csv: one row per message of a current chat, the 47 contract columns in contract order as formatted text (NULL = empty field); chat-level columns repeat their chat''s export.chats value. Ordered like export.chats, then by message ordinal. SELECT * FROM export.messages is the deliverable.';

-- +goose Down
DROP SCHEMA export CASCADE;
