package htmlreport

import (
	"math"
	"strconv"
	"time"
)

// axis is a count axis from 0 to Top in equal steps of Step, one tick at
// each step. Counts are whole, so Step is too.
type axis struct {
	Top, Step int64
	Ticks     []int64
}

// axisIntervals is how many steps an axis aims at: enough to read a bar's
// height against, few enough that the labels stay apart.
const axisIntervals = 5

// niceAxis returns the axis for counts from 0 to max: a step of 1, 2, 2.5
// or 5 times a power of ten (2.5 only from 25 up, since counts are whole),
// the smallest such step giving at most axisIntervals steps. An all-zero
// range still gets an axis, 0 to 1, so that a chart of zeros is drawn
// with its axis rather than divided by zero.
func niceAxis(max int64) axis {
	if max < 1 {
		max = 1
	}
	raw := max / axisIntervals
	if max%axisIntervals != 0 {
		raw++
	}
	step := niceStep(raw)
	n := max / step
	if max%step != 0 {
		n++
	}
	if n > math.MaxInt64/step {
		// The top tick would overflow: stop at the last that fits; bars
		// beyond it are clipped. No count of chats gets near this.
		n--
	}
	a := axis{Top: n * step, Step: step}
	for i := int64(0); i <= n; i++ {
		a.Ticks = append(a.Ticks, i*step)
	}
	return a
}

// niceStep returns the smallest round step not below raw (raw >= 1).
func niceStep(raw int64) int64 {
	for pow := int64(1); ; pow *= 10 {
		steps := []int64{pow, 2 * pow, 5 * pow}
		if pow >= 10 {
			steps = []int64{pow, 2 * pow, pow / 2 * 5, 5 * pow}
		}
		for _, s := range steps {
			if s >= raw {
				return s
			}
		}
		if pow > math.MaxInt64/10 {
			return steps[len(steps)-1]
		}
	}
}

// formatCount writes n with a comma between thousands: 12,345. The page
// is for people, and a count of rows is read at a glance only grouped.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	b := make([]byte, 0, len(s)+len(s)/3)
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	b = append(b, s[:first]...)
	for i := first; i < len(s); i += 3 {
		b = append(b, ',')
		b = append(b, s[i:i+3]...)
	}
	return sign + string(b)
}

// formatDuration writes how long a load took, to the second: a load is
// minutes, and milliseconds are noise in a table of them.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "?"
	case d < time.Second:
		return "<1s"
	}
	return d.Round(time.Second).String()
}

// round1 rounds a coordinate to a tenth of a unit: finer is invisible and
// only makes the page bigger and its golden file noisier.
func round1(x float64) float64 {
	return math.Round(x*10) / 10
}

// formatFloat1 writes x to one decimal.
func formatFloat1(x float64) string {
	return strconv.FormatFloat(x, 'f', 1, 64)
}
