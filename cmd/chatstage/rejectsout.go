package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

// errHeadersDiffer: the rejects asked for come from files with different
// headers, which one CSV cannot hold.
var errHeadersDiffer = errors.New("the rejects come from files with different headers; choose one load with --load")

// writeRejectsCSV writes the raw records under their files' header. Each
// record is written as it was in the file, so the output is valid CSV
// that etl reads back to the same fields: a user fixes it and ingests it.
// Records rejected as field_too_large are left out with a warning: only
// their start is stored.
func writeRejectsCSV(ctx context.Context, w io.Writer, st *store.Store, loads []store.RejectsLoad, ids []int64, all bool, logger *slog.Logger) error {
	header := etl.DefaultHeader()
	for i, l := range loads {
		h := header
		if l.HeaderKnown {
			h = l.Header
		}
		if i == 0 {
			header = h
		} else if h != header {
			return fmt.Errorf("loads %d and %d: %w", loads[0].LoadID, l.LoadID, errHeadersDiffer)
		}
	}
	if _, err := io.WriteString(w, header+"\n"); err != nil {
		return err
	}
	var cut []string
	err := st.RejectsEach(ctx, ids, all, func(r *store.Reject) error {
		if r.ReasonCode == string(etl.RejectFieldTooLarge) {
			// Only the start of such a record is kept: written back, an
			// open quote in it would swallow the records after it.
			cut = append(cut, fmt.Sprintf("load %d line %d", r.LoadID, r.Line))
			return nil
		}
		_, err := io.WriteString(w, r.Raw+"\n")
		return err
	})
	if err == nil && len(cut) > 0 {
		logger.Warn("left out the rejects whose text was cut (field_too_large); take them from their source files",
			"count", len(cut), "records", strings.Join(cut[:min(len(cut), 10)], ", "))
	}
	return err
}

// rejectOut is one line of rejects --json: a reject, with its load's
// source. Its raw text is the record as in the file.
type rejectOut struct {
	Source string `json:"source"`
	*store.Reject
}

// writeRejectsJSON writes one JSON object per reject, in load and line
// order, streaming like the table: memory stays flat however many there
// are.
func writeRejectsJSON(ctx context.Context, w io.Writer, st *store.Store, loads []store.RejectsLoad, ids []int64, all bool) error {
	sources := make(map[int64]string, len(loads))
	for _, l := range loads {
		sources[l.LoadID] = l.Source
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return st.RejectsEach(ctx, ids, all, func(r *store.Reject) error {
		return enc.Encode(rejectOut{sources[r.LoadID], r})
	})
}

func writeRejectsTable(ctx context.Context, w io.Writer, st *store.Store, loads []store.RejectsLoad, ids []int64, all bool) error {
	var total int64
	for _, l := range loads {
		total += l.Rejects
	}
	if total == 0 {
		msg := "no open rejects (rejects --all lists the resolved ones too)"
		if all {
			msg = "no rejects"
		}
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	t := newTable("LOAD", ">", "LINE", ">", "REASON CODE", "", "REASON", "", "SEEN", ">", "STATE", "", "RECORD", "")
	err := st.RejectsEach(ctx, ids, all, func(r *store.Reject) error {
		state := "open"
		if r.ResolvedByLoad != 0 {
			state = "resolved by load " + strconv.FormatInt(r.ResolvedByLoad, 10)
		}
		t.add(strconv.FormatInt(r.LoadID, 10), strconv.FormatInt(r.Line, 10), r.ReasonCode, r.Reason,
			strconv.FormatInt(r.Repeats, 10)+"×", state, preview(r.Raw, 60))
		return nil
	})
	if err != nil {
		return err
	}
	if err := t.write(w); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s in %s; see them as CSV with --format csv\n", plural(total, "reject", "rejects"), plural(len(loads), "load", "loads"))
	return err
}

// preview shows the start of a raw record on one line.
func preview(raw string, width int) string {
	s := strings.NewReplacer("\r", `\r`, "\n", `\n`, "\t", `\t`).Replace(raw)
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return string([]rune(s)[:width-1]) + "…"
}

// dryRunFirstRejects is how many rejects a dry run shows.
const dryRunFirstRejects = 10

// dryRun is what ingest --dry-run --json prints for a file.
type dryRun struct {
	store.LoadResult
	DryRun       bool           `json:"dry_run"`
	FirstRejects []store.Reject `json:"first_rejects"`
}

// printDryRun writes what a load would do: on stdout, because that is the
// answer a dry run is asked for.
func printDryRun(w io.Writer, name string, res chatstage.LoadResult, asJSON bool) error {
	first := make([]store.Reject, len(res.FirstRejects))
	for i, r := range res.FirstRejects {
		first[i] = store.Reject{Line: r.Line, ReasonCode: string(r.Code), Reason: r.Reason, Raw: r.Raw}
	}
	l := res.LoadResult
	if asJSON {
		return json.NewEncoder(w).Encode(dryRun{LoadResult: l, DryRun: true, FirstRejects: first})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: dry run, nothing written: %s; would write %s and %s; %s\n",
		name, rowCounts(l), plural(l.VersionsNew, "new version", "new versions"),
		plural(l.MessagesWritten, "message", "messages"), chatCounts(l))
	if l.Error != "" {
		fmt.Fprintf(&b, "%s: %s\n", name, l.Error)
	}
	if len(first) > 0 {
		if int64(len(first)) < l.RowsRejected {
			fmt.Fprintf(&b, "first %d of %s:\n", len(first), plural(l.RowsRejected, "reject", "rejects"))
		} else {
			b.WriteString("rejects:\n")
		}
		for _, r := range first {
			fmt.Fprintf(&b, "  line %d: %s: %s\n", r.Line, r.ReasonCode, r.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
