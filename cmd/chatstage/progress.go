package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chatstage/chatstage"
)

// Progress of long work on stderr: a bar redrawn in place when stderr is a
// terminal, a log line every few seconds otherwise (cron, Airflow and CI
// keep stderr in a file, where a bar redrawn with \r is noise).
const (
	progressRedraw   = 200 * time.Millisecond
	progressLogEvery = 5 * time.Second
)

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress reports the ingest of one file until stop is called.
type progress struct {
	name  string
	load  *chatstage.Progress
	start time.Time
	now   func() time.Time

	// Exactly one of bar and logger is set.
	bar    io.Writer
	logger *slog.Logger

	// render returns what report shows: the bar line, or the log message
	// and its attributes. nil means the ingest's (ingestRender).
	render func() (bar, msg string, attrs []any)

	stopOnce sync.Once
	done     chan struct{}
	finished chan struct{}
}

// progressStart starts reporting on e.stderr: a bar when it is a
// terminal, else a log line every e.progressEvery (default 5s). The
// returned stop ends it and erases the bar; it is safe to call twice.
func (e *env) progressStart(name string, load *chatstage.Progress, logger *slog.Logger) (stop func()) {
	p := &progress{name: name, load: load}
	return e.progressRun(p, logger)
}

// exportProgressStart reports the rows an export has written, like
// progressStart does for an ingest.
func (e *env) exportProgressStart(rows *atomic.Int64, logger *slog.Logger) (stop func()) {
	p := &progress{}
	p.render = func() (string, string, []any) {
		n, elapsed := rows.Load(), p.now().Sub(p.start)
		perSecond := snapshot{rows: n, elapsed: elapsed}.rowsPerSecond()
		return fmt.Sprintf("export: %d rows written  %d rows/s  %s elapsed", n, perSecond, elapsed.Round(time.Second)),
			"export progress", []any{"rows_written", n, "rows_per_s", perSecond, "elapsed_seconds", int64(elapsed.Seconds())}
	}
	return e.progressRun(p, logger)
}

func (e *env) progressRun(p *progress, logger *slog.Logger) (stop func()) {
	p.start, p.now = time.Now(), time.Now
	p.done, p.finished = make(chan struct{}), make(chan struct{})
	every := progressRedraw
	if isTerminal(e.stderr) {
		p.bar = e.stderr
	} else {
		p.logger = logger
		every = progressLogEvery
		if e.progressEvery > 0 {
			every = e.progressEvery
		}
	}
	go p.loop(every)
	return p.stop
}

func (p *progress) loop(every time.Duration) {
	defer close(p.finished)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			if p.bar != nil {
				fmt.Fprint(p.bar, "\r\x1b[K") // erase the bar: the summary line goes there
			}
			return
		case <-t.C:
			p.report()
		}
	}
}

func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		<-p.finished
	})
}

// snapshot is one reading of the counters.
type snapshot struct {
	bytes, total, rows int64
	elapsed            time.Duration
	merging            bool
}

func (p *progress) snapshot() snapshot {
	return snapshot{bytes: p.load.Bytes.Load(), total: p.load.Total.Load(), rows: p.load.Rows.Load(),
		elapsed: p.now().Sub(p.start), merging: p.load.Merging.Load()}
}

// report draws the bar, or logs one line; durations are logged as whole
// seconds, which read the same in text and in JSON (slog's JSON would
// write nanoseconds).
func (p *progress) report() {
	render := p.render
	if render == nil {
		render = p.ingestRender
	}
	bar, msg, attrs := render()
	if p.bar != nil {
		fmt.Fprint(p.bar, "\r"+bar+"\x1b[K")
		return
	}
	p.logger.Info(msg, attrs...)
}

// ingestRender shows bytes read, rows, speed and time left.
func (p *progress) ingestRender() (string, string, []any) {
	if w := p.load.Waiting.Load(); w != nil {
		return shortName(p.name, 28) + " " + *w, *w, []any{"file", p.name, "phase", "waiting"}
	}
	s := p.snapshot()
	attrs := []any{"file", p.name, "bytes_read", s.bytes, "rows", s.rows, "rows_per_s", s.rowsPerSecond()}
	if s.merging {
		attrs = append(attrs, "phase", "merging", "elapsed_seconds", int64(s.elapsed.Seconds()))
	} else {
		attrs = append(attrs, "phase", "reading")
		if s.total > 0 {
			attrs = append(attrs, "bytes_total", s.total, "percent", s.percent())
			if eta, ok := s.eta(); ok {
				attrs = append(attrs, "eta_seconds", int64(eta.Seconds()))
			}
		}
	}
	return s.barLine(p.name), "ingest progress", attrs
}

func (s snapshot) rowsPerSecond() int64 {
	if s.elapsed < time.Millisecond {
		return 0
	}
	return int64(float64(s.rows) / s.elapsed.Seconds())
}

func (s snapshot) percent() int {
	if s.total <= 0 {
		return 0
	}
	return int(min(100, s.bytes*100/s.total))
}

// eta extrapolates the time left from the bytes read so far.
func (s snapshot) eta() (time.Duration, bool) {
	if s.total <= 0 || s.bytes <= 0 || s.elapsed <= 0 {
		return 0, false
	}
	left := float64(max(0, s.total-s.bytes)) / float64(s.bytes) * float64(s.elapsed)
	return time.Duration(left).Round(time.Second), true
}

// barLine renders one line of at most about 100 columns:
//
//	day.csv [#########...........]  45% 54.1/120.0 MiB  81234 rows  20308 rows/s  ETA 6s
func (s snapshot) barLine(name string) string {
	name = shortName(name, 28)
	if s.merging {
		return fmt.Sprintf("%s merging %d rows (%s read), %s elapsed", name, s.rows, mib(s.bytes), s.elapsed.Round(time.Second))
	}
	var b strings.Builder
	b.WriteString(name)
	if s.total > 0 {
		const width = 20
		done := width * s.percent() / 100
		fmt.Fprintf(&b, " [%s%s] %3d%% %s/%s", strings.Repeat("#", done), strings.Repeat(".", width-done),
			s.percent(), strings.TrimSuffix(mib(s.bytes), " MiB"), mib(s.total))
	} else {
		fmt.Fprintf(&b, " %s", mib(s.bytes))
	}
	fmt.Fprintf(&b, "  %d rows  %d rows/s", s.rows, s.rowsPerSecond())
	if eta, ok := s.eta(); ok {
		fmt.Fprintf(&b, "  ETA %s", eta)
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// shortName keeps the end of a long path, which names the file.
func shortName(name string, width int) string {
	if utf8.RuneCountInString(name) <= width {
		return name
	}
	r := []rune(name)
	return "…" + string(r[len(r)-width+1:])
}
