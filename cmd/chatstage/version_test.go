package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/testnote"
)

func TestVersionString(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130013000-f8dc470abcd1+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "f8dc470abcd1234567890"}, {Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-11-30T01:30:00Z"}}}
	for _, tt := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"v1.2.3", stamped, "v1.2.3"},
		{"", stamped, "v0.0.0-20261130013000-f8dc470abcd1+dirty (commit f8dc470abcd1, with uncommitted changes, 2026-11-30T01:30:00Z, go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}}, "v1.4.0 (commit abc, go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"dev (no commit recorded: built by go run, with -buildvcs=false, or outside a git checkout, go1.26.8)"},
		{"", nil, "dev (no build information)"},
	} {
		if got := versionString(tt.linked, tt.bi); got != tt.want {
			t.Errorf("versionString(%q, ...)\n got %q\nwant %q", tt.linked, got, tt.want)
		}
	}
}

// TestVersionOfABuild: a binary made by go build in a git checkout says
// its module version and commit, not "dev". Go records the commit only
// where .git is a directory (not in a git worktree, whose .git is a file),
// so the test builds in a clone of the repository with the working tree's
// changes copied over.
func TestVersionOfABuild(t *testing.T) {
	t.Parallel()
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			testnote.Skipf(t, "SKIPPED TestVersionOfABuild: git %s: %v (not a git checkout?)", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	root := git(".", "rev-parse", "--show-toplevel")
	head := git(root, "rev-parse", "--short=12", "HEAD")
	clone := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	git(clone, "checkout", "-q", head)
	for _, f := range strings.Fields(git(root, "ls-files", "--modified", "--others", "--exclude-standard")) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted
		}
		os.MkdirAll(filepath.Dir(filepath.Join(clone, f)), 0o755)
		if err := os.WriteFile(filepath.Join(clone, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-buildvcs=true", "-o", filepath.Join(clone, "chatstage"), "./cmd/chatstage")
	build.Dir = clone
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(clone, "chatstage"), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.HasPrefix(got, "chatstage v") || !strings.Contains(got, "(commit "+head) {
		t.Errorf("version of a go build: %q, want the module version and commit %s", got, head)
	}
}

// TestHelpWithoutFlags: the help of a command without flags has no empty
// Flags section.
func TestHelpWithoutFlags(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", nil, "version", "--help")
	if r.code != exitOK || !strings.Contains(r.stderr, "Usage: chatstage version") || strings.Contains(r.stderr, "Flags:") {
		t.Errorf("version --help: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "", nil, "status", "--help")
	if r.code != exitOK || !strings.Contains(r.stderr, "Flags:\n  -connect-timeout") {
		t.Errorf("status --help: exit %d\n%s", r.code, r.stderr)
	}
}
