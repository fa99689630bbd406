package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// TestMigrateBlocksOnTheLock: a Migrate that finds another process
// migrating waits on the migration lock itself, as a backend waiting in
// pg_locks, and so is woken the moment the lock is released. goose's own
// session locker would instead retry pg_try_advisory_lock every 5 seconds,
// never showing as waiting; TestConcurrentFirstRuns measures the effect.
func TestMigrateBlocksOnTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t, "")
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(hashtext('chatstage.migrate'))`); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	done := make(chan error, 1)
	go func() { _, err := st.Migrate(ctx); done <- err }()

	const waitingSQL = `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var waiting int
		if err := holder.QueryRow(ctx, waitingSQL).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Migrate returned while another process held the migration lock: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Migrate never waited on the migration lock")
		}
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('chatstage.migrate'))`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Migrate after the lock was released: %v", err)
	}
	var version int64
	if err := holder.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil || version < 5 {
		t.Fatalf("migrated to %d (%v), want every migration", version, err)
	}
}
