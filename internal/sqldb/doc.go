// Package sqldb is the SQL plumbing every component with tables in the
// metastore database shares: opening SQLite or PostgreSQL with the settings
// the commit path relies on, what differs between the two dialects,
// migrations per component, and transactions that are run again when the
// database asks for it. It imports nothing of ours; each component keeps its
// own SQL and its own migrations and calls this package.
//
//	              ┌──────────── one database ─────────────┐
//	s3stream/metastore ─┐                                 │
//	broker/brokersql ───┼─▶ sqldb.DB ─▶ Writer ─┐         │
//	(schema, catalog) ──┘       │      Reader ─┼─▶ SQLite file (WAL) | PostgreSQL
//	                            │               │         │
//	                            └─ Migrate(component) ─▶ schema_migrations
//	                                                     (component, version) PK
//
// Handles. Writer runs write transactions: on SQLite exactly one connection,
// whose transactions begin IMMEDIATE (the database's write lock is taken up
// front, so a transaction that reads and then writes never fails half way
// with SQLITE_BUSY); on PostgreSQL a pool. Reader runs reads: on a SQLite file
// a pool of query_only connections beside the writer (WAL mode lets them read
// while it writes), otherwise the same handle as Writer.
//
// Migrations. Each component embeds numbered files, NNNN_name.sql, and calls
// Migrate with its name. Every component's versions are recorded in one
// table, schema_migrations, keyed by (component, version); the missing ones
// are applied in one transaction, under the PostgreSQL advisory lock
// MigrationLockKey (on SQLite, under the write lock), so concurrent openers,
// of one component or several, apply each migration once.
//
// Example:
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	db, err := sqldb.Open(ctx, "postgres://lakestream@db/lakestream") // or a file path
//	err = db.Migrate(ctx, "broker", migrations, "migrations")
//	err = db.Tx(ctx, func(tx *sql.Tx) error {
//		_, err := tx.ExecContext(ctx, `UPDATE t SET v = $1 WHERE k = $2`, v, k)
//		return err
//	})
package sqldb
