package testnote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSkipfNotes(t *testing.T) {
	notes := filepath.Join(t.TempDir(), "notes")
	t.Setenv(Env, notes)
	t.Run("skipped", func(t *testing.T) { Skipf(t, "no %s here", "server") })
	t.Run("prefixed", func(t *testing.T) { Skipf(t, "SKIPPED TestX: why\nand more") })
	Note("NOTE: kept %d database", 1)
	b, err := os.ReadFile(notes)
	if err != nil {
		t.Fatal(err)
	}
	want := "SKIPPED: no server here\nSKIPPED TestX: why and more\nNOTE: kept 1 database\n"
	if string(b) != want {
		t.Errorf("notes:\n%s\nwant\n%s", b, want)
	}
	t.Setenv(Env, "")
	Note("nowhere") // no file: nothing happens
	if b2, _ := os.ReadFile(notes); !strings.HasSuffix(string(b2), "database\n") {
		t.Errorf("a note without %s was written", Env)
	}
}
