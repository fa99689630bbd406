package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
)

// Batch is a group of consecutive records of a file, shaped: the rows that
// can be chat versions and the records rejected among them.
type Batch struct {
	Rows    []Row
	Rejects []Reject
}

// StreamOptions tune Stream. The zero value is sensible.
type StreamOptions struct {
	Workers     int            // shaping goroutines; 0 means GOMAXPROCS
	BatchSize   int            // records per batch; 0 means 512
	Location    *time.Location // zone of timestamps without one; nil means UTC
	MaxMessages int            // messages a chat may have; 0 means DefaultMaxMessages
	// Lookup, when set, is asked once per batch what the destination
	// already has of the batch's keys. Rows it knows are not shaped at all:
	// re-reading a file then costs little more than its CSV and hashes.
	Lookup func(ctx context.Context, keys []Key) ([]KeyState, error)
}

// Stream reads r to its end, shapes the records on several goroutines and
// sends the batches to out, in file order, closing out when done. (The
// loader relies on the order: the first row of a new chat may skip the
// merge only if it really is the first.) Memory is
// bounded by a few batches per worker, whatever the size of the file.
//
// It returns the first fatal error (a read error, or ctx's), after which
// the batches sent must not be used.
func Stream(ctx context.Context, r *Reader, opts StreamOptions, out chan<- *Batch) error {
	defer close(out)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := opts.BatchSize
	if size <= 0 {
		size = 512
	}
	// Each job goes to the workers and, in file order, to the collector,
	// which waits for its result: batches leave in file order while
	// several are shaped at once.
	type job struct {
		records []Record
		rejects []Reject
		done    chan *Batch
	}
	jobs := make(chan *job, workers)
	order := make(chan *job, 2*workers)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		defer close(order)
		newJob := func() *job { return &job{records: make([]Record, 0, size), done: make(chan *Batch, 1)} }
		j := newJob()
		send := func() error {
			for _, c := range []chan *job{order, jobs} {
				select {
				case c <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			j = newJob()
			return nil
		}
		for {
			rec, err := r.Next()
			var rej *Reject
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
			}
			if len(j.records)+len(j.rejects) >= size {
				if err := send(); err != nil {
					return err
				}
			}
		}
	})
	for range workers {
		g.Go(func() error {
			s := NewShaper(opts.Location)
			if opts.MaxMessages > 0 {
				s.MaxMessages = opts.MaxMessages
			}
			var norm []normalized
			var keys []Key
			for j := range jobs {
				norm = append(norm[:0], make([]normalized, len(j.records))...)
				keys = keys[:0]
				for i := range j.records {
					norm[i].of(&j.records[i])
					keys = append(keys, norm[i].key(&j.records[i]))
				}
				var states []KeyState
				if opts.Lookup != nil && len(keys) > 0 {
					var err error
					if states, err = opts.Lookup(ctx, keys); err != nil {
						return fmt.Errorf("looking up rows: %w", err)
					}
					if len(states) != len(keys) {
						return fmt.Errorf("looking up rows: %d answers for %d keys", len(states), len(keys))
					}
				}
				b := &Batch{Rows: make([]Row, 0, len(j.records)), Rejects: j.rejects}
				for i := range j.records {
					rec := &j.records[i]
					if states != nil && states[i].Known {
						b.Rows = append(b.Rows, Row{Line: rec.Line, ChatID: rec.ChatID, UpdatedAt: rec.UpdatedAt,
							Hash: keys[i].Hash, LookedUp: true, Known: true, Current: states[i].Current, ChatExists: true})
						continue
					}
					row, rej := s.shape(rec, &norm[i], keys[i].Hash)
					if rej != nil {
						b.Rejects = append(b.Rejects, *rej)
						continue
					}
					if states != nil {
						row.LookedUp, row.ChatExists = true, states[i].ChatExists
					}
					b.Rows = append(b.Rows, row)
				}
				j.done <- b
			}
			return nil
		})
	}
	g.Go(func() error {
		for j := range order {
			var b *Batch
			select {
			case b = <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}
