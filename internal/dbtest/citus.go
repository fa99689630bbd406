package dbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatstage/chatstage/internal/testnote"
)

// EnvCitusURL names the variable that points the tests at a Citus
// cluster: the URL of its coordinator's database in which the workers are
// registered (citus_add_node). With it set, every test database is
// created on every node of the cluster, with the citus extension and the
// nodes registered, so chatstage's migrate distributes the tables.
const EnvCitusURL = "CHATSTAGE_TEST_CITUS_URL"

// OnCitus reports whether the tests run on a Citus cluster.
func OnCitus() bool { return os.Getenv(EnvCitusURL) != "" }

// SkipUnlessCitus skips a test that is about Citus itself, saying how to
// run it.
func SkipUnlessCitus(t testing.TB) {
	t.Helper()
	if !OnCitus() {
		testnote.Skipf(t, "SKIPPED: %s is not set, so this Citus test did not run (point it at a coordinator "+
			"with its workers registered, e.g. %s=postgres://postgres@127.0.0.1:9700/postgres; docs/scaling.md)",
			EnvCitusURL, EnvCitusURL)
	}
}

// cluster is the nodes a test database lives on: one server, or a Citus
// coordinator (first) and its workers.
type cluster struct {
	nodes []string // URLs of each node's maintenance database
	citus bool
	// coordinator and workers as host and port, to register them in a
	// new database.
	coordinator hostPort
	workers     []hostPort
}

type hostPort struct {
	host string
	port int
}

var (
	clusterOnce sync.Once
	theCluster  *cluster
	clusterErr  error
)

// clusterOf returns the nodes of the server at base: the workers of a
// Citus coordinator come from its pg_dist_node, reached with base's
// credentials.
func clusterOf(ctx context.Context, base string) (*cluster, error) {
	clusterOnce.Do(func() {
		theCluster, clusterErr = readCluster(ctx, base)
	})
	return theCluster, clusterErr
}

func readCluster(ctx context.Context, base string) (*cluster, error) {
	c := &cluster{nodes: []string{base}}
	if !OnCitus() {
		return c, nil
	}
	c.citus = true
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvCitusURL, err)
	}
	port, _ := strconv.Atoi(cmpOr(u.Port(), "5432"))
	c.coordinator = hostPort{u.Hostname(), port}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Citus coordinator (%s): %w", EnvCitusURL, err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeid`)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the workers (is citus installed in its database?): %w", EnvCitusURL, err)
	}
	for rows.Next() {
		var w hostPort
		if err := rows.Scan(&w.host, &w.port); err != nil {
			return nil, err
		}
		c.workers = append(c.workers, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(c.workers) == 0 {
		return nil, fmt.Errorf("%s: the coordinator has no workers registered (citus_add_node)", EnvCitusURL)
	}
	for _, w := range c.workers {
		wu := *u
		wu.Host = net.JoinHostPort(w.host, strconv.Itoa(w.port))
		c.nodes = append(c.nodes, wu.String())
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// each runs sql on every node, workers first: a coordinator's clone must
// find its workers' databases there.
func (c *cluster) each(ctx context.Context, sql string) error {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		if err := c.exec(ctx, c.nodes[i], sql); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) exec(ctx context.Context, node, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// create makes database name on every node (with: the rest of its CREATE
// DATABASE statement). A new Citus database (not a clone) gets the
// extension and the nodes; a template is cleared of the connections the
// Citus maintenance daemon keeps open, which would block the clone.
func (c *cluster) create(ctx context.Context, name, with string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if c.citus && strings.HasPrefix(with, "TEMPLATE ") {
		tpl := strings.TrimPrefix(with, "TEMPLATE ")
		for _, n := range c.nodes {
			if err := c.exec(ctx, n, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
				strings.Trim(tpl, `"`)); err != nil {
				return err
			}
		}
	}
	if err := c.each(ctx, "CREATE DATABASE "+ident+" "+with); err != nil {
		return err
	}
	if !c.citus || strings.HasPrefix(with, "TEMPLATE ") {
		return nil
	}
	for _, n := range c.nodes {
		u, err := withDatabase(n, name)
		if err != nil {
			return err
		}
		if err := c.exec(ctx, u, `CREATE EXTENSION citus`); err != nil {
			return fmt.Errorf("CREATE EXTENSION citus in %s: %w", name, err)
		}
	}
	u, err := withDatabase(c.nodes[0], name)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT citus_set_coordinator_host($1, $2)`, c.coordinator.host, c.coordinator.port); err != nil {
		return fmt.Errorf("registering the coordinator in %s: %w", name, err)
	}
	for _, w := range c.workers {
		if _, err := conn.Exec(ctx, `SELECT citus_add_node($1, $2)`, w.host, w.port); err != nil {
			return fmt.Errorf("registering worker %s:%d in %s: %w", w.host, w.port, name, err)
		}
	}
	return nil
}

// freeze marks a migrated database as a template on every node; on Citus
// connections to it are refused from then on, so that no maintenance
// daemon holds it when a test clones it.
func (c *cluster) freeze(ctx context.Context, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if c.citus {
		if err := c.each(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false"); err != nil {
			return err
		}
	}
	return c.each(ctx, "ALTER DATABASE "+ident+" IS_TEMPLATE true")
}

// drop removes database name from every node, if it is there.
func (c *cluster) drop(ctx context.Context, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	var errs []error
	for _, n := range c.nodes {
		err := c.exec(ctx, n, "ALTER DATABASE "+ident+" IS_TEMPLATE false")
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			errs = append(errs, err)
		}
		// On Citus the nodes' connections to each other close a moment
		// after the sessions that opened them are ended.
		var err2 error
		for try := 0; try < 20; try++ {
			if err2 = c.exec(ctx, n, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err2 == nil || !c.citus {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		errs = append(errs, err2)
	}
	return errors.Join(errs...)
}
