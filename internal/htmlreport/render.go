package htmlreport

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"time"
)

// MaxBars is how many loads or days a bar chart shows at most: the last
// ones. Past that a bar is thinner than its gap and its label unreadable.
const MaxBars = 60

// RecentLoads is how many loads the table lists, newest first.
const RecentLoads = 20

// maxLanguages is how many languages get their own bar; the rest share
// one, so the chart keeps its height whatever the data.
const maxLanguages = 12

//go:embed report.html.tmpl
var templateFS embed.FS

// html/template escapes every value by the context it lands in: element
// text, attribute, SVG <title>. Nothing here builds markup from strings.
var pageTemplate = template.Must(template.ParseFS(templateFS, "report.html.tmpl"))

// Render writes the report of d as one self-contained HTML page. The page
// is built whole before anything is written, so an error from the
// template leaves w untouched; an error from w is returned as it is.
func Render(w io.Writer, d Data) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, buildPage(d)); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// page is what the template draws: every number already formatted, every
// chart already laid out.
type page struct {
	Title       string
	GeneratedAt string
	Tiles       []tile
	LoadCharts  []barChart
	FlagCharts  []barChart
	Messages    barChart
	Hours       barChart
	Languages   hbarChart
	Recent      []loadRow
	RecentNote  string
}

type tile struct {
	Label, Value, Note string
	Warn               bool
}

// loadRow is one row of the recent loads table.
type loadRow struct {
	ID                            int64
	Source, Status, Started, Took string
	Read, Rejected, RejectsTitle  string
	Inserted, Updated             string
	Messages, Error               string
	Failed, Running               bool
}

func buildPage(d Data) page {
	gen := d.GeneratedAt.UTC()
	p := page{
		Title:       "chatstage data quality, " + gen.Format("2006-01-02 15:04") + " UTC",
		GeneratedAt: gen.Format("2006-01-02 15:04:05") + " UTC",
	}
	reasons, flags := map[string]int64{}, map[string]int64{}
	var failed int
	for _, l := range d.Loads {
		for _, nc := range l.RejectsByReason {
			reasons[nc.Name] += nc.Count
		}
		for _, nc := range l.FlagsByName {
			flags[nc.Name] += nc.Count
		}
		if l.Status == "failed" {
			failed++
		}
	}
	for _, day := range d.Days {
		for _, nc := range day.FlagsByName {
			flags[nc.Name] += nc.Count
		}
	}
	reasonColours := newPalette(knownReasons, reasons)
	flagColours := newPalette(knownFlags, flags)

	lastLoad := "none"
	if d.LastLoadID > 0 {
		lastLoad = strconv.FormatInt(d.LastLoadID, 10)
	}
	loadsNote := "none failed"
	if failed > 0 {
		loadsNote = formatCount(int64(failed)) + " failed"
	}
	p.Tiles = []tile{
		{Label: "current chats", Value: formatCount(d.Totals.Chats)},
		{Label: "messages", Value: formatCount(d.Totals.Messages), Note: "of current chats"},
		{Label: "loads", Value: formatCount(int64(len(d.Loads))), Note: loadsNote, Warn: failed > 0},
		{Label: "last load", Value: lastLoad},
		{Label: "rejected rows", Value: formatCount(d.Totals.Rejects), Note: formatCount(d.Totals.OpenRejects) + " open", Warn: d.Totals.OpenRejects > 0},
		{Label: "suppressed rows", Value: formatCount(d.Totals.Suppressed)},
		{Label: "retired chats", Value: formatCount(d.Totals.Retired)},
		{Label: "erased chats", Value: formatCount(d.Totals.Erased)},
	}

	p.LoadCharts, p.FlagCharts = loadCharts(d.Loads, reasonColours, flagColours)
	p.FlagCharts = append(p.FlagCharts, dayChart(d.Days, flagColours))
	p.Messages = messagesChart(d.MessagesPerChat)
	p.Hours = hoursChart(d.ChatsByHour)
	p.Languages = languagesChart(d.ChatsByLanguage)
	p.Recent, p.RecentNote = recentLoads(d.Loads)
	return p
}

// window returns the last MaxBars of n items as a range, and the note
// saying what part of them a chart shows.
func window(n int, what string) (from int, note string) {
	switch {
	case n == 0:
		return 0, ""
	case n <= MaxBars:
		if n == 1 {
			return 0, "the only " + what[:len(what)-1]
		}
		return 0, "all " + formatCount(int64(n)) + " " + what
	}
	return n - MaxBars, "the last " + strconv.Itoa(MaxBars) + " of " + formatCount(int64(n)) + " " + what
}

// loadCharts draws the per-load charts over the last MaxBars loads: the
// loads section's three and the flags section's first.
func loadCharts(all []Load, reasonColours, flagColours palette) (loads, flags []barChart) {
	from, note := window(len(all), "loads")
	shown := all[from:]
	n := len(shown)
	labels, hovers := make([]string, n), make([]string, n)
	for i, l := range shown {
		labels[i] = strconv.FormatInt(l.LoadID, 10)
		hovers[i] = "load " + labels[i] + ", " + l.Source
	}
	base := barSpec{Width: wideWidth, Note: note, XTitle: "load id", Labels: labels, Hovers: hovers, LabelFromEnd: true}
	emptyAll := func(what string) string {
		if n == 0 {
			return "no loads yet"
		}
		return "no " + what + " in " + note
	}

	// Rows read, coloured by the load's status: a failed load's rows are
	// not in the database, and the chart must not pass them off as loaded.
	statuses := []string{"succeeded", "failed", "running"}
	for _, l := range shown {
		if !slices.Contains(statuses, l.Status) {
			statuses = append(statuses, l.Status)
		}
	}
	var byStatus []series
	for _, st := range statuses {
		se := series{Name: st, Colour: statusColour(st), Values: make([]int64, n)}
		for i, l := range shown {
			if l.Status == st {
				se.Values[i] = l.RowsRead
			}
		}
		byStatus = append(byStatus, se)
	}
	read := base
	read.Title, read.YTitle, read.Unit = "Rows read per load", "rows", "rows read"
	read.Empty = emptyAll("rows read")
	read.Series = byStatus

	rejects := base
	rejects.Title, rejects.YTitle, rejects.Unit = "Rejected rows per load, by reason", "rows", "rows"
	rejects.Empty = emptyAll("rejected rows")
	rejects.Series = namedSeries(reasonColours, n, func(i int) []NameCount { return shown[i].RejectsByReason })

	chats := base
	chats.Title, chats.YTitle, chats.Unit = "New and updated chats per load", "chats", "chats"
	chats.Empty = emptyAll("new or updated chats")
	chats.Series = []series{
		{Name: "new (inserted)", Colour: colourInserted, Values: make([]int64, n)},
		{Name: "updated", Colour: colourUpdated, Values: make([]int64, n)},
	}
	for i, l := range shown {
		chats.Series[0].Values[i] = l.ChatsInserted
		chats.Series[1].Values[i] = l.ChatsUpdated
	}

	fl := base
	fl.Title, fl.YTitle, fl.Unit = "Quality flags per load", "flags", "versions"
	if n > 0 {
		fl.Note = note + "; stacked, so a version with two flags counts twice"
	}
	fl.Empty = emptyAll("quality flags")
	fl.Series = namedSeries(flagColours, n, func(i int) []NameCount { return shown[i].FlagsByName })

	return []barChart{buildBars(read), buildBars(rejects), buildBars(chats)}, []barChart{buildBars(fl)}
}

func statusColour(status string) string {
	switch status {
	case "succeeded":
		return colourSucceeded
	case "failed":
		return colourFailed
	case "running":
		return colourRunning
	}
	return otherColour
}

// namedSeries turns per-bar name counts into one series per name, in the
// palette's order, leaving out names with nothing in these bars.
func namedSeries(p palette, n int, counts func(i int) []NameCount) []series {
	byName := map[string][]int64{}
	for i := range n {
		for _, nc := range counts(i) {
			if byName[nc.Name] == nil {
				byName[nc.Name] = make([]int64, n)
			}
			byName[nc.Name][i] += nc.Count
		}
	}
	var out []series
	for _, name := range p.order {
		if v, ok := byName[name]; ok {
			out = append(out, series{Name: name, Colour: p.of(name), Values: v})
		}
	}
	return out
}

// dayChart draws the flags by the data's own day over the last MaxBars
// calendar days up to the last day with data. Days without versions are
// drawn as empty slots: the axis is time, and a gap is news.
func dayChart(days []Day, flagColours palette) barChart {
	s := barSpec{
		Title: "Quality flags by day of the data (updated_at)", Width: wideWidth,
		XTitle: "day (UTC)", YTitle: "flags", Unit: "versions", LabelFromEnd: true,
		Empty: "no chat versions yet",
	}
	if len(days) == 0 {
		return buildBars(s)
	}
	// Days come oldest first, but a caller's slip must not cost a panic.
	first, last := truncDay(days[0].Day), truncDay(days[0].Day)
	for _, day := range days[1:] {
		t := truncDay(day.Day)
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	span := int(last.Sub(first).Hours()/24) + 1
	shown := fmt.Sprintf("%s to %s", first.Format("2006-01-02"), last.Format("2006-01-02"))
	if span > MaxBars {
		first = last.AddDate(0, 0, -(MaxBars - 1))
		shown = fmt.Sprintf("the last %d days, to %s, of %s days with versions", MaxBars, last.Format("2006-01-02"), formatCount(int64(len(days))))
	}
	s.Note = shown + "; stacked, so a version with two flags counts twice"
	s.Empty = "no quality flags in " + shown
	n := int(last.Sub(first).Hours()/24) + 1
	// One slot per calendar day; two entries for one day are added up.
	slot := make([]Day, n)
	for _, day := range days {
		k := int(truncDay(day.Day).Sub(first).Hours() / 24)
		if k >= 0 && k < n {
			slot[k].Versions += day.Versions
			slot[k].FlagsByName = append(slot[k].FlagsByName, day.FlagsByName...)
		}
	}
	s.Labels, s.Hovers = make([]string, n), make([]string, n)
	for i := range n {
		s.Labels[i] = first.AddDate(0, 0, i).Format("2006-01-02")
		s.Hovers[i] = s.Labels[i] + ": " + formatCount(slot[i].Versions) + " versions"
	}
	s.Series = namedSeries(flagColours, n, func(i int) []NameCount { return slot[i].FlagsByName })
	return buildBars(s)
}

func truncDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func messagesChart(buckets []Bucket) barChart {
	s := barSpec{
		Title: "Messages per chat", Note: "current chats, by their number of messages",
		Width: narrowWidth, XTitle: "messages per chat", YTitle: "chats", Unit: "chats",
		Empty: "no chats yet",
	}
	se := series{Colour: colourSingle}
	for _, b := range buckets {
		s.Labels = append(s.Labels, shorten(b.Label))
		s.Hovers = append(s.Hovers, b.Label+" messages")
		se.Values = append(se.Values, b.Count)
	}
	s.Series = []series{se}
	return buildBars(s)
}

func hoursChart(hours [24]int64) barChart {
	s := barSpec{
		Title: "Chats by hour of day", Note: "current chats, by the hour of created_at",
		Width: narrowWidth, XTitle: "hour (UTC)", YTitle: "chats", Unit: "chats",
		Empty: "no chats yet",
	}
	se := series{Colour: colourSingle, Values: hours[:]}
	for h := range 24 {
		s.Labels = append(s.Labels, strconv.Itoa(h))
		s.Hovers = append(s.Hovers, fmt.Sprintf("%02d:00 to %02d:59 UTC", h, h))
	}
	s.Series = []series{se}
	return buildBars(s)
}

func languagesChart(langs []NameCount) hbarChart {
	s := hbarSpec{
		Title: "Chats by language", Note: "current chats",
		Width: narrowWidth, XTitle: "chats", Unit: "chats", Colour: colourSingle,
		Empty: "no chats yet",
	}
	for _, l := range langs {
		s.Total += l.Count
	}
	rows := langs
	if len(langs) > maxLanguages {
		// The rest share the last bar, so the chart has a fixed height.
		rows = slices.Clone(langs[:maxLanguages-1])
		rest := NameCount{Name: fmt.Sprintf("other %d languages", len(langs)-(maxLanguages-1))}
		for _, l := range langs[maxLanguages-1:] {
			rest.Count += l.Count
		}
		rows = append(rows, rest)
		s.Note = fmt.Sprintf("current chats; the %d largest of %d languages", maxLanguages-1, len(langs))
	}
	s.Rows = rows
	return buildHBars(s)
}

func recentLoads(all []Load) ([]loadRow, string) {
	var rows []loadRow
	for i := len(all) - 1; i >= 0 && len(rows) < RecentLoads; i-- {
		l := all[i]
		r := loadRow{
			ID: l.LoadID, Source: l.Source, Status: l.Status,
			Started:  l.StartedAt.UTC().Format("2006-01-02 15:04"),
			Took:     "running",
			Read:     formatCount(l.RowsRead),
			Rejected: formatCount(l.RowsRejected),
			Inserted: formatCount(l.ChatsInserted),
			Updated:  formatCount(l.ChatsUpdated),
			Messages: formatCount(l.MessagesWritten),
			Error:    l.Error,
			Failed:   l.Status == "failed",
			Running:  l.Status == "running",
		}
		if l.FinishedAt != nil {
			r.Took = formatDuration(l.FinishedAt.Sub(l.StartedAt))
		}
		for j, nc := range l.RejectsByReason {
			if j > 0 {
				r.RejectsTitle += ", "
			}
			r.RejectsTitle += nc.Name + ": " + formatCount(nc.Count)
		}
		rows = append(rows, r)
	}
	note := "newest first"
	if len(all) > RecentLoads {
		note = fmt.Sprintf("the last %d of %s loads, newest first", RecentLoads, formatCount(int64(len(all))))
	}
	return rows, note
}
