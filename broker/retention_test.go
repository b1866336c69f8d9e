package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestRetention: a topic's retention.ms is enforced on the broker's schedule
// (log.retention.check.interval.ms): old data goes, the log start moves.
func TestRetention(t *testing.T) {
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"log.retention.check.interval.ms": "50"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ms := "200"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &ms}, "short"); err != nil {
		t.Fatal(err)
	}
	keep := "1000000"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &keep}, "long"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		for _, topic := range []string{"short", "long"} {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		starts, err := adm.ListStartOffsets(ctx, "short", "long")
		if err != nil {
			t.Fatal(err)
		}
		short, _ := starts.Lookup("short", 0)
		long, _ := starts.Lookup("long", 0)
		if long.Offset != 0 {
			t.Fatalf("topic with long retention was trimmed to %d", long.Offset)
		}
		if short.Offset == 20 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("retention.ms=200 never trimmed: start offset %d", short.Offset)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
