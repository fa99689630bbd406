// Package duckdbtest reads Parquet files back with DuckDB, a reader that is
// not the writer, for the tests of internal/parquetfile and of the export
// that writes its files (cmd/chatstage). It runs DuckDB through the npm
// package @duckdb/node-api and internal/parquetfile/testdata/duckdb/read.mjs.
//
// It also says, from docs/rules.md section 4 and issue 16 and not from the
// writer's own tables, what DuckDB must read for each CSV value: the
// expectation a test compares the Parquet with.
//
// The first test that needs DuckDB runs `npm ci` in testdata/duckdb (once;
// node_modules stays there, git-ignored, for the next run; a file lock keeps
// two test binaries from installing at once). Without node, npm or the
// package a test fails, saying so, unless CHATSTAGE_SKIP_DUCKDB=1, which
// makes it skip instead. It is for tests only: it calls testing.TB.
package duckdbtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SkipEnv names the variable that turns a missing DuckDB into a skip.
const SkipEnv = "CHATSTAGE_SKIP_DUCKDB"

var duck struct {
	once sync.Once
	node string // path of node
	dir  string // absolute path of testdata/duckdb
	err  error
}

// readerDir is internal/parquetfile/testdata/duckdb, found from this
// file's path so that any package's test can use it.
func readerDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot tell where package duckdbtest is")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "duckdb"), nil
}

// setup returns the node binary and the reader's folder, or ends the test.
func setup(t testing.TB) (node, dir string) {
	t.Helper()
	duck.once.Do(func() { duck.node, duck.dir, duck.err = install() })
	if duck.err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("SKIPPED, %s=1: the Parquet is NOT checked with DuckDB: %v", SkipEnv, duck.err)
		}
		t.Fatalf("DuckDB reader unavailable: %v\n"+
			"These tests read the Parquet back with DuckDB through Node.js: they need node and npm "+
			"(Node.js 20 or later) on PATH and the npm registry for `npm ci` in %s. "+
			"Set %s=1 to skip them where that is impossible.", duck.err, "internal/parquetfile/testdata/duckdb", SkipEnv)
	}
	return duck.node, duck.dir
}

func install() (node, dir string, err error) {
	if dir, err = readerDir(); err != nil {
		return "", "", err
	}
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", fmt.Errorf("node not found: %w", err)
	}
	// go test runs the packages' test binaries in parallel: the first to
	// get here installs, the others wait and then find it installed.
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	if probe(node, dir) == nil {
		return node, dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", "", fmt.Errorf("npm not found: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	if err := probe(node, dir); err != nil {
		return "", "", fmt.Errorf("after npm ci: %w", err)
	}
	return node, dir, nil
}

// probe checks that the installed @duckdb/node-api is the pinned one and
// loads: read.mjs without arguments imports it, then exits 2.
func probe(node, dir string) error {
	var pkg, inst struct {
		Version      string
		Dependencies map[string]string
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"), &inst); err != nil {
		return err
	}
	if want := pkg.Dependencies["@duckdb/node-api"]; inst.Version != want {
		return fmt.Errorf("@duckdb/node-api %s installed, package.json pins %s", inst.Version, want)
	}
	cmd := exec.Command(node, "read.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		return fmt.Errorf("node read.mjs: %v\n%s", err, out)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// run runs read.mjs in mode on file and returns its standard output.
func run(t testing.TB, mode, file string) []byte {
	t.Helper()
	node, dir := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "read.mjs", mode, abs)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB could not read %s: %v\n%s", file, err, stderr.Bytes())
	}
	return out
}

// Column is a column as DuckDB reads it.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Rows reads file with DuckDB: its columns and its rows, each value as
// read.mjs prints it (nil, string, bool, or []any for a list; a timestamp
// as 2025-05-28T12:55:10.546493Z), and read.mjs's output itself.
func Rows(t testing.TB, file string) (cols []Column, rows [][]any, out []byte) {
	t.Helper()
	out = run(t, "rows", file)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<30)
	if !sc.Scan() {
		t.Fatalf("DuckDB printed nothing for %s", file)
	}
	var head struct{ Columns []Column }
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
		t.Fatalf("DuckDB's schema line: %v", err)
	}
	for sc.Scan() {
		var row []any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("DuckDB's row %d: %v", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return head.Columns, rows, out
}

// Meta is a Parquet file's metadata as DuckDB reads it.
type Meta struct {
	RowGroups   int      `json:"row_groups"`
	Rows        int64    `json:"rows"`
	Compression []string `json:"compression"`
	Schema      []struct {
		Name          string  `json:"name"`
		Type          *string `json:"type"`
		ConvertedType *string `json:"converted_type"`
		LogicalType   *string `json:"logical_type"`
		Repetition    *string `json:"repetition_type"`
	} `json:"schema"`
}

// Metadata reads file's Parquet metadata with DuckDB.
func Metadata(t testing.TB, file string) Meta {
	t.Helper()
	var m Meta
	if err := json.Unmarshal(run(t, "meta", file), &m); err != nil {
		t.Fatalf("DuckDB's metadata of %s: %v", file, err)
	}
	return m
}

// The types issue 16 gives the deliverables' columns in Parquet; every
// other column is a string. A name is in these lists for both files: the
// array columns of chats.csv and messages.csv differ, but no array column
// of one is a column of another type in the other.
var (
	boolColumns = []string{"is test chat", "is chat classified", "is default chat", "has email", "is structured info extracted"}
	timeColumns = []string{"created at", "updated at"}
	listColumns = []string{"locations", "pois", "provinces", "section type", "trip type", "countries", "email types",
		"actions", "cities", "regions", "categories", "themes", "current brands"}
)

// DuckDB's names of the types.
const (
	TypeString    = "VARCHAR"
	TypeBool      = "BOOLEAN"
	TypeTimestamp = "TIMESTAMP WITH TIME ZONE"
	TypeList      = "VARCHAR[]"
)

// TypeOf returns the DuckDB type that the deliverables' column name must
// read as.
func TypeOf(name string) string {
	switch {
	case slices.Contains(boolColumns, name):
		return TypeBool
	case slices.Contains(timeColumns, name):
		return TypeTimestamp
	case slices.Contains(listColumns, name):
		return TypeList
	}
	return TypeString
}

// cr stands in for CR while encoding/csv reads: it turns a quoted CRLF
// into LF, where COPY's value keeps the CR.
const cr = "\uE000"

// ExpectRows is what DuckDB must read for a deliverable's CSV, worked out
// apart from the writer: encoding/csv reads the CSV, the types come from
// TypeOf, and a JSON decoder with UseNumber reads the arrays, each element
// rendered as a scalar column renders a JSON value. It returns the header
// and the rows.
func ExpectRows(t testing.TB, src []byte) (header []string, rows [][]any) {
	t.Helper()
	if bytes.Contains(src, []byte(cr)) {
		t.Fatal("the CSV holds U+E000, which ExpectRows uses in place of CR")
	}
	r := csv.NewReader(bytes.NewReader(bytes.ReplaceAll(src, []byte("\r"), []byte(cr))))
	records, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v", err)
	}
	if len(records) == 0 {
		t.Fatal("the CSV has no header")
	}
	header = records[0]
	for n, rec := range records[1:] {
		row := make([]any, len(rec))
		for i, f := range rec {
			f = strings.ReplaceAll(f, cr, "\r")
			switch typ := TypeOf(header[i]); {
			case f == "":
				row[i] = nil
			case typ == TypeBool:
				if f != "true" && f != "false" {
					t.Fatalf("row %d, %q: %q is no boolean", n+1, header[i], f)
				}
				row[i] = f == "true"
			case typ == TypeList:
				row[i] = ExpectList(t, f)
			default: // a string, or a timestamp, which read.mjs prints as the CSV writes it
				row[i] = f
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// ExpectList is the list DuckDB must read for a CSV value of an array
// column: each element of the JSON array s as a scalar column renders it.
func ExpectList(t testing.TB, s string) []any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		t.Fatalf("%q is not a JSON array", s)
	}
	list := []any{}
	for dec.More() {
		start := dec.InputOffset()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		raw := strings.TrimLeft(s[start:dec.InputOffset()], ", \t\r\n")
		switch v := v.(type) {
		case nil:
			list = append(list, nil)
		case string:
			list = append(list, v)
		case json.Number:
			list = append(list, string(v))
		case bool:
			list = append(list, strconv.FormatBool(v))
		default:
			list = append(list, raw)
		}
	}
	return list
}

// CompareWithCSV reads the Parquet at path with DuckDB and compares it with
// the CSV it must hold: the column names in order, their types, the rows in
// order, and every value. It returns the rows compared.
func CompareWithCSV(t testing.TB, src []byte, path string) int {
	t.Helper()
	cols, got, _ := Rows(t, path)
	header, want := ExpectRows(t, src)
	if len(cols) != len(header) {
		t.Fatalf("%s: DuckDB reads %d columns, the CSV has %d", path, len(cols), len(header))
	}
	for i, name := range header {
		if cols[i].Name != name || cols[i].Type != TypeOf(name) {
			t.Errorf("%s: column %d: DuckDB reads %q %s, want %q %s", path, i, cols[i].Name, cols[i].Type, name, TypeOf(name))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: DuckDB reads %d rows, the CSV has %d", path, len(got), len(want))
	}
	bad := 0
	for r := range want {
		for i, name := range header {
			if !equal(got[r][i], want[r][i]) {
				if bad++; bad <= 20 {
					t.Errorf("%s: row %d, %q: DuckDB reads %s, the CSV says %s", path, r+1, name, Show(got[r][i]), Show(want[r][i]))
				}
			}
		}
	}
	if bad > 20 {
		t.Errorf("%s: %d values differ in all", path, bad)
	}
	return len(want)
}

func equal(a, b any) bool {
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		return ok && slices.EqualFunc(la, lb, equal)
	}
	return a == b
}

// Show renders a value as read.mjs's JSON, for messages.
func Show(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}
