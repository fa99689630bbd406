package store

import (
	"context"
	"fmt"

	"github.com/chatstage/chatstage/migrations"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
}

func (s *Store) provider() (*goose.Provider, func(), error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, func() { db.Close() }, nil
}

// Migrate applies the pending migrations and returns how many it applied.
// A PostgreSQL advisory lock makes concurrent callers wait for each other,
// so two processes never migrate at once.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if err := s.checkEncoding(ctx); err != nil {
		return 0, err
	}
	p, done, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("migrating: %w", err)
	}
	defer done()
	res, err := p.Up(ctx)
	if err != nil {
		return 0, s.translate(err, "migrating "+s.target)
	}
	for _, r := range res {
		s.logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return len(res), nil
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, done, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("reading migration status: %w", err)
	}
	defer done()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, s.translate(err, "reading the migration status of "+s.target)
	}
	out := make([]MigrationState, len(st))
	for i, m := range st {
		out[i] = MigrationState{Version: m.Source.Version, Name: m.Source.Path, Applied: m.State == goose.StateApplied}
	}
	return out, nil
}

func (s *Store) checkEncoding(ctx context.Context) error {
	var enc string
	if err := s.pool.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&enc); err != nil {
		return s.translate(err, "reading the encoding of "+s.target)
	}
	if enc != "UTF8" {
		return fmt.Errorf("%w: %s is %s; create it with ENCODING 'UTF8' TEMPLATE template0", ErrEncoding, s.target, enc)
	}
	return nil
}
