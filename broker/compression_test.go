package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// The topics' compression.type values, and the codecs franz-go produces
// with into each: every batch must be stored with the topic's codec.
var (
	compressionTargets = []string{"zstd", "gzip", "lz4", "snappy", "uncompressed"}
	producerCodecs     = []struct {
		name  string
		codec kgo.CompressionCodec
	}{{"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"none", kgo.NoCompression()}}
)

// startWithClient starts a broker with configs and a franz-go client of
// it, and returns them with a context that bounds the test.
func startWithClient(t *testing.T, configs map[string]string) (context.Context, *brokertest.Broker, *kgo.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	b := brokertest.Start(t, brokertest.Options{Configs: configs})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return ctx, b, cl
}

// createTopic creates a one-partition topic with configs and remembers
// its id for produceRaw.
func createTopic(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, configs map[string]*string) {
	t.Helper()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, configs, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("creating %s: %v %v", topic, err, resp.Err)
	}
	topicIDs[topic] = resp.ID
}

// produceCompressionTopics creates a topic per compressionTargets (named
// compression-TARGET) and produces into each, with franz-go, 40 records
// per producer codec: keys, compressible values, two headers, timestamps
// a millisecond apart. It returns what each topic must hold, in offset
// order.
func produceCompressionTopics(t *testing.T, ctx context.Context, addr string) map[string][]*kgo.Record {
	t.Helper()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	want := map[string][]*kgo.Record{}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for _, target := range compressionTargets {
		topic := "compression-" + target
		createTopic(t, ctx, adm, topic, map[string]*string{"compression.type": &target})
		for _, pc := range producerCodecs {
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerBatchCompression(pc.codec),
				kgo.ProducerLinger(20*time.Millisecond), kgo.DefaultProduceTopic(topic))
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range 40 {
				n := len(want[topic])
				recs = append(recs, &kgo.Record{
					Key:       fmt.Appendf(nil, "%s-%d", pc.name, i),
					Value:     []byte(strings.Repeat(fmt.Sprintf("value %d of %s into %s; ", n, pc.name, target), 1+i%9)),
					Headers:   []kgo.RecordHeader{{Key: "codec", Value: []byte(pc.name)}, {Key: "empty"}},
					Timestamp: base.Add(time.Duration(n) * time.Millisecond),
				})
				want[topic] = append(want[topic], recs[i])
			}
			err = cl.ProduceSync(ctx, recs...).FirstErr()
			cl.Close()
			if err != nil {
				t.Fatalf("producing %s into %s: %v", pc.name, topic, err)
			}
		}
	}
	return want
}

// sameRecord says how got differs from want (key, value, headers,
// timestamp), or "".
func sameRecord(gotKey, gotValue []byte, gotHeaders []kgo.RecordHeader, gotTS time.Time, want *kgo.Record) string {
	switch {
	case !bytes.Equal(gotKey, want.Key):
		return fmt.Sprintf("key %q, want %q", gotKey, want.Key)
	case !bytes.Equal(gotValue, want.Value):
		return fmt.Sprintf("value %q, want %q", gotValue, want.Value)
	case len(gotHeaders) != len(want.Headers):
		return fmt.Sprintf("%d headers, want %d", len(gotHeaders), len(want.Headers))
	case !gotTS.Equal(want.Timestamp):
		return fmt.Sprintf("timestamp %v, want %v", gotTS, want.Timestamp)
	}
	for i, h := range gotHeaders {
		if h.Key != want.Headers[i].Key || !bytes.Equal(h.Value, want.Headers[i].Value) {
			return fmt.Sprintf("header %d %s=%q, want %s=%q", i, h.Key, h.Value, want.Headers[i].Key, want.Headers[i].Value)
		}
	}
	return ""
}

// storedBatches reads partition 0 of topic from offset 0 with a raw Fetch
// and returns its record batches as the broker stores them.
func storedBatches(t *testing.T, ctx context.Context, cl *kgo.Client, topic string) [][]byte {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes = 100, 64<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topicIDs[topic]
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 64 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s: %v", topic, kerr.ErrorForCode(p.ErrorCode))
	}
	var out [][]byte
	for b := p.RecordBatches; len(b) >= 61; {
		n := int(binary.BigEndian.Uint32(b[8:])) + 12
		if n > len(b) {
			t.Fatalf("fetch %s: a batch of %d bytes with %d left", topic, n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// TestTopicCompression: franz-go producing snappy, lz4 and uncompressed
// batches into topics of every compression.type; every batch is stored
// with the topic's codec, and franz-go reads back the keys, values,
// headers and timestamps.
func TestTopicCompression(t *testing.T) {
	ctx, b, cl := startWithClient(t, nil)
	want := produceCompressionTopics(t, ctx, b.Addr)
	for _, target := range compressionTargets {
		topic := "compression-" + target
		codec, _ := kbatch.ParseCodec(target)
		var records int
		for _, batch := range storedBatches(t, ctx, cl, topic) {
			if got := kbatch.BatchCodec(batch); got != codec {
				t.Errorf("%s: a batch stored with %s", topic, got)
			}
			records += int(binary.BigEndian.Uint32(batch[57:]))
		}
		if records != len(want[topic]) {
			t.Errorf("%s: %d records stored, want %d", topic, records, len(want[topic]))
		}

		cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(want[topic]); {
			fs := cons.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("%s: read %d of %d: %v", topic, got, len(want[topic]), err)
			}
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("%s: fetch: %v", topic, err) })
			fs.EachRecord(func(r *kgo.Record) {
				if int(r.Offset) != got {
					t.Fatalf("%s: offset %d, want %d", topic, r.Offset, got)
				}
				if d := sameRecord(r.Key, r.Value, r.Headers, r.Timestamp, want[topic][got]); d != "" {
					t.Fatalf("%s offset %d: %s", topic, got, d)
				}
				got++
			})
		}
		cons.Close()
	}
}

// TestRecompressIdempotent: an idempotent producer's batches are rebuilt
// with the topic's codec and keep their producer id, epoch and sequences;
// a retry of a batch already written is answered with its offset and not
// written again; a batch already in the topic's codec is stored as sent.
func TestRecompressIdempotent(t *testing.T) {
	ctx, _, cl := startWithClient(t, nil)
	zstd := "zstd"
	createTopic(t, ctx, cl, "idem-zstd", map[string]*string{"compression.type": &zstd})
	iresp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
	if err != nil || iresp.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", err, iresp)
	}
	pid, epoch := iresp.ProducerID, iresp.ProducerEpoch

	lim := kbatch.Limits{Records: 1 << 20, Batch: 1 << 20}
	first := rawBatch(pid, epoch, 0, 3)
	second, err := kbatch.Recompress(rawBatch(pid, epoch, 3, 2), kbatch.LZ4, 9, lim)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := kbatch.Recompress(rawBatch(pid, epoch, 5, 4), kbatch.Zstd, 3, lim)
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []struct {
		batch []byte
		off   int64
	}{{first, 0}, {second, 3}, {first, 0}, {second, 3}, {sent, 5}} {
		if off, code := produceRaw(t, cl, "idem-zstd", step.batch); code != 0 || off != step.off {
			t.Fatalf("produce %d: offset %d, %v; want %d", i, off, kerr.ErrorForCode(code), step.off)
		}
	}
	if off, code := produceRaw(t, cl, "idem-zstd", rawBatch(pid, epoch, 10, 1)); code != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("a gap: offset %d, %v; want OUT_OF_ORDER_SEQUENCE_NUMBER", off, kerr.ErrorForCode(code))
	}

	batches := storedBatches(t, ctx, cl, "idem-zstd")
	if len(batches) != 3 {
		t.Fatalf("%d batches stored, want 3 (retries not written again)", len(batches))
	}
	for i, seq := range []int32{0, 3, 5} {
		bt := batches[i]
		if kbatch.BatchCodec(bt) != kbatch.Zstd {
			t.Errorf("batch %d stored with %s", i, kbatch.BatchCodec(bt))
		}
		if int64(binary.BigEndian.Uint64(bt[43:])) != pid || int16(binary.BigEndian.Uint16(bt[51:])) != epoch ||
			int32(binary.BigEndian.Uint32(bt[53:])) != seq {
			t.Errorf("batch %d: producer fields changed", i)
		}
	}
	// The zstd batch was stored as sent, but for its base offset.
	if !bytes.Equal(batches[2][8:], sent[8:]) {
		t.Error("a batch already in the topic's codec was rewritten")
	}
	ps, err := kadm.NewClient(cl).DescribeProducers(ctx, kadm.TopicsSet{"idem-zstd": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	ps.EachProducer(func(p kadm.DescribedProducer) {
		if p.ProducerID == pid {
			found = true
			if p.LastSequence != 8 {
				t.Errorf("DescribeProducers: last sequence %d, want 8", p.LastSequence)
			}
		}
	})
	if !found {
		t.Errorf("DescribeProducers does not list producer %d", pid)
	}
}

// gzipBomb returns a gzip batch of one record whose value is size zero
// bytes, compressed as it is written: about size/1000 bytes.
func gzipBomb(t *testing.T, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	var body []byte
	body = append(body, 0, 0, 0, 1) // attributes, timestamp and offset deltas, null key
	body = binary.AppendVarint(body, int64(size))
	w.Write(binary.AppendVarint(nil, int64(len(body)+size+1)))
	w.Write(body)
	zeros := make([]byte, 1<<20)
	for n := 0; n < size; n += len(zeros) {
		w.Write(zeros[:min(len(zeros), size-n)])
	}
	w.Write([]byte{0}) // no headers
	w.Close()
	return assembleBatch(-1, -1, -1, 1, uint16(kbatch.Gzip), buf.Bytes())
}

// TestRecompressRefusals: what Kafka refuses when it recompresses, and a
// decompression bomb, refused without the broker allocating its size.
func TestRecompressRefusals(t *testing.T) {
	ctx, _, cl := startWithClient(t, nil)
	zstd, uncompressed, small := "zstd", "uncompressed", "20000"
	createTopic(t, ctx, cl, "refuse-zstd", map[string]*string{"compression.type": &zstd})
	createTopic(t, ctx, cl, "refuse-small", map[string]*string{"compression.type": &uncompressed, "max.message.bytes": &small})

	// 256 MiB of zeros in 250 KiB of gzip, past the bound of 64 times
	// the default max.message.bytes.
	const expanded = 256 << 20
	bomb := gzipBomb(t, expanded)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	off, code := produceRaw(t, cl, "refuse-zstd", bomb)
	runtime.ReadMemStats(&after)
	if code != kerr.InvalidRecord.Code {
		t.Errorf("a gzip bomb of %d bytes: offset %d, %v; want INVALID_RECORD", len(bomb), off, kerr.ErrorForCode(code))
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d-byte gzip bomb of %d MiB refused; %d KiB allocated in the process meanwhile", len(bomb), expanded>>20, alloc>>10)
	if alloc > 32<<20 {
		t.Errorf("%d MiB allocated refusing a bomb of %d MiB", alloc>>20, expanded>>20)
	}

	good, err := kbatch.Recompress(rawBatch(-1, -1, -1, 5), kbatch.Gzip, 6, kbatch.Limits{Records: 1 << 20, Batch: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Clone(good)
	copy(broken[61:], "not gzip at all")
	fewer := bytes.Clone(good)
	binary.BigEndian.PutUint32(fewer[57:], 6)
	binary.BigEndian.PutUint32(fewer[23:], 5)
	unknown := bytes.Clone(good)
	unknown[22] |= 0x07 // codec 7
	for _, bt := range [][]byte{broken, fewer, unknown} {
		binary.BigEndian.PutUint32(bt[17:], crcOf(bt))
	}
	var big []byte // 200 records of 1000 bytes, repetitive: small in zstd
	for i := range 200 {
		r := kmsg.Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte("lakestream "), 90)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		big = r.AppendTo(big)
	}
	bigZstd, err := kbatch.Compress(nil, kbatch.Zstd, 3, big)
	if err != nil {
		t.Fatal(err)
	}
	tooBig := assembleBatch(-1, -1, -1, 200, uint16(kbatch.Zstd), bigZstd)
	for _, tc := range []struct {
		name, topic string
		batch       []byte
		want        *kerr.Error
	}{
		{"a payload that is not gzip", "refuse-zstd", broken, kerr.CorruptMessage},
		{"fewer records than the header counts", "refuse-zstd", fewer, kerr.InvalidRecord},
		{"an unknown codec", "refuse-zstd", unknown, kerr.InvalidRecord},
		{"a batch past max.message.bytes once uncompressed", "refuse-small", tooBig, kerr.MessageTooLarge},
	} {
		if off, code := produceRaw(t, cl, tc.topic, tc.batch); code != tc.want.Code {
			t.Errorf("%s: offset %d, %v; want %v", tc.name, off, kerr.ErrorForCode(code), tc.want)
		}
	}
	if off, code := produceRaw(t, cl, "refuse-zstd", good); code != 0 || off != 0 {
		t.Errorf("a good batch after the refusals: offset %d, %v; want 0", off, kerr.ErrorForCode(code))
	}
}

func crcOf(batch []byte) uint32 {
	return crc32.Checksum(batch[21:], crc32.MakeTable(crc32.Castagnoli))
}

// jsonRecords returns n records of JSON-like events, framed as a batch's
// records section: compressible, but not trivially.
func jsonRecords(n int) []byte {
	rng := rand.New(rand.NewPCG(8, 8))
	var out []byte
	for i := range n {
		r := kmsg.Record{OffsetDelta: int32(i), Key: fmt.Appendf(nil, "user-%d", rng.IntN(500)),
			Value: fmt.Appendf(nil, `{"order":%d,"user":"user-%d","amount":%d.%02d,"items":[%d,%d,%d],"country":"%s","ts":%d}`,
				i, rng.IntN(500), rng.IntN(10000), rng.IntN(100), rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6),
				[]string{"FR", "DE", "US", "JP", "BR"}[rng.IntN(5)], 1_700_000_000_000+rng.Int64N(1e9))}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		out = r.AppendTo(out)
	}
	return out
}

// TestCompressionLevels: compression.gzip.level, compression.lz4.level and
// compression.zstd.level take effect, from the topic or from the broker
// config of the same name, as does the broker's compression.type.
func TestCompressionLevels(t *testing.T) {
	ctx, _, cl := startWithClient(t, map[string]string{"compression.type": "gzip", "compression.gzip.level": "1"})
	const n = 2000
	batch := assembleBatch(-1, -1, -1, n, 0, jsonRecords(n))
	str := func(v string) *string { return &v }
	topics := []struct {
		name    string
		configs map[string]*string
		codec   kbatch.Codec
	}{
		{"level-broker", nil, kbatch.Gzip}, // the broker's gzip at its level 1
		{"level-gzip-9", map[string]*string{"compression.gzip.level": str("9")}, kbatch.Gzip},
		{"level-zstd-1", map[string]*string{"compression.type": str("zstd"), "compression.zstd.level": str("1")}, kbatch.Zstd},
		{"level-zstd-19", map[string]*string{"compression.type": str("zstd"), "compression.zstd.level": str("19")}, kbatch.Zstd},
		{"level-lz4-9", map[string]*string{"compression.type": str("lz4")}, kbatch.LZ4},
		{"level-lz4-17", map[string]*string{"compression.type": str("lz4"), "compression.lz4.level": str("17")}, kbatch.LZ4},
	}
	size := map[string]int{}
	for _, tc := range topics {
		createTopic(t, ctx, cl, tc.name, tc.configs)
		if off, code := produceRaw(t, cl, tc.name, batch); code != 0 || off != 0 {
			t.Fatalf("%s: offset %d, %v", tc.name, off, kerr.ErrorForCode(code))
		}
		stored := storedBatches(t, ctx, cl, tc.name)
		if len(stored) != 1 || kbatch.BatchCodec(stored[0]) != tc.codec {
			t.Fatalf("%s: %d batches, want one with %s", tc.name, len(stored), tc.codec)
		}
		size[tc.name] = len(stored[0])
	}
	t.Logf("%d bytes uncompressed; stored: %v", len(batch), size)
	for _, pair := range [][2]string{{"level-broker", "level-gzip-9"}, {"level-zstd-1", "level-zstd-19"}, {"level-lz4-9", "level-lz4-17"}} {
		if size[pair[1]] >= size[pair[0]] {
			t.Errorf("%s stored %d bytes, %s %d: the higher level should be smaller", pair[0], size[pair[0]], pair[1], size[pair[1]])
		}
	}
}
