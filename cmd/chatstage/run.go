package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chatstage/chatstage/store"
	"github.com/mfridman/xflag"
)

// Exit codes scripts can rely on.
const (
	exitOK           = 0
	exitFailure      = 1   // a file failed to load, the database failed, ...
	exitUsage        = 2   // bad command line
	exitRejectBudget = 3   // a load rejected more rows than --max-rejects allows
	exitInterrupted  = 130 // SIGINT (Ctrl-C)
	exitTerminated   = 143 // SIGTERM
)

// env is what a command runs with: its streams and the process
// environment, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// progressEvery is the interval of ingest's progress log lines when
	// stderr is not a terminal; 0 means every 5 seconds. Tests shorten it.
	progressEvery time.Duration
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() []command {
	return []command{
		{"ingest", "load source files into the staging database", runIngest},
		{"export", "write chats.csv and messages.csv from the export views", runExport},
		{"migrate", "apply or list the database migrations", runMigrate},
		{"status", "list the recent loads, the totals and the migration state", runStatus},
		{"rejects", "list rejected rows, or write them back as CSV to fix and ingest again", runRejects},
		{"report", "write chat_metrics.csv and quality.csv from the analytics views", runReport},
		{"version", "print the version", runVersion},
	}
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		e.usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "chatstage: unknown command %q\n", args[0])
	e.usage()
	return exitUsage
}

func (e *env) usage() {
	fmt.Fprintln(e.stderr, "Usage: chatstage COMMAND [flags] [args]")
	fmt.Fprintln(e.stderr, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(e.stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(e.stderr, "\nRun 'chatstage COMMAND --help' for a command's flags.")
}

// common are the flags every database command takes.
type common struct {
	databaseURL    string
	logFormat      string
	verbose        bool
	connectTimeout time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", "",
		"PostgreSQL URL (default: $CHATSTAGE_DATABASE_URL, then $DATABASE_URL, then libpq's PG* variables)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&c.verbose, "verbose", false, "log debug details")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 30*time.Second,
		"how long to retry, with backoff, a database that does not answer")
}

// newFlagSet returns a flag set whose errors and help go to stderr.
func (e *env) newFlagSet(name, usage, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: chatstage %s\n\nExample:\n  %s\n\nFlags:\n", usage, example)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses the flags of a command wherever they stand among its
// arguments, and returns the other (positional) arguments; ok is false
// when the command must return code. A "--" ends the flags: what follows
// is positional even when it starts with a dash (ingest -- -odd.csv).
//
// The standard library stops at the first positional argument, so
// "ingest night.csv --dry-run" would read --dry-run as a file name after
// loading night.csv for real. xflag.ParseToEnd (goose's fix for the same
// problem) parses to the end and keeps the standard flag package's syntax
// and help; it does not give "--" that meaning, hence the split here.
func parseFlags(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	var afterDash []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, afterDash = args[:i], args[i+1:]
	}
	if err := xflag.ParseToEnd(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	return append(fs.Args(), afterDash...), 0, true
}

// noArgs checks that a command that takes no argument got none, saying
// what is wrong on stderr.
func (e *env) noArgs(fs *flag.FlagSet, command string, args []string) bool {
	if len(args) == 0 {
		return true
	}
	fmt.Fprintf(e.stderr, "chatstage %s: unexpected argument %q\n", command, args[0])
	fs.Usage()
	return false
}

// outDirArgs checks the command line of a command that writes into --out
// and takes no argument, saying what is wrong on stderr.
func (e *env) outDirArgs(fs *flag.FlagSet, command, out string, args []string) bool {
	switch {
	case len(args) > 0:
		fmt.Fprintf(e.stderr, "chatstage %s: unexpected argument %q\n", command, args[0])
	case out == "":
		fmt.Fprintf(e.stderr, "chatstage %s: --out DIR is required\n", command)
	default:
		return true
	}
	fs.Usage()
	return false
}

// databaseURL resolves the connection string in the documented order.
func (e *env) databaseURL(c *common) string {
	if c.databaseURL != "" {
		return c.databaseURL
	}
	for _, name := range []string{"CHATSTAGE_DATABASE_URL", "DATABASE_URL"} {
		if v := e.getenv(name); v != "" {
			return v
		}
	}
	return "" // pgx then reads PGHOST, PGUSER, ... like libpq
}

func (e *env) logger(c *common) *slog.Logger {
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.logFormat, "json") {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

// storeOpen connects without migrating.
func storeOpen(ctx context.Context, e *env, c *common, logger *slog.Logger) (*store.Store, error) {
	return store.Open(ctx, e.databaseURL(c), store.Options{Logger: logger, ConnectTimeout: c.connectTimeout})
}

// openStore connects, applies pending migrations and marks the loads of
// dead processes failed.
func (e *env) openStore(ctx context.Context, c *common, logger *slog.Logger) (*store.Store, error) {
	st, err := storeOpen(ctx, e, c, logger)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if _, err := st.LoadsRecover(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// fail prints err for a user, without a stack trace, and returns the exit
// code that fits it.
func (e *env) fail(ctx context.Context, what string, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "chatstage: %s: interrupted; nothing of the interrupted work was written\n", what)
		var sc signalCause
		if errors.As(context.Cause(ctx), &sc) {
			return exitCodeFor(sc.sig)
		}
		return exitInterrupted
	}
	fmt.Fprintf(e.stderr, "chatstage: %s: %v\n", what, err)
	return exitFailure
}

var version = "dev"

func runVersion(_ context.Context, e *env, args []string) int {
	fs := e.newFlagSet("version", "version", "chatstage version")
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if !e.noArgs(fs, "version", args) {
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "chatstage %s\n", version)
	return exitOK
}
