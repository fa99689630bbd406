package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// loadLockClass is the first key of the per-load advisory locks: the
// ASCII of "chat" as an int4, so they never collide with other users of
// two-key advisory locks in the database.
const loadLockClass = "1667785076"

// loadsRecoverSQL fails the loads left 'running' by a process that died
// (kill -9, a crash, a lost connection): nobody holds their liveness lock.
// The transaction-level try-lock is released at commit.
const loadsRecoverSQL = `
UPDATE staging.loads
SET status = 'failed', finished_at = clock_timestamp(),
    error = 'the process running this load stopped before it finished; nothing of it was written'
WHERE status = 'running' AND pg_try_advisory_xact_lock(` + loadLockClass + `, load_id::integer)
RETURNING load_id`

// LoadsRecover marks as failed every load whose process died while it
// ran, and returns their ids. Their data was never committed, so there is
// nothing else to undo. Loads still running in a live process are left
// alone.
func (s *Store) LoadsRecover(ctx context.Context) ([]int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("recovering loads: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
	rows, err := tx.Query(ctx, loadsRecoverSQL)
	if err != nil {
		return nil, recoverError(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, recoverError(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("recovering loads: %w", err)
	}
	for _, id := range ids {
		s.logger.Warn("marked a dead load failed", "load_id", id)
	}
	return ids, nil
}

// recoverError tells a database that was never migrated (no staging.loads)
// from a failure.
func recoverError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return ErrNotMigrated
	}
	return fmt.Errorf("recovering loads: %w", err)
}
