-- The plain psql ELT that chatstage is measured against (issue 4): a bulk
-- \copy into an unlogged table of text columns, the current chats with
-- DISTINCT ON and typed casts, and the messages exploded with
-- jsonb_array_elements into a table with a primary key. The file comes on
-- standard input: psql -f baseline.sql < FILE. It validates
-- nothing, keeps no history, no rejects and no audit.
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS baseline CASCADE;
CREATE SCHEMA baseline;
CREATE UNLOGGED TABLE baseline.raw (
    chat_id text, slug text, token text, organization_id text, conversation_log text,
    structured_info text, created_at text, updated_at text, language text, is_test_chat text,
    sentiment text, resolution text, message_count text);
\copy baseline.raw FROM pstdin WITH (FORMAT csv, HEADER true)
CREATE TABLE baseline.chats AS
SELECT DISTINCT ON (chat_id)
       chat_id, slug, token, organization_id, conversation_log::jsonb AS conversation_log,
       structured_info::jsonb AS structured_info, created_at::timestamptz AS created_at,
       updated_at::timestamptz AS updated_at, language, is_test_chat::boolean AS is_test_chat,
       sentiment, resolution, message_count::integer AS message_count
FROM baseline.raw
ORDER BY chat_id, updated_at::timestamptz DESC;
ALTER TABLE baseline.chats ADD PRIMARY KEY (chat_id);
CREATE TABLE baseline.messages AS
SELECT c.chat_id, (m.ord - 1)::integer AS ordinal, m.msg->>'id' AS message_id, m.msg->>'role' AS role,
       m.msg->>'type' AS type, m.msg->>'content' AS content, m.msg->>'disclaimer' AS disclaimer
FROM baseline.chats c
CROSS JOIN LATERAL jsonb_array_elements(c.conversation_log) WITH ORDINALITY AS m(msg, ord);
ALTER TABLE baseline.messages ADD PRIMARY KEY (chat_id, ordinal);
