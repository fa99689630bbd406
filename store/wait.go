package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LockWait is what a load or an erasure waits for when another holds the
// ingest lock: the load running (LoadID 0 when the holder is not a load,
// such as a forget), since when, and the server process that holds it.
type LockWait struct {
	LoadID    int64
	StartedAt time.Time
	PID       int32
}

// String says whom a wait is for: "waiting for load 7 (started 02:10,
// pid 4242) to finish", the start in local time.
func (w LockWait) String() string {
	if w.LoadID == 0 {
		return fmt.Sprintf("waiting for another chatstage process (pid %d) to finish", w.PID)
	}
	return fmt.Sprintf("waiting for load %d (started %s, pid %d) to finish", w.LoadID, w.StartedAt.Local().Format("15:04"), w.PID)
}

const (
	ingestTryLockSQL       = `SELECT pg_try_advisory_lock(hashtext('chatstage.ingest'))`
	ingestTryLockSharedSQL = `SELECT pg_try_advisory_lock_shared(hashtext('chatstage.ingest'))`
)

// ingestHolderSQL finds who holds the ingest lock, and its load: the
// load whose liveness lock the same server process holds. An advisory
// lock on one bigint key shows in pg_locks as its high and low halves,
// and in every database of the server: the lock is this database's.
const ingestHolderSQL = `
WITH holder AS (
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((classid::bigint << 32) | objid::bigint) = hashtext('chatstage.ingest')::bigint
    LIMIT 1)
SELECT h.pid, coalesce(l.load_id, 0), coalesce(l.started_at, now())
FROM holder h
LEFT JOIN pg_locks k ON k.pid = h.pid AND k.locktype = 'advisory' AND k.granted
     AND k.objsubid = 2 AND k.classid = ` + loadLockClass + `
LEFT JOIN staging.loads l ON l.load_id = k.objid::bigint AND l.status = 'running'
ORDER BY l.load_id DESC NULLS LAST
LIMIT 1`

// lockIngest takes the ingest lock on conn, a session lock held until
// released: at once when it is free, else after telling onWait (when set)
// who holds it, then waiting for it.
func (s *Store) lockIngest(ctx context.Context, conn *pgxpool.Conn, onWait func(LockWait)) error {
	return s.lockIngestMode(ctx, conn, onWait, ingestTryLockSQL, ingestLockSQL)
}

// lockIngestShared takes the ingest lock shared, as lockIngest does: it
// waits for a load, not for another shared holder.
func (s *Store) lockIngestShared(ctx context.Context, conn *pgxpool.Conn, onWait func(LockWait)) error {
	return s.lockIngestMode(ctx, conn, onWait, ingestTryLockSharedSQL, ingestLockSharedSQL)
}

func (s *Store) lockIngestMode(ctx context.Context, conn *pgxpool.Conn, onWait func(LockWait), try, wait string) error {
	var got bool
	if err := conn.QueryRow(ctx, try).Scan(&got); err != nil {
		return err
	}
	if got {
		return nil
	}
	if onWait != nil {
		var w LockWait
		err := conn.QueryRow(ctx, ingestHolderSQL).Scan(&w.PID, &w.LoadID, &w.StartedAt)
		switch {
		case err == nil:
			onWait(w)
		case err == pgx.ErrNoRows: // released meanwhile: the wait is short
		default:
			return err
		}
	}
	_, err := conn.Exec(ctx, wait)
	return err
}
