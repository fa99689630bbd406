package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

func runIngest(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("ingest", "ingest [flags] FILE...",
		"chatstage ingest --json /data/2025-07-01/source_chat_data.csv.gz")
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per file on stdout")
	tz := fs.String("timezone", "UTC", "time zone of timestamps written without one (IANA name)")
	maxRejects := fs.String("max-rejects", "",
		"fail a load that rejects more rows than N, or than P% of its rows (exit 3; its rejects are kept)")
	maxField := fs.Int("max-field-bytes", etl.DefaultMaxFieldBytes, "reject a record with a longer field (at most 64 MiB)")
	maxMessages := fs.Int("max-messages", etl.DefaultMaxMessages, "reject a chat with more messages")
	quiet := fs.Bool("quiet", false, "show no progress and no summary line of a file that loaded (errors and --json still appear)")
	dryRun := fs.Bool("dry-run", false, "read, validate and merge each file in a transaction that is rolled back; print what the load would do")
	files, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(e.stderr, "chatstage ingest: no FILE given (use - for standard input)")
		fs.Usage()
		return exitUsage
	}
	if *maxField < 1 || *maxField > etl.MaxFieldBytesLimit {
		fmt.Fprintf(e.stderr, "chatstage ingest: --max-field-bytes %d: want 1 to %d (larger fields could not be stored)\n", *maxField, etl.MaxFieldBytesLimit)
		return exitUsage
	}
	if *maxMessages < 1 || *maxMessages > etl.MaxMessagesLimit {
		fmt.Fprintf(e.stderr, "chatstage ingest: --max-messages %d: want 1 to %d\n", *maxMessages, etl.MaxMessagesLimit)
		return exitUsage
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintf(e.stderr, "chatstage ingest: --timezone: %v\n", err)
		return exitUsage
	}
	opts := ingestOptions{loc: loc, maxField: *maxField, maxMessages: *maxMessages}
	opts.quiet, opts.dryRun = *quiet, *dryRun
	if *maxRejects != "" {
		if opts.budget, err = store.ParseRejectBudget(*maxRejects); err != nil {
			fmt.Fprintf(e.stderr, "chatstage ingest: --max-rejects: %v\n", err)
			return exitUsage
		}
	}
	logger := e.logger(&c)
	st, err := e.openStore(ctx, &c, logger)
	if err != nil {
		return e.fail(ctx, "ingest", err)
	}
	defer st.Close()

	for _, name := range files {
		if opts.dryRun {
			opts.sample = &rejectSample{n: dryRunFirstRejects}
		}
		res, err := ingestFile(ctx, e, st, name, opts, logger)
		if opts.dryRun && err == nil {
			printDryRun(e.stdout, name, res, opts.sample.rejects(), *asJSON)
			if res.Error != "" {
				return exitRejectBudget
			}
		}
		if res.LoadID != 0 {
			if *asJSON {
				json.NewEncoder(e.stdout).Encode(res)
			}
			if !opts.quiet || res.Status != "succeeded" {
				fmt.Fprintln(e.stderr, summaryLine(name, res))
			}
		}
		if errors.Is(err, store.ErrRejectBudget) {
			fmt.Fprintf(e.stderr, "chatstage: ingest %s: %v\n", name, err)
			return exitRejectBudget
		}
		if err != nil {
			return e.fail(ctx, "ingest "+name+" into "+st.Target(), err)
		}
	}
	return exitOK
}

// ingestOptions are the per-file settings of an ingest command.
type ingestOptions struct {
	loc         *time.Location
	maxField    int
	maxMessages int
	budget      store.RejectBudget
	quiet       bool          // no progress, no summary line
	dryRun      bool          // roll back; leave no load record
	sample      *rejectSample // the first rejects, for a dry run
}

// ingestFile loads one file as one load. A refused file (no or bad
// header) writes nothing and returns a zero Load.
func ingestFile(ctx context.Context, e *env, st *store.Store, name string, opts ingestOptions, logger *slog.Logger) (store.Load, error) {
	src, err := etl.OpenSource(name, e.stdin)
	if err != nil {
		return store.Load{}, err
	}
	defer src.Close()
	counts := &ingestCounts{}
	rd, err := etl.NewReader(counts.reader(src), etl.ReaderOptions{Location: opts.loc, MaxFieldBytes: opts.maxField})
	if err != nil {
		return store.Load{}, fmt.Errorf("refused, nothing written: %w", err)
	}
	if u := rd.UnknownColumns(); len(u) > 0 {
		logger.Warn("ignoring unknown columns", "file", name, "columns", u)
	}
	var loadID int64 // a dry run records no load: LoadRun makes one inside its transaction
	if !opts.dryRun {
		if loadID, err = st.LoadBegin(ctx, name); err != nil {
			return store.Load{}, err
		}
		if err := st.LoadHeaderSet(ctx, loadID, headerLine(rd.Header())); err != nil {
			logger.Warn("rejects of this load will be listed under the default header", "load_id", loadID, "error", err)
		}
	} else if err := st.DryRunBegin(ctx); err != nil {
		return store.Load{}, err
	}
	// Asked per batch while the file streams: rows the database already has
	// are not shaped, and new chats' first rows skip the merge.
	lookup, err := st.LoadLookup(ctx)
	if err != nil {
		return store.Load{}, err
	}
	if !opts.quiet {
		stop := e.progressStart(name, sourceTotal(name, e.stdin), counts, logger)
		defer stop()
	}
	var each func(*etl.Batch)
	if opts.sample != nil {
		each = opts.sample.add
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *etl.Batch, 4)
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- etl.Stream(ctx, rd, etl.StreamOptions{Location: opts.loc, MaxMessages: opts.maxMessages, Lookup: lookup}, batches)
	}()
	// The stream ends once; both the load (Finish) and a failure wait for
	// it, the latter before reading how much of the source it read.
	var streamErr error
	streamWait := sync.OnceFunc(func() { streamErr = <-streamDone })
	res, err := st.LoadRun(ctx, store.LoadParams{
		LoadID:       loadID,
		Source:       name,
		RejectBudget: opts.budget,
		DryRun:       opts.dryRun,
		Batches:      counts.relay(ctx, batches, each),
		Finish: func() (store.SourceInfo, error) {
			counts.merging.Store(true)
			if streamWait(); streamErr != nil {
				return store.SourceInfo{}, fmt.Errorf("reading %s: %w", name, streamErr)
			}
			if err := src.Drain(); err != nil {
				return store.SourceInfo{}, fmt.Errorf("reading %s: %w", name, err)
			}
			return store.SourceInfo{SizeBytes: src.Size(), SHA256: src.SHA256()}, nil
		},
	})
	if err != nil {
		cancel()
		cause := err
		if errors.Is(err, context.Canceled) {
			cause = errors.New("interrupted")
		}
		if opts.dryRun {
			res.LoadID = 0 // the one LoadRun made was rolled back
			return res, err
		}
		streamWait()
		read := store.SourceInfo{SizeBytes: src.Size(), SHA256: src.SHA256()}
		res.SizeBytes, res.SHA256 = read.SizeBytes, hex.EncodeToString(read.SHA256)
		if ferr := st.LoadFail(loadID, read, cause); ferr != nil {
			logger.Warn("could not mark the load failed", "load_id", loadID, "error", ferr)
		}
		res.Status, res.Error = "failed", cause.Error()
		return res, err
	}
	return res, nil
}

func summaryLine(name string, l store.Load) string {
	if l.Status != "succeeded" {
		return fmt.Sprintf("%s: load %d %s: %s", name, l.LoadID, l.Status, l.Error)
	}
	return fmt.Sprintf("%s: load %d succeeded: %d rows read, %d rejected, %d new versions; chats %d inserted, %d updated, %d unchanged, %d stale; %d messages written",
		name, l.LoadID, l.RowsRead, l.RowsRejected, l.VersionsNew,
		l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale, l.MessagesWritten)
}
