package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a connection pool to the staging database.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	target string // user@host:port/database, for messages; never the password
}

// Options configure Open.
type Options struct {
	// Logger receives debug and info logs; nil discards them.
	Logger *slog.Logger
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
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := cfg.ConnConfig
	target := fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w to %s: %w", ErrConnect, target, redact(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w to %s: %w", ErrConnect, target, redact(err))
	}
	return &Store{pool: pool, logger: logger, target: target}, nil
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Target names the database for messages: user@host:port/database.
func (s *Store) Target() string { return s.target }

// Sentinel errors for what callers test.
var (
	// ErrConnect: the database could not be reached or refused the login.
	ErrConnect = errors.New("cannot connect to PostgreSQL")
)

// redact keeps a connection error's cause but drops pgconn's wrapping,
// which is safe (pgx never prints the password) but long.
func redact(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}
