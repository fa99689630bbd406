package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/chatstage/chatstage/store"
)

func runExport(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("export", "export --out DIR [flags]",
		"chatstage export --out /data/deliverables/2025-07-01 --json")
	var c common
	c.register(fs)
	out := fs.String("out", "", "directory to write chats.csv, messages.csv and manifest.json into (created if missing; required)")
	asJSON := fs.Bool("json", false, "print what was written as one JSON object on stdout")
	quiet := fs.Bool("quiet", false, "show no progress")
	escape := fs.Bool("escape-formulas", false,
		"prefix cells starting with =, +, - or @ with ' so spreadsheets show them as text (changes the contract's values)")
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if !e.outDirArgs(fs, "export", *out, args) {
		return exitUsage
	}
	logger := e.logger(&c)
	st, err := e.openStore(ctx, &c, logger)
	if err != nil {
		return e.fail(ctx, "export", err)
	}
	defer st.Close()

	var rows atomic.Int64
	stop := func() {}
	if !*quiet {
		stop = e.exportProgressStart(&rows, logger)
	}
	res, err := st.ExportWrite(ctx, *out, store.ExportOptions{EscapeFormulas: *escape, Rows: &rows})
	stop()
	if err != nil {
		return e.fail(ctx, "export", err)
	}
	if *asJSON {
		json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintln(e.stderr, exportSummary(*out, res))
	return exitOK
}

// exportSummary is the one line export prints on stderr.
func exportSummary(dir string, x store.Export) string {
	var b strings.Builder
	b.WriteString("export: ")
	for i, f := range x.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d rows %d bytes", f.Name, f.Rows, f.Bytes)
	}
	if x.LastLoadID == 0 {
		b.WriteString(" (no load yet)")
	} else {
		fmt.Fprintf(&b, " (last load %d)", x.LastLoadID)
	}
	fmt.Fprintf(&b, " in %s", dir)
	return b.String()
}
