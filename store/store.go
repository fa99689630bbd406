package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a connection pool to the staging database.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	target string // user@host:port/database, for messages; never the password

	loadConnsMu sync.Mutex
	loadConns   map[int64]*pgxpool.Conn // from LoadBegin to LoadRun
}

// Options configure Open.
type Options struct {
	// Logger receives debug and info logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds how long Open retries, with backoff, a server
	// that does not answer (restarting, failing over); 0 means one try.
	ConnectTimeout time.Duration
}

// Open connects to the database at url, a PostgreSQL URL or key=value
// string. An empty url means libpq's PG* environment variables, as psql
// would use them. Errors name the server, never the password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors may quote the string, password included.
		return nil, fmt.Errorf("%w: the database URL is not valid", ErrConnect)
	}
	cfg.MaxConns = 4
	// A backend notices that its client died (kill -9, a lost network) only
	// when it next talks to it, which during a long merge statement can be
	// minutes; meanwhile it holds the load's locks. This makes it check.
	cfg.ConnConfig.RuntimeParams["client_connection_check_interval"] = "1s"
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "chatstage"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := cfg.ConnConfig
	target := fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrConnect, target, redact(err))
	}
	if err := ping(ctx, pool, opts.ConnectTimeout, logger, target); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w at %s: %w", ErrConnect, target, redact(err))
	}
	return &Store{pool: pool, logger: logger, target: target, loadConns: map[int64]*pgxpool.Conn{}}, nil
}

// ping waits for the server to answer, retrying with exponential backoff
// for at most timeout. A server that answers with an error (bad password,
// no such database) is not retried: waiting would not fix it.
func ping(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration, logger *slog.Logger, target string) error {
	deadline := time.Now().Add(timeout)
	wait := 250 * time.Millisecond
	for {
		err := pool.Ping(ctx)
		var pgErr *pgconn.PgError
		if err == nil || errors.As(err, &pgErr) || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		logger.Warn("database not reachable, retrying", "database", target, "in", wait, "error", redact(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// Close closes every connection, including those of loads begun and never
// run, which frees their liveness locks.
func (s *Store) Close() {
	s.loadConnsMu.Lock()
	for id, conn := range s.loadConns {
		conn.Release()
		delete(s.loadConns, id)
	}
	s.loadConnsMu.Unlock()
	s.pool.Close()
}

// Target names the database for messages: user@host:port/database.
func (s *Store) Target() string { return s.target }

// Sentinel errors for what callers test.
var (
	// ErrConnect: the database could not be reached or refused the login.
	ErrConnect = errors.New("cannot connect to PostgreSQL")
	// ErrLoadNotFound: no load has the id asked for.
	ErrLoadNotFound = errors.New("no such load")
	// ErrNotMigrated: the database has no chatstage schema yet.
	ErrNotMigrated = errors.New("the database is not migrated: run chatstage migrate")
)

// redact shortens a connection error to its first line: pgx repeats the
// cause once per attempt (TLS, then plain). pgx never prints the password.
func redact(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		return errors.New(msg[:i])
	}
	return err
}
