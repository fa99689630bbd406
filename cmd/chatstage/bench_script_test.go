package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/pgcluster"
	"github.com/chatstage/chatstage/internal/testnote"
)

// benchCheck runs scripts/bench.sh --check against the server at admin.
func benchCheck(t *testing.T, admin string, env ...string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		testnote.Skipf(t, "SKIPPED: the scripts/bench.sh tests need psql")
	}
	cmd := exec.Command("bash", "../../scripts/bench.sh", "--check")
	cmd.Env = append(append(os.Environ(), "BENCH_ADMIN_URL="+admin), env...)
	out, err := cmd.CombinedOutput()
	return exitCode(err), string(out)
}

// TestBenchRefusesASharedServer: scripts/bench.sh creates and drops
// databases; on a server that holds other chatstage databases (here the
// test's own) it refuses unless told, and it never touches a database
// outside its prefix.
func TestBenchRefusesASharedServer(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t) // a chatstage database on the test server
	server := dbtest.ServerURL(t)
	name := url[strings.LastIndex(url, "/")+1:]
	code, out := benchCheck(t, server)
	if code != 1 || !strings.Contains(out, "holds other chatstage databases") || !strings.Contains(out, name) {
		t.Errorf("bench.sh --check on the shared server: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "@") {
		t.Errorf("bench.sh printed the server's URL: %s", out)
	}
	code, out = benchCheck(t, server, "BENCH_FORCE=1")
	if code != 0 || !strings.Contains(out, "databases named chatstage_bench_*") {
		t.Errorf("bench.sh --check with BENCH_FORCE=1: exit %d\n%s", code, out)
	}
	if code, out := benchCheck(t, server, "BENCH_FORCE=1", "BENCH_PREFIX=x;drop"); code != 2 {
		t.Errorf("a prefix that is not a plain name: exit %d\n%s", code, out)
	}
}

// TestBenchAcceptsAServerOfItsOwn: a server without chatstage databases,
// or with only the benchmark's own, is fit.
func TestBenchAcceptsAServerOfItsOwn(t *testing.T) {
	t.Parallel()
	c := pgcluster.Start(t)
	c.Exec("postgres", "CREATE DATABASE app", "CREATE DATABASE chatstage_bench_main")
	if code, out := benchCheck(t, c.URL("postgres", "", "postgres")); code != 0 || !strings.Contains(out, "the server is fit") {
		t.Errorf("bench.sh --check on a server of its own: exit %d\n%s", code, out)
	}
}
