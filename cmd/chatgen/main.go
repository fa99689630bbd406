// Command chatgen writes realistic source_chat_data.csv files of any size,
// for the bundled sample, benchmarks and load tests. The JSON is written as
// Python's json.dumps writes it (", " separators, non-ASCII as \u escapes,
// emoji as surrogate pairs), like the platform's exports.
//
//	go run ./cmd/chatgen -chats 200000 -out big.csv
//	go run ./cmd/chatgen -chats 200000 -change 0.1 -out night2.csv
//	go run ./cmd/chatgen -monster field -out monster.csv
//
// The same -seed gives the same chats; -change P makes a fraction P of them
// a newer version (a later updated_at and one more message), as the next
// night's export would; -only-changed writes only those. Chat i is the
// same in every file of one seed, so the first N chats of a larger file
// are those of a file of N chats.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/chatstage/chatstage/internal/chatgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: chatgen [flags]

Writes a realistic source_chat_data.csv (one row per chat, its messages as
a JSON array, as the platform exports it) for demos, benchmarks and load
tests. The same -seed gives the same chats.

Examples:
  chatgen -chats 1000 -out day1.csv                # 1,000 chats (about 1.4 MB)
  chatgen -chats 1000 -change 0.1 -out day2.csv    # the next night: 10% of them newer
  chatgen -chats 1000 -change 0.1 -only-changed -out delta2.csv  # only those 10%
  chatgen -chats 200000 | gzip > big.csv.gz        # to stdout, about 285 MB before gzip
  chatgen -monster field -out monster.csv          # a hostile input (see -monster)

From a clone, run it as go run ./cmd/chatgen ...

Flags:
`

// run writes what the command line asks for and returns the exit code:
// 0, 1 when writing failed, 2 for a bad command line.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chats := fs.Int("chats", 1000, "number of chats")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same chats")
	change := fs.Float64("change", 0, "fraction of chats (0 to 1) written as a newer version: a later updated_at and one more message")
	onlyChanged := fs.Bool("only-changed", false, "write only the chats -change makes newer, as an export of what changed since the last night")
	out := fs.String("out", "-", "output file, - for stdout")
	var kinds []string
	for k, desc := range chatgen.Monsters {
		kinds = append(kinds, fmt.Sprintf("%s: %s", k, desc))
	}
	slices.Sort(kinds)
	monster := fs.String("monster", "", "write a hostile input instead:\n"+strings.Join(kinds, "\n"))
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "chatgen: unexpected argument %q (the file goes after -out)\n", fs.Arg(0))
		fs.Usage()
		return 2
	case *chats < 0 || *change < 0 || *change > 1:
		fmt.Fprintln(stderr, "chatgen: -chats must be 0 or more and -change between 0 and 1")
		return 2
	case *onlyChanged && *change == 0:
		fmt.Fprintln(stderr, "chatgen: -only-changed needs -change: with none, no chat changes")
		return 2
	case *monster != "" && chatgen.Monsters[*monster] == "":
		fmt.Fprintf(stderr, "chatgen: -monster %q: want one of field, messages, big, bigs\n", *monster)
		return 2
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "chatgen:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	if *monster != "" {
		err = chatgen.Monster(bw, *monster)
	} else {
		err = chatgen.Generate(bw, chatgen.Options{Chats: *chats, Seed: *seed, Change: *change, OnlyChanged: *onlyChanged})
	}
	if err == nil {
		err = bw.Flush()
	}
	if f, ok := w.(*os.File); ok && err == nil && *out != "-" {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatgen:", err)
		return 1
	}
	return 0
}
