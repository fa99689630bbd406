// Package metricsfile writes what a chatstage command did as a file in the
// Prometheus text format, for node_exporter's textfile collector: a
// scheduler runs ingest, export and report with --metrics-file, and
// Prometheus alerts on what the files say (docs/operations.md).
//
// The metrics go through client_golang's registry and are written with
// prometheus.WriteToTextfile, which writes a temporary file beside the
// target and renames it over, so the collector never reads half a file.
// Several commands may share one file: a run replaces its own command's
// series and keeps the others'. The time of a command's last success is
// kept across its failed runs, read back from the previous file, because
// an alert on "no successful load in 26 hours" needs it most after
// failures.
//
// It knows nothing of PostgreSQL or of the deliverables: the command
// fills a Run.
package metricsfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The statuses of a run.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Run is what one command did.
type Run struct {
	Command    string // ingest, export or report
	Status     string // Succeeded or Failed
	Start, End time.Time

	// Ingest, summed over the files of the run (a failed file counts what
	// its load record says: the rows read until it failed).
	Ingest *IngestCounts
	// Export and report: the files written. None for a failed run.
	Files []File
}

// IngestCounts are an ingest run's counts.
type IngestCounts struct {
	RowsRead, RowsRejected, RowsSuppressed                                int64
	ChatsInserted, ChatsUpdated, ChatsUnchanged, ChatsStale, ChatsRetired int64
	MessagesWritten                                                       int64
}

// File is one file a run wrote.
type File struct {
	Name        string
	Rows, Bytes int64
}

// family is one metric of the file: its name, help and label names, the
// first of which is always "command".
type family struct {
	name, help string
	labels     []string
	desc       *prometheus.Desc
}

func newFamily(name, help string, labels ...string) *family {
	labels = append([]string{"command"}, labels...)
	return &family{name: name, help: help, labels: labels, desc: prometheus.NewDesc(name, help, labels, nil)}
}

// The metrics, declared once. Every one is a gauge: it says what the last
// run did, not a running total.
var (
	lastSuccess = newFamily("chatstage_last_success_timestamp_seconds",
		"When the command last ended successfully (Unix time); kept across failed runs.")
	lastRun = newFamily("chatstage_last_run_timestamp_seconds",
		"When the command's last run ended (Unix time), by its status.", "status")
	duration = newFamily("chatstage_last_run_duration_seconds",
		"How long the command's last run took.", "status")
	rowsRead = newFamily("chatstage_last_run_rows_read",
		"Source records the last ingest read, rejected ones included.", "status")
	rowsRejected = newFamily("chatstage_last_run_rows_rejected",
		"Source records the last ingest rejected.", "status")
	rowsSuppressed = newFamily("chatstage_last_run_rows_suppressed",
		"Source records the last ingest skipped as erased chats (0 until chatstage erases chats).", "status")
	chats = newFamily("chatstage_last_run_chats",
		"Chats of the last ingest by outcome: inserted, updated, unchanged, stale, retired (retired is 0 until chatstage retires chats).",
		"status", "outcome")
	messages = newFamily("chatstage_last_run_messages_written",
		"Messages the last ingest inserted or rewrote.", "status")
	fileRows = newFamily("chatstage_last_run_file_rows",
		"Data rows of each file the last export or report wrote (0 for a file of no rows).", "status", "file")
	fileBytes = newFamily("chatstage_last_run_file_bytes",
		"Size of each file the last export or report wrote.", "status", "file")

	families = []*family{lastSuccess, lastRun, duration, rowsRead, rowsRejected, rowsSuppressed, chats, messages, fileRows, fileBytes}
)

// sample is one series: a family, its label values in the family's order,
// and its value.
type sample struct {
	f      *family
	labels []string
	value  float64
}

// collector collects a fixed set of samples as constant gauges.
type collector struct{ samples []sample }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range families {
		ch <- f.desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.samples {
		ch <- prometheus.MustNewConstMetric(s.f.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// Registry returns a registry holding the series the file at path should
// hold after r: r's own, the last success of r's command (r's end, or the
// previous file's when r failed), and every other command's series of the
// previous file as they were. A previous file that is missing or not in
// the text format is taken as empty.
func Registry(path string, r Run) (*prometheus.Registry, error) {
	if r.Command == "" || (r.Status != Succeeded && r.Status != Failed) {
		return nil, fmt.Errorf("metricsfile: run of command %q with status %q", r.Command, r.Status)
	}
	c := &collector{samples: previous(path, r)}
	c.samples = append(c.samples, current(r)...)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return reg, nil
}

// Write writes the metrics of r into path (see Registry), atomically and
// durably. A lock on path.lock keeps two commands that share the file
// from losing each other's series.
func Write(path string, r Run) error {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	reg, err := Registry(path, r)
	if err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return err
	}
	// WriteToTextfile renames without syncing: the rename is atomic, and
	// these syncs make the new file survive a crash.
	if err := syncPath(path); err != nil {
		return err
	}
	return syncPath(filepath.Dir(path))
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// current is r's own series.
func current(r Run) []sample {
	var out []sample
	add := func(f *family, v float64, labels ...string) {
		out = append(out, sample{f, append([]string{r.Command}, labels...), v})
	}
	if r.Status == Succeeded {
		add(lastSuccess, unix(r.End))
	}
	add(lastRun, unix(r.End), r.Status)
	add(duration, r.End.Sub(r.Start).Seconds(), r.Status)
	if in := r.Ingest; in != nil {
		add(rowsRead, float64(in.RowsRead), r.Status)
		add(rowsRejected, float64(in.RowsRejected), r.Status)
		add(rowsSuppressed, float64(in.RowsSuppressed), r.Status)
		for _, o := range []struct {
			name string
			n    int64
		}{
			{"inserted", in.ChatsInserted}, {"updated", in.ChatsUpdated}, {"unchanged", in.ChatsUnchanged},
			{"stale", in.ChatsStale}, {"retired", in.ChatsRetired},
		} {
			add(chats, float64(o.n), r.Status, o.name)
		}
		add(messages, float64(in.MessagesWritten), r.Status)
	}
	for _, f := range r.Files {
		add(fileRows, float64(f.Rows), r.Status, f.Name)
		add(fileBytes, float64(f.Bytes), r.Status, f.Name)
	}
	return out
}

// previous is what the file at path holds that r keeps: the other
// commands' series, and r's command's last success when r failed.
func previous(path string, r Run) []sample {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return nil
	}
	var out []sample
	for _, fam := range families {
		mf, ok := mfs[fam.name]
		if !ok || mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels, ok := labelValues(fam, m)
			if !ok {
				continue
			}
			keep := labels[0] != r.Command || (fam == lastSuccess && r.Status == Failed)
			if keep {
				out = append(out, sample{fam, labels, m.GetGauge().GetValue()})
			}
		}
	}
	return out
}

// labelValues returns m's label values in fam's order, or false when m
// does not have exactly fam's labels.
func labelValues(fam *family, m *dto.Metric) ([]string, bool) {
	if len(m.GetLabel()) != len(fam.labels) {
		return nil, false
	}
	out := make([]string, len(fam.labels))
	for _, lp := range m.GetLabel() {
		i := slices.Index(fam.labels, lp.GetName())
		if i < 0 {
			return nil, false
		}
		out[i] = lp.GetValue()
	}
	return out, true
}

func unix(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
