package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"

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
	cl.metricsFlag()
	if err := cl.parseOut(args, out); err != nil {
		return err
	}
	run := cl.metricsStart()
	defer func() { err = cl.metricsFinish(run, err) }()
	formats, err := chatstage.ParseFormats(*format)
	if err != nil {
		return cl.usage("--format %v", err)
	}
	if *escape && !slices.Contains(formats, chatstage.CSV) {
		return cl.usage("--escape-formulas escapes CSV cells, and --format %s writes no CSV", *format)
	}
	st, err := cl.open(ctx, migrated)
	if err != nil {
		return err
	}
	defer st.Close()
	var lines atomic.Int64
	stop := func() {}
	if !*quiet {
		stop = e.exportProgressStart(&lines, cl.logger)
	}
	m, err := chatstage.Export(ctx, st, *out, chatstage.ExportOptions{Formats: formats, EscapeFormulas: *escape, Lines: &lines})
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
	fmt.Fprintln(e.stderr, exportSummary(*out, m))
	return nil
}
