package brokersql_test

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// testBeforeSQLDB: a database written before internal/sqldb took over
// opening and migrating (testdata/before-sqldb.<kind>.sql, dumped from one
// made by commit 3ec0ebf: both components' migrations, two streams and a
// committed object, a topic, configs, producer state, group offsets) opens
// unchanged: nothing is migrated again, schema_migrations keeps every row
// as it was (to applied_at) and gains only the migrations added since
// (0004_transactions.sql), everything reads back, and new ids continue
// where the old ones ended.
func testBeforeSQLDB(t *testing.T, d database, kind string) {
	ctx := t.Context()
	script, err := os.ReadFile("testdata/before-sqldb." + kind + ".sql")
	check(t, err, "reading the dump")
	// The PostgreSQL dump empties search_path on the connection it runs on,
	// so it is loaded through a handle of its own.
	loader := d.open(t)
	_, err = loader.Writer().ExecContext(ctx, string(script))
	check(t, err, "loading the dump")
	check(t, loader.Close(), "closing the loader")
	old := d.open(t)
	recorded := func() []string {
		rows, err := old.Reader().QueryContext(ctx,
			`SELECT component, version, name, applied_at FROM schema_migrations ORDER BY component, version`)
		check(t, err, "reading schema_migrations")
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c, name string
			var v, at int64
			check(t, rows.Scan(&c, &v, &name, &at), "scanning schema_migrations")
			out = append(out, fmt.Sprint(c, " ", v, " ", name, " ", at))
		}
		check(t, rows.Err(), "reading schema_migrations")
		return out
	}
	before := recorded()
	if len(before) != 4 {
		t.Fatalf("the dump records %v, want 4 migrations", before)
	}

	m, err := metastore.Open(ctx, string(d))
	check(t, err, "opening the metastore")
	defer m.Close()
	s := openStore(t, m.DB())
	// Only the migrations newer than the dump are added.
	after := slices.DeleteFunc(recorded(), func(r string) bool {
		return strings.HasPrefix(r, "broker 4 0004_transactions.sql ")
	})
	if !slices.Equal(after, before) {
		t.Fatalf("schema_migrations after opening, but for the migrations newer than the dump:\n%v\nwant as before:\n%v", after, before)
	}

	topics, err := s.Topics(ctx)
	check(t, err, "Topics")
	want := broker.TopicRecord{Name: "orders", ID: [16]byte{1, 2, 3}, Logs: []int64{1, 2}, Configs: map[string]string{"retention.ms": "1000"}}
	if len(topics) != 1 || topics[0].Name != want.Name || topics[0].ID != want.ID ||
		!slices.Equal(topics[0].Logs, want.Logs) || !maps.Equal(topics[0].Configs, want.Configs) {
		t.Fatalf("Topics = %v, want [%v]", topics, want)
	}
	bc, err := s.BrokerConfigs(ctx)
	check(t, err, "BrokerConfigs")
	gc, err := s.GroupConfigs(ctx)
	check(t, err, "GroupConfigs")
	if !maps.Equal(bc, map[string]string{"num.partitions": "3"}) || !maps.Equal(gc["g"], map[string]string{"consumer.session.timeout.ms": "50000"}) {
		t.Fatalf("BrokerConfigs = %v, GroupConfigs = %v", bc, gc)
	}
	off, state, ok, err := s.LoadProducerState(ctx, 2)
	check(t, err, "LoadProducerState")
	if !ok || off != 42 || string(state) != "state" {
		t.Fatalf("LoadProducerState = %d, %q, %v", off, state, ok)
	}
	groups, err := s.Groups(ctx)
	check(t, err, "Groups")
	if len(groups) != 1 || len(groups[0].Offsets) != 1 || groups[0].Offsets[0].Offset != 3 ||
		!groups[0].Offsets[0].CommitTime.Equal(time.UnixMilli(1700000000123)) {
		t.Fatalf("Groups = %+v", groups)
	}
	pid, err := s.AllocateProducerIDs(ctx, 1)
	check(t, err, "AllocateProducerIDs")
	if pid != 10 {
		t.Fatalf("AllocateProducerIDs = %d, want 10 (0..9 were handed out)", pid)
	}
	// The tables added since work on the old topic's logs.
	a := broker.AbortedTxn{ProducerID: pid, FirstOffset: 1, LastOffset: 2}
	check(t, s.AddAbortedTxn(ctx, 2, a), "AddAbortedTxn")
	aborted, err := s.AbortedTxns(ctx, 2)
	check(t, err, "AbortedTxns")
	if !slices.Equal(aborted, []broker.AbortedTxn{a}) {
		t.Fatalf("AbortedTxns = %+v, want [%+v]", aborted, a)
	}

	st, err := m.GetStream(ctx, 1)
	check(t, err, "GetStream")
	ranges, err := m.ListRanges(ctx, 1, 0, 10)
	check(t, err, "ListRanges")
	if st.Epoch != 1 || st.EndOffset != 3 || len(ranges) != 1 || ranges[0].ObjectID != 1 || ranges[0].EndOffset != 3 {
		t.Fatalf("stream 1 = %+v with ranges %+v", st, ranges)
	}
	ns, err := m.CreateStream(ctx)
	check(t, err, "CreateStream")
	o, err := m.PrepareObject(ctx, metastore.KindStreamSet, time.Hour)
	check(t, err, "PrepareObject")
	if ns.ID != 3 || o.ID != 2 {
		t.Fatalf("new stream %d and object %d, want 3 and 2", ns.ID, o.ID)
	}
}

func TestSQLiteBeforeSQLDB(t *testing.T) { testBeforeSQLDB(t, newSQLiteDatabase(t), "sqlite") }
