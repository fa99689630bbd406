package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonLines decodes text as one JSON object per line, failing the test on
// a line that is not one.
func jsonLines(t *testing.T, what, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("%s: a line that is not JSON: %q", what, sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestIngestJSONRefused: ingest --json prints an object for a refused
// file too (status refused, the reason), after those of the files before
// it; a dry run says it was one.
func TestIngestJSONRefused(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	good := writeSource(t, "good.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))
	bad := filepath.Join(t.TempDir(), "tabs.csv")
	os.WriteFile(bad, []byte("chat_id\tupdated_at\tconversation_log\n"), 0o600)
	r := runCLI(t, url, nil, "ingest", "--json", good, bad)
	lines := jsonLines(t, "ingest --json", r.stdout)
	if r.code != exitFailure || len(lines) != 2 || lines[0]["status"] != "succeeded" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if l := lines[1]; l["status"] != "refused" || l["source"] != bad || !strings.Contains(l["error"].(string), "tab-separated") || l["load_id"] != nil {
		t.Errorf("the refused file's object: %v", l)
	}
	r = runCLI(t, url, nil, "ingest", "--dry-run", "--json", bad)
	if lines := jsonLines(t, "ingest --dry-run --json", r.stdout); r.code != exitFailure || len(lines) != 1 ||
		lines[0]["status"] != "refused" || lines[0]["dry_run"] != true {
		t.Errorf("dry run of a refused file: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestRejectsJSON: rejects --json prints one object per reject, in load
// and line order, with its load's source; it does not mix with --format
// csv.
func TestRejectsJSON(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	a := writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"), "C-2,,,,[],{},,yesterday,,,,,", ",x,y,,[],{},,2025-07-01T08:05:00,,,,,")
	b := writeSource(t, "b.csv", `C-3,"bad"quote,,,[],{},,2025-07-01T08:05:00,,,,,`)
	if r := runCLI(t, url, nil, "ingest", "--quiet", a, b); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	r := runCLI(t, url, nil, "rejects", "--json")
	lines := jsonLines(t, "rejects --json", r.stdout)
	want := []struct {
		load   float64
		source string
		line   float64
		code   string
	}{{1, a, 3, "updated_at_invalid"}, {1, a, 4, "chat_id_missing"}, {2, b, 2, "malformed_csv"}}
	if r.code != exitOK || len(lines) != len(want) {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	for i, w := range want {
		l := lines[i]
		if l["load_id"] != w.load || l["source"] != w.source || l["line"] != w.line || l["reason_code"] != w.code ||
			l["reason"] == "" || !strings.HasPrefix(l["raw"].(string), "C-") && w.code != "chat_id_missing" {
			t.Errorf("reject %d: %v, want load %v line %v %s", i, l, w.load, w.line, w.code)
		}
	}
	if r := runCLI(t, url, nil, "rejects", "--json", "--load", "2"); len(jsonLines(t, "--load 2", r.stdout)) != 1 {
		t.Errorf("rejects --json --load 2: %q", r.stdout)
	}
	if r := runCLI(t, url, nil, "rejects", "--json", "--format", "csv"); r.code != exitUsage {
		t.Errorf("--json --format csv: exit %d", r.code)
	}
}

// TestLogFormatJSONEveryLine: under --log-format json every line on
// stderr is a JSON record: progress, warnings, the summaries of ingest
// and export, and the error line, which carries the exit code.
func TestLogFormatJSONEveryLine(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	good := writeSource(t, "good.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"), "x,y")
	refused := filepath.Join(t.TempDir(), "refused.csv")
	os.WriteFile(refused, []byte("chat_id,slug\n"), 0o600)
	for _, tt := range []struct {
		args []string
		code int
		want map[string]any // one record holds these
	}{
		{[]string{"ingest", good}, exitOK, map[string]any{"msg": "load succeeded", "level": "INFO"}},
		{[]string{"ingest", "--max-rejects", "0", good}, exitRejectBudget, map[string]any{"msg": "load failed", "level": "ERROR"}},
		{[]string{"ingest", refused}, exitFailure, map[string]any{"level": "ERROR", "exit_code": float64(exitFailure)}},
		{[]string{"export", "--out", t.TempDir()}, exitOK, map[string]any{"msg": "export written", "last_load_id": float64(1)}},
		{[]string{"export", "--out", "/dev/null/x"}, exitFailure, map[string]any{"level": "ERROR", "command": "export"}},
		{[]string{"rejects", "--load", "99"}, exitFailure, map[string]any{"level": "ERROR", "command": "rejects"}},
	} {
		r := runCLI(t, url, nil, append([]string{tt.args[0], "--log-format", "json"}, tt.args[1:]...)...)
		what := strings.Join(tt.args, " ")
		records := jsonLines(t, what, r.stderr)
		if r.code != tt.code || len(records) == 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d", what, r.code, r.stderr, tt.code)
			continue
		}
		found := false
		for _, rec := range records {
			all := true
			for k, v := range tt.want {
				all = all && rec[k] == v
			}
			found = found || all
		}
		if !found {
			t.Errorf("%s: no record with %v in %q", what, tt.want, r.stderr)
		}
	}
}
