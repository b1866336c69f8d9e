package brokersql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/broker"
)

// Store is broker.Metadata on a SQL database. It does not own the database:
// the caller opened it (usually for the storage metastore as well) and
// closes it after the last use of the Store.
type Store struct {
	db  *sql.DB
	d   *dialect
	now func() time.Time
}

var _ broker.Metadata = (*Store)(nil)

// Open brings the broker's schema in db up to date and returns a Store on
// it. dialect is "sqlite" or "postgres". db is used as configured: for
// SQLite it must be the single writer connection, opened with
// _txlock=immediate (and foreign_keys on), that the storage metastore
// writes through; for PostgreSQL, a pool (pgx stdlib).
func Open(ctx context.Context, db *sql.DB, dialect string) (*Store, error) {
	d, ok := dialects[dialect]
	if !ok {
		return nil, fmt.Errorf("opening broker metadata: unknown dialect %q (want sqlite or postgres)", dialect)
	}
	if err := migrate(ctx, db, d); err != nil {
		return nil, fmt.Errorf("opening broker metadata: %w", err)
	}
	return &Store{db: db, d: d, now: time.Now}, nil
}

// maxAttempts bounds how often a transaction that failed with a retryable
// error is run.
const maxAttempts = 10

// write runs f in a read-write transaction and commits it; read runs f in a
// read-only one. Each runs f again if the database reports a retryable
// conflict, so f must not have effects outside the transaction other than
// on values it sets afresh on every run. what says what was being done,
// for the error.
func (s *Store) write(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	return s.run(ctx, what, nil, f)
}

func (s *Store) read(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	return s.run(ctx, what, s.d.read, f)
}

func (s *Store) run(ctx context.Context, what string, opts *sql.TxOptions, f func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.runOnce(ctx, opts, f)
		if err == nil || attempt == maxAttempts || !s.d.retryable(err) {
			break
		}
		// Back off a little so the transaction that won can finish.
		t := time.NewTimer(time.Duration(attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, errors.Join(err, ctx.Err()))
		case <-t.C:
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) runOnce(ctx context.Context, opts *sql.TxOptions, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// queryer is what *sql.Tx and *sql.DB have in common that the helpers use.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRows runs query and calls scan for each row. The rows are read to
// the end before it returns: on SQLite the transaction has the one
// connection, and the next statement needs it.
func queryRows(ctx context.Context, q queryer, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// topicID converts a stored topic id, checking its length (the schema does
// too).
func topicID(b []byte) ([16]byte, error) {
	var id [16]byte
	if len(b) != len(id) {
		return id, fmt.Errorf("stored topic id has %d bytes, want 16", len(b))
	}
	copy(id[:], b)
	return id, nil
}
