package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/testnote"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// sharedDir is where the contract's own material (its conformance cases
// and real sample) is: $CHATSTAGE_SHARED_DIR, else the folder "shared"
// beside the repository.
func sharedDir() string {
	if d := os.Getenv("CHATSTAGE_SHARED_DIR"); d != "" {
		return d
	}
	return "../../../shared"
}

// needShared returns the path of rel in the shared folder, or skips the
// test, with the same line for every test, which scripts/test.sh shows
// once with their number.
func needShared(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir(), rel)
	if _, err := os.Stat(p); err != nil {
		dir, _ := filepath.Abs(sharedDir())
		testnote.Skipf(t, "SKIPPED: the conformance tests: the contract's shared folder is absent (%s, the folder "+
			"\"shared\" beside the repository; set CHATSTAGE_SHARED_DIR to its path)", dir)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs one chatstage command line in-process against databaseURL.
func runCLI(t *testing.T, databaseURL string, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	e := &env{stdin: stdin, stdout: &out, stderr: &errb, getenv: func(name string) string {
		if name == "CHATSTAGE_DATABASE_URL" {
			return databaseURL
		}
		return ""
	}}
	code := e.run(context.Background(), args)
	t.Logf("chatstage %s -> %d\n%s", strings.Join(args, " "), code, errb.String())
	return result{code, out.String(), errb.String()}
}

// ingestJSON ingests files with --json and decodes one Load per file.
func ingestJSON(t *testing.T, url string, files ...string) ([]store.LoadResult, result) {
	t.Helper()
	r := runCLI(t, url, nil, append([]string{"ingest", "--json"}, files...)...)
	var loads []store.LoadResult
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var l store.LoadResult
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("decoding --json output %q: %v", r.stdout, err)
		}
		loads = append(loads, l)
	}
	return loads, r
}

// writeSource writes a source file with the standard header and rows.
func writeSource(t *testing.T, name string, rows ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	text := "chat_id,slug,token,organization_id,conversation_log,structured_info,created_at,updated_at,language,is_test_chat,sentiment,resolution,message_count\n" +
		strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// chatRow builds a source row with one assistant message whose content
// tells versions apart.
func chatRow(chatID, updatedAt, content string) string {
	return chatID + ",s-" + chatID + ",t-" + chatID + `,17,"[{""id"": ""` + chatID + `-a"", ""role"": ""assistant"", ""type"": ""default"", ""content"": ""` +
		content + `"", ""disclaimer"": null}]","{""first_name"": ""Ann""}",2025-07-01T08:00:00,` + updatedAt + ",nl,,,,1"
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// queryStrings returns the first column of every row of q, as text.
func queryStrings(t *testing.T, conn *pgx.Conn, q string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func queryInt(t *testing.T, conn *pgx.Conn, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// currentState renders the current chats and their messages as text, to
// compare databases.
func currentState(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	chats := queryStrings(t, conn, `
		SELECT concat_ws('|', chat_id, updated_at::text, slug, facts::text, default_message_id,
		                 is_default_chat::text, quality_flags::text, messages_kept::text)
		FROM staging.chats ORDER BY chat_id COLLATE "C"`)
	msgs := queryStrings(t, conn, `
		SELECT concat_ws('|', chat_id, ordinal::text, message_id, role, type, content, extra::text)
		FROM staging.messages ORDER BY chat_id COLLATE "C", ordinal`)
	return strings.Join(chats, "\n") + "\n--\n" + strings.Join(msgs, "\n")
}

func testURL(t *testing.T) string {
	t.Helper()
	return dbtest.URL(t)
}
