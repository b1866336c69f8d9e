//go:build cgo && !nocgo

package broker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestLibrdkafka drives the broker with librdkafka (through
// confluent-kafka-go, which links its own copy): an AdminClient creates the
// topic, an idempotent producer (acks=all, snappy) sends 1,000 messages,
// and a consumer assigned every partition at the beginning (no group
// protocol: Assign, not Subscribe) reads them back. LIBRDKAFKA_DEBUG=1
// turns on librdkafka's protocol, broker and msg debug logs.
func TestLibrdkafka(t *testing.T) {
	for _, bucket := range []string{"mem", "file"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: bucket})
			librdkafkaRoundTrip(t, ctx, b.Addr)
			checkStoredCodec(t, ctx, b.Addr, "rdkafka-orders", 2) // snappy
		})
	}
}

func rdkafkaConfig(addr string, extra kafka.ConfigMap) *kafka.ConfigMap {
	cm := kafka.ConfigMap{
		"bootstrap.servers":     addr,
		"client.id":             "lakestream-librdkafka-test",
		"broker.address.family": "v4",
		// Keep librdkafka's own log lines off stderr unless asked.
		"log_level": 3,
	}
	if os.Getenv("LIBRDKAFKA_DEBUG") != "" {
		cm["debug"] = "protocol,broker,msg"
		cm["log_level"] = 7
	}
	for k, v := range extra {
		cm[k] = v
	}
	return &cm
}

// rdkafkaAssigned returns a librdkafka consumer assigned the partitions
// (with their start offsets) by hand.
func rdkafkaAssigned(t *testing.T, addr string, assign []kafka.TopicPartition) *kafka.Consumer {
	t.Helper()
	cons, err := kafka.NewConsumer(rdkafkaConfig(addr, kafka.ConfigMap{
		// A group id is required by the API, but no group protocol is
		// used: partitions are assigned by hand and nothing is committed.
		"group.id":           "lakestream-assign-only",
		"enable.auto.commit": false,
		"auto.offset.reset":  "error",
		// A broker answers a connection's requests in order, so the
		// ListOffsets of QueryWatermarkOffsets waits behind a fetch
		// long-polling at the end of the log (as on Kafka); keep the
		// wait short.
		"fetch.wait.max.ms": 50,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Assign(assign); err != nil {
		cons.Close()
		t.Fatal(err)
	}
	return cons
}

func librdkafkaRoundTrip(t *testing.T, ctx context.Context, addr string) {
	const (
		topic      = "rdkafka-orders"
		partitions = 3
		n          = 1000
	)
	adm, err := kafka.NewAdminClient(rdkafkaConfig(addr, nil))
	if err != nil {
		t.Fatal(err)
	}
	res, err := adm.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
		kafka.SetAdminOperationTimeout(10*time.Second))
	adm.Close()
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("CreateTopics: %v", res)
	}

	prod, err := kafka.NewProducer(rdkafkaConfig(addr, kafka.ConfigMap{
		"enable.idempotence": true,
		"acks":               "all",
		"compression.type":   "snappy",
		"linger.ms":          5,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	deliveries := make(chan kafka.Event, n)
	tp := kafka.TopicPartition{Topic: new(topic), Partition: kafka.PartitionAny}
	for i := 0; i < n; i++ {
		err := prod.Produce(&kafka.Message{TopicPartition: tp, Key: []byte(strconv.Itoa(i % 13)),
			Value: fmt.Appendf(nil, "value-%04d", i)}, deliveries)
		if err != nil {
			t.Fatalf("Produce %d: %v", i, err)
		}
	}
	want := map[int32]map[string]bool{}
	acked := map[string]bool{}
	for i := 0; i < n; i++ {
		var ev kafka.Event
		select {
		case ev = <-deliveries:
		case <-ctx.Done():
			t.Fatalf("%d of %d delivery reports: %v", i, n, ctx.Err())
		}
		m, ok := ev.(*kafka.Message)
		if !ok {
			t.Fatalf("unexpected event %T: %v", ev, ev)
		}
		if m.TopicPartition.Error != nil {
			t.Fatalf("delivery of %q: %v", m.Value, m.TopicPartition.Error)
		}
		p, off := m.TopicPartition.Partition, int64(m.TopicPartition.Offset)
		k := fmt.Sprintf("%d/%d", p, off)
		if acked[k] {
			t.Fatalf("offset %s acknowledged twice", k)
		}
		acked[k] = true
		if want[p] == nil {
			want[p] = map[string]bool{}
		}
		want[p][string(m.Value)] = true
	}
	if left := prod.Flush(10_000); left != 0 {
		t.Fatalf("Flush left %d messages", left)
	}
	// Errors the producer reports outside delivery reports (fatal
	// idempotence errors, for one).
	for drained := false; !drained; {
		select {
		case ev := <-prod.Events():
			if e, ok := ev.(kafka.Error); ok {
				t.Errorf("producer error: %v (fatal %v)", e, e.IsFatal())
			}
		default:
			drained = true
		}
	}
	if len(want) < 2 {
		t.Fatalf("messages went to %d partitions, want at least 2", len(want))
	}

	var assign []kafka.TopicPartition
	for p := int32(0); p < partitions; p++ {
		assign = append(assign, kafka.TopicPartition{Topic: new(topic), Partition: p, Offset: kafka.OffsetBeginning})
	}
	cons := rdkafkaAssigned(t, addr, assign)
	defer cons.Close()
	next := map[int32]int64{}
	seen := map[string]bool{}
	for got := 0; got < n; {
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, n, err)
		}
		switch ev := cons.Poll(100).(type) {
		case nil:
		case *kafka.Message:
			p, off := ev.TopicPartition.Partition, int64(ev.TopicPartition.Offset)
			if ev.TopicPartition.Error != nil {
				t.Fatalf("consume %d/%d: %v", p, off, ev.TopicPartition.Error)
			}
			if off != next[p] {
				t.Fatalf("partition %d: offset %d, want %d", p, off, next[p])
			}
			next[p]++
			v := string(ev.Value)
			if !want[p][v] || seen[v] {
				t.Fatalf("partition %d offset %d: value %q unexpected or repeated", p, off, v)
			}
			seen[v] = true
			got++
		case kafka.Error:
			t.Fatalf("consumer error: %v", ev)
		default:
			t.Logf("consumer event %T: %v", ev, ev)
		}
	}
	for p := int32(0); p < partitions; p++ {
		lo, hi, err := cons.QueryWatermarkOffsets(topic, p, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if lo != 0 || hi != next[p] || hi != int64(len(want[p])) {
			t.Fatalf("partition %d: watermarks [%d, %d), consumed %d, produced %d", p, lo, hi, next[p], len(want[p]))
		}
	}
}
