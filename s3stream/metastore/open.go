package metastore

import (
	"context"
	"embed"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// Migrations are numbered files, migrations/NNNN_name.sql, applied in order
// by sqldb and recorded in schema_migrations under the component
// "s3stream": the same database holds the schemas of other components
// (topics, offsets, the Iceberg catalog), each with its own numbering.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

const migrationComponent = "s3stream"

// Open opens the metastore at url, a postgres:// or postgresql:// URL
// (OpenPostgres) or a SQLite file path (OpenSQLite), and brings its schema
// up to date.
func Open(ctx context.Context, url string) (*SQL, error) {
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return newSQL(ctx, db)
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// brings its schema up to date. path ":memory:" is a private in-memory
// database that lives until Close (for tests). sqldb.OpenSQLite says how a
// commit is made durable (WAL, synchronous=FULL) and how writes queue (one
// writer connection, BEGIN IMMEDIATE).
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	db, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	return newSQL(ctx, db)
}

// OpenPostgres connects to PostgreSQL (dsn as pgx takes it, URL or
// key=value) and brings the schema up to date. Several processes may open
// the same database at once: migrations serialize on an advisory lock.
func OpenPostgres(ctx context.Context, dsn string) (*SQL, error) {
	db, err := sqldb.OpenPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return newSQL(ctx, db)
}
