package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage"
	"golang.org/x/term"
)

// Progress of long work on stderr: a bar redrawn in place when stderr is a
// terminal, a log line every few seconds otherwise (cron, Airflow and CI
// keep stderr in a file, where a bar redrawn with \r is noise).
const (
	progressRedraw   = 200 * time.Millisecond
	progressLogEvery = 5 * time.Second
)

// isTerminal reports whether w is a terminal. A character device is not
// enough: /dev/null is one. golang.org/x/term asks the terminal driver,
// as isatty(3) does, on every platform Go runs on.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns the width of the terminal f, read anew at each
// call so that a resized window is fitted at the next redraw.
func terminalWidth(f *os.File) func() int {
	return func() int {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
		return defaultCol
	}
}

// progress reports the ingest of one file until stop is called.
type progress struct {
	name  string
	load  *chatstage.Progress
	start time.Time
	now   func() time.Time

	// Exactly one of bar and logger is set.
	bar    io.Writer
	width  func() int // the bar's terminal's columns
	logger *slog.Logger

	// render returns what report shows: the bar line fitted to width
	// columns, or the log message and its attributes. nil means the
	// ingest's (ingestRender).
	render func(width int) (bar, msg string, attrs []any)

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
	p.render = func(width int) (string, string, []any) {
		n, elapsed := rows.Load(), p.now().Sub(p.start)
		return exportLine(width, n, elapsed), "export progress",
			[]any{"rows_written", n, "rows_per_s", snapshot{rows: n, elapsed: elapsed}.rowsPerSecond(), "elapsed_seconds", int64(elapsed.Seconds())}
	}
	return e.progressRun(p, logger)
}

// exportLine is the export's progress bar: no total is known in advance.
func exportLine(width int, rows int64, elapsed time.Duration) string {
	perSecond := snapshot{rows: rows, elapsed: elapsed}.rowsPerSecond()
	return fitLine(width, "export", -1, []segment{
		{plural(rows, "row", "rows") + " written", 0},
		{thousands(perSecond) + " rows/s", 2},
		{elapsed.Round(time.Second).String() + " elapsed", 1},
	})
}

func (e *env) progressRun(p *progress, logger *slog.Logger) (stop func()) {
	p.start, p.now = time.Now(), time.Now
	p.done, p.finished = make(chan struct{}), make(chan struct{})
	every := progressRedraw
	if isTerminal(e.stderr) {
		p.bar = e.stderr
		p.width = terminalWidth(e.stderr.(*os.File))
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

// report draws the bar, fitted to the terminal's width as it is now, or
// logs one line; durations are logged as whole seconds, which read the
// same in text and in JSON (slog's JSON would write nanoseconds).
func (p *progress) report() {
	render := p.render
	if render == nil {
		render = p.ingestRender
	}
	width := defaultCol
	if p.width != nil {
		width = p.width()
	}
	bar, msg, attrs := render(width)
	if p.bar != nil {
		fmt.Fprint(p.bar, "\r"+bar+"\x1b[K")
		return
	}
	p.logger.Info(msg, attrs...)
}

// ingestRender shows bytes read, rows, speed and time left.
func (p *progress) ingestRender(width int) (string, string, []any) {
	if w := p.load.Waiting.Load(); w != nil {
		return fitLine(width, p.name, -1, []segment{{text: *w}}), *w, []any{"file", p.name, "phase", "waiting"}
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
	return s.barLine(p.name, width), "ingest progress", attrs
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

// eta extrapolates the time left from the bytes read so far, as stored:
// for a gzipped file the compressed bytes, whose total is the file's
// size, as pv does.
func (s snapshot) eta() (time.Duration, bool) {
	if s.total <= 0 || s.bytes <= 0 || s.elapsed <= 0 {
		return 0, false
	}
	left := float64(max(0, s.total-s.bytes)) / float64(s.bytes) * float64(s.elapsed)
	return time.Duration(left).Round(time.Second), true
}

// barLine renders the ingest's line in at most width-1 columns; at 100
// columns and more it holds everything:
//
//	day.csv [######............]  45%  54.1/120.0 MiB  81,234 rows  20,308 rows/s  ETA 6s
//
// Narrower, the rows per second go first, then the rows, then the bytes,
// then the bar; the percent and the time left stay. Without a total (a
// pipe) there is no bar, percent or time left.
func (s snapshot) barLine(name string, width int) string {
	if s.merging {
		return fitLine(width, name, -1, []segment{
			{"merging " + plural(s.rows, "row", "rows"), 0},
			{mib(s.bytes) + " read", 2},
			{s.elapsed.Round(time.Second).String() + " elapsed", 1},
		})
	}
	if s.total <= 0 {
		return fitLine(width, name, -1, []segment{
			{mib(s.bytes), 0},
			{plural(s.rows, "row", "rows"), 1},
			{thousands(s.rowsPerSecond()) + " rows/s", 2},
		})
	}
	segs := []segment{
		{fmt.Sprintf("%3d%%", s.percent()), 0},
		{fmt.Sprintf("%.1f/%s", float64(s.bytes)/(1<<20), mib(s.total)), 2},
		{plural(s.rows, "row", "rows"), 3},
		{thousands(s.rowsPerSecond()) + " rows/s", 4},
	}
	if eta, ok := s.eta(); ok {
		segs = append(segs, segment{"ETA " + eta.String(), 0})
	}
	return fitLine(width, name, float64(s.percent())/100, segs)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
