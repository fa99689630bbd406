package chatstage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// goldenInput are the two golden nights (cmd/chatstage/testdata/golden):
// the second changes chats of the first and their messages.
const goldenInput = "cmd/chatstage/testdata/golden/input"

// exported reads the files of an export in dir, manifest.json without
// exported_at (the snapshot's time).
func exported(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{"chats.csv", "messages.csv", ManifestName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == ManifestName {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "exported_at")
			b, _ = json.Marshal(m)
		}
		out[name] = b
	}
	return out
}

// TestExportReadsOneSnapshot: chats.csv and the two ranges of
// messages.csv are copied at the same time by three server processes, from
// one snapshot: a load that commits after chats.csv has started and before
// messages.csv starts is in neither file, which are byte for byte those of
// an export taken before the load.
func TestExportReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	if _, err := Ingest(ctx, st, filepath.Join(goldenInput, "day1.csv"), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	// The load is another process's: the export holds 3 of st's 4
	// connections, and a load needs more than one.
	other, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before := t.TempDir()
	if _, err := Export(ctx, st, before, ExportOptions{}); err != nil {
		t.Fatal(err)
	}

	// The load runs once chats.csv has started, and every range of
	// messages.csv waits for it. On Citus it waits for the export's ingest
	// lock instead: it cannot commit before the export ends.
	var mu sync.Mutex
	pids := map[string]uint32{}
	chatsStarted, loadDone := make(chan struct{}), make(chan struct{})
	loaded := make(chan error, 1)
	go func() {
		<-chatsStarted
		go func() {
			_, err := Ingest(ctx, other, filepath.Join(goldenInput, "day2.csv"), IngestOptions{})
			loaded <- err
		}()
		if !dbtest.OnCitus() {
			err := <-loaded
			loaded <- err
		}
		close(loadDone)
	}()
	opts := ExportOptions{beforeCopy: func(name string, part int, sn *store.Snapshot) {
		mu.Lock()
		pids[fmt.Sprintf("%s %d", name, part)] = sn.PID()
		mu.Unlock()
		if name == "chats" {
			close(chatsStarted)
		} else {
			<-loadDone
		}
	}}
	during := t.TempDir()
	m, err := Export(ctx, st, during, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if m.LastLoadID != 1 {
		t.Errorf("last load %d, want 1", m.LastLoadID)
	}
	// chats.csv on one, messages.csv in two ranges on two others (on Citus
	// in one range: ViewSplit).
	distinct := map[uint32]bool{}
	for _, pid := range pids {
		distinct[pid] = true
	}
	want := 3
	if dbtest.OnCitus() {
		want = 2
	}
	if len(pids) != want || len(distinct) != want {
		t.Errorf("read by the server processes %v, want %d", pids, want)
	}
	wantFiles, got := exported(t, before), exported(t, during)
	for name := range wantFiles {
		if !bytes.Equal(got[name], wantFiles[name]) {
			t.Errorf("%s differs from the export before the load:\n%s\nwant:\n%s", name, got[name], wantFiles[name])
		}
	}

	// The load changed both files: the test would see it in either.
	after := t.TempDir()
	if _, err := Export(ctx, st, after, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	later := exported(t, after)
	for _, name := range []string{"chats.csv", "messages.csv"} {
		if bytes.Equal(later[name], wantFiles[name]) {
			t.Errorf("%s: the second night changed nothing in it", name)
		}
	}
}

// TestExportWithoutSpareConnections: when the store's pool has no
// connection to spare, Export reads the files one after the other on one
// connection and writes the same bytes.
func TestExportWithoutSpareConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	for _, f := range []string{"day1.csv", "day2.csv"} {
		if _, err := Ingest(ctx, st, filepath.Join(goldenInput, f), IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	shared := t.TempDir()
	if _, err := Export(ctx, st, shared, ExportOptions{Formats: []Format{CSV, Parquet}}); err != nil {
		t.Fatal(err)
	}
	// The pool holds 4 connections; the export gets the last one.
	for range 3 {
		sn, err := st.SnapshotBegin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
	}
	pids := map[string]uint32{}
	alone := t.TempDir()
	opts := ExportOptions{Formats: []Format{CSV, Parquet}, beforeCopy: func(name string, part int, sn *store.Snapshot) {
		pids[fmt.Sprintf("%s %d", name, part)] = sn.PID()
	}}
	if _, err := Export(ctx, st, alone, opts); err != nil {
		t.Fatal(err)
	}
	if len(pids) != 2 || pids["chats 0"] != pids["messages 0"] {
		t.Errorf("read by server processes %v, want one", pids)
	}
	want, got := exported(t, shared), exported(t, alone)
	for name := range want {
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s differs from the export on two connections:\n%s\nwant:\n%s", name, got[name], want[name])
		}
	}
}
