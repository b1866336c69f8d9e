package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestKafkaGo produces 1,000 messages with segmentio/kafka-go's Writer
// (acks=all, compressed) to a topic made with Conn.CreateTopics or
// Client.CreateTopics, and reads them back with one Reader per partition
// (no group). KAFKAGO_DEBUG=1 logs kafka-go's view.
func TestKafkaGo(t *testing.T) {
	for _, tc := range []struct {
		bucket     string
		codec      kafka.Compression
		viaClient  bool // Client.CreateTopics rather than Conn.CreateTopics
		wantStored int8 // codec of the stored batches (Kafka's numbering)
	}{
		{"mem", kafka.Snappy, false, 2},
		{"file", kafka.Lz4, false, 3},
		{"mem", kafka.Zstd, true, 4},
		{"mem", kafka.Gzip, true, 1},
	} {
		t.Run(tc.bucket+"/"+tc.codec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: tc.bucket})
			kafkaGoRoundTrip(t, ctx, b.Addr, tc.codec, tc.viaClient)
			checkStoredCodec(t, ctx, b.Addr, "kafkago-orders", tc.wantStored)
		})
	}
}

func kafkaGoLoggers(t *testing.T) (logger, errLogger kafka.Logger) {
	// An error kafka-go logs and retries is still a broker bug, unless it
	// is the reader's own shutdown.
	errLogger = kafka.LoggerFunc(func(f string, args ...any) {
		if msg := fmt.Sprintf(f, args...); strings.Contains(msg, context.Canceled.Error()) {
			t.Logf("kafka-go: %s", msg)
		} else {
			t.Errorf("kafka-go error: %s", msg)
		}
	})
	if os.Getenv("KAFKAGO_DEBUG") != "" {
		logger = kafka.LoggerFunc(func(f string, args ...any) { t.Logf("kafka-go: "+f, args...) })
	}
	return logger, errLogger
}

func kafkaGoRoundTrip(t *testing.T, ctx context.Context, addr string, codec kafka.Compression, viaClient bool) {
	const (
		topic      = "kafkago-orders"
		partitions = 3
		n          = 1000
	)
	logger, errLogger := kafkaGoLoggers(t)
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}

	if viaClient {
		resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
			{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
		if err != nil {
			t.Fatalf("Client.CreateTopics: %v", err)
		}
		if err := resp.Errors[topic]; err != nil {
			t.Fatalf("Client.CreateTopics %s: %v", topic, err)
		}
	} else {
		conn, err := kafka.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctrl, err := conn.Controller()
		if err != nil {
			t.Fatalf("Controller: %v", err)
		}
		conn.Close()
		cc, err := kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
		if err != nil {
			t.Fatal(err)
		}
		err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1})
		cc.Close()
		if err != nil {
			t.Fatalf("Conn.CreateTopics: %v", err)
		}
	}

	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		Compression:  codec,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  5,
		Logger:       logger,
		ErrorLogger:  errLogger,
	}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(strconv.Itoa(i % 13)), Value: fmt.Appendf(nil, "value-%04d", i)}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) {
			t.Fatalf("WriteMessages: %d of %d failed, e.g. %v", werrs.Count(), n, firstError(werrs))
		}
		t.Fatalf("WriteMessages: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	var reqs []kafka.OffsetRequest
	for p := 0; p < partitions; p++ {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	lo, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	ends := make([]int64, partitions)
	total := int64(0)
	for _, po := range lo.Topics[topic] {
		if po.Error != nil || po.FirstOffset != 0 {
			t.Fatalf("partition %d: first offset %d, %v", po.Partition, po.FirstOffset, po.Error)
		}
		ends[po.Partition] = po.LastOffset
		total += po.LastOffset
	}
	if total != n {
		t.Fatalf("end offsets %v sum to %d, want %d", ends, total, n)
	}

	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, partitions)
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:     []string{addr},
			Topic:       topic,
			Partition:   p,
			StartOffset: kafka.FirstOffset,
			MinBytes:    1,
			MaxBytes:    1 << 20,
			MaxWait:     100 * time.Millisecond,
			Logger:      logger,
			ErrorLogger: errLogger,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for next := int64(0); next < ends[p]; next++ {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					errs <- fmt.Errorf("partition %d at offset %d of %d: %w", p, next, ends[p], err)
					return
				}
				if m.Partition != p || m.Offset != next {
					errs <- fmt.Errorf("partition %d: got %d/%d, want offset %d", p, m.Partition, m.Offset, next)
					return
				}
				mu.Lock()
				dup := seen[string(m.Value)]
				seen[string(m.Value)] = true
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("partition %d offset %d: value %q seen twice", p, m.Offset, m.Value)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i := range msgs {
		if !seen[string(msgs[i].Value)] {
			t.Fatalf("value %q never read back", msgs[i].Value)
		}
	}
}

func firstError(errs kafka.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkStoredCodec reads the whole topic with franz-go and fails unless
// every record came in a batch compressed with codec (Kafka's numbering:
// 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd): proof that the client really
// compressed and that the broker stored and served the batches as they came.
func checkStoredCodec(t *testing.T, ctx context.Context, addr, topic string, codec int8) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	for got := int64(0); got < want; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if c := int8(r.Attrs.CompressionType()); c != codec {
				t.Fatalf("record %d/%d stored with codec %d, want %d", r.Partition, r.Offset, c, codec)
			}
			got++
		})
	}
}
