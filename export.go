package chatstage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage/internal/deliver"
	"github.com/chatstage/chatstage/internal/parquetfile"
	"github.com/chatstage/chatstage/store"
	"golang.org/x/sync/errgroup"
)

// ManifestName is the file Export writes beside the deliverables.
const ManifestName = "manifest.json"

// Manifest is what Export wrote; manifest.json holds the same.
type Manifest struct {
	// Files are the deliverables, chats then messages, each in the formats
	// written, CSV first: chats.csv, chats.parquet, messages.csv,
	// messages.parquet (manifest.json itself not included).
	Files []FileInfo `json:"files"`
	// LastLoadID is the greatest succeeded load in the export's snapshot:
	// the files hold every load up to it and none after. 0 when no load
	// has succeeded yet.
	LastLoadID int64 `json:"last_load_id"`
	// ExportedAt is the database's time of the snapshot, in UTC.
	ExportedAt time.Time `json:"exported_at"`
	// AsOf is the load a past deliverable (--as-of) is of: the files are
	// those export wrote right after it, erasures since applied.
	AsOf int64 `json:"as_of,omitempty"`
	// Since and Through bound a delta deliverable (--since): the changes
	// after load Since, up to load Through. The next delta passes Through
	// as its Since.
	Since   int64 `json:"since,omitempty"`
	Through int64 `json:"through,omitempty"`
	// EscapeFormulas says the files' cells that started with =, +, - or @
	// were prefixed with ' (ExportOptions.EscapeFormulas): their values
	// differ from the contract's, and a reader must know.
	EscapeFormulas bool `json:"escape_formulas"`
	// RunningLoads are the loads that were running at the snapshot: not
	// in the files. Not written to manifest.json.
	RunningLoads []int64 `json:"-"`
}

// FileInfo describes one written file.
type FileInfo struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`  // data rows (a CSV's header not counted); 0 for a file of no rows (report.html)
	Bytes  int64  `json:"bytes"` // file size, a CSV's header included
	SHA256 string `json:"sha256"`
}

// Format is a file format Export writes the deliverables in.
type Format string

// The formats of the deliverables.
const (
	// CSV is the contract's format (docs/rules.md section 4): chats.csv,
	// messages.csv.
	CSV Format = "csv"
	// Parquet is chats.parquet and messages.parquet: the same 47 columns
	// in the same order and the same rows in the same order as the CSV,
	// typed (internal/parquetfile), zstd-compressed.
	Parquet Format = "parquet"
)

// ErrFormat: a format Export does not write.
var ErrFormat = errors.New("unknown format (want csv, parquet or csv,parquet)")

// ParseFormats parses a comma-separated list of formats: "csv",
// "parquet", "csv,parquet". Each format is written once whatever the list
// repeats.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for _, f := range strings.Split(s, ",") {
		f := Format(strings.ToLower(strings.TrimSpace(f)))
		if f != CSV && f != Parquet {
			return nil, fmt.Errorf("%q: %w", f, ErrFormat)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// ExportOptions tune Export. The zero value writes the contract's
// deliverables exactly.
type ExportOptions struct {
	// Formats are the formats to write each deliverable in; none means
	// CSV only. Every format is written from the same COPY of the view.
	Formats []Format
	// EscapeFormulas prefixes with ' every CSV cell that starts with =, +,
	// - or @, so that a spreadsheet shows it as text (this changes the
	// contract's values; manifest.json says so). It applies to
	// the CSV files only: the Parquet files keep the contract's values,
	// since programs read them, not spreadsheets.
	EscapeFormulas bool
	// Lines, when set, counts the CSV lines copied so far (headers
	// included), for a progress report read from another goroutine.
	Lines *atomic.Int64
	// AsOfLoad, or AsOfTime (the last load that succeeded at or before
	// it), makes a past deliverable: exactly the files export wrote right
	// after that load, every erasure since applied (contract section 6).
	AsOfLoad int64
	AsOfTime time.Time
	// SinceLoad makes a delta deliverable: the live chats whose rows
	// differ from those of the export as of that load, and removed.csv.
	// SinceAuto takes the load from the manifest already in the directory:
	// the last load the previous export there held.
	SinceLoad int64
	SinceAuto bool

	// beforeCopy, when set (by tests), is called with each deliverable's
	// name, the range about to be copied (0 for the first or the whole) and
	// the snapshot it is copied through, on the goroutine that copies it.
	beforeCopy func(deliverable string, part int, sn *store.Snapshot)
}

// ErrNoPreviousExport: --since auto found no manifest.json in the
// directory to take its load from.
var ErrNoPreviousExport = errors.New("no previous export in the directory")

// RemovedName is the file of a delta deliverable that lists the chats
// removed since its load: CSV whatever the formats.
const RemovedName = "removed.csv"

// formats returns the formats to write, CSV first, or ErrFormat.
func (o ExportOptions) formats() ([]Format, error) {
	if len(o.Formats) == 0 {
		return []Format{CSV}, nil
	}
	var out []Format
	for _, f := range []Format{CSV, Parquet} {
		if slices.Contains(o.Formats, f) {
			out = append(out, f)
		}
	}
	for _, f := range o.Formats {
		if f != CSV && f != Parquet {
			return nil, fmt.Errorf("%q: %w", f, ErrFormat)
		}
	}
	return out, nil
}

// deliverable is one file of an export before its format: the views it is
// copied from (the current state; a past state or a delta rendered in the
// work area) and its Parquet layout.
type deliverable struct {
	base    string // the file name without its extension
	view    store.View
	work    store.View
	parquet parquetfile.Deliverable
}

// deliverables are the deliverables of an export, in manifest order.
var deliverables = []deliverable{
	{"chats", store.ChatsView, store.WorkChatsView, parquetfile.Chats},
	{"messages", store.MessagesView, store.WorkMessagesView, parquetfile.Messages},
}

// Export writes the deliverables (contract section 4) in the formats of
// opts (chats.csv and messages.csv by default; chats.parquet and
// messages.parquet too or instead) and manifest.json into dir, creating
// dir if needed. Every file is copied from the export views in one
// snapshot, so a load committing meanwhile is in all of them or in none;
// each view is copied once, whatever the formats. The files appear
// together (internal/deliver): a reader never sees a half-written file,
// and after an error or a cancelled ctx the previous files are left as
// they were.
//
// With opts.AsOfLoad or AsOfTime the files are those of the state right
// after that load (a load that did not succeed is refused with
// store.ErrLoadNotSucceeded, nothing written); with SinceLoad or SinceAuto
// they hold only the chats changed since, and removed.csv (contract
// section 6). SinceAuto without an earlier export in dir is
// ErrNoPreviousExport.
func Export(ctx context.Context, st *store.Store, dir string, opts ExportOptions) (Manifest, error) {
	var m Manifest
	formats, err := opts.formats()
	if err != nil {
		return m, err
	}
	asOf := opts.AsOfLoad != 0 || !opts.AsOfTime.IsZero()
	since := opts.SinceLoad != 0 || opts.SinceAuto
	if asOf && since {
		return m, errors.New("a past deliverable (as of a load) and a delta (since a load) are two exports")
	}
	// A past or delta state is rendered into the work area inside the
	// snapshot's own transaction, which no other connection sees: those
	// are read on one connection.
	var sns []*store.Snapshot
	if asOf || since {
		sn, err := st.WorkSnapshotBegin(ctx)
		if err != nil {
			return m, err
		}
		sns = []*store.Snapshot{sn}
	} else if sns, err = st.SnapshotBeginShared(ctx, exportReaders); err != nil {
		return m, err
	}
	sn := sns[0]
	defer closeSnapshots(sns)
	m.LastLoadID, m.ExportedAt, m.RunningLoads = sn.LastLoadID, sn.TakenAt, sn.RunningLoads
	m.EscapeFormulas = opts.EscapeFormulas
	switch {
	case asOf:
		load := opts.AsOfLoad
		if load == 0 {
			if load, err = sn.LoadAt(ctx, opts.AsOfTime); err != nil {
				return m, err
			}
		}
		if err := sn.CheckLoad(ctx, load); err != nil {
			return m, err
		}
		if err := sn.StateAt(ctx, load); err != nil {
			return m, err
		}
		m.AsOf, m.LastLoadID = load, load
	case since:
		load := opts.SinceLoad
		if opts.SinceAuto {
			if load, err = previousLoad(dir); err != nil {
				return m, err
			}
		}
		if err := sn.CheckLoad(ctx, load); err != nil {
			return m, err
		}
		if _, err := sn.DeltaSince(ctx, load); err != nil {
			return m, err
		}
		m.Since, m.Through = load, sn.LastLoadID
	}
	set, err := deliver.Begin(dir, "export")
	if err != nil {
		return m, fmt.Errorf("writing into %s: %w", dir, err)
	}
	defer set.Abort()
	files, err := writeDeliverables(ctx, set, sns, asOf || since, formats, opts)
	if err != nil {
		return m, err
	}
	m.Files = files
	closeSnapshots(sns[1:])
	if since {
		info, err := writeFile(set, RemovedName, func(w io.Writer) (int64, error) { return sn.CopyRemoved(ctx, m.Since, w) })
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, info)
	}
	sn.Close()
	if err := writeJSON(set, ManifestName, m); err != nil {
		return m, err
	}
	// Checked before anything appears: a cancelled export changes nothing.
	if err := ctx.Err(); err != nil {
		return m, err
	}
	if err := set.Commit(); err != nil {
		return m, fmt.Errorf("writing into %s: %w", dir, err)
	}
	return m, nil
}

// exportReaders is how many connections read an export at once: one per
// deliverable, and one more for a second range of messages.csv
// (writeDeliverables). On 200,000 chats the server spends about 1 s of CPU
// on chats.csv and 7 s on messages.csv, and a range costs a little more
// than its share (each scans every chat to find its own): two ranges are
// enough to keep 2 cores busy, and the store's pool holds 4 connections.
const exportReaders = 3

// closeSnapshots closes the snapshots of an export, the first last: on
// Citus its ingest lock is what keeps the others consistent.
func closeSnapshots(sns []*store.Snapshot) {
	for _, sn := range slices.Backward(sns) {
		sn.Close()
	}
}

// writeDeliverables writes every deliverable (its work view when work)
// and returns their files in manifest order. With a snapshot for each
// (store.SnapshotBeginShared) they are written at the same time, each
// read on connections of its own, and the snapshots left over go to
// messages.csv, by far the largest (four messages to a chat), which is
// then copied in ranges at once: an export takes about as long as its
// largest part, not as all of them. With one snapshot they are read one
// after the other. The files are the same bytes either way.
func writeDeliverables(ctx context.Context, set *deliver.Set, sns []*store.Snapshot, work bool,
	formats []Format, opts ExportOptions) ([]FileInfo, error) {
	files := make([][]FileInfo, len(deliverables))
	write := func(ctx context.Context, i int, readers []*store.Snapshot) error {
		d := deliverables[i]
		view := d.view
		if work {
			view = d.work
		}
		keys, err := readers[0].ViewSplit(ctx, view, len(readers))
		if err != nil {
			return err
		}
		var parts []csvCopier
		for k, r := range store.Ranges(keys) {
			sn := readers[k]
			parts = append(parts, func(ctx context.Context, w io.Writer) (int64, error) {
				if opts.beforeCopy != nil {
					opts.beforeCopy(d.base, k, sn)
				}
				return sn.CopyView(ctx, view, w, store.CopyOptions{Range: r})
			})
		}
		files[i], err = writeDeliverable(ctx, set, d, parts, formats, opts)
		return err
	}
	if len(sns) < len(deliverables) {
		for i := range deliverables {
			if err := write(ctx, i, sns[:1]); err != nil {
				return nil, err
			}
		}
		return slices.Concat(files...), nil
	}
	// The first error cancels the other copies: it is the one returned.
	g, gctx := errgroup.WithContext(ctx)
	for i := range deliverables {
		readers := sns[i : i+1]
		if i == len(deliverables)-1 {
			readers = sns[i:]
		}
		g.Go(func() error { return write(gctx, i, readers) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(files...), nil
}

// csvCopier streams a deliverable's CSV, or a range of it, as COPY ...
// TO STDOUT (FORMAT csv) writes it (one Write per line; the header only in
// the first range), into w and returns its data rows.
type csvCopier func(ctx context.Context, w io.Writer) (int64, error)

// writeDeliverable writes deliverable d in each of formats, as files of
// set, from ONE run of its parts, the ranges of its CSV in order (one part
// for the whole): the CSV stream is teed into the CSV file (through the
// formula escape when asked) and into a parquetfile.Writer whose output is
// the Parquet file. It is the one place where a deliverable's CSV becomes
// files: whatever the parts select (the current state, a past one, a
// delta) is written the same way in every format.
func writeDeliverable(ctx context.Context, set *deliver.Set, d deliverable, parts []csvCopier,
	formats []Format, opts ExportOptions) ([]FileInfo, error) {
	type target struct {
		file *deliver.File
		pw   *parquetfile.Writer // for Parquet
	}
	var targets []target
	var sinks []io.Writer
	for _, f := range formats {
		file, err := set.Create(d.base + "." + string(f))
		if err != nil {
			return nil, fmt.Errorf("writing %s.%s: %w", d.base, f, err)
		}
		t := target{file: file}
		var sink io.Writer = file
		switch {
		case f == Parquet:
			if t.pw, err = parquetfile.NewWriter(file, d.parquet, parquetfile.Options{}); err != nil {
				return nil, fmt.Errorf("writing %s: %w", file.Name(), err)
			}
			sink = t.pw
		case opts.EscapeFormulas:
			sink = &formulaEscaper{w: file}
		}
		targets = append(targets, t)
		sinks = append(sinks, namedWriter{file.Name(), sink})
	}
	var w io.Writer = io.MultiWriter(sinks...)
	if len(sinks) == 1 {
		w = sinks[0]
	}
	counted := func(w io.Writer) io.Writer {
		if opts.Lines != nil {
			return &lineCounter{w, opts.Lines}
		}
		return w
	}
	rows, err := copyParts(ctx, set, parts, w, counted)
	if err != nil {
		return nil, err // it says the view, and namedWriter the file
	}
	infos := make([]FileInfo, 0, len(targets))
	for _, t := range targets {
		if t.pw != nil {
			if err := t.pw.Close(); err != nil {
				return nil, fmt.Errorf("writing %s: %w", t.file.Name(), err)
			}
			if t.pw.Rows() != rows {
				return nil, fmt.Errorf("writing %s: %d rows written, the view had %d", t.file.Name(), t.pw.Rows(), rows)
			}
		}
		if err := t.file.Close(); err != nil {
			return nil, fmt.Errorf("writing %s: %w", t.file.Name(), err)
		}
		infos = append(infos, FileInfo{Name: t.file.Name(), Rows: rows, Bytes: t.file.Bytes(), SHA256: t.file.SHA256()})
	}
	return infos, nil
}

// copyParts runs parts, the ranges of one CSV in order, at the same time,
// and writes the CSV to w: the first streams into w, each other one into a
// scratch file of set, copied into w in order once those before it are
// done. counted wraps each part's stream, where its lines are counted as
// they are copied. It returns the data rows of all the parts.
func copyParts(ctx context.Context, set *deliver.Set, parts []csvCopier, w io.Writer,
	counted func(io.Writer) io.Writer) (int64, error) {
	if len(parts) == 1 {
		return parts[0](ctx, counted(w))
	}
	rows := make([]int64, len(parts))
	scratch := make([]*os.File, len(parts))
	defer func() {
		for _, f := range scratch {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := 1; i < len(parts); i++ {
		var err error
		if scratch[i], err = set.Scratch(); err != nil {
			return 0, fmt.Errorf("writing a scratch file: %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, part := range parts[1:] {
		f := scratch[i+1]
		g.Go(func() error {
			bw := bufio.NewWriterSize(f, scratchBuffer)
			n, err := part(gctx, counted(namedWriter{"a scratch file", bw}))
			if err != nil {
				return err
			}
			rows[i+1] = n
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("writing a scratch file: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		var err error
		rows[0], err = parts[0](gctx, counted(w))
		return err
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	buf := make([]byte, scratchBuffer)
	for _, f := range scratch[1:] {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("reading a scratch file: %w", err)
		}
		// The writers of w take the CSV in chunks of any size.
		if _, err := io.CopyBuffer(w, onlyReader{f}, buf); err != nil {
			return 0, err
		}
	}
	var total int64
	for _, n := range rows {
		total += n
	}
	return total, nil
}

// scratchBuffer batches the writes to and from a scratch file.
const scratchBuffer = 256 << 10

// onlyReader hides a file's WriterTo, so that io.CopyBuffer uses its
// buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// namedWriter names the file in its writer's errors: with several files
// fed by one COPY, the error must say which one failed.
type namedWriter struct {
	name string
	w    io.Writer
}

func (n namedWriter) Write(p []byte) (int, error) {
	k, err := n.w.Write(p)
	if err != nil {
		err = fmt.Errorf("writing %s: %w", n.name, err)
	}
	return k, err
}

// copyView copies a view as CSV into a new file of set.
func copyView(ctx context.Context, sn *store.Snapshot, set *deliver.Set, name string, v store.View) (FileInfo, error) {
	return writeFile(set, name, func(w io.Writer) (int64, error) { return sn.CopyView(ctx, v, w, store.CopyOptions{}) })
}

// writeFile writes a new file of set with write, which returns the data
// rows it wrote.
func writeFile(set *deliver.Set, name string, write func(io.Writer) (int64, error)) (FileInfo, error) {
	f, err := set.Create(name)
	if err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", name, err)
	}
	rows, err := write(f)
	if err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", name, err)
	}
	return FileInfo{Name: name, Rows: rows, Bytes: f.Bytes(), SHA256: f.SHA256()}, nil
}

// previousLoad is the last load held by the export already in dir: its
// delta's Through, or its last load.
func previousLoad(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w %s: export it in full once (without --since), then --since auto goes on from there", ErrNoPreviousExport, dir)
	}
	if err != nil {
		return 0, err
	}
	var prev Manifest
	if err := json.Unmarshal(b, &prev); err != nil {
		return 0, fmt.Errorf("reading %s: %w", filepath.Join(dir, ManifestName), err)
	}
	if prev.Through != 0 {
		return prev.Through, nil
	}
	if prev.LastLoadID == 0 {
		return 0, fmt.Errorf("%w %s: the export there holds no load", ErrNoPreviousExport, dir)
	}
	return prev.LastLoadID, nil
}

// writeJSON writes v, indented, as a new file of set.
func writeJSON(set *deliver.Set, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := set.Create(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// lineCounter counts the writes to w: COPY writes one line per write.
type lineCounter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.w.Write(p)
}
