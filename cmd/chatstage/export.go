package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage"
)

func runExport(ctx context.Context, e *env, args []string) (err error) {
	cl := e.newCmdline("export", "export --out DIR [flags]", "chatstage export --out /data/deliverables/2025-07-01 --format csv,parquet --json", true)
	out := cl.fs.String("out", "", "directory to write the deliverables and manifest.json into (created if missing; required)")
	format := cl.fs.String("format", "csv", "formats of the deliverables: csv (chats.csv, messages.csv), parquet (chats.parquet, messages.parquet) or csv,parquet")
	asJSON := cl.fs.Bool("json", false, "print what was written as one JSON object on stdout")
	quiet := cl.fs.Bool("quiet", false, "show no progress")
	escape := cl.fs.Bool("escape-formulas", false,
		"prefix CSV cells starting with =, +, - or @ with ' so spreadsheets show them as text (changes the contract's values; Parquet keeps them)")
	asOf := cl.fs.String("as-of", "",
		"write the files export wrote right after load `LOAD` (a load id), or after the last load that succeeded at or before a time (2025-07-01T06:00:00Z; UTC when no zone); erasures since applied")
	since := cl.fs.String("since", "",
		"write only the chats changed after load `LOAD`, and removed.csv; auto: after the last load the export in --out held")
	cl.metricsFlag()
	if err := cl.parseOut(args, out); err != nil {
		return err
	}
	run := cl.metricsStart()
	defer func() { err = cl.metricsFinish(run, err) }()
	var lines atomic.Int64
	opts := chatstage.ExportOptions{EscapeFormulas: *escape, Lines: &lines}
	if opts.Formats, err = chatstage.ParseFormats(*format); err != nil {
		return cl.usage("--format %v", err)
	}
	switch {
	case *escape && !slices.Contains(opts.Formats, chatstage.CSV):
		return cl.usage("--escape-formulas escapes CSV cells, and --format %s writes no CSV", *format)
	case *asOf != "" && *since != "":
		return cl.usage("--as-of and --since are two kinds of export: give one")
	case *asOf != "":
		if id, err := strconv.ParseInt(*asOf, 10, 64); err == nil && id > 0 {
			opts.AsOfLoad = id
		} else if opts.AsOfTime, err = parseTime(*asOf); err != nil {
			return cl.usage("--as-of %q: want a load id or a time such as 2025-07-01T06:00:00Z", *asOf)
		}
	case *since == "auto":
		opts.SinceAuto = true
	case *since != "":
		id, err := strconv.ParseInt(*since, 10, 64)
		if err != nil || id < 1 {
			return cl.usage("--since %q: want a load id or auto", *since)
		}
		opts.SinceLoad = id
	}
	st, err := cl.open(ctx, migrated)
	if err != nil {
		return err
	}
	defer st.Close()
	stop := func() {}
	if !*quiet {
		stop = e.exportProgressStart(&lines, cl.logger)
	}
	m, err := chatstage.Export(ctx, st, *out, opts)
	stop()
	if err != nil {
		return err
	}
	run.Files = metricsFiles(m.Files)
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(m); err != nil {
			return err
		}
	}
	e.note(slog.LevelInfo, exportSummary(*out, m), "export written", "dir", *out, "files", m.Files, "last_load_id", m.LastLoadID,
		"running_loads", m.RunningLoads, "escape_formulas", m.EscapeFormulas)
	return nil
}

// parseTime reads the time of --as-of: RFC 3339, or a date and time
// without a zone, in UTC ("2025-07-01 06:00", "2025-07-01": its start).
func parseTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
