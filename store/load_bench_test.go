package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/internal/chatgen"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// load runs one whole load of data, as ingest does.
func load(b *testing.B, st *store.Store, data []byte) store.Load {
	b.Helper()
	ctx := context.Background()
	rd, err := etl.NewReader(bytes.NewReader(data), etl.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	id, err := st.LoadBegin(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	lookup, err := st.LoadLookup(ctx)
	if err != nil {
		b.Fatal(err)
	}
	batches := make(chan *etl.Batch, 4)
	done := make(chan error, 1)
	go func() { done <- etl.Stream(ctx, rd, etl.StreamOptions{Lookup: lookup}, batches) }()
	res, err := st.LoadRun(ctx, store.LoadParams{LoadID: id, Source: "bench", Batches: batches,
		Finish: func() (store.SourceInfo, error) { return store.SourceInfo{}, <-done }})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func benchData(b *testing.B, chats int, change float64) []byte {
	var buf bytes.Buffer
	if err := chatgen.Generate(&buf, chatgen.Options{Chats: chats, Seed: 1, Change: change}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkLoadFirst measures a first load (parse, COPY, merge, commit) of
// 5,000 chats into an empty database.
func BenchmarkLoadFirst(b *testing.B) {
	data := benchData(b, 5000, 0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		st, _ := dbtest.Store(b)
		b.StartTimer()
		if res := load(b, st, data); res.ChatsInserted != 5000 {
			b.Fatalf("load = %+v", res)
		}
	}
}

// BenchmarkLoadAgain measures re-loading the same file: nothing to write.
func BenchmarkLoadAgain(b *testing.B) {
	data := benchData(b, 5000, 0)
	st, _ := dbtest.Store(b)
	load(b, st, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if res := load(b, st, data); res.ChatsUnchanged != 5000 {
			b.Fatalf("load = %+v", res)
		}
	}
}

// BenchmarkLoadNightly measures a nightly file in which 10% of the chats
// changed, on top of the full load.
func BenchmarkLoadNightly(b *testing.B) {
	full := benchData(b, 5000, 0)
	night := benchData(b, 5000, 0.1)
	b.SetBytes(int64(len(night)))
	for b.Loop() {
		b.StopTimer()
		st, _ := dbtest.Store(b)
		load(b, st, full)
		b.StartTimer()
		if res := load(b, st, night); res.ChatsUpdated == 0 {
			b.Fatalf("load = %+v", res)
		}
	}
}
