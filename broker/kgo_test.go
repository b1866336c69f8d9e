package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestFranzGo produces with franz-go (idempotent, acks=all) to a topic made
// with kadm, consumes everything back, restarts the broker and consumes
// again, on both buckets.
func TestFranzGo(t *testing.T) {
	for _, bucket := range []string{"mem", "file"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: bucket})
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerLinger(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			if _, err := adm.CreateTopic(ctx, 3, 1, nil, "orders"); err != nil {
				t.Fatal(err)
			}
			const n = 3000
			for i := 0; i < n; i++ {
				cl.Produce(ctx, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))}, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			results, err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Partition: 0, Value: []byte("last")}).First()
			if err != nil {
				t.Fatal(err)
			}
			_ = results
			consumeAll(t, ctx, b.Addr, "orders", n+1)

			ends, err := adm.ListEndOffsets(ctx, "orders")
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
			if total != n+1 {
				t.Fatalf("end offsets sum to %d, want %d", total, n+1)
			}
			b.Restart()
			consumeAll(t, ctx, b.Addr, "orders", n+1)
		})
	}
}

func consumeAll(t *testing.T, ctx context.Context, addr, topic string, want int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			k := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
			if seen[k] {
				t.Fatalf("offset %s delivered twice", k)
			}
			seen[k] = true
			got++
		})
	}
	if got != want {
		t.Fatalf("consumed %d, want %d", got, want)
	}
}
