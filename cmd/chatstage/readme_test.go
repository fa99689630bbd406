package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/pgcluster"
	"github.com/chatstage/chatstage/internal/testnote"
	"github.com/jackc/pgx/v5"
)

const readme = "../../README.md"

// shBlock returns the first ```sh block of a doc file after marker ("" for
// the file's first).
func shBlock(t *testing.T, path, marker string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rest := string(b)
	if marker != "" {
		var ok bool
		if _, rest, ok = strings.Cut(rest, marker); !ok {
			t.Fatalf("%s has no %s block", path, marker)
		}
	}
	_, rest, ok := strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("%s has no sh block after %q", path, marker)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestReadmeMainCommand runs the README's first command as written, twice,
// with its database renamed (tests must not share one) and go run replaced
// by the built binary: it makes its own database, never the maintenance
// one, and runs again on it.
func TestReadmeMainCommand(t *testing.T) {
	t.Parallel()
	line := strings.TrimSpace(shBlock(t, readme, ""))
	if strings.Count(line, "\n") != 0 {
		t.Fatalf("the README's first block is not one command line:\n%s", line)
	}
	server, err := url.Parse(dbtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if server.Host != "127.0.0.1:5432" || server.User.Username() != "postgres" {
		testnote.Skipf(t, "SKIPPED TestReadmeMainCommand: its command names postgres@127.0.0.1:5432; the test server is %s", server.Host)
	}
	if _, err := exec.LookPath("createdb"); err != nil {
		testnote.Skipf(t, "SKIPPED TestReadmeMainCommand: no createdb on the PATH")
	}
	var b [6]byte
	rand.Read(b[:])
	db := "chatstage_test_demo_" + hex.EncodeToString(b[:])
	line = strings.NewReplacer("chatstage_demo", db, "go run ./cmd/chatstage", binary(t)).Replace(line)
	t.Cleanup(func() {
		conn := connect(t, dbtest.ServerURL(t))
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../testdata/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testdata", "sample.csv"), sample, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CHATSTAGE_DATABASE_URL=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d of the README's command: %v\n%s", i+1, err, out)
		}
		if i == 1 && (!strings.Contains(string(out), "100 unchanged") || strings.Contains(string(out), "createdb")) {
			t.Errorf("run 2 did not find its database as run 1 left it:\n%s", out)
		}
	}
	if n := exportCSVRecords(t, filepath.Join(dir, "out", "chats.csv")) - 1; n != 100 {
		t.Errorf("out/chats.csv has %d chats, want 100", n)
	}
	base := *server
	base.Path = "/" + db
	if n := queryInt(t, connect(t, base.String()), `SELECT count(*) FROM staging.loads WHERE status = 'succeeded'`); n != 2 {
		t.Errorf("%d loads in %s, want 2", n, db)
	}
}

// TestReadmeDropsTestDatabases runs the README's command that drops the
// tests' databases, on a server of its own: the template and the test
// databases go, every other database stays.
func TestReadmeDropsTestDatabases(t *testing.T) {
	t.Parallel()
	block := shBlock(t, readme, "<!-- drop-test-databases -->")
	c := pgcluster.Start(t)
	c.Exec("postgres",
		"CREATE DATABASE chatstage_tpl_0123456789abcdef",
		"ALTER DATABASE chatstage_tpl_0123456789abcdef IS_TEMPLATE true",
		"CREATE DATABASE chatstage_test_0a1b2c3d4e5f TEMPLATE chatstage_tpl_0123456789abcdef",
		"CREATE DATABASE app",
		"CREATE DATABASE chatstage_demo")
	cmd := exec.Command("bash", "-c", block)
	cmd.Env = append(os.Environ(), "CHATSTAGE_TEST_DATABASE_URL="+c.URL("postgres", "", "postgres"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's command: %v\n%s", err, out)
	}
	got := queryStrings(t, connect(t, c.URL("postgres", "", "postgres")),
		`SELECT datname FROM pg_database WHERE NOT datistemplate OR datname LIKE 'chatstage%' ORDER BY datname`)
	if want := "app chatstage_demo postgres"; strings.Join(got, " ") != want {
		t.Errorf("databases left: %v, want %s", got, want)
	}
}
