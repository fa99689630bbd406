package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RetireBudget is how many live chats a snapshot load may retire: a
// count, or a percentage (decimals allowed) of the chats live before the
// load. The zero value is the default, 10%.
type RetireBudget struct {
	Max     int64
	Percent float64
	set     bool
}

// DefaultRetireBudget is the budget of a snapshot load that names none:
// a file truncated by 90% must not empty the deliverables.
var DefaultRetireBudget = RetireBudget{Percent: 10, set: true}

// ParseRetireBudget reads "N" or "P%".
func ParseRetireBudget(s string) (RetireBudget, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return RetireBudget{}, fmt.Errorf("retire budget %q: want a percentage between 0%% and 100%%", s)
		}
		return RetireBudget{Percent: v, set: true}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return RetireBudget{}, fmt.Errorf("retire budget %q: want a chat count or a percentage like 10%%", s)
	}
	return RetireBudget{Max: v, set: true}, nil
}

func (b RetireBudget) orDefault() RetireBudget {
	if !b.set {
		return DefaultRetireBudget
	}
	return b
}

func (b RetireBudget) String() string {
	b = b.orDefault()
	if b.Max == 0 && b.Percent > 0 {
		return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(b.Max, 10)
}

// exceeded says whether retiring n of base live chats is more than the
// budget allows ("more than" is strict).
func (b RetireBudget) exceeded(n, base int64) bool {
	b = b.orDefault()
	if b.Max == 0 && b.Percent > 0 {
		return float64(n) > b.Percent/100*float64(base)
	}
	return n > b.Max
}

// retirePlan is what a snapshot load would retire, decided before it
// writes anything.
type retirePlan struct {
	unknown int64 // records whose chat cannot be known: then nothing is retired
	would   int64 // live chats the file does not name
	base    int64 // live chats before the load
}

// namedCreateSQL gathers every chat the file names: by a kept row of any
// way, or by a rejected record that is well-formed with the header's
// number of fields (its chat_id field). The direct rows are the chats
// this load created.
const namedCreateSQL = `
INSERT INTO chatstage_load.named (chat_id)
SELECT chat_id FROM chatstage_load.incoming
UNION SELECT chat_id FROM chatstage_load.incoming_keys
UNION SELECT chat_id FROM chatstage_load.known_first
UNION SELECT chat_id FROM chatstage_load.incoming_rejects WHERE chat_id IS NOT NULL
UNION SELECT chat_id FROM staging.chats WHERE load_id = $1`

// retirePlanSQL counts, before the merge: the records whose chat cannot be
// known, the live chats the file does not name, and the live chats.
const retirePlanSQL = `
SELECT (SELECT count(*) FROM chatstage_load.incoming_rejects WHERE reason_code IN ('malformed_csv', 'field_count', 'field_too_large')),
       (SELECT count(*) FROM staging.chats c
        WHERE c.retired_by_load IS NULL AND c.load_id <> $1
          AND NOT EXISTS (SELECT 1 FROM chatstage_load.named n WHERE n.chat_id = c.chat_id)),
       (SELECT count(*) FROM staging.chats WHERE retired_by_load IS NULL AND load_id <> $1)`

// retireSQL retires the live chats the file does not name, and records it.
const retireSQL = `
WITH retired AS (
    UPDATE staging.chats c SET retired_by_load = $1
    WHERE c.retired_by_load IS NULL AND c.load_id <> $1
      AND NOT EXISTS (SELECT 1 FROM chatstage_load.named n WHERE n.chat_id = c.chat_id)
    RETURNING c.chat_id
)
INSERT INTO staging.retirements (chat_id, retired_by_load) SELECT chat_id, $1 FROM retired`

// liveBeforeSQL counts the chats live before the load but those it
// updated the direct way (their rows are already under it, as the new
// chats' are).
const liveBeforeSQL = `SELECT count(*) FROM staging.chats WHERE retired_by_load IS NULL AND load_id <> $1`

// planRetire decides what a snapshot load retires. A nightly snapshot
// usually names every live chat: when the batches counted as many live
// chats named as there were live chats, and no reject could name another,
// it retires nothing, and the set of the chats the file names (a union of
// every row, and a scan of staging.chats against it) is not made.
func (l *Load) planRetire(ctx context.Context) error {
	p := &l.retire
	if l.counts.rejects == 0 {
		if err := l.tx.QueryRow(ctx, liveBeforeSQL, l.id).Scan(&p.base); err != nil {
			return l.s.translate(err, l.step("counting the live chats"))
		}
		// The direct updates were live chats before the load, which
		// their rows, already under this load, no longer say.
		p.base += l.counts.updates
		if l.counts.liveNamed >= p.base {
			return nil
		}
	}
	if _, err := l.tx.Exec(ctx, namedCreateSQL, l.id); err != nil {
		return l.s.translate(err, l.step("gathering the chats the file names"))
	}
	if err := l.tx.QueryRow(ctx, retirePlanSQL, l.id).Scan(&p.unknown, &p.would, &p.base); err != nil {
		return l.s.translate(err, l.step("counting the chats to retire"))
	}
	p.base += l.counts.updates
	return nil
}

func (p retirePlan) note() string {
	if p.unknown == 0 {
		return ""
	}
	return fmt.Sprintf("nothing retired: %d record(s) could not name their chat (not well-formed CSV, another number of fields than the header, or over the field cap)", p.unknown)
}

const loadOverRetireSQL = `
UPDATE staging.loads SET status = 'failed', finished_at = $2, error = $3, snapshot = true,
    size_bytes = $4, sha256 = $5, rows_read = $6, rows_rejected = $7, rows_suppressed = $8, chats_retired = $9
WHERE load_id = $1`

// overRetireBudget fails a snapshot load that would retire too many
// chats: nothing of it is written, and its record says how many.
func (l *Load) overRetireBudget(ctx context.Context, res LoadResult) (LoadResult, error) {
	res.Status, res.ChatsRetired = "failed", l.retire.would
	res.Error = fmt.Sprintf("the snapshot would retire %d of %d live chats, over the budget of %s (--max-retire); nothing was written",
		l.retire.would, l.retire.base, l.p.MaxRetire)
	l.rollback(ctx)
	if _, err := l.s.pool.Exec(ctx, loadOverRetireSQL, l.id, time.Now(), storable(res.Error), res.SizeBytes, res.SHA256,
		res.RowsRead, res.RowsRejected, res.RowsSuppressed, res.ChatsRetired); err != nil {
		return res, l.s.translate(err, l.step("recording failure"))
	}
	return res, fmt.Errorf("%w: %s", ErrRetireBudget, res.Error)
}
