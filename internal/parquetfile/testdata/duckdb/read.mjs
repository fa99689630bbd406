// Reads a Parquet file with DuckDB, the consumer the tests of
// internal/parquetfile hold the writer to.
//
//   node read.mjs rows FILE   first line {"columns":[{"name","type"}...]} with
//                             DuckDB's names and types, then one JSON array per
//                             row, in file order
//   node read.mjs meta FILE   one JSON object: row groups, rows, the distinct
//                             compression codecs of the column chunks, and the
//                             Parquet schema as DuckDB reads it
//
// Values are printed in a stable textual form: NULL as null, VARCHAR as a
// string, BOOLEAN as true/false, TIMESTAMP WITH TIME ZONE as
// 2025-05-28T12:55:10.546493Z (UTC, six fraction digits, from DuckDB's
// microseconds, so no time zone setting can change it), a list as an array of
// its elements. A value of any other type is printed as {"unexpected": ...}
// so that the Go test fails on it.
import { DuckDBInstance, DuckDBListValue, DuckDBTimestampTZValue, DuckDBTimestampValue } from '@duckdb/node-api';

function iso(micros) {
  const us = ((micros % 1000000n) + 1000000n) % 1000000n;
  const secs = (micros - us) / 1000000n;
  const d = new Date(Number(secs) * 1000);
  return d.toISOString().slice(0, 19) + '.' + us.toString().padStart(6, '0') + 'Z';
}

function text(v) {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof DuckDBTimestampTZValue) return iso(v.micros);
  if (v instanceof DuckDBTimestampValue) return { unexpected: 'TIMESTAMP without time zone ' + iso(v.micros) };
  if (v instanceof DuckDBListValue) return v.items.map(text);
  return { unexpected: String(v) };
}

function quote(path) {
  return "'" + path.replaceAll("'", "''") + "'";
}

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'rows' && mode !== 'meta')) {
  console.error('usage: node read.mjs rows|meta FILE');
  process.exit(2);
}

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const out = [];
const flush = () => {
  if (out.length > 0) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
};

if (mode === 'rows') {
  const result = await conn.stream(`SELECT * FROM read_parquet(${quote(file)})`);
  const names = result.columnNames();
  const types = result.columnTypes();
  out.push(JSON.stringify({ columns: names.map((name, i) => ({ name, type: types[i].toString() })) }));
  for await (const rows of result.yieldRows()) {
    for (const row of rows) out.push(JSON.stringify(row.map(text)));
    flush();
  }
} else {
  const groups = await conn.runAndReadAll(
    `SELECT count(DISTINCT row_group_id)::INTEGER AS row_groups,
            coalesce(list(DISTINCT compression ORDER BY compression), []) AS compression
     FROM parquet_metadata(${quote(file)})`);
  const rows = await conn.runAndReadAll(
    `SELECT num_rows::BIGINT::VARCHAR AS n FROM parquet_file_metadata(${quote(file)})`);
  const schema = await conn.runAndReadAll(
    `SELECT name, type, converted_type, logical_type, repetition_type
     FROM parquet_schema(${quote(file)})`);
  const g = groups.getRowObjectsJson()[0];
  out.push(JSON.stringify({
    row_groups: g.row_groups,
    rows: Number(rows.getRowObjectsJson()[0].n),
    compression: g.compression,
    schema: schema.getRowObjectsJson(),
  }));
}
flush();
conn.closeSync();
instance.closeSync();
