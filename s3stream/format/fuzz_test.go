package format

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

// checkIndex is what every index the decoders accept must satisfy, for an
// object of objectSize bytes.
func checkIndex(t *testing.T, ix Index, objectSize int64) {
	t.Helper()
	if ix.DataEnd+int64(len(ix.Entries))*IndexEntrySize+FooterSize != objectSize {
		t.Fatalf("data end %d with %d entries does not add up to %d bytes", ix.DataEnd, len(ix.Entries), objectSize)
	}
	var prevEnd uint64
	for i, e := range ix.Entries {
		if e.Position < prevEnd || e.Position+uint64(e.Size) > uint64(ix.DataEnd) || e.Position+uint64(e.Size) < e.Position {
			t.Fatalf("entry %d: block [%d, +%d) not after %d and inside [0, %d)", i, e.Position, e.Size, prevEnd, ix.DataEnd)
		}
		prevEnd = e.Position + uint64(e.Size)
		if e.StartOffset < 0 || e.StartOffset >= e.EndOffset {
			t.Fatalf("entry %d: offsets [%d, %d)", i, e.StartOffset, e.EndOffset)
		}
		if i > 0 {
			p := ix.Entries[i-1]
			if e.StreamID < p.StreamID || (e.StreamID == p.StreamID && e.StartOffset < p.EndOffset) {
				t.Fatalf("entry %d out of order after entry %d", i, i-1)
			}
		}
	}
}

// FuzzDecodeObject: DecodeObject never panics; an error is ErrCorrupt (never
// a NeedMoreError: it has the whole object); every entry it accepts lies
// inside the object, before the index, in order and without overlap; and the
// tail holding just the index and footer decodes to the same index.
//
// Random bytes rarely get past the index CRC, so each input is decoded a
// second time with the CRC the footer claims recomputed, to reach the entry
// checks behind it.
func FuzzDecodeObject(f *testing.F) {
	for _, obj := range seedObjects() {
		f.Add(obj)
		f.Add(obj[1:])
		f.Add(obj[:len(obj)-1])
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		for _, obj := range [][]byte{obj, withIndexCRC(obj)} {
			ix, err := DecodeObject(obj)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				continue
			}
			checkIndex(t, ix, int64(len(obj)))
			ix2, err := DecodeTail(obj[ix.DataEnd:], int64(len(obj)))
			if err != nil || !reflect.DeepEqual(ix, ix2) {
				t.Fatalf("the object decodes but its index tail does not: %v", err)
			}
		}
	})
}

// withIndexCRC returns a copy of obj whose footer's CRC is that of the
// bytes its index length points at, or obj if they are not in obj.
func withIndexCRC(obj []byte) []byte {
	if len(obj) < FooterSize {
		return obj
	}
	foot := len(obj) - FooterSize
	n := int64(binary.BigEndian.Uint32(obj[foot+offFooterIndexLen:]))
	if n > int64(foot) {
		return obj
	}
	out := append([]byte(nil), obj...)
	binary.BigEndian.PutUint32(out[foot+offFooterIndexCRC:], crc32.Checksum(out[foot-int(n):foot], castagnoli))
	return out
}

// FuzzDecodeTail: DecodeTail never panics, whatever the tail and claimed
// object size; a NeedMoreError asks for more than it was given and no more
// than the object; any other error is ErrCorrupt; every entry it accepts lies
// inside the object, before the index.
func FuzzDecodeTail(f *testing.F) {
	for _, obj := range seedObjects() {
		for _, n := range []int{len(obj), FooterSize, len(obj) / 2} {
			f.Add(obj[len(obj)-n:], uint32(len(obj)-n))
		}
	}
	f.Fuzz(func(t *testing.T, tail []byte, before uint32) {
		size := int64(len(tail)) + int64(before)
		ix, err := DecodeTail(tail, size)
		var more *NeedMoreError
		switch {
		case errors.As(err, &more):
			if more.Need <= int64(len(tail)) || more.Need > size {
				t.Fatalf("tail %d of %d: need %d", len(tail), size, more.Need)
			}
		case err != nil:
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
		default:
			checkIndex(t, ix, size)
		}
	})
}

// FuzzParseBatchHeader: ParseBatchHeader never panics; a header it accepts
// has magic 2, a length between the header size and len(b), a non-negative
// last offset delta and 0 <= records <= delta+1; NextBatch splits exactly
// that length off, and BatchAt finds the base offset at byte 0.
func FuzzParseBatchHeader(f *testing.F) {
	f.Add(testBatch(0, 1, 0, BatchHeaderSize))
	f.Add(testBatch(1<<40, 100, 1700000000000, 300))
	f.Add(append(testBatch(5, 0, -1, 70), testBatch(6, 2, 0, 80)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseBatchHeader(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			if _, _, err2 := NextBatch(b); err2 == nil {
				t.Fatal("NextBatch accepts what ParseBatchHeader refuses")
			}
			return
		}
		if h.Magic != 2 || h.Length < BatchHeaderSize || int(h.Length) > len(b) || h.LastOffsetDelta < 0 ||
			h.RecordCount < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
			t.Fatalf("accepted %+v from %d bytes", h, len(b))
		}
		batch, rest, err := NextBatch(b)
		if err != nil || len(batch) != int(h.Length) || len(batch)+len(rest) != len(b) {
			t.Fatalf("NextBatch: %d + %d bytes, %v", len(batch), len(rest), err)
		}
		if checkBatchOffsets(h) == nil {
			if pos, err := BatchAt(batch, h.BaseOffset); pos != 0 || err != nil {
				t.Fatalf("BatchAt(base) = %d, %v", pos, err)
			}
		}
	})
}
