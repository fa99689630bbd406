package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// One test per rule of contract section 6 (a chat's whole life), through
// the commands a user runs. TestLifecycleProperty (package chatstage)
// runs random sequences of them; conformance case 10_lifecycle the
// contract's own.

// life is a database and the commands run on it.
type life struct {
	t    *testing.T
	url  string
	conn *pgx.Conn
}

func newLife(t *testing.T) *life {
	url := testURL(t)
	return &life{t: t, url: url, conn: connect(t, url)}
}

// ingest loads rows (chatRow's) with the extra flags; it returns the
// load's record and the command's result.
func (l *life) ingest(flags []string, rows ...string) (store.LoadResult, result) {
	l.t.Helper()
	path := writeSource(l.t, "night.csv", rows...)
	r := runCLI(l.t, l.url, nil, append(append([]string{"ingest", "--json"}, flags...), path)...)
	var res store.LoadResult
	if r.stdout != "" {
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			l.t.Fatalf("ingest --json printed %q: %v", r.stdout, err)
		}
	}
	return res, r
}

func (l *life) mustIngest(flags []string, rows ...string) store.LoadResult {
	l.t.Helper()
	res, r := l.ingest(flags, rows...)
	if r.code != exitOK || res.Status != "succeeded" {
		l.t.Fatalf("ingest: exit %d, %+v\n%s", r.code, res, r.stderr)
	}
	return res
}

func (l *life) forget(args ...string) (store.ForgetResult, result) {
	l.t.Helper()
	r := runCLI(l.t, l.url, nil, append([]string{"forget", "--json"}, args...)...)
	var res store.ForgetResult
	if r.code == exitOK {
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			l.t.Fatalf("forget --json printed %q: %v", r.stdout, err)
		}
	}
	return res, r
}

// export runs export with the flags into a new directory and returns it,
// with its manifest.
func (l *life) export(flags ...string) (string, chatstage.Manifest, result) {
	l.t.Helper()
	dir := filepath.Join(l.t.TempDir(), "out")
	r := runCLI(l.t, l.url, nil, append([]string{"export", "--json", "--out", dir}, flags...)...)
	var m chatstage.Manifest
	if r.code == exitOK {
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			l.t.Fatalf("export --json printed %q: %v", r.stdout, err)
		}
	}
	return dir, m, r
}

func (l *life) mustExport(flags ...string) (string, chatstage.Manifest) {
	l.t.Helper()
	dir, m, r := l.export(flags...)
	if r.code != exitOK {
		l.t.Fatalf("export %v: exit %d\n%s", flags, r.code, r.stderr)
	}
	return dir, m
}

// chats returns the chatIds of dir/chats.csv, in file order.
func chatsIn(t *testing.T, dir string) []string {
	t.Helper()
	recs := readRecords(t, filepath.Join(dir, "chats.csv"))
	col := slices.Index(recs[0], "chatId")
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[col])
	}
	return ids
}

// contentOf returns each chat's message contents in dir/messages.csv.
func contentOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	recs := readRecords(t, filepath.Join(dir, "messages.csv"))
	id, content := slices.Index(recs[0], "chatId"), slices.Index(recs[0], "content")
	out := map[string]string{}
	for _, r := range recs[1:] {
		out[r[id]] += r[content]
	}
	return out
}

func readRecords(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sameFiles(t *testing.T, got, want string, names ...string) {
	t.Helper()
	for _, n := range names {
		exportSameFile(t, filepath.Join(got, n), filepath.Join(want, n))
	}
}

// Rule: history keeps every content. Other content for a kept version
// becomes its content; the earlier content stays in history, replaced by
// that load, and the state after the earlier load is rebuilt exactly.
func TestLifeHistoryKeepsEveryContent(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-02T08:00:00", "first"), chatRow("B", "2025-07-02T08:00:00", "b"))
	after1, _ := l.mustExport()
	l.mustIngest(nil, chatRow("A", "2025-07-02T08:00:00", "second")) // same version, other content
	l.mustIngest(nil, chatRow("A", "2025-07-03T08:00:00", "third"))  // a newer version
	if got := queryStrings(t, l.conn, `
		SELECT load_id || '>' || replaced_by_load || ' ' || (conversation_log::jsonb -> 0 ->> 'content')
		FROM staging.chat_version_history WHERE chat_id = 'A'`); !reflect.DeepEqual(got, []string{"1>2 first"}) {
		t.Errorf("history of A's first version: %q, want the first content, replaced by load 2", got)
	}
	past, m := l.mustExport("--as-of", "1")
	sameFiles(t, past, after1, "chats.csv", "messages.csv")
	if m.AsOf != 1 {
		t.Errorf("manifest as_of %d, want 1", m.AsOf)
	}
	dir2, _ := l.mustExport("--as-of", "2")
	if got := contentOf(t, dir2)["A"]; got != "second" {
		t.Errorf("as of load 2, A holds %q, want second", got)
	}
	// In SQL: each content with the loads it was current between.
	got := queryStrings(t, l.conn, `
		SELECT (conversation_log::jsonb -> 0 ->> 'content') || ' ' || coalesce(valid_from_load::text, '-') || '..' ||
		       coalesce(valid_to_load::text, 'now') || ' ' || (valid_from IS NOT NULL)::text
		FROM analytics.chat_history WHERE chat_id = 'A' ORDER BY content_load_id`)
	if want := []string{"first 1..2 true", "second 2..3 true", "third 3..now true"}; !reflect.DeepEqual(got, want) {
		t.Errorf("analytics.chat_history of A:\n%q\nwant\n%q", got, want)
	}
	// "What did A look like at the time load 2 finished?"
	at := queryStrings(t, l.conn, `
		SELECT conversation_log::jsonb -> 0 ->> 'content' FROM analytics.chat_history h
		WHERE chat_id = 'A' AND valid_from <= (SELECT finished_at FROM staging.loads WHERE load_id = 2)
		  AND (valid_to IS NULL OR valid_to > (SELECT finished_at FROM staging.loads WHERE load_id = 2))`)
	if !reflect.DeepEqual(at, []string{"second"}) {
		t.Errorf("A at the end of load 2: %q, want second", at)
	}
}

// Rule: a full snapshot retires the live chats it does not name: out of
// the deliverables, history kept, counted; visible in SQL.
func TestLifeSnapshotRetires(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-02T08:00:00", "a"), chatRow("B", "2025-07-02T08:00:00", "b"),
		chatRow("C", "2025-07-02T08:00:00", "c"))
	res := l.mustIngest([]string{"--snapshot", "--max-retire", "70%"}, chatRow("A", "2025-07-02T08:00:00", "a"))
	if res.ChatsRetired != 2 || !res.Snapshot {
		t.Errorf("snapshot load: %+v, want 2 chats retired", res)
	}
	dir, _ := l.mustExport()
	if got := chatsIn(t, dir); !reflect.DeepEqual(got, []string{"A"}) {
		t.Errorf("export after the snapshot: %v, want only A", got)
	}
	if got := queryStrings(t, l.conn, `SELECT chat_id || ' ' || retired_by_load FROM staging.chats WHERE retired_by_load IS NOT NULL ORDER BY 1`); !reflect.DeepEqual(got, []string{"B 2", "C 2"}) {
		t.Errorf("retired in staging.chats: %q", got)
	}
	if n := queryInt(t, l.conn, `SELECT count(*) FROM staging.chat_versions WHERE chat_id IN ('B', 'C')`); n != 2 {
		t.Errorf("the retired chats' history: %d versions, want 2 kept", n)
	}
	if n := queryInt(t, l.conn, `SELECT chats_retired FROM analytics.load_quality WHERE load_id = 2`); n != 2 {
		t.Errorf("analytics.load_quality.chats_retired = %d, want 2", n)
	}
	r := runCLI(t, l.url, nil, "status")
	if !strings.Contains(r.stdout, "lifecycle: 2 chats retired") || !strings.Contains(r.stdout, "totals: 1 chat,") {
		t.Errorf("status does not show the retired chats:\n%s", r.stdout)
	}
	r = runCLI(t, l.url, nil, "report", "--out", t.TempDir())
	if out := r.stdout + r.stderr; !strings.Contains(out, "lifecycle: 2 chats retired") || !strings.Contains(out, "chats: 1;") {
		t.Errorf("report does not show the retired chats:\n%s", out)
	}
	// Without --snapshot, absence means nothing.
	if res := l.mustIngest(nil, chatRow("D", "2025-07-02T08:00:00", "d")); res.ChatsRetired != 0 {
		t.Errorf("a plain load retired %d chats", res.ChatsRetired)
	}
	if dir, _ := l.mustExport(); !reflect.DeepEqual(chatsIn(t, dir), []string{"A", "D"}) {
		t.Errorf("after a plain load: %v, want A and D", chatsIn(t, dir))
	}
}

// Rule: a rejected row that is well-formed, with the header's number of
// fields, names its chat: that chat is not retired.
func TestLifeSnapshotRejectedRowNamesItsChat(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-02T08:00:00", "a"), chatRow("B", "2025-07-02T08:00:00", "b"))
	res := l.mustIngest([]string{"--snapshot", "--max-retire", "100%"},
		chatRow("A", "2025-07-02T08:00:00", "a"), chatRow(" B ", "yesterday", "b"))
	if res.RowsRejected != 1 || res.ChatsRetired != 0 {
		t.Errorf("snapshot with B's row rejected: %+v, want 1 rejected and nothing retired", res)
	}
}

// Rule: when a record's chat cannot be known (not well-formed CSV, or
// another number of fields), the snapshot retires nothing, succeeds and
// says why.
func TestLifeSnapshotUnknownChatRetiresNothing(t *testing.T) {
	t.Parallel()
	for name, bad := range map[string]string{
		"field count":     "X,1,2",
		"not well-formed": `X,s"x,t,17,[],{},2025-07-01T08:00:00,2025-07-02T08:00:00,nl,,,,0`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLife(t)
			l.mustIngest(nil, chatRow("A", "2025-07-02T08:00:00", "a"), chatRow("B", "2025-07-02T08:00:00", "b"))
			res, r := l.ingest([]string{"--snapshot", "--max-retire", "100%"}, chatRow("A", "2025-07-02T08:00:00", "a"), bad)
			if r.code != exitOK || res.ChatsRetired != 0 || res.RowsRejected != 1 || !strings.Contains(res.Note, "nothing retired") {
				t.Errorf("exit %d, %+v; want success, nothing retired, a note", r.code, res)
			}
			if !strings.Contains(r.stderr, "nothing retired") {
				t.Errorf("the summary does not say why nothing was retired:\n%s", r.stderr)
			}
			if dir, _ := l.mustExport(); !reflect.DeepEqual(chatsIn(t, dir), []string{"A", "B"}) {
				t.Errorf("export: %v, want A and B", chatsIn(t, dir))
			}
		})
	}
}

// Rule: a snapshot that would retire more than --max-retire (N, or P% of
// the chats live before the load, default 10%; "more than" is strict)
// fails whole: exit 3, nothing written, its counts reported.
func TestLifeSnapshotBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flag string
		ok   bool
	}{
		{"", false}, // 10% of 10 is 1: 3 is more
		{"2", false},
		{"3", true}, // not more than 3
		{"30%", true},
		{"29.99%", false},
		{"30.5%", true},
	}
	for _, tt := range tests {
		t.Run("max-retire="+tt.flag, func(t *testing.T) {
			t.Parallel()
			l := newLife(t)
			var rows []string
			for _, id := range strings.Split("A B C D E F G H I J", " ") {
				rows = append(rows, chatRow(id, "2025-07-02T08:00:00", id))
			}
			l.mustIngest(nil, rows...)
			before, _ := l.mustExport()
			flags := []string{"--snapshot"}
			if tt.flag != "" {
				flags = append(flags, "--max-retire", tt.flag)
			}
			// Names 7 of the 10 (one of them in a rejected row), a new
			// chat K, and a row of an erased chat Z.
			if _, r := l.forget("Z"); r.code != exitOK {
				t.Fatal("forget Z")
			}
			res, r := l.ingest(flags, append(rows[:6:6], chatRow("G", "never", "g"), chatRow("K", "2025-07-02T08:00:00", "k"),
				chatRow("Z", "2025-07-02T08:00:00", "z"))...)
			if tt.ok {
				if r.code != exitOK || res.ChatsRetired != 3 {
					t.Errorf("exit %d, %+v; want success retiring 3", r.code, res)
				}
				return
			}
			if r.code != exitRejectBudget || res.Status != "failed" || res.ChatsRetired != 3 ||
				res.RowsRead != 9 || res.RowsRejected != 1 || res.RowsSuppressed != 1 {
				t.Errorf("exit %d, %+v; want exit 3, failed, 9 read, 1 rejected, 1 suppressed, would retire 3", r.code, res)
			}
			if !strings.Contains(r.stderr, "would retire 3 of 10 live chats") || !strings.Contains(r.stderr, "9 rows read, 1 rejected, 1 suppressed") {
				t.Errorf("the failure does not say what it would have done:\n%s", r.stderr)
			}
			after, _ := l.mustExport()
			sameFiles(t, after, before, "chats.csv", "messages.csv")
			if n := queryInt(t, l.conn, `SELECT count(*) FROM staging.chat_versions WHERE load_id = $1`, res.LoadID); n != 0 {
				t.Errorf("the failed load kept %d versions", n)
			}
		})
	}
}

// Rule: a retired chat is live again only when a later load brings a
// version newer than the one current when it was retired; replays of that
// version (other content included) or older ones leave it retired.
func TestLifeRetiredComesBackOnlyNewer(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-01T08:00:00", "a1"), chatRow("A", "2025-07-02T08:00:00", "a2"),
		chatRow("B", "2025-07-02T08:00:00", "b"))
	l.mustIngest([]string{"--snapshot", "--max-retire", "1"}, chatRow("B", "2025-07-02T08:00:00", "b"))
	for _, row := range []string{
		chatRow("A", "2025-07-02T08:00:00", "a2"),       // the same version
		chatRow("A", "2025-07-02T08:00:00", "a2 again"), // the same version, other content
		chatRow("A", "2025-07-01T08:00:00", "a1"),       // an older one
		chatRow("A", "2025-06-01T08:00:00", "a0"),       // an older one, new
	} {
		l.mustIngest(nil, row)
		if dir, _ := l.mustExport(); slices.Contains(chatsIn(t, dir), "A") {
			t.Fatalf("A came back with %s", row)
		}
	}
	l.mustIngest(nil, chatRow("A", "2025-07-03T08:00:00", "a3"))
	dir, _ := l.mustExport()
	if got := contentOf(t, dir)["A"]; got != "a3" {
		t.Errorf("A after a newer version: %q, want a3, live", got)
	}
	if got := queryStrings(t, l.conn, `SELECT retired_by_load || '..' || revived_by_load FROM staging.retirements WHERE chat_id = 'A'`); !reflect.DeepEqual(got, []string{"2..7"}) {
		t.Errorf("staging.retirements of A: %q, want retired by 2, back with 7", got)
	}
}

// Rule: forget deletes every row of the chats from every table, history
// and rejects included, in one transaction, and records the erasure by
// the id's SHA-256 only, with the rows removed per table.
func TestLifeForgetErasesEverywhere(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	secret := "Ann-Jansen-0612345678"
	l.mustIngest(nil, chatRow(secret, "2025-07-01T08:00:00", "one"), chatRow("B", "2025-07-01T08:00:00", "b"))
	l.mustIngest(nil, chatRow(secret, "2025-07-01T08:00:00", "one, fixed"), chatRow(secret, "2025-07-02T08:00:00", "two"),
		chatRow(secret, "not a time", "bad"))
	l.mustIngest([]string{"--snapshot", "--max-retire", "100%"}, chatRow("B", "2025-07-01T08:00:00", "b"))
	if n := queryInt(t, l.conn, `SELECT count(*) FROM staging.rejects WHERE chat_id = $1`, secret); n != 1 {
		t.Fatalf("setup: %d rejects naming the chat, want 1", n)
	}

	dry, r := l.forget("--dry-run", secret)
	if r.code != exitOK || !dry.DryRun || dry.ChatsErased != 1 || dry.Erasures[0].Versions != 2 {
		t.Errorf("dry run: exit %d %+v", r.code, dry)
	}
	if n := queryInt(t, l.conn, `SELECT count(*) FROM staging.erasures`); n != 0 {
		t.Errorf("a dry run recorded %d erasures", n)
	}

	res, r := l.forget(" "+secret+" ", "never-a-chat", secret)
	if r.code != exitOK || res.ChatsErased != 1 || len(res.Erasures) != 2 {
		t.Fatalf("forget: exit %d %+v", r.code, res)
	}
	e := res.Erasures[0]
	want := store.Erasure{ChatIDSHA256: sha(secret), Existed: true, Versions: 2, VersionHistory: 1, Chats: 1,
		Messages: 1, MessageHistory: 1, Retirements: 1, Rejects: 1}
	if e != want {
		t.Errorf("erasure\n %+v\nwant\n %+v", e, want)
	}
	if res.Erasures[1] != (store.Erasure{ChatIDSHA256: sha("never-a-chat")}) {
		t.Errorf("an id that was no chat: %+v, want recorded, existed false", res.Erasures[1])
	}
	// Nothing of the chat anywhere, its id included: every table of every
	// chatstage schema, as text.
	tables := queryStrings(t, l.conn, `
		SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname IN ('staging', 'chatstage_work') ORDER BY 1`)
	for _, tbl := range tables {
		if n := queryInt(t, l.conn, `SELECT count(*) FROM `+tbl+` t WHERE strpos(t::text, $1) > 0`, secret); n != 0 {
			t.Errorf("%s still holds %d rows with the id", tbl, n)
		}
	}
	if got := queryStrings(t, l.conn, `
		SELECT chat_id_sha256 || ' ' || existed || ' ' || (erased_at IS NOT NULL) || ' ' || versions_removed || ' ' || rejects_removed
		FROM staging.erasures ORDER BY erasure_id`); !reflect.DeepEqual(got,
		[]string{sha(secret) + " true true 2 1", sha("never-a-chat") + " false true 0 0"}) {
		t.Errorf("staging.erasures: %q", got)
	}
	s := runCLI(t, l.url, nil, "status")
	if !strings.Contains(s.stdout, "1 erased") {
		t.Errorf("status does not count the erasure:\n%s", s.stdout)
	}
}

// Rule: the erasure is one transaction: when it fails part way, nothing
// is erased nor recorded.
func TestLifeForgetOneTransaction(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-01T08:00:00", "a"), chatRow("B", "2025-07-01T08:00:00", "b"))
	// The erasure of B cannot be recorded: after A's rows and B's are
	// deleted, the whole transaction fails.
	if _, err := l.conn.Exec(t.Context(), `ALTER TABLE staging.erasures ADD CONSTRAINT not_b CHECK (chat_id_sha256 <> '`+sha("B")+`')`); err != nil {
		t.Fatal(err)
	}
	if _, r := l.forget("A", "B"); r.code != exitFailure || !strings.Contains(r.stderr, "not_b") {
		t.Errorf("forget A B with B refused: exit %d\n%s", r.code, r.stderr)
	}
	if n := queryInt(t, l.conn, `SELECT (SELECT count(*) FROM staging.chats) + (SELECT count(*) FROM staging.erasures)`); n != 2 {
		t.Errorf("after the failed erasure: %d chats and erasures, want the 2 chats and nothing recorded", n)
	}
}

// Rule: from then on, a well-formed row of an erased chat is skipped
// before any other check (rows_suppressed), neither stored nor rejected;
// a malformed record is still a reject. No deliverable shows the chat
// again: current, past or delta.
func TestLifeErasedChatsAreSuppressed(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-01T08:00:00", "a"), chatRow("B", "2025-07-01T08:00:00", "b"))
	if _, r := l.forget("A"); r.code != exitOK {
		t.Fatal("forget")
	}
	res := l.mustIngest(nil, chatRow("A", "2025-07-09T08:00:00", "a again"), chatRow(" A", "never", "bad time, still A"),
		"A,1,2", chatRow("B", "2025-07-01T08:00:00", "b"))
	if res.RowsRead != 4 || res.RowsSuppressed != 2 || res.RowsRejected != 1 || res.ChatsInserted != 0 {
		t.Errorf("load after the erasure: %+v; want 4 read, 2 suppressed, 1 rejected (A,1,2: its chat cannot be known), none inserted", res)
	}
	if n := queryInt(t, l.conn, `SELECT count(*) FROM staging.chat_versions WHERE chat_id = 'A'`); n != 0 {
		t.Errorf("%d versions of A stored after its erasure", n)
	}
	for _, flags := range [][]string{nil, {"--as-of", "1"}, {"--since", "1"}} {
		dir, _ := l.mustExport(flags...)
		if slices.Contains(chatsIn(t, dir), "A") {
			t.Errorf("export %v shows the erased chat", flags)
		}
	}
	dir, _ := l.mustExport("--since", "1")
	if got := readRecords(t, filepath.Join(dir, "removed.csv")); !reflect.DeepEqual(got,
		[][]string{{"chatId", "chatId sha256", "reason"}, {"", sha("A"), "erased"}}) {
		t.Errorf("removed.csv since load 1: %q", got)
	}
	if s := runCLI(t, l.url, nil, "status"); !strings.Contains(s.stdout, "1 erased, 2 rows of erased chats suppressed") {
		t.Errorf("status does not count the erased chat and suppressed rows:\n%s", s.stdout)
	}
	if r := runCLI(t, l.url, nil, "report", "--out", t.TempDir()); !strings.Contains(r.stdout+r.stderr, "1 erased, 2 rows of erased chats suppressed") {
		t.Errorf("report does not count the erased chat and suppressed rows:\n%s%s", r.stdout, r.stderr)
	}
}

// Rule: --as-of LOAD writes exactly the files export wrote right after
// LOAD; also by time (the last load committed at or before it); a failed
// or unknown load is refused and nothing is written.
func TestLifeAsOf(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	var after []string
	for i, rows := range [][]string{
		{chatRow("A", "2025-07-01T08:00:00", "a1"), chatRow("B", "2025-07-01T08:00:00", "b1")},
		{chatRow("A", "2025-07-02T08:00:00", "a2"), chatRow("C", "2025-07-01T08:00:00", "c1")},
		{chatRow("B", "2025-07-03T08:00:00", "b3")},
	} {
		flags := []string{}
		if i == 2 {
			flags = []string{"--snapshot", "--max-retire", "100%"}
		}
		l.mustIngest(flags, rows...)
		dir, _ := l.mustExport()
		after = append(after, dir)
	}
	for i, dir := range after {
		past, m := l.mustExport("--as-of", string(rune('1'+i)))
		sameFiles(t, past, dir, "chats.csv", "messages.csv")
		if m.AsOf != int64(i+1) || m.LastLoadID != int64(i+1) {
			t.Errorf("manifest of --as-of %d: %+v", i+1, m)
		}
	}
	// By time: the end of load 2, and a moment after it.
	var end time.Time
	if err := l.conn.QueryRow(t.Context(), `SELECT finished_at FROM staging.loads WHERE load_id = 2`).Scan(&end); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{end, end.Add(time.Microsecond)} {
		past, m := l.mustExport("--as-of", at.UTC().Format(time.RFC3339Nano))
		sameFiles(t, past, after[1], "chats.csv", "messages.csv")
		if m.AsOf != 2 {
			t.Errorf("--as-of %s: load %d, want 2", at, m.AsOf)
		}
	}
	// Refused: a load that failed, one that does not exist, a time before
	// any load. Nothing is written.
	if _, r := l.ingest([]string{"--snapshot", "--max-retire", "0"}, chatRow("A", "2025-07-02T08:00:00", "a2")); r.code != exitRejectBudget {
		t.Fatalf("setup: the failing load exited %d", r.code)
	}
	for _, flag := range []string{"4", "99", "2000-01-01"} {
		dir, _, r := l.export("--as-of", flag)
		if r.code != exitFailure || !strings.Contains(r.stderr, "--as-of") && !strings.Contains(r.stderr, "load") {
			t.Errorf("--as-of %s: exit %d\n%s", flag, r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "chats.csv")); err == nil {
			t.Errorf("--as-of %s wrote chats.csv", flag)
		}
	}
	if _, _, r := l.export("--as-of", "yesterday"); r.code != exitUsage {
		t.Errorf("--as-of yesterday: exit %d, want usage", r.code)
	}
}

// Rule: --since LOAD writes the live chats whose rows differ from those
// of --as-of LOAD (new, updated, made live again) with all their
// messages, and removed.csv (retired since, erased since, ordered by the
// hash); the manifest names since and through; --since auto goes on from
// the export already in the directory.
func TestLifeSince(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-01T08:00:00", "a1"), chatRow("B", "2025-07-01T08:00:00", "b1"),
		chatRow("C", "2025-07-01T08:00:00", "c1"), chatRow("D", "2025-07-01T08:00:00", "d1"))
	nightly := filepath.Join(t.TempDir(), "nightly")
	if r := runCLI(t, l.url, nil, "export", "--out", nightly, "--since", "auto"); r.code != exitFailure || !strings.Contains(r.stderr, "export it in full once") {
		t.Errorf("--since auto without an earlier export: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, l.url, nil, "export", "--out", nightly); r.code != exitOK {
		t.Fatal("full export")
	}
	// Load 2: A updated, E new, D retired (snapshot), B unchanged; C is
	// named by a rejected row.
	l.mustIngest([]string{"--snapshot", "--max-retire", "100%"}, chatRow("A", "2025-07-02T08:00:00", "a2"),
		chatRow("B", "2025-07-01T08:00:00", "b1"), chatRow("C", "bad", "c"), chatRow("E", "2025-07-01T08:00:00", "e1"))
	l.forget("B")                                                // erased after load 2
	l.mustIngest(nil, chatRow("D", "2025-07-05T08:00:00", "d5")) // D back
	l.mustIngest(nil, chatRow("C", "2025-07-01T08:00:00", "c1")) // replays change nothing
	dir, m := l.mustExport("--since", "1")
	if got := chatsIn(t, dir); !reflect.DeepEqual(got, []string{"A", "D", "E"}) {
		t.Errorf("--since 1 chats: %v, want A (updated), D (other content since), E (new)", got)
	}
	if m.Since != 1 || m.Through != 4 || len(m.Files) != 3 || m.Files[2].Name != "removed.csv" {
		t.Errorf("manifest: %+v", m)
	}
	if got := readRecords(t, filepath.Join(dir, "removed.csv")); !reflect.DeepEqual(got,
		[][]string{{"chatId", "chatId sha256", "reason"}, {"", sha("B"), "erased"}}) {
		t.Errorf("removed.csv since 1: %q", got)
	}
	dir, _ = l.mustExport("--since", "2")
	if got := chatsIn(t, dir); !reflect.DeepEqual(got, []string{"D"}) {
		t.Errorf("--since 2 chats: %v, want D (back)", got)
	}
	// Parquet too: the same rows as the delta's CSV (the Parquet tests
	// read the files back with DuckDB).
	_, pm := l.mustExport("--since", "1", "--format", "csv,parquet")
	var names []string
	for _, f := range pm.Files {
		names = append(names, fmt.Sprintf("%s %d", f.Name, f.Rows))
	}
	if want := []string{"chats.csv 3", "chats.parquet 3", "messages.csv 3", "messages.parquet 3", "removed.csv 1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("--since 1 --format csv,parquet wrote %q, want %q", names, want)
	}
	// Retired since: live after the load, retired now. Ordered by hash.
	l.mustIngest([]string{"--snapshot", "--max-retire", "100%"}, chatRow("D", "2025-07-05T08:00:00", "d5"))
	dir, _ = l.mustExport("--since", "4")
	want := [][]string{{"", "", ""}}
	for _, id := range []string{"A", "C", "E"} {
		want = append(want, []string{id, sha(id), "retired"})
	}
	slices.SortFunc(want[1:], func(a, b []string) int { return strings.Compare(a[1], b[1]) })
	want[0] = []string{"chatId", "chatId sha256", "reason"}
	if got := readRecords(t, filepath.Join(dir, "removed.csv")); !reflect.DeepEqual(got, want) {
		t.Errorf("removed.csv since 4:\n%q\nwant\n%q", got, want)
	}
	if got := chatsIn(t, dir); len(got) != 0 {
		t.Errorf("--since 4 chats: %v, want none", got)
	}
	// --since auto: from the full export's load on, then from the delta's.
	r := runCLI(t, l.url, nil, "export", "--json", "--out", nightly, "--since", "auto")
	var am chatstage.Manifest
	if err := json.Unmarshal([]byte(r.stdout), &am); r.code != exitOK || err != nil || am.Since != 1 || am.Through != 5 {
		t.Errorf("--since auto after the full export: exit %d %+v %v", r.code, am, err)
	}
	r = runCLI(t, l.url, nil, "export", "--json", "--out", nightly, "--since", "auto")
	if err := json.Unmarshal([]byte(r.stdout), &am); r.code != exitOK || err != nil || am.Since != 5 || am.Through != 5 {
		t.Errorf("--since auto again: exit %d %+v %v", r.code, am, err)
	}
	// A failed or unknown load is refused.
	if _, r := l.ingest([]string{"--snapshot", "--max-retire", "0"}, chatRow("X", "2025-07-02T08:00:00", "x")); r.code != exitRejectBudget {
		t.Fatal("setup: the failing load")
	}
	for _, flag := range []string{"6", "99"} {
		if _, _, r := l.export("--since", flag); r.code != exitFailure {
			t.Errorf("--since %s: exit %d, want 1", flag, r.code)
		}
	}
	if _, _, r := l.export("--since", "1", "--as-of", "1"); r.code != exitUsage {
		t.Errorf("--since with --as-of: exit %d, want usage", r.code)
	}
}

// TestIngestSaysWhomItWaitsFor: a load that has to wait for another says
// which, when it started and its server process, then goes on when it
// ends (issue 14, item 5).
func TestIngestSaysWhomItWaitsFor(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	first, err := st.LoadBegin(t.Context(), store.LoadParams{Source: "first.csv", Header: "chat_id,updated_at,conversation_log"})
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	var started time.Time
	conn := connect(t, url)
	if err := conn.QueryRow(t.Context(), `
		SELECT l.pid, s.started_at FROM pg_locks l, staging.loads s
		WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.objid = 1 AND s.load_id = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid, &started); err != nil {
		t.Fatal(err)
	}
	path := writeSource(t, "second.csv", chatRow("A", "2025-07-01T08:00:00", "a"))
	done := make(chan result, 1)
	go func() { done <- runIngestEnv(t, url, nil, 10*time.Millisecond, path) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if queryInt(t, conn, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second ingest never waited")
		}
	}
	time.Sleep(100 * time.Millisecond) // a few progress lines
	first.Close()
	r := <-done
	want := fmt.Sprintf("waiting for load 1 (started %s, pid %d) to finish", started.Local().Format("15:04"), pid)
	if r.code != exitOK || strings.Count(r.stderr, want) < 2 {
		t.Errorf("exit %d; want %q in the log and in progress lines:\n%s", r.code, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "load 2 succeeded") {
		t.Errorf("the second load did not go on:\n%s", r.stderr)
	}
}

// TestForgetCommandLine: ids from arguments, a file or standard input;
// mistakes are usage errors; the output never holds an id.
func TestForgetCommandLine(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("person-A", "2025-07-01T08:00:00", "a"), chatRow("B", "2025-07-01T08:00:00", "b"),
		chatRow("C", "2025-07-01T08:00:00", "c"))
	list := filepath.Join(t.TempDir(), "request.txt")
	if err := os.WriteFile(list, []byte("person-A\r\n\n  B  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, l.url, nil, "forget", "--from", list)
	if r.code != exitOK || !strings.Contains(r.stderr, "erased 2 of 2") || strings.Contains(r.stderr+r.stdout, "person-A") {
		t.Errorf("forget --from: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, l.url, strings.NewReader("C\n"), "forget", "--dry-run", "--from", "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "would erase 1 of 1") || !strings.Contains(r.stdout, "nothing was removed") {
		t.Errorf("forget --dry-run --from -: exit %d\n%s", r.code, r.stdout)
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, []byte("\n \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"forget"}, exitUsage, "no CHAT_ID"},
		{[]string{"forget", "--from", list, "C"}, exitUsage, "not both"},
		{[]string{"forget", "--from", empty}, exitFailure, "holds no chat id"},
		{[]string{"forget", "--from", filepath.Join(t.TempDir(), "missing.txt")}, exitFailure, "missing.txt"},
		{[]string{"forget", " "}, exitFailure, "empty"},
	} {
		r := runCLI(t, l.url, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.says) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s", tt.args, r.code, tt.code, tt.says, r.stderr)
		}
	}
	if dir, _ := l.mustExport(); !reflect.DeepEqual(chatsIn(t, dir), []string{"C"}) {
		t.Errorf("after the erasures: %v, want C only", chatsIn(t, dir))
	}
}
