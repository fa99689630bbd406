// Package pgcluster starts a PostgreSQL cluster of a test's own, on a
// port of its own, with Debian's pg_createcluster: for the tests that
// stop, restart or crash a server, which must never touch the shared one.
// The cluster is dropped when the test ends.
//
// Without Debian's cluster tools, or without the right to run them (root),
// the test is skipped, saying so.
package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/testnote"
	"github.com/jackc/pgx/v5"
)

// Cluster is a running cluster of one test.
type Cluster struct {
	t       testing.TB
	Version string
	Name    string
	Port    int
}

// PasswordUser is a role that must log in with its password (SCRAM), so
// that tests can see what a refused login does; every other role is
// trusted.
const PasswordUser = "pwuser"

// Start creates and starts a cluster for t and drops it at the end of t.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return StartWith(t, "")
}

// StartWith is Start with more lines of postgresql.conf, such as
// "shared_preload_libraries = 'citus'".
func StartWith(t testing.TB, extra string) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("pg_createcluster"); err != nil || os.Geteuid() != 0 {
		testnote.Skipf(t, "SKIPPED: the tests that start a PostgreSQL cluster of their own: they need Debian's pg_createcluster, run as root")
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(versions) == 0 {
		testnote.Skipf(t, "SKIPPED: the tests that start a PostgreSQL cluster of their own: no server binaries under /usr/lib/postgresql")
	}
	c := &Cluster{t: t, Version: filepath.Base(filepath.Dir(filepath.Dir(versions[len(versions)-1])))}
	c.Port = freePort(t)
	c.Name = fmt.Sprintf("chatstage_test_%d", c.Port)
	c.run("pg_createcluster", c.Version, c.Name, "-p", fmt.Sprint(c.Port), "--",
		"--auth-local=trust", "--auth-host=trust", "--encoding=UTF8", "--locale=C")
	t.Cleanup(func() { c.run("pg_dropcluster", "--stop", c.Version, c.Name) })
	hba := filepath.Join("/etc/postgresql", c.Version, c.Name, "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	rule := fmt.Sprintf("host all %s 127.0.0.1/32 scram-sha-256\nhost all %s ::1/128 scram-sha-256\n", PasswordUser, PasswordUser)
	if err := os.WriteFile(hba, append([]byte(rule), old...), 0o640); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join("/etc/postgresql", c.Version, c.Name, "conf.d", "chatstage_test.conf")
	if err := os.WriteFile(conf, []byte("listen_addresses = '127.0.0.1'\nfsync = off\nfull_page_writes = off\n"+extra+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Ctl("start")
	return c
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
}

// Ctl runs pg_ctlcluster ACTION (start, stop, restart, reload) with args,
// such as "-m", "immediate".
func (c *Cluster) Ctl(action string, args ...string) {
	c.t.Helper()
	c.run("pg_ctlcluster", append([]string{"--skip-systemctl-redirect", c.Version, c.Name, action}, args...)...)
}

// CtlAsync runs pg_ctlcluster in the background and returns a channel
// that gets its error when it is done.
func (c *Cluster) CtlAsync(action string, args ...string) <-chan error {
	return c.CtlAsyncAfter(0, action, args...)
}

// CtlAsyncAfter is CtlAsync after a delay.
func (c *Cluster) CtlAsyncAfter(delay time.Duration, action string, args ...string) <-chan error {
	done := make(chan error, 1)
	cmd := exec.Command("pg_ctlcluster", append([]string{"--skip-systemctl-redirect", c.Version, c.Name, action}, args...)...)
	go func() {
		time.Sleep(delay)
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		done <- err
	}()
	return done
}

// URL returns the URL of database db for user, with password when it is
// not empty (encoded as a URL must be).
func (c *Cluster) URL(user, password, db string) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// Exec runs statements as postgres in database db.
func (c *Cluster) Exec(db string, statements ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres", "", db))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			c.t.Fatalf("%s: %v", s, err)
		}
	}
}
