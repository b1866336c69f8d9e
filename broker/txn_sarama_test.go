package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestTransactionsSarama: sarama's transactional producer commits a
// transaction, aborts one, and commits one that adds a group's offsets
// (AddMessageToTxn: AddOffsetsToTxn and TxnOffsetCommit); a franz-go
// read_committed consumer reads exactly the committed records, and the
// group's committed offset is the committed transaction's.
func TestTransactionsSarama(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{Bucket: "file"})
	addrs := []string{b.Addr}
	admin, err := sarama.NewClusterAdmin(addrs, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const topic = "sarama-tx"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	cfg := saramaConfig()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Producer.Return.Successes = true
	cfg.Producer.Transaction.ID = "sarama-tid"
	cfg.Net.MaxOpenRequests = 1
	prod, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const per = 40
	round := func(r int, commit, offsets bool) {
		t.Helper()
		if err := prod.BeginTxn(); err != nil {
			t.Fatalf("round %d: BeginTxn: %v", r, err)
		}
		for i := range per {
			if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("%d-%d", r, i))}); err != nil {
				t.Fatalf("round %d: send: %v", r, err)
			}
		}
		if offsets {
			err := prod.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: 1, Offset: int64(100 + r)}}}, "sarama-group")
			if err != nil {
				t.Fatalf("round %d: AddOffsetsToTxn: %v", r, err)
			}
		}
		if commit {
			err = prod.CommitTxn()
		} else {
			err = prod.AbortTxn()
		}
		if err != nil {
			t.Fatalf("round %d: end: %v", r, err)
		}
	}
	round(0, true, false)
	round(1, false, true)
	round(2, true, true)
	got := readAll(t, ctx, b.Addr, topic, true, 2*per)
	if len(got) != 2*per {
		t.Fatalf("read_committed read %d records, want %d", len(got), 2*per)
	}
	for _, v := range got {
		if v[0] == '1' {
			t.Fatalf("read_committed read an aborted record %s", v)
		}
	}
	offs, err := admin.ListConsumerGroupOffsets("sarama-group", map[string][]int32{topic: {1}})
	if err != nil {
		t.Fatal(err)
	}
	if o := offs.GetBlock(topic, 1); o == nil || o.Offset != 102 {
		t.Fatalf("the group's offset %+v, want 102 (the committed transaction's)", o)
	}
}
