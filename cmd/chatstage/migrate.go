package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("migrate", "migrate [flags] [up|status]", "chatstage migrate status")
	var c common
	c.register(fs)
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	action := "up"
	if len(args) > 1 {
		fs.Usage()
		return exitUsage
	}
	if len(args) == 1 {
		action = args[0]
	}
	if action != "up" && action != "status" {
		fmt.Fprintf(e.stderr, "chatstage migrate: unknown action %q (want up or status)\n", action)
		return exitUsage
	}
	logger := e.logger(&c)
	st, err := storeOpen(ctx, e, &c, logger)
	if err != nil {
		return e.fail(ctx, "migrate", err)
	}
	defer st.Close()
	if action == "up" {
		n, err := st.Migrate(ctx)
		if err != nil {
			return e.fail(ctx, "migrate", err)
		}
		fmt.Fprintf(e.stdout, "%d migration(s) applied to %s\n", n, st.Target())
		if _, err := st.LoadsRecover(ctx); err != nil {
			return e.fail(ctx, "migrate", err)
		}
		return exitOK
	}
	states, err := st.MigrationStatus(ctx)
	if err != nil {
		return e.fail(ctx, "migrate status", err)
	}
	for _, s := range states {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(e.stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return exitOK
}
