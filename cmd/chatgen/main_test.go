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

// TestOnlyChanged: -only-changed writes exactly the rows of the full
// nightly file whose chat changed, and the first chats of a larger file
// are those of a smaller one, so a nightly file of N chats applies to a
// database of more.
func TestOnlyChanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	read := func(args ...string) [][]string {
		t.Helper()
		name := filepath.Join(dir, strings.Join(args, "_")+".csv")
		var out, errb bytes.Buffer
		if code := run(append(args, "-out", name), &out, &errb); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errb.String())
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	first := read("-chats", "200")
	night := read("-chats", "200", "-change", "0.1")
	only := read("-chats", "200", "-change", "0.1", "-only-changed")
	var want [][]string
	for i := 1; i < len(night); i++ {
		if strings.Join(night[i], ",") != strings.Join(first[i], ",") {
			want = append(want, night[i])
		}
	}
	if len(want) < 5 || len(only) != len(want)+1 {
		t.Fatalf("-only-changed wrote %d rows, the nightly file changed %d", len(only)-1, len(want))
	}
	for i, rec := range want {
		if strings.Join(only[i+1], ",") != strings.Join(rec, ",") {
			t.Errorf("row %d: %q, want %q", i+1, only[i+1][0], rec[0])
		}
	}
	larger := read("-chats", "500", "-change", "0.1")
	for i := range night {
		if strings.Join(larger[i], ",") != strings.Join(night[i], ",") {
			t.Fatalf("row %d differs between 200 and 500 chats", i)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-only-changed"}, &out, &errb); code != 2 {
		t.Errorf("-only-changed without -change: exit %d, want 2", code)
	}
}
