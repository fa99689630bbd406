package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/store"
)

// What the commands print: summaries for people on stderr, answers on
// stdout, JSON for machines.

// ingestPrint says what a load did: the summary line on stderr, and with
// --json its record on stdout; a dry run's answer goes to stdout. A file
// refused whole has no load, but --json still says so, so that a script
// gets one object for every file that was read.
func ingestPrint(e *env, name string, res chatstage.LoadResult, err error, asJSON, quiet, dryRun bool) error {
	if errors.Is(err, chatstage.ErrRefused) {
		if asJSON {
			return json.NewEncoder(e.stdout).Encode(refusedOut{Source: name, Status: "refused", Error: err.Error(), DryRun: dryRun})
		}
		return nil
	}
	if dryRun {
		if err == nil {
			return printDryRun(e.stdout, name, res, asJSON)
		}
		return nil
	}
	if res.LoadID == 0 { // no load was recorded (the file could not be opened)
		return nil
	}
	if asJSON {
		if err := json.NewEncoder(e.stdout).Encode(res.LoadResult); err != nil {
			return err
		}
	}
	if !quiet || res.Status != "succeeded" {
		level := slog.LevelInfo
		if res.Status != "succeeded" {
			level = slog.LevelError
		}
		e.note(level, summaryLine(name, res.LoadResult), "load "+res.Status, "file", name, "load", res.LoadResult)
	}
	return nil
}

// refusedOut is what ingest --json prints for a file refused whole: no
// load was recorded, so it has no load_id and no counts.
type refusedOut struct {
	Source string `json:"source"`
	Status string `json:"status"` // refused
	Error  string `json:"error"`
	DryRun bool   `json:"dry_run,omitempty"`
}

func summaryLine(name string, l store.LoadResult) string {
	if l.Status != "succeeded" {
		line := fmt.Sprintf("%s: load %d %s: %s", name, l.LoadID, l.Status, l.Error)
		if l.RowsRead > 0 { // over a budget: what was read, though nothing was kept
			line += fmt.Sprintf(" (%d rows read, %d rejected, %d suppressed)", l.RowsRead, l.RowsRejected, l.RowsSuppressed)
		}
		return line
	}
	line := fmt.Sprintf("%s: load %d succeeded: %s, %s; %s; %s written",
		name, l.LoadID, rowCounts(l), plural(l.VersionsNew, "new version", "new versions"), chatCounts(l),
		plural(l.MessagesWritten, "message", "messages"))
	if l.Note != "" {
		line += " (" + l.Note + ")"
	}
	return line
}

// rowCounts is what became of a load's rows: read, rejected, and skipped
// for their erased chat (contract section 6).
func rowCounts(l store.LoadResult) string {
	s := fmt.Sprintf("%s read, %s rejected", plural(l.RowsRead, "row", "rows"), thousands(l.RowsRejected))
	if l.RowsSuppressed > 0 {
		s += fmt.Sprintf(", %s suppressed (erased chats)", thousands(l.RowsSuppressed))
	}
	return s
}

// chatCounts is the per-chat outcome of a load (contract section 3), and
// the chats a snapshot retired (section 6).
func chatCounts(l store.LoadResult) string {
	s := fmt.Sprintf("chats %s inserted, %s updated, %s unchanged, %s stale",
		thousands(l.ChatsInserted), thousands(l.ChatsUpdated), thousands(l.ChatsUnchanged), thousands(l.ChatsStale))
	if l.Snapshot || l.ChatsRetired > 0 {
		s += fmt.Sprintf(", %s retired", thousands(l.ChatsRetired))
	}
	return s
}

// exportSummary is the one line export prints on stderr.
func exportSummary(dir string, m chatstage.Manifest) string {
	var b strings.Builder
	b.WriteString("export: ")
	for i, f := range m.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s %s", f.Name, plural(f.Rows, "row", "rows"), plural(f.Bytes, "byte", "bytes"))
	}
	running := ""
	switch len(m.RunningLoads) {
	case 0:
	case 1:
		running = fmt.Sprintf("; load %d is running and not in them", m.RunningLoads[0])
	default:
		running = fmt.Sprintf("; loads %s are running and not in them", joinIDs(m.RunningLoads))
	}
	switch {
	case m.AsOf != 0:
		fmt.Fprintf(&b, " (as of load %d)", m.AsOf)
	case m.Through != 0 || m.Since != 0:
		fmt.Fprintf(&b, " (changes after load %d through load %d%s)", m.Since, m.Through, running)
	case m.LastLoadID != 0:
		fmt.Fprintf(&b, " (last load %d%s)", m.LastLoadID, running)
	case running != "":
		fmt.Fprintf(&b, " (no load has succeeded yet%s)", running)
	default:
		b.WriteString(" (no load yet)")
	}
	if m.EscapeFormulas {
		b.WriteString(", formulas escaped")
	}
	fmt.Fprintf(&b, " in %s", dir)
	return b.String()
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

// writeReportSummary prints what the files hold in a few lines.
func writeReportSummary(w io.Writer, dir string, r chatstage.ReportResult) error {
	var b strings.Builder
	for _, f := range r.Files {
		path := strings.TrimSuffix(dir, "/") + "/" + f.Name
		if f.Name == chatstage.ReportHTMLName {
			fmt.Fprintf(&b, "wrote %s\n", path)
			continue
		}
		fmt.Fprintf(&b, "wrote %s: %s\n", path, plural(f.Rows, "row", "rows"))
	}
	fmt.Fprintf(&b, "chats: %s; the user spoke in %s (%s)\n", thousands(r.Chats), thousands(r.UserSpoke), share(r.UserSpoke, r.Chats))
	perChat := "0"
	if r.Chats > 0 {
		perChat = fmt.Sprintf("%.1f", float64(r.Messages)/float64(r.Chats))
	}
	fmt.Fprintf(&b, "messages: %s, %s per chat\n", thousands(r.Messages), perChat)
	fmt.Fprintf(&b, "quality flags on current chats: %s\n", nameCounts(r.Flags))
	fmt.Fprintf(&b, "rejects over all loads: %s (%s open)\n", nameCounts(r.Rejects), thousands(r.OpenRejects))
	fmt.Fprintf(&b, "lifecycle: %s retired, %s erased, %s of erased chats suppressed\n",
		plural(r.Retired, "chat", "chats"), thousands(r.Erased), plural(r.Suppressed, "row", "rows"))
	_, err := io.WriteString(w, b.String())
	return err
}

func share(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}

func nameCounts(list []store.NameCount) string {
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, len(list))
	for i, n := range list {
		parts[i] = fmt.Sprintf("%s %s", n.Name, thousands(n.Count))
	}
	return strings.Join(parts, ", ")
}
