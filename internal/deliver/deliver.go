// Package deliver writes a set of files into a directory so that a reader
// finds, at any instant, even after a crash, either the whole previous set
// or the whole new one: never a mix, never a half-written file.
//
// Each set is written into a generation directory of its own, hidden in
// DIR/.chatstage-KIND/, then a symlink (current) is switched to it with
// one rename(2). The files under DIR are symlinks into current, made once:
//
//	DIR/chats.csv -> .chatstage-export/current/chats.csv
//	DIR/.chatstage-export/current -> gen-20261130T012233.123456-4242
//
// The previous generation is kept until the next set begins, so a reader
// that opened it can finish. A generation being written holds a lock on
// its .lock file; one that nobody holds (its writer was killed) is removed
// when the next set begins. A directory of plain files from before
// (chatstage up to issue 11) is taken over without a moment of mixed
// files: its files are first linked into a generation of their own.
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
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// current is the name of the symlink to the live generation.
const current = "current"

// crashHook, when set (by tests), is called before each step that changes
// what a reader finds, with the step's name: a test process exits there
// to show that a crash at that instant leaves a consistent set.
var crashHook func(step string)

func step(name string) {
	if crashHook != nil {
		crashHook(name)
	}
}

// Set is a set of files being written into one directory.
type Set struct {
	dir   string // where readers look
	state string // dir/.chatstage-KIND
	gen   string // the new generation's name, in state
	lock  *os.File
	mu    sync.Mutex // files: Create may be called from several goroutines
	files []*File
	done  bool
}

// Begin starts a set of files in dir, creating dir if needed. kind names
// the sets written there ("export", "report"): sets of different kinds
// may share a directory. Generations of earlier sets whose writers died
// are removed first.
func Begin(dir, kind string) (*Set, error) {
	s := &Set{dir: dir, state: filepath.Join(dir, ".chatstage-"+kind)}
	if err := os.MkdirAll(s.state, 0o755); err != nil {
		return nil, err
	}
	if err := s.removeStale(); err != nil {
		return nil, fmt.Errorf("removing what killed writers left in %s: %w", s.state, err)
	}
	s.gen = fmt.Sprintf("gen-%s-%d", time.Now().UTC().Format("20060102T150405.000000"), os.Getpid())
	if err := os.Mkdir(filepath.Join(s.state, s.gen), 0o755); err != nil {
		return nil, err
	}
	lock, err := lockFile(filepath.Join(s.state, s.gen, ".lock"), true)
	if err != nil {
		os.RemoveAll(filepath.Join(s.state, s.gen))
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// lockFile opens path (creating it) and takes an exclusive flock on it:
// blocking, or failing at once when wait is false and someone holds it.
// The lock lives as long as the process keeps the file open: a killed
// writer's lock is free.
func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// legacyTemp matches the temporary files of chatstage before generations
// (os.CreateTemp's ".chats.csv.123456"), which a killed export left.
var legacyTemp = regexp.MustCompile(`^\.(chats|messages|removed|manifest|chat_metrics|quality|report)\.(csv|json|html|parquet)\.\d+$`)

// removeStale removes the generations nobody writes any more (their
// writer's lock is free) but the live one, and temporary symlinks and
// legacy temporary files of killed writers that are older than this set.
func (s *Set) removeStale() error {
	live, _ := os.Readlink(filepath.Join(s.state, current))
	entries, err := os.ReadDir(s.state)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == current || name == live:
		case strings.HasPrefix(name, "gen-"):
			lock, err := lockFile(filepath.Join(s.state, name, ".lock"), false)
			if err != nil {
				continue // a live writer holds it
			}
			err = os.RemoveAll(filepath.Join(s.state, name))
			lock.Close()
			if err != nil {
				return err
			}
		case strings.HasPrefix(name, current+".tmp-"):
			os.Remove(filepath.Join(s.state, name)) //nolint:errcheck // a leftover symlink; recreated on demand
		}
	}
	entries, err = os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, e := range entries {
		if !legacyTemp.MatchString(e.Name()) && !strings.HasPrefix(e.Name(), ".link-tmp-") {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(start.Add(-time.Second)) {
			os.Remove(filepath.Join(s.dir, e.Name())) //nolint:errcheck // best effort
		}
	}
	return nil
}

// Dir returns the directory readers look in.
func (s *Set) Dir() string { return s.dir }

// bufferSize batches small writes (COPY writes a row at a time) into
// large ones.
const bufferSize = 256 << 10

// Create starts a file of the set. Write it, then Close it, before
// Commit. Several goroutines may each create and write files of one set;
// Commit and Abort come after they are done.
func (s *Set) Create(name string) (*File, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("%q is not a file name of a set", name)
	}
	f, err := os.OpenFile(filepath.Join(s.state, s.gen, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	file := &File{name: name, f: f, w: bufio.NewWriterSize(f, bufferSize), h: sha256.New()}
	s.mu.Lock()
	s.files = append(s.files, file)
	s.mu.Unlock()
	return file, nil
}

// Scratch returns a new empty file for bytes on their way into a file of
// the set (a part of it written before the parts ahead of it are done). It
// is in the generation's directory, on the file system of the set, and no
// file of the set: its name is removed at once, so nothing is left of it
// once it is closed, whatever happens. Close it when done.
func (s *Set) Scratch() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.state, s.gen), ".scratch-")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Commit makes the set what readers find: every file must be closed.
// Until the switch, readers find the previous set; after it, the new one;
// a crash in between leaves one or the other.
func (s *Set) Commit() error {
	var names []string
	for _, f := range s.files {
		if !f.closed {
			return fmt.Errorf("%s: %w", f.name, errNotClosed)
		}
		names = append(names, f.name)
	}
	if err := syncDir(filepath.Join(s.state, s.gen)); err != nil {
		return err
	}
	if err := s.takeOver(names); err != nil {
		return err
	}
	// Links for names the previous set did not have point into current
	// before the switch: until then they lead nowhere, as for the
	// previous set.
	for _, name := range names {
		if err := s.link(name); err != nil {
			return err
		}
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	if err := s.point(s.gen); err != nil {
		return err
	}
	s.done = true
	s.lock.Close()
	// Links of the previous set's other files now lead nowhere: remove.
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	prefix := filepath.Join(filepath.Base(s.state), current) + string(filepath.Separator)
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(s.dir, e.Name())); err == nil &&
			strings.HasPrefix(target, prefix) && !slices.Contains(names, e.Name()) {
			step("unlink " + e.Name())
			os.Remove(filepath.Join(s.dir, e.Name())) //nolint:errcheck // it leads nowhere either way
		}
	}
	return syncDir(s.dir)
}

var errNotClosed = errors.New("committed before it was closed")

// point switches current to generation gen with one rename(2).
func (s *Set) point(gen string) error {
	tmp := filepath.Join(s.state, fmt.Sprintf("%s.tmp-%d", current, os.Getpid()))
	os.Remove(tmp) //nolint:errcheck // a leftover of this pid
	if err := os.Symlink(gen, tmp); err != nil {
		return err
	}
	step("switch to " + gen)
	if err := os.Rename(tmp, filepath.Join(s.state, current)); err != nil {
		return err
	}
	return syncDir(s.state)
}

// link makes dir/name a symlink to current/name, unless it is one.
func (s *Set) link(name string) error {
	target := filepath.Join(filepath.Base(s.state), current, name)
	path := filepath.Join(s.dir, name)
	if got, err := os.Readlink(path); err == nil && got == target {
		return nil
	}
	tmp := filepath.Join(s.dir, fmt.Sprintf(".link-tmp-%d-%s", os.Getpid(), name))
	os.Remove(tmp) //nolint:errcheck // a leftover of this pid
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	step("link " + name)
	return os.Rename(tmp, path)
}

// takeOver turns a directory of plain files from before generations into
// one: its files of the set's names are hard-linked into a generation of
// their own, current is pointed to it, and each plain file is replaced by
// a symlink to the same bytes. A reader finds the previous files all
// along.
func (s *Set) takeOver(names []string) error {
	var plain []string
	for _, name := range names {
		if info, err := os.Lstat(filepath.Join(s.dir, name)); err == nil && info.Mode().IsRegular() {
			plain = append(plain, name)
		}
	}
	if len(plain) == 0 {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(s.state, current)); errors.Is(err, os.ErrNotExist) {
		legacy := s.gen + "-before"
		if err := os.Mkdir(filepath.Join(s.state, legacy), 0o755); err != nil {
			return err
		}
		for _, name := range plain {
			if err := os.Link(filepath.Join(s.dir, name), filepath.Join(s.state, legacy, name)); err != nil {
				return fmt.Errorf("taking over %s: %w", name, err)
			}
		}
		if err := syncDir(filepath.Join(s.state, legacy)); err != nil {
			return err
		}
		if err := s.point(legacy); err != nil {
			return err
		}
	}
	for _, name := range plain {
		if err := s.link(name); err != nil {
			return err
		}
	}
	return syncDir(s.dir)
}

// Abort removes the generation of a set that was not committed. It is
// safe to defer: after Commit it does nothing.
func (s *Set) Abort() {
	if s.done {
		return
	}
	for _, f := range s.files {
		f.f.Close() // an error only says it was closed already
	}
	os.RemoveAll(filepath.Join(s.state, s.gen)) //nolint:errcheck // best effort: the error being returned matters more
	s.lock.Close()
	s.done = true
}

// File is one file of a set: an io.Writer that counts and hashes what it
// writes.
type File struct {
	name   string
	f      *os.File
	w      *bufio.Writer
	h      hash.Hash
	n      int64
	closed bool
}

// Write writes p to the file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	return n, err
}

// Close flushes, syncs and closes the file.
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

// Name returns the file's name.
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
