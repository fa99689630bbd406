package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintln(e.stderr, "chatstage ingest: no FILE given (use - for standard input)")
		fs.Usage()
		return exitUsage
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintf(e.stderr, "chatstage ingest: --timezone: %v\n", err)
		return exitUsage
	}
	logger := e.logger(&c)
	st, err := e.openStore(ctx, &c, logger)
	if err != nil {
		return e.fail(ctx, "ingest", err)
	}
	defer st.Close()

	for _, name := range files {
		res, err := ingestFile(ctx, e, st, name, loc, logger)
		if res.LoadID != 0 {
			if *asJSON {
				json.NewEncoder(e.stdout).Encode(res)
			}
			fmt.Fprintln(e.stderr, summaryLine(name, res))
		}
		if err != nil {
			return e.fail(ctx, "ingest "+name, err)
		}
	}
	return exitOK
}

// ingestFile loads one file as one load. A refused file (no or bad
// header) writes nothing and returns a zero Load.
func ingestFile(ctx context.Context, e *env, st *store.Store, name string, loc *time.Location, logger interface {
	Warn(string, ...any)
}) (store.Load, error) {
	src, err := etl.OpenSource(name, e.stdin)
	if err != nil {
		return store.Load{}, err
	}
	defer src.Close()
	rd, err := etl.NewReader(src, etl.ReaderOptions{Location: loc})
	if err != nil {
		return store.Load{}, fmt.Errorf("refused, nothing written: %w", err)
	}
	if u := rd.UnknownColumns(); len(u) > 0 {
		logger.Warn("ignoring unknown columns", "file", name, "columns", u)
	}
	loadID, err := st.LoadBegin(ctx, name)
	if err != nil {
		return store.Load{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *etl.Batch, 4)
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- etl.Stream(ctx, rd, etl.StreamOptions{Location: loc}, batches)
	}()
	res, err := st.LoadRun(ctx, store.LoadParams{
		LoadID:  loadID,
		Source:  name,
		Batches: batches,
		Finish: func() (store.SourceInfo, error) {
			if err := <-streamDone; err != nil {
				return store.SourceInfo{}, fmt.Errorf("reading %s: %w", name, err)
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
		if ferr := st.LoadFail(loadID, cause); ferr != nil {
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
