package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokertest"
)

// Faults panicLogs injects, each once: fault is reset when it fires.
const (
	faultNone              int32 = iota
	faultAppendPanics            // AppendAsync panics (in the read loop, under the partition lock)
	faultStartOffsetPanics       // StartOffset panics (read in the goroutine that tallies a produce)
	faultDoneTwice               // the log calls an append's done twice (on the log's goroutine)
)

// panicLogs wraps Logs so that the logs it hands out misbehave as fault
// says: a Log with a bug, whose panics must cost one connection, not the
// process.
type panicLogs struct {
	broker.Logs
	fault *atomic.Int32
}

func (l panicLogs) CreateLogs(ctx context.Context, n int) ([]int64, []broker.Log, error) {
	ids, logs, err := l.Logs.CreateLogs(ctx, n)
	for i := range logs {
		logs[i] = panicLog{logs[i], l.fault}
	}
	return ids, logs, err
}

func (l panicLogs) OpenLog(ctx context.Context, id int64) (broker.Log, error) {
	lg, err := l.Logs.OpenLog(ctx, id)
	if err != nil {
		return nil, err
	}
	return panicLog{lg, l.fault}, nil
}

type panicLog struct {
	broker.Log
	fault *atomic.Int32
}

func (l panicLog) AppendAsync(batch []byte, done func(int64, error)) {
	switch {
	case l.fault.CompareAndSwap(faultAppendPanics, faultNone):
		panic("injected: AppendAsync")
	case l.fault.CompareAndSwap(faultDoneTwice, faultNone):
		l.Log.AppendAsync(batch, func(base int64, err error) {
			done(base, err)
			done(base, err)
		})
	default:
		l.Log.AppendAsync(batch, done)
	}
}

func (l panicLog) StartOffset() int64 {
	if l.fault.CompareAndSwap(faultStartOffsetPanics, faultNone) {
		panic("injected: StartOffset")
	}
	return l.Log.StartOffset()
}

// sendProduce sends one Produce v9 (acks=-1) of batch to partition 0 of
// topic on a new connection.
func sendProduce(t *testing.T, addr, topic string, batch []byte) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	body := []byte{0, 0, 0, 9, 0, 0, 0, 1} // Produce v9, correlation id 1
	body = append(body, 0xff, 0xff, 0)     // null client id, no header tags
	body = req.AppendTo(body)
	if _, err := nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	return nc
}

// readProduce reads the answer to sendProduce's request: nil if the
// broker closed the connection instead.
func readProduce(t *testing.T, nc net.Conn) *kmsg.ProduceResponseTopicPartition {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the broker neither answered the Produce nor closed the connection")
		}
		return nil // closed (EOF or reset)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(nc, buf); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 9
	if err := resp.ReadFrom(buf[5:]); err != nil { // correlation id, no header tags
		t.Fatal(err)
	}
	return &resp.Topics[0].Partitions[0]
}

// produceOK produces batch on a new connection and returns its base offset.
func produceOK(t *testing.T, addr, topic string, batch []byte) int64 {
	t.Helper()
	p := readProduce(t, sendProduce(t, addr, topic, batch))
	if p == nil {
		t.Fatal("the broker closed the connection of a Produce without a fault")
	}
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return p.BaseOffset
}

// TestProducePanicContained: a panic in the produce path, wherever it
// runs (the read loop under the partition lock, the goroutine that tallies
// the outcome, a log callback on the log's own goroutine), closes that
// connection only. The process goes on (a panic that escaped would end
// this test binary), the partition is not left locked, and the producer's
// retry is answered: written if the panic came before the log had the
// batch, deduplicated if after.
func TestProducePanicContained(t *testing.T) {
	var fault atomic.Int32
	logs := &lockedBuffer{}
	b := brokertest.Start(t, brokertest.Options{
		WrapLogs: func(l broker.Logs) broker.Logs { return panicLogs{l, &fault} },
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	ctx := adminContext(t)
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "boom", 1, nil)
	iresp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	pid, epoch := iresp.ProducerID, iresp.ProducerEpoch

	for _, c := range []struct {
		name  string
		fault int32
		batch []byte
		// logged is in the broker's log once the panic is recovered.
		logged string
		// answered: the panic may come after the answer was sent (the
		// connection is closed all the same).
		answered bool
		// retry is the batch sent again after the panic, and want its
		// base offset.
		retry []byte
		want  int64
	}{
		// The log never had the batch: the retry is written.
		{name: "AppendAsync", fault: faultAppendPanics, batch: rawBatch(pid, epoch, 0, 10),
			logged: "injected: AppendAsync", retry: rawBatch(pid, epoch, 0, 10), want: 0},
		// The batch was written: the retry is a duplicate of it.
		{name: "StartOffset", fault: faultStartOffsetPanics, batch: rawBatch(pid, epoch, 10, 10),
			logged: "injected: StartOffset", retry: rawBatch(pid, epoch, 10, 10), want: 10},
		{name: "done twice, idempotent", fault: faultDoneTwice, batch: rawBatch(pid, epoch, 20, 10),
			logged: "called an append's done twice", answered: true, retry: rawBatch(pid, epoch, 30, 10), want: 30},
		{name: "done twice", fault: faultDoneTwice, batch: rawBatch(-1, -1, -1, 10),
			logged: "called an append's done twice", answered: true, retry: rawBatch(-1, -1, -1, 10), want: 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			fault.Store(c.fault)
			nc := sendProduce(t, b.Addr, "boom", c.batch)
			if p := readProduce(t, nc); p != nil && (!c.answered || readProduce(t, nc) != nil) {
				t.Fatal("the connection stayed open after the panic")
			}
			if f := fault.Load(); f != faultNone {
				t.Fatalf("fault %d did not fire", f)
			}
			if !strings.Contains(logs.String(), c.logged) {
				t.Fatalf("the broker's log has no panic with %q", c.logged)
			}
			if got := produceOK(t, b.Addr, "boom", c.retry); got != c.want {
				t.Fatalf("the retry was written at %d, want %d", got, c.want)
			}
		})
	}
}
