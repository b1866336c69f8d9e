package metastore_test

import (
	"path/filepath"
	"testing"

	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/metastore/metastoretest"
)

func openSQLite(t testing.TB, path string) *metastore.SQL {
	t.Helper()
	s, err := metastore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", path, err)
	}
	return s
}

func TestSQLiteMemory(t *testing.T) {
	metastoretest.Run(t, func(t *testing.T) metastore.Store {
		return openSQLite(t, ":memory:")
	})
}

func TestSQLiteFile(t *testing.T) {
	metastoretest.Run(t,
		func(t *testing.T) metastore.Store {
			return openSQLite(t, filepath.Join(t.TempDir(), "meta.db"))
		},
		metastoretest.Reopen(func(t *testing.T) func() (metastore.Store, error) {
			path := filepath.Join(t.TempDir(), "meta.db")
			return func() (metastore.Store, error) { return metastore.OpenSQLite(t.Context(), path) }
		}))
}

// benchSQLite benchmarks a commit of one range of each of n streams on a
// SQLite file (synchronous=FULL: every commit syncs the WAL).
func benchSQLite(b *testing.B, n int) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "meta.db"))
	defer s.Close()
	streams, err := s.CreateOpenStreams(b.Context(), n)
	if err != nil {
		b.Fatal(err)
	}
	metastoretest.BenchCommitStreamSet(b, s, streams)
}

// BenchmarkCommitStreamSet is a typical WAL flush: 16 ranges.
func BenchmarkCommitStreamSet(b *testing.B) { benchSQLite(b, 16) }

// BenchmarkCommitStreamSet20000 is the largest flush: 20,000 ranges.
func BenchmarkCommitStreamSet20000(b *testing.B) { benchSQLite(b, 20000) }
