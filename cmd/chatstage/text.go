package main

import (
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatstage/chatstage/store"
)

// loadDuration is how long a finished load took, to the millisecond under
// a minute and to the second above.
func loadDuration(l store.LoadRecord) string {
	if l.FinishedAt == nil {
		return "-"
	}
	d := l.FinishedAt.Sub(l.StartedAt)
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// thousands groups digits by thousands: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural writes n, its digits grouped, and the noun that fits it:
// "1 row", "0 rows", "1,234 rows".
func plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(int64(n)) + " " + many
}

// table aligns columns of text for a terminal: two spaces between
// columns, numbers right-aligned.
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

// newTable takes pairs of a column title and its alignment: ">" for
// right, "" for left.
func newTable(cols ...string) *table {
	t := &table{}
	for i := 0; i+1 < len(cols); i += 2 {
		t.head = append(t.head, cols[i])
		t.right = append(t.right, cols[i+1] == ">")
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.head}, t.rows...) {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				line.WriteString(pad + c)
			} else if i < len(r)-1 {
				line.WriteString(c + pad)
			} else {
				line.WriteString(c) // no trailing blanks
			}
		}
		b.WriteString(line.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
