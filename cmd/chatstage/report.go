package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/chatstage/chatstage/store"
)

func runReport(ctx context.Context, e *env, args []string) int {
	fs := e.newFlagSet("report", "report --out DIR [flags]",
		"chatstage report --out /data/reports/2025-07-01")
	var c common
	c.register(fs)
	out := fs.String("out", "", "directory to write chat_metrics.csv and quality.csv into (created if missing; required)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object on stdout")
	args, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if !e.outDirArgs(fs, "report", *out, args) {
		return exitUsage
	}
	logger := e.logger(&c)
	st, err := e.openStore(ctx, &c, logger)
	if err != nil {
		return e.fail(ctx, "report", err)
	}
	defer st.Close()
	res, err := st.ReportWrite(ctx, *out)
	if err != nil {
		return e.fail(ctx, "report", err)
	}
	if *asJSON {
		err = json.NewEncoder(e.stdout).Encode(res)
	} else {
		err = writeReportSummary(e.stdout, *out, res)
	}
	if err != nil {
		return e.fail(ctx, "report", err)
	}
	return exitOK
}

// writeReportSummary prints what the files hold in a few lines.
func writeReportSummary(w io.Writer, dir string, r store.Report) error {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "wrote %s: %s rows\n", strings.TrimSuffix(dir, "/")+"/"+f.Name, thousands(f.Rows))
	}
	fmt.Fprintf(&b, "chats: %s; the user spoke in %s (%s)\n", thousands(r.Chats), thousands(r.UserSpoke), share(r.UserSpoke, r.Chats))
	perChat := "0"
	if r.Chats > 0 {
		perChat = fmt.Sprintf("%.1f", float64(r.Messages)/float64(r.Chats))
	}
	fmt.Fprintf(&b, "messages: %s, %s per chat\n", thousands(r.Messages), perChat)
	fmt.Fprintf(&b, "quality flags on current chats: %s\n", nameCounts(r.Flags))
	fmt.Fprintf(&b, "rejects over all loads: %s\n", nameCounts(r.Rejects))
	_, err := io.WriteString(w, b.String())
	return err
}

func share(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}

func nameCounts(list []store.NameCount) string {
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, len(list))
	for i, n := range list {
		parts[i] = fmt.Sprintf("%s %s", n.Name, thousands(n.Count))
	}
	return strings.Join(parts, ", ")
}
