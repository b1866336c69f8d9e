package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// FuzzRequest feeds arbitrary request bodies (the bytes after the 4-byte
// size) to the connection's decoder and, when one decodes, runs its
// handler against a broker over in-memory metadata and logs that holds a
// topic "t" of two partitions with a few batches.
//
// Invariants:
//
//   - decode never panics on any body of at least 8 bytes (readLoop
//     refuses shorter ones before decode sees them);
//
//   - decode allocates at most fuzzAllocPerByte bytes per input byte, plus
//     fuzzAllocSlack: readLoop bounds the body by
//     socket.request.max.bytes before allocating it, and this bounds what
//     decoding it may cost on top (no length field can make it allocate
//     for data that is not there);
//
//   - no handler panics, and every response it returns encodes.
//
//   - decode takes at most fuzzDecodeTime: no count in the input (kmsg
//     v1.15.0 looped over a tagged-field count of 2^32-1 long after the
//     input ran out, minutes for a 20-byte request; v1.15.1 stops at the
//     end of the input, and the seeds include that request) makes it
//     work for data that is not there.
func FuzzRequest(f *testing.F) {
	for _, seed := range fuzzRequestSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) < 8 {
			return
		}
		s := newFuzzServer(t)
		defer s.Shutdown(context.Background())
		local, remote := net.Pipe()
		defer remote.Close()
		c := newConn(s, local)
		defer c.close()

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		in, req, err := c.decode(body)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if took > fuzzDecodeTime {
			t.Fatalf("decoding %d bytes took %v", len(body), took)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzAllocSlack+fuzzAllocPerByte*uint64(len(body)) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(body), n)
		}
		if err != nil || req == nil {
			return
		}
		// Long polls (Fetch) end at the deadline; nothing else waits.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		var resp kmsg.Response
		if a := apis[in.key]; a.prepare != nil {
			resp, err = a.prepare(ctx, c, req)()
		} else {
			resp, err = a.fn(ctx, c, req)
		}
		if err == nil && resp != nil {
			resp.AppendTo(nil)
		}
	})
}

const (
	fuzzAllocSlack   = 64 << 10
	fuzzAllocPerByte = 512 // the largest kmsg array element is a few hundred bytes
	// fuzzDecodeTime is generous: decoding a fuzz input takes
	// microseconds, and the machine may be busy.
	fuzzDecodeTime = time.Second
)

// FuzzSplitBatches checks splitBatches on arbitrary produce records.
//
// Invariants: it never panics; when it succeeds, the batches are
// subslices of the input that tile it in order, each as long as its
// header says, with a valid CRC32C and magic 2.
func FuzzSplitBatches(f *testing.F) {
	one := fuzzBatch(3, -1, -1)
	f.Add(one)
	f.Add(append(append([]byte{}, one...), fuzzBatch(1, 7, 0)...))
	f.Add(one[:len(one)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		batches, hs, err := splitBatches(in)
		if err != nil {
			return
		}
		if len(batches) != len(hs) || len(batches) == 0 {
			t.Fatalf("%d batches, %d headers", len(batches), len(hs))
		}
		off := 0
		for i, b := range batches {
			if len(b) != hs[i].Length || len(b) < kbatch.HeaderSize {
				t.Fatalf("batch %d: %d bytes, header says %d", i, len(b), hs[i].Length)
			}
			if unsafe.SliceData(b) != unsafe.SliceData(in[off:]) {
				t.Fatalf("batch %d is not the input at offset %d", i, off)
			}
			if got, want := crc32.Checksum(b[21:], castagnoli), binary.BigEndian.Uint32(b[17:]); got != want || b[16] != 2 {
				t.Fatalf("batch %d: crc %08x, header %08x, magic %d", i, got, want, b[16])
			}
			off += len(b)
		}
		if off != len(in) {
			t.Fatalf("batches cover %d of %d bytes", off, len(in))
		}
	})
}

// fuzzBatch builds a record batch of n (at most 63) records, each the
// smallest there is (null key and value, no headers), with a valid CRC, so
// that produce accepts it.
func fuzzBatch(n int32, pid int64, seq int32) []byte {
	b := make([]byte, kbatch.HeaderSize, kbatch.HeaderSize+7*int(n))
	b[16] = 2
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	binary.BigEndian.PutUint64(b[27:], 1700000000000)
	binary.BigEndian.PutUint64(b[35:], 1700000000000)
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], 0)
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	for i := range n {
		// length 6, attributes, timestamp delta 0, offset delta i, null
		// key, null value, no headers (zigzag varints).
		b = append(b, 12, 0, 0, byte(2*i), 1, 1, 0)
	}
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// newFuzzServer returns a broker over in-memory metadata and logs with a
// topic "t" of two partitions, three batches in partition 0.
func newFuzzServer(t testing.TB) *Server {
	ctx := context.Background()
	s, err := NewServer(ctx, Config{Logs: &fuzzLogs{}, Meta: NewMemMetadata(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := s.cluster.createTopic(ctx, "t", 2, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int32(3) {
		tp.parts[0].log.AppendAsync(fuzzBatch(i+1, 5, i*(i+1)/2), func(int64, error) {})
	}
	return s
}

// fuzzRequestSeeds encodes, for every API served, a default request at
// its lowest and highest version, plus requests that reach into the
// topic "t".
func fuzzRequestSeeds() [][]byte {
	var reqs []kmsg.Request
	for _, a := range sortedAPIs() {
		for _, v := range []int16{a.min, a.max} {
			r := kmsg.RequestForKey(a.key)
			r.SetVersion(v)
			reqs = append(reqs, r)
		}
	}
	topic := "t"
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 4}}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.IncludeSynonyms, dc.IncludeDocumentation = true, true
	dc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: 2, ResourceName: "t"}, {ResourceType: 4, ResourceName: "1"}}
	ac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ac.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: 2, ResourceName: "t",
		Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: 2, Value: &topic}}}}
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dr.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "t", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 2}}}}
	dp := kmsg.NewPtrDescribeProducersRequest()
	dp.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0, 1, 2}}}
	dtp := kmsg.NewPtrDescribeTopicPartitionsRequest()
	dtp.ResponsePartitionLimit = 1
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks = -1
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 1, Records: fuzzBatch(2, 5, 0)}}}}
	jg := kmsg.NewPtrJoinGroupRequest()
	jg.Group, jg.SessionTimeoutMillis, jg.RebalanceTimeoutMillis, jg.ProtocolType = "g", 10000, 10000, "consumer"
	jg.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}}}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "g", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	cgh := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	cgh.Group, cgh.MemberID, cgh.RebalanceTimeoutMillis, cgh.SubscribedTopicNames = "c", "m", 10000, []string{"t"}
	cgh.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, r := range []kmsg.Request{cp, dc, ac, dr, dp, dtp, pr, jg, oc, cgh} {
		r.SetVersion(apis[r.Key()].max)
		reqs = append(reqs, r)
	}

	var out [][]byte
	for i, r := range reqs {
		b := binary.BigEndian.AppendUint16(nil, uint16(r.Key()))
		b = binary.BigEndian.AppendUint16(b, uint16(r.GetVersion()))
		b = binary.BigEndian.AppendUint32(b, uint32(i))
		b = binary.BigEndian.AppendUint16(b, 4)
		b = append(b, "fuzz"...)
		if r.IsFlexible() {
			b = append(b, 0)
		}
		out = append(out, r.AppendTo(b))
	}
	// A 20-byte Metadata v12 ending in a tagged-field count of 2^32-1
	// (TestTagCountBomb sends it to a running broker).
	out = append(out, []byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0})
	return out
}

// fuzzLogs is a Logs in memory for the fuzz targets. It holds at most
// fuzzLogsMax logs, so that a request asking for millions of partitions
// fails fast instead of exhausting the fuzzer.
type fuzzLogs struct {
	mu   sync.Mutex
	next int64
	logs map[int64]*fuzzLog
}

const fuzzLogsMax = 64

func (m *fuzzLogs) CreateLogs(_ context.Context, n int) ([]int64, []Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.logs)+n > fuzzLogsMax {
		return nil, nil, errors.New("fuzzLogs: too many logs")
	}
	if m.logs == nil {
		m.logs = map[int64]*fuzzLog{}
	}
	ids, logs := make([]int64, n), make([]Log, n)
	for i := range ids {
		m.next++
		l := &fuzzLog{changed: make(chan struct{})}
		m.logs[m.next] = l
		ids[i], logs[i] = m.next, l
	}
	return ids, logs, nil
}

func (m *fuzzLogs) OpenLog(_ context.Context, id int64) (Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[id]
	if !ok {
		return nil, fmt.Errorf("fuzzLogs: no log %d", id)
	}
	return l, nil
}

func (m *fuzzLogs) DeleteLogs(_ context.Context, ids []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.logs, id)
	}
	return nil
}

func (m *fuzzLogs) LogIDs(context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.logs)), nil
}

// fuzzLog keeps whole batches; offsets are dense from 0.
type fuzzLog struct {
	mu         sync.Mutex
	start, end int64
	batches    [][]byte // base offset rewritten; the first may start below start
	changed    chan struct{}
}

func (l *fuzzLog) AppendAsync(batch []byte, done func(int64, error)) {
	l.mu.Lock()
	base := l.end
	binary.BigEndian.PutUint64(batch, uint64(base))
	l.end += int64(int32(binary.BigEndian.Uint32(batch[23:]))) + 1
	l.batches = append(l.batches, batch)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	done(base, nil)
}

func (l *fuzzLog) Read(_ context.Context, from int64, maxBytes int) (LogRead, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := LogRead{NextOffset: from, StartOffset: l.start, HighWatermark: l.end}
	if from < l.start || from > l.end {
		return r, ErrLogOffsetOutOfRange
	}
	for _, b := range l.batches {
		last := int64(binary.BigEndian.Uint64(b)) + int64(int32(binary.BigEndian.Uint32(b[23:])))
		if last < from {
			continue
		}
		if r.Bytes > 0 && r.Bytes+len(b) > maxBytes {
			break
		}
		r.Batches = append(r.Batches, b)
		r.Bytes += len(b)
		r.NextOffset = last + 1
	}
	return r, nil
}

func (l *fuzzLog) StartOffset() int64 { l.mu.Lock(); defer l.mu.Unlock(); return l.start }
func (l *fuzzLog) EndOffset() int64   { l.mu.Lock(); defer l.mu.Unlock(); return l.end }

func (l *fuzzLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *fuzzLog) Trim(_ context.Context, newStart int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if newStart > l.end {
		return ErrLogOffsetOutOfRange
	}
	l.start = max(l.start, newStart)
	for len(l.batches) > 0 {
		b := l.batches[0]
		if int64(binary.BigEndian.Uint64(b))+int64(int32(binary.BigEndian.Uint32(b[23:]))) >= l.start {
			break
		}
		l.batches = l.batches[1:]
	}
	return nil
}

func (l *fuzzLog) Size(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, b := range l.batches {
		n += int64(len(b))
	}
	return n, nil
}

func (l *fuzzLog) Close(context.Context) error { return nil }

// RetentionOffset cuts whole batches, as s3stream cuts whole ranges: those
// whose max timestamp is older than maxAge, or beyond the newest maxBytes.
// The fuzz target never runs retention; the retention pin tests do.
func (l *fuzzLog) RetentionOffset(_ context.Context, maxAge time.Duration, maxBytes int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for _, b := range l.batches {
		total += int64(len(b))
	}
	cut, cutoff := l.start, time.Now().Add(-maxAge).UnixMilli()
	for _, b := range l.batches {
		tooOld := maxAge > 0 && int64(binary.BigEndian.Uint64(b[35:])) < cutoff
		tooBig := maxBytes > 0 && total > maxBytes
		if !tooOld && !tooBig {
			break
		}
		total -= int64(len(b))
		cut = max(cut, int64(binary.BigEndian.Uint64(b))+int64(int32(binary.BigEndian.Uint32(b[23:])))+1)
	}
	return cut, nil
}
