package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// The contract's own material sits beside the repository, not in it
// (sharedDir).

// conformanceExpect is a case's expect.json.
type conformanceExpect struct {
	Inputs       []string `json:"inputs"`
	Chats        int64    `json:"chats"`
	Messages     int64    `json:"messages"`
	RowsRejected int64    `json:"rows_rejected"`
	// Loads has each input's counts as a load, when the case lists them.
	Loads []conformanceLoad `json:"loads"`
}

// conformanceLoad is one load's counts in expect.json. Pointers tell a
// count the case does not give from a zero.
type conformanceLoad struct {
	RowsRead       *int64  `json:"rows_read"`
	RowsRejected   *int64  `json:"rows_rejected"`
	RowsSuppressed *int64  `json:"rows_suppressed"`
	Status         *string `json:"status"`
	ChatsInserted  *int64  `json:"chats_inserted"`
	ChatsUpdated   *int64  `json:"chats_updated"`
	ChatsUnchanged *int64  `json:"chats_unchanged"`
	ChatsStale     *int64  `json:"chats_stale"`
	ChatsRetired   *int64  `json:"chats_retired"`
}

// check compares the counts the case gives with a load's.
func (want conformanceLoad) check(t *testing.T, what string, got store.LoadResult) {
	t.Helper()
	ints := []struct {
		name      string
		want      *int64
		got       int64
		supported bool
	}{
		{"rows_read", want.RowsRead, got.RowsRead, true},
		{"rows_rejected", want.RowsRejected, got.RowsRejected, true},
		{"rows_suppressed", want.RowsSuppressed, got.RowsSuppressed, true},
		{"chats_inserted", want.ChatsInserted, got.ChatsInserted, true},
		{"chats_updated", want.ChatsUpdated, got.ChatsUpdated, true},
		{"chats_unchanged", want.ChatsUnchanged, got.ChatsUnchanged, true},
		{"chats_stale", want.ChatsStale, got.ChatsStale, true},
		{"chats_retired", want.ChatsRetired, got.ChatsRetired, true},
	}
	for _, c := range ints {
		if c.want != nil && *c.want != c.got {
			t.Errorf("%s: %s = %d, want %d", what, c.name, c.got, *c.want)
		}
	}
	if want.Status != nil && *want.Status != got.Status {
		t.Errorf("%s: status %q, want %q", what, got.Status, *want.Status)
	}
}

// TestConformance runs every case of the shared conformance folder: its
// inputs ingested in order into a new database, then an export that must
// give the case's chats.csv and messages.csv byte for byte.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformanceDir := needShared(t, "conformance")
	entries, err := os.ReadDir(conformanceDir)
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
			if _, err := os.Stat(filepath.Join(dir, "plan.json")); err == nil {
				conformanceSequence(t, dir)
				return
			}
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
	if len(want.Loads) > 0 && len(want.Loads) != len(want.Inputs) {
		t.Fatalf("%s/expect.json: %d loads for %d inputs", dir, len(want.Loads), len(want.Inputs))
	}
	var rejected int64
	for i, in := range want.Inputs {
		loads, r := ingestJSON(t, url, filepath.Join(dir, in))
		if r.code != exitOK || len(loads) != 1 {
			t.Fatalf("ingest %s: exit %d, %d loads, want 0 and 1", in, r.code, len(loads))
		}
		rejected += loads[0].RowsRejected
		if len(want.Loads) > 0 {
			want.Loads[i].check(t, "load of "+in, loads[0])
		}
	}
	if rejected != want.RowsRejected {
		t.Errorf("rows rejected over all inputs = %d, want %d", rejected, want.RowsRejected)
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

// conformanceStep is one step of a sequence case's plan.json: an ingest
// (with --snapshot and --max-retire when set), a forget, or an export into
// a folder of expected files, as of, or since, the load an earlier ingest
// step made (given by that step's index).
type conformanceStep struct {
	Ingest    string   `json:"ingest"`
	Snapshot  bool     `json:"snapshot"`
	MaxRetire string   `json:"max_retire"`
	Forget    []string `json:"forget"`
	Export    string   `json:"export"`
	AsOf      *int     `json:"as_of"`
	Since     *int     `json:"since"`
}

// conformanceStepWant is a step's entry in expect.json: a load's counts,
// a forget's chats_erased, or an export's row counts (removed: the rows
// of removed.csv, null when the export has none).
type conformanceStepWant struct {
	conformanceLoad
	ChatsErased *int64 `json:"chats_erased"`
	Chats       *int64 `json:"chats"`
	Messages    *int64 `json:"messages"`
	Removed     *int64 `json:"removed"`
}

// conformanceSequence runs a sequence case step by step on one database,
// through the commands a user runs, and compares each step's counts and
// each export's files byte for byte.
func conformanceSequence(t *testing.T, dir string) {
	var plan []conformanceStep
	var want struct {
		Steps []conformanceStepWant `json:"steps"`
	}
	for name, v := range map[string]any{"plan.json": &plan, "expect.json": &want} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s/%s: %v", dir, name, err)
		}
	}
	if len(plan) == 0 || len(plan) != len(want.Steps) {
		t.Fatalf("%s: %d steps in plan.json, %d in expect.json", dir, len(plan), len(want.Steps))
	}
	url := dbtest.URL(t)
	loadOf := map[int]int64{} // plan index of an ingest step -> its load
	loadArg := func(i int, at *int) string {
		id, ok := loadOf[*at]
		if !ok {
			t.Fatalf("step %d: step %d is not an ingest step that made a load", i, *at)
		}
		return strconv.FormatInt(id, 10)
	}
	for i, step := range plan {
		w := want.Steps[i]
		what := fmt.Sprintf("step %d", i)
		switch {
		case step.Ingest != "":
			args := []string{"ingest", "--json"}
			if step.Snapshot {
				args = append(args, "--snapshot")
			}
			if step.MaxRetire != "" {
				args = append(args, "--max-retire", step.MaxRetire)
			}
			r := runCLI(t, url, nil, append(args, filepath.Join(dir, step.Ingest))...)
			var got store.LoadResult
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("%s: ingest %s printed %q: %v", what, step.Ingest, r.stdout, err)
			}
			wantCode := exitOK
			if w.Status != nil && *w.Status == "failed" {
				wantCode = exitRejectBudget // a failed step exits 3 and changes nothing
			}
			if r.code != wantCode {
				t.Errorf("%s: ingest %s: exit %d, want %d", what, step.Ingest, r.code, wantCode)
			}
			w.check(t, what+": ingest "+step.Ingest, got)
			loadOf[i] = got.LoadID
		case len(step.Forget) > 0:
			r := runCLI(t, url, nil, append([]string{"forget", "--json"}, step.Forget...)...)
			var got store.ForgetResult
			if err := json.Unmarshal([]byte(r.stdout), &got); r.code != exitOK || err != nil {
				t.Fatalf("%s: forget: exit %d, %q: %v", what, r.code, r.stdout, err)
			}
			if w.ChatsErased != nil && got.ChatsErased != *w.ChatsErased {
				t.Errorf("%s: chats_erased = %d, want %d", what, got.ChatsErased, *w.ChatsErased)
			}
		case step.Export != "":
			out := t.TempDir()
			args := []string{"export", "--json", "--out", out}
			files := []string{"chats.csv", "messages.csv"}
			switch {
			case step.AsOf != nil:
				args = append(args, "--as-of", loadArg(i, step.AsOf))
			case step.Since != nil:
				args = append(args, "--since", loadArg(i, step.Since))
				files = append(files, "removed.csv")
			}
			r := runCLI(t, url, nil, args...)
			var m chatstage.Manifest
			if err := json.Unmarshal([]byte(r.stdout), &m); r.code != exitOK || err != nil {
				t.Fatalf("%s: export: exit %d, %q: %v", what, r.code, r.stdout, err)
			}
			counts := map[string]*int64{"chats.csv": w.Chats, "messages.csv": w.Messages, "removed.csv": w.Removed}
			for _, f := range m.Files {
				if c := counts[f.Name]; c != nil && f.Rows != *c {
					t.Errorf("%s: %s has %d rows, want %d", what, f.Name, f.Rows, *c)
				}
			}
			for _, name := range files {
				exportSameFile(t, filepath.Join(out, name), filepath.Join(dir, step.Export, name))
			}
			if _, err := os.Stat(filepath.Join(out, "removed.csv")); step.Since == nil && err == nil {
				t.Errorf("%s: a full or past export wrote removed.csv", what)
			}
		default:
			t.Fatalf("%s: plan.json step of no known kind: %+v", what, step)
		}
	}
}

// TestExportSharedSample exports the contract's real sample: 50 chats, 91
// messages, the exact headers.
func TestExportSharedSample(t *testing.T) {
	t.Parallel()
	sharedSample := needShared(t, "data/source_chat_data.csv")
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
