package main

import (
	"context"
	"encoding/json"
)

func runStatus(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("status", "status [flags]", "chatstage status --limit 7", true)
	asJSON := cl.fs.Bool("json", false, "print one JSON object on stdout instead of the table")
	limit := cl.fs.Int("limit", 20, "how many recent loads to list (0: all)")
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	if err := cl.noArgs(rest); err != nil {
		return err
	}
	if *limit < 0 {
		return usageError{"--limit must be 0 or more"}
	}
	// No migration here: status is how a user sees which are pending.
	st, err := cl.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	// status only reads: a load whose process died shows as running
	// (process gone?) until the next ingest, export or migrate records it
	// failed.
	s, err := st.StatusRead(ctx, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(statusJSON(st.Target(), s))
	}
	return writeStatus(e.stdout, st.Target(), s)
}
