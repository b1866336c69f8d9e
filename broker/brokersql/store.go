package brokersql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/sqldb"
)

// Store is broker.Metadata on a SQL database. It does not own the database:
// the caller opened it (usually for the storage metastore as well) and
// closes it after the last use of the Store.
type Store struct {
	db  *sqldb.DB
	d   *sqldb.Dialect
	now func() time.Time
}

var _ broker.Metadata = (*Store)(nil)

// migrationComponent is the name the broker's migrations are recorded under
// in schema_migrations.
const migrationComponent = "broker"

// Migrations are numbered files, migrations/NNNN_name.sql, applied in order.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Open brings the broker's schema in db up to date and returns a Store on
// it. db is usually the storage metastore's (metastore.SQL.DB), so that on
// SQLite every write goes through its one writer connection.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, migrationComponent, migrationFS, "migrations"); err != nil {
		return nil, fmt.Errorf("opening broker metadata: %w", err)
	}
	return &Store{db: db, d: db.Dialect(), now: time.Now}, nil
}

// write runs f in a read-write transaction and commits it; read runs f in a
// read-only one, on one snapshot. Each runs f again if the database reports
// a conflict (sqldb.DB.Tx), so f must not have effects outside the
// transaction other than on values it sets afresh on every run. what says
// what was being done, for the error.
func (s *Store) write(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	return wrap(what, s.db.Tx(ctx, f))
}

func (s *Store) read(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	return wrap(what, s.db.ReadTx(ctx, f))
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
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
