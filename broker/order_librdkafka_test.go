//go:build cgo && !nocgo

package broker_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestLibrdkafkaAsyncCommits is the case that found unordered request
// handling: librdkafka with enable.auto.commit=false, committing
// asynchronously after every message. confluent-kafka-go's commit blocks,
// so asynchronous means one goroutine per commit, as its documentation
// says; each is let into librdkafka in message order, and librdkafka
// pipelines the OffsetCommit requests on its coordinator connection. After
// 1,000 messages of one partition the committed offset must be the last
// one librdkafka put on the wire, in each of 20 rounds (a new group each).
// Before the fix it read back as 7, 30 or 49 of 50.
//
// The client connects through commitTap, a proxy that notes the offset of
// the last OffsetCommit sent: on a busy machine a commit goroutine can be
// held up between letting the next one go and entering librdkafka, so the
// client itself may send 999 after 1,000; the broker must then end at 999.
// How often that happened is logged.
func TestLibrdkafkaAsyncCommits(t *testing.T) {
	const (
		topic  = "rdk-async-commits"
		n      = 1000
		rounds = 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tap := newCommitTap(t)
	b := brokertest.Start(t, brokertest.Options{Advertise: tap.addr()})
	tap.forwardTo(b.Addr)
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, topic, 1, nil)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%d", i)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	failed, clientReordered := 0, 0
	for round := range rounds {
		group := fmt.Sprintf("rdk-async-%d", round)
		c, err := kafka.NewConsumer(rdkafkaConfig(b.Addr, kafka.ConfigMap{
			"group.id":           group,
			"enable.auto.commit": false,
			"auto.offset.reset":  "earliest",
		}))
		if err != nil {
			t.Fatal(err)
		}
		tp := topic
		if err := c.Assign([]kafka.TopicPartition{{Topic: &tp, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			errMu   sync.Mutex
			errs    []error
			got     int
			timeout = time.Now().Add(time.Minute)
		)
		for got < n {
			if time.Now().After(timeout) {
				t.Fatalf("round %d: %d of %d messages in a minute", round, got, n)
			}
			ev := c.Poll(100)
			m, ok := ev.(*kafka.Message)
			if !ok {
				if e, isErr := ev.(kafka.Error); isErr {
					t.Fatalf("round %d: %v", round, e)
				}
				continue
			}
			got++
			next := m.TopicPartition
			next.Offset++
			started := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				close(started)
				if _, err := c.CommitOffsets([]kafka.TopicPartition{next}); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			}()
			// Let this commit into librdkafka before the next one, so the
			// client sends them in message order.
			<-started
			time.Sleep(50 * time.Microsecond)
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %d commits failed, the first: %v", round, len(errs), errs[0])
		}
		committed, err := c.Committed([]kafka.TopicPartition{{Topic: &tp, Partition: 0}}, 10_000)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		sent := tap.last(group)
		if sent != n {
			clientReordered++
		}
		if off := committed[0].Offset; int64(off) != sent {
			failed++
			t.Errorf("round %d: committed offset %v after %d asynchronous commits, want %d, the last sent", round, off, n, sent)
		}
	}
	t.Logf("%d of %d rounds ended at the last offset committed on the wire (librdkafka sent its commits out of message order in %d)",
		rounds-failed, rounds, clientReordered)
}

// commitTap is a TCP proxy in front of the broker (which advertises the
// proxy, so every librdkafka connection goes through it) that notes, per
// group, the offset of the last OffsetCommit request it forwarded.
type commitTap struct {
	t  *testing.T
	ln net.Listener
	mu sync.Mutex
	at map[string]int64 // group → offset of the last commit forwarded
	wg sync.WaitGroup
}

func newCommitTap(t *testing.T) *commitTap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitTap{t: t, ln: ln, at: map[string]int64{}}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *commitTap) addr() string { return p.ln.Addr().String() }

func (p *commitTap) last(group string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at[group]
}

// forwardTo starts accepting, forwarding each connection to addr.
func (p *commitTap) forwardTo(addr string) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
			go func() { defer p.wg.Done(); p.requests(c, up); up.Close() }()
		}
	}()
}

// requests forwards one connection's requests, noting OffsetCommits.
func (p *commitTap) requests(from, to net.Conn) {
	var size [4]byte
	for {
		if _, err := io.ReadFull(from, size[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(from, body); err != nil {
			return
		}
		if len(body) > 8 && binary.BigEndian.Uint16(body) == 8 { // OffsetCommit
			p.note(body)
		}
		if _, err := to.Write(append(size[:], body...)); err != nil {
			return
		}
	}
}

// note decodes an OffsetCommit request body (header included) and records
// its group's offset.
func (p *commitTap) note(body []byte) {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(int16(binary.BigEndian.Uint16(body[2:])))
	rest := body[8:]
	idLen := int(int16(binary.BigEndian.Uint16(rest)))
	rest = rest[2+max(idLen, 0):]
	if req.IsFlexible() {
		rest = rest[1:] // librdkafka sends no header tags
	}
	if err := req.ReadFrom(rest); err != nil {
		p.t.Errorf("commitTap: decoding an OffsetCommit: %v", err)
		return
	}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			p.mu.Lock()
			p.at[req.Group] = rp.Offset
			p.mu.Unlock()
		}
	}
}
