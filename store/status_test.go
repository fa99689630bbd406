package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/etl"
	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

const testHeader = "chat_id,updated_at,conversation_log"

// testFile has two chats and two rejects (lines 3 and 5).
const testFile = testHeader + "\n" +
	"C-1,2025-07-01T08:00:00Z,[]\n" +
	",2025-07-01T08:00:00Z,[]\n" +
	"C-2,2025-07-01T09:00:00Z,\"[{\"\"role\"\": \"\"user\"\"}]\"\n" +
	"C-3,never,[]\n"

// runLoad loads testFile as ingest does; dryRun begins with DryRunBegin
// instead of LoadBegin.
func runLoad(t *testing.T, st *store.Store, dryRun bool) store.Load {
	t.Helper()
	ctx := context.Background()
	rd, err := etl.NewReader(strings.NewReader(testFile), etl.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if !dryRun {
		if id, err = st.LoadBegin(ctx, "test.csv"); err != nil {
			t.Fatal(err)
		}
		if err := st.LoadHeaderSet(ctx, id, testHeader); err != nil {
			t.Fatal(err)
		}
	} else if err := st.DryRunBegin(ctx); err != nil {
		t.Fatal(err)
	}
	lookup, err := st.LoadLookup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batches := make(chan *etl.Batch, 4)
	done := make(chan error, 1)
	go func() { done <- etl.Stream(ctx, rd, etl.StreamOptions{Lookup: lookup}, batches) }()
	res, err := st.LoadRun(ctx, store.LoadParams{LoadID: id, Source: "test.csv", DryRun: dryRun, Batches: batches,
		Finish: func() (store.SourceInfo, error) { return store.SourceInfo{}, <-done }})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLoadRunDryRun(t *testing.T) {
	t.Parallel()
	st, _ := dbtest.Store(t)
	ctx := context.Background()
	dry := runLoad(t, st, true)
	if dry.LoadID != 0 || dry.Status != "dry_run" || dry.RowsRead != 4 || dry.RowsRejected != 2 ||
		dry.ChatsInserted != 2 || dry.MessagesWritten != 1 {
		t.Errorf("dry run = %+v", dry)
	}
	s, err := st.StatusRead(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Loads) != 0 || s.Totals != (store.Totals{}) {
		t.Errorf("a dry run left %d loads and %+v", len(s.Loads), s.Totals)
	}
	loaded := runLoad(t, st, false)
	dry.LoadID, dry.Status = loaded.LoadID, loaded.Status
	if dry != loaded {
		t.Errorf("dry run counted %+v, the load %+v", dry, loaded)
	}
}

func TestStatusRead(t *testing.T) {
	t.Parallel()
	st, _ := dbtest.Store(t)
	ctx := context.Background()
	runLoad(t, st, false)
	runLoad(t, st, false)
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
	runLoad(t, st, false)
	runLoad(t, st, false)
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
