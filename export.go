package chatstage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/chatstage/chatstage/internal/deliver"
	"github.com/chatstage/chatstage/store"
)

// ManifestName is the file Export writes beside the deliverables.
const ManifestName = "manifest.json"

// Manifest is what Export wrote; manifest.json holds the same.
type Manifest struct {
	// Files are chats.csv and messages.csv, in that order.
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
}

// FileInfo describes one written file.
type FileInfo struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`  // data rows, the header not counted
	Bytes  int64  `json:"bytes"` // file size, the header included
	SHA256 string `json:"sha256"`
}

// ExportOptions tune Export. The zero value writes the contract's
// deliverables exactly.
type ExportOptions struct {
	// EscapeFormulas prefixes with ' every cell that starts with =, +, -
	// or @, so that a spreadsheet shows it as text (this changes the
	// contract's values; manifest.json does not say so).
	EscapeFormulas bool
	// Lines, when set, counts the CSV lines written so far (headers
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
}

// ErrNoPreviousExport: --since auto found no manifest.json in the
// directory to take its load from.
var ErrNoPreviousExport = errors.New("no previous export in the directory")

// RemovedName is the file of a delta deliverable that lists the chats
// removed since its load.
const RemovedName = "removed.csv"

// Export writes chats.csv and messages.csv (contract section 4) and
// manifest.json into dir, creating dir if needed. Both files are copied
// from the export views in one snapshot, so a load committing meanwhile is
// in both or in neither. The files appear together (internal/deliver): a
// reader never sees a half-written file, and after an error or a cancelled
// ctx the previous files are left as they were.
func Export(ctx context.Context, st *store.Store, dir string, opts ExportOptions) (Manifest, error) {
	var m Manifest
	asOf := opts.AsOfLoad != 0 || !opts.AsOfTime.IsZero()
	since := opts.SinceLoad != 0 || opts.SinceAuto
	if asOf && since {
		return m, errors.New("a past deliverable (as of a load) and a delta (since a load) are two exports")
	}
	begin := st.SnapshotBegin
	if asOf || since {
		begin = st.WorkSnapshotBegin
	}
	sn, err := begin(ctx)
	if err != nil {
		return m, err
	}
	defer sn.Close()
	m.LastLoadID, m.ExportedAt = sn.LastLoadID, sn.TakenAt
	chats, messages := store.ChatsView, store.MessagesView
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
		chats, messages = store.WorkChatsView, store.WorkMessagesView
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
		chats, messages = store.WorkChatsView, store.WorkMessagesView
		m.Since, m.Through = load, sn.LastLoadID
	}
	set, err := deliver.Begin(dir, "export")
	if err != nil {
		return m, fmt.Errorf("writing into %s: %w", dir, err)
	}
	defer set.Abort()
	copyOpts := store.CopyOptions{EscapeFormulas: opts.EscapeFormulas}
	for _, d := range []struct {
		name string
		view store.View
	}{{"chats.csv", chats}, {"messages.csv", messages}} {
		info, err := copyView(ctx, sn, set, d.name, d.view, copyOpts, opts.Lines)
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, info)
	}
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

// copyView copies a view into a new file of set.
func copyView(ctx context.Context, sn *store.Snapshot, set *deliver.Set, name string, v store.View,
	opts store.CopyOptions, lines *atomic.Int64) (FileInfo, error) {
	return writeFile(set, name, func(w io.Writer) (int64, error) {
		if lines != nil {
			w = &lineCounter{w, lines}
		}
		return sn.CopyView(ctx, v, w, opts)
	})
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
