package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/chatstage/chatstage/migrations"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
}

// provider is goose's Provider over the embedded migrations. It has no
// session locker: Migrate takes a lock of its own.
func (s *Store) provider() (*goose.Provider, func(), error) {
	db := stdlib.OpenDBFromPool(s.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, func() { db.Close() }, nil
}

// migrateLockSQL lets one process migrate at a time. The others block
// on it, woken the moment it is released (goose's session locker polls
// every 5 seconds: ten first runs at once finished at 0.2, 1.2, 5, 10 ...
// 30 s), and then find nothing pending.
const migrateLockSQL = `SELECT pg_advisory_lock(hashtext('chatstage.migrate'))`

// Migrate applies the pending migrations and returns how many it applied;
// then it makes the load tables if they are missing or out of date
// (loadtables.go), and on a database with the citus extension distributes
// the tables not distributed yet (citus.go). When nothing is to do it
// takes no lock; otherwise concurrent callers wait for each other, so two
// processes never migrate at once. It refuses a database whose encoding
// is not UTF8 (ErrEncoding).
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if err := s.checkEncoding(ctx); err != nil {
		return 0, err
	}
	n, err := s.migrateUp(ctx)
	if err != nil {
		return n, err
	}
	if err := s.ensureLoadTables(ctx); err != nil {
		return n, err
	}
	return n, s.distribute(ctx)
}

// migrateUp applies the pending migrations.
func (s *Store) migrateUp(ctx context.Context) (int, error) {
	if pending, err := s.pending(ctx); err != nil || !pending {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, s.translate(err, "migrating")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, migrateLockSQL); err != nil {
		return 0, s.translate(err, "waiting for the migration lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('chatstage.migrate'))`) //nolint:errcheck // ends with the session anyway
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

// pending reports whether a migration is not applied yet.
func (s *Store) pending(ctx context.Context) (bool, error) {
	states, err := s.MigrationStatus(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range states {
		if !m.Applied {
			return true, nil
		}
	}
	return false, nil
}

// migrationsTableSQL tells whether goose ever ran: its table is read,
// never created, so that a read-only command changes nothing.
const migrationsTableSQL = `SELECT to_regclass('goose_db_version') IS NOT NULL`

const migrationsAppliedSQL = `SELECT coalesce(array_agg(version_id) FILTER (WHERE is_applied), '{}') FROM goose_db_version`

// MigrationStatus lists every known migration and whether it is applied.
// It only reads: on a database chatstage never migrated, every migration
// is pending and nothing is created.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, done, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("reading migration status: %w", err)
	}
	defer done()
	applied := map[int64]bool{}
	var exists bool
	if err := s.pool.QueryRow(ctx, migrationsTableSQL).Scan(&exists); err != nil {
		return nil, s.translate(err, "reading the migration status of "+s.target)
	}
	if exists {
		var versions []int64
		if err := s.pool.QueryRow(ctx, migrationsAppliedSQL).Scan(&versions); err != nil {
			return nil, s.translate(err, "reading the migration status of "+s.target)
		}
		for _, v := range versions {
			applied[v] = true
		}
	}
	var out []MigrationState
	for _, src := range p.ListSources() {
		out = append(out, MigrationState{Version: src.Version, Name: filepath.Base(src.Path), Applied: applied[src.Version]})
	}
	return out, nil
}

// MigrationsCheck returns nil when every migration is applied, else an
// error (errors.Is ErrNotMigrated) that says how many are pending and to
// run chatstage migrate. It only reads: a command that must not change
// the schema (a dry run) checks with it instead of migrating.
func (s *Store) MigrationsCheck(ctx context.Context) error {
	states, err := s.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	var pending []string
	for _, m := range states {
		if !m.Applied {
			pending = append(pending, m.Name)
		}
	}
	switch {
	case len(pending) == 0:
		return nil
	case len(pending) == len(states):
		return &dbError{ErrNotMigrated, fmt.Sprintf("%s: %v", s.target, ErrNotMigrated), nil}
	case len(pending) == 1:
		return &dbError{ErrNotMigrated, fmt.Sprintf("%s: migration %s is pending: run chatstage migrate", s.target, pending[0]), nil}
	}
	return &dbError{ErrNotMigrated, fmt.Sprintf("%s: %d migrations are pending (%s): run chatstage migrate",
		s.target, len(pending), strings.Join(pending, ", ")), nil}
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
