package chatstage

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/htmlreport"
	"github.com/chatstage/chatstage/store"
)

// TestReportData: what the HTML report draws, read from the database of the
// two golden nights (cmd/chatstage/testdata/golden/input), worked out by
// hand from those files.
func TestReportData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	for _, f := range []string{"day1.csv", "day2.csv"} {
		if _, err := Ingest(ctx, st, filepath.Join("cmd/chatstage/testdata/golden/input", f), IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sum, err := sn.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sn.Quality(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := reportData(ReportResult{LastLoadID: sn.LastLoadID, ReportedAt: sn.TakenAt, Summary: sum}, q)

	if d.LastLoadID != 2 || !d.GeneratedAt.Equal(sn.TakenAt) {
		t.Errorf("last load %d at %v", d.LastLoadID, d.GeneratedAt)
	}
	if want := (htmlreport.Totals{Chats: 5, Messages: 10, Rejects: 4, OpenRejects: 4}); d.Totals != want {
		t.Errorf("totals %+v, want %+v", d.Totals, want)
	}
	if len(d.Loads) != 2 {
		t.Fatalf("%d loads", len(d.Loads))
	}
	type counts = []htmlreport.NameCount
	nc := func(pairs ...any) counts {
		var out counts
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, htmlreport.NameCount{Name: pairs[i].(string), Count: int64(pairs[i+1].(int))})
		}
		return out
	}
	type load struct {
		id                                                  int64
		status                                              string
		read, rejected, inserted, updated, unchanged, stale int64
		messages                                            int64
		rejects, flags                                      []htmlreport.NameCount
	}
	want := []load{
		{1, "succeeded", 7, 3, 4, 0, 0, 0, 7,
			nc("chat_id_missing", 1, "field_count", 1, "updated_at_invalid", 1),
			nc("conversation_log_invalid", 1, "created_at_invalid", 1, "is_test_chat_invalid", 1, "message_count_invalid", 1)},
		{2, "succeeded", 5, 1, 1, 1, 1, 1, 3,
			nc("malformed_csv", 1),
			nc("created_at_invalid", 1, "message_count_mismatch", 1, "text_sanitized", 1)},
	}
	for i, w := range want {
		l := d.Loads[i]
		got := load{l.LoadID, l.Status, l.RowsRead, l.RowsRejected, l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale,
			l.MessagesWritten, l.RejectsByReason, l.FlagsByName}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("load %d:\n got %+v\nwant %+v", i+1, got, w)
		}
		if !strings.HasSuffix(l.Source, "day"+string(rune('1'+i))+".csv") || l.FinishedAt == nil || l.FinishedAt.Before(l.StartedAt) ||
			l.RowsSuppressed != 0 || l.ChatsRetired != 0 {
			t.Errorf("load %d: %+v", i+1, l)
		}
	}
	// Versions by their own updated_at: July 1st has C-1, C-2 and C-3 of
	// the first night and the stale C-2 of the second; July 2nd C-4, the
	// new C-1 and C-8.
	day := func(d int) time.Time { return time.Date(2025, 7, d, 0, 0, 0, 0, time.UTC) }
	wantDays := []htmlreport.Day{
		{Day: day(1), Versions: 4, FlagsByName: nc(
			"created_at_invalid", 2, "conversation_log_invalid", 1, "is_test_chat_invalid", 1, "message_count_invalid", 1)},
		{Day: day(2), Versions: 3, FlagsByName: nc("message_count_mismatch", 1, "text_sanitized", 1)},
	}
	if !reflect.DeepEqual(d.Days, wantDays) {
		t.Errorf("days:\n got %+v\nwant %+v", d.Days, wantDays)
	}
	// Current chats: C-1 3 messages, C-2 4 (its second night's row was
	// stale), C-3 0 (not JSON), C-4 1, C-8 2.
	var wantBuckets []htmlreport.Bucket
	for _, b := range nc("0", 1, "1", 1, "2", 1, "3-4", 2, "5-9", 0, "10-19", 0, "20+", 0) {
		wantBuckets = append(wantBuckets, htmlreport.Bucket{Label: b.Name, Count: b.Count})
	}
	if !reflect.DeepEqual(d.MessagesPerChat, wantBuckets) {
		t.Errorf("messages per chat %+v, want %+v", d.MessagesPerChat, wantBuckets)
	}
	wantLangs := nc("en", 2, "de", 1, "fr", 1, "nl", 1)
	if !reflect.DeepEqual(d.ChatsByLanguage, wantLangs) {
		t.Errorf("languages %+v, want %+v", d.ChatsByLanguage, wantLangs)
	}
	// C-2's created_at (yesterday) is invalid: in no hour. C-3's
	// 22:15+02:00 is 20 UTC.
	if want := ([24]int64{0: 1, 8: 1, 13: 1, 20: 1}); d.ChatsByHour != want {
		t.Errorf("hours %v, want %v", d.ChatsByHour, want)
	}
	sn.Close()

	dir := t.TempDir()
	r, err := Report(ctx, st, dir, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 3 || r.Files[2].Name != ReportHTMLName || r.Files[2].Rows != 0 {
		t.Fatalf("files %+v", r.Files)
	}
	page, err := os.ReadFile(filepath.Join(dir, ReportHTMLName))
	if err != nil || int64(len(page)) != r.Files[2].Bytes || !strings.Contains(string(page), "day2.csv") {
		t.Errorf("report.html: %d bytes (%v), manifest says %d", len(page), err, r.Files[2].Bytes)
	}
}

// TestMessageBuckets: every number of messages falls in the one bucket
// its label says.
func TestMessageBuckets(t *testing.T) {
	t.Parallel()
	numbers := []int64{0, 1, 2, 3, 4, 5, 9, 10, 19, 20, 5000}
	want := []string{"0", "1", "2", "3-4", "3-4", "5-9", "5-9", "10-19", "10-19", "20+", "20+"}
	for i, n := range numbers {
		d := reportData(ReportResult{}, store.Quality{MessagesPerChat: []store.Distribution{{Value: n, Chats: 1}}})
		var in []string
		for _, b := range d.MessagesPerChat {
			if b.Count == 1 {
				in = append(in, b.Label)
			}
		}
		if len(in) != 1 || in[0] != want[i] {
			t.Errorf("%d messages in buckets %q, want %q", n, in, want[i])
		}
	}
}
