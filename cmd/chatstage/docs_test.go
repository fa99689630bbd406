package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fuzzCommand finds a go test command with -fuzz in backquotes.
var fuzzCommand = regexp.MustCompile("`(go test [^`]*-fuzz [^`]*)`")

// TestDocsFuzzCommands: every fuzz command in the README and docs/ stops
// by itself (-fuzztime: without it go test fuzzes until interrupted) and
// names exactly one fuzz target of its package (go test refuses to fuzz
// when -fuzz matches several).
func TestDocsFuzzCommands(t *testing.T) {
	t.Parallel()
	docs, _ := filepath.Glob("../../docs/*.md")
	n := 0
	for _, doc := range append(docs, "../../README.md") {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fuzzCommand.FindAllStringSubmatch(string(b), -1) {
			n++
			cmd := strings.Fields(m[1])
			pkg := cmd[len(cmd)-1]
			var target string
			for i, f := range cmd {
				if f == "-fuzz" && i+1 < len(cmd) {
					target = cmd[i+1]
				}
			}
			if !strings.Contains(m[1], " -fuzztime ") {
				t.Errorf("%s: %q has no -fuzztime: it would run until interrupted", doc, m[1])
			}
			re, err := regexp.Compile(strings.Trim(target, `'"`))
			if err != nil || !strings.HasPrefix(pkg, "./") {
				t.Errorf("%s: %q: target %q, package %q", doc, m[1], target, pkg)
				continue
			}
			files, _ := filepath.Glob(filepath.Join("../..", pkg, "*_test.go"))
			matched := 0
			for _, f := range files {
				src, _ := os.ReadFile(f)
				for _, fn := range regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`).FindAllStringSubmatch(string(src), -1) {
					if re.MatchString(fn[1]) {
						matched++
					}
				}
			}
			if matched != 1 {
				t.Errorf("%s: %q matches %d fuzz targets in %s, want 1", doc, m[1], matched, pkg)
			}
		}
	}
	if n == 0 {
		t.Error("no fuzz command found in the docs")
	}
}

// TestRulesAreInTheRepository: docs/rules.md states the rules (the
// headers there are those the export views write), and no document sends
// a reader outside the repository for them.
func TestRulesAreInTheRepository(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := string(b)
	for _, h := range []string{contractChatsHeader, contractMessagesHeader} {
		if !strings.Contains(rules, "```\n"+h+"\n```") {
			t.Errorf("docs/rules.md lacks the header %.40s...", h)
		}
	}
	for _, section := range []string{"## 1. The source file", "## 2. One record", "## 3. Versions", "## 4. The deliverables",
		"## 6. Over time: retired chats, erasure, past and delta deliverables"} {
		if !strings.Contains(rules, section) {
			t.Errorf("docs/rules.md has no section %q", section)
		}
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, doc := range append(docs, "../../README.md") {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "CONTRACT.md") {
			t.Errorf("%s points to CONTRACT.md, outside the repository; docs/rules.md has the rules", doc)
		}
	}
}
