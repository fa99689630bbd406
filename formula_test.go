package chatstage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatstage/chatstage/internal/dbtest"
	"github.com/chatstage/chatstage/store"
)

// formulaSource has a formula-like value in every kind of place: the
// chat_id, a message's content (quoted, with a comma and a newline), a
// structured_info string, a number and a list element, the sentiment.
const formulaSource = testHeader +
	`=cmd,s,t,17,"[{""id"": ""m"", ""role"": ""user"", ""content"": ""@SUM(A1), \""x\""\n=2"", ""disclaimer"": null}, {""id"": ""-n"", ""role"": ""assistant"", ""content"": ""+""}]","{""first_name"": ""+31 6"", ""pois"": [-1], ""email"": ""-"", ""phone_number"": -5}",2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,-,,2` + "\n" +
	`plain,s,t,17,"[{""id"": ""a"", ""role"": ""assistant"", ""content"": ""\""=quoted\"" and ''=apostrophe""}]",{},2025-07-01T08:00:00,2025-07-01T08:05:00,,,,@,1` + "\n"

// TestFormulaEscaperMatchesSQL: the escape done in Go after the COPY gives
// exactly the bytes PostgreSQL writes when it escapes in the query
// (store.CopyOptions.EscapeFormulas), for both deliverables, whatever the
// chunks the CSV arrives in.
func TestFormulaEscaperMatchesSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := dbtest.Store(t)
	src := filepath.Join(t.TempDir(), "formulas.csv")
	if err := os.WriteFile(src, []byte(formulaSource), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{src, "testdata/export/source.csv"} {
		if _, err := Ingest(ctx, st, f, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sn, err := st.SnapshotBegin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	for _, v := range []store.View{store.ChatsView, store.MessagesView} {
		var plain, sql bytes.Buffer
		if _, err := sn.CopyView(ctx, v, &plain, store.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := sn.CopyView(ctx, v, &sql, store.CopyOptions{EscapeFormulas: true}); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(plain.Bytes(), sql.Bytes()) || !strings.Contains(sql.String(), ",'=cmd,") {
			t.Fatalf("%s: the SQL escape changed nothing: a poor test", v)
		}
		for _, chunk := range []int{plain.Len(), 1, 7} {
			var got bytes.Buffer
			e := &formulaEscaper{w: &got}
			for p := plain.Bytes(); len(p) > 0; {
				n := min(chunk, len(p))
				if k, err := e.Write(p[:n]); k != n || err != nil {
					t.Fatalf("Write: %d, %v", k, err)
				}
				p = p[n:]
			}
			if !bytes.Equal(got.Bytes(), sql.Bytes()) {
				t.Errorf("%s in chunks of %d: the Go escape differs from the SQL one:\n%s\nwant:\n%s", v, chunk, got.String(), sql.String())
			}
		}
	}
}
