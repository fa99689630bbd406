-- +goose Up
-- Contract section 3 now counts chats, not rows: each distinct chat_id
-- among a load's kept rows gets exactly one outcome, judged by its state
-- before and after the whole load, so a re-load of the same file reports
-- no chat inserted or updated whatever duplicates the file holds. The
-- columns keep their names; what they count is said here.
COMMENT ON COLUMN staging.loads.chats_inserted IS
    'chats of this load that had no kept version before it (each chat counted once)';
COMMENT ON COLUMN staging.loads.chats_updated IS
    'chats whose current version this load changed: a newer updated_at, or the same version with other content (each chat counted once)';
COMMENT ON COLUMN staging.loads.chats_unchanged IS
    'chats whose current version this load left as it was, and whose current version the file carried (each chat counted once)';
COMMENT ON COLUMN staging.loads.chats_stale IS
    'chats for which the file carried only versions older than the current one: kept in history only (each chat counted once)';
COMMENT ON COLUMN staging.loads.size_bytes IS
    'bytes read from the source, before gunzip; for a failed load, the bytes read until it failed';
COMMENT ON COLUMN staging.loads.sha256 IS
    'hex SHA-256 of the bytes read from the source, before gunzip; for a failed load, of the bytes read until it failed';
COMMENT ON COLUMN staging.rejects.reason_code IS
    'malformed_csv, field_count, chat_id_missing, chat_id_too_long, updated_at_missing, updated_at_invalid, field_too_large or too_many_messages';

-- +goose Down
COMMENT ON COLUMN staging.loads.chats_inserted IS 'rows that created a chat not seen before';
COMMENT ON COLUMN staging.loads.chats_updated IS 'rows that replaced the current version of a chat: a newer updated_at, or the same one with other content';
COMMENT ON COLUMN staging.loads.chats_unchanged IS 'rows identical to the current version of their chat';
COMMENT ON COLUMN staging.loads.chats_stale IS 'rows older than the current version of their chat; kept in history only';
COMMENT ON COLUMN staging.loads.size_bytes IS 'bytes read from the source, before gunzip';
COMMENT ON COLUMN staging.loads.sha256 IS 'hex SHA-256 of the bytes read from the source, before gunzip';
COMMENT ON COLUMN staging.rejects.reason_code IS 'malformed_csv, field_count, chat_id_missing, updated_at_missing or updated_at_invalid';
