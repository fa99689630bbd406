package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RejectBudget is how many rejected rows a load may have: a count, or a
// percentage of the rows read. The zero value allows any number.
type RejectBudget struct {
	Max     int64   // rows; used when Percent is 0
	Percent float64 // of rows read
	set     bool
}

// ParseRejectBudget reads "N" or "P%".
func ParseRejectBudget(s string) (RejectBudget, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return RejectBudget{}, fmt.Errorf("reject budget %q: want a percentage between 0%% and 100%%", s)
		}
		return RejectBudget{Percent: v, set: true}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return RejectBudget{}, fmt.Errorf("reject budget %q: want a row count or a percentage like 1%%", s)
	}
	return RejectBudget{Max: v, set: true}, nil
}

func (b RejectBudget) String() string {
	if b.Percent > 0 {
		return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(b.Max, 10)
}

func (b RejectBudget) exceeded(rejected, read int64) bool {
	switch {
	case !b.set:
		return false
	case b.Percent > 0:
		return float64(rejected) > b.Percent/100*float64(read)
	default:
		return rejected > b.Max
	}
}

const loadOverBudgetSQL = `
UPDATE staging.loads SET status = 'failed', finished_at = $7, error = $2,
    size_bytes = $3, sha256 = $4, rows_read = $5, rows_rejected = $6, rows_suppressed = $8
WHERE load_id = $1`

// overBudget keeps the rejects and the failed load record, and nothing of
// the rows: the merge never runs.
func (l *Load) overBudget(ctx context.Context, res LoadResult) (LoadResult, error) {
	res.Status = "failed"
	res.Error = fmt.Sprintf("%d of %d rows rejected, over the budget of %s; no row was loaded, the rejects are kept",
		res.RowsRejected, res.RowsRead, l.p.RejectBudget)
	if err := l.storeRejects(ctx); err != nil {
		return res, err
	}
	if _, err := l.tx.Exec(ctx, loadOverBudgetSQL, l.id, storable(res.Error), res.SizeBytes, res.SHA256,
		res.RowsRead, res.RowsRejected, time.Now(), res.RowsSuppressed); err != nil {
		return res, l.s.translate(err, l.step("recording failure"))
	}
	if err := l.commit(ctx); err != nil {
		return res, err
	}
	return res, fmt.Errorf("%w: %s", ErrRejectBudget, res.Error)
}
