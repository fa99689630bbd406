// Package parquetfile writes a chatstage deliverable (chats.csv or
// messages.csv, docs/rules.md section 4) as a Parquet file, from the same CSV
// bytes that PostgreSQL's COPY streams for the CSV deliverable, so that one
// COPY can feed both files.
//
// It owns the Parquet schema of the two deliverables (the 47 columns of each,
// in header order, with their Parquet types), the reading of COPY's CSV
// dialect, and the rendering of each CSV value as a Parquet value: booleans,
// UTC timestamps, lists of strings from the JSON arrays, strings for the rest,
// NULL for an empty field. It writes rows in the order it is given them and in
// row groups of bounded size, so its memory does not grow with the number of
// rows.
//
// It never talks to a database, never opens, renames or syncs a file (the
// caller owns the destination and its atomic replacement), and never decides
// what a deliverable holds: it only changes the encoding of rows the export
// has already written. Input that is not what COPY writes for the deliverable
// (another header, a malformed or truncated row, a value that is not of its
// column's type) is an error, never a guess.
package parquetfile
