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
// night's export would.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/chatstage/chatstage/internal/chatgen"
)

func main() {
	chats := flag.Int("chats", 1000, "number of chats")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same chats")
	change := flag.Float64("change", 0, "fraction of chats written as a newer version")
	out := flag.String("out", "-", "output file, - for stdout")
	monster := flag.String("monster", "", "write a hostile input instead: field, messages, big or bigs (see internal/chatgen.Monsters)")
	flag.Parse()
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chatgen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	if *monster != "" {
		err = chatgen.Monster(bw, *monster)
	} else {
		err = chatgen.Generate(bw, chatgen.Options{Chats: *chats, Seed: *seed, Change: *change})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatgen:", err)
		os.Exit(1)
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "chatgen:", err)
		os.Exit(1)
	}
}
