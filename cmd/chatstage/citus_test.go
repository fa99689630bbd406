package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/pgcluster"
)

// Tests of chatstage on a distributed database that the shared Citus
// cluster cannot host: they stop and restart nodes, so they start a
// coordinator and a worker of their own (Citus must be installed on this
// machine, which CHATSTAGE_TEST_CITUS_URL says). The rest of the suite runs
// on the shared cluster when that variable is set (internal/dbtest).

// citusCluster starts a coordinator and a worker with the citus extension
// in a database app, the worker registered, and migrates it.
func citusCluster(t *testing.T) (coord, worker *pgcluster.Cluster, url string) {
	t.Helper()
	dbtest.SkipUnlessCitus(t)
	conf := "shared_preload_libraries = 'citus'\nmax_prepared_transactions = 100"
	coord, worker = pgcluster.StartWith(t, conf), pgcluster.StartWith(t, conf)
	for _, c := range []*pgcluster.Cluster{worker, coord} {
		c.Exec("postgres", "CREATE DATABASE app")
		c.Exec("app", "CREATE EXTENSION citus")
	}
	coord.Exec("app", fmt.Sprintf("SELECT citus_set_coordinator_host('127.0.0.1', %d)", coord.Port),
		fmt.Sprintf("SELECT citus_add_node('127.0.0.1', %d)", worker.Port))
	url = coord.URL("postgres", "", "app")
	if r := runCLI(t, url, nil, "migrate"); r.code != exitOK {
		t.Fatalf("migrate: %s", r.stderr)
	}
	conn := connect(t, url)
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'staging.chats'::regclass`); n != 1 {
		t.Fatal("migrate did not distribute staging.chats")
	}
	return coord, worker, url
}

// TestCitusNodeLostDuringALoad: a worker stopped, or the coordinator
// restarted, in the middle of a load ends that load with a lost
// connection and leaves nothing of it visible; once the node is back, the
// next command records the load failed and the same file loads whole.
func TestCitusNodeLostDuringALoad(t *testing.T) {
	t.Parallel()
	for _, node := range []string{"worker", "coordinator"} {
		t.Run(node+" lost", func(t *testing.T) {
			t.Parallel()
			coord, worker, url := citusCluster(t)
			if _, r := ingestJSON(t, url, writeSource(t, "first.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))); r.code != exitOK {
				t.Fatal(r.stderr)
			}
			before := t.TempDir()
			if r := runCLI(t, url, nil, "export", "--quiet", "--out", before); r.code != exitOK {
				t.Fatal(r.stderr)
			}
			cmd, stderr := startCLI(t, url, "ingest", "--quiet", "--connect-timeout", "5s", bigFile(t))
			waitRunning(t, url)
			if node == "worker" {
				worker.Ctl("stop", "-m", "immediate")
			} else {
				coord.Ctl("restart", "-m", "immediate")
			}
			err := cmd.Wait()
			if code := exitCode(err); code != exitFailure || !strings.Contains(stderr.String(), "PostgreSQL") {
				t.Errorf("ingest with the %s lost: exit %d, want 1 saying so:\n%s", node, code, stderr.String())
			}
			if node == "worker" {
				worker.Ctl("start")
			}
			// The next command sees the load as failed, and nothing of it.
			var after string
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
				after = t.TempDir()
				r := runCLI(t, url, nil, "export", "--quiet", "--out", after)
				if r.code == exitOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("export after the %s came back: exit %d\n%s", node, r.code, r.stderr)
				}
			}
			for _, name := range []string{"chats.csv", "messages.csv"} {
				exportSameFile(t, filepath.Join(after, name), filepath.Join(before, name))
			}
			conn := connect(t, url)
			if got := queryStrings(t, conn, `SELECT status FROM staging.loads ORDER BY load_id`); strings.Join(got, ",") != "succeeded,failed" {
				t.Errorf("loads after the loss: %v, want succeeded,failed", got)
			}
			if loads, r := ingestJSON(t, url, bigFile(t)); r.code != exitOK || loads[0].ChatsInserted != 40000 {
				t.Fatalf("the file again: exit %d %+v\n%s", r.code, loads, r.stderr)
			}
		})
	}
}

// TestCitusMigratesADatabaseMigratedBefore: a database chatstage migrated
// on plain PostgreSQL, with data, gets the citus extension; the next
// migrate distributes its tables and the deliverables stay the same, byte
// for byte.
func TestCitusMigratesADatabaseMigratedBefore(t *testing.T) {
	t.Parallel()
	dbtest.SkipUnlessCitus(t)
	conf := "shared_preload_libraries = 'citus'\nmax_prepared_transactions = 100"
	coord, worker := pgcluster.StartWith(t, conf), pgcluster.StartWith(t, conf)
	coord.Exec("postgres", "CREATE DATABASE app")
	worker.Exec("postgres", "CREATE DATABASE app")
	url := coord.URL("postgres", "", "app")
	if _, r := ingestJSON(t, url, bigFile(t)); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, url, nil, "forget", "5500007"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	before := t.TempDir()
	if r := runCLI(t, url, nil, "export", "--quiet", "--out", before); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	worker.Exec("app", "CREATE EXTENSION citus")
	coord.Exec("app", "CREATE EXTENSION citus", fmt.Sprintf("SELECT citus_set_coordinator_host('127.0.0.1', %d)", coord.Port),
		fmt.Sprintf("SELECT citus_add_node('127.0.0.1', %d)", worker.Port))
	if r := runCLI(t, url, nil, "migrate"); r.code != exitOK {
		t.Fatalf("migrate with citus installed: %s", r.stderr)
	}
	conn := connect(t, url)
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::regclass::text LIKE 'staging.%'`); n < 9 {
		t.Errorf("%d staging tables distributed, want all", n)
	}
	after := t.TempDir()
	if r := runCLI(t, url, nil, "export", "--quiet", "--out", after); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	for _, name := range []string{"chats.csv", "messages.csv"} {
		exportSameFile(t, filepath.Join(after, name), filepath.Join(before, name))
	}
	if n := queryInt(t, connect(t, worker.URL("postgres", "", "app")), `SELECT count(*) FROM pg_class WHERE relname LIKE 'chats\_%' AND relkind = 'r'`); n == 0 {
		t.Error("the worker holds no shard of staging.chats")
	}
	// Loads go on, distributed.
	if loads, r := ingestJSON(t, url, bigFile(t)); r.code != exitOK || loads[0].ChatsUnchanged != 39999 || loads[0].RowsSuppressed != 1 {
		t.Fatalf("a load after distributing: exit %d %+v", r.code, loads)
	}
}
