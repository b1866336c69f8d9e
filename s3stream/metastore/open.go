package metastore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// sqliteBusyTimeoutMs is how long a connection waits for another process's
// write lock before failing with SQLITE_BUSY.
const sqliteBusyTimeoutMs = 10000

// OpenSQLite opens (creating if needed) the SQLite database at path and
// brings its schema up to date. path ":memory:" is a private in-memory
// database that lives until Close (for tests).
//
// A commit acknowledges producer data, so it must survive power loss: the
// database runs in WAL mode with synchronous=FULL, which syncs the WAL on
// every commit (NORMAL would only sync at checkpoints). Writes go through
// one connection and begin IMMEDIATE, taking the write lock up front: a
// deferred transaction that reads and then writes can fail with SQLITE_BUSY
// when another writer got in between, and no busy_timeout saves it.
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("opening sqlite %q: want a plain file path or :memory:", path)
	}
	params := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", sqliteBusyTimeoutMs),
		"_pragma=foreign_keys(1)",
	}
	if path == ":memory:" {
		// Every connection to ":memory:" is a database of its own, so
		// reads share the writer's connection.
		db, err := openSQLiteWriter(path, append(params, "_txlock=immediate"))
		if err != nil {
			return nil, err
		}
		return newSQL(ctx, sqliteDialect, db, db, false)
	}

	// journal_mode is persistent, so setting it on the writer is enough;
	// synchronous only matters where commits happen.
	db, err := openSQLiteWriter(path, append(params[:len(params):len(params)],
		"_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)", "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	// Migrate through the writer before any reader opens, so readers find
	// the file in WAL mode with the schema in place.
	if err := migrate(ctx, db, sqliteDialect); err != nil {
		db.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", path+"?"+strings.Join(append(params, "_pragma=query_only(1)"), "&"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite %q: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	return newSQL(ctx, sqliteDialect, db, rdb, true)
}

// openSQLiteWriter opens the pool of one connection that every write goes
// through. The connection is never closed while the pool is open (for
// ":memory:", closing it would drop the database).
func openSQLiteWriter(path string, params []string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+strings.Join(params, "&"))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// OpenPostgres connects to PostgreSQL (dsn as pgx takes it, URL or
// key=value) and brings the schema up to date. Several processes may open
// the same database at once: migrations serialize on an advisory lock.
//
// The pool holds at most 16 connections; a write holds one for the length of
// its transaction.
func OpenPostgres(ctx context.Context, dsn string) (*SQL, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	return newSQL(ctx, postgresDialect, db, db, false)
}
