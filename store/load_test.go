package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// The store's own tests drive a Load through its handle, without the
// load path of the module root: records are read and shaped one by one,
// looked up and sorted into batches by an exact set of the chats seen.

const testHeader = "chat_id,updated_at,conversation_log"

// source is a file of rows under testHeader.
func source(rows ...string) string { return testHeader + "\n" + strings.Join(rows, "\n") + "\n" }

// row is one source row of chat id at updated_at with one user message.
func row(id, updatedAt, content string) string {
	return id + "," + updatedAt + `,"[{""id"": ""` + id + `-m"", ""role"": ""user"", ""content"": ""` + content + `""}]"`
}

// sliceSource is a store.BatchSource over batches made in advance.
type sliceSource struct {
	batches []*store.Batch
	i       int
	err     error
}

func (s *sliceSource) Next() bool {
	if s.i >= len(s.batches) {
		return false
	}
	s.i++
	return true
}
func (s *sliceSource) Batch() *store.Batch { return s.batches[s.i-1] }
func (s *sliceSource) Err() error          { return s.err }

// loadOpts are the knobs of runLoad.
type loadOpts struct {
	params   store.LoadParams
	batch    int  // records per batch; 0 means all in one
	noDirect bool // sort every new chat's first row as Merged
}

// batches reads and shapes src and sorts its rows as the load path does,
// asking load what it keeps.
func batches(t *testing.T, load *store.Load, src string, o loadOpts) []*store.Batch {
	t.Helper()
	ctx := context.Background()
	rd, err := etl.NewReader(strings.NewReader(src), etl.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sh := etl.NewShaper(nil)
	seen := map[string]bool{}
	var out []*store.Batch
	b := &store.Batch{}
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, b)
			b, n = &store.Batch{}, 0
		}
	}
	for {
		rec, err := rd.Next()
		var rej *etl.Reject
		switch {
		case err == io.EOF:
			flush()
			return out
		case errors.As(err, &rej):
			b.Rejects = append(b.Rejects, *rej)
		case err != nil:
			t.Fatal(err)
		default:
			var norm etl.Normalized
			norm.Of(&rec)
			states, err := load.Lookup(ctx, []etl.Key{norm.Key()})
			if err != nil {
				t.Fatal(err)
			}
			st, first := states[0], !seen[rec.ChatID]
			seen[rec.ChatID] = true
			known := store.Known{Line: rec.Line, Key: norm.Key(), Current: st.Current}
			switch {
			case st.Known && first:
				b.KnownFirst = append(b.KnownFirst, known)
			case st.Known:
				b.KnownAgain = append(b.KnownAgain, known)
			default:
				r, rej := sh.ShapeNormalized(&rec, &norm)
				switch {
				case rej != nil:
					b.Rejects = append(b.Rejects, *rej)
				case !st.ChatExists && first && !o.noDirect:
					b.Direct = append(b.Direct, &r)
				default:
					b.Merged = append(b.Merged, &r)
				}
			}
		}
		if n++; o.batch > 0 && n >= o.batch {
			flush()
		}
	}
}

// runLoad loads src through a Load handle and returns its result.
func runLoad(t *testing.T, st *store.Store, src string, o loadOpts) (store.LoadResult, error) {
	t.Helper()
	ctx := context.Background()
	if o.params.Source == "" {
		o.params.Source, o.params.Header = "test.csv", testHeader
	}
	load, err := st.LoadBegin(ctx, o.params)
	if err != nil {
		t.Fatal(err)
	}
	defer load.Close()
	if err := load.Copy(ctx, &sliceSource{batches: batches(t, load, src, o)}); err != nil {
		t.Fatal(err)
	}
	return load.Commit(ctx, store.SourceInfo{SizeBytes: int64(len(src)), SHA256: []byte{1, 2}})
}

func mustLoad(t *testing.T, st *store.Store, src string, o loadOpts) store.LoadResult {
	t.Helper()
	res, err := runLoad(t, st, src, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// state renders the current chats and their messages, to compare.
func state(t *testing.T, url string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var lines []string
	for _, q := range []string{
		`SELECT chat_id || ' ' || updated_at::text || ' ' || messages_kept FROM staging.chats ORDER BY chat_id`,
		`SELECT chat_id || ' ' || ordinal || ' ' || coalesce(content, '-') FROM staging.messages ORDER BY chat_id, ordinal`,
		`SELECT count(*)::text || ' versions' FROM staging.chat_versions`,
	} {
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, got...)
	}
	// Between loads the load tables are empty, whatever the last one did.
	rows, err := conn.Query(context.Background(), `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'chatstage_load'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("no load tables: %v", err)
	}
	for _, tbl := range tables {
		var n int64
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			lines = append(lines, fmt.Sprintf("%s holds %d rows after the load", tbl, n))
		}
	}
	return strings.Join(lines, "\n")
}

type counts struct{ inserted, updated, unchanged, stale, versions, messages int64 }

func countsOf(r store.LoadResult) counts {
	return counts{r.ChatsInserted, r.ChatsUpdated, r.ChatsUnchanged, r.ChatsStale, r.VersionsNew, r.MessagesWritten}
}

// TestMergeRules holds the merge to contract section 3, one rule a case:
// a base file is loaded, then the case's file, and the second load's
// counts and the state after it are checked. Each case runs with the
// direct path and without it (all rows merged), in one batch and in
// batches of one row: the results must not differ.
func TestMergeRules(t *testing.T) {
	t.Parallel()
	base := source(row("A", "2025-07-02T08:00:00", "a2"), row("B", "2025-07-02T08:00:00", "b2"))
	tests := []struct {
		name  string
		file  string
		want  counts
		state string
	}{
		{"a new chat", source(row("C", "2025-07-01T08:00:00", "c1")), counts{1, 0, 0, 0, 1, 1},
			"A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nC 2025-07-01 08:00:00+00 1\nA 0 a2\nB 0 b2\nC 0 c1\n3 versions"},
		{"a newer version", source(row("A", "2025-07-03T08:00:00", "a3")), counts{0, 1, 0, 0, 1, 1},
			"A 2025-07-03 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a3\nB 0 b2\n3 versions"},
		{"an older version", source(row("A", "2025-07-01T08:00:00", "a1")), counts{0, 0, 0, 1, 1, 0},
			"A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\n3 versions"},
		{"the same version, other content", source(row("A", "2025-07-02T08:00:00", "a2'")), counts{0, 1, 0, 0, 0, 1},
			"A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a2'\nB 0 b2\n2 versions"},
		{"the same version as it is", source(row("A", "2025-07-02T08:00:00", "a2")), counts{0, 0, 1, 0, 0, 0},
			"A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\n2 versions"},
		{"one version twice: the later line wins", source(row("A", "2025-07-03T08:00:00", "x"), row("A", "2025-07-03T08:00:00", "y")),
			counts{0, 1, 0, 0, 1, 1}, "A 2025-07-03 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 y\nB 0 b2\n3 versions"},
		{"newer then older: the newer stays", source(row("A", "2025-07-04T08:00:00", "a4"), row("A", "2025-07-03T08:00:00", "a3")),
			counts{0, 1, 0, 0, 2, 1}, "A 2025-07-04 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a4\nB 0 b2\n4 versions"},
		{"current, then other content, then back", source(row("B", "2025-07-02T08:00:00", "b2"),
			row("B", "2025-07-02T08:00:00", "b2'"), row("B", "2025-07-02T08:00:00", "b2")),
			counts{0, 0, 1, 0, 0, 0}, "A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\n2 versions"},
		{"current, then an older one", source(row("B", "2025-07-02T08:00:00", "b2"), row("B", "2025-07-01T08:00:00", "b1")),
			counts{0, 0, 1, 0, 1, 0}, "A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\n3 versions"},
		{"a new chat twice, older second", source(row("N", "2025-07-02T08:00:00", "n2"), row("N", "2025-07-01T08:00:00", "n1")),
			counts{1, 0, 0, 0, 2, 1}, "A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nN 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\nN 0 n2\n4 versions"},
		{"a new chat twice, newer second", source(row("N", "2025-07-01T08:00:00", "n1"), row("N", "2025-07-02T08:00:00", "n2")),
			counts{1, 0, 0, 0, 2, 2}, "A 2025-07-02 08:00:00+00 1\nB 2025-07-02 08:00:00+00 1\nN 2025-07-02 08:00:00+00 1\nA 0 a2\nB 0 b2\nN 0 n2\n4 versions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, url := dbtest.Store(t)
			for _, o := range []loadOpts{{}, {noDirect: true}, {batch: 1}, {noDirect: true, batch: 1}} {
				truncate(t, url)
				mustLoad(t, st, base, loadOpts{})
				res := mustLoad(t, st, tt.file, o)
				got, want := countsOf(res), tt.want
				if o.noDirect || o.batch != 0 {
					// Messages written count rows written, which depends on
					// the path: a new chat's first row written directly and
					// then replaced wrote its messages twice.
					got.messages, want.messages = 0, 0
				}
				if got != want {
					t.Errorf("counts %+v, want %+v (options %+v)", got, want, o)
				}
				if got := state(t, url); got != tt.state {
					t.Errorf("state\n%s\nwant\n%s\n(options %+v)", got, tt.state, o)
				}
				if res.Status != "succeeded" || res.RowsRead != int64(strings.Count(tt.file, "\n")-1) {
					t.Errorf("result %+v", res)
				}
			}
		})
	}
}

// truncate empties the staging tables.
func truncate(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(),
		`TRUNCATE staging.loads, staging.chat_versions, staging.chats, staging.messages, staging.rejects,
		    staging.chat_version_history, staging.message_history, staging.retirements, staging.erasures RESTART IDENTITY`); err != nil {
		t.Fatal(err)
	}
}

// TestMergeKeepsUnchangedMessages: a chat that goes on keeps the rows of
// its earlier messages; only the new one is written.
func TestMergeKeepsUnchangedMessages(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	two := `"[{""id"": ""1"", ""content"": ""a""}, {""id"": ""2"", ""content"": ""b""}]"`
	three := `"[{""id"": ""1"", ""content"": ""a""}, {""id"": ""2"", ""content"": ""b""}, {""id"": ""3"", ""content"": ""c""}]"`
	changed := `"[{""id"": ""1"", ""content"": ""A""}]"`
	mustLoad(t, st, source("X,2025-07-01T08:00:00,"+two), loadOpts{})
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ctids := func() string {
		var s string
		if err := conn.QueryRow(context.Background(), `SELECT string_agg(ordinal || ':' || ctid::text, ' ' ORDER BY ordinal) FROM staging.messages`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := ctids()
	res := mustLoad(t, st, source("X,2025-07-02T08:00:00,"+three), loadOpts{})
	if res.MessagesWritten != 1 {
		t.Errorf("messages written %d, want 1", res.MessagesWritten)
	}
	if after := ctids(); !strings.HasPrefix(after, before) {
		t.Errorf("the unchanged messages moved: %s -> %s", before, after)
	}
	// A shorter, changed conversation replaces them.
	res = mustLoad(t, st, source("X,2025-07-03T08:00:00,"+changed), loadOpts{})
	if got := state(t, url); res.MessagesWritten != 1 || !strings.Contains(got, "X 0 A\n") || strings.Contains(got, "X 1") {
		t.Errorf("after a shorter conversation (%d written):\n%s", res.MessagesWritten, got)
	}
}

// TestLoadDryRunLeavesNothing: a dry run counts what the load would, and
// leaves neither rows nor a load record nor a taken load_id.
func TestLoadDryRunLeavesNothing(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	file := source(row("A", "2025-07-01T08:00:00", "a"), ",2025-07-01T08:00:00,[]", row("B", "2025-07-01T08:00:00", "b"))
	dry := mustLoad(t, st, file, loadOpts{params: store.LoadParams{DryRun: true}})
	if dry.Status != "dry_run" || dry.LoadID != 0 || dry.ChatsInserted != 2 || dry.RowsRejected != 1 {
		t.Errorf("dry run = %+v", dry)
	}
	if got := state(t, url); got != "0 versions" {
		t.Errorf("a dry run left:\n%s", got)
	}
	real := mustLoad(t, st, file, loadOpts{})
	if real.LoadID != 1 {
		t.Errorf("the load after a dry run has id %d, want 1", real.LoadID)
	}
	real.LoadID, real.Status = 0, "dry_run"
	if real != dry {
		t.Errorf("dry run %+v\n    load %+v", dry, real)
	}
}

// TestLoadRejectBudget: over budget, the rejects and a failed record stay
// and nothing else; a dry run over budget says so and keeps nothing.
func TestLoadRejectBudget(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	budget, err := store.ParseRejectBudget("1")
	if err != nil {
		t.Fatal(err)
	}
	file := source(row("A", "2025-07-01T08:00:00", "a"), ",x,[]", "B,never,[]")
	dry := mustLoad(t, st, file, loadOpts{params: store.LoadParams{DryRun: true, RejectBudget: budget}})
	if !strings.Contains(dry.Error, "would fail") {
		t.Errorf("dry run over budget: %+v", dry)
	}
	res, err := runLoad(t, st, file, loadOpts{params: store.LoadParams{RejectBudget: budget}})
	if !errors.Is(err, store.ErrRejectBudget) || res.Status != "failed" {
		t.Fatalf("over budget: %+v, %v", res, err)
	}
	if got := state(t, url); got != "0 versions" {
		t.Errorf("a load over budget left:\n%s", got)
	}
	loads, err := st.RejectsLoads(context.Background(), 0, true)
	if err != nil || len(loads) != 1 || loads[0].Rejects != 2 || loads[0].Header != testHeader {
		t.Errorf("rejects kept: %+v, %v", loads, err)
	}
	for _, s := range []string{"5", "10%", "0%", "100%"} {
		if _, err := store.ParseRejectBudget(s); err != nil {
			t.Errorf("ParseRejectBudget(%q): %v", s, err)
		}
	}
	for _, s := range []string{"-1", "x", "101%", "%"} {
		if _, err := store.ParseRejectBudget(s); err == nil {
			t.Errorf("ParseRejectBudget(%q) accepted", s)
		}
	}
	if b, _ := store.ParseRejectBudget("2.5%"); b.String() != "2.5%" {
		t.Errorf("String = %s", b)
	}
}

// TestLoadFailAndClose: a failed load keeps its record with what it read;
// a load closed without Commit leaves nothing and frees the ingest lock.
func TestLoadFailAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	load, err := st.LoadBegin(ctx, store.LoadParams{Source: "cut.csv.gz"})
	if err != nil {
		t.Fatal(err)
	}
	if err := load.Copy(ctx, &sliceSource{batches: batches(t, load, source(row("A", "2025-07-01T08:00:00", "a")), loadOpts{})}); err != nil {
		t.Fatal(err)
	}
	if err := load.Fail(ctx, store.SourceInfo{SizeBytes: 7, SHA256: []byte{0xab}}, errors.New("unexpected EOF")); err != nil {
		t.Fatal(err)
	}
	load.Close()
	load.Close() // twice is fine
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var status, sum, msg string
	var size int64
	if err := conn.QueryRow(ctx, `SELECT status, size_bytes, sha256, error FROM staging.loads`).Scan(&status, &size, &sum, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || size != 7 || sum != "ab" || msg != "unexpected EOF" {
		t.Errorf("failed load: %s %d %s %q", status, size, sum, msg)
	}
	// Closed without Commit: nothing stays, and the next load need not wait.
	load, err = st.LoadBegin(ctx, store.LoadParams{Source: "x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if err := load.Copy(ctx, &sliceSource{batches: batches(t, load, source(row("B", "2025-07-01T08:00:00", "b")), loadOpts{})}); err != nil {
		t.Fatal(err)
	}
	load.Close()
	if got := state(t, url); got != "0 versions" {
		t.Errorf("a load closed without commit left:\n%s", got)
	}
	mustLoad(t, st, source(row("C", "2025-07-01T08:00:00", "c")), loadOpts{})
	// A source that fails makes Copy fail with its error.
	load, err = st.LoadBegin(ctx, store.LoadParams{Source: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer load.Close()
	boom := errors.New("boom")
	if err := load.Copy(ctx, &sliceSource{err: boom}); !errors.Is(err, boom) {
		t.Errorf("Copy of a failing source = %v, want boom", err)
	}
}

// TestLookup answers what the database keeps of each key.
func TestLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	mustLoad(t, st, source(row("A", "2025-07-01T08:00:00", "a1"), row("A", "2025-07-02T08:00:00", "a2")), loadOpts{})
	load, err := st.LoadBegin(ctx, store.LoadParams{Source: "x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer load.Close()
	keys := func(src string) []etl.Key {
		rd, err := etl.NewReader(strings.NewReader(src), etl.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []etl.Key
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			var n etl.Normalized
			n.Of(&rec)
			out = append(out, n.Key())
		}
	}
	got, err := load.Lookup(ctx, keys(source(row("A", "2025-07-02T08:00:00", "a2"), row("A", "2025-07-01T08:00:00", "a1"),
		row("A", "2025-07-01T08:00:00", "other"), row("Z", "2025-07-01T08:00:00", "z"))))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.KeyState{{Known: true, Current: true, ChatExists: true}, {Known: true, ChatExists: true},
		{ChatExists: true}, {}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lookup = %+v\nwant     %+v", got, want)
	}
	if got, err := load.Lookup(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("lookup of nothing = %v, %v", got, err)
	}
}

// TestLoadEmptiesLeftovers: a load that finds rows in the load tables
// (which no load leaves: a crash of an older version, a hand) empties them
// before it copies, so they never join its merge.
func TestLoadEmptiesLeftovers(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `
		INSERT INTO chatstage_load.known_first VALUES ('A', true);
		INSERT INTO chatstage_load.incoming_keys VALUES (9, 'Z', '2025-07-01 08:00:00+00', '\x00')`); err != nil {
		t.Fatal(err)
	}
	res := mustLoad(t, st, source(row("A", "2025-07-01T08:00:00", "a")), loadOpts{})
	if res.ChatsInserted != 1 || res.ChatsUnchanged != 0 {
		t.Errorf("a load over leftovers: %+v, want A inserted", res)
	}
	if got := state(t, url); got != "A 2025-07-01 08:00:00+00 1\nA 0 a\n1 versions" {
		t.Errorf("state:\n%s", got)
	}
}
