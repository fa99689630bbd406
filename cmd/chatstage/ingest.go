package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/internal/metricsfile"
	"github.com/chatstage/chatstage/store"
)

func runIngest(ctx context.Context, e *env, args []string) (err error) {
	cl := e.newCmdline("ingest", "ingest [flags] FILE...", "chatstage ingest --json /data/2025-07-01/source_chat_data.csv.gz", true)
	fs := cl.fs
	asJSON := fs.Bool("json", false, "print one JSON object per file on stdout")
	tz := fs.String("timezone", "UTC", "time zone of timestamps written without one (IANA name)")
	maxRejects := fs.String("max-rejects", "",
		"fail a load that rejects more rows than N, or than P% of its rows (exit 3; its rejects are kept)")
	maxField := fs.Int("max-field-bytes", etl.DefaultMaxFieldBytes, "reject a record with a longer field (at most 64 MiB)")
	maxMessages := fs.Int("max-messages", etl.DefaultMaxMessages, "reject a chat with more messages")
	quiet := fs.Bool("quiet", false, "show no progress and no summary line of a file that loaded (errors and --json still appear)")
	snapshot := fs.Bool("snapshot", false,
		"the file holds every live chat: retire the chats it does not name (they leave the deliverables; history stays)")
	maxRetire := fs.String("max-retire", "",
		"with --snapshot, fail a load that would retire more than N chats, or P% of the live ones (default 10%; exit 3, nothing written)")
	enc := fs.String("encoding", "utf-8", "encoding of the files: "+etl.EncodingNames)
	dryRun := fs.Bool("dry-run", false, "read, validate and merge each file in a transaction that is rolled back; print what the load would do")
	cl.metricsFlag()
	files, err := cl.parse(args)
	if err != nil {
		return err
	}
	run := cl.metricsStart()
	run.Ingest = &metricsfile.IngestCounts{}
	defer func() { err = cl.metricsFinish(run, err) }()
	opts := chatstage.IngestOptions{Stdin: e.stdin, MaxFieldBytes: *maxField, MaxMessages: *maxMessages,
		DryRun: *dryRun, Snapshot: *snapshot}
	switch {
	case len(files) == 0:
		return cl.usage("no FILE given (use - for standard input)")
	case *maxField < 1 || *maxField > etl.MaxFieldBytesLimit:
		return cl.usage("--max-field-bytes %d: want 1 to %d (larger fields could not be stored)", *maxField, etl.MaxFieldBytesLimit)
	case *maxMessages < 1 || *maxMessages > etl.MaxMessagesLimit:
		return cl.usage("--max-messages %d: want 1 to %d", *maxMessages, etl.MaxMessagesLimit)
	case *maxRetire != "" && !*snapshot:
		return cl.usage("--max-retire needs --snapshot: only a snapshot retires chats")
	case *snapshot && len(files) > 1:
		return cl.usage("--snapshot takes one file: each file of a snapshot would retire the chats of the others")
	case *dryRun && cl.metricsPath != "":
		// A dry run loads nothing: recorded as a run, it would tell the
		// scheduler's alert that a load succeeded.
		return cl.usage("--metrics-file does not go with --dry-run")
	}
	if opts.Location, err = time.LoadLocation(*tz); err != nil {
		return usageError{fmt.Sprintf("--timezone: %v", err)}
	}
	if opts.Encoding, err = etl.EncodingByName(*enc); err != nil {
		return cl.usage("--encoding: %v", err)
	}
	if *maxRejects != "" {
		if opts.RejectBudget, err = store.ParseRejectBudget(*maxRejects); err != nil {
			return usageError{fmt.Sprintf("--max-rejects: %v", err)}
		}
	}
	if *maxRetire != "" {
		if opts.MaxRetire, err = store.ParseRetireBudget(*maxRetire); err != nil {
			return usageError{fmt.Sprintf("--max-retire: %v", err)}
		}
	}
	if *dryRun {
		opts.SampleRejects = dryRunFirstRejects
	}
	// A dry run changes nothing, the schema included: it runs on a
	// database already migrated, or says to migrate it.
	mode := migrated
	if *dryRun {
		mode = checked
	}
	st, err := cl.open(ctx, mode)
	if err != nil {
		return err
	}
	defer st.Close()
	opts.Logger = cl.logger
	for _, name := range files {
		opts.Progress = &chatstage.Progress{}
		stop := func() {}
		if !*quiet {
			stop = e.progressStart(name, opts.Progress, cl.logger)
		}
		res, err := chatstage.Ingest(ctx, st, name, opts)
		stop()
		metricsAddLoad(run, res)
		if err := ingestPrint(e, name, res, err, *asJSON, *quiet, *dryRun); err != nil {
			return err
		}
		switch {
		case errors.Is(err, store.ErrRejectBudget), errors.Is(err, store.ErrRetireBudget):
			return &labeled{"ingest " + name, err}
		case err != nil && res.LoadID != 0:
			return &labeled{fmt.Sprintf("ingest %s (load %d) into %s", name, res.LoadID, st.Target()), err}
		case err != nil:
			return &labeled{"ingest " + name + " into " + st.Target(), err}
		case *dryRun && res.Error != "":
			return fmt.Errorf("%w: %w", errQuiet, store.ErrRejectBudget) // printDryRun said why
		}
	}
	return nil
}
