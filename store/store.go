package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a connection pool to the staging database.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	target string // user@host:port/database, for messages; never the password
	// citus: the citus extension is installed: the tables are distributed
	// (citus.go).
	citus bool
}

// Options configure Open.
type Options struct {
	// Logger receives debug and info logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds how long Open retries, with backoff, a server
	// that does not answer or is starting up or shutting down; 0 means one
	// try.
	ConnectTimeout time.Duration
}

// Open connects to the database at url, a PostgreSQL URL or key=value
// string. An empty url means libpq's PG* environment variables, as psql
// would use them. Errors (ErrConnect) name the server as
// user@host:port/database, taken from the parsed configuration, and never
// the password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, target, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	// An export reads its deliverables on connections of their own at
	// once (SnapshotBeginShared); the rest is one connection at a time.
	cfg.MaxConns = 4
	// A backend notices that its client died (kill -9, a lost network) only
	// when it next talks to it, which during a long merge statement can be
	// minutes; meanwhile it holds the load's locks. This makes it check.
	cc.RuntimeParams["client_connection_check_interval"] = "1s"
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "chatstage"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: logger, target: target}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.translate(err, "connecting")
	}
	s.pool = pool
	if err := s.ping(ctx, opts.ConnectTimeout); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, citusInstalledSQL).Scan(&s.citus); err != nil {
		pool.Close()
		return nil, s.translate(err, "connecting")
	}
	return s, nil
}

// TargetOf names the database that Open would connect to for url, as
// user@host:port/database, without connecting: for an empty url, the one
// libpq's PG* variables or defaults give. It never holds the password.
func TargetOf(url string) (string, error) {
	_, target, err := parseConfig(url)
	return target, err
}

// parseConfig parses url as Open does and names its database.
func parseConfig(url string) (*pgxpool.Config, string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL; its own redaction is textual.
		return nil, "", fmt.Errorf("%w: the database URL is not valid; in a URL, encode special characters of the "+
			"user name and password (@ as %%40, / as %%2F, %% as %%25, # as %%23)", ErrConnect)
	}
	cc := cfg.ConnConfig
	if strings.Contains(cc.Host, "@") || strings.Contains(cc.User, "@") {
		// postgres://app:p@ss@db/x parses as password "p", host "ss@db":
		// connecting would print part of the password in every error.
		return nil, "", fmt.Errorf("%w: the database URL holds an @ that is not encoded (in a password or user name, write it as %%40)", ErrConnect)
	}
	db := cc.Database
	if db == "" {
		db = cc.User // what the server takes for a connection that names no database
	}
	return cfg, fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, db), nil
}

// ping waits for the server to answer, retrying with exponential backoff
// for at most timeout while it is unreachable, starting up or shutting
// down (retryable); a server that refuses the login or has no such
// database is not retried: waiting would not fix it.
func (s *Store) ping(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Millisecond
	for {
		err := s.pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) || time.Now().Add(wait).After(deadline) {
			return s.translate(err, "connecting")
		}
		s.logger.Warn("database not ready, retrying", "database", s.target, "in", wait, "error", connectCause(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return s.translate(ctx.Err(), "connecting")
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Target names the database for messages: user@host:port/database.
func (s *Store) Target() string { return s.target }

// storable makes text that chatstage did not read through etl (a file
// name, a header line, an error message that quotes them) storable as
// PostgreSQL text, which refuses NUL and invalid UTF-8: a file named with
// a Latin-1 byte must not fail its load before it starts.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
