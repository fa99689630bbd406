package store

import (
	"time"

	"github.com/chatstage/chatstage/etl"
)

// defaultCleanupTimeout bounds the statements run after a load was
// interrupted, so Ctrl-C never hangs on a dead server.
const defaultCleanupTimeout = 5 * time.Second

// incomingCreateSQL is the per-load landing table of the rows that go
// through the merge (see copy_load.go for the rows that do not). It is
// temporary (no WAL, dropped at commit) and holds the rejects too. Messages travel as parallel arrays and
// are unnested only for the chats whose current version changes. Rows whose
// exact version is already kept (known) carry only their keys.
// Rows of a few kB are kept inline and uncompressed (toast_tuple_target):
// compressing them on the way in only to decompress them for the merge
// cost more than the COPY itself.
const incomingCreateSQL = `
CREATE TEMP TABLE incoming (
    line               bigint NOT NULL,
    reject_code        text,
    reject_reason      text,
    raw                text,
    chat_id            text,
    updated_at         timestamptz,
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
    facts              text,
    default_message_id text,
    is_default_chat    boolean,
    messages_kept      integer,
    quality_flags      text[],
    row_hash           bytea,
    known              boolean,
    m_id               text[],
    m_role             text[],
    m_type             text[],
    m_content          text[],
    m_disclaimer       text[],
    m_extra            text[]
) WITH (toast_tuple_target = 8160) ON COMMIT DROP`

const incomingColumns = 30

// knownFirstCreateSQL holds the chats whose first row in the file is a
// version the database keeps as it is (known): they are counted in Go as
// they stream (unchanged when that version is current, else stale), and
// sent nowhere else. The merge needs them only for a chat that the file
// names again later (its later rows go to incoming): the chat must then be
// counted once, by its state before and after the whole load.
const knownFirstCreateSQL = `
CREATE TEMP TABLE known_first (
    chat_id text COLLATE "C" NOT NULL,
    current boolean NOT NULL
) ON COMMIT DROP`

const knownFirstCopySQL = `COPY known_first FROM STDIN (FORMAT binary)`

func encodeKnownFirst(e *copyEncoder, r *etl.Row) {
	e.tuple(2)
	e.text(r.ChatID)
	e.bool(r.Current)
}

const incomingCopySQL = `COPY incoming FROM STDIN (FORMAT binary)`

func encodeReject(e *copyEncoder, r *etl.Reject) {
	e.tuple(incomingColumns)
	e.int8(r.Line)
	e.text(string(r.Code))
	e.text(r.Reason)
	e.text(r.Raw)
	for range incomingColumns - 4 {
		e.null()
	}
}

// encodeKnownRow sends only the keys of a row whose exact version is
// already kept: the merge needs them to classify it, and nothing else.
func encodeKnownRow(e *copyEncoder, r *etl.Row) {
	e.tuple(incomingColumns)
	e.int8(r.Line)
	e.null()
	e.null()
	e.null()
	e.text(r.ChatID)
	e.timestamptz(r.UpdatedAt)
	for range 16 { // created_at .. quality_flags
		e.null()
	}
	e.bytes(r.Hash[:])
	e.bool(true)
	for range 6 { // the message arrays
		e.null()
	}
}

// encodeSourceFields writes the typed source columns from created_at to
// message_count, in the order every table that has them lists them.
func encodeSourceFields(e *copyEncoder, r *etl.Row) {
	if r.HasCreatedAt {
		e.timestamptz(r.CreatedAt)
	} else {
		e.null()
	}
	e.nullText(r.Slug)
	e.nullText(r.Token)
	e.nullText(r.OrganizationID)
	e.nullText(r.Language)
	if r.HasIsTestChat {
		e.bool(r.IsTestChat)
	} else {
		e.null()
	}
	e.nullText(r.Sentiment)
	e.nullText(r.Resolution)
	if r.HasMessageCount {
		e.int8(r.MessageCount)
	} else {
		e.null()
	}
}

// encodeDerivedFields writes the columns from default_message_id to
// row_hash, likewise.
func encodeDerivedFields(e *copyEncoder, r *etl.Row) {
	e.nullText(r.DefaultMessageID)
	e.bool(r.IsDefaultChat)
	e.int4(int32(len(r.Messages)))
	flags := r.Flags.Names()
	e.textArray(len(flags), func(i int) etl.Text { return etl.Text{S: flags[i], Valid: true} })
	e.bytes(r.Hash[:])
}

func encodeRow(e *copyEncoder, r *etl.Row) {
	e.tuple(incomingColumns)
	e.int8(r.Line)
	e.null()
	e.null()
	e.null()
	e.text(r.ChatID)
	e.timestamptz(r.UpdatedAt)
	encodeSourceFields(e, r)
	e.nullText(r.ConversationLog)
	e.nullText(r.StructuredInfo)
	e.bytes(r.Facts)
	encodeDerivedFields(e, r)
	e.bool(false)
	m := r.Messages
	e.textArray(len(m), func(i int) etl.Text { return m[i].ID })
	e.textArray(len(m), func(i int) etl.Text { return m[i].Role })
	e.textArray(len(m), func(i int) etl.Text { return m[i].Type })
	e.textArray(len(m), func(i int) etl.Text { return m[i].Content })
	e.textArray(len(m), func(i int) etl.Text { return m[i].Disclaimer })
	e.textArray(len(m), func(i int) etl.Text { return m[i].Extra })
}
