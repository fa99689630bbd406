package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// LoadRecord is a load as staging.loads keeps it, with its times.
type LoadRecord struct {
	LoadResult
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"` // nil while running
	// ProcessGone is set on a running load whose process no longer holds
	// its liveness lock: it died (kill -9, a crash), and the next ingest,
	// export or migrate will record the load failed.
	ProcessGone bool `json:"process_gone,omitempty"`
}

// Totals count the rows of the staging tables.
type Totals struct {
	Chats    int64 `json:"chats"`    // live chats: those the deliverables hold
	Versions int64 `json:"versions"` // chat versions kept (history)
	Messages int64 `json:"messages"` // messages of the current chats
	Rejects  int64 `json:"rejects"`  // rejected records of every load
	Loads    int64 `json:"loads"`    // loads of any status
	// OpenRejects are the rejects not resolved by a later load.
	OpenRejects int64 `json:"open_rejects"`
	// Retired are the chats retired by a snapshot load and not live again.
	Retired int64 `json:"retired"`
	// Erased are the chats erased by forget (ids that were chats).
	Erased int64 `json:"erased"`
	// Suppressed are the rows of erased chats that loads skipped.
	Suppressed int64 `json:"rows_suppressed"`
}

// Status is what StatusRead reports: the recent loads, the totals and the
// state of every migration.
type Status struct {
	Loads      []LoadRecord // newest first
	Totals     Totals
	Migrations []MigrationState // in version order
	// Staging is false when the staging schema does not exist yet (no
	// migration applied): Loads and Totals are then empty.
	Staging bool
}

// statusStagingSQL tells whether migration 00001 has run. StatusRead must
// work on a database that was never migrated: it is how a user finds out.
const statusStagingSQL = `SELECT to_regclass('staging.loads') IS NOT NULL`

const statusLoadsSQL = `
SELECT load_id, source, status, coalesce(size_bytes, 0), coalesce(sha256, ''),
       rows_read, rows_rejected, versions_new, chats_inserted, chats_updated,
       chats_unchanged, chats_stale, messages_written, rows_suppressed, chats_retired,
       snapshot, coalesce(error, ''), coalesce(note, ''), started_at, finished_at
FROM staging.loads
ORDER BY load_id DESC
LIMIT $1`

// statusTotalsSQL counts exactly: the tables are read once each (an index
// only scan where the visibility map allows). Estimates from pg_class
// would be instant but wrong right after a load, when an operator looks.
const statusTotalsSQL = `
SELECT (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NULL),
       (SELECT count(*) FROM staging.chat_versions),
       (SELECT count(*) FROM staging.messages),
       (SELECT count(*) FROM staging.rejects),
       (SELECT count(*) FROM staging.loads),
       (SELECT count(*) FROM staging.rejects WHERE resolved_by_load IS NULL),
       (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NOT NULL),
       (SELECT count(*) FROM staging.erasures WHERE existed),
       (SELECT coalesce(sum(rows_suppressed), 0) FROM staging.loads WHERE status = 'succeeded')`

// StatusRead returns the limit most recent loads (all when limit <= 0),
// the totals of the staging tables, read in one snapshot so they agree
// with each other, and the migration state. It never migrates.
func (s *Store) StatusRead(ctx context.Context, limit int) (Status, error) {
	var st Status
	migs, err := s.MigrationStatus(ctx)
	if err != nil {
		return st, err
	}
	st.Migrations = migs

	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return st, s.translate(err, "reading status")
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: rolling back is how it ends
	if err := tx.QueryRow(ctx, statusStagingSQL).Scan(&st.Staging); err != nil {
		return st, s.translate(err, "reading status")
	}
	if !st.Staging {
		return st, nil
	}
	var lim *int // NULL is LIMIT ALL
	if limit > 0 {
		lim = &limit
	}
	rows, err := tx.Query(ctx, statusLoadsSQL, lim)
	if err != nil {
		return st, s.translate(err, "reading loads")
	}
	st.Loads, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoadRecord, error) {
		var l LoadRecord
		err := row.Scan(&l.LoadID, &l.Source, &l.Status, &l.SizeBytes, &l.SHA256,
			&l.RowsRead, &l.RowsRejected, &l.VersionsNew, &l.ChatsInserted, &l.ChatsUpdated,
			&l.ChatsUnchanged, &l.ChatsStale, &l.MessagesWritten, &l.RowsSuppressed, &l.ChatsRetired,
			&l.Snapshot, &l.Error, &l.Note, &l.StartedAt, &l.FinishedAt)
		return l, err
	})
	if err != nil {
		return st, s.translate(err, "reading loads")
	}
	var running []int64
	for _, l := range st.Loads {
		if l.Status == "running" {
			running = append(running, l.LoadID)
		}
	}
	if len(running) > 0 {
		// The try-locks are transaction locks of this read-only snapshot:
		// they end with it and change nothing.
		rows, err := tx.Query(ctx, loadsDeadSQL, running)
		if err != nil {
			return st, s.translate(err, "reading loads")
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return st, s.translate(err, "reading loads")
		}
		for i := range st.Loads {
			st.Loads[i].ProcessGone = slices.Contains(gone, st.Loads[i].LoadID)
		}
	}
	t := &st.Totals
	if err := tx.QueryRow(ctx, statusTotalsSQL).Scan(&t.Chats, &t.Versions, &t.Messages, &t.Rejects, &t.Loads,
		&t.OpenRejects, &t.Retired, &t.Erased, &t.Suppressed); err != nil {
		return st, s.translate(err, "counting rows")
	}
	return st, nil
}
