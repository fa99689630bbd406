package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"

	"github.com/chatstage/chatstage"
)

func runExport(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("export", "export --out DIR [flags]", "chatstage export --out /data/deliverables/2025-07-01 --json", true)
	out := cl.fs.String("out", "", "directory to write chats.csv, messages.csv and manifest.json into (created if missing; required)")
	asJSON := cl.fs.Bool("json", false, "print what was written as one JSON object on stdout")
	quiet := cl.fs.Bool("quiet", false, "show no progress")
	escape := cl.fs.Bool("escape-formulas", false,
		"prefix cells starting with =, +, - or @ with ' so spreadsheets show them as text (changes the contract's values)")
	if err := cl.parseOut(args, out); err != nil {
		return err
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
	m, err := chatstage.Export(ctx, st, *out, chatstage.ExportOptions{EscapeFormulas: *escape, Lines: &lines})
	stop()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(m); err != nil {
			return err
		}
	}
	e.note(slog.LevelInfo, exportSummary(*out, m), "export written", "dir", *out, "files", m.Files, "last_load_id", m.LastLoadID,
		"running_loads", m.RunningLoads, "escape_formulas", m.EscapeFormulas)
	return nil
}
