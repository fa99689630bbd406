package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// A deliverable is copied in ranges, each by a connection of its own at
// the same time, when one server process is what bounds the copy:
// messages.csv is most of an export (four messages to a chat), and its
// COPY keeps one core busy while the others wait. The ranges cut the view
// by its first sort column, "created at": its text (UTC, fixed width for
// the years 0001 to 9999 that etl accepts, compared byte by byte) sorts as
// the time does, as
// View.citusOrder already relies on, so every row of a range comes before
// every row of the next one in the view's order, rows of one instant fall
// in one range, and the copies of the ranges, end to end, are the copy of
// the view byte for byte.

// Range is the rows of a view whose "created at" is at or after From and
// before To, in the view's order; "" is no bound. A row without a created
// at is in the range without To, the last. The ranges between the keys
// of ViewSplit hold every row of the view once; copied, only the first
// (From "") has the header.
type Range struct {
	From, To string
}

// The conditions of a range on a view's key column (%[1]s, quoted). The
// keys are transaction settings (rangeSetSQL), so that no value is ever
// part of the SQL.
const (
	rangeFromSQL = `coalesce(%[1]s COLLATE "C" >= current_setting('chatstage.range_from'), true)`
	rangeToSQL   = `coalesce(%[1]s COLLATE "C" < current_setting('chatstage.range_to'), false)`
	rangeSetSQL  = `SELECT set_config('chatstage.range_from', $1, true), set_config('chatstage.range_to', $2, true)`
)

// ErrNotRanged: a range was asked of a view that is not copied in ranges.
var ErrNotRanged = errors.New("the view is not copied in ranges")

// rangeKey is the key column of the views copied in ranges (View.ranged):
// they list the live chats of staging.chats in the order of created_at.
const rangeKey = "created at"

// rangeBoundsSQL reads how staging.chats' created_at spreads: its least
// and greatest (the ends of the index chats_export_order) and, once
// ANALYZE has run, the bounds of the statistics' histogram, which cut its
// rows into parts of about as many each. All chats, retired too: they
// bound the live ones.
const rangeBoundsSQL = `
SELECT min(created_at), max(created_at),
       (SELECT histogram_bounds::text::timestamptz[] FROM pg_stats
        WHERE schemaname = 'staging' AND tablename = 'chats' AND attname = 'created_at')
FROM staging.chats`

// rangeKeyFormat writes a key as the views write "created at".
const rangeKeyFormat = "2006-01-02T15:04:05.000000Z"

// ViewSplit returns the keys that cut view v into up to parts ranges of
// about as many chats each, in order: none when v is not copied in ranges
// (only the deliverables are), on Citus (a range would be ordered again by
// the coordinator, which is the bottleneck there), or when its created at
// values do not all have the fixed-width text that sorts as they do.
// Range{"", keys[0]}, Range{keys[0], keys[1]}, ..., Range{keys[n-1], ""}
// are the ranges. It costs one small query: the keys come from the ends of
// an index and the table's statistics, not from reading the rows.
func (sn *Snapshot) ViewSplit(ctx context.Context, v View, parts int) ([]string, error) {
	if !v.ranged || sn.s.citus || parts < 2 {
		return nil, nil
	}
	var lo, hi *time.Time
	var bounds []time.Time
	if err := sn.tx.QueryRow(ctx, rangeBoundsSQL).Scan(&lo, &hi, &bounds); err != nil {
		return nil, sn.s.translate(err, "splitting "+v.String())
	}
	fixedWidth := func(t time.Time) bool { y := t.UTC().Year(); return y >= 1 && y <= 9999 }
	if lo == nil || hi == nil || !fixedWidth(*lo) || !fixedWidth(*hi) || !lo.Before(*hi) {
		return nil, nil
	}
	var keys []string
	for i := 1; i < parts; i++ {
		var k time.Time
		if len(bounds) > parts {
			k = bounds[i*(len(bounds)-1)/parts]
		} else {
			// No statistics yet: cut the time between the ends evenly.
			k = lo.Add(time.Duration(int64(hi.Sub(*lo)) / int64(parts) * int64(i)))
		}
		if k.Before(*lo) || k.After(*hi) {
			continue // statistics older than the rows
		}
		key := k.UTC().Format(rangeKeyFormat)
		if len(keys) == 0 || key > keys[len(keys)-1] {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// Ranges returns the ranges between keys, in order.
func Ranges(keys []string) []Range {
	bounds := slices.Concat([]string{""}, keys, []string{""})
	out := make([]Range, len(keys)+1)
	for i := range out {
		out[i] = Range{From: bounds[i], To: bounds[i+1]}
	}
	return out
}

// rangeWhere returns the WHERE clause of r on v, and sets r's keys in the
// transaction; "" for the whole view.
func (sn *Snapshot) rangeWhere(ctx context.Context, v View, r Range) (string, error) {
	if r == (Range{}) {
		return "", nil
	}
	if !v.ranged {
		return "", fmt.Errorf("%s: %w", v, ErrNotRanged)
	}
	if _, err := sn.tx.Exec(ctx, rangeSetSQL, r.From, r.To); err != nil {
		return "", err
	}
	key := pgx.Identifier{rangeKey}.Sanitize()
	var conds []string
	if r.From != "" {
		conds = append(conds, fmt.Sprintf(rangeFromSQL, key))
	}
	if r.To != "" {
		conds = append(conds, fmt.Sprintf(rangeToSQL, key))
	}
	where := " WHERE " + conds[0]
	if len(conds) == 2 {
		where += " AND " + conds[1]
	}
	return where, nil
}
