package metricsfile

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2025, 7, 1, 2, 0, 0, 0, time.UTC)

func ingestRun(status string, end time.Time) Run {
	return Run{Command: "ingest", Status: status, Start: end.Add(-90 * time.Second), End: end,
		Ingest: &IngestCounts{RowsRead: 100, RowsRejected: 2, ChatsInserted: 90, ChatsUpdated: 5, ChatsUnchanged: 3,
			MessagesWritten: 377}}
}

func exportRun(end time.Time) Run {
	return Run{Command: "export", Status: Succeeded, Start: end.Add(-2 * time.Second), End: end,
		Files: []File{{"chats.csv", 98, 4096}, {"chats.parquet", 98, 2048}}}
}

// fileGatherer gathers the metrics of a written file, as the textfile
// collector reads them.
func fileGatherer(path string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(f)
		if err != nil {
			return nil, err
		}
		var out []*dto.MetricFamily
		for _, name := range slices.Sorted(maps.Keys(mfs)) {
			out = append(out, mfs[name])
		}
		return out, nil
	})
}

// lint fails t on any problem client_golang's linter finds in the file.
func lint(t *testing.T, path string) {
	t.Helper()
	problems, err := testutil.GatherAndLint(fileGatherer(path))
	if err != nil {
		t.Fatalf("reading %s back: %v", path, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s: %s", path, p.Metric, p.Text)
	}
}

func compare(t *testing.T, path, want string) {
	t.Helper()
	if err := testutil.GatherAndCompare(fileGatherer(path), strings.NewReader(want)); err != nil {
		b, _ := os.ReadFile(path)
		t.Errorf("%v\nthe file:\n%s", err, b)
	}
}

const help = `# HELP chatstage_last_success_timestamp_seconds When the command last ended successfully (Unix time); kept across failed runs.
# TYPE chatstage_last_success_timestamp_seconds gauge
# HELP chatstage_last_run_timestamp_seconds When the command's last run ended (Unix time), by its status.
# TYPE chatstage_last_run_timestamp_seconds gauge
# HELP chatstage_last_run_duration_seconds How long the command's last run took.
# TYPE chatstage_last_run_duration_seconds gauge
# HELP chatstage_last_run_rows_read Source records the last ingest read, rejected ones included.
# TYPE chatstage_last_run_rows_read gauge
# HELP chatstage_last_run_rows_rejected Source records the last ingest rejected.
# TYPE chatstage_last_run_rows_rejected gauge
# HELP chatstage_last_run_rows_suppressed Source records the last ingest skipped as erased chats (0 until chatstage erases chats).
# TYPE chatstage_last_run_rows_suppressed gauge
# HELP chatstage_last_run_chats Chats of the last ingest by outcome: inserted, updated, unchanged, stale, retired (retired is 0 until chatstage retires chats).
# TYPE chatstage_last_run_chats gauge
# HELP chatstage_last_run_messages_written Messages the last ingest inserted or rewrote.
# TYPE chatstage_last_run_messages_written gauge
# HELP chatstage_last_run_file_rows Data rows of each file the last export or report wrote (0 for a file of no rows).
# TYPE chatstage_last_run_file_rows gauge
# HELP chatstage_last_run_file_bytes Size of each file the last export or report wrote.
# TYPE chatstage_last_run_file_bytes gauge
`

// TestWriteKeepsLastSuccess: a succeeded ingest, then a failed one, then an
// export into the same file. The failed run replaces the ingest's series
// but keeps its last success time; the export adds its own and keeps the
// ingest's. Every version of the file passes client_golang's linter.
func TestWriteKeepsLastSuccess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chatstage.prom")

	if err := Write(path, ingestRun(Succeeded, t0)); err != nil {
		t.Fatal(err)
	}
	lint(t, path)
	ingestOK := `
chatstage_last_success_timestamp_seconds{command="ingest"} 1.7513352e+09
chatstage_last_run_timestamp_seconds{command="ingest",status="succeeded"} 1.7513352e+09
chatstage_last_run_duration_seconds{command="ingest",status="succeeded"} 90
chatstage_last_run_rows_read{command="ingest",status="succeeded"} 100
chatstage_last_run_rows_rejected{command="ingest",status="succeeded"} 2
chatstage_last_run_rows_suppressed{command="ingest",status="succeeded"} 0
chatstage_last_run_chats{command="ingest",outcome="inserted",status="succeeded"} 90
chatstage_last_run_chats{command="ingest",outcome="updated",status="succeeded"} 5
chatstage_last_run_chats{command="ingest",outcome="unchanged",status="succeeded"} 3
chatstage_last_run_chats{command="ingest",outcome="stale",status="succeeded"} 0
chatstage_last_run_chats{command="ingest",outcome="retired",status="succeeded"} 0
chatstage_last_run_messages_written{command="ingest",status="succeeded"} 377
`
	compare(t, path, help+ingestOK)

	later := t0.Add(24 * time.Hour)
	failed := ingestRun(Failed, later)
	failed.Ingest = &IngestCounts{RowsRead: 7}
	if err := Write(path, failed); err != nil {
		t.Fatal(err)
	}
	lint(t, path)
	ingestFailed := `
chatstage_last_success_timestamp_seconds{command="ingest"} 1.7513352e+09
chatstage_last_run_timestamp_seconds{command="ingest",status="failed"} 1.7514216e+09
chatstage_last_run_duration_seconds{command="ingest",status="failed"} 90
chatstage_last_run_rows_read{command="ingest",status="failed"} 7
chatstage_last_run_rows_rejected{command="ingest",status="failed"} 0
chatstage_last_run_rows_suppressed{command="ingest",status="failed"} 0
chatstage_last_run_chats{command="ingest",outcome="inserted",status="failed"} 0
chatstage_last_run_chats{command="ingest",outcome="updated",status="failed"} 0
chatstage_last_run_chats{command="ingest",outcome="unchanged",status="failed"} 0
chatstage_last_run_chats{command="ingest",outcome="stale",status="failed"} 0
chatstage_last_run_chats{command="ingest",outcome="retired",status="failed"} 0
chatstage_last_run_messages_written{command="ingest",status="failed"} 0
`
	compare(t, path, help+ingestFailed)

	if err := Write(path, exportRun(later.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	lint(t, path)
	compare(t, path, help+ingestFailed+`
chatstage_last_success_timestamp_seconds{command="export"} 1.75142166e+09
chatstage_last_run_timestamp_seconds{command="export",status="succeeded"} 1.75142166e+09
chatstage_last_run_duration_seconds{command="export",status="succeeded"} 2
chatstage_last_run_file_rows{command="export",file="chats.csv",status="succeeded"} 98
chatstage_last_run_file_rows{command="export",file="chats.parquet",status="succeeded"} 98
chatstage_last_run_file_bytes{command="export",file="chats.csv",status="succeeded"} 4096
chatstage_last_run_file_bytes{command="export",file="chats.parquet",status="succeeded"} 2048
`)

	// The next successful ingest moves its last success on.
	if err := Write(path, ingestRun(Succeeded, later.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	lint(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`chatstage_last_success_timestamp_seconds{command="ingest"} 1.7514252e+09`,
		`chatstage_last_success_timestamp_seconds{command="export"} 1.75142166e+09`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("want %s in\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `status="failed"`) {
		t.Errorf("the failed run's series outlived the next run:\n%s", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
		t.Errorf("%d entries beside the file, want the file and its lock: %v", len(entries), entries)
	}
}

// TestFirstRunFailed: with no success ever, there is no last success time
// (the alert's absent() fires), only the failed run.
func TestFirstRunFailed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chatstage.prom")
	if err := os.WriteFile(path, []byte("not { the text format\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, Run{Command: "report", Status: Failed, Start: t0, End: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	lint(t, path)
	compare(t, path, `
# HELP chatstage_last_run_timestamp_seconds When the command's last run ended (Unix time), by its status.
# TYPE chatstage_last_run_timestamp_seconds gauge
chatstage_last_run_timestamp_seconds{command="report",status="failed"} 1.751335201e+09
# HELP chatstage_last_run_duration_seconds How long the command's last run took.
# TYPE chatstage_last_run_duration_seconds gauge
chatstage_last_run_duration_seconds{command="report",status="failed"} 1
`)
}

func TestRegistryRefusesBadRuns(t *testing.T) {
	t.Parallel()
	for _, r := range []Run{{Status: Succeeded}, {Command: "ingest", Status: "ok"}} {
		if _, err := Registry(filepath.Join(t.TempDir(), "x.prom"), r); err == nil {
			t.Errorf("Registry(%+v): no error", r)
		}
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "x.prom"), ingestRun(Succeeded, t0)); err == nil {
		t.Error("Write into a missing directory: no error")
	}
}
