package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatstage/chatstage/store"
)

func runStatus(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("status", "status [flags]", "chatstage status --limit 7")
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object on stdout instead of the table")
	limit := fs.Int("limit", 20, "how many recent loads to list (0: all)")
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if !e.noArgs(fs, "status", args) {
		return exitUsage
	}
	if *limit < 0 {
		fmt.Fprintln(e.stderr, "chatstage status: --limit must be 0 or more")
		return exitUsage
	}
	logger := e.logger(&c)
	// No migration here: status is how a user sees which are pending.
	st, err := storeOpen(ctx, e, &c, logger)
	if err != nil {
		return e.fail(ctx, "status", err)
	}
	defer st.Close()
	// A load whose process died shows as failed, not running, even though
	// status never migrates: on a database not migrated yet there is no
	// load to recover, and StatusRead says what is pending.
	if _, err := st.LoadsRecover(ctx); err != nil && !errors.Is(err, store.ErrNotMigrated) {
		return e.fail(ctx, "status", err)
	}
	s, err := st.StatusRead(ctx, *limit)
	if err != nil {
		return e.fail(ctx, "status", err)
	}
	if *asJSON {
		err = json.NewEncoder(e.stdout).Encode(statusJSON(st.Target(), s))
	} else {
		err = writeStatus(e.stdout, st.Target(), s)
	}
	if err != nil {
		return e.fail(ctx, "status", err)
	}
	return exitOK
}

// statusOut is status --json: stable snake_case names for scripts.
type statusOut struct {
	Database          string             `json:"database"`
	Loads             []store.LoadRecord `json:"loads"`
	Totals            store.Totals       `json:"totals"`
	Migrations        []migrationOut     `json:"migrations"`
	MigrationsPending int                `json:"migrations_pending"`
}

type migrationOut struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

func statusJSON(target string, s store.Status) statusOut {
	out := statusOut{Database: target, Loads: s.Loads, Totals: s.Totals, Migrations: []migrationOut{}}
	if out.Loads == nil {
		out.Loads = []store.LoadRecord{}
	}
	for _, m := range s.Migrations {
		out.Migrations = append(out.Migrations, migrationOut{m.Version, m.Name, m.Applied})
		if !m.Applied {
			out.MigrationsPending++
		}
	}
	return out
}

func writeStatus(w io.Writer, target string, s store.Status) error {
	var b strings.Builder
	fmt.Fprintf(&b, "database: %s\n\n", target)
	switch {
	case !s.Staging:
		b.WriteString("no staging schema yet: run chatstage migrate (ingest does it too)\n")
	case len(s.Loads) == 0:
		b.WriteString("no loads yet\n")
	default:
		t := newTable("LOAD", ">", "SOURCE", "", "STARTED (UTC)", "", "DURATION", ">", "STATUS", "",
			"ROWS", ">", "REJECTED", ">", "INSERTED", ">", "UPDATED", ">", "UNCHANGED", ">", "STALE", ">")
		for _, l := range s.Loads {
			t.add(strconv.FormatInt(l.LoadID, 10), l.Source, l.StartedAt.UTC().Format("2006-01-02 15:04:05"),
				loadDuration(l), l.Status, thousands(l.RowsRead), thousands(l.RowsRejected), thousands(l.ChatsInserted),
				thousands(l.ChatsUpdated), thousands(l.ChatsUnchanged), thousands(l.ChatsStale))
		}
		t.write(&b) //nolint:errcheck // a strings.Builder does not fail
		for _, l := range s.Loads {
			if l.Status == "failed" {
				fmt.Fprintf(&b, "load %d failed: %s\n", l.LoadID, l.Error)
			}
		}
		if int64(len(s.Loads)) < s.Totals.Loads {
			fmt.Fprintf(&b, "(the %d most recent of %d loads; --limit 0 lists all)\n", len(s.Loads), s.Totals.Loads)
		}
	}
	if s.Staging {
		t := s.Totals
		fmt.Fprintf(&b, "\ntotals: %s chats, %s versions, %s messages, %s rejects, %s loads\n",
			thousands(t.Chats), thousands(t.Versions), thousands(t.Messages), thousands(t.Rejects), thousands(t.Loads))
	}
	var applied int
	var pending []string
	for _, m := range s.Migrations {
		if m.Applied {
			applied++
		} else {
			pending = append(pending, m.Name)
		}
	}
	fmt.Fprintf(&b, "migrations: %d applied, %d pending", applied, len(pending))
	if len(pending) > 0 {
		fmt.Fprintf(&b, " (%s; chatstage migrate applies them)", strings.Join(pending, ", "))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// loadDuration is how long a finished load took, to the millisecond under
// a minute and to the second above.
func loadDuration(l store.LoadRecord) string {
	if l.FinishedAt == nil {
		return "-"
	}
	d := l.FinishedAt.Sub(l.StartedAt)
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// thousands groups digits by thousands: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// table aligns columns of text for a terminal: two spaces between
// columns, numbers right-aligned.
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

// newTable takes pairs of a column title and its alignment: ">" for
// right, "" for left.
func newTable(cols ...string) *table {
	t := &table{}
	for i := 0; i+1 < len(cols); i += 2 {
		t.head = append(t.head, cols[i])
		t.right = append(t.right, cols[i+1] == ">")
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.head}, t.rows...) {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				line.WriteString(pad + c)
			} else if i < len(r)-1 {
				line.WriteString(c + pad)
			} else {
				line.WriteString(c) // no trailing blanks
			}
		}
		b.WriteString(line.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
