package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// TestSnapshotCopiesViews: a snapshot copies each view as CSV with its
// header, counts its rows, sees no load that commits after it, and
// escapes formulas when asked.
func TestSnapshotCopiesViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	mustLoad(t, st, source(row("A", "2025-07-01T08:00:00", "=1+1"), ",x,[]"), loadOpts{})
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	if sn.LastLoadID != 1 || sn.TakenAt.IsZero() || sn.TakenAt.Location().String() != "UTC" {
		t.Errorf("snapshot %d at %v", sn.LastLoadID, sn.TakenAt)
	}
	// A load after the snapshot: on one server it commits meanwhile and
	// the snapshot does not see it; on Citus it waits for the snapshot,
	// which holds the ingest lock shared (a REPEATABLE READ transaction
	// is not one instant across workers).
	later := make(chan error, 1)
	go func() {
		_, err := runLoad(t, st, source(row("B", "2025-07-01T08:00:00", "b")), loadOpts{})
		later <- err
	}()
	if !dbtest.OnCitus() {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		view   store.View
		rows   int64
		header string
	}{
		{store.ChatsView, 1, "locations,first name,"},
		{store.MessagesView, 1, "locations,messageSuborganization,"},
		{store.ChatMetricsView, 1, "chat_id,created_at,"},
		{store.LoadQualityView, 1, "load_id,source,"},
	} {
		var b bytes.Buffer
		n, err := sn.CopyView(ctx, tt.view, &b, store.CopyOptions{})
		if err != nil || n != tt.rows || !strings.HasPrefix(b.String(), tt.header) {
			t.Errorf("%s: %d rows, %v:\n%s", tt.view, n, err, b.String())
		}
	}
	var plain, escaped bytes.Buffer
	if _, err := sn.CopyView(ctx, store.MessagesView, &plain, store.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.CopyView(ctx, store.MessagesView, &escaped, store.CopyOptions{EscapeFormulas: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), ",=1+1,") || !strings.Contains(escaped.String(), ",'=1+1,") {
		t.Errorf("formula escape:\n%s\n%s", plain.String(), escaped.String())
	}
	sum, err := sn.Summary(ctx)
	if err != nil || sum.Chats != 1 || sum.Messages != 1 || sum.UserSpoke != 1 ||
		len(sum.Rejects) != 1 || sum.Rejects[0] != (store.NameCount{Name: "chat_id_missing", Count: 1}) || sum.Flags == nil {
		t.Errorf("summary %+v, %v", sum, err)
	}
	sn.Close()
	sn.Close() // twice is fine
	if dbtest.OnCitus() {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotBeginShared: a shared snapshot reads on two server
// processes, both see the same rows and neither a load that commits
// after it; when the pool has no connection to spare it comes back as one
// snapshot, not an error.
func TestSnapshotBeginShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	mustLoad(t, st, source(row("A", "2025-07-01T08:00:00", "a")), loadOpts{})
	sns, err := st.SnapshotBeginShared(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sns) != 2 {
		t.Fatalf("%d snapshots, want 2", len(sns))
	}
	if sns[0].PID() == sns[1].PID() {
		t.Errorf("both snapshots read on server process %d", sns[0].PID())
	}
	if sns[1].LastLoadID != 1 || !sns[1].TakenAt.Equal(sns[0].TakenAt) {
		t.Errorf("second snapshot %d at %v, first %d at %v", sns[1].LastLoadID, sns[1].TakenAt, sns[0].LastLoadID, sns[0].TakenAt)
	}
	// As in TestSnapshotCopiesViews: on one server the load commits
	// meanwhile; on Citus it waits for the first snapshot's lock.
	later := make(chan error, 1)
	go func() {
		_, err := runLoad(t, st, source(row("B", "2025-07-01T09:00:00", "b"), row("A", "2025-07-02T08:00:00", "a2")), loadOpts{})
		later <- err
	}()
	if !dbtest.OnCitus() {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}
	var copies [2]bytes.Buffer
	for i, sn := range sns {
		for _, v := range []store.View{store.ChatsView, store.MessagesView} {
			n, err := sn.CopyView(ctx, v, &copies[i], store.CopyOptions{})
			if err != nil || n != 1 {
				t.Errorf("snapshot %d, %s: %d rows, %v", i, v, n, err)
			}
		}
	}
	if copies[0].String() != copies[1].String() || strings.Contains(copies[0].String(), "a2") {
		t.Errorf("the snapshots differ or see the later load:\n%s\n%s", copies[0].String(), copies[1].String())
	}
	sns[1].Close()
	sns[0].Close()
	if dbtest.OnCitus() {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}

	// The store's pool holds 4 connections: with 3 taken, the first
	// snapshot gets the last one and no other is waited for.
	for range 3 {
		sn, err := st.SnapshotBegin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
	}
	start := time.Now()
	sns, err = st.SnapshotBeginShared(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer sns[0].Close()
	if len(sns) != 1 || sns[0].LastLoadID != 2 {
		t.Errorf("%d snapshots of load %d with the pool busy, want 1 of load 2", len(sns), sns[0].LastLoadID)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("waited %v for a connection of a busy pool", d)
	}
}

// TestErrorsAtTheBoundary: driver errors come out of store translated,
// once: a missing schema is ErrNotMigrated, a broken connection
// ErrConnectionLost naming the database and the step, and the driver's
// *pgconn.PgError stays in the chain.
func TestErrorsAtTheBoundary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA staging CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SnapshotBegin(ctx); !errors.Is(err, store.ErrNotMigrated) {
		t.Errorf("a snapshot of an unmigrated database: %v, want ErrNotMigrated", err)
	}
	if _, err := st.LoadsRecover(ctx); !errors.Is(err, store.ErrNotMigrated) || !strings.Contains(err.Error(), "run chatstage migrate") {
		t.Errorf("recovering an unmigrated database: %v", err)
	}
	if _, err := st.RejectsLoads(ctx, 0, true); err == nil || !strings.Contains(err.Error(), "not migrated") {
		t.Errorf("rejects of an unmigrated database: %v", err)
	}
}

// TestOpenRefusesAmbiguousURLs: a URL whose password holds an unencoded
// @ parses with part of the password as the host; Open refuses it without
// printing any of it, as it does an unparsable URL.
func TestOpenRefusesAmbiguousURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"postgres://app:p@ssw0rd@db:5432/x", "postgres://app:p%ss@db:5432/x", "postgres://app:p/ss@db:5432/x"} {
		_, err := store.Open(context.Background(), u, store.Options{})
		if !errors.Is(err, store.ErrConnect) || strings.Contains(err.Error(), "ssw0rd") || strings.Contains(err.Error(), "p%ss") ||
			strings.Contains(err.Error(), "p/ss") {
			t.Errorf("Open(%q) = %v", u, err)
		}
	}
	// Nothing listens on port 1: refused at once, the cause said.
	_, err := store.Open(context.Background(), "postgres://app:secret@127.0.0.1:1/x?sslmode=disable", store.Options{})
	if !errors.Is(err, store.ErrConnect) || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "app@127.0.0.1:1/x") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open of a closed port = %v", err)
	}
}

// TestMigrate: a new database migrates to the latest version, reports each
// migration applied, and migrating again applies nothing; a database whose
// encoding is not UTF8 is refused.
func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.EmptyURL(t, ""), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, err := st.MigrationStatus(ctx)
	if err != nil || len(before) == 0 || before[0].Applied {
		t.Fatalf("status before: %+v, %v", before, err)
	}
	if n, err := st.Migrate(ctx); err != nil || n != len(before) {
		t.Errorf("Migrate applied %d (%v), want %d", n, err, len(before))
	}
	if n, err := st.Migrate(ctx); err != nil || n != 0 {
		t.Errorf("Migrate again applied %d (%v), want 0", n, err)
	}
	after, err := st.MigrationStatus(ctx)
	if err != nil || !after[len(after)-1].Applied {
		t.Errorf("status after: %+v, %v", after, err)
	}
	latin1, err := store.Open(ctx, dbtest.EmptyURL(t, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer latin1.Close()
	if _, err := latin1.Migrate(ctx); !errors.Is(err, store.ErrEncoding) || !strings.Contains(err.Error(), latin1.Target()) {
		t.Errorf("Migrate of a LATIN1 database = %v", err)
	}
}

// TestLoadStoresOddNames: a source name and a header with bytes that are
// not UTF-8 are stored repaired; a dry run's errors say it is one.
func TestLoadStoresOddNames(t *testing.T) {
	t.Parallel()
	st, url := dbtest.Store(t)
	mustLoad(t, st, source(row("A", "2025-07-01T08:00:00", "a")), loadOpts{params: store.LoadParams{Source: "caf\xe9.csv", Header: "h\x00\xff"}})
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var src, header string
	if err := conn.QueryRow(context.Background(), `SELECT source, header FROM staging.loads`).Scan(&src, &header); err != nil {
		t.Fatal(err)
	}
	if src != "caf\uFFFD.csv" || header != "h\uFFFD" {
		t.Errorf("stored %q %q", src, header)
	}
}
