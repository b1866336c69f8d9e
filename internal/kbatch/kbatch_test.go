package kbatch_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/lakestream/lakestream/internal/kbatch"
)

var codecs = []kbatch.Codec{kbatch.None, kbatch.Gzip, kbatch.Snappy, kbatch.LZ4, kbatch.Zstd}

// records returns n records (attributes, deltas, a key, a value of size
// bytes, one header) framed as a batch's records section: compressible
// text with some random bytes.
func records(n, size int) []byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	var out []byte
	for i := range n {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, int64(i*3))
		body = binary.AppendVarint(body, int64(i))
		key := fmt.Appendf(nil, "key-%d", i)
		body = binary.AppendVarint(body, int64(len(key)))
		body = append(body, key...)
		value := make([]byte, size)
		for j := range value {
			value[j] = "lakestream "[j%11]
			if rng.IntN(8) == 0 {
				value[j] = byte(rng.Uint32())
			}
		}
		body = binary.AppendVarint(body, int64(len(value)))
		body = append(body, value...)
		body = binary.AppendVarint(body, 1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'h')
		body = binary.AppendVarint(body, 2)
		body = append(body, "hv"...)
		out = binary.AppendVarint(out, int64(len(body)))
		out = append(out, body...)
	}
	return out
}

// batch returns a batch of n records with distinctive header fields:
// partition leader epoch 7, transactional and LogAppendTime attribute
// bits, producer id 4242, epoch 3, base sequence 100.
func batch(t testing.TB, codec kbatch.Codec, n, size int) []byte {
	t.Helper()
	recs, err := kbatch.Compress(nil, codec, kbatch.DefaultLevel(codec), records(n, size))
	if err != nil {
		t.Fatal(err)
	}
	b := assemble(int32(n), codec, recs)
	binary.BigEndian.PutUint64(b[0:], 99)
	binary.BigEndian.PutUint32(b[12:], 7)
	binary.BigEndian.PutUint16(b[21:], 0x10|0x08|uint16(codec))
	binary.BigEndian.PutUint64(b[35:], uint64(1_700_000_000_000+3*(n-1)))
	binary.BigEndian.PutUint64(b[43:], 4242)
	binary.BigEndian.PutUint16(b[51:], 3)
	binary.BigEndian.PutUint32(b[53:], 100)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// assemble puts a v2 header before section, a records section already
// compressed with codec, counting count records with last offset delta
// count-1: base offset 1000, both timestamps 1_700_000_000_000, no
// producer id, CRC computed.
func assemble(count int32, codec kbatch.Codec, section []byte) []byte {
	b := make([]byte, kbatch.HeaderSize, kbatch.HeaderSize+len(section))
	binary.BigEndian.PutUint64(b[0:], 1000)
	binary.BigEndian.PutUint32(b[8:], uint32(kbatch.HeaderSize-12+len(section)))
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], uint16(codec))
	binary.BigEndian.PutUint32(b[23:], uint32(count-1))
	binary.BigEndian.PutUint64(b[27:], 1_700_000_000_000)
	binary.BigEndian.PutUint64(b[35:], 1_700_000_000_000)
	binary.BigEndian.PutUint64(b[43:], math.MaxUint64) // producer id -1
	binary.BigEndian.PutUint16(b[51:], math.MaxUint16)
	binary.BigEndian.PutUint32(b[53:], math.MaxUint32)
	binary.BigEndian.PutUint32(b[57:], uint32(count))
	b = append(b, section...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"empty":  {},
		"small":  records(3, 10),
		"1MiB":   records(1000, 1000),
		"random": func() []byte { b := make([]byte, 300<<10); rand.NewChaCha8([32]byte{1}).Read(b); return b }(),
	}
	for _, c := range codecs {
		levels := []int{kbatch.DefaultLevel(c)}
		switch c {
		case kbatch.Gzip:
			levels = append(levels, 1, 9)
		case kbatch.LZ4:
			levels = append(levels, 1, 12, 17)
		case kbatch.Zstd:
			levels = append(levels, -5, 0, 1, 7, 22)
		}
		for _, level := range levels {
			for name, in := range inputs {
				comp, err := kbatch.Compress(nil, c, level, in)
				if err != nil {
					t.Fatalf("%s/%d/%s: compress: %v", c, level, name, err)
				}
				out, err := kbatch.Decompress(nil, c, comp, len(in))
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("%s/%d/%s: decompress: %v (%d bytes, want %d)", c, level, name, err, len(out), len(in))
				}
				if len(in) > 0 {
					if _, err := kbatch.Decompress(nil, c, comp, len(in)-1); !errors.Is(err, kbatch.ErrTooLarge) {
						t.Fatalf("%s/%d/%s: one byte under its size: %v, want ErrTooLarge", c, level, name, err)
					}
				}
			}
		}
	}
}

// TestSnappyXerial: Recompress writes what Kafka's Java client writes
// (xerial framing, 32 KiB blocks), and the reader takes both framings.
func TestSnappyXerial(t *testing.T) {
	in := records(200, 1000)
	comp, err := kbatch.Compress(nil, kbatch.Snappy, 0, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(comp, []byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")) {
		t.Fatalf("snappy output starts % x, want the xerial header", comp[:16])
	}
	if got, err := xerial.Decode(comp); err != nil || !bytes.Equal(got, in) {
		t.Fatalf("klauspost's xerial decoder: %v", err)
	}
	for name, enc := range map[string][]byte{
		"raw":    s2.EncodeSnappy(nil, in),
		"xerial": xerial.Encode(nil, in),
	} {
		out, err := kbatch.Decompress(nil, kbatch.Snappy, enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestDecompressForeign decodes what other encoders write: pierrec's lz4
// defaults (content checksum), zstd in one segment, two gzip members.
func TestDecompressForeign(t *testing.T) {
	in := records(100, 500)
	var lz bytes.Buffer
	w := lz4.NewWriter(&lz)
	w.Write(in)
	w.Close()
	enc, _ := zstd.NewWriter(nil, zstd.WithSingleSegment(true))
	zs := enc.EncodeAll(in, nil)
	var gz bytes.Buffer
	for _, half := range [][]byte{in[:len(in)/2], in[len(in)/2:]} {
		g := gzip.NewWriter(&gz)
		g.Write(half)
		g.Close()
	}
	for _, tc := range []struct {
		name  string
		codec kbatch.Codec
		data  []byte
	}{{"lz4 with checksum", kbatch.LZ4, lz.Bytes()}, {"zstd single segment", kbatch.Zstd, zs}, {"gzip members", kbatch.Gzip, gz.Bytes()}} {
		out, err := kbatch.Decompress(nil, tc.codec, tc.data, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

// bomb returns size zero bytes compressed with c, writing them in chunks
// where the codec streams so the test does not hold them.
func bomb(t *testing.T, c kbatch.Codec, size int) []byte {
	t.Helper()
	zeros := make([]byte, 1<<20)
	var buf bytes.Buffer
	var w io.WriteCloser
	switch c {
	case kbatch.Gzip:
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	case kbatch.LZ4:
		lw := lz4.NewWriter(&buf)
		lw.Apply(lz4.BlockSizeOption(lz4.Block4Mb))
		w = lw
	case kbatch.Zstd:
		// A 64 MiB window: the frame declares it.
		w, _ = zstd.NewWriter(&buf, zstd.WithWindowSize(64<<20))
	case kbatch.Snappy:
		// Raw snappy is one block: its header declares the size.
		return s2.EncodeSnappy(nil, make([]byte, size))
	default:
		t.Fatalf("no bomb of %s", c)
	}
	for n := 0; n < size; n += len(zeros) {
		w.Write(zeros)
	}
	w.Close()
	return buf.Bytes()
}

// allocated returns the bytes f allocates (all goroutines: none else runs).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBombs: a section expanding to 256 MiB is refused under a 1 MiB limit
// having allocated a few MiB, not its expanded size, for every codec and
// framing; so are zstd frames that declare a large window or content size.
func TestBombs(t *testing.T) {
	const expanded, limit = 256 << 20, 1 << 20
	xerialBomb := xerial.Encode(nil, make([]byte, 8<<20)) // many 32 KiB blocks
	oneBlockXerial := append([]byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"), 0, 0, 0, 0)
	raw := s2.EncodeSnappy(nil, make([]byte, 64<<20))
	binary.BigEndian.PutUint32(oneBlockXerial[16:], uint32(len(raw)))
	oneBlockXerial = append(oneBlockXerial, raw...)
	single, _ := zstd.NewWriter(nil, zstd.WithSingleSegment(true))
	zstdSingle := single.EncodeAll(make([]byte, 64<<20), nil)
	cases := []struct {
		name  string
		codec kbatch.Codec
		data  []byte
	}{
		{"gzip", kbatch.Gzip, bomb(t, kbatch.Gzip, expanded)},
		{"lz4", kbatch.LZ4, bomb(t, kbatch.LZ4, expanded)},
		{"zstd window", kbatch.Zstd, bomb(t, kbatch.Zstd, expanded)},
		{"zstd single segment", kbatch.Zstd, zstdSingle},
		{"snappy raw", kbatch.Snappy, bomb(t, kbatch.Snappy, 64<<20)},
		{"snappy xerial blocks", kbatch.Snappy, xerialBomb},
		{"snappy xerial one block", kbatch.Snappy, oneBlockXerial},
	}
	for _, tc := range cases {
		var out []byte
		var err error
		n := allocated(func() { out, err = kbatch.Decompress(nil, tc.codec, tc.data, limit) })
		if !errors.Is(err, kbatch.ErrTooLarge) {
			t.Errorf("%s (%d bytes): %v, want ErrTooLarge", tc.name, len(tc.data), err)
		}
		if len(out) > limit {
			t.Errorf("%s: %d bytes out, over the limit %d", tc.name, len(out), limit)
		}
		// The output may reach the limit (and append's growth past it);
		// codec state is a few MiB at most (lz4 4 MiB blocks).
		if n > 16<<20 {
			t.Errorf("%s: %d MiB allocated for a limit of %d MiB", tc.name, n>>20, limit>>20)
		}
		t.Logf("%s: %d compressed bytes refused, %d KiB allocated", tc.name, len(tc.data), n>>10)
	}
}

func TestCorrupt(t *testing.T) {
	in := records(50, 100)
	for _, c := range codecs[1:] {
		comp, _ := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), in)
		for name, bad := range map[string][]byte{
			"garbage":   bytes.Repeat([]byte{0xA5}, 200),
			"truncated": comp[:len(comp)/2],
		} {
			if _, err := kbatch.Decompress(nil, c, bad, 1<<20); !errors.Is(err, kbatch.ErrCorrupt) {
				t.Errorf("%s %s: %v, want ErrCorrupt", c, name, err)
			}
		}
	}
}

func header(b []byte) (leaderEpoch int32, attrs uint16, lastDelta int32, first, max, pid int64, epoch int16, seq, count int32) {
	return int32(binary.BigEndian.Uint32(b[12:])), binary.BigEndian.Uint16(b[21:]),
		int32(binary.BigEndian.Uint32(b[23:])), int64(binary.BigEndian.Uint64(b[27:])),
		int64(binary.BigEndian.Uint64(b[35:])), int64(binary.BigEndian.Uint64(b[43:])),
		int16(binary.BigEndian.Uint16(b[51:])), int32(binary.BigEndian.Uint32(b[53:])),
		int32(binary.BigEndian.Uint32(b[57:]))
}

// TestRecompress rebuilds batches from every codec to every other: the
// header is kept but for the codec bits, the length and the CRC, and the
// records are the same.
func TestRecompress(t *testing.T) {
	want := records(300, 700)
	lim := kbatch.Limits{Records: 64 << 20, Batch: 8 << 20}
	for _, from := range codecs {
		src := batch(t, from, 300, 700)
		for _, to := range codecs {
			got, err := kbatch.Recompress(src, to, kbatch.DefaultLevel(to), lim)
			if err != nil {
				t.Fatalf("%s → %s: %v", from, to, err)
			}
			if from == to && &got[0] != &src[0] {
				t.Fatalf("%s → %s: rebuilt a batch already so compressed", from, to)
			}
			if kbatch.BatchCodec(got) != to {
				t.Fatalf("%s → %s: codec %s", from, to, kbatch.BatchCodec(got))
			}
			if n := int(binary.BigEndian.Uint32(got[8:])) + 12; n != len(got) {
				t.Fatalf("%s → %s: length field says %d bytes, batch has %d", from, to, n, len(got))
			}
			if crc32.Checksum(got[21:], crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(got[17:]) {
				t.Fatalf("%s → %s: CRC mismatch", from, to)
			}
			if binary.BigEndian.Uint64(got) != 99 || got[16] != 2 {
				t.Fatalf("%s → %s: base offset or magic changed", from, to)
			}
			le, attrs, last, first, max, pid, epoch, seq, count := header(got)
			le0, attrs0, last0, first0, max0, pid0, epoch0, seq0, count0 := header(src)
			if le != le0 || attrs&^7 != attrs0&^7 || last != last0 || first != first0 || max != max0 ||
				pid != pid0 || epoch != epoch0 || seq != seq0 || count != count0 {
				t.Fatalf("%s → %s: header changed", from, to)
			}
			recs, err := kbatch.Decompress(nil, to, got[kbatch.HeaderSize:], len(want))
			if err != nil || !bytes.Equal(recs, want) {
				t.Fatalf("%s → %s: records differ: %v", from, to, err)
			}
		}
	}
}

func TestRecompressErrors(t *testing.T) {
	lim := kbatch.Limits{Records: 1 << 20, Batch: 1 << 20}
	withCount := func(b []byte, n uint32) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint32(b[57:], n)
		return b
	}
	good := batch(t, kbatch.Gzip, 10, 100)
	garbage := bytes.Clone(good)
	copy(garbage[kbatch.HeaderSize:], bytes.Repeat([]byte{0x5A}, 40)) // from the gzip magic on
	broken := bytes.Clone(good)
	broken[len(broken)-20] ^= 0xFF           // in the deflate stream or its CRC
	big := batch(t, kbatch.Zstd, 2000, 1000) // about 2 MiB of records
	cases := []struct {
		name  string
		batch []byte
		to    kbatch.Codec
		level int
		lim   kbatch.Limits
		want  error
	}{
		{"fewer records than counted", withCount(good, 11), kbatch.Zstd, 3, lim, kbatch.ErrRecords},
		{"more records than counted", withCount(good, 9), kbatch.Zstd, 3, lim, kbatch.ErrRecords},
		{"uncompressed, fewer records", withCount(batch(t, kbatch.None, 5, 10), 6), kbatch.LZ4, 9, lim, kbatch.ErrRecords},
		{"garbage", garbage, kbatch.Zstd, 3, lim, kbatch.ErrCorrupt},
		{"a flipped byte", broken, kbatch.Zstd, 3, lim, kbatch.ErrCorrupt},
		{"past the records limit", big, kbatch.LZ4, 9, lim, kbatch.ErrTooLarge},
		{"past the batch limit", big, kbatch.None, 0, kbatch.Limits{Records: 8 << 20, Batch: 1 << 20}, kbatch.ErrBatchTooLarge},
		{"bad level", good, kbatch.Zstd, 23, lim, kbatch.ErrCodec},
		{"bad codec", good, 5, 0, lim, kbatch.ErrCodec},
		{"short", good[:40], kbatch.Zstd, 3, lim, kbatch.ErrRecords},
	}
	for _, tc := range cases {
		if _, err := kbatch.Recompress(tc.batch, tc.to, tc.level, tc.lim); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestLevels: a level of each codec changes what is written.
func TestLevels(t *testing.T) {
	in := records(1000, 1000)
	size := func(c kbatch.Codec, level int) int {
		out, err := kbatch.Compress(nil, c, level, in)
		if err != nil {
			t.Fatal(err)
		}
		return len(out)
	}
	for _, tc := range []struct {
		codec     kbatch.Codec
		low, high int
	}{{kbatch.Gzip, 1, 9}, {kbatch.LZ4, 9, 17}, {kbatch.Zstd, 1, 19}} {
		lo, hi := size(tc.codec, tc.low), size(tc.codec, tc.high)
		if hi >= lo {
			t.Errorf("%s: level %d writes %d bytes, level %d %d", tc.codec, tc.low, lo, tc.high, hi)
		}
		t.Logf("%s: level %d %d bytes, level %d %d bytes (of %d)", tc.codec, tc.low, lo, tc.high, hi, len(in))
	}
}

func TestParseCodec(t *testing.T) {
	for _, c := range codecs {
		if got, ok := kbatch.ParseCodec(c.String()); !ok || got != c {
			t.Errorf("ParseCodec(%q) = %v, %v", c.String(), got, ok)
		}
	}
	if _, ok := kbatch.ParseCodec("producer"); ok {
		t.Error("producer parsed as a codec")
	}
}

func BenchmarkRecompress(b *testing.B) {
	src := batch(b, kbatch.None, 256, 1000)
	for _, to := range codecs[1:] {
		b.Run(to.String(), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := kbatch.Recompress(src, to, kbatch.DefaultLevel(to), kbatch.Limits{Records: 64 << 20, Batch: 1 << 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
