// Package store owns everything that talks to PostgreSQL: connecting,
// migrating the schema, loading shaped rows into the staging tables and
// rendering the deliverables from the export views.
//
// It receives rows already validated and shaped by package etl and never
// parses CSV or JSON itself. Its SQL lives here as named constants and in
// the migrations package, never built from values.
package store
