package main

import (
	"bufio"
	"context"
	"fmt"
)

func runRejects(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("rejects", "rejects [flags]",
		"chatstage rejects --load 12 --format csv > fix.csv   # fix fix.csv, then: chatstage ingest fix.csv", true)
	loadID := cl.fs.Int64("load", 0, "only the rejects of this load (default: every load)")
	all := cl.fs.Bool("all", false, "list the resolved rejects too (a reject is resolved when a later load keeps a row of its chat)")
	format := cl.fs.String("format", "table", "table: one line per reject; csv: the raw records under their file's header, to fix and ingest again")
	asJSON := cl.fs.Bool("json", false, "print one JSON object per reject on stdout (JSON lines) instead of the table")
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return cl.usage("unexpected argument %q", rest[0])
	case *format != "table" && *format != "csv":
		return usageError{fmt.Sprintf("--format %q: want table or csv", *format)}
	case *asJSON && *format == "csv":
		return usageError{"--json and --format csv: choose one"}
	case *loadID < 0:
		return usageError{"--load must be a load id"}
	}
	st, err := cl.open(ctx, readOnly) // reads only: never migrates
	if err != nil {
		return err
	}
	defer st.Close()
	loads, err := st.RejectsLoads(ctx, *loadID, *all)
	if err != nil {
		return err
	}
	ids := make([]int64, len(loads))
	for i, l := range loads {
		ids[i] = l.LoadID
	}
	w := bufio.NewWriter(e.stdout)
	switch {
	case *format == "csv":
		err = writeRejectsCSV(ctx, w, st, loads, ids, *all, cl.logger)
	case *asJSON:
		err = writeRejectsJSON(ctx, w, st, loads, ids, *all)
	default:
		err = writeRejectsTable(ctx, w, st, loads, ids, *all)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
