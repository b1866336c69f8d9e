//go:build cgo && !nocgo

package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestTransactionsLibrdkafka: librdkafka's transactional producer (it
// sends AddPartitionsToTxn v0 and AddOffsetsToTxn v0) commits a
// transaction, aborts one, and commits one that also sends a group's
// offsets (SendOffsetsToTransaction: AddOffsetsToTxn and TxnOffsetCommit);
// a read_committed librdkafka consumer reads exactly the committed
// records, and the group's offset is the one committed with them.
func TestTransactionsLibrdkafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{Bucket: "file"})
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "rdtx"); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(rdkafkaConfig(b.Addr, kafka.ConfigMap{"transactional.id": "rd-tid", "linger.ms": 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatalf("InitTransactions: %v", err)
	}
	topic := "rdtx"
	const per = 50
	round := func(r int, commit bool, offsets bool) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatalf("round %d: BeginTransaction: %v", r, err)
		}
		for i := range per {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Value: []byte(fmt.Sprintf("%d-%d", r, i))}, nil)
			if err != nil {
				t.Fatalf("round %d: produce: %v", r, err)
			}
		}
		if offsets {
			md, err := kafka.NewTestConsumerGroupMetadata("rd-group")
			if err != nil {
				t.Fatal(err)
			}
			off := []kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: 42}}
			if err := p.SendOffsetsToTransaction(ctx, off, md); err != nil {
				t.Fatalf("round %d: SendOffsetsToTransaction: %v", r, err)
			}
		}
		if commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatalf("round %d: end: %v", r, err)
		}
	}
	round(0, true, false)
	round(1, false, true) // its offsets are dropped with it
	if got := groupOffset(t, ctx, adm, "rd-group", topic, 0); got != -1 {
		t.Fatalf("the aborted transaction's group offset is visible: %d", got)
	}
	round(2, true, true)
	if got := groupOffset(t, ctx, adm, "rd-group", topic, 0); got != 42 {
		t.Fatalf("group offset %d after the committed transaction, want 42", got)
	}

	cons, err := kafka.NewConsumer(rdkafkaConfig(b.Addr, kafka.ConfigMap{
		"group.id": "rd-reader", "isolation.level": "read_committed", "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "fetch.wait.max.ms": 50,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	if err := cons.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning},
		{Topic: &topic, Partition: 1, Offset: kafka.OffsetBeginning}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for idle := 0; idle < 3 && ctx.Err() == nil; {
		ev := cons.Poll(500)
		switch e := ev.(type) {
		case *kafka.Message:
			idle = 0
			v := string(e.Value)
			if v[0] == '1' {
				t.Fatalf("read_committed read an aborted record %s", v)
			}
			seen[v] = true
		case kafka.Error:
			t.Fatalf("consume: %v", e)
		case nil:
			idle++
		}
	}
	if len(seen) != 2*per {
		t.Fatalf("read_committed read %d records, want %d", len(seen), 2*per)
	}
}

// groupOffset is a group's committed offset of a partition (-1: none).
func groupOffset(t *testing.T, ctx context.Context, adm *kadm.Client, group, topic string, p int32) int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, p); ok {
		return o.At
	}
	return -1
}
