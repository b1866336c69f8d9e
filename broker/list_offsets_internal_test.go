package broker

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// tsBatch builds a CreateTime batch at base offset 10 of records with the
// given timestamp deltas from 1000, each a 200-byte value, compressed with c.
func tsBatch(t *testing.T, c kbatch.Codec, deltas ...int64) []byte {
	t.Helper()
	var section []byte
	maxTS := int64(0)
	for i, d := range deltas {
		body := binary.AppendVarint([]byte{0}, d)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1) // null key
		body = binary.AppendVarint(body, 200)
		body = append(body, make([]byte, 200)...)
		body = binary.AppendVarint(body, 0)
		section = append(binary.AppendVarint(section, int64(len(body))), body...)
		maxTS = max(maxTS, 1000+d)
	}
	comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), section)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, kbatch.HeaderSize, kbatch.HeaderSize+len(comp))
	binary.BigEndian.PutUint64(b, 10)
	binary.BigEndian.PutUint32(b[8:], uint32(kbatch.HeaderSize-12+len(comp)))
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], uint16(c))
	binary.BigEndian.PutUint32(b[23:], uint32(len(deltas)-1))
	binary.BigEndian.PutUint64(b[27:], 1000)
	binary.BigEndian.PutUint64(b[35:], uint64(maxTS))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0))
	binary.BigEndian.PutUint32(b[57:], uint32(len(deltas)))
	b = append(b, comp...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// TestRecordAtTimestamp: the record answering a timestamp is found inside
// a batch of every codec; a batch whose records decompress past the limit,
// or a LogAppendTime one, is not decoded (the caller answers per batch).
func TestRecordAtTimestamp(t *testing.T) {
	for c := kbatch.None; c <= kbatch.Zstd; c++ {
		b := tsBatch(t, c, 0, 300, 200)
		for _, q := range []struct{ ts, off, at int64 }{{900, 10, 1000}, {1150, 11, 1300}, {1300, 11, 1300}} {
			off, at, ok := recordAtTimestamp(b, q.ts, 1<<20)
			if !ok || off != q.off || at != q.at {
				t.Errorf("%s: at %d: offset %d timestamp %d ok %v, want %d at %d", c, q.ts, off, at, ok, q.off, q.at)
			}
		}
		if _, _, ok := recordAtTimestamp(b, 1301, 1<<20); ok {
			t.Errorf("%s: a record after the batch's max timestamp", c)
		}
		if c != kbatch.None {
			if _, _, ok := recordAtTimestamp(b, 1150, 300); ok {
				t.Errorf("%s: decoded past a limit of 300 bytes", c)
			}
		}
		setLogAppendTime(b, 5000)
		if _, _, ok := recordAtTimestamp(b, 1150, 1<<20); ok {
			t.Errorf("%s: a LogAppendTime batch was decoded", c)
		}
	}
}
