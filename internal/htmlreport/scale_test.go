package htmlreport

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestNiceAxis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max   int64
		ticks []int64
	}{
		// Nothing to draw still gets an axis, so the chart code never
		// divides by zero.
		{0, []int64{0, 1}},
		{-5, []int64{0, 1}},
		{1, []int64{0, 1}},
		{7, []int64{0, 2, 4, 6, 8}},
		{10, []int64{0, 2, 4, 6, 8, 10}},
		{12, []int64{0, 5, 10, 15}}, // no step of 2.5 for whole counts
		{100, []int64{0, 20, 40, 60, 80, 100}},
		{1234, []int64{0, 250, 500, 750, 1000, 1250}},
		{9_999_999, []int64{0, 2_000_000, 4_000_000, 6_000_000, 8_000_000, 10_000_000}},
		{10_000_001, []int64{0, 2_500_000, 5_000_000, 7_500_000, 10_000_000, 12_500_000}},
	} {
		a := niceAxis(tc.max)
		if !slices.Equal(a.Ticks, tc.ticks) {
			t.Errorf("niceAxis(%d) ticks %v, want %v", tc.max, a.Ticks, tc.ticks)
		}
		if a.Top != tc.ticks[len(tc.ticks)-1] || a.Step != tc.ticks[1] {
			t.Errorf("niceAxis(%d) = top %d step %d, want %d and %d", tc.max, a.Top, a.Step, tc.ticks[len(tc.ticks)-1], tc.ticks[1])
		}
	}
}

// TestNiceAxisAlways checks the promises over many ranges: the axis
// covers the data, has at most axisIntervals steps, and its step is 1, 2,
// 2.5 or 5 times a power of ten.
func TestNiceAxisAlways(t *testing.T) {
	t.Parallel()
	check := func(max int64) {
		a := niceAxis(max)
		if a.Top < max && max < math.MaxInt64/2 {
			t.Errorf("niceAxis(%d): top %d below the data", max, a.Top)
		}
		if n := len(a.Ticks) - 1; n < 1 || n > axisIntervals {
			t.Errorf("niceAxis(%d): %d steps", max, n)
		}
		s := a.Step
		for s%10 == 0 {
			s /= 10
		}
		if s != 1 && s != 2 && s != 5 && s != 25 {
			t.Errorf("niceAxis(%d): step %d is not round", max, a.Step)
		}
	}
	for m := int64(0); m < 2000; m++ {
		check(m)
	}
	for m := int64(2000); m < math.MaxInt64/3; m = m*3 + 7 {
		check(m)
	}
	// The top tick of the largest counts would overflow: no panic, no loop.
	for _, m := range []int64{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 2} {
		a := niceAxis(m)
		if a.Top <= 0 || len(a.Ticks) < 2 {
			t.Errorf("niceAxis(%d) = %+v", m, a)
		}
	}
}

func TestFormatCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12345, "12,345"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{9999999, "9,999,999"},
		{-1, "-1"},
		{-1234, "-1,234"},
		{-123456, "-123,456"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := formatCount(tc.n); got != tc.want {
			t.Errorf("formatCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "?"},
		{0, "<1s"},
		{999 * time.Millisecond, "<1s"},
		{1500 * time.Millisecond, "2s"},
		{3*time.Minute + 32*time.Second, "3m32s"},
		{2*time.Hour + 5*time.Second, "2h0m5s"},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
