package chatstage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	Rows   int64  `json:"rows"`  // data rows, the header not counted
	Bytes  int64  `json:"bytes"` // file size, the header included
	SHA256 string `json:"sha256"`
}

// ExportOptions tune Export. The zero value writes the contract's
// deliverables exactly.
type ExportOptions struct {
	// EscapeFormulas prefixes with ' every cell that starts with =, +, -
	// or @, so that a spreadsheet shows it as text (this changes the
	// contract's values; manifest.json says so).
	EscapeFormulas bool
	// Lines, when set, counts the CSV lines written so far (headers
	// included), for a progress report read from another goroutine.
	Lines *atomic.Int64
}

// deliverables are the files of an export and the view each one copies.
var deliverables = []struct {
	name string
	view store.View
}{
	{"chats.csv", store.ChatsView},
	{"messages.csv", store.MessagesView},
}

// Export writes chats.csv and messages.csv (contract section 4) and
// manifest.json into dir, creating dir if needed. Both files are copied
// from the export views in one snapshot, so a load committing meanwhile is
// in both or in neither. The files appear together (internal/deliver): a
// reader never sees a half-written file, and after an error or a cancelled
// ctx the previous files are left as they were.
func Export(ctx context.Context, st *store.Store, dir string, opts ExportOptions) (Manifest, error) {
	var m Manifest
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		return m, err
	}
	defer sn.Close()
	m.LastLoadID, m.ExportedAt, m.RunningLoads = sn.LastLoadID, sn.TakenAt, sn.RunningLoads
	m.EscapeFormulas = opts.EscapeFormulas
	set, err := deliver.Begin(dir, "export")
	if err != nil {
		return m, fmt.Errorf("writing into %s: %w", dir, err)
	}
	defer set.Abort()
	for _, d := range deliverables {
		info, err := copyView(ctx, sn, set, d.name, d.view, store.CopyOptions{EscapeFormulas: opts.EscapeFormulas}, opts.Lines)
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

// copyView copies a view into a new file of set.
func copyView(ctx context.Context, sn *store.Snapshot, set *deliver.Set, name string, v store.View,
	opts store.CopyOptions, lines *atomic.Int64) (FileInfo, error) {
	f, err := set.Create(name)
	if err != nil {
		return FileInfo{}, fmt.Errorf("writing %s: %w", name, err)
	}
	var w io.Writer = f
	if lines != nil {
		w = &lineCounter{f, lines}
	}
	rows, err := sn.CopyView(ctx, v, w, opts)
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
