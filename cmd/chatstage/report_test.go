package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage"
)

func TestReportGolden(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	out := filepath.Join(t.TempDir(), "report")
	r := runCLI(t, url, nil, "report", "--out", out)
	if r.code != exitOK {
		t.Fatalf("report: exit %d", r.code)
	}
	golden(t, "report.txt", strings.ReplaceAll(r.stdout, out, "OUT"))
	for _, name := range []string{"chat_metrics.csv", "quality.csv"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, string(b))
	}
	if names := exportDirNames(t, out); strings.Join(names, " ") != "chat_metrics.csv quality.csv report.html" {
		t.Errorf("report left %v in %s, want the 3 reports and no temporary file", names, out)
	}
	if gens, live := exportGenerations(t, out); len(gens) != 1 || len(live) != 1 || filepath.Base(gens[0]) != live[0] {
		t.Errorf("generations %v, live %v: want the one live generation", gens, live)
	}
}

// TestReportSessionSettings: the files do not depend on the database's or
// the role's TimeZone and DateStyle.
func TestReportSessionSettings(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	conn := connect(t, url)
	var db string
	if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(),
		`ALTER DATABASE "`+db+`" SET TimeZone = 'America/Los_Angeles'; ALTER DATABASE "`+db+`" SET DateStyle = 'SQL, DMY'`); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if r := runCLI(t, url, nil, "report", "--out", out); r.code != exitOK {
		t.Fatalf("report: exit %d", r.code)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "chat_metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "chat_metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("chat_metrics.csv depends on the session settings:\n%s", got)
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	r := runCLI(t, url, nil, "report", "--json", "--out", t.TempDir())
	var rep chatstage.ReportResult
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != exitOK || err != nil {
		t.Fatalf("report --json: exit %d %v\n%s", r.code, err, r.stdout)
	}
	if rep.Chats != 5 || rep.UserSpoke != 3 || rep.Messages != 10 || rep.LastLoadID != 2 ||
		len(rep.Files) != 3 || rep.Files[0].Rows != 5 || rep.Files[1].Rows != 2 || rep.Files[2].Name != "report.html" ||
		rep.Files[2].Bytes == 0 || len(rep.Rejects) != 4 {
		t.Errorf("report --json = %+v", rep)
	}
}

func TestReportEmptyAndUsage(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	out := t.TempDir()
	r := runCLI(t, url, nil, "report", "--out", out)
	if r.code != exitOK || !strings.Contains(r.stdout, "chats: 0; the user spoke in 0 (-)") ||
		!strings.Contains(r.stdout, "quality flags on current chats: none") {
		t.Errorf("report of an empty database: exit %d\n%s", r.code, r.stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "chat_metrics.csv"))
	if err != nil || !strings.HasPrefix(string(b), "chat_id,created_at,") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("chat_metrics.csv of an empty database = %q, %v", b, err)
	}
	if r := runCLI(t, url, nil, "report"); r.code != exitUsage {
		t.Errorf("report without --out: exit %d", r.code)
	}
}

// TestAnalyticsViewsCommented: every view of the analytics schema has a
// comment, as every table and view must.
func TestAnalyticsViewsCommented(t *testing.T) {
	t.Parallel()
	conn := connect(t, testURL(t))
	missing := queryStrings(t, conn, `
		SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'analytics' AND obj_description(c.oid, 'pg_class') IS NULL`)
	if len(missing) > 0 {
		t.Errorf("analytics views without COMMENT ON: %v", missing)
	}
	views := queryStrings(t, conn, `SELECT table_name::text FROM information_schema.views WHERE table_schema = 'analytics' ORDER BY 1`)
	if strings.Join(views, ",") != "chat_history,chat_metrics,daily_quality,data_days,load_quality" {
		t.Errorf("analytics views = %v", views)
	}
}

// TestDailyQuality: the per-day view rolls the loads of a day up.
func TestDailyQuality(t *testing.T) {
	t.Parallel()
	url := goldenDatabase(t)
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `UPDATE staging.loads SET started_at = '2025-07-03 01:00:00+00'`); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, conn, `
		SELECT concat_ws(' ', day, loads, rows_read, rows_rejected, rejects_malformed_csv, rejects_field_count,
		                 versions_flagged, flag_created_at_invalid, flag_text_sanitized)
		FROM analytics.daily_quality`)
	if strings.Join(got, "\n") != "2025-07-03 2 12 4 1 1 5 2 1" {
		t.Errorf("daily_quality = %q", got)
	}
}
