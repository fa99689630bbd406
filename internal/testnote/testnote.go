// Package testnote keeps the lines a test run must show even when every
// package passes. go test ./... prints nothing of a passing package's
// output, neither its stdout nor its stderr (only -v does, among
// thousands of lines), so a test skipped for want of ../shared would pass
// unseen. A test records such a line here; when CHATSTAGE_TEST_NOTES names
// a file (scripts/test.sh, the README's test command, sets it), the line
// is appended to it, and the script prints the file after go test.
//
// It is for tests only and never touches a database.
package testnote

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Env names the variable that holds the notes file.
const Env = "CHATSTAGE_TEST_NOTES"

// Note records one line in the notes file, when there is one. Test
// binaries of several packages append to it at once: each line is one
// write to a file opened for appending, which the kernel does not
// interleave.
func Note(format string, args ...any) {
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	line := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	f.WriteString(line + "\n") //nolint:errcheck // a note that cannot be written is not worth failing a test
}

// Skipf skips t, recording its message, which starts with SKIPPED so
// that it reads the same in go test -v and in the notes.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(msg, "SKIPPED") {
		msg = "SKIPPED: " + msg
	}
	Note("%s", msg)
	t.Skip(msg)
}
