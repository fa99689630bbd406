package main

import (
	"bytes"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/chatgen"
	"github.com/chatstage/chatstage/internal/testnote"
)

// These tests run the built binary as a subprocess, as cron or Airflow
// would, to prove what happens on kill -9, signals and concurrent runs.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chatstage-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "chatstage")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building chatstage: %v", binErr)
	}
	return binPath
}

// bigFile writes a generated source file large enough that a load lasts a
// few seconds, so a test can interrupt it in the middle.
var (
	bigOnce sync.Once
	bigPath string
)

func bigFile(t *testing.T) string {
	t.Helper()
	bigOnce.Do(func() {
		f, err := os.CreateTemp("", "chatstage-big-*.csv")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := chatgen.Generate(f, chatgen.Options{Chats: 40000, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		bigPath = f.Name()
	})
	return bigPath
}

func startCLI(t *testing.T, url string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "CHATSTAGE_DATABASE_URL="+url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// waitRunning waits until a load is running and has had time to send rows.
func waitRunning(t *testing.T, url string) {
	t.Helper()
	conn := connect(t, url)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if queryInt(t, conn, `SELECT count(*) FROM staging.loads WHERE status = 'running'`) > 0 {
			time.Sleep(700 * time.Millisecond)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no load started")
}

func assertNothingLoaded(t *testing.T, url string) {
	t.Helper()
	conn := connect(t, url)
	for _, table := range []string{"chat_versions", "chats", "messages", "rejects"} {
		if n := queryInt(t, conn, "SELECT count(*) FROM staging."+table); n != 0 {
			t.Errorf("an interrupted load left %d rows in staging.%s", n, table)
		}
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestKillNineLeavesNothingAndIsRecovered(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := bigFile(t)
	cmd, _ := startCLI(t, url, "ingest", file)
	waitRunning(t, url)
	cmd.Process.Kill()
	cmd.Wait()

	assertNothingLoaded(t, url)
	// The server ends the dead client's session within a second or two
	// (client_connection_check_interval); until then the load is alive.
	// status, which only reads, says the process is gone, and changes
	// nothing.
	var st result
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if st = runCLI(t, url, nil, "status"); strings.Contains(st.stdout, "running (process gone?)") {
			break
		}
	}
	if !strings.Contains(st.stdout, "running (process gone?)") {
		t.Errorf("status after kill -9:\n%s", st.stdout)
	}
	if r := runCLI(t, url, nil, "status", "--json"); !strings.Contains(r.stdout, `"status":"running","`) || !strings.Contains(r.stdout, `"process_gone":true`) {
		t.Errorf("status --json after kill -9: %s", r.stdout)
	}
	conn := connect(t, url)
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if r := runCLI(t, url, nil, "migrate"); r.code != exitOK {
			t.Fatalf("migrate: %s", r.stderr)
		}
		got = queryStrings(t, conn, `SELECT status || ': ' || coalesce(error, '') FROM staging.loads`)
		if len(got) == 1 && !strings.HasPrefix(got[0], "running") {
			break
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "failed: the process running this load stopped") {
		t.Errorf("loads = %v, want the dead load marked failed", got)
	}
	loads, r := ingestJSON(t, url, file)
	if r.code != exitOK || loads[0].ChatsInserted != 40000 {
		t.Fatalf("re-running the file: exit %d, %+v", r.code, loads)
	}
}

func TestSignalsRollBack(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitInterrupted}, {syscall.SIGTERM, exitTerminated}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			t.Parallel()
			url := testURL(t)
			cmd, stderr := startCLI(t, url, "ingest", bigFile(t))
			waitRunning(t, url)
			sent := time.Now()
			cmd.Process.Signal(tt.sig)
			err := cmd.Wait()
			if took := time.Since(sent); took > 5*time.Second {
				t.Errorf("exiting took %v", took)
			}
			if code := exitCode(err); code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr.String(), "interrupted; nothing of the interrupted work was written") {
				t.Errorf("stderr does not say nothing was written: %s", stderr)
			}
			assertNothingLoaded(t, url)
			conn := connect(t, url)
			if got := queryStrings(t, conn, `SELECT status FROM staging.loads`); len(got) != 1 || got[0] != "failed" {
				t.Errorf("loads = %v, want one failed load", got)
			}
		})
	}
}

func TestConcurrentIngests(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	a := writeSource(t, "a.csv", chatRow("A", "2025-07-01T08:00:00", "a"), chatRow("S", "2025-07-01T08:00:00", "s-a"))
	b := writeSource(t, "b.csv", chatRow("B", "2025-07-01T08:00:00", "b"), chatRow("S", "2025-07-02T08:00:00", "s-b"))
	var cmds []*exec.Cmd
	var errs []*bytes.Buffer
	for _, f := range []string{a, b, a, b} {
		cmd, stderr := startCLI(t, url, "ingest", f)
		cmds, errs = append(cmds, cmd), append(errs, stderr)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("ingest %d: %v: %s", i, err, errs[i])
		}
	}
	conn := connect(t, url)
	got := currentState(t, conn)
	for _, want := range []string{"A|", "B|", "S|2025-07-02 08:00:00+00"} {
		if !strings.Contains(got, want) {
			t.Errorf("state lacks %q:\n%s", want, got)
		}
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM staging.loads WHERE status = 'succeeded'`); n != 4 {
		t.Errorf("%d loads succeeded, want 4", n)
	}
	if n := queryInt(t, conn, `SELECT sum(chats_inserted) FROM staging.loads`); n != 3 {
		t.Errorf("%d chats inserted over all loads, want 3", n)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runCLI(t, "postgres://someone:hunter2secret@127.0.0.1:1/nodb", nil, "ingest", "--connect-timeout", "1s", "x.csv")
	if r.code != exitFailure {
		t.Errorf("exit %d, want %d", r.code, exitFailure)
	}
	if !strings.Contains(r.stderr, "127.0.0.1:1") || strings.Contains(r.stderr, "hunter2secret") {
		t.Errorf("the error must name the host and never the password: %s", r.stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %v, want about the connect timeout", took)
	}
}

// TestServerDropsTheLoad ends the load's backend in the middle of the
// load, as a server restart or a failover would: a clear error, a non-zero
// exit, and nothing of the load visible.
func TestServerDropsTheLoad(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	cmd, stderr := startCLI(t, url, "ingest", bigFile(t))
	waitRunning(t, url)
	conn := connect(t, url)
	if n := queryInt(t, conn, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'chatstage'`); n == 0 {
		t.Fatal("no chatstage backend to terminate")
	}
	err := cmd.Wait()
	if code := exitCode(err); code != exitFailure {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitFailure, stderr)
	}
	u, _ := neturl.Parse(url)
	target := u.User.Username() + "@" + u.Host
	if !strings.Contains(stderr.String(), "into "+target) || strings.Contains(stderr.String(), "could not mark") {
		t.Errorf("want an error naming the database and the load marked failed; stderr = %s", stderr)
	}
	if got := queryStrings(t, connect(t, url), `SELECT status FROM staging.loads`); len(got) != 1 || got[0] != "failed" {
		t.Errorf("loads = %v, want one failed load", got)
	}
	assertNothingLoaded(t, url)
}

// TestExportSignalLeavesNoTempFile interrupts an export while it writes.
func TestExportSignalLeavesNoTempFile(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	if _, r := ingestJSON(t, url, bigFile(t)); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	out := t.TempDir()
	cmd, stderr := startCLI(t, url, "export", "--out", out)
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, _ := os.ReadDir(out)
		if len(entries) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if took := time.Since(sent); took > 5*time.Second {
		t.Errorf("exiting took %v", took)
	}
	code := exitCode(err)
	if code == exitOK {
		testnote.Skipf(t, "SKIPPED TestExportSignalLeavesNoTempFile: the export finished before the signal arrived")
	}
	if code != exitTerminated {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitTerminated, stderr)
	}
	if names := exportDirNames(t, out); len(names) != 0 {
		t.Errorf("an interrupted export left %v", names)
	}
	if gens, _ := exportGenerations(t, out); len(gens) != 0 {
		t.Errorf("an interrupted export left %v", gens)
	}
}
