package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatstage/chatstage/etl"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Load is the record of one ingested file: what staging.loads keeps.
type Load struct {
	LoadID          int64  `json:"load_id"`
	Source          string `json:"source"`
	Status          string `json:"status"`
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
	Error           string `json:"error,omitempty"`
}

// SourceInfo describes the bytes of a source once it has been read whole.
type SourceInfo struct {
	SizeBytes int64
	SHA256    []byte
}

// LoadParams are the inputs of LoadRun.
type LoadParams struct {
	LoadID int64
	Source string
	// RejectBudget fails the load when it rejects more rows than this.
	RejectBudget RejectBudget
	// DryRun does all of the load in a transaction that is rolled back:
	// the counts are those the load would have, and nothing stays, not
	// even a load record or a load_id. LoadID must be 0 (no LoadBegin):
	// the record is made inside the transaction, under id 0, for the
	// rejects' foreign key. The result has Status "dry_run"; when the rows
	// rejected exceed RejectBudget, its Error says the load would fail,
	// and the merge is counted all the same.
	DryRun bool
	// Batches delivers the shaped file; LoadRun reads it until closed.
	Batches <-chan *etl.Batch
	// Finish is called once Batches is closed. It returns what was read, or
	// the error that ended the stream early, which fails the load.
	Finish func() (SourceInfo, error)
}

const loadBeginSQL = `INSERT INTO staging.loads (source) VALUES ($1) RETURNING load_id`

// loadDryRunSQL records a dry run's load, inside its transaction, under id
// 0, which the identity never gives: taking none from it leaves even the
// sequence as it was. The ingest lock keeps two dry runs from meeting.
const loadDryRunSQL = `INSERT INTO staging.loads (load_id, source) OVERRIDING SYSTEM VALUE VALUES (0, $1) RETURNING load_id`

// loadLockSQL marks a load as alive: its connection holds this session
// lock until the load ends, and a 'running' load whose lock is free has
// lost its process (see LoadsRecover).
const loadLockSQL = `SELECT pg_advisory_lock(` + loadLockClass + `, $1::integer)`

// LoadBegin records a new load of source with status running and commits
// it at once, so that a load that later fails or dies is still on record.
// The connection that recorded it is kept, holding the load's liveness
// lock, for LoadRun.
func (s *Store) LoadBegin(ctx context.Context, source string) (int64, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("recording load of %s: %w", source, err)
	}
	var id int64
	if err := conn.QueryRow(ctx, loadBeginSQL, storable(source)).Scan(&id); err != nil {
		conn.Release()
		return 0, fmt.Errorf("recording load of %s: %w", source, err)
	}
	if _, err := conn.Exec(ctx, loadLockSQL, id); err != nil {
		conn.Release()
		return 0, fmt.Errorf("recording load of %s: %w", source, err)
	}
	// Loads are serialized from here, not only inside LoadRun: the rows are
	// looked up (LoadLookup) while the file streams, and those answers must
	// hold until this load commits.
	if _, err := conn.Exec(ctx, ingestSessionLockSQL); err != nil {
		loadConnRelease(conn)
		return 0, fmt.Errorf("waiting for the ingest lock: %w", err)
	}
	s.loadConnsMu.Lock()
	s.loadConns[id] = conn
	s.loadConnsMu.Unlock()
	return id, nil
}

// loadConn takes the connection LoadBegin kept for a load.
func (s *Store) loadConn(ctx context.Context, loadID int64) (*pgxpool.Conn, error) {
	s.loadConnsMu.Lock()
	conn := s.loadConns[loadID]
	delete(s.loadConns, loadID)
	s.loadConnsMu.Unlock()
	if conn == nil {
		return nil, fmt.Errorf("load %d was not begun by this process", loadID)
	}
	return conn, nil
}

// loadConnRelease ends a load's locks (liveness and ingest) and returns its
// connection.
// A connection whose unlock fails (dead server) is closed instead, which
// releases the lock too.
func loadConnRelease(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCleanupTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		conn.Conn().Close(ctx)
	}
	conn.Release()
}

const loadFailSQL = `
UPDATE staging.loads SET status = 'failed', error = $2, finished_at = clock_timestamp(),
    size_bytes = $3, sha256 = $4
WHERE load_id = $1 AND status = 'running'`

// LoadFail marks a load failed with its cause and what was read of its
// source until then: the size and SHA-256 of the bytes read (contract
// section 3), so that a truncated file can be told from the one that
// later loads. It uses a fresh context: it runs after the load's own
// context was cancelled, typically on Ctrl-C.
//
// It tries up to three times: after a server restart the pool may first
// hand out connections that died with it, and discards each that fails.
func (s *Store) LoadFail(loadID int64, read SourceInfo, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCleanupTimeout)
	defer cancel()
	var err error
	for range 3 {
		_, err = s.pool.Exec(ctx, loadFailSQL, loadID, storable(cause.Error()), read.SizeBytes, hex.EncodeToString(read.SHA256))
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// ingestLockKey serializes loads: a second ingest waits for the first to
// commit, so the two never compute the current state from the same snapshot.
const ingestLockSQL = `SELECT pg_advisory_xact_lock(hashtext('chatstage.ingest'))`

// ingestSessionLockSQL takes the same lock for the whole of a load, from
// LoadBegin (or DryRunBegin) to its end; LoadRun's transaction then takes
// it again, which a session that holds it gets at once.
const ingestSessionLockSQL = `SELECT pg_advisory_lock(hashtext('chatstage.ingest'))`

// DryRunBegin prepares a dry run as LoadBegin prepares a load, without
// recording anything: it waits for the ingest lock and keeps the
// connection for LoadRun.
func (s *Store) DryRunBegin(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	if _, err := conn.Exec(ctx, ingestSessionLockSQL); err != nil {
		loadConnRelease(conn)
		return fmt.Errorf("dry run: waiting for the ingest lock: %w", err)
	}
	s.loadConnsMu.Lock()
	s.loadConns[dryRunID] = conn
	s.loadConnsMu.Unlock()
	return nil
}

// dryRunID keys a dry run's connection; no load has id 0.
const dryRunID = 0

// LoadRun copies the batches of one file into a temporary table and merges
// them into the staging tables, all in one transaction: after an error or a
// cancelled context nothing of the file is visible. On success the load is
// marked succeeded with its counts.
func (s *Store) LoadRun(ctx context.Context, p LoadParams) (Load, error) {
	res := Load{LoadID: p.LoadID, Source: p.Source, Status: "running"}
	var conn *pgxpool.Conn
	var err error
	if p.DryRun {
		// No record outside the transaction, so no liveness lock to hold.
		if conn, err = s.loadConn(ctx, dryRunID); err != nil {
			return res, fmt.Errorf("dry run: %w", err)
		}
		defer loadConnRelease(conn)
	} else {
		if conn, err = s.loadConn(ctx, p.LoadID); err != nil {
			return res, err
		}
		defer loadConnRelease(conn)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("load %d: %w", p.LoadID, err)
	}
	defer func() {
		// A no-op after Commit. Bounded: after Ctrl-C the server may still be
		// cancelling a statement, and closing the connection rolls back too.
		ctx, cancel := context.WithTimeout(context.Background(), defaultCleanupTimeout)
		defer cancel()
		tx.Rollback(ctx) //nolint:errcheck
	}()
	for _, q := range []string{ingestLockSQL, loadCompressionSQL, incomingCreateSQL, knownFirstCreateSQL} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return res, fmt.Errorf("load %d: preparing: %w", p.LoadID, err)
		}
	}
	if p.DryRun {
		if err := tx.QueryRow(ctx, loadDryRunSQL, storable(p.Source)).Scan(&res.LoadID); err != nil {
			return res, fmt.Errorf("dry run: %w", err)
		}
	}

	copyStart := time.Now()
	// Under a reject budget every row goes through the landing table, so
	// that a load over budget can keep its rejects and drop its rows.
	direct := !p.RejectBudget.set
	counted, copyErr := s.loadCopy(ctx, tx, res.LoadID, p.Batches, direct)
	s.logger.Debug("copy done", "load_id", p.LoadID, "duration", time.Since(copyStart))
	if copyErr != nil {
		// Drain so the producer is never blocked on a load that gave up.
		go func() {
			for range p.Batches {
			}
		}()
	}
	info, srcErr := p.Finish()
	if srcErr != nil {
		return res, srcErr
	}
	if copyErr != nil {
		return res, fmt.Errorf("load %d: copying rows: %w", p.LoadID, copyErr)
	}
	res.RowsRead, res.RowsRejected = counted.rows+counted.rejects, counted.rejects
	res.SizeBytes, res.SHA256 = info.SizeBytes, hex.EncodeToString(info.SHA256)

	if !p.DryRun && p.RejectBudget.exceeded(res.RowsRejected, res.RowsRead) {
		return s.loadOverBudget(ctx, tx, res, p.RejectBudget)
	}

	if err := s.merge(ctx, tx, &res, counted); err != nil {
		return res, fmt.Errorf("load %d: merging: %w", p.LoadID, err)
	}
	if p.DryRun {
		if err := tx.Rollback(ctx); err != nil {
			return res, fmt.Errorf("dry run: rolling back: %w", err)
		}
		res.LoadID, res.Status = 0, "dry_run"
		if p.RejectBudget.exceeded(res.RowsRejected, res.RowsRead) {
			res.Error = fmt.Sprintf("the load would fail: %d of %d rows rejected, over the budget of %s",
				res.RowsRejected, res.RowsRead, p.RejectBudget)
		}
		return res, nil
	}
	res.Status = "succeeded"
	if _, err := tx.Exec(ctx, loadSucceedSQL, res.LoadID, res.SizeBytes, res.SHA256,
		res.RowsRead, res.RowsRejected, res.VersionsNew, res.ChatsInserted, res.ChatsUpdated,
		res.ChatsUnchanged, res.ChatsStale, res.MessagesWritten); err != nil {
		return res, fmt.Errorf("load %d: recording success: %w", p.LoadID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		res.Status = "running"
		return res, fmt.Errorf("load %d: committing: %w", p.LoadID, err)
	}
	return res, nil
}

const loadSucceedSQL = `
UPDATE staging.loads SET status = 'succeeded', finished_at = clock_timestamp(),
    size_bytes = $2, sha256 = $3, rows_read = $4, rows_rejected = $5, versions_new = $6,
    chats_inserted = $7, chats_updated = $8, chats_unchanged = $9, chats_stale = $10,
    messages_written = $11
WHERE load_id = $1`

const historyEmptySQL = `SELECT NOT EXISTS (SELECT 1 FROM staging.chat_versions)`

// storable makes text that chatstage did not read through etl (a file
// name, a header line, an error message that quotes them) storable as
// PostgreSQL text, which refuses NUL and invalid UTF-8: a file named with
// a Latin-1 byte must not fail its load before it starts.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
