// Command chatstage loads nightly chat exports into a PostgreSQL staging
// database and renders the chats.csv and messages.csv deliverables.
//
// This package only wires package etl (reading files) to package store
// (PostgreSQL): one file per subcommand, each writing to the writers it is
// given so tests run commands in-process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
