package deliver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The crash tests run this test binary again as a helper process that
// writes a set and dies (os.Exit, no deferred cleanup: as kill -9) at one
// step; the test then reads the directory as a reader would.

const (
	envCrashDir  = "DELIVER_TEST_CRASH_DIR"
	envCrashStep = "DELIVER_TEST_CRASH_STEP"
	envCrashSet  = "DELIVER_TEST_CRASH_SET"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		os.Exit(crashHelper(dir, os.Getenv(envCrashStep), os.Getenv(envCrashSet)))
	}
	os.Exit(m.Run())
}

// crashHelper writes set tag into dir and exits with 3 at the step that
// starts with at ("" writes the set whole and exits 0; "write" dies
// half-way through writing the files).
func crashHelper(dir, at, tag string) int {
	crashHook = func(step string) {
		if at != "" && strings.HasPrefix(step, at) {
			os.Exit(3)
		}
	}
	if err := writeSet(dir, tag, at == "write"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// names are the files of a test set, as an export writes them.
var names = []string{"chats.csv", "messages.csv", "manifest.json"}

// writeSet writes a set whose every file says tag; half dies after the
// first file.
func writeSet(dir, tag string, half bool) error {
	s, err := Begin(dir, "export")
	if err != nil {
		return err
	}
	defer s.Abort()
	for i, name := range names {
		f, err := s.Create(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "%s %s\n", tag, name)
		if err := f.Close(); err != nil {
			return err
		}
		if half && i == 0 {
			os.Exit(3)
		}
	}
	return s.Commit()
}

// runHelper runs the helper process.
func runHelper(t *testing.T, dir, at, tag string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashStep+"="+at, envCrashSet+"="+tag)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.ExitCode() == 1 {
			t.Fatalf("helper failed: %s", out)
		}
		return exit.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// readSet reads the set's files as a reader finds them and returns the one
// tag they all say, failing the test when they disagree.
func readSet(t *testing.T, dir string) string {
	t.Helper()
	var tags []string
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		tag, rest, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		if rest != name {
			t.Fatalf("%s holds %q", name, b)
		}
		tags = append(tags, tag)
	}
	if tags[0] != tags[1] || tags[1] != tags[2] {
		t.Fatalf("a mixed set: %v", tags)
	}
	return tags[0]
}

// plainSet writes the set the way chatstage did before generations: plain
// files renamed into place, with a killed writer's temporary file.
func plainSet(t *testing.T, dir, tag string) {
	t.Helper()
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tag+" "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(dir, ".chats.csv.123456")
	if err := os.WriteFile(old, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := mustTime(t, "2026-01-01T00:00:00Z")
	os.Chtimes(old, past, past)
}

// TestCrashAtEveryStep kills a writer at each step that changes what a
// reader finds, over a directory of plain files from before and over one
// of generations: the reader always finds the whole old set or the whole
// new one, and the next writer recovers and removes what was left.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	steps := []string{"write", "switch to gen-", "link chats.csv", "link messages.csv", "link manifest.json", "unlink stale.csv"}
	for _, start := range []string{"plain", "generations"} {
		for _, at := range steps {
			t.Run(start+"/"+at, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				switch start {
				case "plain":
					plainSet(t, dir, "old")
				case "generations":
					if runHelper(t, dir, "", "old") != 0 {
						t.Fatal("the first set failed")
					}
					// a file the next set does not have
					s, _ := Begin(dir, "export")
					for _, n := range append(slices.Clone(names), "stale.csv") {
						f, _ := s.Create(n)
						fmt.Fprintf(f, "old %s\n", n)
						f.Close()
					}
					if err := s.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				code := runHelper(t, dir, at, "new")
				got := readSet(t, dir)
				if got != "old" && got != "new" {
					t.Fatalf("the set says %q", got)
				}
				// Over generations, the links exist already; over plain files,
				// no older set left stale.csv: those steps do not happen.
				skipped := (start == "generations" && strings.HasPrefix(at, "link")) || (start == "plain" && at == "unlink stale.csv")
				if want := map[bool]int{false: 3, true: 0}[skipped]; code != want {
					t.Errorf("the helper exited %d at %q, want %d", code, at, want)
				}
				// The next writer finishes the job and leaves one generation
				// besides the live one.
				if runHelper(t, dir, "", "next") != 0 {
					t.Fatal("the next set failed")
				}
				if got := readSet(t, dir); got != "next" {
					t.Fatalf("after the next set: %q", got)
				}
				if _, err := os.Lstat(filepath.Join(dir, "stale.csv")); err == nil {
					t.Error("stale.csv of an older set is still there")
				}
				if runHelper(t, dir, "", "last") != 0 {
					t.Fatal("the last set failed")
				}
				gens, _ := filepath.Glob(filepath.Join(dir, ".chatstage-export", "gen-*"))
				if len(gens) != 2 {
					t.Errorf("generations left: %v, want the live one and the previous one", gens)
				}
				if left, _ := filepath.Glob(filepath.Join(dir, ".chats.csv.*")); len(left) != 0 {
					t.Errorf("a killed writer's temporary file is still there: %v", left)
				}
			})
		}
	}
}

// TestLiveWriterIsLeftAlone: a generation being written by a live process
// is not removed by another writer's cleanup.
func TestLiveWriterIsLeftAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := Begin(dir, "export")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := a.Create("chats.csv")
	f.Write([]byte("a"))
	b, err := Begin(dir, "export") // cleans up, but a is alive
	if err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("the live writer's set was removed under it: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "chats.csv")); err != nil || string(b) != "a" {
		t.Errorf("chats.csv = %q, %v", b, err)
	}
}

func TestSetRefusesOddUse(t *testing.T) {
	t.Parallel()
	s, err := Begin(t.TempDir(), "export")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	for _, name := range []string{"", "a/b", ".hidden"} {
		if _, err := s.Create(name); err == nil {
			t.Errorf("Create(%q) accepted", name)
		}
	}
	f, _ := s.Create("x.csv")
	f.Write([]byte("123"))
	if err := s.Commit(); !errors.Is(err, errNotClosed) {
		t.Errorf("Commit with an open file = %v", err)
	}
	f.Close()
	if f.Name() != "x.csv" || f.Bytes() != 3 || f.SHA256() != "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3" {
		t.Errorf("file %s %d %s", f.Name(), f.Bytes(), f.SHA256())
	}
}

// TestScratchLeavesNothing: a scratch file reads back what was written
// to it and is no file of the set, nor anywhere in the directory, even
// while it is open.
func TestScratchLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Begin(dir, "export")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	sc, err := s.Scratch()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.WriteString("part two\n"); err != nil {
		t.Fatal(err)
	}
	f, _ := s.Create("x.csv")
	f.Write([]byte("part one\n"))
	if _, err := sc.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, sc); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x.csv")); err != nil || string(b) != "part one\npart two\n" {
		t.Errorf("x.csv = %q, %v", b, err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if strings.Contains(d.Name(), "scratch") {
			t.Errorf("%s is left", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
