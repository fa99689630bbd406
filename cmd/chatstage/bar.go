package main

import (
	"path/filepath"
	"strings"

	"golang.org/x/text/width"
)

// A progress line fitted to the terminal's width, read again at every
// redraw so that a resized window is fitted at the next one. A line that
// reached the last column would make some terminals wrap, and each redraw
// would then leave a line behind: a line is at most width-1 columns.

// segment is a piece of a progress line after its name and bar, such as
// "81,234 rows". When the line is too narrow, the segments with the
// highest drop are left out first; drop 0 are kept until the end.
type segment struct {
	text string
	drop int
}

// Bounds of a line's flexible parts, in columns.
const (
	barMin     = 10 // the bar's inside, without its brackets
	barMax     = 30
	nameMin    = 12 // a name shorter than this is not cut
	defaultCol = 80 // a terminal that does not say its width
)

// fitLine lays out name, a bar filled to frac (none when frac < 0) and
// segs in at most width-1 columns. What says which file and how far it is
// goes last: a narrow line drops the segments of highest drop first, then
// cuts the path to the file's own name, then drops the bar, then cuts the
// file's name, and a line that still does not fit is cut at its end.
func fitLine(width int, name string, frac float64, segs []segment) string {
	limit := width - 1
	if limit < 1 {
		return ""
	}
	nameCols := columns(name)
	_, base := filepath.Split(name)
	floors := []int{
		min(nameCols, max(nameMin, min(columns(base)+2, 32))), // "…/" and the file's own name
		min(nameCols, nameMin),
		min(nameCols, 5),
	}
	levels := dropLevels(segs)
	for _, floor := range floors {
		for i, level := range levels {
			tail := joinSegments(segs, level)
			for _, bar := range []bool{frac >= 0, false} {
				if !bar && frac >= 0 && (i < len(levels)-1 || floor == floors[0]) {
					continue // the bar goes once every droppable segment went and the path was cut
				}
				if line, ok := layout(limit, name, frac, bar, floor, tail); ok {
					return line
				}
			}
		}
	}
	return cut(strings.TrimSpace(shortName(name, floors[2])+"  "+joinSegments(segs, 0)), limit)
}

// dropLevels lists the drop limits to try, from every segment kept to
// only those of drop 0.
func dropLevels(segs []segment) []int {
	top := 0
	for _, s := range segs {
		top = max(top, s.drop)
	}
	var levels []int
	for l := top; l >= 0; l-- {
		levels = append(levels, l)
	}
	return levels
}

// joinSegments joins the segments whose drop is at most level.
func joinSegments(segs []segment, level int) string {
	var parts []string
	for _, s := range segs {
		if s.drop <= level {
			parts = append(parts, s.text)
		}
	}
	return strings.Join(parts, "  ")
}

// layout places name (in at least floor columns), the bar when bar, and
// tail in limit columns, or reports that they do not fit. The name gets
// what it needs up to two fifths of the line, the bar what is left, within
// barMin and barMax.
func layout(limit int, name string, frac float64, bar bool, floor int, tail string) (string, bool) {
	sep := "  "
	if bar {
		sep = " " // the tail starts with the percent, padded to three digits
	} else {
		tail = strings.TrimLeft(tail, " ")
	}
	avail := limit - columns(tail)
	if tail != "" {
		avail -= len(sep)
	}
	if bar {
		avail -= barMin + 2 + 1 // the smallest bar, its brackets, a space after the name
	}
	if avail < floor {
		return "", false
	}
	shown := shortName(name, min(columns(name), avail, max(floor, limit*2/5)))
	var b strings.Builder
	b.WriteString(shown)
	if bar {
		inner := min(barMax, barMin+avail-columns(shown))
		done := int(float64(inner) * min(max(frac, 0), 1))
		b.WriteString(" [" + strings.Repeat("#", done) + strings.Repeat(".", inner-done) + "]")
	}
	if tail != "" {
		b.WriteString(sep + tail)
	}
	return b.String(), true
}

// columns is how many terminal columns s takes: East Asian wide and
// full-width characters take two.
func columns(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// shortName fits a file name into cols columns. It keeps the file's own
// name and as many of the directories just above it as fit, never a piece
// of one ("…/2025-07-01/source_chat_data.csv"); a file name longer than
// cols keeps its start and its end ("source_ch…data.csv").
func shortName(name string, cols int) string {
	if columns(name) <= cols {
		return name
	}
	dir, base := filepath.Split(name)
	if columns(base)+2 <= cols && dir != "" {
		shown := base
		for dir = strings.TrimSuffix(dir, "/"); dir != "" && dir != "."; {
			parent, last := filepath.Split(dir)
			if columns(last)+1+columns(shown)+2 > cols {
				break
			}
			shown = last + "/" + shown
			dir = strings.TrimSuffix(parent, "/")
		}
		return "…/" + shown
	}
	return middleCut(base, cols)
}

// middleCut keeps the start and the end of s in cols columns, with … in
// between.
func middleCut(s string, cols int) string {
	if columns(s) <= cols {
		return s
	}
	if cols <= 1 {
		return cut(s, cols)
	}
	r := []rune(s)
	tail := (cols - 1) / 2
	head := cols - 1 - tail
	for columns(string(r[:head]))+1+columns(string(r[len(r)-tail:])) > cols && head > 0 {
		head--
	}
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// cut keeps the start of s in cols columns, ending in … when it cut.
func cut(s string, cols int) string {
	if columns(s) <= cols {
		return s
	}
	if cols < 1 {
		return ""
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := columns(string(r))
		if used+w > cols-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}
