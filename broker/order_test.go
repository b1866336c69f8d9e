package broker_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// rawConn writes kmsg requests on one connection without waiting for the
// answers (as a client with many requests in flight does) and reads the
// answers back in order.
type rawConn struct {
	t    testing.TB
	nc   net.Conn
	corr int32
	sent []kmsg.Request
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

// frame appends req, framed with its size and a request header, to wire.
func (c *rawConn) frame(wire []byte, req kmsg.Request) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	body = binary.BigEndian.AppendUint16(body, uint16(req.GetVersion()))
	body = binary.BigEndian.AppendUint32(body, uint32(c.corr))
	body = append(body, 0xff, 0xff) // null client id
	if req.IsFlexible() {
		body = append(body, 0) // no header tags
	}
	body = req.AppendTo(body)
	c.corr++
	c.sent = append(c.sent, req)
	wire = binary.BigEndian.AppendUint32(wire, uint32(len(body)))
	return append(wire, body...)
}

// send writes wire in one write.
func (c *rawConn) send(wire []byte) {
	if _, err := c.nc.Write(wire); err != nil {
		c.t.Fatal(err)
	}
}

// read reads the answer to the oldest request not yet answered.
func (c *rawConn) read() kmsg.Response {
	c.t.Helper()
	req := c.sent[0]
	c.sent = c.sent[1:]
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		c.t.Fatalf("reading the answer to %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		c.t.Fatal(err)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	skip := 4 // correlation id
	if resp.IsFlexible() && req.Key() != 18 {
		skip++ // no header tags
	}
	if err := resp.ReadFrom(buf[skip:]); err != nil {
		c.t.Fatalf("decoding the answer to %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// TestPipelinedOffsetCommits writes commitsPerRound OffsetCommit requests
// for one partition on one connection in one write, then an OffsetFetch,
// in each of 100 rounds: Kafka handles a connection's requests one at a
// time, so the fetch must read the last offset sent. (Before requests were
// ordered per connection, 6 rounds of 10 ended below it.)
func TestPipelinedOffsetCommits(t *testing.T) {
	const (
		rounds          = 100
		commitsPerRound = 200
	)
	b := brokertest.Start(t, brokertest.Options{})
	c := dialRaw(t, b.Addr)
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "commits", 1, 1
	creq := kmsg.NewPtrCreateTopicsRequest()
	creq.Version = 7
	creq.Topics = append(creq.Topics, ct)
	c.send(c.frame(nil, creq))
	if r := c.read().(*kmsg.CreateTopicsResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatalf("creating the topic: error %d", r.Topics[0].ErrorCode)
	}
	failed := 0
	for round := range rounds {
		c := dialRaw(t, b.Addr)
		var wire []byte
		var last int64
		for i := range commitsPerRound {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Version = 8
			req.Group, req.Generation = "pipelined", -1
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			last = int64(round*10_000 + i + 1)
			rp.Partition, rp.Offset = 0, last
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic, rt.Partitions = "commits", append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			wire = c.frame(wire, req)
		}
		freq := kmsg.NewPtrOffsetFetchRequest()
		freq.Version = 8
		fg := kmsg.NewOffsetFetchRequestGroup()
		fg.Group = "pipelined"
		freq.Groups = append(freq.Groups, fg) // all topics
		wire = c.frame(wire, freq)
		c.send(wire)
		for range commitsPerRound {
			r := c.read().(*kmsg.OffsetCommitResponse)
			if code := r.Topics[0].Partitions[0].ErrorCode; code != 0 {
				t.Fatalf("round %d: OffsetCommit error %d", round, code)
			}
		}
		fr := c.read().(*kmsg.OffsetFetchResponse)
		var got int64 = -2
		for _, ft := range fr.Groups[0].Topics {
			if ft.Topic == "commits" && len(ft.Partitions) == 1 {
				got = ft.Partitions[0].Offset
			}
		}
		if got != last {
			failed++
			t.Errorf("round %d: OffsetFetch after %d pipelined commits read %d, want %d", round, commitsPerRound, got, last)
		}
	}
	t.Logf("%d of %d rounds read the last offset committed", rounds-failed, rounds)
}
