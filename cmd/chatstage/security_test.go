package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatstage/chatstage/internal/dbtest"
)

// docBlock returns the fenced code block after marker in a doc file.
func docBlock(t *testing.T, path, marker string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("%s has no %s block", path, marker)
	}
	_, rest, _ = strings.Cut(rest, "```sql\n")
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestAnalystRoleFromDocs runs the read-only role of docs/security.md as
// written (with unique role names: roles are global to the server) and
// checks what it may read.
func TestAnalystRoleFromDocs(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	if r := runCLI(t, url, nil, "ingest", writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "x"))); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	var b [4]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	analyst, alice := "chatstage_analyst_"+suffix, "alice_"+suffix
	block := "<!-- analyst-role -->"
	if dbtest.OnCitus() {
		block = "<!-- analyst-role-citus -->"
	}
	sql := strings.NewReplacer("chatstage_analyst", analyst, "alice", alice).Replace(docBlock(t, "../../docs/security.md", block))
	conn := connect(t, url)
	ctx := context.Background()
	t.Cleanup(func() {
		c := connect(t, url)
		for _, q := range []string{
			"DROP OWNED BY " + analyst, "DROP ROLE IF EXISTS " + alice, "DROP ROLE IF EXISTS " + analyst,
		} {
			c.Exec(ctx, q)
		}
	})
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("the docs' SQL fails: %v", err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+alice); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM export.chats`); n != 1 {
		t.Errorf("the analyst sees %d chats", n)
	}
	queryInt(t, conn, `SELECT count(*) FROM export.messages`)
	queryInt(t, conn, `SELECT count(*) FROM analytics.chat_metrics`)
	if dbtest.OnCitus() {
		return // the workers check the staging tables' rights: docs/security.md
	}
	_, err := conn.Exec(ctx, `SELECT count(*) FROM staging.chats`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("the analyst reads staging.chats: %v", err)
	}
}

func TestExportEscapeFormulas(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "f.csv",
		`=cmd,s,t,17,"[{""id"": ""m"", ""role"": ""user"", ""content"": ""@SUM(A1)"", ""disclaimer"": null}]","{""first_name"": ""+31 6"", ""pois"": [-1]}",2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,-,,1`)
	if r := runCLI(t, url, nil, "ingest", file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	plain, escaped := t.TempDir(), t.TempDir()
	if r := runCLI(t, url, nil, "export", "--out", plain); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, url, nil, "export", "--escape-formulas", "--out", escaped); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	read := func(dir, name string) string {
		b, err := os.ReadFile(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p, e := read(plain, "messages.csv"), read(escaped, "messages.csv")
	for _, cell := range []string{",=cmd,", ",@SUM(A1),", ",-,"} {
		if !strings.Contains(p, cell) {
			t.Errorf("by default %q is exported as it is:\n%s", cell, p)
		}
		if want := ",'" + cell[1:]; !strings.Contains(e, want) {
			t.Errorf("--escape-formulas: want %q in\n%s", want, e)
		}
	}
	if c := read(escaped, "chats.csv"); !strings.Contains(c, ",'+31 6,") || !strings.Contains(c, ",[-1],") {
		t.Errorf("chats.csv escaped:\n%s", c)
	}
	if strings.Count(strings.SplitN(e, "\n", 2)[0], ",") != 46 {
		t.Errorf("the header must keep 47 columns: %s", strings.SplitN(e, "\n", 2)[0])
	}
	// The manifest says whether the values were changed.
	for dir, want := range map[string]string{plain: `"escape_formulas": false`, escaped: `"escape_formulas": true`} {
		if m := read(dir, "manifest.json"); !strings.Contains(m, want) {
			t.Errorf("%s/manifest.json lacks %s:\n%s", dir, want, m)
		}
	}
}
