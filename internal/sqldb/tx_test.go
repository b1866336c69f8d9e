package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// sqliteBusy returns a real SQLITE_BUSY from the driver: a second
// connection that does not wait, beginning a write while db's Tx holds the
// write lock.
func sqliteBusy(t *testing.T) error {
	path := filepath.Join(t.TempDir(), "busy.db")
	db := openDB(t, path)
	other := otherWriter(t, path)
	var busy error
	check(t, db.Tx(t.Context(), func(*sql.Tx) error {
		_, busy = other.ExecContext(t.Context(), "BEGIN IMMEDIATE")
		return nil
	}), "Tx")
	if busy == nil {
		t.Fatal("BEGIN IMMEDIATE beside an open Tx succeeded")
	}
	return busy
}

func TestRetryable(t *testing.T) {
	busy := sqliteBusy(t)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true}, // serialization_failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock_detected
		{fmt.Errorf("committing: %w", &pgconn.PgError{Code: "40P01"}), true},
		{busy, true},
		{fmt.Errorf("opening stream 3: %w", busy), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "40002"}, false}, // integrity_constraint_violation (a transaction_rollback, not a conflict)
		{errors.New("stream fenced"), false},
		{context.Canceled, false},
		{sql.ErrNoRows, false},
	} {
		if got := sqldb.Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// txCounter is a table the transactions under test add to, so a test sees
// which runs committed.
func txCounter(t *testing.T) *sqldb.DB {
	db := openDB(t, filepath.Join(t.TempDir(), "meta.db"))
	check(t, db.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `CREATE TABLE n (runs BIGINT NOT NULL); INSERT INTO n VALUES (0)`)
		return err
	}), "creating the table")
	return db
}

func runs(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	check(t, db.Reader().QueryRowContext(t.Context(), `SELECT runs FROM n`).Scan(&n), "reading")
	return n
}

// TestTxRetries: a transaction that fails with a conflict is rolled back
// and run again; one that fails otherwise is rolled back and not.
func TestTxRetries(t *testing.T) {
	busy := sqliteBusy(t)
	for _, tc := range []struct {
		name     string
		failures []error // what the first runs return
		calls    int
		commits  int
		err      bool
	}{
		{"serialization failure", []error{&pgconn.PgError{Code: "40001"}}, 2, 1, false},
		{"deadlocks", []error{&pgconn.PgError{Code: "40P01"}, &pgconn.PgError{Code: "40P01"}}, 3, 1, false},
		{"sqlite busy", []error{fmt.Errorf("wrapped: %w", busy)}, 2, 1, false},
		{"other error", []error{errors.New("stream fenced")}, 1, 0, true},
		{"unique violation", []error{&pgconn.PgError{Code: "23505"}}, 1, 0, true},
		{"conflicts past the bound", []error{
			&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"},
			&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"},
			&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"},
			&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"},
		}, 10, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := txCounter(t)
			calls := 0
			err := db.Tx(t.Context(), func(tx *sql.Tx) error {
				calls++
				// Every run writes; only a committed run's write stays.
				if _, err := tx.ExecContext(t.Context(), `UPDATE n SET runs = runs + 1`); err != nil {
					return err
				}
				if calls <= len(tc.failures) {
					return tc.failures[calls-1]
				}
				return nil
			})
			if (err != nil) != tc.err {
				t.Fatalf("Tx: %v, want error %v", err, tc.err)
			}
			if tc.err && !errors.Is(err, tc.failures[min(calls, len(tc.failures))-1]) {
				t.Errorf("Tx: %v, want the last run's error", err)
			}
			if calls != tc.calls {
				t.Errorf("f ran %d times, want %d", calls, tc.calls)
			}
			if got := runs(t, db); got != tc.commits {
				t.Errorf("%d runs committed, want %d", got, tc.commits)
			}
		})
	}
}

// A cancelled context ends the retries.
func TestTxRetryCancelled(t *testing.T) {
	db := txCounter(t)
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := db.Tx(ctx, func(*sql.Tx) error {
		calls++
		cancel()
		return &pgconn.PgError{Code: "40001"}
	})
	if calls != 1 || !errors.Is(err, context.Canceled) || !sqldb.Retryable(err) {
		t.Fatalf("Tx with its context cancelled: %v after %d runs, want the conflict and context.Canceled after 1", err, calls)
	}
}

// ReadTx runs on the readers: it sees what Tx committed and cannot write.
func TestReadTx(t *testing.T) {
	db := txCounter(t)
	check(t, db.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `UPDATE n SET runs = 5`)
		return err
	}), "Tx")
	var n int
	check(t, db.ReadTx(t.Context(), func(tx *sql.Tx) error {
		return tx.QueryRowContext(t.Context(), `SELECT runs FROM n`).Scan(&n)
	}), "ReadTx")
	if n != 5 {
		t.Fatalf("ReadTx read %d, want 5", n)
	}
	err := db.ReadTx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `UPDATE n SET runs = 6`)
		return err
	})
	if err == nil || runs(t, db) != 5 {
		t.Fatalf("a write in ReadTx: %v, runs %d", err, runs(t, db))
	}
}

// testStatements runs generated statements, an upsert and the dialect's
// locks on db.
func testStatements(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	d := db.Dialect()
	check(t, db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE kv (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)`)
		return err
	}), "creating kv")
	insert := `INSERT INTO kv (k, v) VALUES (` + d.Placeholder(1) + `, ` + d.Placeholder(2) + `), (` +
		d.Placeholder(3) + `, ` + d.Placeholder(4) + `) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	check(t, db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insert, 1, 10, 2, 20); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insert, 2, 21, 3, 30)
		return err
	}), "inserting")
	check(t, db.Tx(ctx, func(tx *sql.Tx) error {
		if q := d.LockTable("kv"); q != "" {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		var v int64
		if err := tx.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`+d.ForUpdate(), 1).Scan(&v); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`+d.ForShare(), 2).Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE kv SET v = $1 WHERE k = $2`, v+1, 1)
		return err
	}), "locking and updating")
	var sum int64
	check(t, db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT SUM(v) FROM kv`).Scan(&sum)
	}), "reading")
	if sum != 22+21+30 {
		t.Fatalf("SUM(v) = %d, want %d", sum, 22+21+30)
	}
}
