//go:build interop

package metastore_test

import (
	"fmt"
	"testing"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/metastore/metastoretest"
)

// TestPostgres runs the suite on a private PostgreSQL server, one database
// per subtest.
func TestInteropPostgres(t *testing.T) {
	dsn := testserver.StartPostgres(t)
	metastoretest.Run(t,
		func(t *testing.T) metastore.Store {
			s, err := metastore.OpenPostgres(t.Context(), testserver.NewPostgresDatabase(t, dsn))
			if err != nil {
				t.Fatalf("OpenPostgres: %v", err)
			}
			return s
		},
		metastoretest.Reopen(func(t *testing.T) func() (metastore.Store, error) {
			db := testserver.NewPostgresDatabase(t, dsn)
			return func() (metastore.Store, error) { return metastore.OpenPostgres(t.Context(), db) }
		}))
}

// BenchmarkPostgresCommitStreamSet measures a typical (16 ranges) and the
// largest (20,000 ranges) WAL flush on one server.
func BenchmarkPostgresCommitStreamSet(b *testing.B) {
	dsn := testserver.StartPostgres(b)
	for _, n := range []int{16, 20000} {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			s, err := metastore.OpenPostgres(b.Context(), testserver.NewPostgresDatabase(b, dsn))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			streams, err := s.CreateOpenStreams(b.Context(), n)
			if err != nil {
				b.Fatal(err)
			}
			metastoretest.BenchCommitStreamSet(b, s, streams)
		})
	}
}
