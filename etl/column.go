package etl

import (
	"encoding/csv"
	"fmt"
	"strings"
)

// Column is one column of the source file that chatstage knows.
type Column int

// The source columns, in the order the platform exports them.
const (
	ColChatID Column = iota
	ColSlug
	ColToken
	ColOrganizationID
	ColConversationLog
	ColStructuredInfo
	ColCreatedAt
	ColUpdatedAt
	ColLanguage
	ColIsTestChat
	ColSentiment
	ColResolution
	ColMessageCount
	numColumns
)

var columnNames = [numColumns]string{
	"chat_id", "slug", "token", "organization_id", "conversation_log", "structured_info",
	"created_at", "updated_at", "language", "is_test_chat", "sentiment", "resolution", "message_count",
}

// String returns the column's name in the source header.
func (c Column) String() string { return columnNames[c] }

// requiredColumns are those without which no row could be a chat version.
var requiredColumns = []Column{ColChatID, ColUpdatedAt, ColConversationLog}

// HeaderError says why a file's header was refused. The whole file is
// refused with it: nothing of the file may be written.
type HeaderError struct {
	Missing   []string // required columns the header lacks
	Duplicate []string // names the header has more than once
	// LineBreak is a header name that holds a CR or LF: the file's lines
	// do not end where a CSV reader looks for their end.
	LineBreak string
	// BareCR says LineBreak holds a CR not followed by LF: the lines end
	// in bare CRs (old Mac and some Excel exports), so the whole file
	// reads as one record.
	BareCR bool
	// Separator names the character the header is separated by instead of
	// commas ("tab", "semicolon"): split on it, the header names every
	// required column. Excel's "CSV" in many locales uses semicolons.
	Separator string
	// UTF16 says why the file looks UTF-16 rather than UTF-8: its
	// byte-order mark ("FF FE"), or NUL bytes between the header's letters.
	UTF16 string
}

func (e *HeaderError) Error() string {
	switch {
	case e.UTF16 != "":
		return fmt.Sprintf("bad header: the file looks UTF-16 (%s); chatstage reads UTF-8: convert it, "+
			"or name its encoding (ingest --encoding utf-16)", e.UTF16)
	case e.Separator != "":
		return fmt.Sprintf("bad header: the header looks %s-separated; chatstage reads comma-separated files", e.Separator)
	}
	if e.LineBreak != "" {
		text := e.LineBreak
		if len(text) > 80 {
			text = text[:80] + "..."
		}
		if e.BareCR {
			return fmt.Sprintf("bad header: %q holds a carriage return that ends no line: the file's lines seem to end "+
				"in bare CRs (as old Mac and some Excel exports write), so it reads as a single record; "+
				"convert its line ends to LF or CRLF", text)
		}
		return fmt.Sprintf("bad header: the header name %q holds a line break", text)
	}
	var parts []string
	switch len(e.Missing) {
	case 0:
	case 1:
		parts = append(parts, "missing the required column "+e.Missing[0])
	default:
		parts = append(parts, "missing the required columns "+strings.Join(e.Missing, ", "))
	}
	switch len(e.Duplicate) {
	case 0:
	case 1:
		parts = append(parts, "a column named twice: "+e.Duplicate[0])
	default:
		parts = append(parts, "columns named twice: "+strings.Join(e.Duplicate, ", "))
	}
	return "bad header: " + strings.Join(parts, "; ")
}

// Is lets callers test errors.Is(err, ErrBadHeader).
func (e *HeaderError) Is(target error) bool { return target == ErrBadHeader }

// header maps the source's field positions onto the known columns.
type header struct {
	index   [numColumns]int // field position of each column, -1 when absent
	fields  int             // number of fields in the header
	names   []string        // the header as written, for writing rejects back
	unknown []string
}

// parseHeader matches names case-insensitively after trimming, in any order.
func parseHeader(names []string) (*header, error) {
	h := &header{fields: len(names), names: names}
	for i := range h.index {
		h.index[i] = -1
	}
	for _, raw := range names {
		if i := strings.IndexAny(raw, "\r\n"); i >= 0 {
			return nil, &HeaderError{LineBreak: raw, BareCR: raw[i] == '\r' && !strings.HasPrefix(raw[i:], "\r\n")}
		}
	}
	seen := make(map[string]bool, len(names))
	var dup []string
	for i, raw := range names {
		name := strings.ToLower(strings.TrimSpace(raw))
		if seen[name] {
			dup = append(dup, fmt.Sprintf("%q", name))
			continue
		}
		seen[name] = true
		known := false
		for c, cn := range columnNames {
			if cn == name {
				h.index[c] = i
				known = true
				break
			}
		}
		if !known {
			h.unknown = append(h.unknown, raw)
		}
	}
	var missing []string
	for _, c := range requiredColumns {
		if h.index[c] < 0 {
			missing = append(missing, c.String())
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		he := &HeaderError{Missing: missing, Duplicate: dup}
		if len(missing) > 0 {
			line := strings.Join(names, ",")
			he.Separator = separatorOf(line)
			if strings.Contains(line, "\x00") {
				he.UTF16 = "NUL bytes between the letters of its header"
			}
		}
		return nil, he
	}
	return h, nil
}

// separators are the characters a file exported as "CSV" is often
// separated by instead of commas.
var separators = []struct{ char, name string }{{"\t", "tab"}, {";", "semicolon"}, {"|", "pipe"}}

// separatorOf names the separator that a header line read as one comma
// field splits on into every required column, or returns "".
func separatorOf(line string) string {
	line = strings.TrimRight(line, "\r\n")
	for _, sep := range separators {
		names := map[string]bool{}
		for _, f := range strings.Split(line, sep.char) {
			names[strings.ToLower(strings.Trim(strings.TrimSpace(f), `"`))] = true
		}
		all := true
		for _, c := range requiredColumns {
			all = all && names[c.String()]
		}
		if all {
			return sep.name
		}
	}
	return ""
}

// utf16BOMs are the byte-order marks of UTF-16 (and of UTF-32, whose
// little-endian one starts the same): a file that starts with one is not
// UTF-8.
var utf16BOMs = [][]byte{{0xFF, 0xFE}, {0xFE, 0xFF}}

// HeaderLine renders a file's header names as one CSV line, as the file
// had it (up to quoting), to keep with its load so that its rejects can be
// written back under it.
func HeaderLine(names []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(names) //nolint:errcheck // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// DefaultHeader is the contract's 13 columns in the platform's order: the
// header of loads recorded before chatstage kept headers.
func DefaultHeader() string { return strings.Join(columnNames[:], ",") }
