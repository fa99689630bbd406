package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// loadLockClass is the first key of the per-load advisory locks: the
// ASCII of "chat" as an int4, so they never collide with other users of
// two-key advisory locks in the database.
const loadLockClass = "1667785076"

// loadsDeadSQL returns those of the running loads whose liveness lock
// nobody holds: their process died (kill -9, a crash, a lost connection).
// The transaction-level try-locks hold until the transaction ends, so a
// load found dead cannot be taken for alive meanwhile. The locks are taken
// on the connection chatstage talks to (on Citus, the coordinator, where
// the loads take them too), and the function is called in a plain SELECT,
// never in a write, which a distributed table would refuse.
const loadsDeadSQL = `
SELECT id FROM unnest($1::bigint[]) AS id
WHERE pg_try_advisory_xact_lock(` + loadLockClass + `, id::integer)`

const loadsRunningSQL = `SELECT load_id FROM staging.loads WHERE status = 'running' ORDER BY load_id`

// loadsRecoverSQL fails the dead loads. The time is a parameter: a
// volatile function in a write is refused on a distributed database.
const loadsRecoverSQL = `
UPDATE staging.loads
SET status = 'failed', finished_at = $2,
    error = 'the process running this load stopped before it finished; nothing of it was written'
WHERE load_id = ANY ($1) AND status = 'running'`

// LoadsRecover marks as failed every load whose process died while it
// ran, and returns their ids. Their data was never committed, so there is
// nothing else to undo. Loads still running in a live process are left
// alone.
func (s *Store) LoadsRecover(ctx context.Context) ([]int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, s.translate(err, "recovering loads")
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
	dead, err := loadsDead(ctx, tx)
	if err != nil || len(dead) == 0 {
		return nil, s.translate(err, "recovering loads")
	}
	if _, err := tx.Exec(ctx, loadsRecoverSQL, dead, time.Now()); err != nil {
		return nil, s.translate(err, "recovering loads")
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, s.translate(err, "recovering loads")
	}
	for _, id := range dead {
		s.logger.Warn("marked a dead load failed", "load_id", id)
	}
	return dead, nil
}

// loadsDead returns the running loads whose process is gone, holding
// their liveness locks until tx ends.
func loadsDead(ctx context.Context, tx pgx.Tx) ([]int64, error) {
	rows, err := tx.Query(ctx, loadsRunningSQL)
	if err != nil {
		return nil, err
	}
	running, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(running) == 0 {
		return nil, err
	}
	rows, err = tx.Query(ctx, loadsDeadSQL, running)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
