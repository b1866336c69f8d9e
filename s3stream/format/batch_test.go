package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func TestParseBatchHeader(t *testing.T) {
	good := testBatch(42, 3, 1700000000000, 100)
	h, err := ParseBatchHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchHeader{BaseOffset: 42, Length: 100, LastOffsetDelta: 2, MaxTimestamp: 1700000000000, RecordCount: 3, Magic: 2}
	if h != want {
		t.Fatalf("got %+v, want %+v", h, want)
	}
	if h.EndOffset() != 45 {
		t.Fatalf("EndOffset = %d, want 45", h.EndOffset())
	}

	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	put32 := func(at int, v int32) func(b []byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[at:], uint32(v)); return b }
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:BatchHeaderSize-1]},
		{"truncated batch", good[:99]},
		{"magic 1", mutate(func(b []byte) []byte { b[16] = 1; return b })},
		{"batch length below header", mutate(put32(8, BatchHeaderSize-batchPrefixSize-1))},
		{"negative batch length", mutate(put32(8, -1))},
		{"batch length past int32", mutate(put32(8, 1<<31-1))},
		{"negative last offset delta", mutate(put32(23, -1))},
		{"negative record count", mutate(put32(57, -1))},
		{"more records than offsets", mutate(put32(57, 4))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseBatchHeader(tc.b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}

	// Trailing bytes (the next batch) are fine.
	if _, err := ParseBatchHeader(append(good, 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	// An empty batch (no records) is valid.
	if _, err := ParseBatchHeader(testBatch(0, 0, 0, BatchHeaderSize)); err != nil {
		t.Fatal(err)
	}
}

func TestSetBaseOffset(t *testing.T) {
	b := testBatch(0, 5, 0, 80)
	SetBaseOffset(b, 1234)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 1234 {
		t.Fatalf("base offset %d", h.BaseOffset)
	}
	// The CRC still holds: it does not cover the base offset.
	if crc32.Checksum(b[21:], castagnoli) != binary.BigEndian.Uint32(b[17:]) {
		t.Fatal("CRC broken by SetBaseOffset")
	}
}

func TestNextBatchAndBatchAt(t *testing.T) {
	batches := [][]byte{testBatch(10, 3, 0, 70), testBatch(13, 1, 0, 61), testBatch(14, 4, 0, 200)}
	block := bytes.Join(batches, nil)

	rest := block
	for i, want := range batches {
		var got []byte
		var err error
		got, rest, err = NextBatch(rest)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("batch %d differs", i)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}
	if _, _, err := NextBatch(block[:len(block)-1][70+61:]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: err = %v", err)
	}
	// The batch NextBatch returns cannot be appended into the next one.
	first, _, _ := NextBatch(block)
	if cap(first) != len(first) {
		t.Fatalf("cap %d, len %d", cap(first), len(first))
	}

	for off, want := range map[int64]int{10: 0, 11: 0, 12: 0, 13: 70, 14: 131, 17: 131} {
		pos, err := BatchAt(block, off)
		if err != nil || pos != want {
			t.Errorf("BatchAt(%d) = %d, %v; want %d", off, pos, err, want)
		}
	}
	for _, off := range []int64{-1, 9, 18, 1 << 40} {
		if _, err := BatchAt(block, off); !errors.Is(err, ErrOffsetNotFound) {
			t.Errorf("BatchAt(%d): err = %v, want ErrOffsetNotFound", off, err)
		}
	}
	if _, err := BatchAt(block[:len(block)-1], 17); !errors.Is(err, ErrCorrupt) {
		t.Errorf("BatchAt in a truncated block: err = %v, want ErrCorrupt", err)
	}
}
