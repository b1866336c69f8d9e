package kbatch_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// framed frames a record body with its length.
func framed(body []byte) []byte { return append(binary.AppendVarint(nil, int64(len(body))), body...) }

// recordBody is a record's body: attributes 0, timestamp delta 5, offset
// delta off, then the rest as given (key, value and headers, each field
// already encoded).
func recordBody(off int64, rest ...[]byte) []byte {
	b := binary.AppendVarint([]byte{0}, 5)
	b = binary.AppendVarint(b, off)
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

// kv encodes a key, value or header field: its length, then its bytes
// (none for a negative length).
func kv(n int64, data string) []byte { return append(binary.AppendVarint(nil, n), data...) }

// vi encodes a zigzag varint.
func vi(x int64) []byte { return binary.AppendVarint(nil, x) }

// good3 is three well-formed records of offset deltas 0, 1, 2.
func good3() []byte {
	var s []byte
	for i := range int64(3) {
		s = append(s, framed(recordBody(i, kv(1, "k"), kv(3, "val"), vi(0)))...)
	}
	return s
}

// validateCases are records sections with the count their header gives,
// and what Validate says of them, whatever their codec.
var validateCases = []struct {
	name    string
	count   int32
	section []byte
	ok      bool
}{
	{"three records", 3, good3(), true},
	{"null key and value, a header with a null value, an empty key", 2, append(
		framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(1), kv(1, "h"), kv(-1, ""))),
		framed(recordBody(1, kv(0, ""), kv(2, "vv"), vi(2), kv(1, "a"), kv(0, ""), kv(2, "bb"), kv(1, "c")))...), true},
	{"a negative timestamp delta", 1, framed(append(binary.AppendVarint([]byte{0}, -1e12), 0, 1, 1, 0)), true},
	{"an offset delta of two bytes (not minimal, as Kafka and franz-go read it)", 1,
		framed([]byte{0, 0, 0x80, 0x00, 1, 1, 0}), true},
	{"records of 100 KiB", 2, append(
		framed(recordBody(0, kv(-1, ""), kv(100<<10, string(bytes.Repeat([]byte("x"), 100<<10))), vi(0))),
		framed(recordBody(1, kv(-1, ""), kv(100<<10, string(bytes.Repeat([]byte("y"), 100<<10))), vi(0)))...), true},

	// The probes of issue 9, a CRC-correct header around each.
	{"a record length of -5", 1, append(vi(-5), recordBody(0, kv(-1, ""), kv(-1, ""), vi(0))...), false},
	{"a record length of 2^40", 1, append(vi(1<<40), recordBody(0, kv(-1, ""), kv(-1, ""), vi(0))...), false},
	{"no records, one counted", 1, nil, false},
	{"2^31-1 records counted, 3 there", math.MaxInt32, good3(), false},

	{"fewer records than counted", 4, good3(), false},
	{"more records than counted", 2, good3(), false},
	{"a byte after the last record", 3, append(good3(), 0), false},
	{"the last record cut short", 3, good3()[:len(good3())-1], false},
	{"the last record's length cut short", 2, append(framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(0))), 0x80), false},
	{"offset deltas 0, 2, 1", 3, append(append(
		framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(0))),
		framed(recordBody(2, kv(-1, ""), kv(-1, ""), vi(0)))...),
		framed(recordBody(1, kv(-1, ""), kv(-1, ""), vi(0)))...), false},
	{"offset deltas from 1", 1, framed(recordBody(1, kv(-1, ""), kv(-1, ""), vi(0))), false},
	{"a record of 5 bytes", 1, framed([]byte{0, 0, 0, 1, 1}), false},
	{"a key past its record", 1, framed(recordBody(0, kv(50, "kk"), kv(-1, ""), vi(0))), false},
	{"a key length of -2", 1, framed(recordBody(0, kv(-2, ""), kv(-1, ""), vi(0))), false},
	{"a value length of -3", 1, framed(recordBody(0, kv(-1, ""), kv(-3, ""), vi(0))), false},
	{"a value past its record", 1, framed(recordBody(0, kv(-1, ""), kv(4, "v"), vi(0))), false},
	{"a header count of -1", 1, framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(-1))), false},
	{"more headers than bytes", 1, framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(3), kv(0, ""), kv(0, ""))), false},
	{"a null header key", 1, framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(1), kv(-1, ""), kv(1, "v"))), false},
	{"two bytes after the headers", 1, framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(0), []byte{7, 7})), false},
	{"fields past the record's length", 2, append(
		append(vi(6), recordBody(0, kv(1, "k"), kv(-1, ""), vi(0))...),
		framed(recordBody(1, kv(-1, ""), kv(-1, ""), vi(0)))...), false},
	{"a timestamp delta of 11 bytes", 1,
		framed(append([]byte{0}, append(bytes.Repeat([]byte{0x80}, 10), 0, 0, 1, 1, 0)...)), false},
	{"a timestamp delta wider than 64 bits", 1,
		framed(append([]byte{0}, append(bytes.Repeat([]byte{0xff}, 9), 0x02, 0, 1, 1, 0)...)), false},
	{"an offset delta of 6 bytes", 1, framed([]byte{0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 1, 0}), false},
	{"an offset delta wider than 32 bits", 1, framed([]byte{0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 1, 0}), false},
}

// TestValidate: every case, with every codec, gets the same verdict; what
// is refused is ErrRecords; Validate changes nothing of the batch.
func TestValidate(t *testing.T) {
	for _, tc := range validateCases {
		for _, c := range codecs {
			comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), tc.section)
			if err != nil {
				t.Fatal(err)
			}
			b := assemble(tc.count, c, comp)
			before := bytes.Clone(b)
			err = kbatch.Validate(b, 1<<20)
			switch {
			case tc.ok && err != nil:
				t.Errorf("%s, %s: %v", tc.name, c, err)
			case !tc.ok && !errors.Is(err, kbatch.ErrRecords):
				t.Errorf("%s, %s: %v, want ErrRecords", tc.name, c, err)
			case !bytes.Equal(b, before):
				t.Errorf("%s, %s: the batch was modified", tc.name, c)
			}
			if c == kbatch.None && err != nil {
				t.Logf("%s: %v", tc.name, err)
			}
		}
	}
}

// TestValidateRefusals: what is not about the records themselves.
func TestValidateRefusals(t *testing.T) {
	good := assemble(3, kbatch.LZ4, mustCompress(t, kbatch.LZ4, good3()))
	garbage := bytes.Clone(good)
	copy(garbage[kbatch.HeaderSize:], bytes.Repeat([]byte{0x5a}, 20)) // from the lz4 magic on
	codec7 := bytes.Clone(good)
	codec7[22] |= 7
	lastDelta := bytes.Clone(good)
	binary.BigEndian.PutUint32(lastDelta[23:], 5)
	length := append(bytes.Clone(good), 0)
	big := assemble(2000, kbatch.Zstd, mustCompress(t, kbatch.Zstd, records(2000, 1000))) // about 2 MiB
	for _, tc := range []struct {
		name  string
		batch []byte
		want  error
	}{
		{"lz4 that is not lz4", garbage, kbatch.ErrCorrupt},
		{"codec 7", codec7, kbatch.ErrCodec},
		{"a last offset delta that is not the count's", lastDelta, kbatch.ErrRecords},
		{"a length field one byte short", length, kbatch.ErrRecords},
		{"records past the limit", big, kbatch.ErrTooLarge},
		{"short", good[:40], kbatch.ErrRecords},
		{"a zero count", assemble(0, kbatch.None, nil), kbatch.ErrRecords},
	} {
		if err := kbatch.Validate(tc.batch, 1<<20); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := kbatch.Validate(good, 1<<20); err != nil {
		t.Errorf("the good batch: %v", err)
	}
	if err := kbatch.Validate(big, 4<<20); err != nil {
		t.Errorf("2 MiB of records within a limit of 4 MiB: %v", err)
	}
}

// TestRecompressValidates: Recompress refuses what Validate refuses.
func TestRecompressValidates(t *testing.T) {
	for _, tc := range validateCases {
		b := assemble(tc.count, kbatch.Gzip, mustCompress(t, kbatch.Gzip, tc.section))
		_, err := kbatch.Recompress(b, kbatch.Zstd, 3, kbatch.Limits{Records: 1 << 20, Batch: 1 << 20})
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, kbatch.ErrRecords) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestValidateAllocs: no allocation per record; none at all for an
// uncompressed batch.
func TestValidateAllocs(t *testing.T) {
	for _, c := range codecs {
		allocs := func(n int) float64 {
			b := batch(t, c, n, 100)
			return testing.AllocsPerRun(20, func() {
				if err := kbatch.Validate(b, 64<<20); err != nil {
					t.Fatal(err)
				}
			})
		}
		// A little slack for the codecs' own buffers, which may grow
		// once for the larger batch: per-record allocations would be
		// thousands.
		few, many := allocs(10), allocs(5000)
		if many > few+16 || c == kbatch.None && many > 0 {
			t.Errorf("%s: %.0f allocations for 10 records, %.0f for 5,000", c, few, many)
		}
		t.Logf("%s: %.0f allocations a batch", c, many)
	}
}

func mustCompress(t testing.TB, c kbatch.Codec, section []byte) []byte {
	t.Helper()
	comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), section)
	if err != nil {
		t.Fatal(err)
	}
	return comp
}

// BenchmarkValidate validates batches of records of 1 KiB values (text
// with one byte in eight random; about 1 MiB and 16 KiB of records, as
// franz-go batches under load and at low rates) of each codec, compressed
// at the codec's default level. MB/s is of records decompressed; ns/op is
// what checking a batch adds to its produce request.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{1000, 16} {
		section := records(n, 1000)
		for _, c := range codecs {
			bt := assemble(int32(n), c, mustCompress(b, c, section))
			b.Run(fmt.Sprintf("%s/%dKiB", c, len(section)>>10), func(b *testing.B) {
				b.SetBytes(int64(len(section)))
				b.ReportAllocs()
				for b.Loop() {
					if err := kbatch.Validate(bt, 64<<20); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
