// Package browsertest opens an HTML report in a real, headless Chromium
// (Debian's, /usr/bin/chromium, which .ci/run installs), driven over the
// DevTools protocol, and checks what a reader would get: no console error,
// no request other than the page itself, text of 11px or more and nothing
// wider than the window at 1280 and 800 pixels, tick labels that neither
// overlap nor leave their chart, and a screenshot that is not blank. It
// serves the tests of internal/htmlreport (made-up data) and of the report
// command (a real database's report).
//
// Without /usr/bin/chromium a test fails, saying how to install it, unless
// CHATSTAGE_SKIP_CHROMIUM=1, which makes it skip, loudly. It is for tests
// only: it calls testing.T.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which .ci/run installs. The tests
// use that one and no other: a browser build fetched at test time cannot
// be had here, and a browser found on PATH would make results depend on
// the machine.
const ChromiumPath = "/usr/bin/chromium"

// SkipEnv names the variable that turns a missing Chromium into a skip.
const SkipEnv = "CHATSTAGE_SKIP_CHROMIUM"

// MaxScreenshotBytes keeps a picture small enough to sit in the
// repository; EncodeSmall quantizes it to a palette to fit.
const MaxScreenshotBytes = 300 << 10

// Want is what a page must show besides the checks every page gets.
type Want struct {
	Figures   int // charts, drawn or shown as empty
	Charts    int // charts drawn (svg.chart elements); an empty one is a note instead
	MinHeight int // pixels of the full-page screenshot at 1280 wide
	MinBlue   int // pixels of the bars' blue #0072B2
}

// Check opens the HTML file in headless Chromium, runs every check (a
// failed one fails t) and returns the full-page screenshot at 1280 pixels
// wide. It skips or fails t when Chromium is missing (see SkipEnv).
func Check(t *testing.T, file string, want Want) image.Image {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv(SkipEnv) == "1" {
			// Said on stderr too: go test shows a skip's reason only with -v.
			fmt.Fprintf(os.Stderr, "WARNING: %s SKIPPED: %s is missing and %s=1; the report was not checked in a browser\n", t.Name(), ChromiumPath, SkipEnv)
			t.Skipf("SKIPPED: %s is missing and %s=1", ChromiumPath, SkipEnv)
		}
		t.Fatalf("%s: %v\nThis test needs Debian's chromium: apt-get install -y --no-install-recommends chromium\n(or set %s=1 to skip it, loudly)", ChromiumPath, err, SkipEnv)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: abs}).String()

	// Bounds the whole check: a browser that hangs fails the test, not CI.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // root in CI, where the sandbox will not start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// The page must fetch nothing; the browser's own traffic (QUIC
		// probes, updates, sync) would only be noise in the logs.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(testWriter{t}),
	)
	defer cancelAlloc()

	// The listener sees every event of the tab from its first command.
	var (
		mu       sync.Mutex
		problems []string
		requests []string
	)
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
			if ev.Request.URL != pageURL {
				note("a network request: %s %s", ev.Request.Method, ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				note("console.%s: %v", ev.Type, ev.Args)
			}
		case *runtime.EventExceptionThrown:
			note("an exception: %s", ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				note("browser log error (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
	}))
	defer cancelTab()

	if err := chromedp.Do(tabCtx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("opening %s: %v", pageURL, err)
	}

	for _, width := range []int64{1280, 800} {
		if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		l, err := chromedp.Run(tabCtx, chromedp.Evaluate[layout](layoutJS))
		if err != nil {
			t.Fatalf("measuring the page at %dpx: %v", width, err)
		}
		t.Logf("at %dpx: %d charts, %d drawn, smallest text %.1fpx (%q), page %dpx wide", width, l.Figures, l.Charts, l.MinFont, l.MinFontText, l.ScrollWidth)
		if l.Figures != want.Figures || l.Charts != want.Charts {
			t.Errorf("at %dpx: %d charts, %d of them drawn; want %d, %d drawn", width, l.Figures, l.Charts, want.Figures, want.Charts)
		}
		if l.MinFont < 11 {
			t.Errorf("at %dpx: text %q is %.1fpx, want 11px or more", width, l.MinFontText, l.MinFont)
		}
		if l.ScrollWidth > l.ClientWidth {
			t.Errorf("at %dpx: the page is %dpx wide, wider than the window (%dpx)", width, l.ScrollWidth, l.ClientWidth)
		}
		for _, p := range l.Problems {
			t.Errorf("at %dpx: %s", width, p)
		}
	}

	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(tabCtx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("taking the screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	checkNotBlank(t, img, want)

	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(requests, pageURL) {
		t.Errorf("no request for the page itself seen (requests: %q): is the network listener deaf?", requests)
	}
	for _, p := range problems {
		t.Error(p)
	}
	return img
}

// layout is what layoutJS measures of the page as drawn.
type layout struct {
	Figures     int      `json:"figures"`
	Charts      int      `json:"charts"`
	MinFont     float64  `json:"minFont"`
	MinFontText string   `json:"minFontText"`
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Problems    []string `json:"problems"`
}

// layoutJS runs in the page through the DevTools protocol (the page has
// no script of its own). A text's size on screen is its font size times
// the scale of its SVG, so a chart squeezed into a narrow box shows here.
// Labels are checked against each other and against their chart's box:
// the chart code only estimates text widths.
const layoutJS = `(() => {
  const out = {figures: document.querySelectorAll('figure').length, charts: document.querySelectorAll('svg.chart').length, minFont: 1e9, minFontText: '', problems: []};
  out.scrollWidth = document.documentElement.scrollWidth;
  out.clientWidth = document.documentElement.clientWidth;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest('title')) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) { const m = el.getScreenCTM(); px *= Math.hypot(m.a, m.b); }
    if (px < out.minFont) { out.minFont = px; out.minFontText = n.textContent.trim(); }
  }
  for (const svg of document.querySelectorAll('svg.chart')) {
    const chart = svg.closest('figure').querySelector('h3').textContent;
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].map(t => ({t: t.textContent, r: t.getBoundingClientRect()}));
    for (const a of texts) {
      if (a.r.left < box.left - 0.5 || a.r.right > box.right + 0.5 || a.r.top < box.top - 0.5 || a.r.bottom > box.bottom + 0.5)
        out.problems.push(chart + ': label "' + a.t + '" is cut off by the chart edge');
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i].r, b = texts[j].r;
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
        out.problems.push(chart + ': labels "' + texts[i].t + '" and "' + texts[j].t + '" overlap');
    }
  }
  return out;
})()`

// checkNotBlank fails unless the picture has the marks of a drawn report:
// enough ink, many colours, and the bars' blue.
func checkNotBlank(t *testing.T, img image.Image, want Want) {
	t.Helper()
	b := img.Bounds()
	colours := map[color.RGBA]int{}
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colours[c]++
			if c.R < 240 || c.G < 240 || c.B < 240 {
				ink++
			}
		}
	}
	share := float64(ink) / float64(b.Dx()*b.Dy())
	blue := colours[color.RGBA{0x00, 0x72, 0xB2, 0xFF}]
	t.Logf("screenshot %dx%d: %.1f%% ink, %d colours, %d pixels of the bars' blue", b.Dx(), b.Dy(), share*100, len(colours), blue)
	if b.Dy() < want.MinHeight {
		t.Errorf("screenshot %dpx tall: the page should be %dpx or more", b.Dy(), want.MinHeight)
	}
	// A page of the title alone is under 1%; the bundled sample's report,
	// three of whose charts are empty, is 4.5%.
	if share < 0.03 {
		t.Errorf("screenshot has %.1f%% non-white pixels: blank?", share*100)
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: blank?", len(colours))
	}
	if blue < want.MinBlue {
		t.Errorf("screenshot has %d pixels of the bars' blue #0072B2, want %d or more: no bars drawn?", blue, want.MinBlue)
	}
}

// EncodeSmall writes img as a PNG of at most 256 colours, the most used
// ones; others take the nearest. A report is flat colour and grey text,
// so this keeps it sharp at a third of the size.
func EncodeSmall(img image.Image) ([]byte, error) {
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	all := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		all = append(all, c)
	}
	slices.SortFunc(all, func(a, b color.RGBA) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return int(a.R)<<16 + int(a.G)<<8 + int(a.B) - (int(b.R)<<16 + int(b.G)<<8 + int(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range all[:min(256, len(all))] {
		pal = append(pal, c)
	}
	index := map[color.RGBA]uint8{}
	for _, c := range all {
		index[c] = uint8(pal.Index(c))
	}
	out := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.SetColorIndex(x-b.Min.X, y-b.Min.Y, index[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)])
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteScreenshot writes img, made small, to path, failing t when it is
// over MaxScreenshotBytes.
func WriteScreenshot(t *testing.T, img image.Image, path string) {
	t.Helper()
	small, err := EncodeSmall(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) > MaxScreenshotBytes {
		t.Errorf("the screenshot is %d KiB, over %d KiB", len(small)>>10, MaxScreenshotBytes>>10)
	}
	if err := os.WriteFile(path, small, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KiB, %dx%d)", path, len(small)>>10, img.Bounds().Dx(), img.Bounds().Dy())
}

// testWriter sends the browser's own output to the test log, where a
// failure can be understood and a pass stays quiet.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
