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
	exitRejectBudget = 3   // a load rejected more rows than --max-rejects allows, or would retire more chats than --max-retire
	exitInterrupted  = 130 // SIGINT (Ctrl-C)
	exitTerminated   = 143 // SIGTERM
)

// env is what a command runs with: its streams and the process
// environment, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string // the whole environment, for PG*; nil: empty
	// jsonLog is the command's logger once it parsed --log-format json:
	// its summary and error lines on stderr are then log records too.
	jsonLog *slog.Logger
	// progressEvery is the interval of progress log lines when stderr is
	// not a terminal; 0 means every 5 seconds. Tests shorten it.
	progressEvery time.Duration
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"ingest", "load source files into the staging database", runIngest},
		{"export", "write chats.csv and messages.csv from the export views", runExport},
		{"migrate", "apply or list the database migrations", runMigrate},
		{"status", "list the recent loads, the totals and the migration state", runStatus},
		{"rejects", "list rejected rows, or write them back as CSV to fix and ingest again", runRejects},
		{"forget", "erase chats from every table and skip them in later loads (right to erasure)", runForget},
		{"report", "write chat_metrics.csv, quality.csv and report.html from the analytics views", runReport},
		{"schema", "print the schemas' documentation from the database: a dbt sources.yml or a data dictionary", runSchema},
		{"version", "print the version", runVersion},
	}
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, environ: os.Environ}
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
			return e.exit(ctx, c.name, c.run(ctx, e, args[1:]))
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
	fmt.Fprint(e.stderr, `
Environment (the database is the first of these that is set):
  --database-url URL        a flag of every database command
  CHATSTAGE_DATABASE_URL    a postgres:// URL or a key=value string
  DATABASE_URL
  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSERVICE, ...
                            libpq's variables, as psql reads them
With none of them, libpq's defaults apply (the local socket, the database
and user named after the OS user), and chatstage says so on stderr.
`)
}

// Errors a command returns that say how it ended besides failing.
var (
	// errHelp: the command printed its help, as asked.
	errHelp = errors.New("help shown")
	// errQuiet: the command failed and has said why itself.
	errQuiet = errors.New("failed, as reported")
)

// usageError is a bad command line; the command printed its usage.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// labeled is an error of a command that says itself what was being done
// ("ingest night.csv into user@host:5432/db"), instead of the command's
// name, in front of its message.
type labeled struct {
	label string
	err   error
}

func (l *labeled) Error() string { return l.label + ": " + l.err.Error() }
func (l *labeled) Unwrap() error { return l.err }

// exit prints err for a user, without a stack trace, and returns the exit
// code that fits it: the one place where errors become exit codes.
func (e *env) exit(ctx context.Context, name string, err error) int {
	var usage usageError
	var l *labeled
	if errors.As(err, &l) {
		name, err = l.label, l.err
	}
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &usage):
		if usage.msg != "" {
			fmt.Fprintf(e.stderr, "chatstage %s: %s\n", name, usage.msg)
		}
		return exitUsage
	case ctx.Err() != nil:
		code := exitInterrupted
		var sc signalCause
		if errors.As(context.Cause(ctx), &sc) {
			code = exitCodeFor(sc.sig)
		}
		e.fail(name, "interrupted; nothing of the interrupted work was written", code)
		return code
	case errors.Is(err, errQuiet) && overBudget(err):
		return exitRejectBudget
	case errors.Is(err, errQuiet):
		return exitFailure
	case overBudget(err):
		e.fail(name, err.Error(), exitRejectBudget)
		return exitRejectBudget
	}
	e.fail(name, err.Error(), exitFailure)
	return exitFailure
}

// overBudget tells a load that failed because it would reject or retire
// more than its budget allows: exit 3, so that a script can tell "the
// input looks wrong" from "the tool failed".
func overBudget(err error) bool {
	return errors.Is(err, store.ErrRejectBudget) || errors.Is(err, store.ErrRetireBudget)
}

// fail prints the line that says why a command failed: "chatstage: what:
// why", or under --log-format json an error record with the command and
// the exit code.
func (e *env) fail(what, why string, code int) {
	e.note(slog.LevelError, "chatstage: "+what+": "+why, why, "command", what, "exit_code", code)
}

// pgEnvSet reports whether a libpq variable (PG...) is set: then the user
// chose the database that way.
func (e *env) pgEnvSet() bool {
	if e.environ == nil {
		return false
	}
	for _, kv := range e.environ() {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "PG") && value != "" {
			return true
		}
	}
	return false
}

// note tells people something on stderr: line as it is under
// --log-format text, a log record (msg and attrs) under json, so that a
// log collector reads every line of stderr.
func (e *env) note(level slog.Level, line, msg string, attrs ...any) {
	if e.jsonLog != nil {
		e.jsonLog.Log(context.Background(), level, msg, attrs...)
		return
	}
	fmt.Fprintln(e.stderr, line)
}

// common are the flags every database command takes.
type common struct {
	databaseURL    string
	logFormat      string
	verbose        bool
	connectTimeout time.Duration
}

// cmdline is a command being started: its flags, parsed by parse, and
// then its logger and store, by open.
type cmdline struct {
	e      *env
	name   string
	fs     *flag.FlagSet
	c      common
	db     bool // takes the database flags
	logger *slog.Logger
	// metricsPath is --metrics-file, for the commands that take it.
	metricsPath string
}

// newCmdline returns a command's flag set, whose errors and help go to
// stderr; db adds the flags of the database commands.
func (e *env) newCmdline(name, usage, example string, db bool) *cmdline {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: chatstage %s\n\nExample:\n  %s\n", usage, example)
		if hasFlags(fs) {
			fmt.Fprintln(e.stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	cl := &cmdline{e: e, name: name, fs: fs, db: db}
	if db {
		fs.StringVar(&cl.c.databaseURL, "database-url", "",
			"PostgreSQL URL (default: $CHATSTAGE_DATABASE_URL, then $DATABASE_URL, then libpq's PG* variables)")
		fs.StringVar(&cl.c.logFormat, "log-format", "text", "log format on stderr: text or json")
		fs.BoolVar(&cl.c.verbose, "verbose", false, "log debug details")
		fs.DurationVar(&cl.c.connectTimeout, "connect-timeout", 30*time.Second,
			"how long to retry, with backoff, a database that does not answer or is restarting")
	}
	return cl
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses the command's flags wherever they stand among its
// arguments, and returns the other (positional) arguments. A "--" ends
// the flags: what follows is positional even when it starts with a dash
// (ingest -- -odd.csv).
//
// The standard library stops at the first positional argument, so
// "ingest night.csv --dry-run" would read --dry-run as a file name after
// loading night.csv for real. xflag.ParseToEnd (goose's fix for the same
// problem) parses to the end and keeps the standard flag package's syntax
// and help; it does not give "--" that meaning, hence the split here.
func (cl *cmdline) parse(args []string) ([]string, error) {
	var afterDash []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, afterDash = args[:i], args[i+1:]
	}
	if err := xflag.ParseToEnd(cl.fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, usageError{} // the flag package said what is wrong
	}
	level := slog.LevelInfo
	if cl.c.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cl.c.logFormat, "json") {
		cl.logger = slog.New(slog.NewJSONHandler(cl.e.stderr, opts))
		cl.e.jsonLog = cl.logger
	} else {
		cl.logger = slog.New(slog.NewTextHandler(cl.e.stderr, opts))
	}
	return append(cl.fs.Args(), afterDash...), nil
}

// usage says what is wrong with the command line, then how to use it.
func (cl *cmdline) usage(format string, args ...any) error {
	fmt.Fprintf(cl.e.stderr, "chatstage %s: %s\n", cl.name, fmt.Sprintf(format, args...))
	cl.fs.Usage()
	return usageError{}
}

// noArgs refuses positional arguments for a command that takes none.
func (cl *cmdline) noArgs(args []string) error {
	if len(args) > 0 {
		return cl.usage("unexpected argument %q", args[0])
	}
	return nil
}

// openMode says what open does besides connecting.
type openMode int

const (
	// readOnly connects only: status, rejects, report and migrate, which
	// change nothing unless asked to (a command that reads finds a
	// database never migrated "not migrated yet").
	readOnly openMode = iota
	// checked connects and requires every migration applied, changing
	// nothing: a dry run, which must run on the schema a load would.
	checked
	// migrated applies pending migrations and records the loads of dead
	// processes failed: ingest and export, the commands that write.
	migrated
)

// open connects to the database in the documented order: --database-url,
// $CHATSTAGE_DATABASE_URL, $DATABASE_URL, else libpq's PG* variables.
// A server that restarts while the command starts (connected, but not yet
// migrated) is ridden out like one that is down: open starts over until
// --connect-timeout. Close the store when done.
func (cl *cmdline) open(ctx context.Context, mode openMode) (*store.Store, error) {
	url := cl.c.databaseURL
	for _, name := range []string{"CHATSTAGE_DATABASE_URL", "DATABASE_URL"} {
		if url == "" {
			url = cl.e.getenv(name)
		}
	}
	if url == "" && !cl.e.pgEnvSet() {
		// Nobody chose a database: libpq's defaults would pick one (and
		// ingest would migrate it) without a word.
		if target, err := store.TargetOf(""); err == nil {
			cl.e.note(slog.LevelWarn,
				"chatstage: no database chosen, so libpq's default "+target+" is used; choose one with --database-url "+
					"or CHATSTAGE_DATABASE_URL (chatstage --help lists the variables)",
				"no database chosen, so libpq's default is used", "database", target,
				"choose_with", "--database-url or CHATSTAGE_DATABASE_URL")
		}
	}
	deadline := time.Now().Add(cl.c.connectTimeout)
	for {
		st, err := cl.openOnce(ctx, url, mode, time.Until(deadline))
		if err == nil || !errors.Is(err, store.ErrConnectionLost) || time.Now().After(deadline) || ctx.Err() != nil {
			return st, err
		}
		cl.logger.Warn("lost the connection while starting, starting over", "error", err)
		time.Sleep(200 * time.Millisecond)
	}
}

func (cl *cmdline) openOnce(ctx context.Context, url string, mode openMode, timeout time.Duration) (*store.Store, error) {
	st, err := store.Open(ctx, url, store.Options{Logger: cl.logger, ConnectTimeout: max(timeout, 0)})
	if err != nil {
		return nil, err
	}
	if mode == checked {
		if err := st.MigrationsCheck(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	if mode == migrated {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
		if _, err := st.LoadsRecover(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// parseOut parses the command line of a command that writes into --out
// (whose value out points to) and takes no argument.
func (cl *cmdline) parseOut(args []string, out *string) error {
	rest, err := cl.parse(args)
	switch {
	case err != nil:
		return err
	case len(rest) > 0:
		return cl.usage("unexpected argument %q", rest[0])
	case *out == "":
		return cl.usage("--out DIR is required")
	}
	return nil
}
