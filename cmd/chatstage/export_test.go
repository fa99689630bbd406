package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"github.com/jackc/pgx/v5/pgconn"
)

// The deliverables' headers, copied from docs/rules.md section 4.
const (
	contractChatsHeader    = `locations,first name,user bypass messages limit,name,read only token,phone number,pois,is test chat,clientId,organizationConfigId,email,suborganization,provinces,starting domain,section type,is reviewed,limit messages case,sentiment,slug,is chat classified,ontraport update time,trip type,most relevant trip name,countries,chatId,email types,newsletter subscription time,language,last name,idle message sent time,resolution,token,subscription idle message sent time,is default chat,ontraport note id,actions,has email,most relevant brand name,created at,organizationId,recommendations cta url,updated at,idle email sent time,humanloop session id,defaultMessageId,is structured info extracted,cities`
	contractMessagesHeader = `locations,messageSuborganization,user bypass messages limit,current brands,read only token,pois,is test chat,clientId,organizationConfigId,email,suborganization,provinces,role,starting domain,is reviewed,limit messages case,sentiment,intentType,slug,is chat classified,ontraport update time,trip type,regions,countries,chatId,newsletter subscription time,conversationLogType,language,idle message sent time,resolution,sk messageId,token,subscription idle message sent time,is default chat,messageId,categories,content,ontraport note id,created at,organizationId,updated at,idle email sent time,humanloop session id,defaultMessageId,is structured info extracted,themes,cities`
)

// exportGoldenDir holds the project's own source file exercising every
// column rule, and the deliverables it must give.
const exportGoldenDir = "../../testdata/export"

// The -update flag rewrites golden files. Another test file of this
// package may define it too; whoever comes first registers it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/ with what the code gives")
	}
}

func exportUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// exportCmd runs one command line in-process and returns its exit code,
// stdout and stderr.
func exportCmd(ctx context.Context, t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	if errb.Len() > 0 {
		t.Logf("chatstage %s -> %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return code, out.String(), errb.String()
}

// exportIngest ingests files in order, one command each, and returns the
// rows rejected over all of them.
func exportIngest(t *testing.T, url string, files ...string) int64 {
	t.Helper()
	var rejected int64
	for _, f := range files {
		code, out, _ := exportCmd(context.Background(), t, "ingest", "--json", "--database-url", url, f)
		if code != exitOK {
			t.Fatalf("ingest %s: exit %d, want 0", f, code)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var l store.LoadResult
			if err := dec.Decode(&l); err != nil {
				t.Fatalf("ingest %s: decoding --json output %q: %v", f, out, err)
			}
			rejected += l.RowsRejected
		}
	}
	return rejected
}

// exportRun exports into dir with --json and returns what it printed.
func exportRun(t *testing.T, url, dir string) chatstage.Manifest {
	t.Helper()
	code, out, _ := exportCmd(context.Background(), t, "export", "--json", "--database-url", url, "--out", dir)
	if code != exitOK {
		t.Fatalf("export: exit %d, want 0", code)
	}
	var x chatstage.Manifest
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("export --json printed %q: %v", out, err)
	}
	return x
}

// exportSameFile reports whether got and want hold the same bytes; when
// not, it fails the test showing the first line that differs.
func exportSameFile(t *testing.T, got, want string) bool {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(g, w) {
		return true
	}
	gl, wl := strings.SplitAfter(string(g), "\n"), strings.SplitAfter(string(w), "\n")
	i := 0
	for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
		i++
	}
	line := func(ls []string) string {
		if i < len(ls) {
			return fmt.Sprintf("%q", ls[i])
		}
		return "(end of file)"
	}
	t.Errorf("%s differs from %s (%d bytes, want %d); first difference at line %d:\n--- want %s\n+++ got  %s\n-%s\n+%s",
		got, want, len(g), len(w), i+1, want, got, line(wl), line(gl))
	return false
}

// exportCSVRecords counts the CSV records of a file, its header included.
func exportCSVRecords(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var n int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n++
	}
}

func exportFirstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: reading the header: %v", path, err)
	}
	return strings.TrimSuffix(line, "\n")
}

// exportDirNames lists the names in dir that a reader sees, sorted: not
// the hidden .chatstage-KIND directories where the sets' generations live
// (internal/deliver), which exportGenerations lists.
func exportDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".chatstage-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// exportGenerations lists the generation directories under dir's
// .chatstage-KIND directories, and the one each current points to.
func exportGenerations(t *testing.T, dir string) (gens []string, live []string) {
	t.Helper()
	states, _ := filepath.Glob(filepath.Join(dir, ".chatstage-*"))
	for _, st := range states {
		g, _ := filepath.Glob(filepath.Join(st, "gen-*"))
		gens = append(gens, g...)
		if target, err := os.Readlink(filepath.Join(st, "current")); err == nil {
			live = append(live, target)
		}
	}
	return gens, live
}

// TestExportGolden ingests testdata/export/source.csv and compares the
// export byte for byte with the checked-in chats.csv and messages.csv.
// Those files are the spec, reviewed against docs/rules.md section 4: after
// a deliberate change, rewrite them with
//
//	go test ./cmd/chatstage -run Golden -update
//
// and review the diff line by line before committing it.
func TestExportGolden(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	if n := exportIngest(t, url, filepath.Join(exportGoldenDir, "source.csv")); n != 0 {
		t.Errorf("%d rows rejected, want 0", n)
	}
	out := t.TempDir()
	exportRun(t, url, out)
	for _, name := range []string{"chats.csv", "messages.csv"} {
		got, golden := filepath.Join(out, name), filepath.Join(exportGoldenDir, name)
		if exportUpdate() {
			b, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote %s: review the diff against docs/rules.md before committing", golden)
			continue
		}
		if !exportSameFile(t, got, golden) {
			b, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden+".got", b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("compare with: diff -u testdata/export/%s testdata/export/%s.got", name, name)
		}
	}
}

// TestExportViewColumns checks the views against the contract's lists:
// the names, their order, and that every column is text.
func TestExportViewColumns(t *testing.T) {
	t.Parallel()
	conn, err := pgx.Connect(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for view, header := range map[string]string{"chats": contractChatsHeader, "messages": contractMessagesHeader} {
		rows, err := conn.Query(context.Background(), `
			SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = 'export' AND table_name = $1
			ORDER BY ordinal_position`, view)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			if typ != "text" {
				t.Errorf("export.%s.%q is %s, want text already formatted for the file", view, name, typ)
			}
			names = append(names, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := strings.Split(header, ",")
		if len(want) != 47 {
			t.Fatalf("the contract's %s header has %d names, want 47", view, len(want))
		}
		if !slices.Equal(names, want) {
			t.Errorf("export.%s columns:\n got %q\nwant %q", view, names, want)
		}
	}
}

// TestExportSkMessageIDPastFourDigits: the ordinal is four digits or more,
// never cut to four. A chat of 12,346 messages is too big a source to
// keep in testdata, so the messages go straight into staging.
func TestExportSkMessageIDPastFourDigits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exportInsertChat(t, conn, "wide")
	_, err = conn.Exec(ctx, `
		INSERT INTO staging.messages (chat_id, ordinal, message_id, role, type, content, load_id)
		SELECT 'wide', o, CASE WHEN o = 7 THEN NULL ELSE 'm' || o END, 'assistant', 'default', 'x', c.load_id
		FROM unnest(ARRAY[0, 7, 42, 9999, 10000, 12345, 123456]) AS o, staging.chats c WHERE c.chat_id = 'wide'`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT "sk messageId" FROM export.messages`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// A message without id still gets a key: its ordinal and the '#'.
	want := []string{"0000#m0", "0007#", "0042#m42", "9999#m9999", "10000#m10000", "12345#m12345", "123456#m123456"}
	if !slices.Equal(got, want) {
		t.Errorf("sk messageId = %q, want %q", got, want)
	}
}

// exportInsertChat writes a current chat straight into staging, with a
// new succeeded load, the way a load would leave it.
func exportInsertChat(t *testing.T, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, chatID string) {
	t.Helper()
	_, err := db.Exec(context.Background(), `
		WITH l AS (
			INSERT INTO staging.loads (source, status, finished_at)
			VALUES ('test ' || $1, 'succeeded', now()) RETURNING load_id
		)
		INSERT INTO staging.chats (chat_id, updated_at, created_at, facts, is_default_chat,
		                           messages_kept, quality_flags, row_hash, load_id, source_line)
		SELECT $1, '2025-07-01T08:05:00Z', '2025-07-01T08:00:00Z', '{}', true, 0, '{}', '\x00', load_id, 1
		FROM l`, chatID)
	if err != nil {
		t.Fatal(err)
	}
}

// TestExportWritesDirAndManifest: --out names a directory that does not
// exist yet; export creates it, writes the three files and nothing else,
// and the manifest describes the files exactly. A second export replaces
// them the same way.
func TestExportWritesDirAndManifest(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	exportIngest(t, url, filepath.Join(exportGoldenDir, "source.csv"))
	out := filepath.Join(t.TempDir(), "deliverables", "2025-07-01", "nightly")
	for range 2 {
		x := exportRun(t, url, out)
		want := []string{"chats.csv", "manifest.json", "messages.csv"}
		if names := exportDirNames(t, out); !slices.Equal(names, want) {
			t.Fatalf("%s holds %q, want exactly %q (no temporary file left)", out, names, want)
		}
		b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m chatstage.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("manifest.json: %v\n%s", err, b)
		}
		if !m.ExportedAt.Equal(x.ExportedAt) || m.LastLoadID != x.LastLoadID || !slices.Equal(m.Files, x.Files) {
			t.Errorf("manifest.json = %+v, --json printed %+v", m, x)
		}
		if m.LastLoadID != 1 {
			t.Errorf("manifest last_load_id = %d, want 1", m.LastLoadID)
		}
		if time.Since(m.ExportedAt) > time.Hour || m.ExportedAt.Location() != time.UTC {
			t.Errorf("manifest exported_at = %v, want the time of the export in UTC", m.ExportedAt)
		}
		if len(m.Files) != 2 || m.Files[0].Name != "chats.csv" || m.Files[1].Name != "messages.csv" {
			t.Fatalf("manifest files = %+v, want chats.csv then messages.csv", m.Files)
		}
		for _, f := range m.Files {
			p := filepath.Join(out, f.Name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if f.SHA256 != hex.EncodeToString(sum[:]) || f.Bytes != int64(len(b)) {
				t.Errorf("manifest says %s has %d bytes, sha256 %s; the file has %d bytes, sha256 %x",
					f.Name, f.Bytes, f.SHA256, len(b), sum)
			}
			if n := exportCSVRecords(t, p) - 1; f.Rows != n {
				t.Errorf("manifest says %s has %d rows; the file has %d", f.Name, f.Rows, n)
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v (%v), want 0644", f.Name, fi.Mode(), err)
			}
		}
	}
}

// TestExportOneSnapshot: a load that commits while an export runs is in
// neither file. The test holds a lock on staging.chats, so the export has
// taken its snapshot but waits in its first COPY; meanwhile a new chat, its
// message and its load commit. A statement's snapshot predates its lock
// waits, so chats.csv would miss the new chat even under READ COMMITTED;
// what only one snapshot for the whole export guarantees is that
// messages.csv misses the new message too. Both files must be the state
// before that commit (the golden files) and the manifest must name the
// load before it.
func TestExportOneSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.URL(t)
	exportIngest(t, url, filepath.Join(exportGoldenDir, "source.csv"))
	writer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if dbtest.OnCitus() {
		exportOneSnapshotCitus(t, url, tx)
		return
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE staging.chats IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	type result struct {
		code   int
		stdout string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, _ := exportCmd(ctx, t, "export", "--json", "--database-url", url, "--out", out)
		done <- result{code, stdout}
	}()
	exportWaitBlocked(t, url, "staging.chats", done)

	exportInsertChat(t, tx, "G-late")
	if _, err := tx.Exec(ctx, `
		INSERT INTO staging.messages (chat_id, ordinal, message_id, role, type, content, load_id)
		SELECT 'G-late', 0, 'late-0', 'assistant', 'default', 'te laat', load_id FROM staging.chats WHERE chat_id = 'G-late'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("export: exit %d", r.code)
	}
	var x chatstage.Manifest
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatal(err)
	}
	if x.LastLoadID != 1 {
		t.Errorf("last_load_id = %d, want 1: the load committed during the export is not in it", x.LastLoadID)
	}
	for _, name := range []string{"chats.csv", "messages.csv"} {
		exportSameFile(t, filepath.Join(out, name), filepath.Join(exportGoldenDir, name))
	}

	after := exportRun(t, url, t.TempDir())
	if after.LastLoadID != 2 || after.Files[0].Rows != x.Files[0].Rows+1 || after.Files[1].Rows != x.Files[1].Rows+1 {
		t.Errorf("the next export = %+v, want load 2 with one more chat and message than %+v", after, x)
	}
}

// exportWaitBlocked waits until some session waits for a lock on table
// (in this test's database: every test database has the same OIDs):
// the export has taken its snapshot and reached the COPY that reads it. It
// fails the test if the export ends first.
// exportOneSnapshotCitus is TestExportOneSnapshot on a cluster, where a
// snapshot is per worker and the ingest lock makes an export one state: a
// writer that holds it, as every load does, commits a chat and its message
// while the export waits; the export then has both files of the state
// after it, the chat in chats.csv and its message in messages.csv.
func exportOneSnapshotCitus(t *testing.T, url string, tx pgx.Tx) {
	ctx := context.Background()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_lock(hashtext('chatstage.ingest'))`); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	done := make(chan result, 1)
	go func() { done <- runCLI(t, url, nil, "export", "--json", "--out", out) }()
	conn := connect(t, url)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if queryInt(t, conn, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the export never waited for the ingest lock")
		}
	}
	exportInsertChat(t, tx, "G-late")
	if _, err := tx.Exec(ctx, `
		INSERT INTO staging.messages (chat_id, ordinal, message_id, role, type, content, load_id)
		SELECT 'G-late', 0, 'late-0', 'assistant', 'default', 'te laat', load_id FROM staging.chats WHERE chat_id = 'G-late'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The session lock outlives the transaction, as a load's does.
	if _, err := tx.Conn().Exec(ctx, `SELECT pg_advisory_unlock(hashtext('chatstage.ingest'))`); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("export: exit %d %s", r.code, r.stderr)
	}
	var x chatstage.Manifest
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatal(err)
	}
	after := exportRun(t, url, t.TempDir())
	if x.LastLoadID != 2 || !reflect.DeepEqual(x.Files, after.Files) {
		t.Errorf("the export that waited = %+v, want the state after the writer: %+v", x, after)
	}
	for name, want := range map[string]string{"chats.csv": ",G-late,", "messages.csv": ",te laat,"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s (%v)", name, want, err)
		}
	}
}

func exportWaitBlocked[T any](t *testing.T, url, table string, done chan T) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		err := conn.QueryRow(ctx, `
			SELECT EXISTS (SELECT FROM pg_locks
			               WHERE NOT granted AND relation = $1::regclass
			                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
			table).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		select {
		case r := <-done:
			t.Fatalf("the export ended before it waited for %s: %+v", table, r)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export never waited for %s", table)
		}
	}
}

// TestExportCancelledKeepsPrevious: an export cancelled half-way (after
// chats.csv, before messages.csv) leaves the previous deliverables as they
// were and no temporary file.
func TestExportCancelledKeepsPrevious(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	exportIngest(t, url, filepath.Join(exportGoldenDir, "source.csv"))
	out := t.TempDir()
	previous := map[string]string{"chats.csv": "old chats\n", "messages.csv": "old messages\n", "manifest.json": "{}\n"}
	for name, text := range previous {
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `LOCK TABLE staging.messages IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	exportCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := chatstage.Export(exportCtx, st, out, chatstage.ExportOptions{})
		done <- err
	}()
	exportWaitBlocked(t, url, "staging.messages", done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Export after cancel = %v, want context.Canceled", err)
	}
	if names := exportDirNames(t, out); !slices.Equal(names, []string{"chats.csv", "manifest.json", "messages.csv"}) {
		t.Errorf("%s holds %q after a cancelled export, want only the previous files", out, names)
	}
	if gens, _ := exportGenerations(t, out); len(gens) != 0 {
		t.Errorf("a cancelled export left %v", gens)
	}
	for name, text := range previous {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != text {
			t.Errorf("%s = %q (%v) after a cancelled export, want the previous %q", name, b, err, text)
		}
	}
}

// TestExportEmptyDatabase: with nothing loaded, the files hold only their
// headers and the manifest names no load.
func TestExportEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	out := t.TempDir()
	code, stdout, stderr := exportCmd(context.Background(), t, "export", "--json", "--database-url", url, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var x chatstage.Manifest
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatal(err)
	}
	if x.LastLoadID != 0 {
		t.Errorf("last_load_id = %d, want 0", x.LastLoadID)
	}
	if !strings.Contains(stderr, "export: chats.csv 0 rows") || !strings.Contains(stderr, "(no load yet)") {
		t.Errorf("summary = %q", stderr)
	}
	for name, header := range map[string]string{"chats.csv": contractChatsHeader, "messages.csv": contractMessagesHeader} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != header+"\n" {
			t.Errorf("%s = %q, want the header alone", name, b)
		}
	}
}

// TestExportUsage: bad command lines fail with exit 2 before connecting.
func TestExportUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export"}, exitUsage, "--out DIR is required"},
		{[]string{"export", "--json"}, exitUsage, "--out DIR is required"},
		{[]string{"export", "--out", t.TempDir(), "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"export", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"export", "--help"}, exitOK, "chatstage export --out"},
	} {
		code, _, stderr := exportCmd(context.Background(), t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestExportDuringARunningLoad: an export while a load runs says that
// load is not in its files, rather than "(no load yet)" when loads exist.
func TestExportDuringARunningLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.URL(t)
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	begin := func() *store.Load {
		t.Helper()
		l, err := st.LoadBegin(ctx, store.LoadParams{Source: "running.csv", Header: "chat_id,updated_at,conversation_log"})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if dbtest.OnCitus() {
		exportWaitsForTheLoad(t, url, begin)
		return
	}
	first := begin()
	r := runCLI(t, url, nil, "export", "--quiet", "--out", t.TempDir())
	if r.code != exitOK || !strings.Contains(r.stderr, "(no load has succeeded yet; load 1 is running and not in them)") {
		t.Errorf("export during the first load: exit %d, %q", r.code, r.stderr)
	}
	first.Fail(ctx, store.SourceInfo{}, errors.New("test: given up"))
	first.Close()
	if r := runCLI(t, url, nil, "ingest", writeSource(t, "a.csv", chatRow("C-1", "2025-07-01T08:05:00", "a"))); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	third := begin()
	defer third.Close()
	r = runCLI(t, url, nil, "export", "--quiet", "--out", t.TempDir())
	if r.code != exitOK || !strings.Contains(r.stderr, "(last load 2; load 3 is running and not in them)") {
		t.Errorf("export during a later load: exit %d, %q", r.code, r.stderr)
	}
}

// exportWaitsForTheLoad: on Citus, where a REPEATABLE READ transaction is
// not one instant across the workers, an export waits for the running
// load, saying so, and then holds all of it.
func exportWaitsForTheLoad(t *testing.T, url string, begin func() *store.Load) {
	load := begin()
	done := make(chan result, 1)
	go func() { done <- runCLI(t, url, nil, "export", "--out", t.TempDir()) }()
	conn := connect(t, url)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if queryInt(t, conn, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the export never waited for the load")
		}
	}
	select {
	case r := <-done:
		t.Fatalf("the export ended while the load ran: exit %d %q", r.code, r.stderr)
	case <-time.After(200 * time.Millisecond):
	}
	load.Fail(context.Background(), store.SourceInfo{}, errors.New("test: given up")) // rolled back: nothing of it
	load.Close()
	r := <-done
	if r.code != exitOK || !strings.Contains(r.stderr, "waiting for load 1 (started ") || !strings.Contains(r.stderr, "(no load yet)") {
		t.Errorf("export after waiting: exit %d, %q", r.code, r.stderr)
	}
}
