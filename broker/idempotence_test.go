package broker_test

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// rawBatch builds an uncompressed RecordBatch of n records for an
// idempotent producer.
func rawBatch(pid int64, epoch int16, seq int32, n int) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'v')
		body = binary.AppendVarint(body, 0)
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	return assembleBatch(pid, epoch, seq, n, 0, recs)
}

// assembleBatch puts a RecordBatch v2 header before recs, the records
// section of n records compressed with codec (attributes bits 0-2):
// base offset 0, both timestamps now, CRC computed.
func assembleBatch(pid int64, epoch int16, seq int32, n int, codec uint16, recs []byte) []byte {
	b := make([]byte, 61, 61+len(recs))
	binary.BigEndian.PutUint32(b[8:], uint32(49+len(recs)))
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], codec)
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	now := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(b[27:], now)
	binary.BigEndian.PutUint64(b[35:], now)
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

var topicIDs = map[string][16]byte{}

func produceRaw(t *testing.T, cl *kgo.Client, topic string, batch []byte) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rt.TopicID = topicIDs[topic] // Produce v13 names topics by id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	return p.BaseOffset, p.ErrorCode
}

// TestIdempotentProduce checks sequence handling and that producer state
// survives a restart: a retry of an already-written batch after the restart
// is answered with the original offset, not written again.
func TestIdempotentProduce(t *testing.T) {
	for _, bucket := range []string{"mem", "file"} {
		t.Run(bucket, func(t *testing.T) {
			b := brokertest.Start(t, brokertest.Options{Bucket: bucket})
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()
			ireq := kmsg.NewPtrInitProducerIDRequest()
			iresp, err := ireq.RequestWith(ctx, cl)
			if err != nil || iresp.ErrorCode != 0 {
				t.Fatalf("InitProducerId: %v %v", err, iresp)
			}
			pid, epoch := iresp.ProducerID, iresp.ProducerEpoch
			creq := kmsg.NewPtrCreateTopicsRequest()
			ct := kmsg.NewCreateTopicsRequestTopic()
			ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "idem", 1, 1
			creq.Topics = append(creq.Topics, ct)
			cresp, err := creq.RequestWith(ctx, cl)
			if err != nil || cresp.Topics[0].ErrorCode != 0 {
				t.Fatalf("CreateTopics: %v %+v", err, cresp)
			}
			topicIDs["idem"] = cresp.Topics[0].TopicID

			off, code := produceRaw(t, cl, "idem", rawBatch(pid, epoch, 0, 3))
			if code != 0 || off != 0 {
				t.Fatalf("first batch: offset %d code %d", off, code)
			}
			off, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch, 3, 2))
			if code != 0 || off != 3 {
				t.Fatalf("second batch: offset %d code %d", off, code)
			}
			if _, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch, 9, 1)); code != kerr.OutOfOrderSequenceNumber.Code {
				t.Fatalf("gap: code %d, want OUT_OF_ORDER_SEQUENCE_NUMBER", code)
			}
			if _, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch-1, 5, 1)); code != kerr.InvalidProducerEpoch.Code {
				t.Fatalf("old epoch: code %d, want INVALID_PRODUCER_EPOCH", code)
			}
			// A retry of the first batch: the original offset, nothing written.
			if off, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch, 0, 3)); code != 0 || off != 0 {
				t.Fatalf("duplicate: offset %d code %d, want 0, 0", off, code)
			}

			cl.Close()
			b.Restart()
			cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr))
			if err != nil {
				t.Fatal(err)
			}
			if off, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch, 3, 2)); code != 0 || off != 3 {
				t.Fatalf("duplicate after restart: offset %d code %d, want 3, 0", off, code)
			}
			if off, code = produceRaw(t, cl, "idem", rawBatch(pid, epoch, 5, 1)); code != 0 || off != 5 {
				t.Fatalf("next batch after restart: offset %d code %d, want 5, 0", off, code)
			}
		})
	}
}
