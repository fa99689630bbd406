package store

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report is what ReportWrite wrote and a summary of the data it covers.
type Report struct {
	// Files are chat_metrics.csv and quality.csv, in that order.
	Files []ExportFile `json:"files"`
	// LastLoadID is the greatest succeeded load in the report's snapshot.
	LastLoadID int64 `json:"last_load_id"`
	// ReportedAt is the database time of the snapshot, in UTC.
	ReportedAt time.Time `json:"reported_at"`

	Chats     int64 `json:"chats"`      // current chats
	UserSpoke int64 `json:"user_spoke"` // current chats with at least one user message
	Messages  int64 `json:"messages"`   // messages of the current chats
	// Flags counts the current chats carrying each quality flag.
	Flags []NameCount `json:"flags"`
	// Rejects counts the rejects of every load by reason code.
	Rejects []NameCount `json:"rejects"`
}

// NameCount is a count under a stable name (a flag, a reason code).
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// reportFiles are the files ReportWrite writes and the view each copies.
// The ORDER BY makes the files stable for diffs between nights; chat_id is
// COLLATE "C", so the order is byte order whatever the database collation.
var reportFiles = []struct{ name, copySQL string }{
	{"chat_metrics.csv", `COPY (SELECT * FROM analytics.chat_metrics ORDER BY chat_id) TO STDOUT (FORMAT csv, HEADER)`},
	{"quality.csv", `COPY (SELECT * FROM analytics.load_quality ORDER BY load_id) TO STDOUT (FORMAT csv, HEADER)`},
}

// reportPrepareSQL makes COPY's text of timestamps and dates independent
// of the server's and the role's settings: UTC, ISO 8601. LOCAL ends with
// the transaction. JIT is off as in the export: a report scans every chat
// and streams, and compiling the plan would cost more than it saves.
var reportPrepareSQL = []string{
	`SET LOCAL TimeZone = 'UTC'`,
	`SET LOCAL DateStyle = 'ISO, YMD'`,
	`SET LOCAL jit = off`,
}

const reportSummarySQL = `
SELECT coalesce((SELECT max(load_id) FROM staging.loads WHERE status = 'succeeded'), 0),
       now(),
       (SELECT count(*) FROM staging.chats),
       (SELECT count(*) FROM staging.chats WHERE NOT is_default_chat),
       (SELECT count(*) FROM staging.messages)`

const reportFlagsSQL = `
SELECT flag, count(*) FROM staging.chats, unnest(quality_flags) AS flag
GROUP BY flag ORDER BY count(*) DESC, flag`

const reportRejectsSQL = `
SELECT reason_code, count(*) FROM staging.rejects
GROUP BY reason_code ORDER BY count(*) DESC, reason_code`

// ReportWrite writes chat_metrics.csv (analytics.chat_metrics) and
// quality.csv (analytics.load_quality) into dir, creating dir if needed,
// and returns a summary. Everything is read in one REPEATABLE READ, READ
// ONLY transaction, so the files and the summary describe the same state.
//
// Like ExportWrite, each file is streamed into a temporary file in dir,
// synced and closed, and renamed over its final name only when both are
// complete; the directory is then synced. After an error the previous
// files are left as they were and no temporary file remains.
func (s *Store) ReportWrite(ctx context.Context, dir string) (Report, error) {
	var res Report
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("report: %w", err)
	}
	var temps []*tempFile
	defer func() {
		for _, t := range temps {
			t.remove() // a no-op for those already renamed
		}
	}()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, fmt.Errorf("report: starting the snapshot: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: rolling back is how it ends
	for _, q := range reportPrepareSQL {
		if _, err := tx.Exec(ctx, q); err != nil {
			return res, fmt.Errorf("report: %w", err)
		}
	}
	if err := tx.QueryRow(ctx, reportSummarySQL).Scan(
		&res.LastLoadID, &res.ReportedAt, &res.Chats, &res.UserSpoke, &res.Messages); err != nil {
		return res, fmt.Errorf("report: summarizing: %w", err)
	}
	res.ReportedAt = res.ReportedAt.UTC()
	if res.Flags, err = nameCounts(ctx, tx, reportFlagsSQL); err != nil {
		return res, fmt.Errorf("report: counting flags: %w", err)
	}
	if res.Rejects, err = nameCounts(ctx, tx, reportRejectsSQL); err != nil {
		return res, fmt.Errorf("report: counting rejects: %w", err)
	}

	for _, f := range reportFiles {
		t, err := createTemp(dir, f.name)
		if err != nil {
			return res, fmt.Errorf("report %s: %w", f.name, err)
		}
		temps = append(temps, t)
		tag, err := tx.Conn().PgConn().CopyTo(ctx, t, f.copySQL)
		if err != nil {
			return res, fmt.Errorf("report %s: %w", f.name, err)
		}
		if err := t.finish(); err != nil {
			return res, fmt.Errorf("report %s: %w", f.name, err)
		}
		res.Files = append(res.Files, ExportFile{Name: f.name, Rows: tag.RowsAffected(), Bytes: t.n, SHA256: t.sum()})
	}
	if err := tx.Rollback(ctx); err != nil {
		return res, fmt.Errorf("report: ending the snapshot: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("report: %w", err)
	}
	for _, t := range temps {
		if err := t.rename(); err != nil {
			return res, fmt.Errorf("report %s: %w", t.final, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return res, fmt.Errorf("report: %w", err)
	}
	return res, nil
}

func nameCounts(ctx context.Context, tx pgx.Tx, sql string) ([]NameCount, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (NameCount, error) {
		var n NameCount
		err := row.Scan(&n.Name, &n.Count)
		return n, err
	})
	if out == nil {
		out = []NameCount{} // [] in JSON, not null
	}
	return out, err
}
