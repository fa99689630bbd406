// Package deliver writes a set of files into a directory, for export's
// deliverables and report's metrics: each file is streamed to a
// temporary file beside its final name, hashed and counted as it is
// written, synced, and renamed into place only when every file of the set
// is complete, and the directory is then synced. A reader never finds a
// half-written file under a final name, and after an error the previous
// files stay as they were and no temporary file remains.
//
// It knows nothing of PostgreSQL or of what the files hold.
package deliver

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
)

// Set is a set of files being written into one directory.
type Set struct {
	dir   string
	files []*File
	done  bool
}

// Begin starts a set of files in dir, creating dir if needed.
func Begin(dir string) (*Set, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Set{dir: dir}, nil
}

// Dir returns the set's directory.
func (s *Set) Dir() string { return s.dir }

// bufferSize batches small writes (COPY writes a row at a time) into
// large ones.
const bufferSize = 256 << 10

// Create starts a file of the set under its final name in the set's
// directory. Write it, then Close it, before Commit.
func (s *Set) Create(name string) (*File, error) {
	f, err := os.CreateTemp(s.dir, "."+name+".*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private (0600); deliverables are for others
	// to read.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	file := &File{name: name, f: f, w: bufio.NewWriterSize(f, bufferSize), h: sha256.New(),
		final: filepath.Join(s.dir, name)}
	s.files = append(s.files, file)
	return file, nil
}

// Commit renames every file of the set into place, in the order they were
// created, and syncs the directory. Every file must be closed.
func (s *Set) Commit() error {
	for _, f := range s.files {
		if !f.closed {
			return fmt.Errorf("%s: %w", f.name, errNotClosed)
		}
	}
	for _, f := range s.files {
		if err := os.Rename(f.f.Name(), f.final); err != nil {
			return err
		}
		f.renamed = true
	}
	s.done = true
	return syncDir(s.dir)
}

var errNotClosed = errors.New("committed before it was closed")

// Abort removes the temporary files of a set that was not committed. It
// is safe to defer: after Commit it does nothing.
func (s *Set) Abort() {
	if s.done {
		return
	}
	for _, f := range s.files {
		if !f.renamed {
			f.f.Close()           // an error only says it was closed already
			os.Remove(f.f.Name()) // best effort: the error being returned matters more
		}
	}
}

// File is one file of a set: an io.Writer that counts and hashes what it
// writes.
type File struct {
	name    string
	f       *os.File
	w       *bufio.Writer
	h       hash.Hash
	n       int64
	final   string
	closed  bool
	renamed bool
}

// Write writes p to the file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	return n, err
}

// Close flushes, syncs and closes the file; it keeps its temporary name
// until the set is committed.
func (f *File) Close() error {
	if err := f.w.Flush(); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		return err
	}
	if err := f.f.Close(); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Name returns the file's final name.
func (f *File) Name() string { return f.name }

// Bytes returns the bytes written.
func (f *File) Bytes() int64 { return f.n }

// SHA256 returns the hex SHA-256 of the bytes written.
func (f *File) SHA256() string { return hex.EncodeToString(f.h.Sum(nil)) }

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
