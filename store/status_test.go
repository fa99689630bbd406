package store_test

import (
	"context"
	"errors"
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
	want := store.Totals{Chats: 2, Versions: 2, Messages: 1, Rejects: 4, Loads: 2}
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
	loads, err := st.RejectsLoads(ctx, 0)
	if err != nil || len(loads) != 2 || loads[1] != (store.RejectsLoad{LoadID: 2, Source: "test.csv", Rejects: 2, Header: testHeader, HeaderKnown: true}) {
		t.Fatalf("RejectsLoads = %+v, %v", loads, err)
	}
	if _, err := st.RejectsLoads(ctx, 9); !errors.Is(err, store.ErrLoadNotFound) {
		t.Errorf("load 9: %v, want ErrLoadNotFound", err)
	}
	var got []string
	err = st.RejectsEach(ctx, []int64{2}, func(r *store.Reject) error {
		got = append(got, r.ReasonCode+" "+r.Raw)
		return nil
	})
	if err != nil || strings.Join(got, "|") != "chat_id_missing ,2025-07-01T08:00:00Z,[]|updated_at_invalid C-3,never,[]" {
		t.Errorf("RejectsEach = %q, %v", got, err)
	}
	stop := errors.New("stop")
	if err := st.RejectsEach(ctx, []int64{1, 2}, func(*store.Reject) error { return stop }); err != stop {
		t.Errorf("RejectsEach returned %v, want fn's error", err)
	}
}
