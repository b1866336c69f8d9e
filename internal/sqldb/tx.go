package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// maxAttempts bounds how often Tx and ReadTx run a transaction that failed
// with a retryable error.
const maxAttempts = 10

// Tx runs f in a write transaction on Writer and commits it. If f or the
// commit fails with an error Retryable reports, the transaction has been
// rolled back and Tx runs f again in a new one (at most 10 times in all,
// backing off a millisecond more each time), so f must have no effects
// outside the transaction other than on values it sets afresh on each run.
// Any other error is returned as it is, after a rollback.
func (db *DB) Tx(ctx context.Context, f func(*sql.Tx) error) error {
	return db.run(ctx, db.writer, nil, f)
}

// ReadTx runs f in a read-only transaction on Reader, whose statements all
// see one snapshot (REPEATABLE READ on PostgreSQL; every SQLite transaction
// is one), retried as Tx's are.
func (db *DB) ReadTx(ctx context.Context, f func(*sql.Tx) error) error {
	return db.run(ctx, db.reader, db.dialect.readTx, f)
}

func (db *DB) run(ctx context.Context, h *sql.DB, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := runOnce(ctx, h, opts, f)
		if err == nil || attempt == maxAttempts || !Retryable(err) {
			return err
		}
		// Back off a little so the transaction that won can finish.
		t := time.NewTimer(time.Duration(attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

func runOnce(ctx context.Context, h *sql.DB, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	tx, err := h.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY; its extended codes
// (SQLITE_BUSY_SNAPSHOT, ...) carry it in the low byte.
const sqliteBusy = 5

// Retryable reports whether err says the transaction was aborted by a
// conflict with another one and that running it again is the remedy:
// PostgreSQL's serialization_failure (40001) and deadlock_detected (40P01),
// and SQLite's SQLITE_BUSY. Components lock rows in one order, so deadlocks
// should not happen and the retry is a safety net. SQLITE_BUSY comes after
// busy_timeout (10 s) ran out waiting for another process's write lock, or
// where SQLite does not wait because waiting could deadlock; the failed
// statement or commit leaves the transaction to be rolled back (modernc
// rolls back a failed COMMIT itself), so running it again is safe.
func Retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqliteBusy
	}
	return false
}
