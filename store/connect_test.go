package store_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// urlForms writes one server address, user and database in every form a
// user may give: URLs without sslmode (pgx then tries TLS first, and its
// message's first line holds no reason), with sslmode=prefer and disable,
// and key=value strings.
func urlForms(host, port, user, db string) []string {
	u := fmt.Sprintf("postgres://%s@%s/%s", user, net.JoinHostPort(host, port), db)
	kv := fmt.Sprintf("host=%s port=%s user=%s dbname=%s", host, port, user, db)
	return []string{u, u + "?sslmode=prefer", u + "?sslmode=disable", kv, kv + " sslmode=prefer", kv + " sslmode=disable"}
}

// TestConnectErrorsSayWhy: whatever the form of the URL, a failed
// connection says the real reason after the database's name: the
// server's (a role that does not exist) or the network's (a closed port),
// never an empty "failed to connect to 'user=x database=y':".
func TestConnectErrorsSayWhy(t *testing.T) {
	t.Parallel()
	server, err := url.Parse(dbtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on: taken, then given back.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	const role = "chatstage_no_such_role"
	type tc struct{ url, want string }
	var cases []tc
	for _, u := range urlForms(server.Hostname(), server.Port(), role, "postgres") {
		// A server that checks passwords says that instead of naming the
		// missing role (testcontainers' does).
		cases = append(cases, tc{u, `"` + role + `"`})
	}
	for _, u := range urlForms("127.0.0.1", closedPort, "someone", "db") {
		cases = append(cases, tc{u, "connection refused"})
	}
	for _, c := range cases {
		_, err := store.Open(context.Background(), c.url, store.Options{})
		if err == nil {
			t.Errorf("%s: connected", c.url)
			continue
		}
		msg := err.Error()
		cause := msg[strings.LastIndex(msg, "/"):]
		if !strings.Contains(msg, "cannot connect to PostgreSQL at ") || !strings.Contains(cause, c.want) ||
			strings.HasSuffix(strings.TrimSpace(msg), ":") || strings.Contains(msg, "\n") {
			t.Errorf("%s:\n got %q\nwant one line naming the database, then the reason %s", c.url, msg, c.want)
		}
	}
}
