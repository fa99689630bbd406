package etl

import (
	"context"
	"errors"
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
}

// Stream reads r to its end, shapes the records on several goroutines and
// sends the batches to out, which it closes when done. Batches may arrive
// out of file order; each row and reject carries its line. Memory is
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
	type job struct {
		records []Record
		rejects []Reject
	}
	jobs := make(chan job, workers)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		j := job{records: make([]Record, 0, size)}
		for {
			rec, err := r.Next()
			var rej *Reject
			switch {
			case err == io.EOF:
				if len(j.records)+len(j.rejects) > 0 {
					select {
					case jobs <- j:
					case <-ctx.Done():
						return ctx.Err()
					}
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
				select {
				case jobs <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
				j = job{records: make([]Record, 0, size)}
			}
		}
	})
	for range workers {
		g.Go(func() error {
			s := NewShaper(opts.Location)
			if opts.MaxMessages > 0 {
				s.MaxMessages = opts.MaxMessages
			}
			for j := range jobs {
				b := &Batch{Rows: make([]Row, 0, len(j.records)), Rejects: j.rejects}
				for i := range j.records {
					row, rej := s.Shape(&j.records[i])
					if rej != nil {
						b.Rejects = append(b.Rejects, *rej)
						continue
					}
					b.Rows = append(b.Rows, row)
				}
				select {
				case out <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	return g.Wait()
}
