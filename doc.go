// Package chatstage is chatstage's library: the use cases that the
// chatstage command runs, for programs (a scheduler, a test) that run them
// themselves.
//
//   - Ingest loads one nightly source file into the staging database as
//     one load: atomic, recorded, every row kept or rejected.
//   - Export writes the deliverables, chats.csv and messages.csv, with
//     manifest.json, from the export views.
//   - Report writes the metrics files from the analytics views.
//
// It owns the load path: how a file's records become the batches that
// package store copies, in file order (ingest.go, pipeline.go). Package
// etl reads and shapes records and never talks to a database; package
// store talks to PostgreSQL and never reads files; internal/deliver
// writes file sets. chatstage never parses flags or prints: the command
// (cmd/chatstage) does, and maps errors to exit codes.
//
// The rules these implement are the project's data rules, docs/rules.md.
package chatstage
