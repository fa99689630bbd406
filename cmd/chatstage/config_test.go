package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/store"
)

// runWithEnv runs a command line in-process with exactly the environment
// vars (NAME=value), as the process would see it.
func runWithEnv(t *testing.T, vars []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		environ: func() []string { return vars },
		getenv: func(name string) string {
			for _, kv := range vars {
				if n, v, _ := strings.Cut(kv, "="); n == name {
					return v
				}
			}
			return ""
		}}
	code := e.run(context.Background(), args)
	t.Logf("chatstage %s -> %d\n%s", strings.Join(args, " "), code, errb.String())
	return result{code, out.String(), errb.String()}
}

// TestNoDatabaseChosenSaysSo: with no --database-url and none of the
// variables, chatstage says once, on stderr, which database libpq's
// defaults give and how to choose another; with any of them, nothing.
func TestNoDatabaseChosenSaysSo(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	target, err := store.TargetOf("")
	if err != nil {
		t.Fatal(err)
	}
	const notice = "no database chosen, so libpq's default "
	// status only reads, whatever database the defaults give.
	r := runWithEnv(t, []string{"HOME=/nonexistent", "LANG=C"}, "status", "--connect-timeout", "0s")
	if strings.Count(r.stderr, notice) != 1 || !strings.Contains(r.stderr, notice+target+" is used; choose one with --database-url or CHATSTAGE_DATABASE_URL") {
		t.Errorf("no database chosen: stderr %q, want one notice naming %s", r.stderr, target)
	}
	r = runWithEnv(t, nil, "status", "--connect-timeout", "0s", "--log-format", "json")
	line, _, _ := strings.Cut(r.stderr, "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] != "WARN" || rec["database"] != target {
		t.Errorf("--log-format json: first line %q (%v), want a JSON warning naming %s", line, err, target)
	}
	for _, vars := range [][]string{
		{"CHATSTAGE_DATABASE_URL=" + url},
		{"DATABASE_URL=" + url},
		{"PGDATABASE=nosuchdb_chosen"},
		{"PGSSLMODE=disable"},
	} {
		r := runWithEnv(t, vars, "status", "--connect-timeout", "0s")
		if strings.Contains(r.stderr, notice) {
			t.Errorf("%v: stderr %q, want no notice", vars, r.stderr)
		}
	}
	if r := runWithEnv(t, nil, "status", "--connect-timeout", "0s", "--database-url", url); r.code != exitOK || strings.Contains(r.stderr, notice) {
		t.Errorf("--database-url: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHelpNamesTheVariables: chatstage --help says where the database
// comes from.
func TestHelpNamesTheVariables(t *testing.T) {
	t.Parallel()
	r := runWithEnv(t, nil, "--help")
	for _, want := range []string{"--database-url", "CHATSTAGE_DATABASE_URL", "DATABASE_URL", "PGHOST", "PGDATABASE", "libpq's defaults"} {
		if r.code != exitOK || !strings.Contains(r.stderr, want) {
			t.Errorf("chatstage --help: exit %d, lacks %q:\n%s", r.code, want, r.stderr)
		}
	}
}
