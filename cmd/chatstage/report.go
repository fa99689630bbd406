package main

import (
	"context"
	"encoding/json"

	"github.com/chatstage/chatstage"
)

func runReport(ctx context.Context, e *env, args []string) (err error) {
	cl := e.newCmdline("report", "report --out DIR [flags]", "chatstage report --out /data/reports/2025-07-01", true)
	out := cl.fs.String("out", "", "directory to write chat_metrics.csv, quality.csv and report.html into (created if missing; required)")
	asJSON := cl.fs.Bool("json", false, "print the summary as one JSON object on stdout")
	cl.metricsFlag()
	if err := cl.parseOut(args, out); err != nil {
		return err
	}
	run := cl.metricsStart()
	defer func() { err = cl.metricsFinish(run, err) }()
	st, err := cl.open(ctx, readOnly) // reads only: never migrates
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := chatstage.Report(ctx, st, *out, chatstage.ReportOptions{})
	if err != nil {
		return err
	}
	run.Files = metricsFiles(r.Files)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(r)
	}
	return writeReportSummary(e.stdout, *out, r)
}
