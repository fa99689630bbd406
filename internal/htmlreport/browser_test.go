package htmlreport

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chatstage/chatstage/internal/htmlreport/browsertest"
)

// TestBrowser opens the made-up sample report (every part of the page, more
// loads and days than a chart shows) in a real, headless Chromium and runs
// browsertest's checks: no console error, no request but the page, readable
// text at 1280 and 800 pixels, labels that neither overlap nor leave their
// chart, a screenshot that is not blank. The picture in docs/report.png is
// a real database's report: cmd/chatstage's TestReportHTMLInBrowser takes it.
func TestBrowser(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, render(t, sampleData()), 0o644); err != nil {
		t.Fatal(err)
	}
	browsertest.Check(t, file, browsertest.Want{Figures: 8, Charts: 8, MinHeight: 2000, MinBlue: 10_000})
}
