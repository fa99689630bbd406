package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// readMetrics parses a --metrics-file as node_exporter's textfile
// collector does, lints it with client_golang's linter, and returns each
// series as "name{labels}" mapped to its value.
func readMetrics(t *testing.T, path string) map[string]float64 {
	t.Helper()
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(f)
		var out []*dto.MetricFamily
		for _, mf := range mfs {
			out = append(out, mf)
		}
		return out, err
	})
	problems, err := testutil.GatherAndLint(gather)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, p := range problems {
		t.Errorf("%s: lint: %s: %s", path, p.Metric, p.Text)
	}
	mfs, err := gather.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestMetricsFile: ingest, export and report share one --metrics-file;
// each adds its series, a failed ingest keeps the last success time of the
// one before, and a command line that is not understood writes nothing.
func TestMetricsFile(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	dir := t.TempDir()
	prom := filepath.Join(dir, "chatstage.prom")
	if r := runCLI(t, url, nil, "ingest", "--quiet", "--metrics-file", prom, "../../testdata/sample.csv"); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	m := readMetrics(t, prom)
	for series, want := range map[string]float64{
		`chatstage_last_run_rows_read{command=ingest,status=succeeded}`:              100,
		`chatstage_last_run_rows_rejected{command=ingest,status=succeeded}`:          0,
		`chatstage_last_run_rows_suppressed{command=ingest,status=succeeded}`:        0,
		`chatstage_last_run_chats{command=ingest,outcome=inserted,status=succeeded}`: 100,
		`chatstage_last_run_chats{command=ingest,outcome=retired,status=succeeded}`:  0,
		`chatstage_last_run_messages_written{command=ingest,status=succeeded}`:       377,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", series, got, ok, want)
		}
	}
	success := m[`chatstage_last_success_timestamp_seconds{command=ingest}`]
	if success == 0 || success != m[`chatstage_last_run_timestamp_seconds{command=ingest,status=succeeded}`] {
		t.Errorf("last success %v, last run %v", success, m[`chatstage_last_run_timestamp_seconds{command=ingest,status=succeeded}`])
	}

	out := filepath.Join(dir, "out")
	if r := runCLI(t, url, nil, "export", "--quiet", "--format", "csv,parquet", "--metrics-file", prom, "--out", out); r.code != exitOK {
		t.Fatalf("export: exit %d", r.code)
	}
	if r := runCLI(t, url, nil, "report", "--metrics-file", prom, "--out", filepath.Join(dir, "report")); r.code != exitOK {
		t.Fatalf("report: exit %d", r.code)
	}
	if r := runCLI(t, url, nil, "ingest", "--metrics-file", prom, filepath.Join(dir, "missing.csv")); r.code != exitFailure {
		t.Fatalf("ingest of a missing file: exit %d", r.code)
	}
	m = readMetrics(t, prom)
	b, err := os.ReadFile(filepath.Join(out, "messages.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		`chatstage_last_success_timestamp_seconds{command=ingest}`:                             success,
		`chatstage_last_run_rows_read{command=ingest,status=failed}`:                           0,
		`chatstage_last_run_file_rows{command=export,file=chats.csv,status=succeeded}`:         100,
		`chatstage_last_run_file_rows{command=export,file=messages.parquet,status=succeeded}`:  377,
		`chatstage_last_run_file_bytes{command=export,file=messages.parquet,status=succeeded}`: float64(len(b)),
		`chatstage_last_run_file_rows{command=report,file=chat_metrics.csv,status=succeeded}`:  100,
		`chatstage_last_run_file_rows{command=report,file=quality.csv,status=succeeded}`:       1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", series, got, ok, want)
		}
	}
	for series := range m {
		if strings.Contains(series, "command=ingest,status=succeeded") {
			t.Errorf("the succeeded ingest's %s outlived the failed one", series)
		}
	}
	for _, c := range []string{"ingest", "export", "report"} {
		if m[`chatstage_last_success_timestamp_seconds{command=`+c+`}`] == 0 {
			t.Errorf("no last success for %s", c)
		}
		if m[`chatstage_last_run_duration_seconds{command=`+c+`,status=succeeded}`] <= 0 && c != "ingest" {
			t.Errorf("no duration for %s", c)
		}
	}

	before, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ingest", "--metrics-file", prom, "--dry-run", "../../testdata/sample.csv"},
		{"ingest", "--metrics-file", prom},
		{"export", "--metrics-file", prom, "--out", out, "--format", "xml"},
		{"report", "--metrics-file", prom},
	} {
		if r := runCLI(t, url, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, r.code, exitUsage)
		}
	}
	if after, err := os.ReadFile(prom); err != nil || string(after) != string(before) {
		t.Errorf("a command line that was not understood rewrote the metrics (%v)", err)
	}

	// Metrics that cannot be written fail a run that went well.
	r := runCLI(t, url, nil, "report", "--metrics-file", filepath.Join(dir, "no", "such", "dir.prom"), "--out", filepath.Join(dir, "report"))
	if r.code != exitFailure || !strings.Contains(r.stderr, "--metrics-file") {
		t.Errorf("report with an unwritable --metrics-file: exit %d\n%s", r.code, r.stderr)
	}
}
