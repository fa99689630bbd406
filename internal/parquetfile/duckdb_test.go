package parquetfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests read every Parquet file back with DuckDB, a real consumer,
// through the npm package @duckdb/node-api and testdata/duckdb/read.mjs.
// The first test that needs it runs `npm ci` in testdata/duckdb (once; the
// node_modules folder stays there, git-ignored, for the next run). Without
// node, npm or the package the tests fail, saying so, unless
// CHATSTAGE_SKIP_DUCKDB=1, which makes them skip instead.
const skipDuckDBEnv = "CHATSTAGE_SKIP_DUCKDB"

var duck struct {
	once sync.Once
	node string // path of node
	dir  string // absolute path of testdata/duckdb
	err  error
}

// duckDB returns the node binary and the reader's folder, or ends the test.
func duckDB(t testing.TB) (node, dir string) {
	t.Helper()
	duck.once.Do(func() { duck.node, duck.dir, duck.err = setupDuckDB() })
	if duck.err != nil {
		if os.Getenv(skipDuckDBEnv) == "1" {
			t.Skipf("SKIPPED, %s=1: the Parquet is NOT checked with DuckDB: %v", skipDuckDBEnv, duck.err)
		}
		t.Fatalf("DuckDB reader unavailable: %v\n"+
			"These tests read the Parquet back with DuckDB through Node.js: they need node and npm "+
			"(Node.js 20 or later) on PATH and the npm registry for `npm ci` in %s. "+
			"Set %s=1 to skip them where that is impossible.", duck.err, "internal/parquetfile/testdata/duckdb", skipDuckDBEnv)
	}
	return duck.node, duck.dir
}

func setupDuckDB() (node, dir string, err error) {
	dir, err = filepath.Abs(filepath.Join("testdata", "duckdb"))
	if err != nil {
		return "", "", err
	}
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", fmt.Errorf("node not found: %w", err)
	}
	if probeDuckDB(node, dir) == nil {
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
	if err := probeDuckDB(node, dir); err != nil {
		return "", "", fmt.Errorf("after npm ci: %w", err)
	}
	return node, dir, nil
}

// probeDuckDB checks that the installed @duckdb/node-api is the pinned one
// and loads: read.mjs without arguments imports it, then exits 2.
func probeDuckDB(node, dir string) error {
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

// runReader runs read.mjs in mode on file and returns its standard output.
func runReader(t testing.TB, mode, file string) []byte {
	t.Helper()
	node, dir := duckDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "read.mjs", mode, file)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB could not read %s: %v\n%s", file, err, stderr.Bytes())
	}
	return out
}

type duckColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// duckRows reads file with DuckDB: its columns and its rows, each value as
// read.mjs prints it (nil, string, bool, or []any for a list), and
// read.mjs's output itself.
func duckRows(t testing.TB, file string) (cols []duckColumn, rows [][]any, out []byte) {
	t.Helper()
	out = runReader(t, "rows", file)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<30)
	if !sc.Scan() {
		t.Fatalf("DuckDB printed nothing for %s", file)
	}
	var head struct{ Columns []duckColumn }
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

type duckMeta struct {
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

// duckMetadata reads file's Parquet metadata with DuckDB.
func duckMetadata(t testing.TB, file string) duckMeta {
	t.Helper()
	var m duckMeta
	if err := json.Unmarshal(runReader(t, "meta", file), &m); err != nil {
		t.Fatalf("DuckDB's metadata of %s: %v", file, err)
	}
	return m
}

// duckType is the DuckDB type a column of kind k must read as.
func duckType(k kind) string {
	switch k {
	case kindBool:
		return "BOOLEAN"
	case kindTime:
		return "TIMESTAMP WITH TIME ZONE"
	case kindList:
		return "VARCHAR[]"
	}
	return "VARCHAR"
}

// show renders a value as read.mjs's JSON, for messages.
func show(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}
