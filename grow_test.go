package chatstage_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// A newer version of a live chat whose conversation only grew is written
// the direct way (store.Batch.Updates): its version and its new messages
// by COPY, its current row by one UPDATE. Every other row goes through
// the merge. A load under a reject budget merges every row, so it is the
// oracle these tests hold the direct ways to: the same files, loaded into
// two databases, one of them under a budget no file exceeds, must leave
// the same staging tables, history included, the same counts and the
// same deliverables.

// growChat is one chat of a generated file: its version (an hour), its
// messages' contents and its structured_info.
type growChat struct {
	id      string
	version int
	msgs    []string
	info    string
}

func (c growChat) row() string {
	var log strings.Builder
	log.WriteByte('[')
	for i, m := range c.msgs {
		if i > 0 {
			log.WriteString(", ")
		}
		role := "assistant"
		if i%2 == 1 {
			role = "user"
		}
		fmt.Fprintf(&log, `{"id": "%s-%d", "role": "%s", "type": "default", "content": "%s"}`, c.id, i, role, m)
	}
	log.WriteByte(']')
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return fmt.Sprintf("%s,2025-07-01T00:00:00Z,%s,%s,%s\n", c.id, q(fmt.Sprintf("2025-07-%02dT%02d:00:00Z", 1+c.version/24, c.version%24)),
		q(log.String()), q(c.info))
}

const growHeader = "chat_id,created_at,updated_at,conversation_log,structured_info\n"

// twin is two databases that load the same files: one the usual way, one
// under a reject budget, which merges every row.
type twin struct {
	t                   *testing.T
	ctx                 context.Context
	plain, oracle       *store.Store
	plainURL, oracleURL string
	dir                 string
	n                   int
}

func newTwin(t *testing.T) *twin {
	plain, plainURL := dbtest.Store(t)
	oracle, oracleURL := dbtest.Store(t)
	return &twin{t: t, ctx: context.Background(), plain: plain, oracle: oracle,
		plainURL: plainURL, oracleURL: oracleURL, dir: t.TempDir()}
}

// load ingests rows into both databases and checks that they agree; it
// returns the plain load's result.
func (w *twin) load(snapshot bool, rows ...growChat) chatstage.LoadResult {
	w.t.Helper()
	w.n++
	var text strings.Builder
	text.WriteString(growHeader)
	for _, r := range rows {
		text.WriteString(r.row())
	}
	path := filepath.Join(w.dir, fmt.Sprintf("night%d.csv", w.n))
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		w.t.Fatal(err)
	}
	budget, err := store.ParseRejectBudget("100%")
	if err != nil {
		w.t.Fatal(err)
	}
	anyRetire, err := store.ParseRetireBudget("100%")
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := chatstage.Ingest(w.ctx, w.plain, path, chatstage.IngestOptions{Snapshot: snapshot, MaxRetire: anyRetire})
	if err != nil {
		w.t.Fatalf("load %d: %v\n%s", w.n, err, text.String())
	}
	want, err := chatstage.Ingest(w.ctx, w.oracle, path, chatstage.IngestOptions{Snapshot: snapshot, MaxRetire: anyRetire, RejectBudget: budget})
	if err != nil {
		w.t.Fatalf("load %d under a reject budget: %v", w.n, err)
	}
	g, o := got.LoadResult, want.LoadResult
	g.SizeBytes, o.SizeBytes = 0, 0
	if g != o {
		w.t.Errorf("load %d counts:\n  %+v\nmerging every row:\n  %+v\nfile:\n%s", w.n, g, o, text.String())
	}
	if a, b := w.dump(w.plainURL), w.dump(w.oracleURL); a != b {
		w.t.Fatalf("after load %d the staging tables differ from those of a load that merges every row:\n%s\nfile:\n%s",
			w.n, lineDiff(a, b), text.String())
	}
	if a, b := w.export(w.plain), w.export(w.oracle); a != b {
		w.t.Fatalf("after load %d the deliverables differ from those of a load that merges every row:\n%s", w.n, lineDiff(a, b))
	}
	return got
}

// dump renders every row of the staging tables a load writes, history
// included, in a stable order.
func (w *twin) dump(url string) string {
	w.t.Helper()
	conn, err := pgx.Connect(w.ctx, url)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close(w.ctx)
	var out []string
	for _, q := range []string{
		`SELECT 'chat ' || t::text FROM staging.chats t ORDER BY chat_id`,
		`SELECT 'version ' || t::text FROM staging.chat_versions t ORDER BY chat_id, updated_at`,
		`SELECT 'replaced version ' || t::text FROM staging.chat_version_history t ORDER BY chat_id, updated_at, load_id`,
		`SELECT 'message ' || t::text FROM staging.messages t ORDER BY chat_id, ordinal`,
		`SELECT 'replaced message ' || t::text FROM staging.message_history t ORDER BY chat_id, ordinal, load_id`,
		`SELECT 'retirement ' || t::text FROM staging.retirements t ORDER BY chat_id, retired_by_load`,
	} {
		rows, err := conn.Query(w.ctx, q)
		if err != nil {
			w.t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, lines...)
	}
	return strings.Join(out, "\n")
}

func (w *twin) export(st *store.Store) string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), "out")
	if _, err := chatstage.Export(w.ctx, st, dir, chatstage.ExportOptions{}); err != nil {
		w.t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range []string{"chats.csv", "messages.csv"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			w.t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// lineDiff lists the lines of a that b lacks and those of b that a lacks.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	am, bm := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !bm[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !am[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// query returns the first column of q's rows, as text.
func query(t *testing.T, url, q string, args ...any) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestWritesOnlyWhatGrew: a chat whose conversation only grew keeps
// its earlier messages' rows as they are (written by the first load) and
// gets its new ones; a chat whose earlier message changed, or that
// shrank, has the messages it lost in the history; a chat whose messages
// stayed gets none written. Each gives the staging tables and
// deliverables of a load that merges every row.
func TestIngestWritesOnlyWhatGrew(t *testing.T) {
	t.Parallel()
	w := newTwin(t)
	day1 := []growChat{
		{id: "grew", version: 1, msgs: []string{"hello", "a trip"}, info: `{"cities": "Nice"}`},
		{id: "changed", version: 1, msgs: []string{"hello", "a trip", "to Faro"}, info: `{}`},
		{id: "shrank", version: 1, msgs: []string{"hello", "a trip", "to Faro"}, info: `{}`},
		{id: "same", version: 1, msgs: []string{"hello", "a trip"}, info: `{"cities": "Nice"}`},
		{id: "twice", version: 1, msgs: []string{"hello"}, info: `{}`},
		{id: "retired", version: 1, msgs: []string{"hello"}, info: `{}`},
		{id: "empty", version: 1, info: `{}`},
		{id: "legacy", version: 1, msgs: []string{"hello"}, info: `{}`},
	}
	w.load(false, day1...)
	// A snapshot that does not name "retired" retires it.
	var live []growChat
	for _, c := range day1 {
		if c.id != "retired" {
			live = append(live, c)
		}
	}
	if res := w.load(true, live...); res.ChatsRetired != 1 {
		t.Fatalf("the snapshot retired %d chats, want 1", res.ChatsRetired)
	}
	// A chat loaded before migration 00006 has no digest: it takes the
	// general path once, which gives it one.
	for _, url := range []string{w.plainURL, w.oracleURL} {
		query(t, url, `UPDATE staging.chats SET messages_digest = NULL WHERE chat_id = 'legacy' RETURNING chat_id`)
	}
	res := w.load(false,
		growChat{id: "grew", version: 2, msgs: []string{"hello", "a trip", "to Nice", "in May"}, info: `{"cities": "Nice"}`},
		growChat{id: "changed", version: 2, msgs: []string{"hello", "a cruise", "to Faro", "in May"}, info: `{}`},
		growChat{id: "shrank", version: 2, msgs: []string{"hello", "a trip"}, info: `{}`},
		growChat{id: "same", version: 2, msgs: []string{"hello", "a trip"}, info: `{"cities": "Split"}`},
		growChat{id: "twice", version: 2, msgs: []string{"hello", "again"}, info: `{}`},
		growChat{id: "twice", version: 3, msgs: []string{"hello", "again", "and again"}, info: `{}`},
		growChat{id: "retired", version: 2, msgs: []string{"hello", "back"}, info: `{}`},
		growChat{id: "empty", version: 2, msgs: []string{"now"}, info: `{}`},
		growChat{id: "legacy", version: 2, msgs: []string{"hello", "there"}, info: `{}`},
		growChat{id: "new", version: 2, msgs: []string{"hi"}, info: `{}`},
	)
	if res.ChatsUpdated != 8 || res.ChatsInserted != 1 || res.VersionsNew != 10 {
		t.Errorf("counts %+v, want 8 chats updated, 1 inserted, 10 new versions", res.LoadResult)
	}
	// grew 2, changed 2 (a cruise, in May), shrank 0, same 0, twice 1 then
	// 1, retired 1, empty 1, legacy 1, new 1.
	if res.MessagesWritten != 10 {
		t.Errorf("%d messages written, want 10", res.MessagesWritten)
	}
	got := query(t, w.plainURL, `SELECT chat_id || ' ' || ordinal || ' ' || content || ' load ' || load_id FROM staging.messages
		WHERE chat_id IN ('grew', 'changed', 'shrank', 'same') ORDER BY chat_id, ordinal`)
	want := []string{
		"changed 0 hello load 1", "changed 1 a cruise load 3", "changed 2 to Faro load 1", "changed 3 in May load 3",
		"grew 0 hello load 1", "grew 1 a trip load 1", "grew 2 to Nice load 3", "grew 3 in May load 3",
		"same 0 hello load 1", "same 1 a trip load 1",
		"shrank 0 hello load 1", "shrank 1 a trip load 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("staging.messages:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	got = query(t, w.plainURL, `SELECT chat_id || ' ' || ordinal || ' ' || content || ' load ' || load_id || ' until ' || replaced_by_load
		FROM staging.message_history ORDER BY chat_id, ordinal`)
	want = []string{"changed 1 a trip load 1 until 3", "shrank 2 to Faro load 1 until 3"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("staging.message_history:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if got := query(t, w.plainURL, `SELECT chat_id FROM staging.chats WHERE retired_by_load IS NOT NULL OR messages_digest IS NULL`); len(got) > 0 {
		t.Errorf("chats retired or without a digest after the load: %v", got)
	}
}

// TestIngestDirectPathsMatchTheMerge: random nights of chats that grow,
// change an earlier message, shrink, stay, come back with other content
// for the same version or an older version, appear twice in a file, are
// retired by a snapshot and come back, each loaded the usual way and by
// merging every row, give the same staging tables, counts and
// deliverables after every night.
// CHATSTAGE_PROPERTY_SEQUENCES sets how many sequences run (20 unless set).
func TestIngestDirectPathsMatchTheMerge(t *testing.T) {
	t.Parallel()
	n := 20
	if s := os.Getenv("CHATSTAGE_PROPERTY_SEQUENCES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("CHATSTAGE_PROPERTY_SEQUENCES=%q: %v", s, err)
		}
		n = max(1, n/10)
	}
	seed := rand.Uint64()
	if s := os.Getenv("CHATSTAGE_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("%d sequences from seed %d (CHATSTAGE_PROPERTY_SEED=%d repeats them)", n, seed, seed)
	for i := range n {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			w := newTwin(t)
			chats := map[string]growChat{}
			ids := []string{}
			for j := range 4 + rng.IntN(8) {
				ids = append(ids, fmt.Sprintf("C-%d", j))
			}
			word := func() string { return []string{"hi", "Faro", "Nice", "May", "a trip", `x, \"y\"`}[rng.IntN(6)] }
			for range 3 + rng.IntN(5) {
				var rows []growChat
				snapshot := rng.IntN(4) == 0
				for _, id := range ids {
					c, ok := chats[id]
					if !ok {
						c = growChat{id: id, version: 1, info: `{}`}
						for range rng.IntN(4) {
							c.msgs = append(c.msgs, word())
						}
					}
					next := c
					next.msgs = append([]string(nil), c.msgs...)
					switch p := rng.IntN(12); {
					case !ok && rng.IntN(3) == 0:
						continue // not yet
					case !ok:
					case p < 4: // grew
						next.version += 1 + rng.IntN(2)
						for range 1 + rng.IntN(2) {
							next.msgs = append(next.msgs, word())
						}
					case p < 5 && len(next.msgs) > 0: // an earlier message changed
						next.version++
						next.msgs[rng.IntN(len(next.msgs))] += "!"
					case p < 6 && len(next.msgs) > 0: // shrank
						next.version++
						next.msgs = next.msgs[:rng.IntN(len(next.msgs))]
					case p < 7: // the same messages, other facts
						next.version++
						next.info = fmt.Sprintf(`{"cities": "%s"}`, word())
					case p < 8: // the same version, other content
						next.info = fmt.Sprintf(`{"countries": "%s"}`, word())
					case p < 9 && c.version > 1: // an older version, as kept or not
						next.version = rng.IntN(c.version) + 1
						next.msgs = next.msgs[:len(next.msgs)/2]
					case p < 10 && !snapshot:
						continue // absent: retired by a snapshot, else nothing
					}
					rows = append(rows, next)
					if next.version >= c.version {
						chats[id] = next
					}
					if rng.IntN(6) == 0 { // named again, newer and grown, in the same file
						again := chats[id]
						again.version++
						again.msgs = append(append([]string(nil), again.msgs...), word())
						rows = append(rows, again)
						chats[id] = again
					}
				}
				rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
				w.load(snapshot, rows...)
			}
		})
	}
}

// TestSnapshotBudgetCountsDirectUpdates: the chats a snapshot updates the
// direct way were live before it, and count in the base of --max-retire
// (contract section 6: the chats live before the load) although their
// rows are already under the load when it is planned.
func TestSnapshotBudgetCountsDirectUpdates(t *testing.T) {
	t.Parallel()
	w := newTwin(t)
	var day1, day2 []growChat
	for i := range 10 {
		c := growChat{id: fmt.Sprintf("C-%d", i), version: 1, msgs: []string{"hello"}, info: `{}`}
		day1 = append(day1, c)
		if i > 0 { // C-0 is left out: 1 of 10 live chats, 10%
			c.version, c.msgs = 2, []string{"hello", "again"}
			day2 = append(day2, c)
		}
	}
	w.load(false, day1...)
	path := filepath.Join(w.dir, "snapshot.csv")
	var text strings.Builder
	text.WriteString(growHeader)
	for _, c := range day2 {
		text.WriteString(c.row())
	}
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	budget, err := store.ParseRetireBudget("10%")
	if err != nil {
		t.Fatal(err)
	}
	res, err := chatstage.Ingest(w.ctx, w.plain, path, chatstage.IngestOptions{Snapshot: true, MaxRetire: budget})
	if err != nil || res.ChatsRetired != 1 || res.ChatsUpdated != 9 {
		t.Fatalf("a snapshot retiring 1 of 10 live chats under --max-retire 10%%: %v, %+v", err, res.LoadResult)
	}
}
