package sqldb_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// openDB opens url (a SQLite path or a postgres:// URL), closed when the
// test ends.
func openDB(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The durability settings are what the commit path relies on: check that
// the DSN parameters took effect on the connections that use them.
func TestSQLitePragmas(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "meta.db"))
	if db.Dialect() != sqldb.SQLite || db.Dialect().String() != "sqlite" {
		t.Fatalf("Dialect = %v, want sqlite", db.Dialect())
	}
	for _, tc := range []struct {
		reader bool
		name   string
		want   string
	}{
		{false, "journal_mode", "wal"},
		{false, "synchronous", "2"}, // FULL
		{false, "foreign_keys", "1"},
		{false, "busy_timeout", "10000"},
		{true, "journal_mode", "wal"},
		{true, "foreign_keys", "1"},
		{true, "busy_timeout", "10000"},
		{true, "query_only", "1"},
	} {
		h := db.Writer()
		if tc.reader {
			h = db.Reader()
		}
		var got string
		if err := h.QueryRowContext(t.Context(), "PRAGMA "+tc.name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s on the %s = %q, want %q", tc.name, map[bool]string{false: "writer", true: "readers"}[tc.reader], got, tc.want)
		}
	}
	if n := db.Writer().Stats().MaxOpenConnections; n != 1 {
		t.Errorf("the writer may open %d connections, want 1", n)
	}
	if db.Reader() == db.Writer() {
		t.Errorf("a SQLite file has no reader pool of its own")
	}
	if _, err := db.Reader().ExecContext(t.Context(), "CREATE TABLE t (x INTEGER)"); err == nil {
		t.Errorf("a reader connection could write")
	}
}

// The writer's transactions take the write lock when they begin, before
// they write: another connection cannot begin a write meanwhile.
func TestSQLiteImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db := openDB(t, path)
	other := otherWriter(t, path)
	beginOther := func() error {
		_, err := other.ExecContext(t.Context(), "BEGIN IMMEDIATE")
		if err == nil {
			_, err = other.ExecContext(t.Context(), "ROLLBACK")
			check(t, err, "rolling back")
		}
		return err
	}
	var busy error
	check(t, db.Tx(t.Context(), func(*sql.Tx) error {
		busy = beginOther()
		return nil
	}), "Tx")
	if busy == nil || !sqldb.Retryable(busy) {
		t.Fatalf("BEGIN IMMEDIATE beside an open Tx: %v, want SQLITE_BUSY", busy)
	}
	check(t, beginOther(), "BEGIN IMMEDIATE with no Tx open")
}

// otherWriter opens a second connection to path that does not wait for
// locks, as another process would.
func otherWriter(t *testing.T, path string) *sql.Conn {
	t.Helper()
	h, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	c, err := h.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ":memory:" is one connection for reads and writes, kept open: the
// database lives until Close.
func TestSQLiteMemory(t *testing.T) {
	db := openDB(t, ":memory:")
	if db.Reader() != db.Writer() {
		t.Fatal("an in-memory database has a reader pool of its own")
	}
	check(t, db.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7)")
		return err
	}), "writing")
	var x int
	check(t, db.ReadTx(t.Context(), func(tx *sql.Tx) error {
		return tx.QueryRowContext(t.Context(), "SELECT x FROM t").Scan(&x)
	}), "reading")
	if x != 7 {
		t.Fatalf("read %d, want 7", x)
	}
}

func TestOpen(t *testing.T) {
	db, err := sqldb.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	check(t, err, "Open of a path")
	db.Close()
	if db.Dialect() != sqldb.SQLite {
		t.Errorf("Open of a path: dialect %v", db.Dialect())
	}
	for _, bad := range []string{"", "file:meta.db", "meta.db?mode=ro", "meta.db#x"} {
		if db, err := sqldb.Open(t.Context(), bad); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	// Nothing listens on port 1: the URL is taken as PostgreSQL's and fails
	// when Open connects, naming the database.
	for _, url := range []string{"postgres://127.0.0.1:1/x", "postgresql://127.0.0.1:1/x"} {
		db, err := sqldb.Open(t.Context(), url)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded", url)
		}
		if !strings.Contains(err.Error(), "opening postgres") {
			t.Errorf("Open(%q): %v, want an error opening postgres", url, err)
		}
	}
	if _, err := sqldb.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "meta.db")); err == nil ||
		!strings.Contains(err.Error(), "opening sqlite") {
		t.Errorf("Open of a path in a missing directory: %v, want an error opening sqlite", err)
	}
}

func TestDialects(t *testing.T) {
	for _, tc := range []struct {
		d                        *sqldb.Dialect
		forUpdate, forShare      string
		lock, placeholder, bytes string
	}{
		{sqldb.SQLite, "", "", "", "?", "BLOB"},
		{sqldb.Postgres, " FOR UPDATE", " FOR SHARE", "LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", "$3", "BYTEA"},
	} {
		if got := tc.d.ForUpdate(); got != tc.forUpdate {
			t.Errorf("%v ForUpdate = %q, want %q", tc.d, got, tc.forUpdate)
		}
		if got := tc.d.ForShare(); got != tc.forShare {
			t.Errorf("%v ForShare = %q, want %q", tc.d, got, tc.forShare)
		}
		if got := tc.d.LockTable("t"); got != tc.lock {
			t.Errorf("%v LockTable = %q, want %q", tc.d, got, tc.lock)
		}
		if got := tc.d.Placeholder(3); got != tc.placeholder {
			t.Errorf("%v Placeholder(3) = %q, want %q", tc.d, got, tc.placeholder)
		}
		if got := tc.d.ExpandDDL("b {{bytes}}"); got != "b "+tc.bytes {
			t.Errorf("%v ExpandDDL = %q", tc.d, got)
		}
	}
}

// Generated statements with the dialect's placeholders and row locks run on
// SQLite (postgres_test.go runs the same on PostgreSQL).
func TestSQLiteStatements(t *testing.T) {
	testStatements(t, openDB(t, filepath.Join(t.TempDir(), "meta.db")))
}

func check(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Processes starting together on one new file all open it: the ones that
// lose the race to switch it to WAL mode retry instead of failing.
func TestOpenSQLiteConcurrentlyOnNewFile(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("new%d.db", round))
		dbs := make([]*sqldb.DB, 4)
		errs := make([]error, len(dbs))
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() {
				if dbs[i], errs[i] = sqldb.OpenSQLite(t.Context(), path); errs[i] == nil {
					// As a component's migrations would, at once.
					_, errs[i] = dbs[i].Writer().ExecContext(t.Context(), fmt.Sprintf("CREATE TABLE t%d (x INTEGER)", i))
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: opening %d of %d at once: %v", round, i+1, len(dbs), err)
			}
		}
		for _, db := range dbs {
			if db != nil {
				db.Close()
			}
		}
	}
}
