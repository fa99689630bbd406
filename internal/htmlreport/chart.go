package htmlreport

import (
	"unicode/utf8"
)

// Chart sizes are SVG user units. An SVG is drawn 100% as wide as its box,
// so a unit is about a CSS pixel where the box is as wide as the viewBox:
// wideWidth is the single column of an 800px window, narrowWidth a half
// of the page at 1280px. Text of fontSize units then stays at 11px or
// more at both widths (the browser test measures it).
const (
	wideWidth   = 720
	narrowWidth = 440
	chartHeight = 280
	fontSize    = 13 // keep in step with the CSS of svg text in the template
	charWidth   = 8  // an average glyph of fontSize, for layout only
	lineHeight  = 16
	pad         = 4
	gap         = 6
	// maxBarWidth keeps a chart of two bars from drawing two slabs.
	maxBarWidth = 40
	// A horizontal bar chart's rows.
	rowHeight = 24
	rowBar    = 16
	// maxLabelRunes cuts long names (a language, a bucket) on an axis;
	// the hover title has them whole.
	maxLabelRunes = 18
)

// tick is a labelled position on an axis.
type tick struct {
	Pos   float64
	Label string
}

// segment is one coloured rectangle of a bar with its hover text.
type segment struct {
	X, Y, W, H float64
	Colour     string
	Title      string
}

type legendItem struct {
	Colour, Label string
}

// series is one stacked layer of a bar chart: a value for every bar.
type series struct {
	Name   string // in the legend and hover texts; "" for a lone series
	Colour string
	Values []int64
}

// barSpec says what a vertical bar chart shows; buildBars lays it out.
type barSpec struct {
	Title, Note string
	Empty       string // shown instead of the chart when every value is 0
	Width       float64
	XTitle      string
	YTitle      string   // the unit of the axis: "rows", "chats"
	Unit        string   // of a value in the hover texts
	Labels      []string // the x label of each bar
	Hovers      []string // the first line of each bar's hover text
	Series      []series // stacked bottom up, in the legend's order
	// LabelFromEnd labels the last bar and every k-th before it, for
	// loads and days, where the newest is the one looked for.
	LabelFromEnd bool
}

// barChart is a laid-out vertical bar chart, ready for the template.
type barChart struct {
	Title, Note, Empty       string
	Width, Height            float64
	Left, Right, Top, Bottom float64 // the plot area
	XTitle, YTitle           string
	XTitleX, XTitleY         float64
	// The y title is drawn rotated by -90°, where (x, y) is (-y, x).
	YTitleRX, YTitleRY float64
	YTicks             []tick
	XTicks             []tick
	XTickY             float64
	Segments           []segment
	Legend             []legendItem
}

// textWidth is the width of s in fontSize text, roughly, for layout.
func textWidth(s string) float64 {
	return float64(utf8.RuneCountInString(s) * charWidth)
}

// shorten cuts s to maxLabelRunes runes, marking the cut.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxLabelRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabelRunes-1]) + "…"
}

// buildBars lays out a vertical, stacked bar chart. Negative values are
// drawn as 0 (counts are never negative; a bug upstream must not draw
// bars below the axis) but shown as they are in the hover texts.
func buildBars(s barSpec) barChart {
	c := barChart{Title: s.Title, Note: s.Note, Width: s.Width, Height: chartHeight, XTitle: s.XTitle, YTitle: s.YTitle}
	n := len(s.Labels)
	totals := make([]int64, n)
	var top int64
	for i := range n {
		for _, se := range s.Series {
			if v := se.Values[i]; v > 0 {
				totals[i] += v
			}
		}
		top = max(top, totals[i])
	}
	if top == 0 {
		c.Empty = s.Empty
		return c
	}
	ax := niceAxis(top)

	var yLabelW float64
	for _, t := range ax.Ticks {
		yLabelW = max(yLabelW, textWidth(formatCount(t)))
	}
	var xLabelW float64
	for _, l := range s.Labels {
		xLabelW = max(xLabelW, textWidth(l))
	}
	c.Left = pad + lineHeight + gap + yLabelW + gap
	c.Right = s.Width - max(12, xLabelW/2)
	c.Top = 12
	c.Bottom = c.Height - (gap + lineHeight + gap + lineHeight + pad)
	plotH := c.Bottom - c.Top
	c.YTitleRX, c.YTitleRY = -round1((c.Top+c.Bottom)/2), pad+fontSize
	c.XTitleX, c.XTitleY = round1((c.Left+c.Right)/2), c.Height-pad-3
	c.XTickY = c.Bottom + gap + fontSize

	for _, t := range ax.Ticks {
		y := c.Bottom - float64(t)/float64(ax.Top)*plotH
		c.YTicks = append(c.YTicks, tick{Pos: round1(y), Label: formatCount(t)})
	}

	slot := (c.Right - c.Left) / float64(n)
	bw := min(slot*0.8, maxBarWidth)
	every := max(1, int((xLabelW+gap)/slot+0.999))
	for i, l := range s.Labels {
		if (s.LabelFromEnd && (n-1-i)%every == 0) || (!s.LabelFromEnd && i%every == 0) {
			c.XTicks = append(c.XTicks, tick{Pos: round1(c.Left + (float64(i)+0.5)*slot), Label: l})
		}
	}

	used := make([]bool, len(s.Series))
	for i := range n {
		x := c.Left + float64(i)*slot + (slot-bw)/2
		y := c.Bottom
		layers := 0
		for _, se := range s.Series {
			if se.Values[i] > 0 {
				layers++
			}
		}
		for j, se := range s.Series {
			v := se.Values[i]
			if v <= 0 {
				continue
			}
			used[j] = true
			// A count too small to see is drawn one unit tall: three
			// rejects among a million rows must not vanish.
			h := max(float64(v)/float64(ax.Top)*plotH, 1)
			y -= h
			if y < c.Top { // only past an overflowing axis
				h -= c.Top - y
				y = c.Top
			}
			c.Segments = append(c.Segments, segment{
				X: round1(x), Y: round1(y), W: round1(bw), H: round1(h),
				Colour: se.Colour,
				Title:  hoverText(s.Hovers[i], se.Name, v, totals[i], layers > 1, s.Unit),
			})
		}
	}
	for j, se := range s.Series {
		if used[j] && se.Name != "" {
			c.Legend = append(c.Legend, legendItem{Colour: se.Colour, Label: se.Name})
		}
	}
	return c
}

// hoverText is the text a reader sees over one segment of a bar.
func hoverText(head, name string, v, total int64, stacked bool, unit string) string {
	t := head + "\n"
	if name != "" {
		t += name + ": "
	}
	t += formatCount(v) + " " + unit
	if stacked {
		t += "\ntotal: " + formatCount(total) + " " + unit
	}
	return t
}

// hbarSpec says what a horizontal bar chart shows: one row per name.
type hbarSpec struct {
	Title, Note, Empty string
	Width              float64
	XTitle, Unit       string
	Colour             string
	Rows               []NameCount
	// Total is what a row's share in the hover text is of.
	Total int64
}

// hbarChart is a laid-out horizontal bar chart.
type hbarChart struct {
	Title, Note, Empty       string
	Width, Height            float64
	Left, Right, Top, Bottom float64
	XTitle                   string
	XTitleX, XTitleY         float64
	XTicks                   []tick
	XTickY                   float64
	Rows                     []hbarRow
}

type hbarRow struct {
	Label         string
	LabelX, TextY float64
	X, Y, W, H    float64
	Value         string
	ValueX        float64
	Colour, Title string
}

// buildHBars lays out a horizontal bar chart, each bar labelled with its
// name on the left and its value at its end: with a dozen rows the exact
// numbers fit, and a reader compares languages by them.
func buildHBars(s hbarSpec) hbarChart {
	c := hbarChart{Title: s.Title, Note: s.Note, Width: s.Width, XTitle: s.XTitle}
	var top int64
	for _, r := range s.Rows {
		top = max(top, r.Count)
	}
	if top == 0 {
		c.Empty = s.Empty
		c.Height = chartHeight
		return c
	}
	ax := niceAxis(top)
	var nameW, valueW float64
	for _, r := range s.Rows {
		nameW = max(nameW, textWidth(shorten(displayName(r.Name))))
		valueW = max(valueW, textWidth(formatCount(r.Count)))
	}
	lastTickW := textWidth(formatCount(ax.Top))
	c.Left = pad + nameW + gap
	c.Right = s.Width - max(valueW+2*gap, lastTickW/2+pad)
	c.Top = 8
	c.Bottom = c.Top + float64(len(s.Rows)*rowHeight)
	c.Height = c.Bottom + gap + lineHeight + gap + lineHeight + pad
	c.XTickY = c.Bottom + gap + fontSize
	c.XTitleX, c.XTitleY = round1((c.Left+c.Right)/2), c.Height-pad-3
	plotW := c.Right - c.Left

	spacing := plotW / float64(len(ax.Ticks)-1)
	every := max(1, int((lastTickW+2*gap)/spacing+0.999))
	for i, t := range ax.Ticks {
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{Pos: round1(c.Left + float64(t)/float64(ax.Top)*plotW), Label: formatCount(t)})
		}
	}
	for i, r := range s.Rows {
		y := c.Top + float64(i*rowHeight)
		w := 0.0
		if r.Count > 0 {
			w = max(float64(r.Count)/float64(ax.Top)*plotW, 1)
		}
		title := displayName(r.Name) + ": " + formatCount(r.Count) + " " + s.Unit
		if s.Total > 0 {
			title += " (" + percent(r.Count, s.Total) + ")"
		}
		c.Rows = append(c.Rows, hbarRow{
			Label:  shorten(displayName(r.Name)),
			LabelX: c.Left - gap,
			TextY:  round1(y + rowHeight/2),
			X:      c.Left, Y: round1(y + (rowHeight-rowBar)/2), W: round1(w), H: rowBar,
			Value:  formatCount(r.Count),
			ValueX: round1(c.Left + w + gap),
			Colour: s.Colour,
			Title:  title,
		})
	}
	return c
}

// displayName shows an empty name as such rather than as nothing.
func displayName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// percent writes part/total to one decimal.
func percent(part, total int64) string {
	p := float64(part) / float64(total) * 100
	return formatFloat1(p) + "%"
}
