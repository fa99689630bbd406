package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/pgcluster"
)

// Faults of issue 12, each reproduced against a PostgreSQL cluster the test
// starts itself (internal/pgcluster), never the shared one. The matrix
// and how to run it longer are in docs/reliability.md.

// appCluster starts a cluster with a migrated database "app".
func appCluster(t *testing.T) (*pgcluster.Cluster, string) {
	t.Helper()
	c := pgcluster.Start(t)
	c.Exec("postgres", "CREATE DATABASE app")
	url := c.URL("postgres", "", "app")
	if r := runCLI(t, url, nil, "migrate"); r.code != exitOK {
		t.Fatalf("migrate: %s", r.stderr)
	}
	return c, url
}

// TestConnectRidesOutRestart: an ingest started while the server is
// shutting down (SQLSTATE 57P03), down (connection refused) or starting
// up retries until --connect-timeout and then loads.
func TestConnectRidesOutRestart(t *testing.T) {
	t.Parallel()
	c, url := appCluster(t)
	file := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))

	// A smart shutdown waits for the open session to end; meanwhile the
	// server answers every new connection with 57P03. The ingest retries
	// through that, then through connection refused, then loads.
	held := connect(t, url)
	stopped := c.CtlAsync("stop", "-m", "smart")
	time.Sleep(300 * time.Millisecond)
	done := make(chan result, 1)
	go func() { done <- runCLI(t, url, nil, "ingest", "--connect-timeout", "60s", file) }()
	time.Sleep(700 * time.Millisecond)
	held.Close(context.Background())
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	c.Ctl("start")
	r := <-done
	if r.code != exitOK || !strings.Contains(r.stderr, "shutting down") {
		t.Fatalf("an ingest started during a shutdown: exit %d\n%s", r.code, r.stderr)
	}
	// Restarts at each instant of an ingest's start: the ingest never
	// gives up connecting. (A restart that lands after the load began ends
	// the load, which says so and leaves nothing.)
	for i, delay := range []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond} {
		restarted := c.CtlAsync("restart", "-m", "fast")
		time.Sleep(delay)
		r := runCLI(t, url, nil, "ingest", "--quiet", "--connect-timeout", "60s", file)
		if err := <-restarted; err != nil {
			t.Fatal(err)
		}
		last := r.stderr[strings.LastIndex(r.stderr, "chatstage: ")+1:]
		if r.code != exitOK && (strings.Contains(last, "cannot connect") || !strings.Contains(last, "lost the connection")) {
			t.Errorf("try %d, ingest %v after a restart began: exit %d\n%s", i, delay, r.code, r.stderr)
		}
	}
}

// TestConnectDoesNotRetryRefusals: a refused login or a missing database
// fails at once, whatever --connect-timeout, with the server's reason.
func TestConnectDoesNotRetryRefusals(t *testing.T) {
	t.Parallel()
	c, _ := appCluster(t)
	c.Exec("postgres", "CREATE ROLE "+pgcluster.PasswordUser+" LOGIN PASSWORD 'right'")
	for _, tt := range []struct{ url, want string }{
		{c.URL(pgcluster.PasswordUser, "wrong", "app"), "password authentication failed"},
		{c.URL("postgres", "", "nosuchdb"), `database "nosuchdb" does not exist`},
		{c.URL("nosuchrole", "", "app"), `role "nosuchrole" does not exist`},
	} {
		start := time.Now()
		r := runCLI(t, "", nil, "status", "--connect-timeout", "60s", "--database-url", tt.url)
		if r.code != exitFailure || !strings.Contains(r.stderr, tt.want) || time.Since(start) > 10*time.Second {
			t.Errorf("%s: exit %d after %v, stderr %q; want exit 1 at once saying %q", tt.url, r.code, time.Since(start), r.stderr, tt.want)
		}
	}
}

// TestLostConnectionSaysSo: when the server goes away during a load or an
// export, the error says that the connection was lost, to which database
// and during what, instead of "unexpected EOF".
func TestLostConnectionSaysSo(t *testing.T) {
	t.Parallel()
	c, url := appCluster(t)
	target := fmt.Sprintf("postgres@127.0.0.1:%d/app", c.Port)

	// An export waiting for a lock on staging.messages when the server
	// restarts.
	locker := connect(t, url)
	tx, err := locker.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `LOCK TABLE staging.messages IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() { done <- runCLI(t, url, nil, "export", "--quiet", "--out", t.TempDir()) }()
	exportWaitBlocked(t, url, "staging.messages", done)
	c.Ctl("restart", "-m", "fast")
	r := <-done
	if r.code != exitFailure || !strings.Contains(r.stderr, "lost the connection to PostgreSQL at "+target+" during copying export.messages") {
		t.Errorf("export when the server restarted: exit %d, stderr %q", r.code, r.stderr)
	}

	// An ingest in the middle of a file.
	cmd, stderr := startCLI(t, url, "ingest", "--quiet", bigFile(t))
	waitRunning(t, url)
	time.Sleep(200 * time.Millisecond)
	c.Ctl("restart", "-m", "fast")
	err = cmd.Wait()
	if exitCode(err) != exitFailure || !strings.Contains(stderr.String(), "lost the connection to PostgreSQL at "+target+" during") {
		t.Errorf("ingest when the server restarted: exit %d, stderr %q", exitCode(err), stderr.String())
	}
	assertNothingLoaded(t, url)
}

// TestPasswordsNeverShow: passwords with the characters URLs and
// key=value strings treat specially are never printed, by any command,
// in errors, logs, status or --json; a URL whose @ is not encoded is
// refused without printing any of it.
func TestPasswordsNeverShow(t *testing.T) {
	t.Parallel()
	c, _ := appCluster(t)
	const password = "p@ss#w/o%r:dé ü'x"
	quoted := strings.ReplaceAll(password, "'", "''")
	c.Exec("postgres", "CREATE ROLE "+pgcluster.PasswordUser+" LOGIN SUPERUSER PASSWORD '"+quoted+"'")
	fragments := []string{"p@ss", "ss#w", "o%r", "r:d", "dé ü", "ü'x", "%40ss", "%25r"}
	good := c.URL(pgcluster.PasswordUser, password, "app")
	kv := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=app sslmode=disable password='%s'", c.Port, pgcluster.PasswordUser,
		strings.ReplaceAll(strings.ReplaceAll(password, `\`, `\\`), "'", `\'`))
	raw := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/app", pgcluster.PasswordUser, password, c.Port)
	wrongDB := c.URL(pgcluster.PasswordUser, password, "nosuchdb")
	file := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"), ",bad,row")
	out := t.TempDir()
	check := func(name string, r result) {
		t.Helper()
		for _, f := range fragments {
			if strings.Contains(r.stdout, f) || strings.Contains(r.stderr, f) {
				t.Errorf("%s printed a part of the password (%q):\n%s\n%s", name, f, r.stdout, r.stderr)
			}
		}
	}
	for _, u := range []string{good, kv} {
		for _, args := range [][]string{
			{"migrate", "--verbose"},
			{"ingest", "--json", "--verbose", "--log-format", "json", file},
			{"ingest", "--json", filepath.Join(out, "absent.csv")},
			{"export", "--json", "--out", filepath.Join(out, "x")},
			{"report", "--json", "--out", filepath.Join(out, "r")},
			{"status"},
			{"status", "--json"},
			{"rejects", "--format", "csv"},
			{"migrate", "status"},
		} {
			r := runCLI(t, "", nil, append(args, "--database-url", u)...)
			if strings.HasPrefix(args[0], "ingest") && strings.Contains(strings.Join(args, " "), "absent") {
				if r.code != exitFailure {
					t.Errorf("ingest of an absent file: exit %d", r.code)
				}
			} else if r.code != exitOK {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			check(strings.Join(args, " "), r)
		}
	}
	for _, u := range []string{raw, wrongDB} {
		for _, cmd := range []string{"status", "ingest", "export", "migrate", "rejects", "report"} {
			args := []string{cmd, "--connect-timeout", "0s", "--database-url", u}
			switch cmd {
			case "ingest":
				args = append(args, file)
			case "export", "report":
				args = append(args, "--out", filepath.Join(out, "y"))
			}
			r := runCLI(t, "", nil, args...)
			if r.code != exitFailure {
				t.Errorf("%s with a bad URL: exit %d", cmd, r.code)
			}
			check(cmd+" with a bad URL", r)
		}
	}
	// In the environment, as cron sets it.
	r := runCLI(t, raw, nil, "status", "--json")
	if r.code != exitFailure || !strings.Contains(r.stderr, "%40") {
		t.Errorf("an unencoded @ from the environment: exit %d, stderr %q", r.code, r.stderr)
	}
	check("status from the environment", r)
}

// TestConcurrentFirstRuns: ten ingests started at once on a new database
// all block on the migration lock, as backends waiting in pg_locks, and so
// are woken the moment it is released, instead of polling every 5 seconds
// as goose's own session locker does (its pg_try_advisory_lock never
// shows a waiter); then one migrates and all ten load. The test holds the
// lock while they start, so that it sees every one of them wait whatever
// the machine's load, with no clock.
func TestConcurrentFirstRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t, "")
	holder := connect(t, url)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(hashtext('chatstage.migrate'))`); err != nil {
		t.Fatal(err)
	}
	file := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))
	var wg sync.WaitGroup
	var ended atomic.Int32
	for range 10 {
		wg.Go(func() {
			defer ended.Add(1)
			r := runCLI(t, url, nil, "ingest", "--quiet", file)
			if r.code != exitOK {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
		})
	}
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		waiting := queryInt(t, holder, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
		if waiting == 10 {
			break
		}
		if n := ended.Load(); n > 0 || time.Now().After(deadline) {
			t.Fatalf("%d of ten first runs wait on the migration lock (%d ended): the others poll", waiting, n)
		}
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('chatstage.migrate'))`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := queryInt(t, holder, `SELECT count(*) FROM staging.loads WHERE status = 'succeeded'`); n != 10 {
		t.Errorf("%d loads succeeded, want 10", n)
	}
	if n := queryInt(t, holder, `SELECT count(*) - count(DISTINCT version_id) FROM goose_db_version`); n != 0 {
		t.Errorf("%d migrations applied twice", n)
	}
}
