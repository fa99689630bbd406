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
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		// The first signal cancels the work, which rolls back; a second
		// one means the user will not wait for that.
		cancel(signalCause{sig})
		<-sigs
		os.Exit(exitCodeFor(sig))
	}()
	// A soft memory limit makes the garbage collector work harder before
	// the heap grows, so a load's memory stays flat and small whatever the
	// file's size. GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	stopProfile := startProfile(os.Getenv("CHATSTAGE_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// startProfile writes a CPU profile to path when it is set, for
// docs/performance.md: CHATSTAGE_CPUPROFILE=cpu.out chatstage ingest big.csv
func startProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// defaultMemoryLimit is the Go runtime's soft memory limit for chatstage.
const defaultMemoryLimit = 64 << 20

// signalCause records which signal cancelled the context, for the exit code.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// exitCodeFor follows the shell's 128+signal convention: 130 for SIGINT
// (Ctrl-C), 143 for SIGTERM.
func exitCodeFor(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}
