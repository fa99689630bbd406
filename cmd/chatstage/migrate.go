package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("migrate", "migrate [flags] [up|status]", "chatstage migrate status", true)
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	action := "up"
	switch {
	case len(rest) > 1:
		return cl.usage("unexpected argument %q", rest[1])
	case len(rest) == 1:
		action = rest[0]
	}
	if action != "up" && action != "status" {
		return usageError{fmt.Sprintf("unknown action %q (want up or status)", action)}
	}
	st, err := cl.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	if action == "up" {
		n, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s applied to %s\n", plural(n, "migration", "migrations"), st.Target())
		_, err = st.LoadsRecover(ctx)
		return err
	}
	states, err := st.MigrationStatus(ctx)
	if err != nil {
		return &labeled{"migrate status", err}
	}
	for _, s := range states {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(e.stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return nil
}
