package main

import (
	"context"
	"fmt"
)

func runExport(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "chatstage export: not implemented yet")
	return exitFailure
}
