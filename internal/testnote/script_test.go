package testnote

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const fixtureEnv = "CHATSTAGE_TESTNOTE_FIXTURE"

// TestSkipLineFixture skips, as a test without the shared folder does,
// when scripts/test.sh is run by TestScriptShowsSkips; otherwise it does
// nothing.
func TestSkipLineFixture(t *testing.T) {
	if os.Getenv(fixtureEnv) == "" {
		return
	}
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) { Skipf(t, "SKIPPED: fixture: a folder is absent") })
	}
}

// TestScriptShowsSkips: go test ./... shows nothing of a package that
// passes, skips included (neither its stdout nor its stderr: it prints
// the package's output only when it fails, or with -v). The README's test
// command, scripts/test.sh, prints the skips after go test: one line per
// reason, with the number of tests.
func TestScriptShowsSkips(t *testing.T) {
	if testing.Short() {
		Skipf(t, "SKIPPED TestScriptShowsSkips: -short (it runs go vet and go test over the module)")
	}
	cmd := exec.Command("bash", "../../scripts/test.sh", "-run", "^TestSkipLineFixture$")
	cmd.Env = append(os.Environ(), fixtureEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/test.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !strings.Contains(string(out), "ok  \tgithub.com/chatstage/chatstage/internal/testnote") ||
		lines[len(lines)-1] != "SKIPPED: fixture: a folder is absent [2 tests]" {
		t.Errorf("scripts/test.sh printed:\n%s\nwant the package ok, then the skip once with its count", out)
	}
}
