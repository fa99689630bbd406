package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors for what callers test with errors.Is. Every error store
// returns from the database went through translate, once, here.
var (
	// ErrConnect: the database could not be reached or refused the login.
	ErrConnect = errors.New("cannot connect to PostgreSQL")
	// ErrConnectionLost: the connection broke during a step (a server
	// restart, a crash, a network failure); the step's transaction did not
	// commit.
	ErrConnectionLost = errors.New("lost the connection to PostgreSQL")
	// ErrLoadNotFound: no load has the id asked for.
	ErrLoadNotFound = errors.New("no such load")
	// ErrNotMigrated: the database has no chatstage schema yet.
	ErrNotMigrated = errors.New("the database is not migrated yet: run chatstage migrate")
	// ErrRejectBudget: a load rejected more rows than its budget allowed.
	// Its rows were not merged; the load record (failed) and its rejects
	// are kept for inspection.
	ErrRejectBudget = errors.New("reject budget exceeded")
	// ErrRetireBudget: a snapshot load would retire more chats than its
	// budget allows; nothing of it was written, its failed record says how
	// many (contract section 6).
	ErrRetireBudget = errors.New("retire budget exceeded")
	// ErrEncoding: the database's encoding is not UTF8. chatstage stores
	// text from any language; another encoding would refuse some of it
	// and fail whole loads on one row's character.
	ErrEncoding = errors.New("the database's encoding is not UTF8")
)

// dbError is a driver error translated at the store's boundary: its
// message says what failed, where and why, and never the password, while
// errors.Is and errors.As still find its sentinel and the driver's error
// (a *pgconn.PgError with its SQLSTATE) in the chain.
type dbError struct {
	kind error // a sentinel above, or nil
	msg  string
	err  error // the driver's error, or nil when store found the problem itself
}

func (e *dbError) Error() string { return e.msg }

func (e *dbError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// translate turns an error of pgx into one a user can act on, saying
// during what it happened. It reads SQLSTATEs, never message texts.
func (s *Store) translate(err error, during string) error {
	var done *dbError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &done):
		return err
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", during, err)
	case errors.As(err, new(*writeError)):
		var we *writeError
		errors.As(err, &we)
		return fmt.Errorf("%s: %w", during, we.err)
	case isConnectError(err):
		return &dbError{ErrConnect, fmt.Sprintf("%v at %s: %s", ErrConnect, s.target, connectCause(err)), err}
	case lostConnection(err):
		return &dbError{ErrConnectionLost, fmt.Sprintf("%v at %s during %s", ErrConnectionLost, s.target, during), err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UndefinedTable {
		return &dbError{ErrNotMigrated, fmt.Sprintf("%s: %v", s.target, ErrNotMigrated), err}
	}
	return &dbError{nil, fmt.Sprintf("%s: %v", during, err), err}
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// lostConnection reports whether err says the connection itself failed,
// whatever the statement: the server ended it (shutdown, crash, restart),
// or the network did.
func lostConnection(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgerrcode.AdminShutdown || pgErr.Code == pgerrcode.CrashShutdown ||
			pgErr.Code == pgerrcode.CannotConnectNow || pgerrcode.IsConnectionException(pgErr.Code)
	}
	var opErr *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &opErr)
}

// writeError is an error of the writer a view was copied to (a full disk,
// say): the caller's, not the database's.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// errorTaggingWriter tags its writer's errors as writeErrors, so that
// translate does not take a file system's error for the connection's.
type errorTaggingWriter struct{ w io.Writer }

func (t errorTaggingWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// retryable reports whether connecting again may succeed: the server is
// not reachable yet, or is starting up, shutting down or recovering
// (SQLSTATE 57P03 and class 08). A refused login or a missing database is
// not retried: waiting would not fix it.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgerrcode.CannotConnectNow || pgErr.Code == pgerrcode.AdminShutdown ||
			pgErr.Code == pgerrcode.CrashShutdown || pgerrcode.IsConnectionException(pgErr.Code)
	}
	return lostConnection(err) || isConnectError(err)
}

// connectCause is why a connection failed, in a line: the server's own
// words (role "x" does not exist), or the network's (connection refused).
// pgx may try a host more than once (with sslmode prefer, the default, TLS
// first and then plain text; each address of a name in turn) and joins the
// errors of its attempts; the first line of its message holds none of
// them. The last attempt is the one that decided, so its reason is given.
func connectCause(err error) string {
	err = lastAttempt(err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		if opErr.Net == "unix" && opErr.Addr != nil {
			// The socket's path says where libpq's default looked.
			return fmt.Sprintf("%v (socket %s)", opErr.Err, opErr.Addr)
		}
		return opErr.Err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	// "127.0.0.1:5432 (127.0.0.1): dial error: ..." → what follows the address
	if i := strings.Index(last, "): "); i >= 0 {
		last = last[i+3:]
	}
	if last == "" || strings.HasSuffix(last, ":") {
		// Nothing after the colon: say so rather than print an empty cause.
		return "no reason given by the driver: " + strings.Join(strings.Fields(err.Error()), " ")
	}
	return last
}

// lastAttempt returns the error of the last of the attempts that pgx
// joined (errors.Join) in err, or err when it joins none.
func lastAttempt(err error) error {
	for e := err; e != nil; {
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				return errs[len(errs)-1]
			}
			return err
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		default:
			return err
		}
	}
	return err
}
