package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
)

// The contract's own material sits beside the repository, not in it.
const (
	conformanceDir = "../../../shared/conformance"
	sharedSample   = "../../../shared/data/source_chat_data.csv"
)

// conformanceExpect is a case's expect.json.
type conformanceExpect struct {
	Inputs       []string `json:"inputs"`
	Chats        int64    `json:"chats"`
	Messages     int64    `json:"messages"`
	RowsRejected int64    `json:"rows_rejected"`
}

// TestConformance runs every case of the shared conformance folder: its
// inputs ingested in order into a new database, then an export that must
// give the case's chats.csv and messages.csv byte for byte.
func TestConformance(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(conformanceDir)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("skipping: %s is absent (the shared contract folder must sit beside the repository)", conformanceDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(conformanceDir, ent.Name())
		t.Run(ent.Name(), func(t *testing.T) {
			t.Parallel()
			conformanceCase(t, dir)
		})
	}
	if n == 0 {
		t.Fatalf("no case folder in %s", conformanceDir)
	}
}

func conformanceCase(t *testing.T, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want conformanceExpect
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s/expect.json: %v", dir, err)
	}
	if len(want.Inputs) == 0 {
		t.Fatalf("%s/expect.json lists no inputs", dir)
	}
	url := dbtest.URL(t)
	var files []string
	for _, in := range want.Inputs {
		files = append(files, filepath.Join(dir, in))
	}
	if got := exportIngest(t, url, files...); got != want.RowsRejected {
		t.Errorf("rows rejected over all inputs = %d, want %d", got, want.RowsRejected)
	}

	out := t.TempDir()
	x := exportRun(t, url, out)
	rows := map[string]int64{"chats.csv": want.Chats, "messages.csv": want.Messages}
	for _, f := range x.Files {
		if f.Rows != rows[f.Name] {
			t.Errorf("%s: exported %d rows, want %d", f.Name, f.Rows, rows[f.Name])
		}
	}
	for _, name := range []string{"chats.csv", "messages.csv"} {
		wantPath := filepath.Join(dir, name)
		if n := exportCSVRecords(t, wantPath) - 1; n != rows[name] {
			t.Errorf("the case itself disagrees: %s has %d rows, expect.json says %d", wantPath, n, rows[name])
		}
		exportSameFile(t, filepath.Join(out, name), wantPath)
	}
}

// TestExportSharedSample exports the contract's real sample: 50 chats, 91
// messages, the exact headers.
func TestExportSharedSample(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(sharedSample); err != nil {
		t.Skipf("skipping: %s is absent (the shared contract folder must sit beside the repository)", sharedSample)
	}
	url := dbtest.URL(t)
	if n := exportIngest(t, url, sharedSample); n != 0 {
		t.Errorf("%d rows rejected, want 0", n)
	}
	out := t.TempDir()
	x := exportRun(t, url, out)
	want := map[string]struct {
		rows   int64
		header string
	}{
		"chats.csv":    {50, contractChatsHeader},
		"messages.csv": {91, contractMessagesHeader},
	}
	if len(x.Files) != 2 {
		t.Fatalf("exported %d files, want 2: %+v", len(x.Files), x.Files)
	}
	for _, f := range x.Files {
		w := want[f.Name]
		if f.Rows != w.rows {
			t.Errorf("%s: %d rows, want %d", f.Name, f.Rows, w.rows)
		}
		if n := exportCSVRecords(t, filepath.Join(out, f.Name)) - 1; n != w.rows {
			t.Errorf("%s holds %d records after its header, want %d", f.Name, n, w.rows)
		}
		if h := exportFirstLine(t, filepath.Join(out, f.Name)); h != w.header {
			t.Errorf("%s header:\n got %s\nwant %s", f.Name, h, w.header)
		}
	}
}
