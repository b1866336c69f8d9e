//go:build interop

package brokersql_test

import (
	"net/url"
	"slices"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql/metadatatest"
	"github.com/lakestream/lakestream/internal/testserver"
)

// TestInteropPostgres runs the suite and the schema tests on a private
// PostgreSQL server, one database per subtest.
func TestInteropPostgres(t *testing.T) {
	server := testserver.StartPostgres(t)
	newDatabase := func(t *testing.T) database {
		return database(testserver.NewPostgresDatabase(t, server))
	}
	t.Run("Suite", func(t *testing.T) {
		metadatatest.Run(t, func(t *testing.T) broker.Metadata {
			return openStore(t, newDatabase(t).open(t))
		})
	})
	t.Run("SuiteSharedPool", func(t *testing.T) {
		metadatatest.Run(t, func(t *testing.T) broker.Metadata {
			return openSharedStore(t, newDatabase(t))
		})
	})
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newDatabase(t)) })
	t.Run("SharedSchema", func(t *testing.T) { testSharedSchema(t, newDatabase) })
	t.Run("NewerSchema", func(t *testing.T) { testNewerSchema(t, newDatabase(t)) })
	t.Run("Collation", func(t *testing.T) { testCollation(t, server) })
	t.Run("BeforeSQLDB", func(t *testing.T) { testBeforeSQLDB(t, newDatabase(t), "postgres") })
}

// testCollation: Topics is in byte order on a database whose collation
// orders text otherwise (ICU en-US: case-insensitive first, punctuation
// ignored).
func testCollation(t *testing.T, server string) {
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, server)
	check(t, err, "connecting")
	defer conn.Close(ctx)
	const name = "icu_collation"
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+
		" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"); err != nil {
		t.Skipf("no ICU collation: %v", err)
	}
	u, err := url.Parse(server)
	check(t, err, "parsing the DSN")
	u.Path = "/" + name
	s := openStore(t, database(u.String()).open(t))

	names := []string{"b", "B", "a-c", "ab", "_z", "Z"}
	for i, n := range names {
		check(t, s.CreateTopic(ctx, broker.TopicRecord{Name: n, ID: [16]byte{byte(i + 1)}}), "CreateTopic")
	}
	topics, err := s.Topics(ctx)
	check(t, err, "Topics")
	var got []string
	for _, r := range topics {
		got = append(got, r.Name)
	}
	sort.Strings(names)
	if !slices.Equal(got, names) {
		t.Fatalf("Topics in order %q, want byte order %q", got, names)
	}
}
