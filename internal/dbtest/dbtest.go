// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, cheaply: the migrations run once into a template database
// (named after a hash of the migration files), and each test clones it with
// CREATE DATABASE ... TEMPLATE.
//
// The server comes from CHATSTAGE_TEST_DATABASE_URL when set; otherwise a
// PostgreSQL container is started with testcontainers (Docker required).
// When CHATSTAGE_TEST_CITUS_URL is set, every test database is on that
// Citus cluster instead (see citus.go): the whole suite runs distributed.
// A test's database is dropped when the test passes and kept, with its URL
// logged, when it fails. The template (chatstage_tpl_ and a hash of the
// migrations) stays on the server, so the next run need not migrate again;
// the README says how to drop it.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/testnote"
	"github.com/chatstage/chatstage/migrations"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// EnvURL names the variable that points the tests at a server.
const EnvURL = "CHATSTAGE_TEST_DATABASE_URL"

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error

	templateOnce sync.Once
	templateName string
	templateErr  error
)

// server returns the URL of the server the tests use: the Citus
// coordinator when CHATSTAGE_TEST_CITUS_URL is set, else
// CHATSTAGE_TEST_DATABASE_URL, else a container it starts.
func server() (string, error) {
	serverOnce.Do(func() {
		if u := os.Getenv(EnvCitusURL); u != "" {
			serverURL = u
			return
		}
		if u := os.Getenv(EnvURL); u != "" {
			serverURL = u
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c, err := tcpostgres.Run(ctx, "postgres:16-alpine",
			tcpostgres.WithDatabase("chatstage"), tcpostgres.WithUsername("chatstage"),
			tcpostgres.WithPassword("chatstage"), tcpostgres.BasicWaitStrategies())
		if err != nil {
			serverErr = fmt.Errorf("no test database: set %s (for example postgres://postgres@127.0.0.1:5432/postgres) "+
				"or make Docker available for testcontainers: %w", EnvURL, err)
			return
		}
		// The container lives as long as the test binary; testcontainers'
		// reaper removes it afterwards.
		serverURL, serverErr = c.ConnectionString(ctx, "sslmode=disable")
	})
	return serverURL, serverErr
}

// ServerURL returns the URL of the test server itself (its maintenance
// database), for tests that connect to it in ways of their own, without a
// database of their own.
func ServerURL(t testing.TB) string {
	t.Helper()
	u, err := server()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// migrationsHash names the template after the migrations it holds, so a
// changed migration gets a new template and an old one is never reused.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	fmt.Fprintf(h, "store %s\n", store.SchemaVersion)
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

func template(ctx context.Context, base string) (string, error) {
	templateOnce.Do(func() {
		templateName, templateErr = makeTemplate(ctx, base)
		if templateErr == nil && os.Getenv(EnvURL) != "" { // a container's goes with it
			testnote.Note("NOTE: the tests keep their template database %s on the server of %s; README.md says how to drop it",
				templateName, EnvURL)
		}
	})
	return templateName, templateErr
}

// makeTemplate creates and migrates the template once per server. Test
// binaries of several packages run at the same time, so an advisory lock
// makes them wait for the one that builds it; a finished template is
// marked IS_TEMPLATE, and one left half-made by a crash is rebuilt.
func makeTemplate(ctx context.Context, base string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "chatstage_tpl_" + sum
	c, err := clusterOf(ctx, base)
	if err != nil {
		return "", err
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connecting to the test server (%s): %w", EnvURL, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext($1))`, name)
	var ready *bool
	err = admin.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if err != nil && err != pgx.ErrNoRows {
		return "", err
	}
	if ready != nil && *ready {
		return name, nil
	}
	if err := c.drop(ctx, name); err != nil {
		return "", err
	}
	if err := c.create(ctx, name, ""); err != nil {
		return "", err
	}
	u, err := withDatabase(base, name)
	if err != nil {
		return "", err
	}
	st, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		return "", err
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		return "", fmt.Errorf("migrating the template: %w", err)
	}
	if err := c.freeze(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

// URL returns the URL of a new database for this test, migrated to the
// latest version. It fails the test with a message saying what to set when
// no server is available.
func URL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base, err := server()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := template(ctx, base)
	if err != nil {
		t.Fatalf("preparing the template database: %v", err)
	}
	return create(t, base, "TEMPLATE "+pgx.Identifier{tpl}.Sanitize())
}

// EmptyURL returns the URL of a new database for this test that chatstage
// never migrated; with is the rest of its CREATE DATABASE statement (an
// encoding, say), or "". On a Citus cluster the database has the citus
// extension and the cluster's nodes, as a user would prepare it.
func EmptyURL(t testing.TB, with string) string {
	t.Helper()
	base, err := server()
	if err != nil {
		t.Fatal(err)
	}
	return create(t, base, with)
}

// create makes a database for the test, dropped when the test passes.
func create(t testing.TB, base, with string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	name := "chatstage_test_" + hex.EncodeToString(b[:])
	c, err := clusterOf(ctx, base)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	if err := c.create(ctx, name, with); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the database of this failed test: %s", u)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.drop(ctx, name); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return u
}

// Store opens a store on a new database for this test and closes it at
// the end of the test.
func Store(t testing.TB) (*store.Store, string) {
	t.Helper()
	u := URL(t)
	st, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, u
}

// New makes a new migrated database outside of a test (a runnable
// example's, say) and returns a store on it, and a function that closes
// the store and drops the database.
func New(ctx context.Context) (*store.Store, func(), error) {
	base, err := server()
	if err != nil {
		return nil, nil, err
	}
	tpl, err := template(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	c, err := clusterOf(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	name := "chatstage_test_" + hex.EncodeToString(b[:])
	if err := c.create(ctx, name, "TEMPLATE "+pgx.Identifier{tpl}.Sanitize()); err != nil {
		return nil, nil, err
	}
	u, err := withDatabase(base, name)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		c.drop(context.Background(), name) //nolint:errcheck // a leftover test database is harmless
	}, nil
}
