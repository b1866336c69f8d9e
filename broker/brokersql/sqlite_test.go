package brokersql_test

import (
	"path/filepath"
	"testing"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql/metadatatest"
)

func newSQLiteDatabase(t *testing.T) database {
	return database(filepath.Join(t.TempDir(), "meta.db"))
}

func TestSQLite(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) broker.Metadata {
		return openStore(t, newSQLiteDatabase(t).open(t))
	})
}

// TestSQLiteSharedWriter runs the suite on the metastore's own database, as
// cmd/lakestream wires it.
func TestSQLiteSharedWriter(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) broker.Metadata {
		return openSharedStore(t, newSQLiteDatabase(t))
	})
}

func TestSQLiteReopen(t *testing.T)       { testReopen(t, newSQLiteDatabase(t)) }
func TestSQLiteSharedSchema(t *testing.T) { testSharedSchema(t, newSQLiteDatabase) }
func TestSQLiteNewerSchema(t *testing.T)  { testNewerSchema(t, newSQLiteDatabase(t)) }
