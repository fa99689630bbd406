package chatstage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

const testHeader = "chat_id,slug,token,organization_id,conversation_log,structured_info,created_at,updated_at,language,is_test_chat,sentiment,resolution,message_count\n"

// nothingKept is a lookup on an empty database.
func nothingKept(_ context.Context, keys []etl.Key) ([]store.KeyState, error) {
	return make([]store.KeyState, len(keys)), nil
}

func newTestPipeline(t *testing.T, src string, lookup lookupFunc, workers int) *pipeline {
	t.Helper()
	rd, err := etl.NewReader(strings.NewReader(src), etl.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return startPipeline(context.Background(), "test.csv", rd, lookup, IngestOptions{Workers: workers, SampleRejects: 3}, &Progress{})
}

// TestPipelineKeepsFileOrder: batches come out in file order whatever the
// number of workers, every record once, the first row of each new chat
// Direct and the others Merged.
func TestPipelineKeepsFileOrder(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(testHeader)
	for i := range 3000 {
		if i%7 == 0 {
			b.WriteString(",reject,t\n") // a wrong field count
			continue
		}
		fmt.Fprintf(&b, "C-%d,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n", i%1000)
	}
	p := newTestPipeline(t, b.String(), nothingKept, 4)
	var last int64
	n, direct := 0, 0
	for p.Next() {
		batch := p.Batch()
		var lines []int64
		for _, r := range append(batch.Direct, batch.Merged...) {
			lines = append(lines, r.Line)
		}
		for _, r := range batch.Rejects {
			lines = append(lines, r.Line)
		}
		slices.Sort(lines)
		if len(lines) > 0 && lines[0] <= last {
			t.Fatalf("batch starting at line %d came after line %d", lines[0], last)
		}
		last = lines[len(lines)-1]
		n += len(lines)
		direct += len(batch.Direct)
	}
	if err := p.Err(); err != nil || n != 3000 {
		t.Fatalf("err %v, %d records", err, n)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if direct > 1000 || direct < 990 { // 1000 chats, and a rare false positive of the filter
		t.Errorf("%d direct rows, want about 1000", direct)
	}
	if got := p.sample.rejects(); len(got) != 3 || got[0].Line != 2 || got[1].Line != 9 || got[2].Line != 16 {
		t.Errorf("sample %+v", got)
	}
	if p.progress.Rows.Load() != 3000 {
		t.Errorf("progress counted %d rows", p.progress.Rows.Load())
	}
}

// TestPipelineSortsByWhatIsKept: rows the database keeps as they are
// travel as keys (the first of their chat, or again); a chat the
// database has is merged.
func TestPipelineSortsByWhatIsKept(t *testing.T) {
	t.Parallel()
	src := testHeader +
		"K,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n" + // kept
		"E,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n" + // the chat exists
		"K,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n" + // kept, again
		"N,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n" + // new
		"N,s,t,17,[],{},,2025-07-02T08:05:00,nl,,,,0\n" // new, again
	lookup := func(_ context.Context, keys []etl.Key) ([]store.KeyState, error) {
		out := make([]store.KeyState, len(keys))
		for i, k := range keys {
			switch k.ChatID {
			case "K":
				out[i] = store.KeyState{Known: true, Current: true, ChatExists: true}
			case "E":
				out[i] = store.KeyState{ChatExists: true}
			}
		}
		return out, nil
	}
	p := newTestPipeline(t, src, lookup, 2)
	if !p.Next() {
		t.Fatal(p.Err())
	}
	b := p.Batch()
	lines := func(rows []*etl.Row) (out []int64) {
		for _, r := range rows {
			out = append(out, r.Line)
		}
		return out
	}
	if got := lines(b.Direct); !reflect.DeepEqual(got, []int64{5}) {
		t.Errorf("direct %v", got)
	}
	if got := lines(b.Merged); !reflect.DeepEqual(got, []int64{3, 6}) {
		t.Errorf("merged %v", got)
	}
	if len(b.KnownFirst) != 1 || b.KnownFirst[0].Line != 2 || !b.KnownFirst[0].Current || len(b.KnownAgain) != 1 || b.KnownAgain[0].Line != 4 {
		t.Errorf("known %+v %+v", b.KnownFirst, b.KnownAgain)
	}
	if p.Next() {
		t.Error("a second batch")
	}
	p.stop()
}

// TestPipelineErrors: a lookup's error ends the batches and is the
// pipeline's error; a read error names the file.
func TestPipelineErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	p := newTestPipeline(t, testHeader+"C,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n",
		func(context.Context, []etl.Key) ([]store.KeyState, error) { return nil, boom }, 2)
	for p.Next() {
	}
	if err := p.stop(); !errors.Is(err, boom) {
		t.Errorf("stop = %v, want the lookup's error", err)
	}
	gone := errors.New("disk gone")
	rd, err := etl.NewReader(io.MultiReader(strings.NewReader(testHeader+"C,s"), iotest.ErrReader(gone)), etl.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = startPipeline(context.Background(), "big.csv", rd, nothingKept, IngestOptions{}, &Progress{})
	for p.Next() {
	}
	if err := p.stop(); !errors.Is(err, gone) || !strings.Contains(err.Error(), "reading big.csv") {
		t.Errorf("stop = %v, want the read error naming the file", err)
	}
}

func TestRejectSampleKeepsFirstLines(t *testing.T) {
	t.Parallel()
	s := rejectSample{n: 3}
	add := func(lines ...int64) {
		var b []etl.Reject
		for _, l := range lines {
			b = append(b, etl.Reject{Line: l, Code: etl.RejectFieldCount})
		}
		s.add(b)
	}
	add(40, 41, 45)
	add()
	add(7, 50)
	add(12, 3)
	var got []int64
	for _, r := range s.rejects() {
		got = append(got, r.Line)
	}
	if !reflect.DeepEqual(got, []int64{3, 7, 12}) {
		t.Errorf("kept lines %v, want [3 7 12]", got)
	}
	none := rejectSample{}
	none.add([]etl.Reject{{Line: 1}})
	if len(none.rejects()) != 0 {
		t.Error("a sample of 0 kept a reject")
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestPipelineOneBigRecordAtATime: after a record of bigRecordBytes or
// more, the reader reads on only once the load is done with it, so that
// memory holds one such record, not one per stage.
func TestPipelineOneBigRecordAtATime(t *testing.T) {
	t.Parallel()
	record := func(id string) string {
		return id + `,s,t,17,"[{""content"": ""` + strings.Repeat("x", bigRecordBytes+1000) + `""}]",{},,2025-07-01T08:05:00,nl,,,,1` + "\n"
	}
	src := &countingReader{r: strings.NewReader(testHeader + record("A") + record("B") + record("C"))}
	rd, err := etl.NewReader(src, etl.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := startPipeline(context.Background(), "big.csv", rd, nothingKept, IngestOptions{}, &Progress{})
	one := int64(len(record("A")))
	for i := range 3 {
		if !p.Next() {
			t.Fatalf("batch %d: %v", i, p.Err())
		}
		time.Sleep(100 * time.Millisecond) // the reader would read on now, if it could
		// Read so far: the records handed out, and at most the read
		// buffers (64 kB each) of the next.
		if read, limit := src.n.Load(), int64(len(testHeader))+int64(i+1)*one+256<<10; read > limit {
			t.Errorf("batch %d: %d bytes read while the load holds a big record, want at most %d", i, read, limit)
		}
	}
	if p.Next() {
		t.Error("a fourth batch")
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
}
