package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/store"
)

func runForget(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("forget", "forget [flags] CHAT_ID... | forget --from FILE",
		"chatstage forget --from erasure-request-2025-07.txt --dry-run", true)
	from := cl.fs.String("from", "", "read the chat ids from `FILE`, one a line (- for standard input)")
	dryRun := cl.fs.Bool("dry-run", false, "say what would be removed; remove and record nothing")
	asJSON := cl.fs.Bool("json", false, "print what was (or would be) removed as one JSON object on stdout")
	ids, err := cl.parse(args)
	if err != nil {
		return err
	}
	switch {
	case *from != "" && len(ids) > 0:
		return cl.usage("give the chat ids as arguments or in --from FILE, not both")
	case *from == "" && len(ids) == 0:
		return cl.usage("no CHAT_ID given")
	case *from != "":
		if ids, err = readIDs(e, *from); err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s holds no chat id: nothing to forget", *from)
		}
	}
	st, err := cl.open(ctx, migrated)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := chatstage.Forget(ctx, st, ids, chatstage.ForgetOptions{DryRun: *dryRun})
	if err != nil {
		return &labeled{"forget in " + st.Target(), err}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	w := e.stderr // a summary for people; with --dry-run, the answer itself
	if *dryRun {
		w = e.stdout
	}
	_, err = fmt.Fprint(w, forgetSummary(res))
	return err
}

func readIDs(e *env, name string) ([]string, error) {
	if name == "-" {
		return chatstage.ReadChatIDs(e.stdin, "standard input")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err // names the file
	}
	defer f.Close()
	return chatstage.ReadChatIDs(f, name)
}

// forgetSummary says what forget removed, without the ids: the output of
// an erasure may end up in logs, which must not hold them either.
func forgetSummary(r store.ForgetResult) string {
	var versions, history, messages, rejects int64
	for _, x := range r.Erasures {
		versions += x.Versions
		history += x.VersionHistory + x.MessageHistory
		messages += x.Messages
		rejects += x.Rejects
	}
	verb := "erased"
	if r.DryRun {
		verb = "would erase"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "forget: %s %d of %d named chat(s) (the others never existed or were erased before)",
		verb, r.ChatsErased, len(r.Erasures))
	fmt.Fprintf(&b, "; rows removed: %d versions, %d messages, %d history rows, %d rejects\n", versions, messages, history, rejects)
	if r.DryRun {
		b.WriteString("dry run: nothing was removed or recorded\n")
	} else {
		b.WriteString("each id is recorded by its SHA-256 only: later loads skip its rows\n")
	}
	return b.String()
}
