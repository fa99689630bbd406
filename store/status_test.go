package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// testFile has two chats and two rejects (lines 3 and 5).
const testFile = testHeader + "\n" +
	"C-1,2025-07-01T08:00:00Z,[]\n" +
	",2025-07-01T08:00:00Z,[]\n" +
	"C-2,2025-07-01T09:00:00Z,\"[{\"\"role\"\": \"\"user\"\"}]\"\n" +
	"C-3,never,[]\n"

func TestStatusRead(t *testing.T) {
	t.Parallel()
	st, _ := dbtest.Store(t)
	ctx := context.Background()
	mustLoad(t, st, testFile, loadOpts{})
	mustLoad(t, st, testFile, loadOpts{})
	s, err := st.StatusRead(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Staging || len(s.Loads) != 1 || s.Loads[0].LoadID != 2 || s.Loads[0].ChatsUnchanged != 2 ||
		s.Loads[0].FinishedAt == nil || s.Loads[0].FinishedAt.Before(s.Loads[0].StartedAt) {
		t.Errorf("status = %+v", s)
	}
	// The second load rejects the same two records again: they stay two
	// open rejects, seen twice each.
	want := store.Totals{Chats: 2, Versions: 2, Messages: 1, Rejects: 2, Loads: 2, OpenRejects: 2}
	if s.Totals != want {
		t.Errorf("totals = %+v, want %+v", s.Totals, want)
	}
	for _, m := range s.Migrations {
		if !m.Applied {
			t.Errorf("migration %s pending", m.Name)
		}
	}
	if s, err = st.StatusRead(ctx, 0); err != nil || len(s.Loads) != 2 {
		t.Errorf("limit 0 lists %d loads (%v), want all 2", len(s.Loads), err)
	}
}

func TestRejectsLoadsAndEach(t *testing.T) {
	t.Parallel()
	st, _ := dbtest.Store(t)
	ctx := context.Background()
	mustLoad(t, st, testFile, loadOpts{})
	mustLoad(t, st, testFile, loadOpts{})
	// The second load rejected the same records again: the rejects of
	// the first load say so; the second has none of its own.
	loads, err := st.RejectsLoads(ctx, 0, true)
	if err != nil || len(loads) != 1 || loads[0] != (store.RejectsLoad{LoadID: 1, Source: "test.csv", Rejects: 2, Header: testHeader, HeaderKnown: true}) {
		t.Fatalf("RejectsLoads = %+v, %v", loads, err)
	}
	if loads, err := st.RejectsLoads(ctx, 2, true); err != nil || len(loads) != 1 || loads[0].Rejects != 0 {
		t.Errorf("RejectsLoads(2) = %+v, %v; want load 2 with no rejects of its own", loads, err)
	}
	if _, err := st.RejectsLoads(ctx, 9, true); !errors.Is(err, store.ErrLoadNotFound) {
		t.Errorf("load 9: %v, want ErrLoadNotFound", err)
	}
	var got []string
	err = st.RejectsEach(ctx, []int64{1}, true, func(r *store.Reject) error {
		got = append(got, fmt.Sprintf("%s %s %q %d×, last load %d", r.ReasonCode, r.Raw, r.ChatID, r.Repeats, r.LastLoadID))
		return nil
	})
	if err != nil || strings.Join(got, "|") != `chat_id_missing ,2025-07-01T08:00:00Z,[] "" 2×, last load 2|updated_at_invalid C-3,never,[] "C-3" 2×, last load 2` {
		t.Errorf("RejectsEach = %q, %v", got, err)
	}
	stop := errors.New("stop")
	if err := st.RejectsEach(ctx, []int64{1, 2}, true, func(*store.Reject) error { return stop }); err != stop {
		t.Errorf("RejectsEach returned %v, want fn's error", err)
	}
}
