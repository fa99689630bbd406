package main

import (
	"path/filepath"
	"testing"

	"github.com/chatstage/chatstage/internal/htmlreport/browsertest"
)

// reportScreenshot is where -update saves the picture of the bundled
// sample's report, which the README shows.
const reportScreenshot = "../../docs/report.png"

// TestReportHTMLInBrowser ingests the bundled sample as a user would, runs
// report, and opens its report.html in a real, headless Chromium: no
// console error, no request but the page, readable and not blank
// (internal/htmlreport/browsertest). With -update it saves the screenshot
// as docs/report.png:
//
//	go test ./cmd/chatstage -run TestReportHTMLInBrowser -update
func TestReportHTMLInBrowser(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	if r := runCLI(t, url, nil, "ingest", "--quiet", "../../testdata/sample.csv"); r.code != exitOK {
		t.Fatalf("ingest: exit %d", r.code)
	}
	out := t.TempDir()
	if r := runCLI(t, url, nil, "report", "--out", out); r.code != exitOK {
		t.Fatalf("report: exit %d", r.code)
	}
	// The sample has no rejects and no quality flags: three of the eight
	// charts say so instead of drawing.
	img := browsertest.Check(t, filepath.Join(out, "report.html"), browsertest.Want{Figures: 8, Charts: 5, MinHeight: 2000, MinBlue: 10_000})
	if exportUpdate() {
		browsertest.WriteScreenshot(t, img, reportScreenshot)
	}
}
