package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/store"
)

// What the commands print: summaries for people on stderr, answers on
// stdout, JSON for machines.

// ingestPrint says what a load did: the summary line on stderr, and with
// --json its record on stdout; a dry run's answer goes to stdout.
func ingestPrint(e *env, name string, res chatstage.LoadResult, err error, asJSON, quiet, dryRun bool) error {
	if dryRun {
		if err == nil {
			return printDryRun(e.stdout, name, res, asJSON)
		}
		return nil
	}
	if res.LoadID == 0 { // refused: no load was recorded
		return nil
	}
	if asJSON {
		if err := json.NewEncoder(e.stdout).Encode(res.LoadResult); err != nil {
			return err
		}
	}
	if !quiet || res.Status != "succeeded" {
		fmt.Fprintln(e.stderr, summaryLine(name, res.LoadResult))
	}
	return nil
}

func summaryLine(name string, l store.LoadResult) string {
	if l.Status != "succeeded" {
		line := fmt.Sprintf("%s: load %d %s: %s", name, l.LoadID, l.Status, l.Error)
		if l.RowsRead > 0 { // over a budget: what was read, though nothing was kept
			line += fmt.Sprintf(" (%d rows read, %d rejected, %d suppressed)", l.RowsRead, l.RowsRejected, l.RowsSuppressed)
		}
		return line
	}
	line := fmt.Sprintf("%s: load %d succeeded: %s", name, l.LoadID, loadCounts(l, "written"))
	if l.Note != "" {
		line += " (" + l.Note + ")"
	}
	return line
}

// loadCounts is what a load did, or would do, in words: how many rows
// it read and what became of its chats.
func loadCounts(l store.LoadResult, written string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows read, %d rejected", l.RowsRead, l.RowsRejected)
	if l.RowsSuppressed > 0 {
		fmt.Fprintf(&b, ", %d suppressed (erased chats)", l.RowsSuppressed)
	}
	fmt.Fprintf(&b, ", %d new versions; chats %d inserted, %d updated, %d unchanged, %d stale",
		l.VersionsNew, l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale)
	if l.Snapshot || l.ChatsRetired > 0 {
		fmt.Fprintf(&b, ", %d retired", l.ChatsRetired)
	}
	fmt.Fprintf(&b, "; %d messages %s", l.MessagesWritten, written)
	return b.String()
}

// exportSummary is the one line export prints on stderr.
func exportSummary(dir string, m chatstage.Manifest) string {
	var b strings.Builder
	b.WriteString("export: ")
	for i, f := range m.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d rows %d bytes", f.Name, f.Rows, f.Bytes)
	}
	switch {
	case m.AsOf != 0:
		fmt.Fprintf(&b, " (as of load %d)", m.AsOf)
	case m.Through != 0 || m.Since != 0:
		fmt.Fprintf(&b, " (changes after load %d through load %d)", m.Since, m.Through)
	case m.LastLoadID == 0:
		b.WriteString(" (no load yet)")
	default:
		fmt.Fprintf(&b, " (last load %d)", m.LastLoadID)
	}
	fmt.Fprintf(&b, " in %s", dir)
	return b.String()
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
		fmt.Fprintf(&b, "wrote %s: %s rows\n", path, thousands(f.Rows))
	}
	fmt.Fprintf(&b, "chats: %s; the user spoke in %s (%s)\n", thousands(r.Chats), thousands(r.UserSpoke), share(r.UserSpoke, r.Chats))
	perChat := "0"
	if r.Chats > 0 {
		perChat = fmt.Sprintf("%.1f", float64(r.Messages)/float64(r.Chats))
	}
	fmt.Fprintf(&b, "messages: %s, %s per chat\n", thousands(r.Messages), perChat)
	fmt.Fprintf(&b, "quality flags on current chats: %s\n", nameCounts(r.Flags))
	fmt.Fprintf(&b, "rejects over all loads: %s (%s open)\n", nameCounts(r.Rejects), thousands(r.OpenRejects))
	fmt.Fprintf(&b, "lifecycle: %s chats retired, %s erased, %s rows of erased chats suppressed\n",
		thousands(r.Retired), thousands(r.Erased), thousands(r.Suppressed))
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
