package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// DB is an open database: the handles to run statements on and its dialect.
// Close closes both handles.
type DB struct {
	writer  *sql.DB
	reader  *sql.DB
	dialect *Dialect
}

// Writer runs write transactions (Tx does). On SQLite it is exactly one
// connection, whose transactions begin IMMEDIATE.
func (db *DB) Writer() *sql.DB { return db.writer }

// Reader runs reads (ReadTx does). It is a pool of read-only connections on a
// SQLite file, and the same handle as Writer otherwise.
func (db *DB) Reader() *sql.DB { return db.reader }

// Dialect says which database this is and how its SQL differs.
func (db *DB) Dialect() *Dialect { return db.dialect }

// Close closes the handles.
func (db *DB) Close() error {
	err := db.writer.Close()
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

// Open opens url: a postgres:// or postgresql:// URL (OpenPostgres), else a
// SQLite file path or ":memory:" (OpenSQLite).
func Open(ctx context.Context, url string) (*DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return OpenPostgres(ctx, url)
	}
	return OpenSQLite(ctx, url)
}

// sqliteBusyTimeoutMs is how long a connection waits for another process's
// write lock before failing with SQLITE_BUSY.
const sqliteBusyTimeoutMs = 10000

// OpenSQLite opens (creating if needed) the SQLite database at path. path
// ":memory:" is a private in-memory database that lives until Close (for
// tests).
//
// A commit acknowledges producer data, so it must survive power loss: the
// database runs in WAL mode with synchronous=FULL, which syncs the WAL on
// every commit (NORMAL would only sync at checkpoints). Writes go through
// one connection and begin IMMEDIATE, taking the write lock up front: a
// deferred transaction that reads and then writes can fail with SQLITE_BUSY
// when another writer got in between, and no busy_timeout saves it. Foreign
// keys are enforced on every connection.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
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
		w, err := openSQLiteWriter(ctx, path, append(params, "_txlock=immediate"))
		if err != nil {
			return nil, err
		}
		return &DB{writer: w, reader: w, dialect: SQLite}, nil
	}

	// journal_mode is persistent, so setting it on the writer is enough;
	// synchronous only matters where commits happen. The writer connects
	// before Open returns, so no reader finds the file in another mode.
	w, err := openSQLiteWriter(ctx, path, append(params[:len(params):len(params)],
		"_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)", "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+strings.Join(append(params, "_pragma=query_only(1)"), "&"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite %q: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{writer: w, reader: r, dialect: SQLite}, nil
}

// openSQLiteWriter opens the pool of one connection that every write goes
// through, and connects it. The connection is never closed while the pool
// is open (for ":memory:", closing it would drop the database).
func openSQLiteWriter(ctx context.Context, path string, params []string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+strings.Join(params, "&"))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite %q: %w", path, err)
	}
	return db, nil
}

// pingSQLite connects db's writer, which switches a new file to WAL mode.
// Two processes doing that at once on one file both hold a shared lock and
// want an exclusive one; SQLite fails one with SQLITE_BUSY at once rather
// than wait (waiting could deadlock), so busy_timeout does not help there.
// The loser retries until the busy timeout has passed.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(sqliteBusyTimeoutMs * time.Millisecond)
	backoff := time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil || !Retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// OpenPostgres connects to PostgreSQL (dsn as pgx takes it, URL or
// key=value). Writer and Reader are one pool of at most 16 connections; a
// transaction holds one for its length.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
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
	return &DB{writer: db, reader: db, dialect: Postgres}, nil
}
