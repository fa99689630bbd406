package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
	"github.com/jackc/pgx/v5"
)

// TestViewRanges: the copies of a deliverable's ranges, end to end, are
// its copy byte for byte, whatever the keys: chats of one instant stay in
// one range, a chat without a created at is in the last, the first range
// alone has the header; with statistics or without, ViewSplit's keys cut
// the view in order. A view that is not copied in ranges refuses one.
func TestViewRanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := dbtest.Store(t)
	msgs := func(id string, n int) string {
		var ms []string
		for i := range n {
			ms = append(ms, `{""id"": ""`+id+string(rune('a'+i))+`"", ""role"": ""user"", ""content"": ""x""}`)
		}
		return `"[` + strings.Join(ms, ", ") + `]"`
	}
	src := "chat_id,updated_at,created_at,conversation_log\n" +
		"A,2025-07-03T08:00:00,2025-07-01T08:00:00," + msgs("A", 2) + "\n" +
		"B,2025-07-03T08:00:00,2025-07-01T08:00:00," + msgs("B", 3) + "\n" + // the same instant as A
		"C,2025-07-03T08:00:00,2025-07-02T09:30:00.5," + msgs("C", 1) + "\n" +
		"D,2025-07-03T08:00:00,," + msgs("D", 2) + "\n" + // no created at
		"E,2025-07-03T08:00:00,0009-01-01T00:00:00," + msgs("E", 1) + "\n" +
		"F,2025-07-03T08:00:00,9999-12-31T00:00:00," + msgs("F", 2) + "\n" +
		"G,2025-07-03T08:00:00,2025-07-01T07:59:59.999999," + msgs("G", 1) + "\n"
	mustLoad(t, st, src, loadOpts{})

	check := func(sn *store.Snapshot, keys []string) {
		t.Helper()
		for _, v := range []store.View{store.ChatsView, store.MessagesView} {
			var whole, ends bytes.Buffer
			want, err := sn.CopyView(ctx, v, &whole, store.CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			for i, r := range store.Ranges(keys) {
				var part bytes.Buffer
				n, err := sn.CopyView(ctx, v, &part, store.CopyOptions{Range: r})
				if err != nil {
					t.Fatalf("%s %+v: %v", v, r, err)
				}
				if header := strings.HasPrefix(part.String(), "locations,"); header != (i == 0) {
					t.Errorf("%s %+v: header %v", v, r, header)
				}
				rows += n
				ends.Write(part.Bytes())
			}
			if rows != want || !bytes.Equal(ends.Bytes(), whole.Bytes()) {
				t.Errorf("%s in ranges of %q: %d rows\n%s\nwant %d rows\n%s", v, keys, rows, ends.String(), want, whole.String())
			}
		}
	}
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, keys := range [][]string{
		{"2025-07-01T08:00:00.000000Z"},                                // at A and B's instant
		{"2025-07-01T08:00:00.000001Z"},                                // just after it
		{"0009-01-01T00:00:00.000000Z", "2025-07-01T08:00:00.000000Z"}, // an empty first range
		{"2025-07-02", "9999-12-31T00:00:00.000000Z", "9999-12-31T00:00:00.000001Z"},
		{"1", "2", "3"},
	} {
		check(sn, keys)
	}
	keys, err := sn.ViewSplit(ctx, store.MessagesView, 3)
	if err != nil || len(keys) == 0 {
		t.Fatalf("no statistics: keys %q, %v", keys, err)
	}
	check(sn, keys)
	if keys, err := sn.ViewSplit(ctx, store.ChatMetricsView, 2); keys != nil || err != nil {
		t.Errorf("chat metrics: keys %q, %v", keys, err)
	}
	_, err = sn.CopyView(ctx, store.ChatMetricsView, &bytes.Buffer{}, store.CopyOptions{Range: store.Range{To: "2025"}})
	if !errors.Is(err, store.ErrNotRanged) {
		t.Errorf("a range of chat metrics: %v", err)
	}
	sn.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ANALYZE staging.chats`); err != nil {
		t.Fatal(err)
	}
	sn, err = st.SnapshotBegin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	keys, err = sn.ViewSplit(ctx, store.ChatsView, 2)
	if err != nil || len(keys) != 1 {
		t.Fatalf("statistics: keys %q, %v", keys, err)
	}
	check(sn, keys)
}
