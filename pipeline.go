package chatstage

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
	"golang.org/x/sync/errgroup"
)

// The load path, from a file's records to the batches store.Load.Copy
// pulls, in three stages:
//
//  1. one goroutine reads records (etl.Reader) into jobs of batchSize;
//     reading is sequential by nature;
//  2. workers, GOMAXPROCS of them, each take a job: normalize and hash its
//     records (etl, no JSON), ask the load once which versions the
//     database keeps as they are (store.Load.Lookup), and shape only the
//     others (etl.Shaper, the CPU cost of a load): re-reading a file costs
//     little more than its CSV and hashes;
//  3. Next hands the jobs on in file order and sorts each row by the way
//     it goes into the database (store.Batch), which depends on what the
//     file held before it, hence in order.
//
// Channels hold a few jobs per worker, so memory stays flat whatever the
// size of the file.

// A job is batchSize records, or fewer that hold jobBytes: memory stays
// flat whatever the records' sizes.
const (
	batchSize = 512
	jobBytes  = 4 << 20
	// bigRecordBytes: after a record this large the reader waits until the
	// load has copied it before reading on, so that only one such record
	// at a time is in memory, read, shaped and copied (the memory bound of
	// --max-field-bytes, docs/performance.md).
	bigRecordBytes = 8 << 20
)

// lookupFunc is store.Load.Lookup.
type lookupFunc func(ctx context.Context, keys []etl.Key) ([]store.KeyState, error)

// job is a run of consecutive records, and what a worker made of them.
type job struct {
	records  []etl.Record
	rejects  []etl.Reject // by the reader, and by the shaper
	bytes    int          // of its records
	big      bool         // holds a record of bigRecordBytes or more
	rows     []jobRow
	done     chan struct{} // the worker is done with it
	consumed chan struct{} // Next moved past it: the load copied it
	err      error
}

// jobRow is a record once looked up: its key and what the database keeps
// of it, and, unless the database keeps it as it is, the shaped row.
type jobRow struct {
	line  int64
	key   etl.Key
	state store.KeyState
	row   *etl.Row // nil when the database keeps the row as it is
	// grows: row is a newer version of a live chat whose first kept
	// messages are the chat's current ones (store.KeyState.Grows).
	grows bool
	kept  int
}

// pipeline runs the stages for one file; it is the load's
// store.BatchSource.
type pipeline struct {
	ctx      context.Context
	cancel   context.CancelFunc
	g        *errgroup.Group
	order    chan *job
	seen     *seenChats
	batch    store.Batch
	err      error
	readErr  error // the reader's, set before it closes order
	last     *job  // the job of the batch handed out last
	progress *Progress
	sample   rejectSample
}

func startPipeline(ctx context.Context, name string, rd *etl.Reader, lookup lookupFunc, opts IngestOptions, progress *Progress) *pipeline {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	p := &pipeline{ctx: gctx, cancel: cancel, g: g, order: make(chan *job, 2*workers), seen: newSeenChats(),
		progress: progress, sample: rejectSample{n: opts.SampleRejects}}
	jobs := make(chan *job, workers)
	g.Go(func() error {
		err := readJobs(gctx, rd, jobs, p.order)
		if err != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("reading %s: %w", name, err)
		}
		p.readErr = err
		close(jobs)
		close(p.order)
		return err
	})
	for range workers {
		g.Go(func() error {
			w := &worker{shaper: etl.NewShaper(opts.Location), lookup: lookup}
			if opts.MaxMessages > 0 {
				w.shaper.MaxMessages = opts.MaxMessages
			}
			for j := range jobs {
				j.err = w.shape(gctx, j)
				close(j.done)
				if j.err != nil {
					return j.err
				}
			}
			return nil
		})
	}
	return p
}

// readJobs reads rd to its end, sending each job to the workers and, in
// file order, to Next, which waits for a worker to be done with it.
func readJobs(ctx context.Context, rd *etl.Reader, jobs, order chan<- *job) error {
	newJob := func() *job {
		return &job{records: make([]etl.Record, 0, batchSize), done: make(chan struct{}), consumed: make(chan struct{})}
	}
	j := newJob()
	send := func() error {
		for _, c := range []chan<- *job{order, jobs} {
			select {
			case c <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		sent := j
		j = newJob()
		if sent.big {
			select {
			case <-sent.consumed:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	for {
		rec, err := rd.Next()
		var rej *etl.Reject
		switch {
		case err == io.EOF:
			if len(j.records)+len(j.rejects) > 0 {
				return send()
			}
			return nil
		case errors.As(err, &rej):
			j.rejects = append(j.rejects, *rej)
		case err != nil:
			return err
		default:
			j.records = append(j.records, rec)
			j.bytes += rec.Bytes
			j.big = j.big || rec.Bytes >= bigRecordBytes
		}
		if len(j.records)+len(j.rejects) >= batchSize || j.bytes >= jobBytes || j.big {
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// worker is one shaping goroutine, with buffers it reuses from job to job.
type worker struct {
	shaper *etl.Shaper
	lookup lookupFunc
	norm   []etl.Normalized
	keys   []etl.Key
}

// shape normalizes and hashes the records of j, looks them up, and shapes
// those the database does not keep as they are.
func (w *worker) shape(ctx context.Context, j *job) error {
	n := len(j.records)
	w.norm = slices.Grow(w.norm[:0], n)[:n]
	w.keys = slices.Grow(w.keys[:0], n)[:n]
	for i := range j.records {
		w.norm[i].Of(&j.records[i])
		w.keys[i] = w.norm[i].Key()
	}
	states, err := w.lookup(ctx, w.keys)
	if err != nil {
		return err
	}
	unknown := 0
	for _, st := range states {
		if !st.Known {
			unknown++
		}
	}
	shaped := make([]etl.Row, 0, unknown) // none for a file read again
	j.rows = make([]jobRow, 0, n)
	for i := range j.records {
		rec := &j.records[i]
		r := jobRow{line: rec.Line, key: w.keys[i], state: states[i]}
		if !r.state.Known {
			row, rej := w.shaper.ShapeNormalized(rec, &w.norm[i])
			if rej != nil {
				j.rejects = append(j.rejects, *rej)
				continue
			}
			shaped = append(shaped, row)
			r.row = &shaped[len(shaped)-1]
			// Hashing the messages here, on the workers, keeps it off
			// the one goroutine that feeds the database.
			r.kept, r.grows = r.state.Grows(r.row)
		}
		j.rows = append(j.rows, r)
	}
	j.records = nil
	return nil
}

// Next makes the next batch, in file order, sorting its rows:
//   - a row whose version the database keeps as it is: KnownFirst when it
//     is the first row of its chat in the file, else KnownAgain;
//   - the first row of a chat the database does not have: Direct;
//   - the first row of a live chat, newer than its current version, whose
//     conversation only grew: Updates;
//   - any other: Merged.
//
// A chat seen before is told by a Bloom filter, whose false positives only
// send a row the merged way, which is always right.
func (p *pipeline) Next() bool {
	if p.last != nil { // the load is done with the previous batch
		big := p.last.big
		p.batch, p.last.rows = store.Batch{}, nil
		close(p.last.consumed)
		p.last = nil
		if big {
			// Give the big record's memory back before the reader reads
			// on: a rare event, and the memory bound depends on it.
			debug.FreeOSMemory()
		}
	}
	if p.err != nil {
		return false
	}
	var j *job
	select {
	case j = <-p.order:
	case <-p.ctx.Done():
		p.err = p.ctx.Err()
		return false
	}
	if j == nil { // the reader is done: the end of the file, or its error
		p.err = p.readErr
		return false
	}
	select {
	case <-j.done:
	case <-p.ctx.Done():
		p.err = p.ctx.Err()
		return false
	}
	if j.err != nil {
		p.err = j.err
		return false
	}
	b := store.Batch{Rejects: j.rejects}
	for i := range j.rows {
		r := &j.rows[i]
		seenBefore := p.seen.add(r.key.ChatID)
		if !seenBefore && r.state.Live() {
			b.LiveNamed++
		}
		switch {
		case r.state.Known:
			// The chat_id is a substring of its whole record as the CSV
			// reader read it: a copy lets the record go.
			k := store.Known{Line: r.line, Key: r.key, Current: r.state.Current}
			k.Key.ChatID = strings.Clone(k.Key.ChatID)
			if seenBefore {
				b.KnownAgain = append(b.KnownAgain, k)
			} else {
				b.KnownFirst = append(b.KnownFirst, k)
			}
		case !r.state.ChatExists && !seenBefore:
			b.Direct = append(b.Direct, r.row)
		case r.grows && !seenBefore:
			b.Updates = append(b.Updates, store.Update{Row: r.row, Kept: r.kept})
		default:
			b.Merged = append(b.Merged, r.row)
		}
	}
	p.batch, p.last = b, j
	p.sample.add(j.rejects)
	p.progress.Rows.Add(int64(len(j.rows) + len(j.rejects)))
	return true
}

// Batch returns the batch Next made.
func (p *pipeline) Batch() *store.Batch { return &p.batch }

// Err returns what ended Next early, if anything.
func (p *pipeline) Err() error { return p.err }

// stop ends the stages and returns the error that ended them early (a
// read error, a failed lookup), if any: it says more than the load's
// "context canceled". Cancellation is none.
func (p *pipeline) stop() error {
	p.cancel()
	if err := p.g.Wait(); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// seenChats remembers which chat ids a load has met, in fixed memory: a
// Bloom filter of 2^25 bits (4 MB; 0.02% false positives at 600,000
// chats).
type seenChats struct {
	bits []uint64
	seed maphash.Seed
}

const seenBits = 1 << 25

func newSeenChats() *seenChats {
	return &seenChats{bits: make([]uint64, seenBits/64), seed: maphash.MakeSeed()}
}

// add records id and reports whether it may have been added before.
func (s *seenChats) add(id string) (seen bool) {
	h := maphash.String(s.seed, id)
	seen = true
	for _, x := range [3]uint64{h, h>>21 | h<<43, h>>42 | h<<22} {
		i := x % seenBits
		if s.bits[i/64]&(1<<(i%64)) == 0 {
			seen = false
			s.bits[i/64] |= 1 << (i % 64)
		}
	}
	return seen
}
