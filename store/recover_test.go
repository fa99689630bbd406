package store_test

import (
	"context"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// TestLoadsRecover: a running load whose liveness lock nobody holds is
// marked failed; one whose process is alive (lock held) is left alone.
func TestLoadsRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	deadLoad, err := st.LoadBegin(ctx, store.LoadParams{Source: "dead.csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer deadLoad.Close()
	dead := deadLoad.ID()
	// The dead load's process is gone: release its lock by hand, as the
	// server does when a session ends.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.classid = 1667785076 AND l.objid = $1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`, dead); err != nil {
		t.Fatal(err)
	}
	// The next load can begin once the dead one's session, and with it the
	// ingest lock, is gone.
	aliveLoad, err := st.LoadBegin(ctx, store.LoadParams{Source: "alive.csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer aliveLoad.Close()
	alive := aliveLoad.ID()
	var got []int64
	for range 50 { // the terminated session's locks go with it, within milliseconds
		if got, err = st.LoadsRecover(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0] != dead {
		t.Fatalf("recovered %v, want [%d]", got, dead)
	}
	var status string
	if err := conn.QueryRow(ctx, `SELECT status FROM staging.loads WHERE load_id = $1`, alive).Scan(&status); err != nil || status != "running" {
		t.Errorf("the live load is %q (%v), want running", status, err)
	}
}
