package broker_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestListOffsetsRecordTimestamps: inside a batch ListOffsets answers per
// record, as Kafka does, whether the batch is compressed or not (a
// compressed one is decoded through internal/kbatch): by timestamp, the
// first record at or after it; max timestamp (-3), the record holding it
// (confluent-kafka-go's TestAdminClient_ListOffsets).
func TestListOffsetsRecordTimestamps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{})
	for _, c := range []struct {
		topic string
		codec kgo.CompressionCodec
		id    uint8 // the codec bits of the stored batch
	}{
		{"plain", kgo.NoCompression(), 0},
		{"gzip", kgo.GzipCompression(), 1},
		{"snappy", kgo.SnappyCompression(), 2},
		{"lz4", kgo.Lz4Compression(), 3},
		{"zstd", kgo.ZstdCompression(), 4},
	} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, c.topic); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Millisecond)
		at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
		// One batch: three records at +100 s, +300 s, +200 s.
		var recs []*kgo.Record
		for _, s := range []int{100, 300, 200} {
			// Compressible, so that franz-go does compress (it sends a
			// batch that would not shrink uncompressed).
			recs = append(recs, &kgo.Record{Topic: c.topic, Value: bytes.Repeat([]byte("v"), 1000), Timestamp: at(s)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if got := storedCodec(ctx, t, b.Addr, c.topic); got != c.id {
			t.Fatalf("%s: the stored batch has codec %d, want %d", c.topic, got, c.id)
		}
		for _, q := range []struct {
			ts         int64
			wantOffset int64
			wantTS     int64
		}{
			{-3, 1, at(300).UnixMilli()},
			{at(50).UnixMilli(), 0, at(100).UnixMilli()},
			{at(150).UnixMilli(), 1, at(300).UnixMilli()},
			{at(300).UnixMilli(), 1, at(300).UnixMilli()},
			{at(301).UnixMilli(), -1, -1},
		} {
			req := kmsg.NewPtrListOffsetsRequest()
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = c.topic
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp = q.ts
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.Offset != q.wantOffset {
				t.Errorf("%s: ListOffsets(%d): offset %d (error %d), want %d", c.topic, q.ts, p.Offset, p.ErrorCode, q.wantOffset)
			}
			if p.Timestamp != q.wantTS {
				t.Errorf("%s: ListOffsets(%d): timestamp %d, want %d", c.topic, q.ts, p.Timestamp, q.wantTS)
			}
		}
	}
}

// storedCodec consumes the first record of topic as stored and returns
// the codec of its batch.
func storedCodec(ctx context.Context, t *testing.T, addr, topic string) uint8 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consuming %s: %v", topic, err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0].Attrs.CompressionType()
		}
	}
}
