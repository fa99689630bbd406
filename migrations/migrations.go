// Package migrations holds the SQL migrations of the staging database, run
// by goose. Each file is one step, never edited once released: a change is
// a new file. Views are migrations too (CREATE OR REPLACE VIEW in a new
// file when they change).
package migrations

import "embed"

// FS holds the migration files, named NNNNN_what.sql.
//
//go:embed *.sql
var FS embed.FS
