package chatstage

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/chatstage/chatstage/internal/deliver"
	"github.com/chatstage/chatstage/internal/htmlreport"
	"github.com/chatstage/chatstage/store"
)

// ReportResult is what Report wrote and a summary of the data it covers.
type ReportResult struct {
	// Files are chat_metrics.csv, quality.csv and report.html, in that
	// order.
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

// ReportHTMLName is the HTML page Report writes beside the CSV files.
const ReportHTMLName = "report.html"

// ReportOptions tune Report; the zero value is the default.
type ReportOptions struct{}

// Report writes chat_metrics.csv (analytics.chat_metrics: one row per
// chat), quality.csv (analytics.load_quality: one row per load) and
// report.html (the data quality as one self-contained page of charts,
// internal/htmlreport) into dir, creating dir if needed, and returns a
// summary. Everything is read in one snapshot, so the files and the
// summary describe the same state; the files appear together, as
// Export's do.
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
	q, err := sn.Quality(ctx)
	if err != nil {
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
	info, err := writeHTMLReport(set, reportData(r, q))
	if err != nil {
		return r, err
	}
	r.Files = append(r.Files, info)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if err := set.Commit(); err != nil {
		return r, fmt.Errorf("writing into %s: %w", dir, err)
	}
	return r, nil
}

// writeHTMLReport renders d as report.html, a new file of set.
func writeHTMLReport(set *deliver.Set, d htmlreport.Data) (FileInfo, error) {
	f, err := set.Create(ReportHTMLName)
	if err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", ReportHTMLName, err)
	}
	if err := htmlreport.Render(f, d); err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", ReportHTMLName, err)
	}
	if err := f.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", ReportHTMLName, err)
	}
	return FileInfo{Name: ReportHTMLName, Bytes: f.Bytes(), SHA256: f.SHA256()}, nil
}

// messageBuckets are the bars of the messages-per-chat histogram: the
// least number of messages of each, in order; the last is open-ended.
var messageBuckets = []int64{0, 1, 2, 3, 5, 10, 20}

// reportData is what the HTML report draws, from one snapshot's summary
// and quality.
func reportData(r ReportResult, q store.Quality) htmlreport.Data {
	d := htmlreport.Data{
		GeneratedAt: r.ReportedAt,
		LastLoadID:  r.LastLoadID,
		Totals: htmlreport.Totals{Chats: r.Chats, Messages: r.Messages, Rejects: q.Rejects,
			OpenRejects: r.OpenRejects, Retired: r.Retired, Erased: r.Erased, Suppressed: r.Suppressed},
		ChatsByHour: q.ChatsByHour,
	}
	for _, l := range q.Loads {
		d.Loads = append(d.Loads, htmlreport.Load{
			LoadID: l.LoadID, Source: l.Source, Status: l.Status,
			StartedAt: l.StartedAt, FinishedAt: l.FinishedAt,
			RowsRead: l.RowsRead, RowsRejected: l.RowsRejected, RowsSuppressed: l.RowsSuppressed,
			ChatsInserted: l.ChatsInserted, ChatsUpdated: l.ChatsUpdated,
			ChatsUnchanged: l.ChatsUnchanged, ChatsStale: l.ChatsStale, ChatsRetired: l.ChatsRetired,
			MessagesWritten: l.MessagesWritten,
			RejectsByReason: htmlCounts(l.RejectsByReason),
			FlagsByName:     htmlCounts(l.FlagsByName),
			Error:           l.Error,
		})
	}
	for _, day := range q.Days {
		d.Days = append(d.Days, htmlreport.Day{Day: day.Day, Versions: day.Versions, FlagsByName: htmlCounts(day.FlagsByName)})
	}
	d.MessagesPerChat = make([]htmlreport.Bucket, len(messageBuckets))
	for i, from := range messageBuckets {
		switch {
		case i == len(messageBuckets)-1:
			d.MessagesPerChat[i].Label = strconv.FormatInt(from, 10) + "+"
		case messageBuckets[i+1] == from+1:
			d.MessagesPerChat[i].Label = strconv.FormatInt(from, 10)
		default:
			d.MessagesPerChat[i].Label = fmt.Sprintf("%d-%d", from, messageBuckets[i+1]-1)
		}
	}
	for _, m := range q.MessagesPerChat {
		i := len(messageBuckets) - 1
		for i > 0 && m.Value < messageBuckets[i] {
			i--
		}
		d.MessagesPerChat[i].Count += m.Chats
	}
	d.ChatsByLanguage = htmlCounts(q.ChatsByLanguage)
	return d
}

func htmlCounts(list []store.NameCount) []htmlreport.NameCount {
	out := make([]htmlreport.NameCount, len(list))
	for i, n := range list {
		out[i] = htmlreport.NameCount{Name: n.Name, Count: n.Count}
	}
	return out
}
