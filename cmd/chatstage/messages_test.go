package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// doubledLoad finds "load 3 ... load 3:" in one line.
var doubledLoad = regexp.MustCompile(`load (\d+)\b.*\bload (\d+):`)

// doubled reports a line that says the same prefix twice ("export:
// export:", "load 3 failed: load 3: ...").
func doubled(line string) bool {
	parts := strings.Split(line, ": ")
	for i := 1; i < len(parts); i++ {
		first, _, _ := strings.Cut(parts[i], " ")
		if parts[i] == parts[i-1] || strings.HasPrefix(parts[i-1], first+" ") && len(first) > 3 {
			return true // "copying rows: copying into ..." too
		}
	}
	m := doubledLoad.FindStringSubmatch(line)
	return m != nil && m[1] == m[2]
}

// TestMessagesSayThingsOnce: the lines that say why something failed
// name each thing once, and counts agree with their nouns ("1 row",
// never "1 rows" or "load(s)").
func TestMessagesSayThingsOnce(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	dir := t.TempDir()
	one := writeSource(t, "one.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"), ",no,id")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("chat_id,updated_at,conversation_log\n" + strings.Repeat("C-9,2025-07-01T08:05:00,[]\n", 5000)))
	zw.Close()
	truncated := filepath.Join(dir, "cut.csv.gz")
	os.WriteFile(truncated, gz.Bytes()[:gz.Len()/2], 0o600)
	refused := filepath.Join(dir, "refused.csv")
	os.WriteFile(refused, []byte("chat_id,slug\n"), 0o600)
	boom := writeSource(t, "boom.csv", chatRow("C-2", "2025-07-01T08:05:00", "b"))

	var lines []string
	run := func(args ...string) result {
		t.Helper()
		r := runCLI(t, url, nil, args...)
		lines = append(lines, strings.Split(strings.TrimSpace(r.stdout+"\n"+r.stderr), "\n")...)
		return r
	}
	if r := run("ingest", one); r.code != exitOK || !strings.Contains(r.stderr, "load 1 succeeded: 2 rows read, 1 rejected, 1 new version; chats 1 inserted, 0 updated, 0 unchanged, 0 stale; 1 message written") {
		t.Errorf("summary of a one-chat load: %q", r.stderr)
	}
	if r := run("ingest", "--dry-run", one); !strings.Contains(r.stdout, "dry run, nothing written: 2 rows read, 1 rejected; would write 0 new versions and 0 messages; chats 0 inserted, 0 updated, 1 unchanged, 0 stale") {
		t.Errorf("dry run: %q", r.stdout)
	}
	if r := run("rejects"); !strings.Contains(r.stdout, "1 reject in 1 load;") {
		t.Errorf("rejects: %q", r.stdout)
	}
	if r := run("status"); !strings.Contains(r.stdout, "totals: 1 chat, 1 version, 1 message, 1 reject (1 open), 1 load") {
		t.Errorf("status: %q", r.stdout)
	}
	if r := run("export", "--quiet", "--out", filepath.Join(dir, "out")); !strings.Contains(r.stderr, "chats.csv 1 row ") {
		t.Errorf("export: %q", r.stderr)
	}
	if r := run("report", "--out", filepath.Join(dir, "report")); !strings.Contains(r.stdout, "chat_metrics.csv: 1 row\n") {
		t.Errorf("report: %q", r.stdout)
	}
	// A load the database fails in the middle: its error is recorded and
	// printed once, after "load N failed".
	conn := connect(t, url)
	// (A CHECK constraint rather than a trigger: Citus refuses triggers on
	// distributed tables.)
	if _, err := conn.Exec(context.Background(), `ALTER TABLE staging.chats ADD CONSTRAINT boom CHECK (chat_id <> 'C-2')`); err != nil {
		t.Fatal(err)
	}
	if r := run("ingest", boom); r.code != exitFailure || !strings.Contains(r.stderr, "load 2 failed: ") ||
		!strings.Contains(r.stderr, "chatstage: ingest "+boom+" (load 2) into ") {
		t.Errorf("a load the database fails: exit %d, %q", r.code, r.stderr)
	}
	run("status")
	run("ingest", truncated)
	run("ingest", refused)
	run("ingest", filepath.Join(dir, "absent.csv"))
	run("export", "--quiet", "--out", "/dev/null/x")
	run("report", "--out", "/dev/null/x")
	run("rejects", "--load", "99")
	for _, line := range lines {
		if doubled(line) || strings.Contains(line, "(s)") || regexp.MustCompile(`\b1 [a-z ]*s\b(read|written|$)`).MatchString(line) {
			t.Errorf("says a thing twice or a wrong plural: %q", line)
		}
	}
}
