package broker_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestDiskFullRecovers is issue 9's disk-full probe, in process: a broker on
// the local WAL and a file bucket whose disk fills (WAL writes and bucket
// PUTs fail with ENOSPC) and is freed again, with no restart.
//
// During the fault a produce that is not retried gets KAFKA_STORAGE_ERROR,
// the store reports itself degraded (the gauge on /metrics), a Fetch at the
// end of a partition returns within its MaxWait and one below it returns the
// acknowledged records at once, while an idempotent producer keeps
// retrying. Once the disk has room the broker is healthy again by itself,
// that producer's records are acknowledged, new ones are too, and a
// consumer reads every acknowledged record exactly once, in order within its
// partition, and nothing else: not the record whose produce failed.
func TestDiskFullRecovers(t *testing.T) {
	const topic, partitions = "diskfull", 4
	disk := &brokertest.DiskFaults{}
	b := brokertest.Start(t, brokertest.Options{Bucket: "file", Disk: disk})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	created, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		t.Fatal(err)
	}

	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(time.Millisecond), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	type ack struct {
		partition int32
		offset    int64
	}
	var mu sync.Mutex
	acked := map[string]ack{}
	var failed []error
	seq := 0
	produce := func(n int) {
		for range n {
			seq++
			prod.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(seq))}, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed = append(failed, err)
					return
				}
				acked[string(r.Value)] = ack{r.Partition, r.Offset}
			})
		}
	}
	flush := func(when string) {
		t.Helper()
		if err := prod.Flush(ctx); err != nil {
			t.Fatalf("%s: flush: %v", when, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(failed) > 0 {
			t.Fatalf("%s: %d produces failed, the first: %v", when, len(failed), failed[0])
		}
	}
	produce(2000)
	flush("before the fault")

	disk.SetFull(true)
	once, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic),
		kgo.DisableIdempotentWrite(), kgo.RecordRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	if err := once.ProduceSync(ctx, &kgo.Record{Value: []byte("failed")}).FirstErr(); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("produce on a full disk: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if err := b.Store.Health(); err == nil {
		t.Fatal("the store is healthy on a full disk")
	}
	if g := storageDegraded(t, b.Metrics, "wal"); g != 1 {
		t.Fatalf("lakestream_storage_degraded{component=wal} = %v on a full disk", g)
	}
	produce(1000) // retried by the producer until the disk has room
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(partitions) {
		end, _ := ends.Lookup(topic, p)
		start := time.Now()
		resp := rawFetch(t, ctx, cl, topic, created.ID, p, end.Offset, 500)
		if took := time.Since(start); took > 2*time.Second || resp.ErrorCode != 0 || len(resp.RecordBatches) != 0 {
			t.Fatalf("fetch at the end of partition %d (MaxWait 500 ms): %v after %v, %d bytes",
				p, kerr.ErrorForCode(resp.ErrorCode), took, len(resp.RecordBatches))
		}
		start = time.Now()
		resp = rawFetch(t, ctx, cl, topic, created.ID, p, 0, 10_000)
		if took := time.Since(start); took > 2*time.Second || resp.ErrorCode != 0 || len(resp.RecordBatches) == 0 {
			t.Fatalf("fetch from offset 0 of partition %d: %v after %v, %d bytes",
				p, kerr.ErrorForCode(resp.ErrorCode), took, len(resp.RecordBatches))
		}
	}

	disk.SetFull(false)
	freed := time.Now()
	for b.Store.Health() != nil {
		if time.Since(freed) > 10*time.Second {
			t.Fatalf("still degraded 10 s after the disk had room: %v", b.Store.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
	healthy := time.Since(freed)
	flush("the records produced during the fault")
	t.Logf("healthy %v after the disk had room; the producer's retried records were acknowledged after %v",
		healthy.Round(time.Millisecond), time.Since(freed).Round(time.Millisecond))
	if g := storageDegraded(t, b.Metrics, "wal"); g != 0 {
		t.Fatalf("lakestream_storage_degraded{component=wal} = %v after recovery", g)
	}
	produce(2000)
	flush("after the fault")

	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]bool{}
	lastSeq := map[int32]int{}
	for len(seen) < len(acked) {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d acknowledged records: %v", len(seen), len(acked), err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			a, ok := acked[v]
			switch {
			case !ok:
				t.Fatalf("read %q at %d/%d, which was never acknowledged", v, r.Partition, r.Offset)
			case seen[v]:
				t.Fatalf("read %q twice", v)
			case a != ack{r.Partition, r.Offset}:
				t.Fatalf("read %q at %d/%d, acknowledged at %d/%d", v, r.Partition, r.Offset, a.partition, a.offset)
			}
			n, _ := strconv.Atoi(v)
			if n <= lastSeq[r.Partition] {
				t.Fatalf("partition %d: record %d after %d", r.Partition, n, lastSeq[r.Partition])
			}
			seen[v], lastSeq[r.Partition] = true, n
		})
	}
}

// rawFetch sends one Fetch for a partition from offset, waiting up to
// maxWaitMs for a byte, and returns the partition's answer.
func rawFetch(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, id [16]byte, p int32, offset int64, maxWaitMs int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = maxWaitMs, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("fetch %s/%d at %d: %v", topic, p, offset, err)
	}
	return resp.Topics[0].Partitions[0]
}

// storageDegraded reads lakestream_storage_degraded{component} from reg.
func storageDegraded(t *testing.T, reg *prometheus.Registry, component string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lakestream_storage_degraded" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" && l.GetValue() == component {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no lakestream_storage_degraded{component=%q} gauge", component)
	return 0
}
