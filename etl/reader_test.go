package etl

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

const testHeader = "chat_id,slug,token,organization_id,conversation_log,structured_info,created_at,updated_at,language,is_test_chat,sentiment,resolution,message_count\n"

// readAll returns the records and rejects of a source text.
func readAll(t *testing.T, src string) ([]Record, []Reject) {
	t.Helper()
	r, err := NewReader(strings.NewReader(src), ReaderOptions{})
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []Record
	var rejs []Reject
	for {
		rec, err := r.Next()
		var rej *Reject
		switch {
		case err == io.EOF:
			return recs, rejs
		case errors.As(err, &rej):
			rejs = append(rejs, *rej)
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			recs = append(recs, rec)
		}
	}
}

func TestReaderHeaderRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		missing   []string
		duplicate []string
	}{
		{"no chat_id", "slug,updated_at,conversation_log\n", []string{"chat_id"}, nil},
		{"no updated_at nor conversation_log", "chat_id,slug\n", []string{"updated_at", "conversation_log"}, nil},
		{"named twice", "chat_id,updated_at,conversation_log,Chat_ID \n", nil, []string{`"chat_id"`}},
		{"unknown named twice", "chat_id,updated_at,conversation_log,x,X\n", nil, []string{`"x"`}},
	}
	for _, tt := range tests {
		_, err := NewReader(strings.NewReader(tt.src), ReaderOptions{})
		var he *HeaderError
		if !errors.As(err, &he) || !errors.Is(err, ErrBadHeader) {
			t.Fatalf("%s: err = %v, want a *HeaderError", tt.name, err)
		}
		if !reflect.DeepEqual(he.Missing, tt.missing) || !reflect.DeepEqual(he.Duplicate, tt.duplicate) {
			t.Errorf("%s: missing %v duplicate %v, want %v %v", tt.name, he.Missing, he.Duplicate, tt.missing, tt.duplicate)
		}
		for _, m := range tt.missing {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: message %q does not name %s", tt.name, err, m)
			}
		}
	}
	if _, err := NewReader(strings.NewReader(""), ReaderOptions{}); !errors.Is(err, ErrNoHeader) {
		t.Errorf("empty file: err = %v, want ErrNoHeader", err)
	}
	if _, err := NewReader(strings.NewReader("\n\r\n"), ReaderOptions{}); !errors.Is(err, ErrNoHeader) {
		t.Errorf("blank file: err = %v, want ErrNoHeader", err)
	}
}

// utf16Bytes encodes s as UTF-16, little- or big-endian, with a byte-order
// mark when bom.
func utf16Bytes(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	var b []byte
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

// TestReaderHeaderOtherFormats: a header that names the required columns
// when split on a tab or a semicolon, or a file in UTF-16, is refused with
// a message that says so, not "missing the required columns".
func TestReaderHeaderOtherFormats(t *testing.T) {
	t.Parallel()
	const row = "2025-07-01T08:05:00,[],C-1\n"
	tests := []struct {
		name string
		src  []byte
		want string
	}{
		{"tab", []byte("chat_id\tupdated_at\tconversation_log\nC-1\t2025-07-01T08:05:00\t[]\n"),
			"bad header: the header looks tab-separated; chatstage reads comma-separated files"},
		{"tab, quoted names", []byte(`"Chat_ID"` + "\t" + `"slug"` + "\t" + `"updated_at"` + "\t" + `"conversation_log"` + "\n"),
			"bad header: the header looks tab-separated; chatstage reads comma-separated files"},
		{"semicolon", []byte("\xEF\xBB\xBFchat_id;slug;updated_at ; conversation_log\r\n"),
			"bad header: the header looks semicolon-separated; chatstage reads comma-separated files"},
		{"UTF-16LE with a BOM", utf16Bytes("chat_id,updated_at,conversation_log\n"+row, false, true),
			"bad header: the file looks UTF-16 (it starts with the byte-order mark FF FE); chatstage reads UTF-8"},
		{"UTF-16BE with a BOM", utf16Bytes("chat_id,updated_at,conversation_log\n"+row, true, true),
			"bad header: the file looks UTF-16 (it starts with the byte-order mark FE FF); chatstage reads UTF-8"},
		{"UTF-16LE without a BOM", utf16Bytes("chat_id,updated_at,conversation_log\n"+row, false, false),
			"bad header: the file looks UTF-16 (NUL bytes between the letters of its header); chatstage reads UTF-8"},
		{"tab, a required column missing", []byte("chat_id\tslug\tupdated_at\n"),
			"bad header: missing the required columns chat_id, updated_at, conversation_log"},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.src), ReaderOptions{})
		if !errors.Is(err, ErrBadHeader) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant %s...", tt.name, err, tt.want)
		}
	}
}

func TestReaderHeaderMatching(t *testing.T) {
	t.Parallel()
	src := "\xEF\xBB\xBF UPDATED_AT ,Conversation_Log,exported_by,CHAT_ID\r\n" +
		"2025-07-01T08:05:00,[],x,C-1\r\n"
	r, err := NewReader(strings.NewReader(src), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.UnknownColumns(); !reflect.DeepEqual(got, []string{"exported_by"}) {
		t.Errorf("unknown columns = %v", got)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.ChatID != "C-1" || rec.values[ColConversationLog] != "[]" || rec.Line != 2 {
		t.Errorf("record = %+v", rec)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("want EOF after the last record, got %v", err)
	}
	// A header-only file is a load of no rows.
	recs, rejs := readAll(t, testHeader)
	if len(recs)+len(rejs) != 0 {
		t.Errorf("header-only file gave %d records", len(recs)+len(rejs))
	}
}

func TestReaderRejects(t *testing.T) {
	t.Parallel()
	ok := `C-1,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0`
	src := testHeader +
		ok + "\n" + // line 2
		`,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0` + "\n" + // 3: empty chat_id
		" \u00a0,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\n" + // 4: blank chat_id
		`C-2,s,t,17,[],{},2025-07-01T08:00:00,gisteren,nl,,,,0` + "\n" + // 5
		`C-3,s,t,17,[],{},2025-07-01T08:00:00,,nl,,,,0` + "\n" + // 6
		`C-4,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00+02,nl,,,,0` + "\n" + // 7
		"\n" + // 8: blank, skipped
		`C-5,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,` + "\n" + // 9: 12 fields
		`C-6,s"t,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0` + "\n" + // 10: bare quote
		`C-7,"s"x,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0` + "\n" + // 11: quote then x
		"C-8,\"multi\r\nline\",t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\r\n" + // 12-13
		"C-9,a\rb,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\n" + // 14: bare CR is data
		`C-10,"never closed,t` + "\nmore\n" // 15-16: one reject to the end
	recs, rejs := readAll(t, src)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ChatID)
	}
	if want := []string{"C-1", "C-8", "C-9"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("records %v, want %v", ids, want)
	}
	if recs[1].values[ColSlug] != "multi\nline" || recs[1].Line != 12 {
		t.Errorf("quoted CRLF: slug %q line %d", recs[1].values[ColSlug], recs[1].Line)
	}
	if recs[2].values[ColSlug] != "a\rb" || recs[2].Line != 14 {
		t.Errorf("bare CR: slug %q line %d", recs[2].values[ColSlug], recs[2].Line)
	}
	type want struct {
		line int64
		code RejectCode
		raw  string
	}
	wants := []want{
		{3, RejectChatIDMissing, `,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0`},
		{4, RejectChatIDMissing, " \u00a0,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0"},
		{5, RejectUpdatedAtInvalid, `C-2,s,t,17,[],{},2025-07-01T08:00:00,gisteren,nl,,,,0`},
		{6, RejectUpdatedAtMissing, `C-3,s,t,17,[],{},2025-07-01T08:00:00,,nl,,,,0`},
		{7, RejectUpdatedAtInvalid, `C-4,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00+02,nl,,,,0`},
		{9, RejectFieldCount, `C-5,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,`},
		{10, RejectMalformed, `C-6,s"t,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0`},
		{11, RejectMalformed, `C-7,"s"x,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0`},
		{15, RejectMalformed, "C-10,\"never closed,t\nmore"},
	}
	if len(rejs) != len(wants) {
		t.Fatalf("got %d rejects, want %d: %+v", len(rejs), len(wants), rejs)
	}
	for i, w := range wants {
		r := rejs[i]
		if r.Line != w.line || r.Code != w.code || r.Raw != w.raw || r.Reason == "" {
			t.Errorf("reject %d = %+v, want line %d code %s raw %q", i, r, w.line, w.code, w.raw)
		}
	}
	if !strings.Contains(rejs[2].Reason, `"gisteren"`) {
		t.Errorf("reason %q should quote the bad value", rejs[2].Reason)
	}
}

// TestReaderChatIDTooLong: a chat_id over 512 bytes (UTF-8, after
// trimming and sanitizing) is rejected instead of failing the whole load
// on the primary key's index (issue 10).
func TestReaderChatIDTooLong(t *testing.T) {
	t.Parallel()
	row := func(id string) string {
		return `"` + id + `",s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0` + "\n"
	}
	at512 := strings.Repeat("a", 512)
	src := testHeader +
		row(at512) + // 2: exactly 512 bytes: kept
		row("  "+at512+"\u00a0") + // 3: 512 after trimming: kept
		row(at512+"b") + // 4: 513 bytes
		row(strings.Repeat("é", 256)) + // 5: 256 runes, 512 bytes: kept
		row(strings.Repeat("é", 256)+"\xff") + // 6: 515 bytes once \xff is U+FFFD
		row(strings.Repeat("\x00", 600)+"x") + // 7: NUL removed: "x"
		row(strings.Repeat("z", 3000)) // 8: the 3,000 characters
	recs, rejs := readAll(t, src)
	var kept []int64
	for _, r := range recs {
		kept = append(kept, r.Line)
	}
	if want := []int64{2, 3, 5, 7}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept lines %v, want %v", kept, want)
	}
	var rejected []int64
	for _, r := range rejs {
		rejected = append(rejected, r.Line)
		if r.Code != RejectChatIDTooLong || !strings.Contains(r.Reason, "over the limit of 512") {
			t.Errorf("line %d: %s %q, want chat_id_too_long", r.Line, r.Code, r.Reason)
		}
		if r.ChatID != "" {
			t.Errorf("line %d: a too long chat_id is not a chat to name, got %d bytes", r.Line, len(r.ChatID))
		}
	}
	if want := []int64{4, 6, 8}; !reflect.DeepEqual(rejected, want) {
		t.Errorf("rejected lines %v, want %v", rejected, want)
	}
}

// TestReaderRejectNamesItsChat: a reject of a well-formed record with the
// header's number of fields carries its trimmed, sanitized chat_id; one
// whose chat cannot be known carries none.
func TestReaderRejectNamesItsChat(t *testing.T) {
	t.Parallel()
	src := testHeader +
		" C-1\x00 ,s,t,17,[],{},2025-07-01T08:00:00,yesterday,nl,,,,0\n" + // updated_at invalid
		"C-2,s,t,17,[],{},2025-07-01T08:00:00,,nl,,,,0\n" + // updated_at missing
		"C-3,s,t\n" + // field count: unknown
		"C-4,s\"t,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\n" // malformed: unknown
	_, rejs := readAll(t, src)
	got := map[int64]string{}
	for _, r := range rejs {
		got[r.Line] = r.ChatID
	}
	want := map[int64]string{2: "C-1", 3: "C-2", 4: "", 5: ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reject chat ids %v, want %v", got, want)
	}
}

// TestReaderBareCRFile: a file whose lines end in bare CRs is refused
// whole with a message that says so, small or large (issue 10), instead of
// reading as one header record and loading nothing.
func TestReaderBareCRFile(t *testing.T) {
	t.Parallel()
	small := strings.ReplaceAll(testHeader, "\n", "\r") +
		"P-1,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\r"
	large := small + strings.Repeat("P-2,s,t,17,[],{},2025-07-01T08:00:00,2025-07-01T08:05:00,nl,,,,0\r", 20000)
	quotedLF := "chat_id,\"updated\nat\",conversation_log\nC-1,2025-07-01T08:05:00,[]\n"
	for name, src := range map[string]string{"small": small, "large": large} {
		_, err := NewReader(strings.NewReader(src), ReaderOptions{})
		var he *HeaderError
		if !errors.As(err, &he) || !errors.Is(err, ErrBadHeader) || !he.BareCR {
			t.Fatalf("%s: err = %v, want a bare-CR *HeaderError", name, err)
		}
		if !strings.Contains(err.Error(), "bare CRs") {
			t.Errorf("%s: message %q does not say the lines end in bare CRs", name, err)
		}
	}
	_, err := NewReader(strings.NewReader(quotedLF), ReaderOptions{})
	var he *HeaderError
	if !errors.As(err, &he) || he.BareCR || !strings.Contains(err.Error(), "line break") {
		t.Errorf("a header name holding LF: err = %v, want a line-break *HeaderError", err)
	}
	// CRLF files and a bare CR inside a data row are fine.
	if _, err := NewReader(strings.NewReader(strings.ReplaceAll(testHeader, "\n", "\r\n")), ReaderOptions{}); err != nil {
		t.Errorf("CRLF header: %v", err)
	}
}

func TestReaderRejectRawIsSanitized(t *testing.T) {
	t.Parallel()
	_, rejs := readAll(t, testHeader+"C-1,s\x00\xff\"x,t\n")
	if len(rejs) != 1 || rejs[0].Raw != "C-1,s\uFFFD\"x,t" {
		t.Fatalf("rejects = %+v", rejs)
	}
}

func TestOpenSourceGzipAndDigest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(testHeader + "C-1,s,t,17,[],{},,2025-07-01T08:05:00,nl,,,,0\n"))
	zw.Close()
	name := filepath.Join(dir, "x.csv.gz")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := OpenSource(name, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r, err := NewReader(src, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || rec.ChatID != "C-1" {
		t.Fatalf("Next = %+v, %v", rec, err)
	}
	if err := src.Drain(); err != nil {
		t.Fatal(err)
	}
	if src.Size() != int64(buf.Len()) {
		t.Errorf("size %d, want the compressed size %d", src.Size(), buf.Len())
	}
	stdin, err := OpenSource("-", bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, stdin)
	if !bytes.Equal(stdin.SHA256(), src.SHA256()) {
		t.Errorf("stdin and file digests differ")
	}
}

func TestHeaderLine(t *testing.T) {
	t.Parallel()
	if got := HeaderLine([]string{"chat_id", "a,b", `q"x`, "plain"}); got != `chat_id,"a,b","q""x",plain` {
		t.Errorf("HeaderLine = %s", got)
	}
	if got := DefaultHeader(); got != strings.TrimSuffix(testHeader, "\n") {
		t.Errorf("DefaultHeader = %s", got)
	}
}

// TestOpenSourceTotal: the size of the stored bytes is known in advance
// for a regular file, gzipped or not, and for standard input redirected
// from one; not for a pipe.
func TestOpenSourceTotal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.csv")
	os.WriteFile(plain, []byte("12345"), 0o600)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("12345"))
	zw.Close()
	zipped := filepath.Join(dir, "a.csv.gz")
	os.WriteFile(zipped, gz.Bytes(), 0o600)
	f, err := os.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tt := range []struct {
		name  string
		stdin io.Reader
		want  int64
	}{
		{plain, nil, 5},
		{zipped, nil, int64(gz.Len())},
		{"-", strings.NewReader("x"), 0},
		{"-", f, 5},
	} {
		src, err := OpenSource(tt.name, tt.stdin, nil)
		if err != nil {
			t.Fatal(err)
		}
		if src.Total != tt.want {
			t.Errorf("%s: total %d, want %d", tt.name, src.Total, tt.want)
		}
		src.Close()
	}
}

// TestReaderFieldCountReason: the reason's noun agrees with the count.
func TestReaderFieldCountReason(t *testing.T) {
	t.Parallel()
	_, rejs := readAll(t, testHeader+"C-1\nC-2,s\n")
	if len(rejs) != 2 || rejs[0].Reason != "has 1 field, the header has 13" || rejs[1].Reason != "has 2 fields, the header has 13" {
		t.Errorf("rejects = %+v", rejs)
	}
}
