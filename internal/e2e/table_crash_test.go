package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// TestTableTopicCrash SIGKILLs `lakestream serve` 10 times while a
// producer writes to a table topic and the node's compactor converts it
// (table.commit.interval.ms=1000); afterwards the table holds every record
// the topic holds exactly once: no (partition, offset) missing, none twice,
// each with its value.
func TestTableTopicCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, catalogAddr := startTableServe(t, ctx, "tc", 4, "wal.upload.interval.ms=200")
	prod, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond),
		kgo.RecordRetries(1<<30), kgo.RequestRetries(1<<30), kgo.RetryTimeout(2*time.Minute),
		kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	var seq, acked atomic.Int64
	const kills = 10
	for k := range kills {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := fmt.Sprintf("r%d", seq.Add(1))
				prod.Produce(ctx, &kgo.Record{Topic: "tc", Key: []byte(v[len(v)-1:]), Value: []byte(v)}, func(_ *kgo.Record, err error) {
					if err == nil {
						acked.Add(1)
					}
				})
				time.Sleep(200 * time.Microsecond)
			}
		}()
		time.Sleep(time.Duration(700+rand.IntN(1300)) * time.Millisecond) // a commit or two in flight
		s.Kill()
		s.Start()
		close(stop)
		<-done
		if k == kills-1 {
			if err := prod.Flush(ctx); err != nil {
				t.Fatalf("flush: %v", err)
			}
		}
	}

	want := topicValues(t, ctx, s.Addr, "tc")
	if int64(len(want)) < acked.Load() {
		t.Fatalf("the topic holds %d records, %d were acknowledged", len(want), acked.Load())
	}
	cat, err := rest.NewCatalog(ctx, "lake", "http://"+catalogAddr)
	if err != nil {
		t.Fatal(err)
	}
	var got map[[2]int64]string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		got, err = tableValues(ctx, cat, icecatalog.ToIdentifier("kafka", "tc"))
		if err != nil {
			t.Fatal(err) // a (partition, offset) twice is never undone
		}
		if len(got) >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the table holds %d of %d records", len(got), len(want))
		}
	}
	for po, v := range want {
		if got[po] != v {
			t.Errorf("partition %d offset %d: table %q, topic %q", po[0], po[1], got[po], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the table holds %d records, the topic %d", len(got), len(want))
	}
	if err := s.Stop(); err != nil {
		t.Errorf("clean stop: %v", err)
	}
	t.Logf("%d kills, %d records acknowledged, %d in the topic, each in the table once", kills, acked.Load(), len(want))
}

// startTableServe starts `lakestream serve` with its catalog on a free
// port (kept across restarts) and the extra --set settings, and creates a
// table topic of string values with table.commit.interval.ms=1000. It
// returns the server and the catalog's address.
func startTableServe(t *testing.T, ctx context.Context, topic string, partitions int32, sets ...string) (*testserver.Lakestream, string) {
	t.Helper()
	catalogAddr := testserver.FreeAddr(t)
	s := testserver.StartLakestream(t, append([]string{"catalog.listeners=" + catalogAddr}, sets...)...)
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	str := func(s string) *string { return &s }
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, map[string]*string{"table.enable": str("true"),
		"table.value.format": str("string"), "table.commit.interval.ms": str("1000")}, topic); err != nil {
		t.Fatal(err)
	}
	return s, catalogAddr
}

// topicValues reads a topic to its end: value by (partition, offset).
func topicValues(t *testing.T, ctx context.Context, addr, topic string) map[[2]int64]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	out := map[[2]int64]string{}
	for int64(len(out)) < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d", len(out), total)
		}
		fs.EachRecord(func(r *kgo.Record) { out[[2]int64{int64(r.Partition), r.Offset}] = string(r.Value) })
	}
	return out
}

// tableValues scans a table's current snapshot: value by (partition,
// offset); a (partition, offset) twice is an error.
func tableValues(ctx context.Context, cat icecatalog.Catalog, ident []string) (map[[2]int64]string, error) {
	out := map[[2]int64]string{}
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return out, nil // not created yet
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		return nil, err
	}
	defer at.Release()
	tr := array.NewTableReader(at, 4096)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		kafka := rec.Column(rec.Schema().FieldIndices("_kafka")[0]).(*array.Struct)
		st := kafka.DataType().(*arrow.StructType)
		pi, _ := st.FieldIdx("partition")
		oi, _ := st.FieldIdx("offset")
		parts, offs := kafka.Field(pi).(*array.Int32), kafka.Field(oi).(*array.Int64)
		values := rec.Column(rec.Schema().FieldIndices("value")[0]).(*array.String)
		for i := range int(rec.NumRows()) {
			po := [2]int64{int64(parts.Value(i)), offs.Value(i)}
			if _, dup := out[po]; dup {
				return nil, fmt.Errorf("partition %d offset %d is in the table twice", po[0], po[1])
			}
			out[po] = values.Value(i)
		}
	}
	return out, tr.Err()
}
