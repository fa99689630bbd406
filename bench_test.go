package chatstage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/chatgen"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// Whole loads of generated files (parse, look up, COPY, merge, commit),
// through the library as ingest runs them. docs/performance.md has the
// figures; scripts/bench.sh measures whole commands on big files.

func benchFile(b *testing.B, chats int, change float64) string {
	b.Helper()
	var buf bytes.Buffer
	if err := chatgen.Generate(&buf, chatgen.Options{Chats: chats, Seed: 1, Change: change}); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "source.csv")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	return p
}

func benchIngest(b *testing.B, st *store.Store, file string) chatstage.LoadResult {
	b.Helper()
	res, err := chatstage.Ingest(context.Background(), st, file, chatstage.IngestOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkIngestFirst: a first load of 5,000 chats into an empty database.
func BenchmarkIngestFirst(b *testing.B) {
	file := benchFile(b, 5000, 0)
	for b.Loop() {
		b.StopTimer()
		st, _ := dbtest.Store(b)
		b.StartTimer()
		if res := benchIngest(b, st, file); res.ChatsInserted != 5000 {
			b.Fatalf("load = %+v", res)
		}
	}
}

// BenchmarkIngestAgain: re-loading the same file: nothing to write.
func BenchmarkIngestAgain(b *testing.B) {
	file := benchFile(b, 5000, 0)
	st, _ := dbtest.Store(b)
	benchIngest(b, st, file)
	for b.Loop() {
		if res := benchIngest(b, st, file); res.ChatsUnchanged != 5000 {
			b.Fatalf("load = %+v", res)
		}
	}
}

// BenchmarkIngestNightly: a nightly file in which 10% of the chats
// changed, on top of the full load.
func BenchmarkIngestNightly(b *testing.B) {
	full := benchFile(b, 5000, 0)
	night := benchFile(b, 5000, 0.1)
	for b.Loop() {
		b.StopTimer()
		st, _ := dbtest.Store(b)
		benchIngest(b, st, full)
		b.StartTimer()
		if res := benchIngest(b, st, night); res.ChatsUpdated == 0 {
			b.Fatalf("load = %+v", res)
		}
	}
}
