package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/internal/parquetfile/duckdbtest"
)

// sharedSampleRel is the shared sample, by a path relative to this
// package: the shared folder sits beside the repository.
const sharedSampleRel = "../../../shared/data/source_chat_data.csv"

// exportFormats runs export --json with the given extra arguments into dir.
func exportFormats(t *testing.T, url, dir string, args ...string) chatstage.Manifest {
	t.Helper()
	code, out, _ := exportCmd(context.Background(), t, append([]string{"export", "--json", "--database-url", url, "--out", dir}, args...)...)
	if code != exitOK {
		t.Fatalf("export %s: exit %d, want 0", strings.Join(args, " "), code)
	}
	var m chatstage.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("export --json printed %q: %v", out, err)
	}
	return m
}

// checkManifest checks that the manifest lists exactly names, in order,
// and says each file's bytes and SHA-256 as they are in dir.
func checkManifest(t *testing.T, dir string, m chatstage.Manifest, names ...string) {
	t.Helper()
	var got []string
	for _, f := range m.Files {
		got = append(got, f.Name)
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if f.Bytes != int64(len(b)) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest: %s %d bytes sha256 %s; the file: %d bytes sha256 %x", f.Name, f.Bytes, f.SHA256, len(b), sum)
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("manifest lists %q, want %q", got, names)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk chatstage.Manifest
	if err := json.Unmarshal(b, &onDisk); err != nil || !slices.Equal(onDisk.Files, m.Files) {
		t.Errorf("manifest.json %s differs from what --json printed (%v)", b, err)
	}
	want := append(slices.Clone(names), "manifest.json")
	slices.Sort(want)
	if have := exportDirNames(t, dir); !slices.Equal(have, want) {
		t.Errorf("%s holds %q, want %q", dir, have, want)
	}
}

// TestExportParquet exports the project's source (every column rule) and
// the shared sample as CSV and Parquet at once, reads each Parquet file
// back with DuckDB and compares every value with the CSV of the same
// export; the manifest lists the four files. Parquet alone gives the same
// Parquet bytes, and so does an export whose CSV escapes formulas.
func TestExportParquet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, source string }{
		{"export source", filepath.Join(exportGoldenDir, "source.csv")},
		{"shared sample", sharedSampleRel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(tc.source); err != nil {
				t.Skipf("SKIPPED: %s is absent (the shared folder must sit beside the repository): the Parquet export of the shared sample is NOT checked", tc.source)
			}
			url := dbtest.URL(t)
			exportIngest(t, url, tc.source)
			both := t.TempDir()
			m := exportFormats(t, url, both, "--format", "csv,parquet")
			checkManifest(t, both, m, "chats.csv", "chats.parquet", "messages.csv", "messages.parquet")
			for i := 0; i < len(m.Files); i += 2 {
				csvFile, pqFile := m.Files[i], m.Files[i+1]
				src, err := os.ReadFile(filepath.Join(both, csvFile.Name))
				if err != nil {
					t.Fatal(err)
				}
				n := duckdbtest.CompareWithCSV(t, src, filepath.Join(both, pqFile.Name))
				if int64(n) != csvFile.Rows || pqFile.Rows != csvFile.Rows || n == 0 {
					t.Errorf("%s: %d rows, %s: %d rows, DuckDB compared %d", csvFile.Name, csvFile.Rows, pqFile.Name, pqFile.Rows, n)
				}
				meta := duckdbtest.Metadata(t, filepath.Join(both, pqFile.Name))
				if !slices.Equal(meta.Compression, []string{"ZSTD"}) || meta.Rows != pqFile.Rows {
					t.Errorf("%s: DuckDB reads %d rows, compression %v; want %d rows, ZSTD", pqFile.Name, meta.Rows, meta.Compression, pqFile.Rows)
				}
			}
			if tc.name == "export source" {
				exportSameFile(t, filepath.Join(both, "chats.csv"), filepath.Join(exportGoldenDir, "chats.csv"))
				exportSameFile(t, filepath.Join(both, "messages.csv"), filepath.Join(exportGoldenDir, "messages.csv"))
			}

			only := t.TempDir()
			mp := exportFormats(t, url, only, "--format", "parquet")
			checkManifest(t, only, mp, "chats.parquet", "messages.parquet")
			escaped := t.TempDir()
			me := exportFormats(t, url, escaped, "--format", "parquet,csv", "--escape-formulas")
			checkManifest(t, escaped, me, "chats.csv", "chats.parquet", "messages.csv", "messages.parquet")
			for i, f := range mp.Files {
				if f != m.Files[2*i+1] || f != me.Files[2*i+1] {
					t.Errorf("%s differs between exports: %+v alone, %+v beside the CSV, %+v beside the escaped CSV",
						f.Name, f, m.Files[2*i+1], me.Files[2*i+1])
				}
			}
		})
	}
}

// TestExportParquetEscapesOnlyCSV: with --escape-formulas the CSV cells
// are escaped and the Parquet values are the contract's.
func TestExportParquetEscapesOnlyCSV(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	file := writeSource(t, "f.csv",
		`=cmd,s,t,17,"[{""id"": ""m"", ""role"": ""user"", ""content"": ""@SUM(A1)"", ""disclaimer"": null}]","{""first_name"": ""+31 6"", ""pois"": [""-1""]}",2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,-,,1`)
	if r := runCLI(t, url, nil, "ingest", file); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	dir := t.TempDir()
	exportFormats(t, url, dir, "--format", "csv,parquet", "--escape-formulas")
	src, err := os.ReadFile(filepath.Join(dir, "messages.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), ",'=cmd,") || !strings.Contains(string(src), ",'@SUM(A1),") {
		t.Fatalf("messages.csv is not escaped:\n%s", src)
	}
	for file, want := range map[string]map[string]any{
		"messages.parquet": {"chatId": "=cmd", "content": "@SUM(A1)", "sentiment": "-", "pois": []any{"-1"}},
		"chats.parquet":    {"chatId": "=cmd", "first name": "+31 6", "name": "+31 6", "sentiment": "-"},
	} {
		cols, rows, _ := duckdbtest.Rows(t, filepath.Join(dir, file))
		got := map[string]any{}
		for i, c := range cols {
			got[c.Name] = rows[0][i]
		}
		for name, w := range want {
			if duckdbtest.Show(got[name]) != duckdbtest.Show(w) {
				t.Errorf("%s %q = %s, want the contract's %s", file, name, duckdbtest.Show(got[name]), duckdbtest.Show(w))
			}
		}
	}
}

func TestExportFormatUsage(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	for _, f := range []string{"xml", "csv,", "", "csv;parquet"} {
		r := runCLI(t, url, nil, "export", "--out", t.TempDir(), "--format", f)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--format") {
			t.Errorf("--format %q: exit %d\n%s", f, r.code, r.stderr)
		}
	}
	r := runCLI(t, url, nil, "export", "--out", t.TempDir(), "--format", "parquet", "--escape-formulas")
	if r.code != exitUsage || !strings.Contains(r.stderr, "writes no CSV") {
		t.Errorf("--escape-formulas without CSV: exit %d\n%s", r.code, r.stderr)
	}
}

// TestExportParquetPastAndDelta: --as-of and --since write Parquet too,
// from the same stream as their CSV: DuckDB reads back every value of a
// past and of a delta deliverable as the CSV beside it has it.
func TestExportParquetPastAndDelta(t *testing.T) {
	t.Parallel()
	l := newLife(t)
	l.mustIngest(nil, chatRow("A", "2025-07-01T08:00:00", "a1"), chatRow("B", "2025-07-01T08:00:00", "b1"),
		chatRow("C", "2025-07-01T08:00:00", "c1"))
	l.mustIngest([]string{"--snapshot", "--max-retire", "100%"}, chatRow("A", "2025-07-02T08:00:00", "a2"),
		chatRow("B", "2025-07-01T08:00:00", "b1"), chatRow("D", "2025-07-01T08:00:00", "d1"))
	for _, flags := range [][]string{{"--as-of", "1"}, {"--since", "1"}} {
		dir := t.TempDir()
		m := exportFormats(t, l.url, dir, append(flags, "--format", "csv,parquet")...)
		names := []string{"chats.csv", "chats.parquet", "messages.csv", "messages.parquet"}
		if flags[0] == "--since" {
			names = append(names, "removed.csv")
		}
		checkManifest(t, dir, m, names...)
		for i := 0; i < 4; i += 2 {
			src, err := os.ReadFile(filepath.Join(dir, m.Files[i].Name))
			if err != nil {
				t.Fatal(err)
			}
			if n := duckdbtest.CompareWithCSV(t, src, filepath.Join(dir, m.Files[i+1].Name)); int64(n) != m.Files[i].Rows || n == 0 {
				t.Errorf("%v %s: DuckDB compared %d rows, the CSV has %d", flags, m.Files[i+1].Name, n, m.Files[i].Rows)
			}
		}
	}
}
