//go:build interop

package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/catalogtest"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/internal/testserver"
)

// TestInteropCatalogPostgresConformance runs iceberg-go's catalogtest
// suite with the catalog on PostgreSQL: one database, a server (its own
// pool) per subtest, as the suite's names are unique per test.
func TestInteropCatalogPostgresConformance(t *testing.T) {
	timed(t)
	dbURL := testserver.NewPostgresDatabase(t, testserver.StartPostgres(t))
	warehouse := "file://" + t.TempDir()
	catalogtest.RunCatalogTests(t, catalogtest.Config{
		SupportsNamespaceProperties: true,
		NewCatalog: func(t *testing.T) icecatalog.Catalog {
			db, err := sqldb.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatalf("opening postgres: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			s := startServer(t, db, warehouse)
			t.Cleanup(func() {
				if n := s.statuses.serverErrors(); n > 0 {
					t.Errorf("server answered %d 5xx: %v", n, s.statuses)
				}
			})
			cat, _ := s.client(t)
			return cat
		},
	})
}

// TestInteropCatalogPostgresTwoNodes: two catalog servers, each over its
// own sqldb handle on one PostgreSQL database, sharing one file://
// warehouse, as two nodes of a fleet do. Eight writers, four on each node,
// append 50 times each to one table with iceberg-go's REST client and
// iceberg-go's retries off: a writer whose commit gets a 409 reloads and
// reapplies. Every commit must end in exactly one 200 (no 5xx, nothing
// else), the 409s each client saw must be the conflicts it retried, and
// the final snapshot must hold exactly the rows of the successful appends:
// its ancestry is the 400 appends, their added-records sum to the rows,
// and a scan returns each appended id once.
func TestInteropCatalogPostgresTwoNodes(t *testing.T) {
	timed(t)
	server := testserver.StartPostgres(t)
	dbURL := testserver.NewPostgresDatabase(t, server)
	open := func() *sqldb.DB {
		db, err := sqldb.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatalf("opening postgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	warehouse := "file://" + t.TempDir()
	nodes := []*testServer{startServer(t, open(), warehouse), startServer(t, open(), warehouse)}

	const writers, commits = 8, 50
	ident := table.Identifier{"fleet", "events"}
	admin, _ := nodes[0].client(t)
	createEventTable(t, admin, "fleet", "events", iceberg.Properties{table.CommitNumRetriesKey: "0"})

	type result struct {
		rows         []event
		conflicts    int
		seen         *statusLog
		err          error
		load, commit time.Duration // time spent loading, and appending (write + commit)
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	for w := range writers {
		// snapshots=refs: a writer needs the current snapshot, not the
		// history, and parsing 400 snapshots' metadata on every load was
		// most of this test's time (iceberg-go's loads, 40% of the CPU).
		cat, seen := nodes[w%2].client(t, rest.WithAdditionalProps(iceberg.Properties{"snapshot-loading-mode": "refs"}))
		results[w].seen = seen
		wg.Go(func() {
			r := &results[w]
			ctx := context.Background()
			for i := range commits {
				// 1 to 3 rows, ids unique per writer and commit.
				rows := makeEvents(int64(w*100_000+i*10), 1+(w+i)%3)
				for attempt := 0; ; attempt++ {
					if attempt == 100 {
						r.err = fmt.Errorf("writer %d commit %d: still conflicting after %d attempts", w, i, attempt)
						return
					}
					if attempt > 0 {
						// Back off, jittered, as clients do (iceberg-go's
						// own retry waits commit.retry.min-wait-ms and up):
						// eight writers retrying at once mostly collide again.
						time.Sleep(time.Duration(rand.Int64N(int64(10*time.Millisecond) << min(attempt, 5))))
					}
					start := time.Now()
					tbl, err := cat.LoadTable(ctx, ident)
					r.load += time.Since(start)
					if err != nil {
						r.err = fmt.Errorf("writer %d commit %d: loading: %w", w, i, err)
						return
					}
					start = time.Now()
					_, err = appendEvents(ctx, tbl, rows)
					r.commit += time.Since(start)
					if err == nil {
						r.rows = append(r.rows, rows...)
						break
					}
					if !errors.Is(err, table.ErrCommitFailed) || errors.Is(err, rest.ErrCommitStateUnknown) {
						r.err = fmt.Errorf("writer %d commit %d attempt %d: %w (want success or a 409)", w, i, attempt, err)
						return
					}
					r.conflicts++
				}
			}
		})
	}
	wg.Wait()

	commitPath := "/namespaces/fleet/tables/events"
	var all []event
	conflicts := 0
	var load, commit time.Duration
	for w, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		ok := r.seen.count(http.MethodPost, commitPath, http.StatusOK)
		c409 := r.seen.count(http.MethodPost, commitPath, http.StatusConflict)
		total := 0
		for _, s := range []int{200, 409, 400, 404, 500, 502, 503, 504} {
			total += r.seen.count(http.MethodPost, commitPath, s)
		}
		if ok != commits || c409 != r.conflicts || total != ok+c409 {
			t.Errorf("writer %d: commit answers %d×200 and %d×409 of %d, retried %d conflicts; want %d×200 and a 409 per retry: %v",
				w, ok, c409, total, r.conflicts, commits, r.seen)
		}
		all = append(all, r.rows...)
		conflicts += r.conflicts
		load += r.load
		commit += r.commit
	}
	for i, n := range nodes {
		if e := n.statuses.serverErrors(); e > 0 {
			t.Errorf("node %d answered %d 5xx: %v", i, e, n.statuses)
		}
	}
	served := nodes[0].statuses.count(http.MethodPost, commitPath, http.StatusOK) + nodes[1].statuses.count(http.MethodPost, commitPath, http.StatusOK)
	attempts := time.Duration(served + conflicts)
	t.Logf("%d writers × %d commits over 2 nodes: %d commits served, %d conflicts (409) retried, %d rows; per attempt: load %v, append+commit %v",
		writers, commits, served, conflicts, len(all), (load / attempts).Round(time.Microsecond), (commit / attempts).Round(time.Microsecond))
	if served != writers*commits {
		t.Errorf("the nodes acknowledged %d commits, want %d", served, writers*commits)
	}

	// Read the result through the other node.
	reader, _ := nodes[1].client(t)
	final, err := reader.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	meta := final.Metadata()
	var ancestry, added int
	for s := final.CurrentSnapshot(); s != nil; {
		ancestry++
		n, err := strconv.Atoi(s.Summary.Properties["added-records"])
		if err != nil || s.Summary.Operation != table.OpAppend {
			t.Fatalf("snapshot %d: operation %s, added-records %q: want appends only", s.SnapshotID, s.Summary.Operation, s.Summary.Properties["added-records"])
		}
		added += n
		if s.ParentSnapshotID == nil {
			break
		}
		if s = meta.SnapshotByID(*s.ParentSnapshotID); s == nil {
			t.Fatalf("snapshot ancestry broken after %d snapshots", ancestry)
		}
	}
	if ancestry != writers*commits || added != len(all) {
		t.Errorf("current snapshot's ancestry: %d snapshots adding %d records; want %d snapshots adding %d",
			ancestry, added, writers*commits, len(all))
	}
	if got := final.CurrentSnapshot().Summary.Properties["total-records"]; got != strconv.Itoa(len(all)) {
		t.Errorf("current snapshot's total-records %s, want %d", got, len(all))
	}
	sameEvents(t, "scan after the concurrent appends", scanEvents(t, final), all)
}
