package chatstage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/store"
)

// ForgetOptions tune Forget.
type ForgetOptions struct {
	// DryRun says what would be removed and removes nothing.
	DryRun bool
}

// ErrNoChatID: Forget was given no chat_id, or one that is empty once
// trimmed.
var ErrNoChatID = errors.New("no chat_id to forget")

// Forget answers a right-to-erasure request (contract section 6): it
// deletes every row of the chats chatIDs from every table, history and
// rejects included, in one transaction, and records each erasure by the
// SHA-256 of the id, never the id. Loads after it skip the rows of those
// chats (rows_suppressed). Each id is trimmed and made storable as a
// row's chat_id is; an id named twice is erased once. It waits for a load
// that is running to end.
func Forget(ctx context.Context, st *store.Store, chatIDs []string, opts ForgetOptions) (store.ForgetResult, error) {
	ids := make([]string, 0, len(chatIDs))
	seen := make(map[string]bool, len(chatIDs))
	for i, raw := range chatIDs {
		id := etl.ChatID(raw)
		switch {
		case id == "":
			return store.ForgetResult{}, fmt.Errorf("%w: id %d is empty", ErrNoChatID, i+1)
		case seen[id]:
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return store.ForgetResult{}, ErrNoChatID
	}
	return st.Forget(ctx, ids, opts.DryRun)
}

// ReadChatIDs reads the ids of an erasure request from r: one a line,
// blank lines skipped; name is the file's name in errors.
func ReadChatIDs(r io.Reader, name string) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if id := etl.ChatID(sc.Text()); id != "" {
			ids = append(ids, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: after line %d: %w", name, line, err)
	}
	return ids, nil
}
