package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

func runRejects(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("rejects", "rejects [flags]",
		"chatstage rejects --load 12 --format csv > fix.csv   # fix fix.csv, then: chatstage ingest fix.csv")
	var c common
	c.register(fs)
	loadID := fs.Int64("load", 0, "only the rejects of this load (default: every load)")
	format := fs.String("format", "table", "table: one line per reject; csv: the raw records under their file's header, to fix and ingest again")
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if !e.noArgs(fs, "rejects", args) {
		return exitUsage
	}
	if *format != "table" && *format != "csv" {
		fmt.Fprintf(e.stderr, "chatstage rejects: --format %q: want table or csv\n", *format)
		return exitUsage
	}
	if *loadID < 0 {
		fmt.Fprintln(e.stderr, "chatstage rejects: --load must be a load id")
		return exitUsage
	}
	logger := e.logger(&c)
	st, err := e.openStore(ctx, &c, logger)
	if err != nil {
		return e.fail(ctx, "rejects", err)
	}
	defer st.Close()

	loads, err := st.RejectsLoads(ctx, *loadID)
	if err != nil {
		return e.fail(ctx, "rejects", err)
	}
	ids := make([]int64, len(loads))
	for i, l := range loads {
		ids[i] = l.LoadID
	}
	w := bufio.NewWriter(e.stdout)
	if *format == "csv" {
		err = writeRejectsCSV(ctx, w, st, loads, ids, logger)
	} else {
		err = writeRejectsTable(ctx, w, st, loads, ids)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return e.fail(ctx, "rejects", err)
	}
	return exitOK
}

// errHeadersDiffer: the rejects asked for come from files with different
// headers, which one CSV cannot hold.
var errHeadersDiffer = errors.New("the rejects come from files with different headers; choose one load with --load")

// writeRejectsCSV writes the raw records under their files' header. Each
// record is written as it was in the file, so the output is valid CSV
// that etl reads back to the same fields: a user fixes it and ingests it.
// Records rejected as field_too_large are left out with a warning: only
// their start is stored.
func writeRejectsCSV(ctx context.Context, w io.Writer, st *store.Store, loads []store.RejectsLoad, ids []int64, logger *slog.Logger) error {
	header := defaultHeader()
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
	err := st.RejectsEach(ctx, ids, func(r *store.Reject) error {
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

func writeRejectsTable(ctx context.Context, w io.Writer, st *store.Store, loads []store.RejectsLoad, ids []int64) error {
	var total int64
	for _, l := range loads {
		total += l.Rejects
	}
	if total == 0 {
		_, err := fmt.Fprintln(w, "no rejects")
		return err
	}
	t := newTable("LOAD", ">", "LINE", ">", "REASON CODE", "", "REASON", "", "RECORD", "")
	err := st.RejectsEach(ctx, ids, func(r *store.Reject) error {
		t.add(strconv.FormatInt(r.LoadID, 10), strconv.FormatInt(r.Line, 10), r.ReasonCode, r.Reason, preview(r.Raw, 60))
		return nil
	})
	if err != nil {
		return err
	}
	if err := t.write(w); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%d rejects in %d load(s); see them as CSV with --format csv\n", total, len(loads))
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

// headerLine renders a file's header names as one CSV line, as the file
// had it (up to quoting), to store with the load.
func headerLine(names []string) string {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(names) //nolint:errcheck // a bytes.Buffer does not fail
	cw.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// defaultHeader is the contract's 13 columns, in the platform's order: the
// header of loads recorded before chatstage kept headers.
func defaultHeader() string {
	var names []string
	for c := etl.ColChatID; c <= etl.ColMessageCount; c++ {
		names = append(names, c.String())
	}
	return strings.Join(names, ",")
}

// rejectSample keeps the first rejects of a file, by line. Batches arrive
// out of file order, so it keeps the n smallest lines seen.
type rejectSample struct {
	mu   sync.Mutex
	n    int
	list []store.Reject
}

func (s *rejectSample) add(b *etl.Batch) {
	if len(b.Rejects) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Rejects {
		if len(s.list) == s.n && r.Line > s.list[len(s.list)-1].Line {
			continue
		}
		s.list = append(s.list, store.Reject{Line: r.Line, ReasonCode: string(r.Code), Reason: r.Reason, Raw: r.Raw})
		slices.SortFunc(s.list, func(a, b store.Reject) int { return cmp.Compare(a.Line, b.Line) })
		if len(s.list) > s.n {
			s.list = s.list[:s.n]
		}
	}
}

func (s *rejectSample) rejects() []store.Reject {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// dryRunFirstRejects is how many rejects a dry run shows.
const dryRunFirstRejects = 10

// dryRun is what ingest --dry-run --json prints for a file.
type dryRun struct {
	store.Load
	DryRun       bool           `json:"dry_run"`
	FirstRejects []store.Reject `json:"first_rejects"`
}

// printDryRun writes what a load would do: on stdout, because that is the
// answer a dry run is asked for.
func printDryRun(w io.Writer, name string, l store.Load, first []store.Reject, asJSON bool) {
	if asJSON {
		if first == nil {
			first = []store.Reject{}
		}
		json.NewEncoder(w).Encode(dryRun{Load: l, DryRun: true, FirstRejects: first}) //nolint:errcheck
		return
	}
	fmt.Fprintf(w, "%s: dry run, nothing written: %d rows read, %d rejected, %d new versions; chats %d inserted, %d updated, %d unchanged, %d stale; %d messages written\n",
		name, l.RowsRead, l.RowsRejected, l.VersionsNew,
		l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.ChatsStale, l.MessagesWritten)
	if l.Error != "" {
		fmt.Fprintf(w, "%s: %s\n", name, l.Error)
	}
	if len(first) == 0 {
		return
	}
	if int64(len(first)) < l.RowsRejected {
		fmt.Fprintf(w, "first %d of %d rejects:\n", len(first), l.RowsRejected)
	} else {
		fmt.Fprintln(w, "rejects:")
	}
	for _, r := range first {
		fmt.Fprintf(w, "  line %d: %s: %s\n", r.Line, r.ReasonCode, r.Reason)
	}
}
