package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LoadResult is the record of one load: what staging.loads keeps of it.
// Its JSON form is what ingest --json prints.
type LoadResult struct {
	LoadID          int64  `json:"load_id"`
	Source          string `json:"source"`
	Status          string `json:"status"` // running, succeeded, failed; dry_run for a dry run
	SizeBytes       int64  `json:"size_bytes"`
	SHA256          string `json:"sha256"`
	RowsRead        int64  `json:"rows_read"`
	RowsRejected    int64  `json:"rows_rejected"`
	VersionsNew     int64  `json:"versions_new"`
	ChatsInserted   int64  `json:"chats_inserted"`
	ChatsUpdated    int64  `json:"chats_updated"`
	ChatsUnchanged  int64  `json:"chats_unchanged"`
	ChatsStale      int64  `json:"chats_stale"`
	MessagesWritten int64  `json:"messages_written"`
	RowsSuppressed  int64  `json:"rows_suppressed"`
	ChatsRetired    int64  `json:"chats_retired"`
	Snapshot        bool   `json:"snapshot"` // ingest --snapshot: absent chats are retired
	Error           string `json:"error,omitempty"`
	// Note is what a load that succeeded has to say: why a snapshot
	// retired nothing.
	Note string `json:"note,omitempty"`
}

// SourceInfo describes the bytes of a source as read: all of them once it
// was read to its end, those read until then after a failure.
type SourceInfo struct {
	SizeBytes int64
	SHA256    []byte
	// Suppressed is the records of erased chats skipped as they were read.
	Suppressed int64
}

// KeyState is what the database keeps of an etl.Key: the exact version
// with that content (Known), which is moreover its chat's current version
// (Current), or at least some version of the chat (ChatExists).
type KeyState struct {
	Known, Current, ChatExists bool

	// newer: the key is a version newer than the current one of a live
	// chat, whose current messages are kept messages and hash to digest
	// (nil when unknown); see Grows.
	newer  bool
	kept   int
	digest []byte
	// retired: the chat exists and is retired (Live).
	retired bool
}

// Live reports whether the key's chat was live before the load: it exists
// and is not retired.
func (s KeyState) Live() bool { return s.ChatExists && !s.retired }

// Grows reports whether row, the row of the key, is a newer version of a
// live chat whose first messages are the chat's current messages value
// for value, and returns how many those are: its conversation only grew.
// Such a row can be an Update, written the direct way.
func (s KeyState) Grows(row *etl.Row) (kept int, ok bool) {
	if !s.newer || s.digest == nil || len(row.Messages) < s.kept {
		return 0, false
	}
	d := etl.MessagesDigest(row.Messages[:s.kept])
	return s.kept, bytes.Equal(d[:], s.digest)
}

// Known is a row whose exact version the database keeps as it is
// (KeyState.Known): only its key travels.
type Known struct {
	Line    int64
	Key     etl.Key
	Current bool // the version is its chat's current one
}

// Update is a newer version of a live chat whose conversation only grew
// (KeyState.Grows): its first Kept messages are the chat's current
// messages as they are.
type Update struct {
	Row  *etl.Row
	Kept int
}

// Batch is a run of consecutive records of a file, sorted by the way each
// goes into the database. The caller sorts them by the load's lookups and
// by what the file held before, and hands batches to Copy in file order:
// the merge applies the file as if row by row, in order.
type Batch struct {
	// Direct are rows that are the first row in the file of a chat the
	// database does not have (KeyState.ChatExists is false). Nothing can
	// conflict with them, so Copy writes them straight into the staging
	// tables (the bulk path), or merges them when the load has a reject
	// budget (a load over budget must drop its rows and keep its rejects).
	Direct []*etl.Row
	// Updates are rows that are the first row in the file of a live chat,
	// a version newer than its current one whose conversation only grew
	// (KeyState.Grows). The version cannot be in the history (the current
	// one is the greatest), so Copy writes it there straight, the new
	// messages beside the kept ones, and the chat's current row by one
	// UPDATE before the merge; or merges them, under a reject budget.
	Updates []Update
	// Merged are the other rows whose version the database does not keep
	// as it is. They go through the merge (merge.go).
	Merged []*etl.Row
	// KnownFirst are rows whose version the database keeps as it is and
	// that are the first row of their chat in the file: counted
	// (unchanged when Current, else stale) and written nowhere.
	KnownFirst []Known
	// KnownAgain are rows whose version the database keeps as it is, of a
	// chat the file named before: the merge needs their keys to count
	// their chat once.
	KnownAgain []Known
	// Rejects are the records that cannot be chat versions.
	Rejects []etl.Reject
	// LiveNamed is how many of the rows are the first in the file of a
	// chat live before the load (KeyState.Live). It may count too few (a
	// chat taken for one named before), never too many: a snapshot whose
	// rows name every live chat this way, and that has no reject, retires
	// nothing without asking which chats the file names.
	LiveNamed int
}

// BatchSource yields a load's batches in file order, as pgx's
// CopyFromSource yields rows: Copy calls Next until it returns false, then
// Err, which tells the end of the file from a failure.
type BatchSource interface {
	Next() bool
	Batch() *Batch
	Err() error
}

// LoadParams describe a load to begin.
type LoadParams struct {
	// Source is the file's name as given, "-" for standard input.
	Source string
	// Header is the file's header line, kept with the load so its rejects
	// can be written back under it.
	Header string
	// DryRun does the whole load in a transaction that is rolled back: the
	// counts are those the load would have, and nothing stays, not even a
	// load record or a load_id.
	DryRun bool
	// RejectBudget fails a load that rejects more rows than it allows.
	RejectBudget RejectBudget
	// Snapshot declares the file a full snapshot: the live chats it does
	// not name are retired (contract section 6), within MaxRetire.
	Snapshot  bool
	MaxRetire RetireBudget
	// OnWait, when set, is called once when the load has to wait for
	// another load (or an erasure) to end, with who it waits for.
	OnWait func(LockWait)
}

// Load is one load in progress: a value that owns its connection and its
// transaction, as pgx.Tx does. Begin it with Store.LoadBegin, look rows up
// with Lookup while the file streams, Copy the batches, then Commit, or
// Fail. Close releases whatever is left and is always safe to defer.
//
// A Load holds the ingest lock from LoadBegin to its end, so loads run one
// at a time and the answers of Lookup stay true until it commits.
type Load struct {
	s        *Store
	p        LoadParams
	conn     *pgxpool.Conn
	tx       pgx.Tx
	id       int64 // 0 for a dry run
	started  time.Time
	noLookup bool // the history was empty at begin: nothing to look up
	// replaces: a lookup met a version the database keeps with other
	// content; without one, the merge has no content to move to the
	// history and skips that step.
	replaces atomic.Bool
	counts   copyCounts
	retire   retirePlan
	erased   map[[sha256.Size]byte]bool // chats erased: their rows are suppressed
}

// ID returns the load's id; 0 for a dry run.
func (l *Load) ID() int64 { return l.id }

const loadBeginSQL = `INSERT INTO staging.loads (source, header) VALUES ($1, $2) RETURNING load_id`

// loadDryRunSQL records a dry run's load, inside its transaction, under id
// 0, which the identity never gives (the rejects' foreign key needs a
// load): taking none from it leaves even the sequence as it was.
const loadDryRunSQL = `INSERT INTO staging.loads (load_id, source, header) OVERRIDING SYSTEM VALUE VALUES (0, $1, $2)`

// loadLockSQL marks a load as alive: its connection holds this session
// lock until the load ends, and a 'running' load whose lock is free has
// lost its process (see LoadsRecover).
const loadLockSQL = `SELECT pg_advisory_lock(` + loadLockClass + `, $1::integer)`

// ingestLockSQL serializes loads for their whole duration: a second load
// waits for the first to end, so two loads never compute the current
// state from the same snapshot, and the lookups made while a file streams
// stay true until its load commits.
const ingestLockSQL = `SELECT pg_advisory_lock(hashtext('chatstage.ingest'))`

const historyEmptySQL = `SELECT NOT EXISTS (SELECT 1 FROM staging.chat_versions)`

// LoadBegin begins a load. Unless it is a dry run, it first records the
// load with status running and commits that at once, so a load that later
// fails or dies is still on record. It then waits for the ingest lock and
// begins the load's transaction, in which the landing tables live.
func (s *Store) LoadBegin(ctx context.Context, p LoadParams) (*Load, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.translate(err, "beginning the load of "+p.Source)
	}
	l := &Load{s: s, p: p, conn: conn, started: time.Now()}
	if err := l.begin(ctx); err != nil {
		if l.id != 0 { // recorded running: say why it ends
			l.Fail(ctx, SourceInfo{}, err) //nolint:errcheck // the error of begin says more
		}
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Load) begin(ctx context.Context) error {
	source, header := storable(l.p.Source), storable(l.p.Header)
	if !l.p.DryRun {
		if err := l.conn.QueryRow(ctx, loadBeginSQL, source, header).Scan(&l.id); err != nil {
			return l.s.translate(err, "recording the load of "+l.p.Source)
		}
		if _, err := l.conn.Exec(ctx, loadLockSQL, l.id); err != nil {
			return l.s.translate(err, "recording the load of "+l.p.Source)
		}
	}
	if err := l.s.lockIngest(ctx, l.conn, l.p.OnWait); err != nil {
		return l.s.translate(err, "waiting for the ingest lock")
	}
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return l.s.translate(err, l.step("beginning"))
	}
	l.tx = tx
	if _, err := tx.Exec(ctx, loadCompressionSQL); err != nil {
		return l.s.translate(err, l.step("preparing"))
	}
	// The load tables are empty between loads (every commit empties
	// them, a rollback leaves them as they were); emptying them again
	// costs a file sync per table and shard, so only when they are not.
	var leftover bool
	if err := tx.QueryRow(ctx, loadTablesLeftoverSQL).Scan(&leftover); err != nil {
		return l.s.translate(err, l.step("preparing"))
	}
	if leftover {
		if _, err := tx.Exec(ctx, loadTablesTruncateSQL); err != nil {
			return l.s.translate(err, l.step("preparing"))
		}
	}
	if l.p.DryRun {
		if _, err := tx.Exec(ctx, loadDryRunSQL, source, header); err != nil {
			return l.s.translate(err, l.step("preparing"))
		}
	}
	if err := tx.QueryRow(ctx, historyEmptySQL).Scan(&l.noLookup); err != nil {
		return l.s.translate(err, l.step("looking up the history"))
	}
	rows, err := tx.Query(ctx, erasedSQL)
	if err != nil {
		return l.s.translate(err, l.step("reading the erasures"))
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return l.s.translate(err, l.step("reading the erasures"))
	}
	l.erased = make(map[[sha256.Size]byte]bool, len(hashes))
	for _, h := range hashes {
		var b [sha256.Size]byte
		if n, err := hex.Decode(b[:], []byte(h)); err == nil && n == len(b) {
			l.erased[b] = true
		}
	}
	return nil
}

const erasedSQL = `SELECT DISTINCT chat_id_sha256 FROM staging.erasures`

// Erased reports whether chatID (trimmed and sanitized as a row's) is a
// chat that was erased: its rows must be skipped, counted as suppressed
// (contract section 6). It is safe for concurrent use.
func (l *Load) Erased(chatID string) bool {
	return len(l.erased) > 0 && l.erased[sha256.Sum256([]byte(chatID))]
}

// step names what a load was doing, for errors.
func (l *Load) step(what string) string {
	if l.p.DryRun {
		return "dry run: " + what
	}
	// Not the load's id: the error is recorded with its load and printed
	// after "load N failed:", which says which load it was.
	return what
}

// lookupChatsSQL reads the current version of each chat of a batch: one
// read of staging.chats through its primary key, whatever the size of the
// history, matched against the keys in Go. On a distributed database
// chat_id = ANY keeps the read to the shards of those chats.
const lookupChatsSQL = `
SELECT chat_id, updated_at, row_hash, retired_by_load IS NOT NULL, messages_kept, messages_digest
FROM staging.chats WHERE chat_id = ANY ($1::text[])`

// lookupVersionSQL reads one version of the history by its primary key:
// only for a key older than its chat's current version, which a nightly
// file seldom holds.
const lookupVersionSQL = `SELECT row_hash FROM staging.chat_versions WHERE chat_id = $1 AND updated_at = $2`

// currentChat is what Lookup reads of a chat's current version.
type currentChat struct {
	updatedAt time.Time
	hash      []byte
	retired   bool
	kept      int32
	digest    []byte
}

// Lookup returns what the database keeps of each key, in the order of
// keys, on another of the pool's connections (the load's own is busy
// copying): the current version of the keys' chats in one query, then,
// pipelined, the keys older than it in the history. A key equal to the
// current version, or newer, needs no more: the current version is the
// greatest of the history, and its content is the chat's. It is safe for
// concurrent use. On a history that was empty when the load began it
// answers without asking.
func (l *Load) Lookup(ctx context.Context, keys []etl.Key) ([]KeyState, error) {
	states := make([]KeyState, len(keys))
	if l.noLookup || len(keys) == 0 {
		return states, nil
	}
	ids := make([]string, len(keys))
	for i := range keys {
		ids[i] = keys[i].ChatID
	}
	rows, err := l.s.pool.Query(ctx, lookupChatsSQL, ids)
	if err != nil {
		return nil, l.lookupError(err)
	}
	current := make(map[string]currentChat, len(keys))
	var id string
	var c currentChat
	_, err = pgx.ForEachRow(rows, []any{&id, &c.updatedAt, &c.hash, &c.retired, &c.kept, &c.digest}, func() error {
		current[id] = c
		return nil
	})
	if err != nil {
		return nil, l.s.translate(err, l.step("looking up rows"))
	}
	var older []int // keys older than their chat's current version
	// replaces: the database keeps a key's version with other content,
	// which the merge moves to the history.
	replaces := false
	for i := range keys {
		k, st := &keys[i], &states[i]
		c, ok := current[k.ChatID]
		if !ok {
			continue // a chat the database does not have
		}
		st.ChatExists, st.retired = true, c.retired
		switch k.UpdatedAt.Compare(c.updatedAt) {
		case 0:
			st.Known = bytes.Equal(k.Hash[:], c.hash)
			st.Current = st.Known
			replaces = replaces || !st.Known
		case 1:
			st.newer = !c.retired
			st.kept, st.digest = int(c.kept), c.digest
		default:
			older = append(older, i)
		}
	}
	if len(older) > 0 {
		b := &pgx.Batch{}
		for _, i := range older {
			b.Queue(lookupVersionSQL, keys[i].ChatID, keys[i].UpdatedAt)
		}
		br := l.s.pool.SendBatch(ctx, b)
		for _, i := range older {
			var hash []byte
			err := br.QueryRow().Scan(&hash)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // a version the history does not have
			}
			if err != nil {
				br.Close()
				return nil, l.lookupError(err)
			}
			states[i].Known = bytes.Equal(keys[i].Hash[:], hash)
			replaces = replaces || !states[i].Known
		}
		if err := br.Close(); err != nil {
			return nil, l.lookupError(err)
		}
	}
	if replaces {
		l.replaces.Store(true)
	}
	return states, nil
}

// lookupError translates an error of Lookup.
func (l *Load) lookupError(err error) error {
	if isConnectError(err) {
		// The pool opens a connection for the lookups while the load
		// runs: failing to, mid-load, is the server going away.
		return &dbError{ErrConnectionLost, fmt.Sprintf("%v at %s during %s (connecting again: %s)",
			ErrConnectionLost, l.s.target, l.step("looking up rows"), connectCause(err)), err}
	}
	return l.s.translate(err, l.step("looking up rows"))
}

// copyCounts are what Copy counted of the rows it sent.
type copyCounts struct {
	rows, rejects    int64 // records: kept rows and rejects
	direct           int64 // rows written straight into the staging tables: new chats
	directMessages   int64
	liveNamed        int64 // Batch.LiveNamed
	updates          int64 // Updates written the direct way: chats updated
	updateMessages   int64 // the messages they added
	merged           int64 // rows copied to be merged (incoming)
	knownAgain       int64
	unchanged, stale int64 // KnownFirst rows
}

// copyRound collects the rows of several batches, by table, to be copied
// in one COPY per table: a COPY costs a round trip, a batch is a few
// hundred rows.
type copyRound struct {
	incoming, direct []*etl.Row
	updates          []Update
	knownFirst       []Known
	knownAgain       []Known
	rejects          []*etl.Reject
	bytes            int
}

// copyRoundBytes is about how much a round holds before it is copied:
// enough that a COPY's round trip is nothing next to its rows, little
// enough that memory stays flat and the database works while the file is
// still being read.
const copyRoundBytes = 4 << 20

func (r *copyRound) add(b *Batch, direct bool) {
	for _, row := range b.Direct {
		if direct {
			r.direct = append(r.direct, row)
		} else {
			r.incoming = append(r.incoming, row)
		}
		r.bytes += rowBytes(row)
	}
	for _, u := range b.Updates {
		if direct {
			r.updates = append(r.updates, u)
		} else {
			r.incoming = append(r.incoming, u.Row)
		}
		r.bytes += rowBytes(u.Row)
	}
	for _, row := range b.Merged {
		r.incoming = append(r.incoming, row)
		r.bytes += rowBytes(row)
	}
	r.knownFirst = append(r.knownFirst, b.KnownFirst...)
	r.knownAgain = append(r.knownAgain, b.KnownAgain...)
	for i := range b.Rejects {
		r.rejects = append(r.rejects, &b.Rejects[i])
		r.bytes += len(b.Rejects[i].Raw)
	}
	for _, k := range b.KnownFirst {
		r.bytes += 96 + len(k.Key.ChatID)
	}
	for _, k := range b.KnownAgain {
		r.bytes += 96 + len(k.Key.ChatID)
	}
}

func rowBytes(r *etl.Row) int { return 256 + len(r.ConversationLog.S) + len(r.StructuredInfo.S) }

// Copy reads src to its end and copies its rows into the load's landing
// tables, and the direct ones into the staging tables, in the load's
// transaction. An error from src, or ctx's, ends the load's usefulness:
// Fail it.
func (l *Load) Copy(ctx context.Context, src BatchSource) error {
	direct := !l.p.RejectBudget.set
	var r copyRound
	for src.Next() {
		b := src.Batch()
		l.counts.rows += int64(len(b.Direct) + len(b.Updates) + len(b.Merged) + len(b.KnownFirst) + len(b.KnownAgain))
		l.counts.rejects += int64(len(b.Rejects))
		l.counts.liveNamed += int64(b.LiveNamed)
		for _, k := range b.KnownFirst {
			if k.Current {
				l.counts.unchanged++
			} else {
				l.counts.stale++
			}
		}
		r.add(b, direct)
		if r.bytes >= copyRoundBytes {
			if err := l.copyRound(ctx, &r); err != nil {
				return err
			}
			r = copyRound{}
		}
	}
	if err := src.Err(); err != nil {
		return err
	}
	return l.copyRound(ctx, &r)
}

// copyRound copies one round, table by table.
func (l *Load) copyRound(ctx context.Context, r *copyRound) error {
	start := time.Now()
	var msgs []messageRow
	for _, row := range r.incoming {
		for i := range row.Messages {
			msgs = append(msgs, messageRow{row, i, l.id})
		}
	}
	var err error
	copyTo := func(n func() (int64, error)) {
		if err == nil {
			_, err = n()
		}
	}
	copyTo(func() (int64, error) { return incomingRejectsTable.copyRows(ctx, l.tx, r.rejects) })
	copyTo(func() (int64, error) { return knownFirstTable.copyRows(ctx, l.tx, r.knownFirst) })
	copyTo(func() (int64, error) { return incomingKeysTable.copyRows(ctx, l.tx, r.knownAgain) })
	copyTo(func() (int64, error) { return incomingTable.copyRows(ctx, l.tx, r.incoming) })
	copyTo(func() (int64, error) { return incomingMessagesTable.copyRows(ctx, l.tx, msgs) })
	l.counts.merged += int64(len(r.incoming))
	l.counts.knownAgain += int64(len(r.knownAgain))
	if len(r.direct)+len(r.updates) > 0 {
		// New chats and direct updates share the COPYs into the history
		// and the messages; an update writes only the messages it adds.
		rows := make([]loadRow, 0, len(r.direct)+len(r.updates))
		msgs = msgs[:0]
		for _, row := range r.direct {
			rows = append(rows, loadRow{row, l.id})
			for j := range row.Messages {
				msgs = append(msgs, messageRow{row, j, l.id})
			}
		}
		directMessages := len(msgs)
		for _, u := range r.updates {
			rows = append(rows, loadRow{u.Row, l.id})
			for j := u.Kept; j < len(u.Row.Messages); j++ {
				msgs = append(msgs, messageRow{u.Row, j, l.id})
			}
		}
		copyTo(func() (int64, error) { return chatVersionsTable.copyRows(ctx, l.tx, rows) })
		copyTo(func() (int64, error) { return chatsTable.copyRows(ctx, l.tx, rows[:len(r.direct)]) })
		copyTo(func() (int64, error) { return updatesTable.copyRows(ctx, l.tx, rows[len(r.direct):]) })
		copyTo(func() (int64, error) { return messagesTable.copyRows(ctx, l.tx, msgs) })
		l.counts.direct += int64(len(r.direct))
		l.counts.directMessages += int64(directMessages)
		l.counts.updates += int64(len(r.updates))
		l.counts.updateMessages += int64(len(msgs) - directMessages)
	}
	if err != nil {
		return l.s.translate(err, l.step("copying rows"))
	}
	l.s.logger.Debug("copy round", "load_id", l.id, "rows", len(r.incoming)+len(r.direct)+len(r.updates), "duration", time.Since(start))
	return nil
}

// Commit merges what Copy copied into the staging tables and commits the
// load with its counts and the size and SHA-256 of its source: after it,
// the whole file is visible, or, on an error, nothing of it (Fail it). A
// dry run is merged the same way and rolled back; its result has status
// dry_run, and an Error saying so when it would exceed its reject budget.
// A load over its reject budget keeps only its rejects and a failed record
// and returns ErrRejectBudget.
func (l *Load) Commit(ctx context.Context, read SourceInfo) (LoadResult, error) {
	res := LoadResult{LoadID: l.id, Source: l.p.Source, Status: "running",
		SizeBytes: read.SizeBytes, SHA256: hex.EncodeToString(read.SHA256), RowsSuppressed: read.Suppressed,
		Snapshot: l.p.Snapshot}
	res.RowsRead = l.counts.rows + l.counts.rejects + read.Suppressed
	res.RowsRejected = l.counts.rejects
	over := l.p.RejectBudget.exceeded(res.RowsRejected, res.RowsRead)
	if over && !l.p.DryRun {
		return l.overBudget(ctx, res)
	}
	if err := l.applyUpdates(ctx); err != nil {
		return res, err
	}
	overRetire := false
	if l.p.Snapshot {
		if err := l.planRetire(ctx); err != nil {
			return res, err
		}
		res.Note = l.retire.note()
		overRetire = l.retire.unknown == 0 && l.p.MaxRetire.exceeded(l.retire.would, l.retire.base)
		if overRetire && !l.p.DryRun {
			return l.overRetireBudget(ctx, res)
		}
	}
	if err := l.merge(ctx, &res); err != nil {
		return res, err
	}
	if l.p.DryRun {
		if err := l.end(ctx, l.tx.Rollback); err != nil {
			return res, l.s.translate(err, l.step("rolling back"))
		}
		res.Status = "dry_run"
		switch {
		case over:
			res.Error = fmt.Sprintf("the load would fail: %d of %d rows rejected, over the budget of %s",
				res.RowsRejected, res.RowsRead, l.p.RejectBudget)
		case overRetire:
			res.ChatsRetired = l.retire.would
			res.Error = fmt.Sprintf("the load would fail: the snapshot would retire %d of %d live chats, over the budget of %s",
				l.retire.would, l.retire.base, l.p.MaxRetire)
		}
		return res, nil
	}
	if _, err := l.tx.Exec(ctx, loadSucceedSQL, res.LoadID, res.SizeBytes, res.SHA256,
		res.RowsRead, res.RowsRejected, res.VersionsNew, res.ChatsInserted, res.ChatsUpdated,
		res.ChatsUnchanged, res.ChatsStale, res.MessagesWritten, res.RowsSuppressed, res.ChatsRetired,
		l.p.Snapshot, nullText(res.Note), time.Now()); err != nil {
		return res, l.s.translate(err, l.step("recording success"))
	}
	if err := l.commit(ctx); err != nil {
		return res, err
	}
	res.Status = "succeeded"
	return res, nil
}

// commit empties the load tables, which would otherwise hold the file's
// rows on disk until the next load, and commits.
func (l *Load) commit(ctx context.Context) error {
	if _, err := l.tx.Exec(ctx, loadTablesTruncateSQL); err != nil {
		return l.s.translate(err, l.step("emptying the load tables"))
	}
	if err := l.end(ctx, l.tx.Commit); err != nil {
		return l.s.translate(err, l.step("committing"))
	}
	return nil
}

// end runs commit or rollback, after which the transaction is over.
func (l *Load) end(ctx context.Context, f func(context.Context) error) error {
	err := f(ctx)
	l.tx = nil
	return err
}

// loadSucceedSQL records a load's success. The time is a parameter, like
// every time a write records: a volatile function in a write is refused
// on a distributed database.
const loadSucceedSQL = `
UPDATE staging.loads SET status = 'succeeded', finished_at = $16,
    size_bytes = $2, sha256 = $3, rows_read = $4, rows_rejected = $5, versions_new = $6,
    chats_inserted = $7, chats_updated = $8, chats_unchanged = $9, chats_stale = $10,
    messages_written = $11, rows_suppressed = $12, chats_retired = $13, snapshot = $14, note = $15
WHERE load_id = $1`

const loadFailSQL = `
UPDATE staging.loads SET status = 'failed', error = $2, finished_at = $5,
    size_bytes = $3, sha256 = $4
WHERE load_id = $1 AND status = 'running'`

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Fail rolls the load back and records it failed with its cause and what
// was read of its source until then: the size and SHA-256 of the bytes
// read (contract section 3), so that a truncated file can be told from the
// one that later loads. It runs even when ctx was cancelled (typically by
// Ctrl-C), bounded in time. A dry run only rolls back.
//
// It retries the record while the server cannot be reached (a restart),
// within its time bound; after it, the pool hands out new connections.
func (l *Load) Fail(ctx context.Context, read SourceInfo, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultCleanupTimeout)
	defer cancel()
	l.rollback(ctx)
	if l.p.DryRun || l.id == 0 {
		return nil
	}
	wait := 100 * time.Millisecond
	for {
		_, err := l.s.pool.Exec(ctx, loadFailSQL, l.id, storable(cause.Error()), read.SizeBytes, hex.EncodeToString(read.SHA256), time.Now())
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return l.s.translate(err, l.step("recording the failure"))
		}
		select { // a server restarting: its new connections are refused for a moment
		case <-time.After(wait):
		case <-ctx.Done():
			return l.s.translate(err, l.step("recording the failure"))
		}
		wait = min(2*wait, time.Second)
	}
}

// defaultCleanupTimeout bounds the statements run after a load was
// interrupted, so Ctrl-C never hangs on a dead server; long enough for a
// restarting server to come back.
const defaultCleanupTimeout = 10 * time.Second

func (l *Load) rollback(ctx context.Context) {
	if l.tx != nil {
		l.tx.Rollback(ctx) //nolint:errcheck // closing the connection rolls back too
		l.tx = nil
	}
}

// Close ends whatever the load still holds: its transaction (rolled back
// if neither Commit nor Fail ended it), its locks (liveness and ingest)
// and its connection. A connection whose unlock fails (a dead server) is
// closed instead, which releases the locks too. It is safe to call twice.
func (l *Load) Close() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultCleanupTimeout)
	defer cancel()
	l.rollback(ctx)
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		l.conn.Conn().Close(ctx) //nolint:errcheck // the pool drops a closed connection
	}
	l.conn.Release()
	l.conn = nil
}
