package store

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestConnectCauseIsTheLastAttempts: pgx joins the errors of its attempts
// (TLS, then plain text; each address in turn); the reason given is the
// last attempt's, which decided, whatever the first one said.
func TestConnectCauseIsTheLastAttempts(t *testing.T) {
	t.Parallel()
	tls := &pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "127.0.0.1", user "x", database "y", SSL encryption`}
	plain := &pgconn.PgError{Code: "28000", Message: `role "x" does not exist`}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}
	socket := &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: "/tmp/.s.PGSQL.5432", Net: "unix"},
		Err: fmt.Errorf("connect: %w", syscall.ENOENT)}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("failed to connect to `user=x database=y`: %w", errors.Join(tls, plain)), `role "x" does not exist (SQLSTATE 28000)`},
		{fmt.Errorf("failed to connect to `user=x database=y`: %w", errors.Join(plain, refused)), "connect: connection refused"},
		{fmt.Errorf("hostname resolving error: %w", errors.Join(refused)), "connect: connection refused"},
		{fmt.Errorf("failed to connect to `user=x database=y`: %w", socket), "connect: no such file or directory (socket /tmp/.s.PGSQL.5432)"},
		{errors.New("failed to connect to `user=x database=y`:"), "no reason given by the driver: failed to connect to `user=x database=y`:"},
	} {
		if got := connectCause(tt.err); got != tt.want {
			t.Errorf("connectCause(%q)\n got %q\nwant %q", tt.err, got, tt.want)
		}
	}
}
