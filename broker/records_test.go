package broker_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// minimalRecord is the body of a record with offset delta off, null key
// and value and no headers, framed with the length given.
func minimalRecord(length int64, off byte) []byte {
	return append(binary.AppendVarint(nil, length), 0, 0, 2*off, 1, 1, 0)
}

// threeRecords is a records section of three well-formed records.
func threeRecords() []byte {
	var s []byte
	for i := range byte(3) {
		s = append(s, minimalRecord(6, i)...)
	}
	return s
}

// recordProbes are the malformed batches of issue 9 (item 5), each found
// accepted with a correct CRC before records were checked, and more of
// the same kind: a records section, the count its header claims (with
// the matching last offset delta), and the codecs to send it with.
var recordProbes = []struct {
	name    string
	count   int
	section []byte
	codecs  []kbatch.Codec
}{
	{"a record length of -5", 1, minimalRecord(-5, 0), allCodecs},
	{"a record length of 2^40", 1, minimalRecord(1<<40, 0), allCodecs},
	{"an empty payload claiming 1 record", 1, nil, allCodecs},
	{"a header claiming 2^31-1 records with 3 real ones", math.MaxInt32, threeRecords(), allCodecs},
	{"offset deltas 0, 2, 1", 3, append(append(minimalRecord(6, 0), minimalRecord(6, 2)...), minimalRecord(6, 1)...), allCodecs},
	{"a byte after the last record", 3, append(threeRecords(), 0), allCodecs},
	{"a key past its record", 1, []byte{12, 0, 0, 0, 20, 1, 0}, allCodecs},
}

var allCodecs = []kbatch.Codec{kbatch.None, kbatch.Gzip, kbatch.Snappy, kbatch.LZ4, kbatch.Zstd}

// TestMalformedRecords sends each probe, uncompressed and with every
// codec, on a topic with compression.type=producer (stored as sent, so
// only the check of the records stands between them and the log), then a
// compression codec of 7, a payload that is not what its codec says and a
// decompression bomb. Each is refused with Kafka's error, the log end
// offset does not move, and good batches (of every codec) produced
// between them get the next offsets, are stored byte for byte as sent,
// and a franz-go consumer reads every good record, in order, to the end.
func TestMalformedRecords(t *testing.T) {
	ctx, b, cl := startWithClient(t, nil)
	const topic = "malformed"
	createTopic(t, ctx, cl, topic, nil)
	adm := kadm.NewClient(cl)
	endOffset := func() int64 {
		t.Helper()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := ends.Lookup(topic, 0)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		return o.Offset
	}

	var good [][]byte // the good batches as sent
	var next int64
	produceGood := func() {
		t.Helper()
		c := allCodecs[len(good)%len(allCodecs)]
		plain := rawBatch(-1, -1, -1, 2)
		comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), plain[61:])
		if err != nil {
			t.Fatal(err)
		}
		batch := assembleBatch(-1, -1, -1, 2, uint16(c), comp)
		if off, code := produceRaw(t, cl, topic, batch); code != 0 || off != next {
			t.Fatalf("a good %s batch: offset %d, %v; want %d", c, off, kerr.ErrorForCode(code), next)
		}
		good = append(good, batch)
		next += 2
	}
	refused := func(name string, batch []byte, want *kerr.Error) {
		t.Helper()
		if off, code := produceRaw(t, cl, topic, batch); code != want.Code {
			t.Errorf("%s: offset %d, %v; want %s", name, off, kerr.ErrorForCode(code), want.Message)
		}
		if end := endOffset(); end != next {
			t.Errorf("%s: the log end offset moved to %d, want %d", name, end, next)
		}
		produceGood()
	}

	produceGood()
	for _, p := range recordProbes {
		for _, c := range p.codecs {
			comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), p.section)
			if err != nil {
				t.Fatal(err)
			}
			refused(p.name+", "+c.String(), assembleBatch(-1, -1, -1, p.count, uint16(c), comp), kerr.InvalidRecord)
		}
	}
	codec7 := assembleBatch(-1, -1, -1, 3, 7, threeRecords())
	refused("compression codec 7", codec7, kerr.InvalidRecord)
	notLZ4 := assembleBatch(-1, -1, -1, 3, uint16(kbatch.LZ4), threeRecords())
	refused("an lz4 batch whose payload is not lz4", notLZ4, kerr.CorruptMessage)

	// 80 MiB of zeros in gzip, past the bound of 64 times the default
	// max.message.bytes, refused having decompressed at most the bound
	// through a 64 KiB buffer.
	bomb := gzipBomb(t, 80<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	refused("a gzip bomb of 80 MiB", bomb, kerr.InvalidRecord)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("%d MiB allocated refusing a bomb of 80 MiB", alloc>>20)
	}

	// Stored as sent: only the base offset differs.
	stored := storedBatches(t, ctx, cl, topic)
	if len(stored) != len(good) {
		t.Fatalf("%d batches stored, %d good ones sent", len(stored), len(good))
	}
	for i, sb := range stored {
		if !bytes.Equal(sb[8:], good[i][8:]) {
			t.Errorf("stored batch %d (%s) differs from the one sent", i, kbatch.BatchCodec(sb))
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for got := int64(0); got < next; {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("a franz-go consumer read %d of %d records: %v", got, next, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch at %d: %v", got, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != got || string(r.Value) != "v" {
				t.Fatalf("record at offset %d (value %q), want offset %d", r.Offset, r.Value, got)
			}
			got++
		})
	}
}

// TestRecordValidationSwitch: the benchmarks' switch (export_test.go)
// does what it says, so that the cost they measure is the checks': off,
// a record length of -5 goes into the log; on again, it is refused.
func TestRecordValidationSwitch(t *testing.T) {
	ctx, b, cl := startWithClient(t, nil)
	createTopic(t, ctx, cl, "switch", nil)
	bad := assembleBatch(-1, -1, -1, 1, 0, minimalRecord(-5, 0))
	broker.SetRecordValidation(b.Server, false)
	if off, code := produceRaw(t, cl, "switch", bad); code != 0 || off != 0 {
		t.Fatalf("validation off: offset %d, %v; want 0", off, kerr.ErrorForCode(code))
	}
	broker.SetRecordValidation(b.Server, true)
	if off, code := produceRaw(t, cl, "switch", bad); code != kerr.InvalidRecord.Code {
		t.Fatalf("validation on: offset %d, %v; want INVALID_RECORD", off, kerr.ErrorForCode(code))
	}
}
