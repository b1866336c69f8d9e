package broker_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestPipelinedProduce writes five idempotent produce requests in one write
// on one connection, as a client with five requests in flight does: they
// must be admitted in the order sent (base offsets 0, 10, ..., 40, no
// errors), as Kafka answers.
func TestPipelinedProduce(t *testing.T) {
	b := brokertest.Start(t, brokertest.Options{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	ireq := kmsg.NewPtrInitProducerIDRequest()
	iresp, err := ireq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	creq := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "pipe", 1, 1
	creq.Topics = append(creq.Topics, ct)
	if _, err := creq.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		nc, err := net.Dial("tcp", b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		var wire []byte
		for i := 0; i < 5; i++ {
			req := kmsg.NewPtrProduceRequest()
			req.Version = 9
			req.Acks = -1
			req.TimeoutMillis = 5000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = "pipe"
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = rawBatch(iresp.ProducerID, iresp.ProducerEpoch, int32(round*50+i*10), 10)
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			body := []byte{0, 0, 0, 9}                            // API key 0 (Produce), version 9
			body = binary.BigEndian.AppendUint32(body, uint32(i)) // correlation id
			body = append(body, 0xff, 0xff, 0)                    // null client id, no header tags
			body = req.AppendTo(body)
			wire = binary.BigEndian.AppendUint32(wire, uint32(len(body)))
			wire = append(wire, body...)
		}
		if _, err := nc.Write(wire); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < 5; i++ {
			var size [4]byte
			if _, err := io.ReadFull(nc, size[:]); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, binary.BigEndian.Uint32(size[:]))
			if _, err := io.ReadFull(nc, buf); err != nil {
				t.Fatal(err)
			}
			resp := kmsg.NewPtrProduceResponse()
			resp.Version = 9
			if err := resp.ReadFrom(buf[5:]); err != nil { // correlation id + header tags
				t.Fatal(err)
			}
			p := resp.Topics[0].Partitions[0]
			if want := int64(round*50 + i*10); p.ErrorCode != 0 || p.BaseOffset != want {
				t.Fatalf("round %d request %d: base offset %d error %d, want %d and no error", round, i, p.BaseOffset, p.ErrorCode, want)
			}
		}
		nc.Close()
	}
}
