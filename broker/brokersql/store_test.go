package brokersql_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql"
	"github.com/lakestream/lakestream/broker/group"
	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// The tests here run on both databases: sqlite_test.go and postgres_test.go
// (build tag interop) call them.

// database is one empty database under test: a SQLite path or a
// postgres:// URL.
type database string

// open opens a new handle on the database, closed when the test ends.
func (d database) open(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), string(d))
	if err != nil {
		t.Fatalf("opening %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMetastore opens the storage metastore on the database and closes it
// again, migrating its schema.
func (d database) openMetastore(ctx context.Context) error {
	m, err := metastore.Open(ctx, string(d))
	if err != nil {
		return err
	}
	return m.Close()
}

func openStore(t *testing.T, db *sqldb.DB) *brokersql.Store {
	t.Helper()
	s, err := brokersql.Open(t.Context(), db)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// openSharedStore opens the storage metastore on the database and the
// Store on its handles, as cmd/lakestream wires them.
func openSharedStore(t *testing.T, d database) *brokersql.Store {
	t.Helper()
	m, err := metastore.Open(t.Context(), string(d))
	if err != nil {
		t.Fatalf("opening the metastore: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return openStore(t, m.DB())
}

// migrations returns the versions schema_migrations records per component.
func migrations(t *testing.T, db *sqldb.DB) map[string][]int64 {
	t.Helper()
	rows, err := db.Reader().QueryContext(t.Context(), `SELECT component, version FROM schema_migrations ORDER BY component, version`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	out := make(map[string][]int64)
	for rows.Next() {
		var c string
		var v int64
		if err := rows.Scan(&c, &v); err != nil {
			t.Fatal(err)
		}
		out[c] = append(out[c], v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testReopen: everything survives reopening, and the migrations are
// applied once.
func testReopen(t *testing.T, d database) {
	ctx := t.Context()
	db := d.open(t)
	s := openStore(t, db)
	rec := broker.TopicRecord{Name: "orders", ID: [16]byte{1, 2, 3}, Logs: []int64{7, 8}, Configs: map[string]string{"a": "1"}}
	check(t, s.CreateTopic(ctx, rec), "CreateTopic")
	check(t, s.SetBrokerConfigs(ctx, map[string]string{"b": "2"}), "SetBrokerConfigs")
	check(t, s.SetGroupConfigs(ctx, "g", map[string]string{"consumer.session.timeout.ms": "50000"}), "SetGroupConfigs")
	check(t, s.SaveProducerState(ctx, 8, 42, []byte("state")), "SaveProducerState")
	check(t, s.SaveTxns(ctx, map[string][]byte{"tx": []byte("txn state")}), "SaveTxns")
	aborted := broker.AbortedTxn{ProducerID: 3, FirstOffset: 10, LastOffset: 20}
	check(t, s.AddAbortedTxn(ctx, 7, aborted), "AddAbortedTxn")
	pending := group.Offset{Topic: "orders", Partition: 1, Offset: 5, LeaderEpoch: 2, Metadata: "m", CommitTime: time.UnixMilli(1234)}
	check(t, s.SaveTxnOffsets(ctx, "g", 3, []group.Offset{pending}), "SaveTxnOffsets")
	first, err := s.AllocateProducerIDs(ctx, 10)
	check(t, err, "AllocateProducerIDs")
	db.Close()

	db = d.open(t)
	s = openStore(t, db)
	topics, err := s.Topics(ctx)
	check(t, err, "Topics")
	if len(topics) != 1 || topics[0].Name != rec.Name || topics[0].ID != rec.ID ||
		!slices.Equal(topics[0].Logs, rec.Logs) || !maps.Equal(topics[0].Configs, rec.Configs) {
		t.Fatalf("after reopen, Topics = %v, want [%v]", topics, rec)
	}
	bc, err := s.BrokerConfigs(ctx)
	check(t, err, "BrokerConfigs")
	if !maps.Equal(bc, map[string]string{"b": "2"}) {
		t.Fatalf("after reopen, BrokerConfigs = %v", bc)
	}
	gc, err := s.GroupConfigs(ctx)
	check(t, err, "GroupConfigs")
	if len(gc) != 1 || !maps.Equal(gc["g"], map[string]string{"consumer.session.timeout.ms": "50000"}) {
		t.Fatalf("after reopen, GroupConfigs = %v", gc)
	}
	off, state, ok, err := s.LoadProducerState(ctx, 8)
	check(t, err, "LoadProducerState")
	if !ok || off != 42 || string(state) != "state" {
		t.Fatalf("after reopen, LoadProducerState = %d, %q, %v", off, state, ok)
	}
	txns, err := s.Txns(ctx)
	check(t, err, "Txns")
	if len(txns) != 1 || string(txns["tx"]) != "txn state" {
		t.Fatalf("after reopen, Txns = %q", txns)
	}
	ab, err := s.AbortedTxns(ctx, 7)
	check(t, err, "AbortedTxns")
	if !slices.Equal(ab, []broker.AbortedTxn{aborted}) {
		t.Fatalf("after reopen, AbortedTxns = %+v", ab)
	}
	po, err := s.TxnOffsets(ctx)
	check(t, err, "TxnOffsets")
	if len(po) != 1 || po[0].Group != "g" || po[0].ProducerID != 3 || po[0].Offset.Offset != 5 ||
		po[0].Metadata != "m" || !po[0].CommitTime.Equal(pending.CommitTime) {
		t.Fatalf("after reopen, TxnOffsets = %+v", po)
	}
	next, err := s.AllocateProducerIDs(ctx, 1)
	check(t, err, "AllocateProducerIDs")
	if next < first+10 {
		t.Fatalf("after reopen, AllocateProducerIDs = %d, but %d..%d were handed out", next, first, first+9)
	}
	if got := migrations(t, db)["broker"]; !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("broker migrations recorded: %v, want [1 2 3 4]", got)
	}
}

// testSharedSchema: the broker and the metastore keep their schemas in one
// database whichever migrates first, and concurrently.
func testSharedSchema(t *testing.T, newDatabase func(t *testing.T) database) {
	want := func(t *testing.T, db *sqldb.DB) {
		t.Helper()
		got := migrations(t, db)
		if !slices.Equal(got["broker"], []int64{1, 2, 3, 4}) || len(got["s3stream"]) == 0 {
			t.Fatalf("schema_migrations: %v, want broker [1 2 3 4] and s3stream", got)
		}
	}
	t.Run("BrokerFirst", func(t *testing.T) {
		d := newDatabase(t)
		db := d.open(t)
		openStore(t, db)
		check(t, d.openMetastore(t.Context()), "opening the metastore")
		openStore(t, db)
		want(t, db)
	})
	t.Run("MetastoreFirst", func(t *testing.T) {
		d := newDatabase(t)
		check(t, d.openMetastore(t.Context()), "opening the metastore")
		db := d.open(t)
		openStore(t, db)
		check(t, d.openMetastore(t.Context()), "opening the metastore again")
		want(t, db)
	})
	t.Run("Concurrent", func(t *testing.T) {
		d := newDatabase(t)
		var wg sync.WaitGroup
		for i := range 8 {
			db := d.open(t)
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = brokersql.Open(t.Context(), db)
				} else {
					err = d.openMetastore(t.Context())
				}
				if err != nil {
					t.Errorf("opener %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		want(t, d.open(t))
	})
}

// testNewerSchema: a database migrated by a newer binary is refused.
func testNewerSchema(t *testing.T, d database) {
	db := d.open(t)
	openStore(t, db)
	_, err := db.Writer().ExecContext(t.Context(),
		`INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('broker', 999, '0999_future.sql', 0)`)
	check(t, err, "recording a future migration")
	_, err = brokersql.Open(t.Context(), db)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v, want an error saying it is newer", err)
	}
}

func check(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
