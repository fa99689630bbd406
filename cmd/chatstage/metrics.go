package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/chatstage/chatstage"
	"github.com/chatstage/chatstage/internal/metricsfile"
)

// metricsFlag adds --metrics-file to a command that reports to a
// scheduler's monitoring (ingest, export, report).
func (cl *cmdline) metricsFlag() {
	cl.fs.StringVar(&cl.metricsPath, "metrics-file", "",
		"write what the run did to this file, atomically, in the Prometheus text format of node_exporter's textfile collector "+
			"(its directory, *.prom); commands may share one file")
}

// metricsStart begins the record of a run for --metrics-file.
func (cl *cmdline) metricsStart() *metricsfile.Run {
	return &metricsfile.Run{Command: cl.name, Start: time.Now()}
}

// metricsFinish writes run, ended by err, to --metrics-file when it is
// set, and returns err. A command line that was not understood (a usage
// error, --help) ran nothing and writes nothing. A run that succeeded but
// whose metrics cannot be written fails (exit 1): a scheduler would
// otherwise alert, hours later, on a night that went well.
func (cl *cmdline) metricsFinish(run *metricsfile.Run, err error) error {
	var usage usageError
	if cl.metricsPath == "" || errors.As(err, &usage) || errors.Is(err, errHelp) {
		return err
	}
	run.End = time.Now()
	run.Status = metricsfile.Succeeded
	if err != nil {
		run.Status = metricsfile.Failed
	}
	werr := metricsfile.Write(cl.metricsPath, *run)
	switch {
	case werr == nil:
		return err
	case err != nil:
		cl.logger.Error("could not write the metrics file", "path", cl.metricsPath, "error", werr)
		return err
	}
	return fmt.Errorf("writing --metrics-file %s: %w", cl.metricsPath, werr)
}

// metricsFiles lists written files for the metrics.
func metricsFiles(files []chatstage.FileInfo) []metricsfile.File {
	out := make([]metricsfile.File, len(files))
	for i, f := range files {
		out[i] = metricsfile.File{Name: f.Name, Rows: f.Rows, Bytes: f.Bytes}
	}
	return out
}

// metricsAddLoad adds a load's counts to an ingest run's.
func metricsAddLoad(run *metricsfile.Run, l chatstage.LoadResult) {
	if run.Ingest == nil {
		run.Ingest = &metricsfile.IngestCounts{}
	}
	in := run.Ingest
	in.RowsRead += l.RowsRead
	in.RowsRejected += l.RowsRejected
	in.RowsSuppressed += l.RowsSuppressed
	in.ChatsRetired += l.ChatsRetired
	in.ChatsInserted += l.ChatsInserted
	in.ChatsUpdated += l.ChatsUpdated
	in.ChatsUnchanged += l.ChatsUnchanged
	in.ChatsStale += l.ChatsStale
	in.MessagesWritten += l.MessagesWritten
}
