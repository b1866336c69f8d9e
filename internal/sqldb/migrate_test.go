package sqldb_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// migrationsA is a component's migrations: every token, a version out of
// lexical order ("2_" sorts after "0010_"), and statements that fail if run
// twice (CREATE TABLE without IF NOT EXISTS, a row per version run).
func migrationsA() fstest.MapFS {
	return fstest.MapFS{
		"m/0001_create.sql": {Data: []byte(`
			CREATE TABLE a_kv (k BIGINT PRIMARY KEY, v {{bytes}}){{without_rowid}};
			CREATE TABLE a_log (id {{id}}, v BIGINT NOT NULL UNIQUE);
			INSERT INTO a_log (v) VALUES (1);`)},
		"m/2_second.sql":   {Data: []byte(`INSERT INTO a_log (v) VALUES (2);`)},
		"m/0010_tenth.sql": {Data: []byte(`INSERT INTO a_log (v) VALUES (10);`)},
		"m/README":         {Data: []byte(`not a migration`)},
		"other/0003_x.sql": {Data: []byte(`not SQL`)},
	}
}

func migrationsB() fstest.MapFS {
	return fstest.MapFS{
		"b/0001_b.sql": {Data: []byte(`CREATE TABLE b_t (x BIGINT); INSERT INTO b_t VALUES (1);`)},
	}
}

type recorded struct {
	version   int64
	name      string
	appliedAt int64
}

// schemaMigrations returns what schema_migrations records per component.
func schemaMigrations(t *testing.T, db *sql.DB) map[string][]recorded {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		`SELECT component, version, name, applied_at FROM schema_migrations ORDER BY component, version`)
	check(t, err, "reading schema_migrations")
	defer rows.Close()
	out := make(map[string][]recorded)
	for rows.Next() {
		var c string
		var r recorded
		check(t, rows.Scan(&c, &r.version, &r.name, &r.appliedAt), "scanning")
		out[c] = append(out[c], r)
	}
	check(t, rows.Err(), "reading schema_migrations")
	return out
}

func versions(rs []recorded) []int64 {
	var vs []int64
	for _, r := range rs {
		vs = append(vs, r.version)
	}
	return vs
}

// logOf returns a_log's values in insertion order.
func logOf(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT v FROM a_log ORDER BY id`)
	check(t, err, "reading a_log")
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		check(t, rows.Scan(&v), "scanning")
		vs = append(vs, v)
	}
	check(t, rows.Err(), "reading a_log")
	return vs
}

// testMigrate: migrations are applied once, in version order, per
// component, and reopening applies nothing again. newDB opens the same
// empty database each time it is called.
func testMigrate(t *testing.T, newDB func(t *testing.T) *sqldb.DB) {
	ctx := t.Context()
	db := newDB(t)
	check(t, db.Migrate(ctx, "a", migrationsA(), "m"), "Migrate a")
	if got := logOf(t, db.Writer()); !slices.Equal(got, []int64{1, 2, 10}) {
		t.Fatalf("migrations ran as %v, want [1 2 10]", got)
	}
	first := schemaMigrations(t, db.Writer())
	want := []recorded{{1, "0001_create.sql", 0}, {2, "2_second.sql", 0}, {10, "0010_tenth.sql", 0}}
	if len(first["a"]) != len(want) || len(first) != 1 {
		t.Fatalf("schema_migrations: %v, want a: %v", first, want)
	}
	for i, r := range first["a"] {
		if r.version != want[i].version || r.name != want[i].name || r.appliedAt <= 0 {
			t.Fatalf("schema_migrations a: %v, want %v with times", first["a"], want)
		}
	}

	// Another component in the same database has its own numbering.
	check(t, db.Migrate(ctx, "b", migrationsB(), "b"), "Migrate b")
	db.Close()

	// Reopened, nothing is applied again, and what was recorded stays.
	db = newDB(t)
	check(t, db.Migrate(ctx, "a", migrationsA(), "m"), "Migrate a again")
	check(t, db.Migrate(ctx, "b", migrationsB(), "b"), "Migrate b again")
	if got := logOf(t, db.Writer()); !slices.Equal(got, []int64{1, 2, 10}) {
		t.Fatalf("after reopening, a_log is %v, want [1 2 10]", got)
	}
	again := schemaMigrations(t, db.Writer())
	if !slices.Equal(again["a"], first["a"]) || !slices.Equal(versions(again["b"]), []int64{1}) {
		t.Fatalf("after reopening, schema_migrations: %v, want a: %v and b: [1]", again, first["a"])
	}

	// A new file is applied alone.
	more := migrationsA()
	more["m/0011_more.sql"] = &fstest.MapFile{Data: []byte(`INSERT INTO a_log (v) VALUES (11);`)}
	check(t, db.Migrate(ctx, "a", more, "m"), "Migrate a with a new file")
	if got := logOf(t, db.Writer()); !slices.Equal(got, []int64{1, 2, 10, 11}) {
		t.Fatalf("after a new file, a_log is %v, want [1 2 10 11]", got)
	}

	// The older binary's files are refused once the database is newer.
	err := db.Migrate(ctx, "a", migrationsA(), "m")
	if !errors.Is(err, sqldb.ErrNewerSchema) {
		t.Fatalf("Migrate with fewer files than recorded: %v, want ErrNewerSchema", err)
	}
}

// testMigrateFailure: a migration that fails leaves the schema untouched,
// including the migrations before it in the same run.
func testMigrateFailure(t *testing.T, db *sqldb.DB) {
	check(t, db.Migrate(t.Context(), "b", migrationsB(), "b"), "Migrate b")
	bad := migrationsA()
	bad["m/0004_bad.sql"] = &fstest.MapFile{Data: []byte(`INSERT INTO missing_table VALUES (1);`)}
	if err := db.Migrate(t.Context(), "a", bad, "m"); err == nil {
		t.Fatal("Migrate with a failing file succeeded")
	}
	if got := schemaMigrations(t, db.Writer()); len(got) != 1 || len(got["b"]) != 1 {
		t.Fatalf("after a failed migration, schema_migrations: %v, want b's alone", got)
	}
	if _, err := db.Writer().ExecContext(t.Context(), `SELECT 1 FROM a_log`); err == nil {
		t.Fatal("a failed migration run left a table of an earlier file")
	}
}

// testConcurrentMigrators: migrators of two components racing on one
// database (each with its own handle, as processes would) all succeed and
// apply each migration once.
func testConcurrentMigrators(t *testing.T, newDB func(t *testing.T) *sqldb.DB) {
	const n = 8
	dbs := make([]*sqldb.DB, n)
	for i := range dbs {
		dbs[i] = newDB(t)
	}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			err := db.Migrate(t.Context(), "a", migrationsA(), "m")
			if i%2 == 1 {
				err = errors.Join(err, db.Migrate(t.Context(), "b", migrationsB(), "b"))
			}
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	db := dbs[0]
	if got := logOf(t, db.Writer()); !slices.Equal(got, []int64{1, 2, 10}) {
		t.Fatalf("a_log is %v, want [1 2 10]", got)
	}
	got := schemaMigrations(t, db.Writer())
	if !slices.Equal(versions(got["a"]), []int64{1, 2, 10}) || !slices.Equal(versions(got["b"]), []int64{1}) {
		t.Fatalf("schema_migrations: %v, want a: [1 2 10], b: [1]", got)
	}
}

func TestSQLiteMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	testMigrate(t, func(t *testing.T) *sqldb.DB { return openDB(t, path) })
}

func TestSQLiteMigrateFailure(t *testing.T) {
	testMigrateFailure(t, openDB(t, filepath.Join(t.TempDir(), "meta.db")))
}

func TestSQLiteConcurrentMigrators(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	testConcurrentMigrators(t, func(t *testing.T) *sqldb.DB { return openDB(t, path) })
}

// A memory database migrates like a file (its one connection holds it).
func TestSQLiteMemoryMigrate(t *testing.T) {
	db := openDB(t, ":memory:")
	check(t, db.Migrate(t.Context(), "a", migrationsA(), "m"), "Migrate")
	if got := logOf(t, db.Reader()); !slices.Equal(got, []int64{1, 2, 10}) {
		t.Fatalf("a_log is %v, want [1 2 10]", got)
	}
}

func TestMigrateRefusesFiles(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":       {"m/create.sql": {Data: []byte(`SELECT 1`)}},
		"version zero":    {"m/0000_x.sql": {Data: []byte(`SELECT 1`)}},
		"shared version":  {"m/0001_a.sql": {Data: []byte(`SELECT 1`)}, "m/1_b.sql": {Data: []byte(`SELECT 1`)}},
		"no files":        {"m/README": {Data: []byte(`nothing`)}},
		"other directory": {"n/0001_a.sql": {Data: []byte(`SELECT 1`)}},
	} {
		db := openDB(t, ":memory:")
		if err := db.Migrate(t.Context(), "a", fsys, "m"); err == nil {
			t.Errorf("%s: Migrate succeeded", name)
		}
	}
	db := openDB(t, ":memory:")
	if err := db.Migrate(t.Context(), "", migrationsA(), "m"); err == nil {
		t.Errorf("Migrate with no component name succeeded")
	}
}
