package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatstage/chatstage"
)

// slowReader hands out its text in small pieces with a pause before each,
// so an ingest of a small file lasts long enough to report progress.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(p[:min(len(p), 512)])
}

// runIngestEnv runs ingest in-process with a progress interval.
func runIngestEnv(t *testing.T, url string, stdin io.Reader, every time.Duration, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: stdin, stdout: &out, stderr: &errb, progressEvery: every, getenv: func(name string) string {
		if name == "CHATSTAGE_DATABASE_URL" {
			return url
		}
		return ""
	}}
	code := e.run(context.Background(), append([]string{"ingest"}, args...))
	t.Logf("chatstage ingest %s -> %d\n%s", strings.Join(args, " "), code, errb.String())
	return result{code, out.String(), errb.String()}
}

func goldenSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(goldenDay1)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIngestProgressLog: when stderr is not a terminal, progress is a log
// line every interval, in the --log-format asked for.
func TestIngestProgressLog(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	src := &slowReader{r: strings.NewReader(goldenSource(t)), pause: 20 * time.Millisecond}
	r := runIngestEnv(t, url, src, 5*time.Millisecond, "--log-format", "json", "-")
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	var progress []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, `"msg":"ingest progress"`) {
			progress = append(progress, line)
		}
	}
	if len(progress) == 0 {
		t.Fatalf("no progress log line:\n%s", r.stderr)
	}
	for _, want := range []string{`"file":"-"`, `"bytes_read":`, `"rows":`, `"rows_per_s":`, `"phase":"reading"`} {
		if !strings.Contains(progress[0], want) {
			t.Errorf("progress line lacks %s: %s", want, progress[0])
		}
	}
	if strings.Contains(r.stderr, "\r") {
		t.Error("a bar was drawn on a stderr that is not a terminal")
	}
	// The summary is a log record too, under --log-format json.
	if !strings.Contains(r.stderr, `"msg":"load succeeded","file":"-","load":{"load_id":1,"source":"-","status":"succeeded"`) ||
		!strings.Contains(r.stderr, `"rows_read":7,`) {
		t.Errorf("no summary record:\n%s", r.stderr)
	}
}

// TestIngestQuiet: --quiet silences progress and the summary line, not
// --json on stdout.
func TestIngestQuiet(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	src := &slowReader{r: strings.NewReader(goldenSource(t)), pause: 20 * time.Millisecond}
	r := runIngestEnv(t, url, src, 5*time.Millisecond, "--quiet", "--json", "-")
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	if strings.Contains(r.stderr, "progress") || strings.Contains(r.stderr, "succeeded") {
		t.Errorf("--quiet printed:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, `"rows_read":7`) {
		t.Errorf("--json output missing: %q", r.stdout)
	}
}

// TestProgressBarFits: at every width the bar's line fits in width-1
// columns (a line that reaches the last column makes the terminal wrap,
// and each redraw leaves a line), drops what matters least first, and
// cuts a long path at a directory, keeping the file's name. The lines are
// golden: testdata/golden/bar.txt (-update rewrites it).
func TestProgressBarFits(t *testing.T) {
	t.Parallel()
	const long = "/data/incoming/2025-07-01/source_chat_data.csv.gz"
	cases := []struct {
		name string
		s    snapshot
	}{
		{long, snapshot{bytes: 45 << 20, total: 100 << 20, rows: 81234, elapsed: 9 * time.Second}},
		{"night.csv", snapshot{bytes: 3 << 20, total: 4 << 20, rows: 1, elapsed: 2 * time.Second}},
		{"-", snapshot{bytes: 3 << 20, rows: 10, elapsed: time.Second}},
		{long, snapshot{bytes: 3 << 20, rows: 123456, elapsed: 61 * time.Second, merging: true}},
		{"夜の書き出し.csv", snapshot{bytes: 1 << 20, total: 4 << 20, rows: 5, elapsed: time.Second}},
	}
	var b strings.Builder
	for _, width := range []int{20, 40, 60, 80, 100, 120, 160} {
		fmt.Fprintf(&b, "width %d\n", width)
		for _, c := range cases {
			line := c.s.barLine(c.name, width)
			if columns(line) > width-1 {
				t.Errorf("width %d: %d columns: %q", width, columns(line), line)
			}
			fmt.Fprintf(&b, "%s|\n", line)
		}
		line := exportLine(width, 1234567, 75*time.Second)
		if columns(line) > width-1 {
			t.Errorf("width %d: %d columns: %q", width, columns(line), line)
		}
		fmt.Fprintf(&b, "%s|\n", line)
	}
	golden(t, "bar.txt", b.String())
}

// TestProgressRedrawFitsEachWidth: each redraw reads the terminal's width
// again, so a window made narrower is fitted at the next redraw.
func TestProgressRedrawFitsEachWidth(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	c := &chatstage.Progress{}
	c.Bytes.Store(50 << 20)
	c.Total.Store(100 << 20)
	c.Rows.Store(3000)
	widths := []int{120, 50, 30}
	i := 0
	p := &progress{name: "/data/incoming/2025-07-01/source_chat_data.csv", load: c, start: time.Now().Add(-10 * time.Second),
		now: time.Now, bar: &out, width: func() int { i++; return widths[i-1] }}
	for range widths {
		p.report()
	}
	lines := strings.Split(strings.TrimPrefix(out.String(), "\r"), "\x1b[K\r")
	if len(lines) != 3 {
		t.Fatalf("redraws %q", out.String())
	}
	for j, line := range lines {
		line = strings.TrimSuffix(line, "\x1b[K")
		if columns(line) > widths[j]-1 || columns(line) < widths[j]/2 {
			t.Errorf("redraw %d at width %d: %d columns: %q", j+1, widths[j], columns(line), line)
		}
	}
}

func TestShortName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cols int
		want string
	}{
		{"night.csv", 20, "night.csv"},
		{"/data/incoming/2025-07-01/source_chat_data.csv", 45, "…/incoming/2025-07-01/source_chat_data.csv"},
		{"/data/incoming/2025-07-01/source_chat_data.csv", 35, "…/2025-07-01/source_chat_data.csv"},
		{"/data/incoming/2025-07-01/source_chat_data.csv", 25, "…/source_chat_data.csv"},
		{"/data/incoming/2025-07-01/source_chat_data.csv", 15, "source_…ata.csv"},
		{"source_chat_data.csv", 12, "source…a.csv"},
	} {
		if got := shortName(tt.name, tt.cols); got != tt.want || columns(got) > tt.cols {
			t.Errorf("shortName(%q, %d) = %q, want %q", tt.name, tt.cols, got, tt.want)
		}
	}
}

// TestProgressBarOnTerminal drives the bar's loop on a writer as if it
// were a terminal: redrawn with \r, erased at the end.
func TestProgressBarOnTerminal(t *testing.T) {
	t.Parallel()
	var b lockedBuffer
	c := &chatstage.Progress{}
	c.Bytes.Store(50)
	c.Total.Store(100)
	c.Rows.Store(3)
	p := &progress{name: "f.csv", load: c, start: time.Now(), now: time.Now, bar: &b,
		done: make(chan struct{}), finished: make(chan struct{})}
	go p.loop(time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	p.stop()
	p.stop() // twice is fine
	out := b.String()
	if !strings.HasPrefix(out, "\rf.csv [") || !strings.Contains(out, "]  50%  ") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("terminal output %q", out)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	f, err := os.Open("progress.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(&bytes.Buffer{}) || isTerminal(f) {
		t.Error("a buffer or a regular file is not a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is a character device, not a terminal")
	}
}

// TestExportProgressLog: export reports the rows written, like ingest,
// and --quiet silences it.
func TestExportProgressLog(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	if r := runIngestEnv(t, url, strings.NewReader(goldenSource(t)), 0, "--quiet", "-"); r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, progressEvery: time.Microsecond,
			getenv: func(name string) string {
				if name == "CHATSTAGE_DATABASE_URL" {
					return url
				}
				return ""
			}}
		if code := e.run(context.Background(), append([]string{"export", "--out", t.TempDir()}, args...)); code != exitOK {
			t.Fatalf("export exit %d: %s", code, errb.String())
		}
		return errb.String()
	}
	if got := run(); !strings.Contains(got, "export progress") || !strings.Contains(got, "rows_written=") {
		t.Errorf("no export progress line:\n%s", got)
	}
	if got := run("--quiet"); strings.Contains(got, "export progress") {
		t.Errorf("--quiet still shows progress:\n%s", got)
	}
}
