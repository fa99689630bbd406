package chatstage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// exampleStore opens a store on a new database; a program opens its own
// with store.Open(ctx, "postgres://...", store.Options{}) and migrates it
// with st.Migrate(ctx).
func exampleStore() (*store.Store, func()) {
	st, done, err := dbtest.New(context.Background())
	if err != nil {
		panic(err) // no database for the example: see internal/dbtest
	}
	return st, done
}

// Load a nightly file: one load, atomic, its counts in the result.
func ExampleIngest() {
	ctx := context.Background()
	st, done := exampleStore()
	defer done()

	res, err := chatstage.Ingest(ctx, st, "testdata/sample.csv", chatstage.IngestOptions{})
	if err != nil {
		fmt.Println("ingest:", err)
		return
	}
	fmt.Printf("load %d %s: %d rows read, %d rejected, %d chats inserted\n",
		res.LoadID, res.Status, res.RowsRead, res.RowsRejected, res.ChatsInserted)

	// The same file again: every chat unchanged, nothing written.
	res, _ = chatstage.Ingest(ctx, st, "testdata/sample.csv", chatstage.IngestOptions{})
	fmt.Printf("load %d: %d chats unchanged, %d messages written\n", res.LoadID, res.ChatsUnchanged, res.MessagesWritten)
	// Output:
	// load 1 succeeded: 100 rows read, 0 rejected, 100 chats inserted
	// load 2: 100 chats unchanged, 0 messages written
}

// A dry run tells what a load would do, and its first rejects, writing
// nothing.
func ExampleIngest_dryRun() {
	ctx := context.Background()
	st, done := exampleStore()
	defer done()

	res, err := chatstage.Ingest(ctx, st, "cmd/chatstage/testdata/golden/input/day1.csv",
		chatstage.IngestOptions{DryRun: true, SampleRejects: 2})
	if err != nil {
		fmt.Println("dry run:", err)
		return
	}
	fmt.Printf("%s: %d rows, %d rejected, %d chats would be inserted\n", res.Status, res.RowsRead, res.RowsRejected, res.ChatsInserted)
	for _, r := range res.FirstRejects {
		fmt.Printf("line %d: %s\n", r.Line, r.Code)
	}
	// Output:
	// dry_run: 7 rows, 3 rejected, 4 chats would be inserted
	// line 5: chat_id_missing
	// line 6: updated_at_invalid
}

// Write the deliverables of what is loaded.
func ExampleExport() {
	ctx := context.Background()
	st, done := exampleStore()
	defer done()
	if _, err := chatstage.Ingest(ctx, st, "testdata/sample.csv", chatstage.IngestOptions{}); err != nil {
		fmt.Println("ingest:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "deliverables")
	defer os.RemoveAll(dir)

	m, err := chatstage.Export(ctx, st, dir, chatstage.ExportOptions{})
	if err != nil {
		fmt.Println("export:", err)
		return
	}
	for _, f := range m.Files {
		fmt.Printf("%s: %d rows\n", f.Name, f.Rows)
	}
	_, err = os.Stat(filepath.Join(dir, chatstage.ManifestName))
	fmt.Println("manifest written:", err == nil, "last load:", m.LastLoadID)
	// Output:
	// chats.csv: 100 rows
	// messages.csv: 377 rows
	// manifest written: true last load: 1
}

// Write the deliverables as CSV and Parquet from one snapshot.
func ExampleExport_parquet() {
	ctx := context.Background()
	st, done := exampleStore()
	defer done()
	if _, err := chatstage.Ingest(ctx, st, "testdata/sample.csv", chatstage.IngestOptions{}); err != nil {
		fmt.Println("ingest:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "deliverables")
	defer os.RemoveAll(dir)

	formats, _ := chatstage.ParseFormats("csv,parquet")
	m, err := chatstage.Export(ctx, st, dir, chatstage.ExportOptions{Formats: formats})
	if err != nil {
		fmt.Println("export:", err)
		return
	}
	for _, f := range m.Files {
		fmt.Printf("%s: %d rows\n", f.Name, f.Rows)
	}
	// Output:
	// chats.csv: 100 rows
	// chats.parquet: 100 rows
	// messages.csv: 377 rows
	// messages.parquet: 377 rows
}

// Write the metrics files and read the summary.
func ExampleReport() {
	ctx := context.Background()
	st, done := exampleStore()
	defer done()
	if _, err := chatstage.Ingest(ctx, st, "testdata/sample.csv", chatstage.IngestOptions{}); err != nil {
		fmt.Println("ingest:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "report")
	defer os.RemoveAll(dir)

	r, err := chatstage.Report(ctx, st, dir, chatstage.ReportOptions{})
	if err != nil {
		fmt.Println("report:", err)
		return
	}
	for _, f := range r.Files {
		if f.Name == chatstage.ReportHTMLName {
			fmt.Printf("%s: %t\n", f.Name, f.Bytes > 0)
			continue
		}
		fmt.Printf("%s: %d rows\n", f.Name, f.Rows)
	}
	fmt.Printf("%d chats, %d messages\n", r.Chats, r.Messages)
	// Output:
	// chat_metrics.csv: 100 rows
	// quality.csv: 1 rows
	// report.html: true
	// 100 chats, 377 messages
}
