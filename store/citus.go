package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// On a database where the citus extension is installed, Migrate
// distributes the tables (distribute): the tables of chats by chat_id,
// colocated with staging.chats, so that every join of the merge and of
// the views, which all carry chat_id, runs on each shard; the small
// tables of loads, rejects and erasures as reference tables, copied to
// every node, so that any shard can join them. A database migrated before
// Citus was installed is distributed by the next migrate, its rows
// copied. On plain PostgreSQL nothing of this runs.
//
// What else differs on Citus, each where it happens:
//   - writes never call volatile functions: times are parameters (load.go,
//     recover.go);
//   - a view's ORDER BY runs on each shard, so a copy of the export views
//     orders the rows again (View.citusOrder, snapshot.go);
//   - a REPEATABLE READ snapshot is not one instant across workers, so
//     exports and reports hold the ingest lock shared (snapshot.go), and
//     the other connections of a shared snapshot rely on that lock, not
//     on an exported snapshot, which is the coordinator's alone.

// referenceTables are replicated to every node.
var referenceTables = []string{"staging.loads", "staging.rejects", "staging.erasures", loadSchema + ".incoming_rejects"}

// distributedTables are distributed by chat_id, colocated with the first.
var distributedTables = func() []string {
	t := []string{"staging.chats", "staging.chat_versions", "staging.messages",
		"staging.chat_version_history", "staging.message_history", "staging.retirements",
		"chatstage_work.chats_state", "chatstage_work.messages_state", "chatstage_work.delta_candidates",
		"chatstage_work.delta_then", "chatstage_work.delta_now"}
	for _, l := range loadTables() {
		if !l.reference {
			t = append(t, l.qualified())
		}
	}
	return t
}()

// citusLayout changes whenever what distribute does changes otherwise
// than by the lists above (it names test templates, SchemaVersion).
const citusLayout = "rejects without a foreign key"

const citusInstalledSQL = `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`

const citusDistributedSQL = `SELECT logicalrelid::regclass::text FROM pg_dist_partition`

// distribute makes the tables distributed or reference tables, those not
// yet; it is a no-op on plain PostgreSQL and once done.
func (s *Store) distribute(ctx context.Context) error {
	if !s.citus {
		return nil
	}
	done, err := s.distributed(ctx, s.pool)
	if err != nil || done == nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.translate(err, "distributing the tables")
	}
	defer conn.Release()
	// Distributing copies a table's rows and takes its locks: no load may
	// run meanwhile.
	if err := s.lockIngest(ctx, conn, nil); err != nil {
		return s.translate(err, "waiting for the ingest lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('chatstage.ingest'))`) //nolint:errcheck // ends with the session anyway
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if done, err = s.distributed(ctx, tx); err != nil || done == nil {
			return err
		}
		// The rejects' foreign key to the loads goes: with a foreign key
		// to a reference table, Citus runs every later statement of a
		// transaction that touched a distributed table over one connection
		// per node, or refuses it (a load records its success in
		// staging.loads after its merge). Nothing deletes loads.
		todo := []string{`ALTER TABLE staging.rejects DROP CONSTRAINT IF EXISTS rejects_load_id_fkey`}
		for _, t := range referenceTables {
			if !done[t] {
				todo = append(todo, fmt.Sprintf(`SELECT create_reference_table('%s')`, t))
			}
		}
		for i, t := range distributedTables {
			if done[t] {
				continue
			}
			colocate := "none"
			if i > 0 {
				colocate = distributedTables[0]
			}
			todo = append(todo, fmt.Sprintf(`SELECT create_distributed_table('%s', 'chat_id', colocate_with => '%s')`, t, colocate))
		}
		for _, q := range todo {
			s.logger.Info("distributing", "statement", strings.Join(strings.Fields(q), " "))
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q), " "), err)
			}
		}
		// A table that had rows keeps a local copy of them beside its
		// shards; they are no longer read.
		for _, t := range slices.Concat(referenceTables, distributedTables) {
			if _, err := tx.Exec(ctx, `SELECT truncate_local_data_after_distributing_table($1)`, t); err != nil {
				return fmt.Errorf("freeing the local rows of %s: %w", t, err)
			}
		}
		return nil
	})
	return s.translate(err, "distributing the tables")
}

// distributed returns the tables already distributed (or reference), or
// nil when every table is.
func (s *Store) distributed(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (map[string]bool, error) {
	rows, err := q.Query(ctx, citusDistributedSQL)
	if err != nil {
		return nil, s.translate(err, "reading the distributed tables")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.translate(err, "reading the distributed tables")
	}
	done := map[string]bool{}
	for _, n := range names {
		done[n] = true
	}
	for _, t := range slices.Concat(referenceTables, distributedTables) {
		if !done[t] {
			return done, nil
		}
	}
	return nil, nil
}
