package chatstage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// TestLifecycleProperty runs random sequences of plain loads, snapshot
// loads (some over their budget), erasures and exports against an
// in-test model of contract section 6, and checks after every sequence:
//
//   - each full export holds exactly the live chats of the model, each
//     with the content of its current version;
//   - export --as-of L gives the files export wrote right after L, less
//     the rows of the chats erased since;
//   - export --since L holds exactly the chats whose rows differ from
//     those as of L, and removed.csv the chats retired since (live after L)
//     and erased since (existing when erased);
//   - the deltas of export --since auto, applied in turn to the first full
//     export, give the current full export.
//
// CHATSTAGE_PROPERTY_SEQUENCES sets how many sequences run (200 unless
// set; CI runs the default).
func TestLifecycleProperty(t *testing.T) {
	t.Parallel()
	n := 200
	if s := os.Getenv("CHATSTAGE_PROPERTY_SEQUENCES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("CHATSTAGE_PROPERTY_SEQUENCES=%q: %v", s, err)
		}
	}
	seed := rand.Uint64()
	if s := os.Getenv("CHATSTAGE_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("%d sequences from seed %d (CHATSTAGE_PROPERTY_SEED=%d repeats them)", n, seed, seed)
	for i := range n {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			s := newSequence(t, rng)
			s.run()
		})
	}
}

// The model: what section 6 says the state is.

type modelChat struct {
	versions map[int]string // updated_at (as an hour) -> content
	current  int            // the greatest version
	retired  bool
	// retiredAt is the version current when the chat was retired: only a
	// newer one brings it back.
	retiredAt int
}

type model struct {
	chats  map[string]*modelChat
	erased map[string]bool
}

// live returns the live chats and their current content.
func (m *model) live() map[string]string {
	out := map[string]string{}
	for id, c := range m.chats {
		if !c.retired {
			out[id] = c.versions[c.current]
		}
	}
	return out
}

type srcRow struct {
	id      string
	version int
	content string
	reject  bool // a well-formed row whose updated_at is not a timestamp
}

// load applies a file as the contract says; it returns false when the
// snapshot would retire more than budget chats (the load fails, nothing
// changes).
func (m *model) load(rows []srcRow, malformed, snapshot bool, budget int) bool {
	named := map[string]bool{}
	liveBefore := map[string]bool{}
	for id, c := range m.chats {
		if !c.retired {
			liveBefore[id] = true
		}
	}
	for _, r := range rows {
		if !m.erased[r.id] {
			named[r.id] = true
		}
	}
	var retire []string
	if snapshot && !malformed {
		for id := range liveBefore {
			if !named[id] {
				retire = append(retire, id)
			}
		}
		if len(retire) > budget {
			return false
		}
	}
	for _, r := range rows {
		if m.erased[r.id] || r.reject {
			continue
		}
		c := m.chats[r.id]
		if c == nil {
			c = &modelChat{versions: map[int]string{}}
			m.chats[r.id] = c
		}
		c.versions[r.version] = r.content
		c.current = max(c.current, r.version)
	}
	for _, c := range m.chats {
		if c.retired && c.current > c.retiredAt {
			c.retired = false
		}
	}
	for _, id := range retire {
		c := m.chats[id]
		c.retired, c.retiredAt = true, c.current
	}
	return true
}

// The sequence: random steps, each checked against the model, and what
// the tool exported after each load, for the checks at the end.

type exported struct {
	chats, messages *csvFile
}

type sequence struct {
	t      *testing.T
	rng    *rand.Rand
	st     *store.Store
	m      *model
	ctx    context.Context
	ids    []string
	after  map[int64]exported // the full export right after each load that succeeded
	live   map[int64]map[string]bool
	erased []erasure // in order
	chain  *exported // the first full export with every delta since applied
	dir    string    // where export --since auto goes on
	loads  []int64
	steps  []string
}

type erasure struct {
	id        string
	afterLoad int64
	existed   bool
}

func newSequence(t *testing.T, rng *rand.Rand) *sequence {
	st, _ := dbtest.Store(t)
	s := &sequence{t: t, rng: rng, st: st, ctx: context.Background(),
		m:     &model{chats: map[string]*modelChat{}, erased: map[string]bool{}},
		after: map[int64]exported{}, live: map[int64]map[string]bool{}, dir: t.TempDir()}
	for i := range 3 + rng.IntN(6) {
		s.ids = append(s.ids, fmt.Sprintf("C-%d", i))
	}
	return s
}

func (s *sequence) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s\nsteps:\n  %s", fmt.Sprintf(format, args...), strings.Join(s.steps, "\n  "))
}

func (s *sequence) run() {
	steps := 3 + s.rng.IntN(6)
	for range steps {
		switch p := s.rng.IntN(10); {
		case p < 5:
			s.ingest(false)
		case p < 8:
			s.ingest(true)
		default:
			s.forget()
		}
	}
	s.ingest(false)
	s.checkPast()
}

func (s *sequence) ingest(snapshot bool) {
	var rows []srcRow
	var text strings.Builder
	text.WriteString("chat_id,updated_at,conversation_log\n")
	malformed := snapshot && s.rng.IntN(8) == 0
	for range s.rng.IntN(len(s.ids) + 2) {
		r := srcRow{id: s.ids[s.rng.IntN(len(s.ids))], version: 1 + s.rng.IntN(4)}
		r.content = fmt.Sprintf("%s v%d %c", r.id, r.version, 'a'+rune(s.rng.IntN(2)))
		r.reject = s.rng.IntN(12) == 0
		rows = append(rows, r)
		at := fmt.Sprintf("2025-07-01T%02d:00:00Z", r.version)
		if r.reject {
			at = "yesterday"
		}
		fmt.Fprintf(&text, "%s,%s,\"[{\"\"id\"\": \"\"m\"\", \"\"role\"\": \"\"user\"\", \"\"type\"\": \"\"default\"\", \"\"content\"\": \"\"%s\"\"}]\"\n",
			r.id, at, r.content)
	}
	if malformed {
		text.WriteString("C-x,\"unclosed\n")
	}
	budget := len(s.ids) + 1 // most snapshots may retire anything
	maxRetire := store.RetireBudget{}
	if snapshot {
		if s.rng.IntN(3) == 0 {
			budget = s.rng.IntN(2)
		}
		var err error
		if maxRetire, err = store.ParseRetireBudget(strconv.Itoa(budget)); err != nil {
			s.fail("%v", err)
		}
	}
	path := filepath.Join(s.t.TempDir(), "night.csv")
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		s.fail("%v", err)
	}
	ok := s.m.load(rows, malformed, snapshot, budget)
	s.steps = append(s.steps, fmt.Sprintf("ingest snapshot=%v budget=%d malformed=%v:\n%s", snapshot, budget, malformed, text.String()))
	res, err := chatstage.Ingest(s.ctx, s.st, path, chatstage.IngestOptions{Snapshot: snapshot, MaxRetire: maxRetire})
	switch {
	case !ok && !errors.Is(err, store.ErrRetireBudget):
		s.fail("a snapshot over its budget: %v, %+v; want ErrRetireBudget", err, res.LoadResult)
	case !ok:
		return
	case err != nil:
		s.fail("ingest: %v", err)
	}
	s.loads = append(s.loads, res.LoadID)
	full := s.exportFull(filepath.Join(s.t.TempDir(), "full"))
	s.after[res.LoadID] = full
	live := s.m.live()
	s.live[res.LoadID] = map[string]bool{}
	for id := range live {
		s.live[res.LoadID][id] = true
	}
	if got := full.contents(); !maps2Equal(got, live) {
		s.fail("after load %d the export holds %v, the model %v", res.LoadID, got, live)
	}
	// The nightly delta, on top of the first full export.
	if s.chain == nil {
		s.chain = &full
		s.exportInto(s.dir, chatstage.ExportOptions{})
		return
	}
	m := s.exportInto(s.dir, chatstage.ExportOptions{SinceAuto: true})
	delta := s.read(s.dir)
	removed := readCSV(s.t, filepath.Join(s.dir, chatstage.RemovedName))
	s.chain.apply(delta, removed)
	if !s.chain.equal(full) {
		s.fail("the deltas through load %d (since %d) applied to the first export:\n%s\nwant the full export:\n%s",
			m.Through, m.Since, s.chain.chats, full.chats)
	}
}

func (s *sequence) forget() {
	id := s.ids[s.rng.IntN(len(s.ids))]
	if s.rng.IntN(4) == 0 {
		id = "never-a-chat"
	}
	s.steps = append(s.steps, "forget "+id)
	_, existed := s.m.chats[id]
	res, err := chatstage.Forget(s.ctx, s.st, []string{id}, chatstage.ForgetOptions{})
	if err != nil {
		s.fail("forget: %v", err)
	}
	if want := map[bool]int64{true: 1}[existed]; res.ChatsErased != want {
		s.fail("forget %s: chats_erased %d, want %d", id, res.ChatsErased, want)
	}
	var last int64
	if len(s.loads) > 0 {
		last = s.loads[len(s.loads)-1]
	}
	s.erased = append(s.erased, erasure{id, last, existed})
	delete(s.m.chats, id)
	s.m.erased[id] = true
}

// checkPast checks every --as-of and --since against what was exported.
func (s *sequence) checkPast() {
	now := s.after[s.loads[len(s.loads)-1]]
	for _, l := range s.loads {
		// Every erasure made so far applies, those before L included: a
		// chat erased, then named again by a row, was suppressed.
		want := s.after[l].without(s.m.erased)
		dir := filepath.Join(s.t.TempDir(), "asof")
		s.exportInto(dir, chatstage.ExportOptions{AsOfLoad: l})
		if got := s.read(dir); !got.equal(want) {
			s.fail("--as-of %d:\n%s\nwant:\n%s", l, got.chats, want.chats)
		}
		dir = filepath.Join(s.t.TempDir(), "since")
		s.exportInto(dir, chatstage.ExportOptions{SinceLoad: l})
		delta := s.read(dir)
		var changed []string
		for id, rows := range now.byChat() {
			if want.byChat()[id] != rows {
				changed = append(changed, id)
			}
		}
		slices.Sort(changed)
		if got := delta.chatIDs(); !slices.Equal(got, changed) {
			s.fail("--since %d holds chats %v, want those that differ from --as-of %d: %v", l, got, l, changed)
		}
		var removed []string
		for id := range s.live[l] {
			if c := s.m.chats[id]; c != nil && c.retired {
				removed = append(removed, hashOf(id)+" retired "+id)
			}
		}
		seen := map[string]bool{}
		for _, e := range s.erased {
			if e.afterLoad >= l && e.existed && !seen[e.id] {
				seen[e.id] = true
				removed = append(removed, hashOf(e.id)+" erased ")
			}
		}
		slices.Sort(removed)
		var got []string
		for _, r := range readCSV(s.t, filepath.Join(dir, chatstage.RemovedName))[1:] {
			got = append(got, r[1]+" "+r[2]+" "+r[0])
		}
		if !slices.Equal(got, removed) {
			s.fail("--since %d removed.csv:\n%q\nwant\n%q", l, got, removed)
		}
	}
}

func (s *sequence) exportFull(dir string) exported {
	s.exportInto(dir, chatstage.ExportOptions{})
	return s.read(dir)
}

func (s *sequence) exportInto(dir string, opts chatstage.ExportOptions) chatstage.Manifest {
	m, err := chatstage.Export(s.ctx, s.st, dir, opts)
	if err != nil {
		s.fail("export %+v: %v", opts, err)
	}
	return m
}

func (s *sequence) read(dir string) exported {
	return exported{chats: readCSVFile(s.t, filepath.Join(dir, "chats.csv")),
		messages: readCSVFile(s.t, filepath.Join(dir, "messages.csv"))}
}

// The deliverables, read back: each row as its line, keyed by chatId.

type csvFile struct {
	header string
	idCol  int
	rows   []csvRow
}

type csvRow struct {
	id   string
	line string
	rec  []string
}

func (f *csvFile) String() string {
	var b strings.Builder
	for _, r := range f.rows {
		b.WriteString(r.line)
	}
	return b.String()
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// readCSVFile reads a deliverable, keeping each record's exact bytes.
func readCSVFile(t *testing.T, path string) *csvFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := &csvFile{header: strings.Join(header, ","), idCol: slices.Index(header, "chatId")}
	start := r.InputOffset()
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		end := r.InputOffset()
		f.rows = append(f.rows, csvRow{id: rec[f.idCol], line: string(b[start:end]), rec: rec})
		start = end
	}
	return f
}

func (e exported) chatIDs() []string {
	var ids []string
	for _, r := range e.chats.rows {
		ids = append(ids, r.id)
	}
	slices.Sort(ids)
	return ids
}

// byChat is each chat's rows, its chats.csv row then its messages.
func (e exported) byChat() map[string]string {
	out := map[string]string{}
	for _, r := range e.chats.rows {
		out[r.id] += r.line
	}
	for _, r := range e.messages.rows {
		out[r.id] += r.line
	}
	return out
}

// contents is each chat's message content, which the test makes tell
// its version and content apart.
func (e exported) contents() map[string]string {
	col := -1
	for i, name := range strings.Split(e.messages.header, ",") {
		if name == "content" {
			col = i
		}
	}
	out := map[string]string{}
	for _, r := range e.chats.rows {
		out[r.id] = ""
	}
	for _, r := range e.messages.rows {
		out[r.id] = r.rec[col]
	}
	return out
}

func (e exported) without(ids map[string]bool) exported {
	keep := func(f *csvFile) *csvFile {
		g := &csvFile{header: f.header, idCol: f.idCol}
		for _, r := range f.rows {
			if !ids[r.id] {
				g.rows = append(g.rows, r)
			}
		}
		return g
	}
	return exported{keep(e.chats), keep(e.messages)}
}

// apply replaces each chat of a delta with its rows and drops the removed
// ones (a retired chat by its id, an erased one by its hash), then puts
// the rows back in the order of a full export, which is by chatId.
func (e *exported) apply(delta exported, removed [][]string) {
	drop := map[string]bool{}
	for _, id := range delta.chatIDs() {
		drop[id] = true
	}
	gone := map[string]bool{}
	for _, r := range removed[1:] {
		gone[r[1]] = true
	}
	merge := func(f, d *csvFile) *csvFile {
		g := &csvFile{header: f.header, idCol: f.idCol}
		for _, r := range f.rows {
			if !drop[r.id] && !gone[hashOf(r.id)] {
				g.rows = append(g.rows, r)
			}
		}
		g.rows = append(g.rows, d.rows...)
		slices.SortStableFunc(g.rows, func(a, b csvRow) int { return strings.Compare(a.id, b.id) })
		return g
	}
	e.chats, e.messages = merge(e.chats, delta.chats), merge(e.messages, delta.messages)
}

func (e exported) equal(o exported) bool {
	return e.chats.header == o.chats.header && e.chats.String() == o.chats.String() &&
		e.messages.header == o.messages.header && e.messages.String() == o.messages.String()
}

func hashOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func maps2Equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
