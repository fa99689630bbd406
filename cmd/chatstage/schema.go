package main

import (
	"context"

	"github.com/chatstage/chatstage"
)

func runSchema(ctx context.Context, e *env, args []string) error {
	cl := e.newCmdline("schema", "schema [--format dbt|markdown] [flags]",
		"chatstage schema --format dbt > models/staging/chatstage_sources.yml", true)
	format := cl.fs.String("format", "markdown",
		"dbt: a dbt sources.yml of the staging, export and analytics schemas, with key tests; markdown: the same as a data dictionary")
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	if err := cl.noArgs(rest); err != nil {
		return err
	}
	f := chatstage.SchemaFormat(*format)
	if f != chatstage.SchemaDBT && f != chatstage.SchemaMarkdown {
		return cl.usage("--format %q: want dbt or markdown", *format)
	}
	// No migration here: schema documents the database as it is, and
	// refuses one that is not migrated yet.
	st, err := cl.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	return chatstage.Schema(ctx, st, e.stdout, f)
}
