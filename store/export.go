package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Export is what ExportWrite wrote; manifest.json holds the same.
type Export struct {
	// Files are chats.csv and messages.csv, in that order.
	Files []ExportFile `json:"files"`
	// LastLoadID is the greatest succeeded load visible in the export's
	// snapshot: the files hold every load up to it and none after. 0 when
	// no load has succeeded yet.
	LastLoadID int64 `json:"last_load_id"`
	// ExportedAt is the database time of the snapshot, in UTC.
	ExportedAt time.Time `json:"exported_at"`
}

// ExportFile describes one written deliverable.
type ExportFile struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`  // data rows, the header not counted
	Bytes  int64  `json:"bytes"` // file size, the header included
	SHA256 string `json:"sha256"`
}

// ManifestName is the file ExportWrite writes beside the deliverables.
const ManifestName = "manifest.json"

// exportFiles are the deliverables and the view each one copies. The view
// holds the column names, the formatting and the row order (migration
// 00002_export_views.sql), so the COPY is a plain SELECT *.
var exportFiles = []struct{ name, view, copySQL string }{
	{"chats.csv", "chats", `COPY (SELECT * FROM export.chats) TO STDOUT (FORMAT csv, HEADER)`},
	{"messages.csv", "messages", `COPY (SELECT * FROM export.messages) TO STDOUT (FORMAT csv, HEADER)`},
}

// ExportOptions tune ExportWrite. The zero value writes the contract's
// deliverables exactly.
type ExportOptions struct {
	// EscapeFormulas prefixes with ' every cell that starts with =, +, -
	// or @, so that a spreadsheet shows it as text instead of running it.
	EscapeFormulas bool
	// Rows, when set, counts the CSV lines written so far (headers
	// included), for a progress report read from another goroutine.
	Rows *atomic.Int64
}

const viewColumnsSQL = `
SELECT attname FROM pg_attribute
WHERE attrelid = format('export.%I', $1::text)::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum`

// formulaEscapeSQL wraps one quoted column: a cell a spreadsheet would run
// as a formula gets a leading quote.
const formulaEscapeSQL = `CASE WHEN %[1]s ~ '^[-=+@]' THEN '''' || %[1]s ELSE %[1]s END AS %[1]s`

// escapedCopySQL builds the COPY of a view with every column wrapped in
// the formula escape. The column names come from the catalog and are
// quoted as identifiers; no value is ever part of the SQL. The view's own
// ORDER BY still orders the rows: the outer query only projects.
func escapedCopySQL(ctx context.Context, tx pgx.Tx, view string) (string, error) {
	rows, err := tx.Query(ctx, viewColumnsSQL, view)
	if err != nil {
		return "", err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = fmt.Sprintf(formulaEscapeSQL, pgx.Identifier{c}.Sanitize())
	}
	return "COPY (SELECT " + strings.Join(exprs, ", ") + " FROM " + pgx.Identifier{"export", view}.Sanitize() +
		") TO STDOUT (FORMAT csv, HEADER)", nil
}

// exportPrepareSQL runs first in the export transaction. JIT is off
// because the messages plan (a nested loop over every chat) is estimated
// far above jit_above_cost, and compiling it costs a few hundred
// milliseconds that a streaming COPY never wins back.
const exportPrepareSQL = `SET LOCAL jit = off`

// exportSnapshotSQL is the first query of the transaction, so the
// REPEATABLE READ snapshot is taken here and both COPYs read that state.
const exportSnapshotSQL = `
SELECT coalesce(max(load_id) FILTER (WHERE status = 'succeeded'), 0), now()
FROM staging.loads`

// copyBufferSize batches COPY's one-row messages into large writes.
const copyBufferSize = 256 << 10

// ExportWrite writes chats.csv, messages.csv and manifest.json into dir,
// creating dir if needed. Both files are copied from the export views in
// one REPEATABLE READ, READ ONLY transaction, so a load committing
// meanwhile is in both files or in neither.
//
// Each file is streamed into a temporary file in dir (memory stays flat
// whatever the size), synced and closed; only when both are complete are
// they renamed over chats.csv and messages.csv, then manifest.json, and the
// directory is synced. A reader therefore never sees a half-written file
// under a final name, and after an error or a cancelled ctx the previous
// deliverables are left as they were and no temporary file remains.
func (s *Store) ExportWrite(ctx context.Context, dir string, opts ExportOptions) (Export, error) {
	res, err := s.exportWrite(ctx, dir, opts)
	if err != nil {
		return Export{}, err
	}
	return res, nil
}

func (s *Store) exportWrite(ctx context.Context, dir string, opts ExportOptions) (Export, error) {
	var res Export
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	var temps []*tempFile
	defer func() {
		for _, t := range temps {
			t.remove() // a no-op for those already renamed
		}
	}()

	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, fmt.Errorf("export: starting the snapshot: %w", err)
	}
	// Read-only: rolling back is how it ends, success or not.
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if _, err := tx.Exec(ctx, exportPrepareSQL); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	if err := tx.QueryRow(ctx, exportSnapshotSQL).Scan(&res.LastLoadID, &res.ExportedAt); err != nil {
		return res, fmt.Errorf("export: reading the last load: %w", err)
	}
	res.ExportedAt = res.ExportedAt.UTC()

	for _, f := range exportFiles {
		t, err := createTemp(dir, f.name)
		if err != nil {
			return res, fmt.Errorf("export %s: %w", f.name, err)
		}
		temps = append(temps, t)
		t.rows = opts.Rows
		copySQL := f.copySQL
		if opts.EscapeFormulas {
			if copySQL, err = escapedCopySQL(ctx, tx, f.view); err != nil {
				return res, fmt.Errorf("export %s: %w", f.name, err)
			}
		}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, t, copySQL)
		if err != nil {
			return res, fmt.Errorf("export %s: %w", f.name, err)
		}
		if err := t.finish(); err != nil {
			return res, fmt.Errorf("export %s: %w", f.name, err)
		}
		s.logger.Debug("export copied", "file", f.name, "rows", tag.RowsAffected(), "bytes", t.n)
		res.Files = append(res.Files, ExportFile{
			Name: f.name, Rows: tag.RowsAffected(), Bytes: t.n, SHA256: t.sum(),
		})
	}
	if err := tx.Rollback(ctx); err != nil {
		return res, fmt.Errorf("export: ending the snapshot: %w", err)
	}

	manifest, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	t, err := createTemp(dir, ManifestName)
	if err != nil {
		return res, fmt.Errorf("export %s: %w", ManifestName, err)
	}
	temps = append(temps, t)
	if _, err := t.Write(append(manifest, '\n')); err != nil {
		return res, fmt.Errorf("export %s: %w", ManifestName, err)
	}
	if err := t.finish(); err != nil {
		return res, fmt.Errorf("export %s: %w", ManifestName, err)
	}

	// The manifest goes last: once it is in place, the files it describes
	// are too.
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	for _, t := range temps {
		if err := t.rename(); err != nil {
			return res, fmt.Errorf("export %s: %w", t.final, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

// tempFile is a file being written under a temporary name in the
// directory of its final name. It counts and hashes what is written.
type tempFile struct {
	rows    *atomic.Int64 // lines written, when someone watches; COPY writes one per Write
	f       *os.File
	w       *bufio.Writer
	h       hash.Hash
	n       int64
	final   string
	renamed bool
}

func createTemp(dir, name string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private (0600); the deliverables are for
	// others to read.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &tempFile{
		f:     f,
		w:     bufio.NewWriterSize(f, copyBufferSize),
		h:     sha256.New(),
		final: filepath.Join(dir, name),
	}, nil
}

func (t *tempFile) Write(p []byte) (int, error) {
	if t.rows != nil {
		t.rows.Add(1)
	}
	n, err := t.w.Write(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	return n, err
}

func (t *tempFile) sum() string { return hex.EncodeToString(t.h.Sum(nil)) }

// finish flushes, syncs and closes the file; it stays under its temporary
// name until rename.
func (t *tempFile) finish() error {
	if err := t.w.Flush(); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	return t.f.Close()
}

func (t *tempFile) rename() error {
	if err := os.Rename(t.f.Name(), t.final); err != nil {
		return err
	}
	t.renamed = true
	return nil
}

// remove deletes the temporary file unless it was renamed.
func (t *tempFile) remove() {
	if t.renamed {
		return
	}
	t.f.Close()           // an error only says it was closed already
	os.Remove(t.f.Name()) // best effort: the error being returned matters more
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
