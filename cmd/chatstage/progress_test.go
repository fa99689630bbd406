package main

import (
	"bytes"
	"context"
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
	if !strings.Contains(r.stderr, "-: load 1 succeeded: 7 rows read") {
		t.Errorf("no summary line:\n%s", r.stderr)
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

func TestProgressBarLine(t *testing.T) {
	t.Parallel()
	s := snapshot{bytes: 45 << 20, total: 100 << 20, rows: 81234, elapsed: 9 * time.Second}
	got := s.barLine("/data/2025-07-01/source_chat_data.csv")
	want := "…-07-01/source_chat_data.csv [#########...........]  45% 45.0/100.0 MiB  81234 rows  9026 rows/s  ETA 11s"
	if got != want {
		t.Errorf("bar\n got %q\nwant %q", got, want)
	}
	s = snapshot{bytes: 3 << 20, rows: 10, elapsed: time.Second}
	if got, want := s.barLine("-"), "- 3.0 MiB  10 rows  10 rows/s"; got != want {
		t.Errorf("bar without a total\n got %q\nwant %q", got, want)
	}
	s = snapshot{bytes: 3 << 20, rows: 10, elapsed: 61 * time.Second, merging: true}
	if got, want := s.barLine("f.csv"), "f.csv merging 10 rows (3.0 MiB read), 1m1s elapsed"; got != want {
		t.Errorf("bar while merging\n got %q\nwant %q", got, want)
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
	if !strings.HasPrefix(out, "\rf.csv [##########..........]  50%") || !strings.HasSuffix(out, "\r\x1b[K") {
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
