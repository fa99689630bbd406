package htmlreport

import (
	"slices"
	"strings"
)

// The nine colours of Paul Tol's "muted" qualitative scheme, chosen to be
// told apart by readers with the common colour-vision deficiencies and
// to stay distinct on screen and in print. A stacked bar may carry up to
// nine flags, and this is the largest such scheme that holds.
var muted = []string{
	"#CC6677", // rose
	"#332288", // indigo
	"#DDCC77", // sand
	"#117733", // green
	"#88CCEE", // cyan
	"#882255", // wine
	"#44AA99", // teal
	"#999933", // olive
	"#AA4499", // purple
}

// otherColour is for names past the nine: grey says "not told apart".
const otherColour = "#BBBBBB"

// Single-series and two-series colours, from the Okabe-Ito scheme (also
// safe for colour-blind readers): a load's status, new against updated.
const (
	colourSucceeded = "#0072B2" // blue
	colourFailed    = "#D55E00" // vermillion
	colourRunning   = "#999999" // grey: not finished, not judged
	colourInserted  = "#0072B2" // blue
	colourUpdated   = "#E69F00" // orange
	colourSingle    = "#0072B2"
)

// The reject reason codes and quality flags chatstage has, each at a fixed
// place in muted, so a name keeps its colour across charts, pages and
// nights. A name not listed here (a code added later) still gets a colour:
// see newPalette.
var (
	knownReasons = []string{
		"malformed_csv", "field_count", "chat_id_missing", "updated_at_missing",
		"updated_at_invalid", "field_too_large", "too_many_messages",
	}
	knownFlags = []string{
		"created_at_invalid", "conversation_log_missing", "conversation_log_invalid",
		"message_invalid", "structured_info_invalid", "is_test_chat_invalid",
		"message_count_invalid", "message_count_mismatch", "text_sanitized",
	}
)

// palette gives each name of one family (reject reasons, or flags) one
// colour for the whole page, and the order names stack and list in.
type palette struct {
	colour map[string]string
	order  []string // known names first, in their fixed order, then the rest
}

// newPalette assigns colours to every name in counts (one family, summed
// over the whole page). A known name has its fixed colour. An unknown one,
// taken by count descending then by name, gets the first colour that no
// known name owns, then the colour of a known name absent from the page,
// then grey: so a new code is coloured without an edit here, and two
// names on one page never share a colour while colours last.
func newPalette(known []string, counts map[string]int64) palette {
	p := palette{colour: map[string]string{}}
	taken := make([]bool, len(muted))
	for i, name := range known {
		p.colour[name] = muted[i]
		p.order = append(p.order, name)
		if _, ok := counts[name]; ok {
			taken[i] = true
		}
	}
	var unknown []string
	for name := range counts {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	slices.SortFunc(unknown, func(a, b string) int {
		if counts[a] != counts[b] {
			if counts[a] > counts[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	// Free colours: never owned by a known name first, then those whose
	// owner is absent from this page.
	var free []int
	for i := len(known); i < len(muted); i++ {
		free = append(free, i)
	}
	for i := range known {
		if i < len(muted) && !taken[i] {
			free = append(free, i)
		}
	}
	for _, name := range unknown {
		c := otherColour
		if len(free) > 0 {
			c, free = muted[free[0]], free[1:]
		}
		p.colour[name] = c
		p.order = append(p.order, name)
	}
	return p
}

// of returns the colour of name, grey for a name the palette was not
// built with.
func (p palette) of(name string) string {
	if c, ok := p.colour[name]; ok {
		return c
	}
	return otherColour
}
