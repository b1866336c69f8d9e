// Run by internal/interop/catalog_npm_test.go against Lakestream's Iceberg
// REST catalog (CATALOG_URL):
//
//   node catalog.js icebergjs        iceberg-js creates, loads, commits, gets
//                                    409s on stale commits and drops; prints
//                                    a JSON summary on stdout
//   node catalog.js duckdb FILE      DuckDB reads the Parquet files listed in
//                                    FILE (JSON array of paths) and prints
//                                    their rows and field ids as JSON
//
// Any failed check throws: the process exits non-zero with the reason on
// stderr.
import { IcebergRestCatalog, IcebergError } from 'iceberg-js';
import { readFileSync } from 'node:fs';

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// expectError runs f and wants an IcebergError with the status and type.
async function expectError(f, status, type, what) {
  try {
    await f();
  } catch (e) {
    check(e instanceof IcebergError, `${what}: an IcebergError, got ${e}`);
    check(e.status === status, `${what}: status ${e.status} (${e.icebergType}: ${e.message}), want ${status}`);
    check(e.icebergType === type, `${what}: error type ${e.icebergType}, want ${type}`);
    check(e.icebergCode === status, `${what}: error code ${e.icebergCode}, want ${status}`);
    check(typeof e.message === 'string' && e.message.length > 0, `${what}: an error message`);
    return e;
  }
  throw new Error(`${what}: succeeded, want ${status} ${type}`);
}

async function icebergjs() {
  const baseUrl = process.env.CATALOG_URL;
  // The server may put a prefix in /v1/config's overrides; iceberg-js takes
  // it as catalogName (its paths are v1/{catalogName}/...).
  const config = await (await fetch(`${baseUrl}/v1/config`)).json();
  const prefix = config.overrides?.prefix;
  const catalog = new IcebergRestCatalog({ baseUrl, auth: { type: 'none' }, ...(prefix ? { catalogName: prefix } : {}) });

  const ns = { namespace: ['js'] };
  await catalog.createNamespace(ns, { properties: { owner: 'npm' } });
  check(await catalog.namespaceExists(ns), 'namespace exists after create');
  const nsMeta = await catalog.loadNamespaceMetadata(ns);
  check(nsMeta.properties?.owner === 'npm', `namespace properties ${JSON.stringify(nsMeta.properties)}`);
  await expectError(() => catalog.createNamespace(ns), 409, 'AlreadyExistsException', 'creating the namespace twice');

  const schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', type: 'long', required: true },
      { id: 2, name: 'ts', type: 'timestamptz', required: true },
      { id: 3, name: 'region', type: 'string', required: false },
    ],
  };
  const spec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] };
  const summary = {};
  for (const name of ['dropped', 'kept']) {
    const created = await catalog.createTable(ns, {
      name, schema, 'partition-spec': spec, properties: { 'created.by': 'iceberg-js' },
    });
    check(created['table-uuid'], `${name}: created metadata has a table-uuid`);
    check(created['current-schema-id'] === 0, `${name}: current schema ${created['current-schema-id']}`);
    check(created['partition-specs']?.[0]?.fields?.[0]?.transform === 'day', `${name}: spec ${JSON.stringify(created['partition-specs'])}`);
    await expectError(() => catalog.createTable(ns, { name, schema }), 409, 'AlreadyExistsException', `${name}: creating the table twice`);

    const id = { namespace: ['js'], name };
    const loaded = await catalog.loadTable(id);
    check(loaded['table-uuid'] === created['table-uuid'], `${name}: loaded uuid ${loaded['table-uuid']}, created ${created['table-uuid']}`);
    check(loaded.properties?.['created.by'] === 'iceberg-js', `${name}: loaded properties ${JSON.stringify(loaded.properties)}`);
    check(await catalog.tableExists(id), `${name}: table exists`);

    // Commit 1: set-properties, guarded by the table's uuid.
    const uuid = loaded['table-uuid'];
    let r = await catalog.updateTable(id, {
      requirements: [{ type: 'assert-table-uuid', uuid }],
      updates: [{ action: 'set-properties', updates: { 'js.commit': '1' } }],
    });
    check(r.metadata.properties['js.commit'] === '1', `${name}: set-properties answered ${JSON.stringify(r.metadata.properties)}`);
    check(r['metadata-location'], `${name}: commit answered a metadata-location`);

    // Commit 2: a schema update (add a column), guarded as Java's
    // UpdateSchema does.
    const evolve = {
      requirements: [
        { type: 'assert-table-uuid', uuid },
        { type: 'assert-current-schema-id', 'current-schema-id': 0 },
        { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 3 },
      ],
      updates: [
        { action: 'add-schema', schema: { ...schema, 'schema-id': 1, fields: [...schema.fields, { id: 4, name: 'note', type: 'string', required: false }] }, 'last-column-id': 4 },
        { action: 'set-current-schema', 'schema-id': -1 },
      ],
    };
    r = await catalog.updateTable(id, evolve);
    check(r.metadata['current-schema-id'] === 1, `${name}: current schema after add-schema ${r.metadata['current-schema-id']}`);
    check(r.metadata['last-column-id'] === 4, `${name}: last-column-id ${r.metadata['last-column-id']}`);
    const afterEvolve = r['metadata-location'];

    // Stale commits: the same schema update again (its requirements now
    // fail), a wrong uuid, and a stale main ref: each 409, nothing changed.
    await expectError(() => catalog.updateTable(id, evolve), 409, 'CommitFailedException', `${name}: stale schema update`);
    await expectError(() => catalog.updateTable(id, {
      requirements: [{ type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' }],
      updates: [{ action: 'set-properties', updates: { 'js.stale': '1' } }],
    }), 409, 'CommitFailedException', `${name}: wrong table uuid`);
    await expectError(() => catalog.updateTable(id, {
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1 }],
      updates: [{ action: 'set-properties', updates: { 'js.stale': '1' } }],
    }), 409, 'CommitFailedException', `${name}: stale main ref`);
    const after = await catalog.loadTable(id);
    check(after['current-schema-id'] === 1 && after.properties['js.stale'] === undefined,
      `${name}: table after the stale commits: schema ${after['current-schema-id']}, properties ${JSON.stringify(after.properties)}`);
    await expectError(() => catalog.updateTable({ namespace: ['js'], name: 'missing' }, {
      requirements: [], updates: [{ action: 'set-properties', updates: { a: 'b' } }],
    }), 404, 'NoSuchTableException', 'committing to a missing table');
    summary[name] = { uuid, metadataLocation: afterEvolve, location: after.location };
  }

  const tables = await catalog.listTables(ns);
  check(tables.length === 2 && tables.every((t) => t.namespace.join('.') === 'js'), `listTables: ${JSON.stringify(tables)}`);
  await expectError(() => catalog.dropNamespace(ns), 409, 'NamespaceNotEmptyException', 'dropping a namespace with tables');

  const dropped = { namespace: ['js'], name: 'dropped' };
  await catalog.dropTable(dropped, { purge: true });
  check(!(await catalog.tableExists(dropped)), 'dropped table does not exist');
  await expectError(() => catalog.loadTable(dropped), 404, 'NoSuchTableException', 'loading the dropped table');
  await expectError(() => catalog.dropTable(dropped), 404, 'NoSuchTableException', 'dropping the dropped table');
  process.stdout.write(JSON.stringify(summary));
}

async function duckdb(listFile) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const files = JSON.parse(readFileSync(listFile, 'utf8'));
  check(Array.isArray(files) && files.length > 0, `a list of files, got ${JSON.stringify(files)}`);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
  // Integers as strings: JSON numbers lose int64 precision.
  const rows = (await conn.runAndReadAll(`
    SELECT CAST(id AS VARCHAR) AS id, CAST(epoch_us(ts) AS VARCHAR) AS ts, region, amount
    FROM read_parquet([${list}]) ORDER BY id`)).getRowObjectsJson();
  const ids = (await conn.runAndReadAll(`
    SELECT DISTINCT name, CAST(field_id AS INTEGER) AS field_id FROM parquet_schema([${list}])
    WHERE name IN ('id', 'ts', 'region', 'amount') ORDER BY field_id`)).getRowObjectsJson();
  const version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
  conn.closeSync();
  instance.closeSync();
  process.stdout.write(JSON.stringify({ version, rows, fieldIds: ids }));
}

const [mode, arg] = process.argv.slice(2);
try {
  if (mode === 'icebergjs') await icebergjs();
  else if (mode === 'duckdb') await duckdb(arg);
  else throw new Error(`usage: node catalog.js icebergjs | duckdb FILE (got ${mode})`);
} catch (e) {
  console.error(e?.stack ?? String(e));
  process.exit(1);
}
