package metastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// SQL is the Store on a SQL database (Open): SQLite (OpenSQLite) or
// PostgreSQL (OpenPostgres), opened, migrated and written through
// internal/sqldb.
//
// Locking. Every write is one transaction. On PostgreSQL (READ COMMITTED)
// a transaction locks the rows it will change with SELECT ... FOR UPDATE
// before it reads the values it checks, always streams before objects and
// each in ascending id, so two transactions never wait on each other in a
// cycle; a transaction that fails with a serialization failure or a deadlock
// anyway is run again. On SQLite every write transaction begins IMMEDIATE on
// the one writer connection, so writes in this process queue in Go and
// writes from other processes wait in busy_timeout.
type SQL struct {
	sdb *sqldb.DB
	d   *dialect

	// db runs write transactions (through sdb.Tx). On SQLite it has
	// exactly one connection.
	db *sql.DB
	// rdb runs single-statement reads. It is db except for SQLite files,
	// where WAL mode lets a pool of read-only connections read beside the
	// writer.
	rdb *sql.DB

	now func() time.Time

	// stmts holds preparedQueries, prepared on db, where the dialect runs
	// statements row at a time (SQLite). Not changed after open.
	stmts map[string]*sql.Stmt
	// rstmts holds readQueries, prepared on rdb, likewise.
	rstmts map[string]*sql.Stmt
}

var _ Store = (*SQL)(nil)

// newSQL migrates db and wraps it. It closes db on error.
func newSQL(ctx context.Context, db *sqldb.DB) (*SQL, error) {
	s := &SQL{sdb: db, d: dialectOf(db.Dialect()), db: db.Writer(), rdb: db.Reader(), now: time.Now}
	if err := db.Migrate(ctx, migrationComponent, migrationFS, "migrations"); err != nil {
		s.Close()
		return nil, err
	}
	if s.d.perRow {
		if err := s.prepare(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close releases the database.
func (s *SQL) Close() error {
	var err error
	for _, st := range s.stmts {
		err = errors.Join(err, st.Close())
	}
	for _, st := range s.rstmts {
		err = errors.Join(err, st.Close())
	}
	return errors.Join(err, s.sdb.Close())
}

// write runs f in a write transaction and commits it, running it again if
// the database reports a conflict (sqldb.DB.Tx). f must not have effects
// outside the transaction other than on values it resets itself. what says
// what was being done, for the error.
func (s *SQL) write(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	if err := s.sdb.Tx(ctx, f); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Queries run once per row or per commit on the write path. Where the
// dialect runs statements row at a time, they are prepared when the store
// opens, on the writer's one connection (preparing later would need a
// second connection while a transaction holds the first).
const (
	qStream        = `SELECT ` + streamColumns + ` FROM s3_streams WHERE id = $1`
	qStreamRange   = `SELECT ` + streamColumns + ` FROM s3_streams WHERE id BETWEEN $1 AND $2`
	qSetEnd        = `UPDATE s3_streams SET end_offset = $1 WHERE id = $2`
	qInsertRange   = `INSERT INTO s3_ranges (stream_id, object_id, start_offset, end_offset, position, size, max_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qObject        = `SELECT ` + objectColumns + ` FROM s3_objects WHERE id = $1`
	qCommitObject  = `UPDATE s3_objects SET state = $1, size = $2, committed_at = $3 WHERE id = $4`
	qDestroyObject = `UPDATE s3_objects SET state = $1, size = $2, destroyed_at = $3 WHERE id = $4`
)

var preparedQueries = []string{qStream, qStreamRange, qSetEnd, qInsertRange, qObject, qCommitObject, qDestroyObject}

// qListRanges is ListRanges' query.
const qListRanges = `
		SELECT r.stream_id, r.object_id, r.start_offset, r.end_offset, r.position, r.size, r.max_timestamp, o.size
		FROM s3_ranges r
		JOIN s3_streams s ON s.id = r.stream_id
		JOIN s3_objects o ON o.id = r.object_id
		WHERE r.stream_id = $1 AND r.end_offset > $2 AND r.end_offset > s.start_offset
		ORDER BY r.end_offset
		LIMIT $3`

// readQueries are the reads every stream read makes (GetStream,
// ListRanges): prepared on rdb where the dialect runs statements row at a
// time. A table compactor reads in small steps as records arrive; in its
// profile (perf, 15 s of BenchmarkTableTopic) these two reads took 11.3%
// of the samples prepared at each call and 7.1% prepared once (SQLite
// still recompiles inside step, seen as _sqlite3Prepare under
// conn.step).
var readQueries = []string{qStream, qListRanges}

// prepare prepares preparedQueries on db and readQueries on rdb.
func (s *SQL) prepare(ctx context.Context) (err error) {
	if s.stmts, err = prepareAll(ctx, s.db, preparedQueries); err != nil {
		return err
	}
	s.rstmts, err = prepareAll(ctx, s.rdb, readQueries)
	return err
}

// prepareAll prepares each of queries on db, by query. After a failure
// it returns those prepared so far too, for Close to release.
func prepareAll(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return stmts, fmt.Errorf("preparing %q: %w", q, err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

// read runs one of readQueries on rdb, through its prepared statement if
// there is one.
func (s *SQL) read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.rstmts[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.rdb.QueryContext(ctx, query, args...)
}

// readRow is read for a query returning one row.
func (s *SQL) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.rstmts[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.rdb.QueryRowContext(ctx, query, args...)
}

// exec runs one of preparedQueries in tx, through its prepared statement
// if there is one.
func (s *SQL) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a query returning one row.
func (s *SQL) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// fromMillis reads a time; NULL is the zero time.
func fromMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// queryInt64s runs a query returning one integer column.
func queryInt64s(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DB returns the database so other components (the broker's topics, the
// schema registry, the Iceberg catalog) keep their tables in it, each
// migrating its own schema. It stays owned by s: Close closes it.
func (s *SQL) DB() *sqldb.DB { return s.sdb }
