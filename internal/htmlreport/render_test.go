package htmlreport

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// -update rewrites the golden pages with what the code gives:
//
//	go test ./internal/htmlreport -update
//
// Review the diff, and look at the page in a browser, before committing.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.html with what the code gives")

// render renders d or fails the test.
func render(t *testing.T, d Data) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.Bytes()
}

// hostile is a Data with markup in every string a caller passes through.
const hostile = `</title><script>alert(1)</script>`

func hostileData() Data {
	at := time.Date(2024, 5, 16, 3, 0, 0, 0, time.UTC)
	fin := at.Add(time.Minute)
	return Data{
		GeneratedAt: at,
		LastLoadID:  1,
		Loads: []Load{{
			LoadID: 1, Source: hostile, Status: "failed", StartedAt: at, FinishedAt: &fin,
			RowsRead: 10, RowsRejected: 3, ChatsInserted: 4, ChatsUpdated: 2,
			RejectsByReason: []NameCount{{hostile + "reason", 3}},
			FlagsByName:     []NameCount{{hostile + "flag", 2}},
			Error:           hostile + "error",
		}, {
			LoadID: 2, Source: "b.csv", Status: hostile + "status", StartedAt: at, RowsRead: 1,
		}},
		Days:            []Day{{Day: at, Versions: 5, FlagsByName: []NameCount{{hostile + "dayflag", 1}}}},
		MessagesPerChat: []Bucket{{hostile + "bucket", 7}},
		ChatsByLanguage: []NameCount{{hostile + "lang", 9}},
		ChatsByHour:     [24]int64{3: 9},
		Totals:          Totals{Chats: 9},
	}
}

// TestRenderGolden renders fixed data and compares the page byte for byte
// with testdata/golden/<case>.html. On a mismatch it writes <case>.html.got
// beside it; after a deliberate change rewrite the goldens with -update.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data Data
	}{
		{"report", sampleData()},
		{"empty", Data{GeneratedAt: time.Date(2024, 5, 16, 3, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, tc.data)
			golden := filepath.Join("testdata", "golden", tc.name+".html")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("rewrote %s: review the diff and the page in a browser before committing", golden)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./internal/htmlreport -run Golden -update)", err)
			}
			if bytes.Equal(got, want) {
				return
			}
			if err := os.WriteFile(golden+".got", got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Errorf("%s differs from what Render gives (first difference at line %d); compare with:\n"+
				"\tdiff -u internal/htmlreport/%s internal/htmlreport/%s.got\n"+
				"and if the change is meant, rewrite it with: go test ./internal/htmlreport -run Golden -update",
				golden, firstDiffLine(got, want), golden, golden)
		})
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestRenderEscapes checks that markup in the data reaches the page as
// text: escaped in the source, and read back whole by an HTML parser.
func TestRenderEscapes(t *testing.T) {
	t.Parallel()
	page := render(t, hostileData())
	if i := bytes.Index(bytes.ToLower(page), []byte("<script")); i >= 0 {
		t.Errorf("the page has <script at byte %d: %q", i, page[max(0, i-80):min(len(page), i+80)])
	}
	escaped := "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
	for _, suffix := range []string{"", "reason", "flag", "error", "status", "dayflag", "bucket", "lang"} {
		if !bytes.Contains(page, []byte(escaped+suffix)) {
			t.Errorf("the page lacks %q escaped as %q", hostile+suffix, escaped+suffix)
		}
	}

	// The parser must see the load's source as the text of a table cell
	// and the page's <title> must be chatstage's.
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var cells, titles []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "td":
			cells = append(cells, textOf(n))
		case "title":
			if n.Parent != nil && n.Parent.Data == "head" {
				titles = append(titles, textOf(n))
			}
		case "script":
			t.Errorf("the parser found a script element: %q", textOf(n))
		}
	}
	if !contains(cells, hostile) {
		t.Errorf("no table cell reads %q; cells: %q", hostile, cells)
	}
	if len(titles) != 1 || !strings.HasPrefix(titles[0], "chatstage data quality") {
		t.Errorf("page titles %q, want one starting with chatstage data quality", titles)
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRenderSelfContained parses the page and fails on anything that
// would run code or fetch something: a script, a link, an embedded
// object, a src or href that is not a fragment of the page itself, a CSS
// url() or @import.
func TestRenderSelfContained(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]Data{"sample": sampleData(), "hostile": hostileData(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, problem := range fetchesOf(render(t, d)) {
				t.Error(problem)
			}
		})
	}
}

var (
	cssURL    = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]*)`)
	cssImport = regexp.MustCompile(`(?i)@import`)
)

// fetchesOf lists what in page could run or fetch anything.
func fetchesOf(page []byte) []string {
	var problems []string
	lower := bytes.ToLower(page)
	for _, s := range []string{"<script", "<link", "@import", "<iframe", "<object", "<embed", "<img", "<base"} {
		if bytes.Contains(lower, []byte(s)) {
			problems = append(problems, "the page has "+s)
		}
	}
	checkCSS := func(where, css string) {
		if cssImport.MatchString(css) {
			problems = append(problems, where+" has @import")
		}
		for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
			if !strings.HasPrefix(m[1], "#") {
				problems = append(problems, fmt.Sprintf("%s has url(%s)", where, m[1]))
			}
		}
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return problems
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "link", "iframe", "object", "embed", "img", "base", "image", "use", "foreignobject":
				problems = append(problems, "the page has a <"+tok.Data+"> element")
			}
			inStyle = tok.Data == "style"
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case key == "src" || key == "href" || key == "xlink:href" || key == "srcset" ||
					key == "action" || key == "formaction" || key == "poster" || key == "data" || key == "background":
					if !strings.HasPrefix(a.Val, "#") {
						problems = append(problems, fmt.Sprintf("<%s %s=%q>", tok.Data, a.Key, a.Val))
					}
				case key == "style":
					checkCSS("a style attribute", a.Val)
				case strings.HasPrefix(key, "on"):
					problems = append(problems, fmt.Sprintf("<%s %s=...>: an event handler", tok.Data, a.Key))
				case key == "http-equiv" && strings.EqualFold(a.Val, "refresh"):
					problems = append(problems, "a meta refresh")
				}
			}
		case html.EndTagToken:
			inStyle = false
		case html.TextToken:
			if inStyle {
				checkCSS("the <style> element", string(z.Text()))
			}
		}
	}
}

// TestFetchesOfCatches keeps the self-contained check honest: it must
// flag each way a page could reach out.
func TestFetchesOfCatches(t *testing.T) {
	t.Parallel()
	for _, page := range []string{
		`<script>1</script>`,
		`<SCRIPT src="x.js"></SCRIPT>`,
		`<link rel="stylesheet" href="a.css">`,
		`<img src="https://example.org/a.png">`,
		`<a href="http://example.org/">x</a>`,
		`<a href="//example.org/">x</a>`,
		`<svg><image href="a.png"/></svg>`,
		`<svg><use xlink:href="other.svg#a"/></svg>`,
		`<div style="background:url(https://example.org/a.png)">x</div>`,
		`<style>@import "a.css";</style>`,
		`<style>body{background:url('//example.org/a.png')}</style>`,
		`<p onclick="x()">x</p>`,
		`<meta http-equiv="refresh" content="0; url=https://example.org/">`,
	} {
		if len(fetchesOf([]byte(page))) == 0 {
			t.Errorf("fetchesOf(%q) found nothing", page)
		}
	}
	if p := fetchesOf([]byte(`<a href="#loads">x</a><svg><rect fill="url(#g)"/></svg>`)); len(p) != 0 {
		t.Errorf("fetchesOf flags links within the page: %q", p)
	}
}

// TestRenderEmptyStates checks that a report of nothing says so in each
// place instead of drawing empty axes.
func TestRenderEmptyStates(t *testing.T) {
	t.Parallel()
	page := string(render(t, Data{}))
	if strings.Contains(page, `<svg class="chart"`) {
		t.Error("a report of no data draws a chart")
	}
	for _, want := range []string{"no loads yet", "no chat versions yet", "no chats yet"} {
		if !strings.Contains(page, `<p class="empty">`+want+`</p>`) {
			t.Errorf("the page lacks the empty state %q", want)
		}
	}

	// Loads with nothing rejected or flagged: the loads are drawn, the
	// rejects and flags say there are none.
	at := time.Date(2024, 5, 16, 3, 0, 0, 0, time.UTC)
	page = string(render(t, Data{Loads: []Load{{LoadID: 7, Status: "succeeded", StartedAt: at, RowsRead: 5, ChatsInserted: 5}}}))
	for _, want := range []string{"no rejected rows in the only load", "no quality flags in the only load"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the empty state %q", want)
		}
	}
	if n := strings.Count(page, `<svg class="chart"`); n != 2 {
		t.Errorf("%d charts drawn, want 2 (rows read, new and updated chats)", n)
	}
}

// TestRenderManyLoads checks that thousands of loads draw as the last
// MaxBars, that the charts say so, and that the table lists RecentLoads.
func TestRenderManyLoads(t *testing.T) {
	t.Parallel()
	at := time.Date(2020, 1, 1, 2, 0, 0, 0, time.UTC)
	var d Data
	for i := 1; i <= 5000; i++ {
		d.Loads = append(d.Loads, Load{
			LoadID: int64(i), Source: fmt.Sprintf("f%d.csv", i), Status: "succeeded",
			StartedAt: at.AddDate(0, 0, i), RowsRead: int64(i), ChatsInserted: 1,
			RejectsByReason: []NameCount{{"field_count", 1}},
			FlagsByName:     []NameCount{{"text_sanitized", 1}},
		})
	}
	p := buildPage(d)
	for _, c := range append(p.LoadCharts, p.FlagCharts[0]) {
		if got := len(c.Segments); got != MaxBars {
			t.Errorf("%s: %d bars, want %d", c.Title, got, MaxBars)
		}
		if !strings.HasPrefix(c.Note, "the last 60 of 5,000 loads") {
			t.Errorf("%s: note %q does not say what part is shown", c.Title, c.Note)
		}
		if last := c.XTicks[len(c.XTicks)-1].Label; last != "5000" {
			t.Errorf("%s: last x label %q, want the newest load, 5000", c.Title, last)
		}
		for _, s := range c.Segments {
			if s.X < c.Left || s.X+s.W > c.Right+0.1 || s.Y < c.Top || s.Y+s.H > c.Bottom+0.1 {
				t.Errorf("%s: bar %+v outside the plot (%v,%v)-(%v,%v)", c.Title, s, c.Left, c.Top, c.Right, c.Bottom)
			}
		}
	}
	if len(p.Recent) != RecentLoads || p.Recent[0].ID != 5000 || p.Recent[RecentLoads-1].ID != 5000-RecentLoads+1 {
		t.Errorf("recent loads: %d rows from %d, want %d from 5000 down", len(p.Recent), p.Recent[0].ID, RecentLoads)
	}
}

// TestRenderOddData feeds what a caller should not send but might: days
// out of order and twice over, negative counts, an unknown status, a load
// still running. The page must still render, and parse.
func TestRenderOddData(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2024, 5, d, 13, 0, 0, 0, time.UTC) }
	d := Data{
		Loads: []Load{
			{LoadID: 2, Status: "paused", StartedAt: day(2), RowsRead: -5, ChatsInserted: 3},
			{LoadID: 1, Status: "running", StartedAt: day(1), RowsRead: 9, RejectsByReason: []NameCount{{"field_count", -2}, {"chat_id_missing", 1}}},
		},
		Days: []Day{
			{Day: day(9), Versions: 4, FlagsByName: []NameCount{{"text_sanitized", 2}}},
			{Day: day(3), Versions: 1, FlagsByName: []NameCount{{"text_sanitized", 1}}},
			{Day: day(9), Versions: 6, FlagsByName: []NameCount{{"text_sanitized", 5}}},
		},
		MessagesPerChat: []Bucket{{"0", -1}, {"1", 0}},
		ChatsByLanguage: []NameCount{{"nl", -3}},
	}
	p := buildPage(d)
	days := p.FlagCharts[1]
	if days.Empty != "" || len(days.Segments) != 2 {
		t.Fatalf("day chart: empty %q, %d bars, want 2 bars", days.Empty, len(days.Segments))
	}
	if got, want := days.Segments[1].Title, "2024-05-09: 10 versions\ntext_sanitized: 7 versions"; got != want {
		t.Errorf("the two entries of one day: hover %q, want %q", got, want)
	}
	if p.Messages.Empty == "" || p.Languages.Empty == "" {
		t.Error("charts of only negative counts are drawn, want their empty state")
	}
	page := render(t, d)
	if _, err := html.Parse(bytes.NewReader(page)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">paused<", ">running<", "2024-05-03 to 2024-05-09"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
