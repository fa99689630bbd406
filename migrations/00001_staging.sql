-- +goose Up
-- The staging schema: every load, every chat version ever seen, the current
-- chats, their messages and the rejected rows. See docs/architecture.md.
CREATE SCHEMA staging;
COMMENT ON SCHEMA staging IS 'chatstage staging tables, written only by chatstage ingest';

CREATE TABLE staging.loads (
    load_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text        NOT NULL,
    size_bytes       bigint,
    sha256           text,
    started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at      timestamptz,
    status           text        NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'succeeded', 'failed')),
    error            text,
    rows_read        bigint NOT NULL DEFAULT 0,
    rows_rejected    bigint NOT NULL DEFAULT 0,
    versions_new     bigint NOT NULL DEFAULT 0,
    chats_inserted   bigint NOT NULL DEFAULT 0,
    chats_updated    bigint NOT NULL DEFAULT 0,
    chats_unchanged  bigint NOT NULL DEFAULT 0,
    chats_stale      bigint NOT NULL DEFAULT 0,
    messages_written bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE staging.loads IS
    'One row per source file ingested. The row is committed before the data, so a failed or interrupted load is still recorded; the data of a load is visible only if its status is succeeded.';
COMMENT ON COLUMN staging.loads.source IS 'file name as given on the command line, "-" for standard input';
COMMENT ON COLUMN staging.loads.size_bytes IS 'bytes read from the source, before gunzip';
COMMENT ON COLUMN staging.loads.sha256 IS 'hex SHA-256 of the bytes read from the source, before gunzip';
COMMENT ON COLUMN staging.loads.rows_read IS 'records read, rejected ones included; blank lines are not records';
COMMENT ON COLUMN staging.loads.versions_new IS '(chat_id, updated_at) versions this load added to staging.chat_versions';
COMMENT ON COLUMN staging.loads.chats_inserted IS 'rows that created a chat not seen before';
COMMENT ON COLUMN staging.loads.chats_updated IS 'rows that replaced the current version of a chat: a newer updated_at, or the same one with other content';
COMMENT ON COLUMN staging.loads.chats_unchanged IS 'rows identical to the current version of their chat';
COMMENT ON COLUMN staging.loads.chats_stale IS 'rows older than the current version of their chat; kept in history only';
COMMENT ON COLUMN staging.loads.messages_written IS 'messages inserted or rewritten in staging.messages for the chats whose current version changed; their unchanged messages are kept as they are';

-- The big tables carry no foreign keys: a foreign key costs a trigger call
-- per inserted row, and chatstage ingest is their only writer, which keeps
-- load_id and the messages' chat_id consistent in the same transaction.

-- chat_id is COLLATE "C" everywhere: identifiers compare as bytes, which is
-- what the deliverables' order wants and what makes every B-tree on them
-- cheaper than a linguistic collation.

-- The history. The key is the contract's version identity; a later row of
-- the same version replaces the content in place ("the later one wins").
CREATE TABLE staging.chat_versions (
    chat_id            text        COLLATE "C" NOT NULL,
    updated_at         timestamptz NOT NULL,
    created_at         timestamptz,
    slug               text,
    token              text,
    organization_id    text,
    language           text,
    is_test_chat       boolean,
    sentiment          text,
    resolution         text,
    message_count      bigint,
    conversation_log   text,
    structured_info    text,
    facts              jsonb       NOT NULL,
    default_message_id text,
    is_default_chat    boolean     NOT NULL,
    messages_kept      integer     NOT NULL,
    quality_flags      text[]      NOT NULL,
    row_hash           bytea       NOT NULL,
    load_id            bigint      NOT NULL,
    source_line        bigint      NOT NULL,
    PRIMARY KEY (chat_id, updated_at)
);
COMMENT ON TABLE staging.chat_versions IS
    'Every distinct (chat_id, updated_at) version ever loaded, with its raw JSON, so history and any current state can be rebuilt.';
COMMENT ON COLUMN staging.chat_versions.conversation_log IS 'the source JSON text as in the file (NUL removed, invalid UTF-8 replaced)';
COMMENT ON COLUMN staging.chat_versions.structured_info IS 'the source JSON text as in the file (NUL removed, invalid UTF-8 replaced)';
COMMENT ON COLUMN staging.chat_versions.facts IS
    'structured_info shaped for the deliverables: each top-level key as key() (lower-case a-z0-9 only, first of clashing keys wins) mapped to its rendering as text (strings as they are, numbers as written, objects and arrays as compact JSON; array columns already wrapped as arrays), or null. {} when structured_info is not an object.';
COMMENT ON COLUMN staging.chat_versions.default_message_id IS 'id of the first message with role assistant and type default';
COMMENT ON COLUMN staging.chat_versions.is_default_chat IS 'no message has role user';
COMMENT ON COLUMN staging.chat_versions.messages_kept IS 'messages of conversation_log that are objects';
COMMENT ON COLUMN staging.chat_versions.quality_flags IS 'contract section 2 flags: fields that were bad and became null, or text that was repaired';
COMMENT ON COLUMN staging.chat_versions.row_hash IS 'SHA-256 of the normalized source values: the same version with the same hash is identical and is not written again';
COMMENT ON COLUMN staging.chat_versions.source_line IS 'line of the source file where the record starts';

-- The current state: one row per chat, its greatest version. It repeats the
-- typed columns of that version (not the raw JSON) so the export views read
-- one narrow table instead of joining the history.
CREATE TABLE staging.chats (
    chat_id            text        COLLATE "C" PRIMARY KEY,
    updated_at         timestamptz NOT NULL,
    created_at         timestamptz,
    slug               text,
    token              text,
    organization_id    text,
    language           text,
    is_test_chat       boolean,
    sentiment          text,
    resolution         text,
    message_count      bigint,
    facts              jsonb       NOT NULL,
    default_message_id text,
    is_default_chat    boolean     NOT NULL,
    messages_kept      integer     NOT NULL,
    quality_flags      text[]      NOT NULL,
    row_hash           bytea       NOT NULL,
    load_id            bigint      NOT NULL,
    source_line        bigint      NOT NULL
);
COMMENT ON TABLE staging.chats IS
    'The current version of each chat: the one with the greatest updated_at (for the same version, the latest loaded). Columns as in staging.chat_versions.';
-- The deliverables list chats by created at (nulls last), then chat_id in
-- byte order: this index returns them in that order without a sort.
CREATE INDEX chats_export_order ON staging.chats (created_at, chat_id);

CREATE TABLE staging.messages (
    chat_id     text        COLLATE "C" NOT NULL,
    ordinal     integer     NOT NULL,
    message_id  text,
    role        text,
    type        text,
    content     text,
    disclaimer  text,
    extra       jsonb,
    PRIMARY KEY (chat_id, ordinal)
);
COMMENT ON TABLE staging.messages IS
    'The messages of the current version of each chat, in conversation_log order. When the current version changes, the messages it does not have as they are are replaced; the unchanged ones stay.';
COMMENT ON COLUMN staging.messages.ordinal IS 'position among the kept messages (objects) of the array, from 0';
COMMENT ON COLUMN staging.messages.message_id IS 'the key with key() = id';
COMMENT ON COLUMN staging.messages.extra IS 'the other keys of the message, shaped like staging.chat_versions.facts; null when there are none';

CREATE TABLE staging.rejects (
    load_id     bigint NOT NULL REFERENCES staging.loads ON DELETE CASCADE,
    source_line bigint NOT NULL,
    reason_code text   NOT NULL,
    reason      text   NOT NULL,
    raw         text   NOT NULL,
    PRIMARY KEY (load_id, source_line)
);
COMMENT ON TABLE staging.rejects IS
    'Rows of a load that could not be chat versions (contract section 2), with the record text as in the file so it can be fixed and loaded again.';
COMMENT ON COLUMN staging.rejects.reason_code IS 'malformed_csv, field_count, chat_id_missing, updated_at_missing or updated_at_invalid';

-- +goose Down
DROP SCHEMA staging CASCADE;
