package chatstage_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
)

// TestProgressOfAGzippedFile: a gzipped file's progress counts its stored
// (compressed) bytes against the file's size, as pv does, so a bar shows
// its percent and time left; only a pipe has no total.
func TestProgressOfAGzippedFile(t *testing.T) {
	t.Parallel()
	sample, err := os.ReadFile("testdata/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(sample)
	zw.Close()
	name := filepath.Join(t.TempDir(), "night.csv.gz")
	if err := os.WriteFile(name, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := dbtest.Store(t)
	for _, tt := range []struct {
		source string
		stdin  *bytes.Reader
		total  int64
	}{
		{name, nil, int64(gz.Len())},
		{"-", bytes.NewReader(sample), 0}, // a pipe: no total
	} {
		p := &chatstage.Progress{}
		opts := chatstage.IngestOptions{Progress: p, DryRun: true}
		if tt.stdin != nil {
			opts.Stdin = tt.stdin
		}
		if _, err := chatstage.Ingest(context.Background(), st, tt.source, opts); err != nil {
			t.Fatal(err)
		}
		if p.Total.Load() != tt.total || p.Bytes.Load() == 0 || (tt.total > 0 && p.Bytes.Load() > tt.total) {
			t.Errorf("%s: %d of %d bytes, want a total of %d", tt.source, p.Bytes.Load(), p.Total.Load(), tt.total)
		}
	}
}
