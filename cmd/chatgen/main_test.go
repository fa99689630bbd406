package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	for _, want := range []string{"Usage: chatgen [flags]", "Examples:", "chatgen -chats 1000 -change 0.1 -out day2.csv", "-monster", "field: one conversation_log"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, errb.String())
		}
	}
	for _, args := range [][]string{{"--nope"}, {"out.csv"}, {"-change", "2"}, {"-monster", "godzilla"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestGenerate: the examples of the help write the chats asked for, the
// same ones for the same seed.
func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	day1 := filepath.Join(dir, "day1.csv")
	var out, errb bytes.Buffer
	if code := run([]string{"-chats", "25", "-out", day1}, &out, &errb); code != 0 || out.Len() != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(day1)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 26 || recs[0][0] != "chat_id" {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if code := run([]string{"-chats", "25"}, &out, &errb); code != 0 || out.String() != string(b) {
		t.Errorf("to stdout: exit %d, not the same chats", code)
	}
}
