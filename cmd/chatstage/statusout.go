package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/chatstage/chatstage/store"
)

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
			status := l.Status
			if l.ProcessGone {
				status += " (process gone?)"
			}
			t.add(strconv.FormatInt(l.LoadID, 10), l.Source, l.StartedAt.UTC().Format("2006-01-02 15:04:05"),
				loadDuration(l), status, thousands(l.RowsRead), thousands(l.RowsRejected), thousands(l.ChatsInserted),
				thousands(l.ChatsUpdated), thousands(l.ChatsUnchanged), thousands(l.ChatsStale))
		}
		t.write(&b) //nolint:errcheck // a strings.Builder does not fail
		for _, l := range s.Loads {
			switch {
			case l.Status == "failed":
				fmt.Fprintf(&b, "load %d failed: %s\n", l.LoadID, l.Error)
			case l.Snapshot && l.Note != "":
				fmt.Fprintf(&b, "load %d (snapshot): %s\n", l.LoadID, l.Note)
			case l.Snapshot || l.ChatsRetired > 0 || l.RowsSuppressed > 0:
				kind := ""
				if l.Snapshot {
					kind = " (snapshot)"
				}
				fmt.Fprintf(&b, "load %d%s: %s chats retired, %s rows suppressed\n", l.LoadID, kind,
					thousands(l.ChatsRetired), thousands(l.RowsSuppressed))
			}
		}
		if int64(len(s.Loads)) < s.Totals.Loads {
			fmt.Fprintf(&b, "(the %d most recent of %d loads; --limit 0 lists all)\n", len(s.Loads), s.Totals.Loads)
		}
	}
	if s.Staging {
		t := s.Totals
		fmt.Fprintf(&b, "\ntotals: %s, %s, %s, %s (%s open), %s\n", plural(t.Chats, "chat", "chats"), plural(t.Versions, "version", "versions"),
			plural(t.Messages, "message", "messages"), plural(t.Rejects, "reject", "rejects"), thousands(t.OpenRejects), plural(t.Loads, "load", "loads"))
		fmt.Fprintf(&b, "lifecycle: %s retired, %s erased, %s of erased chats suppressed\n",
			plural(t.Retired, "chat", "chats"), thousands(t.Erased), plural(t.Suppressed, "row", "rows"))
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
