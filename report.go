package chatstage

import (
	"context"
	"fmt"
	"time"

	"github.com/chatstage/chatstage/internal/deliver"
	"github.com/chatstage/chatstage/store"
)

// ReportResult is what Report wrote and a summary of the data it covers.
type ReportResult struct {
	// Files are chat_metrics.csv and quality.csv, in that order.
	Files []FileInfo `json:"files"`
	// LastLoadID is the greatest succeeded load in the report's snapshot.
	LastLoadID int64 `json:"last_load_id"`
	// ReportedAt is the database's time of the snapshot, in UTC.
	ReportedAt time.Time `json:"reported_at"`
	store.Summary
}

// reportFiles are the files of a report and the view each one copies,
// ordered so that the files are stable for diffs between nights.
var reportFiles = []struct {
	name string
	view store.View
}{
	{"chat_metrics.csv", store.ChatMetricsView},
	{"quality.csv", store.LoadQualityView},
}

// ReportOptions tune Report; the zero value is the default.
type ReportOptions struct{}

// Report writes chat_metrics.csv (analytics.chat_metrics: one row per
// chat) and quality.csv (analytics.load_quality: one row per load) into
// dir, creating dir if needed, and returns a summary. Everything is read
// in one snapshot, so the files and the summary describe the same state;
// the files appear together, as Export's do.
func Report(ctx context.Context, st *store.Store, dir string, _ ReportOptions) (ReportResult, error) {
	var r ReportResult
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		return r, err
	}
	defer sn.Close()
	r.LastLoadID, r.ReportedAt = sn.LastLoadID, sn.TakenAt
	if r.Summary, err = sn.Summary(ctx); err != nil {
		return r, err
	}
	set, err := deliver.Begin(dir, "report")
	if err != nil {
		return r, fmt.Errorf("writing into %s: %w", dir, err)
	}
	defer set.Abort()
	for _, f := range reportFiles {
		info, err := copyView(ctx, sn, set, f.name, f.view)
		if err != nil {
			return r, err
		}
		r.Files = append(r.Files, info)
	}
	sn.Close()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if err := set.Commit(); err != nil {
		return r, fmt.Errorf("writing into %s: %w", dir, err)
	}
	return r, nil
}
