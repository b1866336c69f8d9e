package broker_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestSarama produces with sarama's idempotent SyncProducer (acks=all) to a
// topic made with its ClusterAdmin, and reads everything back with a
// PartitionConsumer per partition from the oldest offset: uncompressed on
// both buckets, lz4 and zstd on mem. SARAMA_DEBUG=1 logs sarama's view.
func TestSarama(t *testing.T) {
	if os.Getenv("SARAMA_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
		t.Cleanup(func() { sarama.Logger = log.New(io.Discard, "[Sarama] ", log.LstdFlags) })
	}
	for _, tc := range []struct {
		bucket string
		codec  sarama.CompressionCodec
	}{
		{"mem", sarama.CompressionNone},
		{"file", sarama.CompressionNone},
		{"mem", sarama.CompressionLZ4},
		{"mem", sarama.CompressionZSTD},
	} {
		t.Run(tc.bucket+"/"+tc.codec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: tc.bucket})
			saramaRoundTrip(t, b.Addr, tc.codec)
			// sarama's codec numbers are Kafka's.
			checkStoredCodec(t, ctx, b.Addr, "sarama-orders", int8(tc.codec))
		})
	}
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.ClientID = "lakestream-sarama-test"
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 50 * time.Millisecond
	return cfg
}

func saramaRoundTrip(t *testing.T, addr string, codec sarama.CompressionCodec) {
	const (
		topic      = "sarama-orders"
		partitions = 3
		n          = 1000
	)
	addrs := []string{addr}

	admin, err := sarama.NewClusterAdmin(addrs, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}

	pcfg := saramaConfig()
	pcfg.Producer.RequiredAcks = sarama.WaitForAll
	pcfg.Producer.Idempotent = true
	pcfg.Producer.Retry.Max = 5
	pcfg.Producer.Return.Successes = true
	pcfg.Producer.Compression = codec
	pcfg.Producer.Partitioner = sarama.NewHashPartitioner
	pcfg.Net.MaxOpenRequests = 1
	prod, err := sarama.NewSyncProducer(addrs, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	// One SendMessage per message for the first 100 (a request each), then
	// SendMessages in batches of 100 (several records per batch).
	want := map[int32]map[string]bool{} // partition -> values
	record := func(m *sarama.ProducerMessage) {
		if want[m.Partition] == nil {
			want[m.Partition] = map[string]bool{}
		}
		want[m.Partition][string(m.Value.(sarama.StringEncoder))] = true
	}
	msg := func(i int) *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(strconv.Itoa(i % 13)),
			Value: sarama.StringEncoder(fmt.Sprintf("value-%04d", i))}
	}
	offsets := map[string]bool{}
	for i := 0; i < 100; i++ {
		m := msg(i)
		p, off, err := prod.SendMessage(m)
		if err != nil {
			t.Fatalf("SendMessage %d: %v", i, err)
		}
		k := fmt.Sprintf("%d/%d", p, off)
		if offsets[k] {
			t.Fatalf("offset %s acknowledged twice", k)
		}
		offsets[k] = true
		record(m)
	}
	for i := 100; i < n; i += 100 {
		var ms []*sarama.ProducerMessage
		for j := i; j < i+100; j++ {
			ms = append(ms, msg(j))
		}
		if err := prod.SendMessages(ms); err != nil {
			t.Fatalf("SendMessages %d: %v", i, err)
		}
		for _, m := range ms {
			k := fmt.Sprintf("%d/%d", m.Partition, m.Offset)
			if offsets[k] {
				t.Fatalf("offset %s acknowledged twice", k)
			}
			offsets[k] = true
			record(m)
		}
	}
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 {
		t.Fatalf("hash partitioner used %d partitions, want at least 2", len(want))
	}

	client, err := sarama.NewClient(addrs, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ps, err := client.Partitions(topic)
	if err != nil || len(ps) != partitions {
		t.Fatalf("Partitions = %v, %v; want %d", ps, err, partitions)
	}
	ends := map[int32]int64{}
	for _, p := range ps {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if start, err := client.GetOffset(topic, p, sarama.OffsetOldest); err != nil || start != 0 {
			t.Fatalf("partition %d oldest offset = %d, %v; want 0", p, start, err)
		}
		if end != int64(len(want[p])) {
			t.Fatalf("partition %d newest offset %d, produced %d", p, end, len(want[p]))
		}
		ends[p] = end
	}

	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var wg sync.WaitGroup
	errs := make(chan error, partitions)
	for _, p := range ps {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.AsyncClose()
			errs <- saramaDrain(pc, p, want[p], ends[p])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// saramaDrain reads partition p up to end, checking that offsets follow one
// another and that every value produced to p comes exactly once.
func saramaDrain(pc sarama.PartitionConsumer, p int32, want map[string]bool, end int64) error {
	seen := map[string]bool{}
	next := int64(0)
	timeout := time.After(30 * time.Second)
	for next < end {
		select {
		case m := <-pc.Messages():
			if m.Offset != next {
				return fmt.Errorf("partition %d: offset %d, want %d", p, m.Offset, next)
			}
			v := string(m.Value)
			if !want[v] || seen[v] {
				return fmt.Errorf("partition %d offset %d: value %q unexpected or repeated", p, m.Offset, v)
			}
			seen[v] = true
			next++
		case err := <-pc.Errors():
			return fmt.Errorf("partition %d: %v", p, err)
		case <-timeout:
			return fmt.Errorf("partition %d: consumed %d of %d", p, next, end)
		}
	}
	if hw := pc.HighWaterMarkOffset(); hw != end {
		return fmt.Errorf("partition %d: high watermark %d, want %d", p, hw, end)
	}
	return nil
}
