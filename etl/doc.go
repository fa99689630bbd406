// Package etl reads nightly source_chat_data.csv files and turns each record
// into a validated, shaped chat version or a reject, following the data
// contract (docs/rules.md sections 1 and 2).
//
// It owns everything about the source format: CSV dialect, header matching,
// UTF-8 sanitizing, timestamps, the JSON of conversation_log and
// structured_info, and the rendering of JSON values for the deliverables.
// It must never talk to a database: package store does that, and package
// main (cmd/chatstage) wires the two together.
package etl
