package chatstage

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
	"golang.org/x/text/encoding"
)

// ErrRefused: a source file was refused whole (no header, a required
// column missing, a column named twice, bare-CR line ends): nothing of it
// was written and no load was recorded.
var ErrRefused = errors.New("refused, nothing written")

// IngestOptions tune Ingest. The zero value follows the contract.
type IngestOptions struct {
	// Stdin is read for the source "-".
	Stdin io.Reader
	// Location is the time zone of timestamps written without one; nil
	// means UTC.
	Location *time.Location
	// Encoding decodes a source that is not UTF-8 (etl.EncodingByName:
	// Windows-1252, Latin-1, UTF-16); nil reads UTF-8 and warns, through
	// Logger, when most of a file's non-ASCII bytes are not UTF-8. The
	// load's size and SHA-256 stay those of the bytes as stored.
	Encoding encoding.Encoding
	// MaxFieldBytes rejects a record with a longer field (at most
	// etl.MaxFieldBytesLimit); 0 means etl.DefaultMaxFieldBytes.
	MaxFieldBytes int
	// MaxMessages rejects a chat with more messages; 0 means
	// etl.DefaultMaxMessages.
	MaxMessages int
	// RejectBudget fails a load that rejects more rows than it allows
	// (store.ErrRejectBudget); the zero value allows any number.
	RejectBudget store.RejectBudget
	// Snapshot declares the file a full snapshot of the live chats: those
	// it does not name are retired (contract section 6), unless that is
	// more than MaxRetire (store.ErrRetireBudget; the zero value is 10%).
	Snapshot  bool
	MaxRetire store.RetireBudget
	// DryRun does the whole load in a transaction that is rolled back:
	// the result has the counts the load would have, status dry_run, and
	// nothing stays.
	DryRun bool
	// SampleRejects keeps the first rejects of the file, by line, in the
	// result (a dry run shows them).
	SampleRejects int
	// Progress, when set, is kept up to date while the file loads, for a
	// report read from another goroutine.
	Progress *Progress
	// Workers is how many goroutines shape rows; 0 means GOMAXPROCS.
	Workers int
	// Logger receives warnings (unknown columns) and debug logs; nil
	// discards them.
	Logger *slog.Logger
}

// Progress is how far a load is. Its fields are safe to read while the
// load runs.
type Progress struct {
	// Bytes is the bytes of the source read so far, as stored (compressed
	// for a .gz file); Total its size, when known in advance (0 for a
	// pipe).
	Bytes, Total atomic.Int64
	// Rows is the records read and shaped so far, rejects included.
	Rows atomic.Int64
	// Merging is set once the file is read and the database merges it.
	Merging atomic.Bool
	// Waiting says, while the load waits for another one to end, whom it
	// waits for ("waiting for load 7 (started 02:10, pid 4242) to
	// finish"); nil once it runs.
	Waiting atomic.Pointer[string]
}

// LoadResult is what a load did: its record, as staging.loads keeps it
// (JSON: what ingest --json prints), and the first rejects asked for.
type LoadResult struct {
	store.LoadResult
	// FirstRejects are the file's first rejects, by line, at most
	// IngestOptions.SampleRejects.
	FirstRejects []etl.Reject `json:"-"`
}

// Ingest loads the source file (a path, "-" for opts.Stdin, a name ending
// in .gz gunzipped on the fly) into the staging database as one load
// (contract section 3): it is recorded first; then its rows are read,
// validated and shaped (etl), looked up, copied and merged (store) in one
// transaction; then it is committed with its counts and the size and
// SHA-256 of the file. After an error or a cancelled ctx nothing of the
// file is visible and the load is recorded failed, with what was read.
//
// A file refused for its header returns ErrRefused and records nothing. A
// load over its reject budget returns store.ErrRejectBudget with its
// result (status failed), and a snapshot over its retire budget
// store.ErrRetireBudget. Rejected rows are no error: they are stored and
// counted.
func Ingest(ctx context.Context, st *store.Store, source string, opts IngestOptions) (LoadResult, error) {
	var res LoadResult
	logger := cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	src, err := etl.OpenSource(source, opts.Stdin, opts.Encoding)
	if err != nil {
		return res, err
	}
	defer src.Close()
	progress := cmp.Or(opts.Progress, &Progress{})
	progress.Total.Store(src.Total)
	rd, err := etl.NewReader(&progressReader{src, progress}, etl.ReaderOptions{Location: opts.Location, MaxFieldBytes: opts.MaxFieldBytes})
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if u := rd.UnknownColumns(); len(u) > 0 {
		logger.Warn("ignoring unknown columns", "file", source, "columns", u)
	}
	onWait := func(w store.LockWait) {
		msg := w.String()
		progress.Waiting.Store(&msg)
		logger.Info(msg, "file", source)
	}
	load, err := st.LoadBegin(ctx, store.LoadParams{Source: source, Header: etl.HeaderLine(rd.Header()),
		DryRun: opts.DryRun, RejectBudget: opts.RejectBudget, Snapshot: opts.Snapshot, MaxRetire: opts.MaxRetire,
		OnWait: onWait})
	progress.Waiting.Store(nil)
	if err != nil {
		return res, err
	}
	defer load.Close()
	res.LoadID, res.Source = load.ID(), source
	rd.Suppress(load.Erased)

	p := startPipeline(ctx, source, rd, load.Lookup, opts, progress)
	err = load.Copy(ctx, p)
	if perr := p.stop(); perr != nil { // the file's or the lookup's own error says more than the load's
		err = perr
	}
	if err == nil {
		if err = src.Drain(); err != nil { // the bytes after the CSV's end, for the size and SHA-256
			err = fmt.Errorf("reading %s: %w", source, err)
		}
	}
	if err == nil {
		encodingWarn(source, src.UTF8(), logger)
	}
	read := store.SourceInfo{SizeBytes: src.Size(), SHA256: src.SHA256(), Suppressed: rd.Suppressed()}
	res.FirstRejects = p.sample.rejects()
	if err != nil {
		return res, ingestFail(ctx, load, &res, read, err, logger)
	}
	progress.Merging.Store(true)
	loaded, err := load.Commit(ctx, read)
	res.LoadResult = loaded
	switch {
	case errors.Is(err, store.ErrRejectBudget), errors.Is(err, store.ErrRetireBudget):
		return res, err
	case err != nil:
		return res, ingestFail(ctx, load, &res, read, err, logger)
	}
	return res, nil
}

// ingestFail ends a load that failed: rolled back, and recorded failed
// with its cause and what it read (a dry run only rolls back).
func ingestFail(ctx context.Context, load *store.Load, res *LoadResult, read store.SourceInfo, err error, logger *slog.Logger) error {
	cause := err
	if ctx.Err() != nil {
		cause = errors.New("interrupted")
	}
	if ferr := load.Fail(ctx, read, cause); ferr != nil {
		logger.Warn("could not record the load as failed", "load_id", load.ID(), "error", ferr)
	}
	res.Status, res.Error = "failed", cause.Error()
	res.SizeBytes, res.SHA256 = read.SizeBytes, hex.EncodeToString(read.SHA256)
	return err
}

// encodingWarn warns when a file read as UTF-8 does not look like UTF-8:
// its letters were replaced with U+FFFD, and the load succeeds all the
// same, so the warning is the user's one chance to notice.
func encodingWarn(source string, st etl.UTF8Stats, logger *slog.Logger) {
	likely, ok := st.Suspect()
	if !ok {
		return
	}
	what := fmt.Sprintf("%d bytes that are not UTF-8 were", st.Invalid)
	if st.Invalid == 1 {
		what = "1 byte that is not UTF-8 was"
	}
	logger.Warn(fmt.Sprintf("the file does not look like UTF-8 but like %s: %s replaced with U+FFFD; "+
		"load it again naming its encoding (ingest --encoding %s)", likely, what, likely),
		"file", source, "invalid_bytes", st.Invalid, "invalid_percent_of_non_ascii", int(st.Share()),
		"likely_encoding", likely)
}

// progressReader counts the bytes of the source that the CSV reader has
// consumed, as stored.
type progressReader struct {
	src *etl.Source
	p   *Progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.src.Read(b)
	r.p.Bytes.Store(r.src.Size())
	return n, err
}

// rejectSample keeps the first rejects of a file, by line. Batches arrive
// in file order, but a batch's rejects come from the reader and the
// shaper, each in order.
type rejectSample struct {
	n    int
	list []etl.Reject
}

func (s *rejectSample) add(rejects []etl.Reject) {
	for _, r := range rejects {
		if len(s.list) == s.n && (s.n == 0 || r.Line > s.list[len(s.list)-1].Line) {
			continue
		}
		i, _ := slices.BinarySearchFunc(s.list, r.Line, func(x etl.Reject, line int64) int { return cmp.Compare(x.Line, line) })
		s.list = slices.Insert(s.list, i, r)
		if len(s.list) > s.n {
			s.list = s.list[:s.n]
		}
	}
}

func (s *rejectSample) rejects() []etl.Reject { return slices.Clone(s.list) }
