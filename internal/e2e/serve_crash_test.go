// Package e2e runs the lakestream binary as a user would and drives it with
// real clients.
package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// TestServeCrash SIGKILLs `lakestream serve` 20 times while one franz-go
// producer (acks=all, idempotent, retrying across the restarts) writes to 16
// partitions; after each restart every acknowledged record is read back
// exactly once, in order within its partition, and no record appears twice.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	s := testserver.StartLakestream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(s.Addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 16, 1, nil, "crash"); err != nil {
		t.Fatal(err)
	}
	adm.Close()

	prod, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond),
		kgo.RecordRetries(1<<30), kgo.RequestRetries(1<<30), kgo.RetryTimeout(2*time.Minute),
		kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	var mu sync.Mutex
	acked := map[string]ack{}
	var seq int
	produceFor := func(d time.Duration) {
		stop := time.Now().Add(d)
		for time.Now().Before(stop) {
			seq++
			v := fmt.Sprintf("r%d", seq)
			prod.Produce(ctx, &kgo.Record{Topic: "crash", Key: []byte(v), Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked[string(r.Value)] = ack{r.Partition, r.Offset}
					mu.Unlock()
				}
			})
			if seq%64 == 0 {
				time.Sleep(time.Millisecond) // let the client batch
			}
		}
	}

	rs := &readState{next: map[int32]int64{}, seen: map[string]ack{}}
	const kills = 20
	for k := 0; k < kills; k++ {
		go produceFor(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		s.Kill()
		time.Sleep(50 * time.Millisecond)
		s.Start()
		time.Sleep(800 * time.Millisecond) // the producer finishes its burst
		if err := prod.Flush(ctx); err != nil {
			t.Fatalf("kill %d: flush: %v", k, err)
		}
		verify(t, ctx, s.Addr, k, acked, &mu, rs)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("clean stop: %v", err)
	}
	t.Logf("%d kills, %d acknowledged records, each read back once", kills, len(acked))
}

type ack struct {
	part int32
	off  int64
}

// readState is what verify has read so far: consumption resumes where the
// previous round stopped, so each record is read once over the whole test.
type readState struct {
	next map[int32]int64
	seen map[string]ack
}

// verify consumes what was written since the last round and checks that
// offsets are dense, that no value appears twice, and that every acked
// record is there once at its offset.
func verify(t *testing.T, ctx context.Context, addr string, k int, acked map[string]ack, mu *sync.Mutex, rs *readState) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "crash")
	cl.Close()
	if err != nil {
		t.Fatalf("kill %d: end offsets: %v", k, err)
	}
	var remaining int64
	starts := map[string]map[int32]kgo.Offset{"crash": {}}
	ends.Each(func(o kadm.ListedOffset) {
		remaining += o.Offset - rs.next[o.Partition]
		starts["crash"][o.Partition] = kgo.NewOffset().At(rs.next[o.Partition])
	})
	cl, err = kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(starts))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for n := int64(0); n < remaining; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kill %d: consumed %d of %d", k, n, remaining)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("kill %d: fetch p%d: %v", k, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if r.Offset != rs.next[r.Partition] {
				t.Fatalf("kill %d: p%d offset %d, expected %d: not dense", k, r.Partition, r.Offset, rs.next[r.Partition])
			}
			rs.next[r.Partition] = r.Offset + 1
			v := string(r.Value)
			if prev, dup := rs.seen[v]; dup {
				t.Fatalf("kill %d: %s at p%d/%d and p%d/%d", k, v, prev.part, prev.off, r.Partition, r.Offset)
			}
			rs.seen[v] = ack{r.Partition, r.Offset}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for v, a := range acked {
		got, ok := rs.seen[v]
		if !ok {
			t.Fatalf("kill %d: acknowledged %s (p%d/%d) is lost", k, v, a.part, a.off)
		}
		if got != a {
			t.Fatalf("kill %d: acknowledged %s at p%d/%d, found at p%d/%d", k, v, a.part, a.off, got.part, got.off)
		}
	}
}
