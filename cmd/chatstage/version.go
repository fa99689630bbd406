package main

import (
	"context"
	"fmt"
)

var version = "dev"

func runVersion(_ context.Context, e *env, args []string) error {
	cl := e.newCmdline("version", "version", "chatstage version", false)
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	if err := cl.noArgs(rest); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "chatstage %s\n", version)
	return nil
}
