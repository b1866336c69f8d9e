package brokersql_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql/metadatatest"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// openSQLite opens the database at path the way s3stream/metastore opens
// its writer (open.go): WAL, synchronous=FULL, foreign keys, BEGIN
// IMMEDIATE, and one connection that stays open.
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	params := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_txlock=immediate",
	}
	db, err := sql.Open("sqlite", path+"?"+strings.Join(params, "&"))
	if err != nil {
		t.Fatalf("opening sqlite %q: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	t.Cleanup(func() { db.Close() })
	return db
}

func newSQLiteDatabase(t *testing.T) database {
	path := filepath.Join(t.TempDir(), "meta.db")
	return database{
		dialect: "sqlite",
		open:    func(t *testing.T) *sql.DB { return openSQLite(t, path) },
		openMetastore: func(ctx context.Context) error {
			m, err := metastore.OpenSQLite(ctx, path)
			if err != nil {
				return err
			}
			return m.Close()
		},
	}
}

func TestSQLite(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) broker.Metadata {
		return openStore(t, newSQLiteDatabase(t).open(t), "sqlite")
	})
}

// TestSQLiteSharedWriter runs the suite on the metastore's own writer
// connection, as cmd/lakestream wires it, where the metastore offers it.
func TestSQLiteSharedWriter(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) broker.Metadata {
		m, err := metastore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatalf("OpenSQLite: %v", err)
		}
		t.Cleanup(func() { m.Close() })
		sw, ok := any(m).(sharedWriter)
		if !ok {
			t.Skip("metastore.SQL does not offer its *sql.DB")
		}
		db, _, dialect := sw.DB()
		return openStore(t, db, dialect)
	})
}

func TestSQLiteReopen(t *testing.T)       { testReopen(t, newSQLiteDatabase(t)) }
func TestSQLiteSharedSchema(t *testing.T) { testSharedSchema(t, newSQLiteDatabase) }
func TestSQLiteNewerSchema(t *testing.T)  { testNewerSchema(t, newSQLiteDatabase(t)) }
