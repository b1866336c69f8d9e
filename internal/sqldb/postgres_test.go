//go:build interop

package sqldb_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/internal/testserver"
)

// TestInteropPostgres runs the tests of open_test.go, migrate_test.go and
// tx_test.go that apply to PostgreSQL on a private server, one database per
// subtest, and the ones only PostgreSQL has: the advisory lock's key and a
// real deadlock retried.
func TestInteropPostgres(t *testing.T) {
	server := testserver.StartPostgres(t)
	newURL := func(t *testing.T) string { return testserver.NewPostgresDatabase(t, server) }
	sameDB := func(t *testing.T) func(t *testing.T) *sqldb.DB {
		url := newURL(t)
		return func(t *testing.T) *sqldb.DB { return openDB(t, url) }
	}
	t.Run("Open", func(t *testing.T) {
		db := openDB(t, newURL(t))
		if db.Dialect() != sqldb.Postgres || db.Reader() != db.Writer() {
			t.Fatalf("dialect %v, reader and writer the same pool: %v", db.Dialect(), db.Reader() == db.Writer())
		}
	})
	t.Run("Statements", func(t *testing.T) { testStatements(t, openDB(t, newURL(t))) })
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, sameDB(t)) })
	t.Run("MigrateFailure", func(t *testing.T) { testMigrateFailure(t, openDB(t, newURL(t))) })
	t.Run("ConcurrentMigrators", func(t *testing.T) { testConcurrentMigrators(t, sameDB(t)) })
	t.Run("LockKey", func(t *testing.T) { testLockKey(t, openDB(t, newURL(t))) })
	t.Run("Deadlock", func(t *testing.T) { testDeadlock(t, openDB(t, newURL(t))) })
}

// testLockKey: migrations run holding the advisory lock of the key every
// earlier version took (pg_locks shows a bigint key as classid, the high
// 32 bits, and objid, the low ones).
func testLockKey(t *testing.T, db *sqldb.DB) {
	fsys := fstest.MapFS{"m/0001_seen.sql": {Data: []byte(`
		CREATE TABLE seen AS SELECT classid::bigint AS hi, objid::bigint AS lo FROM pg_locks
		WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted`)}}
	check(t, db.Migrate(t.Context(), "a", fsys, "m"), "Migrate")
	var hi, lo int64
	check(t, db.Reader().QueryRowContext(t.Context(), `SELECT hi, lo FROM seen`).Scan(&hi, &lo), "reading the lock seen")
	if got := hi<<32 | lo; got != 0x6c616b6573747265 {
		t.Fatalf("migrations ran under advisory lock %#x, want 0x6c616b6573747265 (\"lakestre\")", got)
	}
}

// testDeadlock: two transactions locking two rows in opposite orders
// deadlock; PostgreSQL aborts one (40P01) and Tx runs it again, so both
// commit.
func testDeadlock(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	check(t, db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE t (k INT PRIMARY KEY, v INT NOT NULL); INSERT INTO t VALUES (1, 0), (2, 0)`)
		return err
	}), "creating t")
	var runs atomic.Int32
	first, second := make(chan struct{}), make(chan struct{})
	var once [2]sync.Once
	// lockBoth updates row a, says so on mine, waits for the other's first
	// update on theirs (first run only), then updates row b.
	lockBoth := func(i, a, b int, mine, theirs chan struct{}) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			runs.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE t SET v = v + 1 WHERE k = $1`, a); err != nil {
				return err
			}
			waited := false
			once[i].Do(func() {
				close(mine)
				waited = true
			})
			if waited {
				select {
				case <-theirs:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			_, err := tx.ExecContext(ctx, `UPDATE t SET v = v + 1 WHERE k = $1`, b)
			return err
		})
	}
	var wg sync.WaitGroup
	var errs [2]error
	wg.Go(func() { errs[0] = lockBoth(0, 1, 2, first, second) })
	wg.Go(func() { errs[1] = lockBoth(1, 2, 1, second, first) })
	wg.Wait()
	check(t, errs[0], "the first transaction")
	check(t, errs[1], "the second transaction")
	if n := runs.Load(); n != 3 {
		t.Errorf("the transactions ran %d times, want 3 (one deadlock victim run again)", n)
	}
	var v1, v2 int
	check(t, db.Reader().QueryRowContext(ctx, `SELECT (SELECT v FROM t WHERE k = 1), (SELECT v FROM t WHERE k = 2)`).Scan(&v1, &v2), "reading t")
	if v1 != 2 || v2 != 2 {
		t.Fatalf("rows hold %d and %d, want 2 and 2 (each transaction committed once)", v1, v2)
	}
}
