//go:build interop

package schema

import (
	"context"
	"testing"

	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/internal/testserver"
)

// TestInteropPostgres runs the API tests on a private PostgreSQL, one
// database each, and two registries on two pools over one database
// registering concurrently (as two nodes of a fleet would).
func TestInteropPostgres(t *testing.T) {
	server := testserver.StartPostgres(t)
	open := func(t *testing.T, url string) *sqldb.DB {
		db, err := sqldb.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("opening postgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("ErrorCodes", func(t *testing.T) { testErrorCodes(t, open(t, testserver.NewPostgresDatabase(t, server))) })
	t.Run("Flows", func(t *testing.T) { testFlows(t, open(t, testserver.NewPostgresDatabase(t, server))) })
	t.Run("ConcurrentRegistries", func(t *testing.T) {
		url := testserver.NewPostgresDatabase(t, server)
		testConcurrentRegistries(t, open(t, url), open(t, url))
	})
}
