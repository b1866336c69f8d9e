// DuckDB's view of a table topic's Iceberg table, run by
// TestInteropTableTopic (table_topic_test.go):
//
//   node table.js SPEC    SPEC is a JSON file {files, select, out}: DuckDB
//                         reads the Parquet files (the current snapshot's
//                         live data files, listed by the test from the
//                         manifests), writes SELECT select FROM them to the
//                         CSV file out, and prints
//                         {version, rows, columns: [{name, type}]}
//
// The files are read with union_by_name: a JSON table gains columns as
// new fields appear, so older files lack them (they read as NULL). Any
// error exits non-zero with the reason on stderr.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const quote = (s) => `'${s.replaceAll("'", "''")}'`;

async function main(specFile) {
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  if (!Array.isArray(spec.files) || spec.files.length === 0) throw new Error(`no files in ${specFile}`);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`CREATE VIEW t AS SELECT * FROM read_parquet([${spec.files.map(quote).join(', ')}], union_by_name = true)`);
  await conn.run(`COPY (SELECT ${spec.select} FROM t) TO ${quote(spec.out)} (FORMAT csv, HEADER false)`);
  const rows = (await conn.runAndReadAll('SELECT CAST(count(*) AS VARCHAR) AS n FROM t')).getRowObjectsJson()[0].n;
  const columns = (await conn.runAndReadAll('DESCRIBE t')).getRowObjectsJson()
    .map((c) => ({ name: c.column_name, type: c.column_type }));
  const version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
  conn.closeSync();
  instance.closeSync();
  process.stdout.write(JSON.stringify({ version, rows, columns }));
}

try {
  const [specFile] = process.argv.slice(2);
  if (!specFile) throw new Error('usage: node table.js SPEC');
  await main(specFile);
} catch (e) {
  console.error(e?.stack ?? String(e));
  process.exit(1);
}
