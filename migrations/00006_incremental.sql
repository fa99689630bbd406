-- +goose Up
-- Nightly loads whose cost follows the file, not the history (issue 17).
--
-- A newer version of a chat usually keeps every message of the one before
-- and adds some. With a digest of the current messages beside the chat, a
-- load tells such a version from the messages of the file alone, and
-- writes only the messages it adds: nothing of staging.messages is read,
-- deleted or rewritten. Null means unknown (rows from before this
-- migration): such a chat takes the general path once, which sets it.
ALTER TABLE staging.chats ADD COLUMN messages_digest bytea;
COMMENT ON COLUMN staging.chats.messages_digest IS
    'SHA-256 of the current version''s messages, value by value (etl.MessagesDigest): a load whose newer version begins with the same messages appends the others; null when unknown (rows from before migration 00006)';

-- +goose Down
ALTER TABLE staging.chats DROP COLUMN messages_digest;
