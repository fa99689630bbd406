package parquetfile

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMemoryFlat writes 20,000 and 200,000 generated messages.csv rows and
// compares the memory they take: ten times the rows must not take anywhere
// near ten times the memory. Row groups are small here so that both runs
// close several; the bound is then the row group, not the file. Two
// measures: the peak of HeapInuse (garbage included, so noisy), and the
// live heap after a forced collection every 10,000 rows (steady).
func TestMemoryFlat(t *testing.T) {
	// Not parallel: the test reads the process's heap, and parallel tests
	// wait until the sequential ones are done.
	if testing.Short() {
		t.Skip("writes 220,000 rows")
	}
	opts := Options{RowGroupRows: 10_000}
	small := measureHeap(t, 20_000, opts)
	large := measureHeap(t, 200_000, opts)
	t.Logf("RowGroupRows %d: %s", opts.RowGroupRows, small)
	t.Logf("RowGroupRows %d: %s", opts.RowGroupRows, large)
	if large.peak > 3*small.peak {
		t.Errorf("peak heap in use grows with the rows: %d MiB for %d rows, %d MiB for %d",
			large.peak>>20, large.rows, small.peak>>20, small.rows)
	}
	if large.live > small.live+small.live/2+4<<20 {
		t.Errorf("live heap grows with the rows: %d MiB for %d rows, %d MiB for %d",
			large.live>>20, large.rows, small.live>>20, small.rows)
	}
	if testing.Verbose() { // the defaults, for the record
		t.Logf("defaults: %s", measureHeap(t, 20_000, Options{}))
		t.Logf("defaults: %s", measureHeap(t, 200_000, Options{}))
	}
}

type heapRun struct {
	rows     int
	csvBytes int64
	parquet  int64
	peak     uint64 // highest HeapInuse seen, less the heap in use before
	live     uint64 // highest HeapAlloc right after a collection, less the same before
	elapsed  time.Duration
}

func (r heapRun) String() string {
	return fmt.Sprintf("%d rows, %d MiB of CSV -> %d MiB of Parquet in %v: peak heap in use +%d MiB, live heap +%.1f MiB",
		r.rows, r.csvBytes>>20, r.parquet>>20, r.elapsed.Round(time.Millisecond), r.peak>>20, float64(r.live)/(1<<20))
}

// measureHeap writes rows generated rows, one Write per row as COPY does,
// samples the heap in use every 1,000 rows and the live heap every 10,000.
func measureHeap(t *testing.T, rows int, opts Options) heapRun {
	t.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, baseLive := ms.HeapInuse, ms.HeapAlloc
	run := heapRun{rows: rows}
	sample := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > base {
			run.peak = max(run.peak, ms.HeapInuse-base)
		}
	}
	sampleLive := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > baseLive {
			run.live = max(run.live, ms.HeapAlloc-baseLive)
		}
	}
	var out countingWriter
	w, err := NewWriter(&out, Messages, opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	gen := newRowGen(1)
	line := []byte(strings.Join(Messages.Header(), ",") + "\n")
	for i := 0; i <= rows; i++ {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
		run.csvBytes += int64(len(line))
		line = gen.row(line[:0], i)
		if i%1000 == 0 {
			sample()
		}
		if i%10_000 == 5_000 { // mid-group, so the group's pages are held
			sampleLive()
		}
	}
	sample()
	sampleLive()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run.elapsed = time.Since(start)
	run.parquet = out.n
	if w.Rows() != int64(rows) {
		t.Fatalf("Rows() = %d, want %d", w.Rows(), rows)
	}
	return run
}

func BenchmarkWriter(b *testing.B) {
	gen := newRowGen(1)
	csv := []byte(strings.Join(Messages.Header(), ",") + "\n")
	var ends []int
	for i := range 10_000 {
		csv = gen.row(csv, i)
		ends = append(ends, len(csv))
	}
	b.SetBytes(int64(len(csv)))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(&countingWriter{}, Messages, Options{})
		if err != nil {
			b.Fatal(err)
		}
		from := 0
		for _, to := range ends { // one Write per row, as COPY
			if _, err := w.Write(csv[from:to]); err != nil {
				b.Fatal(err)
			}
			from = to
		}
		if _, err := w.Write(csv[from:]); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// rowGen makes messages.csv rows like an export's: ten messages per chat,
// chat-level columns repeated, a few hundred bytes of varied content with
// commas, quotes and newlines, arrays with strings and numbers.
type rowGen struct {
	rnd    *rand.Rand
	fields []string
	index  map[string]int
}

func newRowGen(seed uint64) *rowGen {
	g := &rowGen{rnd: rand.New(rand.NewPCG(seed, seed)), index: map[string]int{}}
	g.fields = Messages.Header()
	for i, n := range g.fields {
		g.index[n] = i
	}
	return g
}

var genWords = strings.Fields(`Málaga Heraklion Antalya Napels Faro Willemstad Zürich Kraków Nice Split
	hotel strand zwembad kinderen all-inclusive vlucht juli oktober prijs "gratis" annuleren, boeking
	gemiddeld 28°C regen resort 😀 €650 p.p. <a href="/mijn-boeking">Mijn boeking</a> & bel ons`)

func (g *rowGen) row(dst []byte, i int) []byte {
	chat := i / 10
	ts := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(chat) * 1234567 * time.Microsecond)
	var content strings.Builder
	for n := 20 + g.rnd.IntN(80); n > 0; n-- {
		content.WriteString(genWords[g.rnd.IntN(len(genWords))])
		if g.rnd.IntN(12) == 0 {
			content.WriteByte('\n')
		} else {
			content.WriteByte(' ')
		}
	}
	for j := range g.fields {
		g.fields[j] = ""
	}
	set := func(name, v string) { g.fields[g.index[name]] = v }
	city := genWords[chat%10]
	set("locations", `["`+city+`","Spanje"]`)
	set("pois", `[]`)
	set("provinces", `[]`)
	set("trip type", `["beach"]`)
	set("regions", `[]`)
	set("countries", `["Spanje",2.50,null]`)
	set("categories", `[{"id":`+strconv.Itoa(chat%7)+`}]`)
	set("themes", `[]`)
	set("cities", `["`+city+`"]`)
	set("current brands", `["Zoover"]`)
	set("chatId", "chat-"+strconv.Itoa(chat))
	set("slug", "s-"+strconv.Itoa(chat))
	set("token", "t-"+strconv.FormatUint(g.rnd.Uint64(), 36))
	set("organizationId", strconv.Itoa(chat%17))
	set("language", "nl")
	set("sentiment", "positive")
	set("is test chat", "false")
	set("is chat classified", "true")
	set("is default chat", "false")
	set("is structured info extracted", "true")
	set("role", []string{"assistant", "user"}[i%2])
	set("conversationLogType", "default")
	set("messageId", fmt.Sprintf("%08x-%04x", chat, i%10))
	set("sk messageId", fmt.Sprintf("%04d#%08x-%04x", i%10, chat, i%10))
	set("content", content.String())
	set("created at", ts.Format(timeLayout))
	set("updated at", ts.Add(time.Minute).Format(timeLayout))
	for j, f := range g.fields {
		if j > 0 {
			dst = append(dst, ',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			dst = append(dst, '"')
			dst = append(dst, strings.ReplaceAll(f, `"`, `""`)...)
			dst = append(dst, '"')
		} else {
			dst = append(dst, f...)
		}
	}
	return append(dst, '\n')
}
