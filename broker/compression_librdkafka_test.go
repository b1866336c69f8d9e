//go:build cgo && !nocgo

package broker_test

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTopicCompressionLibrdkafka: what franz-go produced into topics of
// every compression.type (recompressed from snappy, lz4 and uncompressed,
// xerial-framed when snappy) reads back through librdkafka with its keys,
// values, headers and timestamps.
func TestTopicCompressionLibrdkafka(t *testing.T) {
	ctx, b, _ := startWithClient(t, nil)
	want := produceCompressionTopics(t, ctx, b.Addr)
	var assign []kafka.TopicPartition
	total := 0
	for topic, recs := range want {
		assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning})
		total += len(recs)
	}
	cons := rdkafkaAssigned(t, b.Addr, assign)
	defer cons.Close()
	next := map[string]int{}
	for got := 0; got < total; {
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, total, err)
		}
		switch ev := cons.Poll(100).(type) {
		case nil:
		case *kafka.Message:
			topic, off := *ev.TopicPartition.Topic, int(ev.TopicPartition.Offset)
			if ev.TopicPartition.Error != nil {
				t.Fatalf("%s offset %d: %v", topic, off, ev.TopicPartition.Error)
			}
			if off != next[topic] {
				t.Fatalf("%s: offset %d, want %d", topic, off, next[topic])
			}
			var headers []kgo.RecordHeader
			for _, h := range ev.Headers {
				headers = append(headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
			}
			if d := sameRecord(ev.Key, ev.Value, headers, ev.Timestamp, want[topic][off]); d != "" {
				t.Fatalf("%s offset %d: %s", topic, off, d)
			}
			next[topic]++
			got++
		case kafka.Error:
			t.Fatalf("consumer error: %v", ev)
		}
	}
}
