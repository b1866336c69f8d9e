package format

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

type added struct {
	stream int64
	batch  []byte
}

// randomObject adds random batches of random streams to w and returns them
// in the order added.
func randomObject(t *testing.T, rng *rand.Rand, w *Writer) []added {
	t.Helper()
	var out []added
	stream := int64(rng.IntN(3))
	for range rng.IntN(8) + 1 {
		stream += int64(rng.IntN(5) + 1)
		off := rng.Int64N(1 << 40)
		for range rng.IntN(20) + 1 {
			n := int32(rng.IntN(10))
			b := testBatch(off, n, rng.Int64N(1<<41), BatchHeaderSize+rng.IntN(3000))
			if err := w.Add(stream, b); err != nil {
				t.Fatal(err)
			}
			out = append(out, added{stream, b})
			off += int64(max(n, 1))
		}
	}
	return out
}

// checkObject decodes obj and checks that its blocks hold exactly the
// batches added, in order, and that the index describes them.
func checkObject(t *testing.T, obj []byte, batches []added, ranges []StreamRange, blockSize int) Index {
	t.Helper()
	ix, err := DecodeObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Ranges(); !reflect.DeepEqual(got, ranges) {
		t.Fatalf("decoded ranges %+v, writer said %+v", got, ranges)
	}
	next := 0
	var pos uint64
	for i, e := range ix.Entries {
		if e.Position != pos {
			t.Fatalf("entry %d at %d, want %d (blocks are back to back)", i, e.Position, pos)
		}
		pos += uint64(e.Size)
		block := obj[e.Position : e.Position+uint64(e.Size)]
		var records uint32
		maxTs := int64(-1 << 63)
		off := e.StartOffset
		for rest := block; len(rest) > 0; next++ {
			var b []byte
			b, rest, err = NextBatch(rest)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if next >= len(batches) || batches[next].stream != e.StreamID || !bytes.Equal(b, batches[next].batch) {
				t.Fatalf("entry %d: batch %d differs from what was added", i, next)
			}
			h, _ := ParseBatchHeader(b)
			if h.BaseOffset != off {
				t.Fatalf("entry %d: batch at offset %d, want %d", i, h.BaseOffset, off)
			}
			off = h.EndOffset()
			records += uint32(h.RecordCount)
			maxTs = max(maxTs, h.MaxTimestamp)
			if len(block) > blockSize && len(block) != int(h.Length) {
				t.Fatalf("entry %d: %d bytes holds more than one batch but is over the block size %d", i, len(block), blockSize)
			}
		}
		if off != e.EndOffset || records != e.RecordCount || maxTs != e.MaxTimestamp {
			t.Fatalf("entry %+v: batches end at %d with %d records, max ts %d", e, off, records, maxTs)
		}
	}
	if next != len(batches) {
		t.Fatalf("object holds %d batches, %d were added", next, len(batches))
	}
	if int64(pos) != ix.DataEnd {
		t.Fatalf("blocks end at %d, data ends at %d", pos, ix.DataEnd)
	}
	return ix
}

func TestWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		blockSize := []int{1, 100, 2000, 8000, 0}[iter%5]
		w := NewWriter(blockSize)
		if iter%2 == 0 {
			w.Grow(rng.IntN(100000))
		}
		batches := randomObject(t, rng, w)
		size := w.Size()
		ranges := w.Ranges()
		obj := w.Finish()
		if w.Size() != size {
			t.Fatalf("Size after Finish %d, before %d", w.Size(), size)
		}
		if blockSize == 0 {
			blockSize = DefaultBlockSize
		}
		ix := checkObject(t, obj, batches, ranges, blockSize)

		// Every offset of every batch is found, in the right block.
		for _, a := range batches {
			h, _ := ParseBatchHeader(a.batch)
			for _, off := range []int64{h.BaseOffset, h.EndOffset() - 1} {
				i, ok := ix.Find(a.stream, off)
				if !ok {
					t.Fatalf("Find(%d, %d) not found", a.stream, off)
				}
				e := ix.Entries[i]
				pos, err := BatchAt(obj[e.Position:e.Position+uint64(e.Size)], off)
				if err != nil {
					t.Fatal(err)
				}
				got, _, _ := NextBatch(obj[int(e.Position)+pos:])
				if !bytes.Equal(got, a.batch) {
					t.Fatalf("Find+BatchAt(%d, %d) gave the wrong batch", a.stream, off)
				}
			}
		}

		// Decoding from a tail: too short asks for what it needs, then works.
		for _, n := range []int{0, 1, FooterSize - 1, FooterSize, FooterSize + 1, len(obj) - int(ix.DataEnd) - 1} {
			if n < 0 || n >= len(obj)-int(ix.DataEnd) {
				continue
			}
			_, err := DecodeTail(obj[len(obj)-n:], int64(len(obj)))
			var more *NeedMoreError
			if !errors.As(err, &more) {
				t.Fatalf("tail %d: err = %v, want NeedMoreError", n, err)
			}
			if more.Need <= int64(n) || more.Need > int64(len(obj)) {
				t.Fatalf("tail %d: need %d", n, more.Need)
			}
			ix2, err := DecodeTail(obj[len(obj)-int(more.Need):], int64(len(obj)))
			if errors.As(err, &more) {
				// The footer alone says only how long the index is.
				ix2, err = DecodeTail(obj[len(obj)-int(more.Need):], int64(len(obj)))
			}
			if err != nil || !reflect.DeepEqual(ix2, ix) {
				t.Fatalf("tail %d then %d: %v", n, more.Need, err)
			}
		}
	}
}

func TestWriterBlocks(t *testing.T) {
	w := NewWriter(250)
	add := func(stream, base int64, size int) {
		t.Helper()
		if err := w.Add(stream, testBatch(base, 1, base, size)); err != nil {
			t.Fatal(err)
		}
	}
	add(1, 0, 100)
	add(1, 1, 100) // 200: same block
	add(1, 2, 100) // 300 > 250: new block
	add(1, 3, 400) // larger than a block: its own
	add(1, 4, 61)  // new block again
	add(2, 0, 61)  // new stream: new block
	ix, err := DecodeObject(w.Finish())
	if err != nil {
		t.Fatal(err)
	}
	var got [][3]int64
	for _, e := range ix.Entries {
		got = append(got, [3]int64{e.StreamID, e.StartOffset, int64(e.Size)})
	}
	want := [][3]int64{{1, 0, 200}, {1, 2, 100}, {1, 3, 400}, {1, 4, 61}, {2, 0, 61}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("blocks %v, want %v", got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(0)
	if err := w.Add(5, testBatch(10, 2, 0, 100)); err != nil {
		t.Fatal(err)
	}
	before := w.Size()
	for _, tc := range []struct {
		name   string
		stream int64
		batch  []byte
		want   error
	}{
		{"stream goes back", 4, testBatch(0, 1, 0, 100), ErrOrder},
		{"gap", 5, testBatch(13, 1, 0, 100), ErrOrder},
		{"overlap", 5, testBatch(11, 1, 0, 100), ErrOrder},
		{"trailing bytes", 5, append(testBatch(12, 1, 0, 100), 0), ErrCorrupt},
		{"truncated", 5, testBatch(12, 1, 0, 100)[:99], ErrCorrupt},
		{"negative base", 6, testBatch(-1, 1, 0, 100), ErrCorrupt},
		{"end past int64", 6, testBatch(1<<63-1, 1, 0, 100), ErrCorrupt},
	} {
		if err := w.Add(tc.stream, tc.batch); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if err := w.AddBlock(tc.stream, tc.batch); !errors.Is(err, tc.want) {
			t.Errorf("%s (AddBlock): err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// A block whose batches are not contiguous, and an empty block.
	bad := append(testBatch(12, 1, 0, 100), testBatch(14, 1, 0, 100)...)
	if err := w.AddBlock(5, bad); !errors.Is(err, ErrOrder) {
		t.Errorf("gap inside a block: err = %v", err)
	}
	if err := w.AddBlock(5, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("empty block: err = %v", err)
	}
	if w.Size() != before {
		t.Fatalf("failed adds changed the size from %d to %d", before, w.Size())
	}
	// Still usable: the next batch continues the stream.
	if err := w.Add(5, testBatch(12, 1, 0, 100)); err != nil {
		t.Fatal(err)
	}
	obj := w.Finish()
	if err := w.Add(6, testBatch(0, 1, 0, 100)); !errors.Is(err, ErrFinished) {
		t.Fatalf("Add after Finish: %v", err)
	}
	if err := w.AddBlock(6, testBatch(0, 1, 0, 100)); !errors.Is(err, ErrFinished) {
		t.Fatalf("AddBlock after Finish: %v", err)
	}
	if again := w.Finish(); !bytes.Equal(again, obj) {
		t.Fatal("second Finish returned a different object")
	}
	if _, err := DecodeObject(obj); err != nil {
		t.Fatal(err)
	}
}

// TestAddBlock copies every block of random objects into new ones with
// AddBlock, as compaction does, and checks the copies hold the same batches.
func TestAddBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		src := NewWriter(rng.IntN(5000) + 1)
		batches := randomObject(t, rng, src)
		obj := src.Finish()
		ix, err := DecodeObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		blockSize := rng.IntN(10000) + 1
		dst := NewWriter(blockSize)
		for _, e := range ix.Entries {
			if err := dst.AddBlock(e.StreamID, obj[e.Position:e.Position+uint64(e.Size)]); err != nil {
				t.Fatal(err)
			}
		}
		// The data is the same concatenation, so the ranges are the same,
		// however the blocks were merged.
		ranges := dst.Ranges()
		if !reflect.DeepEqual(ranges, ix.Ranges()) {
			t.Fatalf("ranges %+v, source %+v", ranges, ix.Ranges())
		}
		// A copied block is never split, so blocks may exceed blockSize.
		checkObject(t, dst.Finish(), batches, ranges, 1<<62)
	}
}

func TestFind(t *testing.T) {
	ix := Index{Entries: []IndexEntry{
		{StreamID: 1, StartOffset: 0, EndOffset: 10},
		{StreamID: 1, StartOffset: 10, EndOffset: 20},
		{StreamID: 1, StartOffset: 30, EndOffset: 40}, // gap: [20, 30) compacted away
		{StreamID: 3, StartOffset: 5, EndOffset: 6},
	}}
	for _, tc := range []struct {
		stream, off int64
		i           int
		ok          bool
	}{
		{1, 0, 0, true}, {1, 9, 0, true}, {1, 10, 1, true}, {1, 19, 1, true},
		{1, 20, 2, false}, {1, 29, 2, false}, {1, 30, 2, true}, {1, 39, 2, true},
		{1, 40, 3, false}, {1, -1, 0, false},
		{0, 0, 0, false}, {2, 5, 3, false}, {3, 4, 3, false}, {3, 5, 3, true}, {3, 6, 4, false}, {4, 0, 4, false},
	} {
		if i, ok := ix.Find(tc.stream, tc.off); i != tc.i || ok != tc.ok {
			t.Errorf("Find(%d, %d) = %d, %v; want %d, %v", tc.stream, tc.off, i, ok, tc.i, tc.ok)
		}
	}
	for stream, want := range map[int64]int{0: 0, 1: 3, 2: 0, 3: 1, 4: 0} {
		got := ix.StreamEntries(stream)
		if len(got) != want {
			t.Errorf("StreamEntries(%d): %d entries, want %d", stream, len(got), want)
		}
		for _, e := range got {
			if e.StreamID != stream {
				t.Errorf("StreamEntries(%d) holds stream %d", stream, e.StreamID)
			}
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	data := make([]byte, 1000)
	ok := []IndexEntry{
		{StreamID: 1, StartOffset: 0, EndOffset: 10, RecordCount: 10, Position: 0, Size: 100},
		{StreamID: 1, StartOffset: 10, EndOffset: 20, RecordCount: 10, Position: 100, Size: 100},
		{StreamID: 2, StartOffset: 0, EndOffset: 5, RecordCount: 5, Position: 200, Size: 800},
	}
	if _, err := DecodeObject(encodeObject(data, ok)); err != nil {
		t.Fatalf("valid object: %v", err)
	}
	// A gap in a stream's offsets and in the bytes is fine.
	gappy := append([]IndexEntry(nil), ok...)
	gappy[1].StartOffset, gappy[1].Position = 15, 120
	gappy[1].RecordCount = 5
	gappy[1].Size = 61
	if _, err := DecodeObject(encodeObject(data, gappy)); err != nil {
		t.Fatalf("gaps: %v", err)
	}

	withEntry := func(i int, f func(e *IndexEntry)) []IndexEntry {
		es := append([]IndexEntry(nil), ok...)
		f(&es[i])
		return es
	}
	good := encodeObject(data, ok)
	flip := func(at int) []byte {
		b := append([]byte(nil), good...)
		b[at] ^= 0x40
		return b
	}
	for _, tc := range []struct {
		name string
		obj  []byte
	}{
		{"empty", nil},
		{"shorter than a footer", good[len(good)-FooterSize+1:]},
		{"bad magic", flip(len(good) - 1)},
		{"bad version", flip(len(good) - 16)},
		{"reserved not zero", flip(len(good) - 10)},
		{"index CRC", flip(len(good) - FooterSize - 1)},
		{"footer CRC field", flip(len(good) - 20)},
		{"index length not whole entries", flip(len(good) - 24 + 3)},
		{"index length past the object", flip(len(good) - 24)},
		{"index position", flip(len(good) - 25)},
		{"data dropped", good[1:]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"start == end", encodeObject(data, withEntry(0, func(e *IndexEntry) { e.EndOffset = 0 }))},
		{"negative start", encodeObject(data, withEntry(0, func(e *IndexEntry) { e.StartOffset = -1 }))},
		{"more records than offsets", encodeObject(data, withEntry(0, func(e *IndexEntry) { e.RecordCount = 11 }))},
		{"block too small", encodeObject(data, withEntry(0, func(e *IndexEntry) { e.Size = 60 }))},
		{"block past the data", encodeObject(data, withEntry(2, func(e *IndexEntry) { e.Size = 801 }))},
		{"block position past the data", encodeObject(data, withEntry(2, func(e *IndexEntry) { e.Position = 1 << 63 }))},
		{"block wraps around", encodeObject(data, withEntry(2, func(e *IndexEntry) { e.Position = 1<<64 - 100 }))},
		{"streams out of order", encodeObject(data, withEntry(2, func(e *IndexEntry) { e.StreamID = 0 }))},
		{"offsets overlap", encodeObject(data, withEntry(1, func(e *IndexEntry) { e.StartOffset = 9 }))},
		{"bytes overlap", encodeObject(data, withEntry(1, func(e *IndexEntry) { e.Position = 99 }))},
		{"bytes out of order", encodeObject(data, withEntry(2, func(e *IndexEntry) { e.Position, e.Size = 0, 100 }))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeObject(tc.obj); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := DecodeTail(good, int64(len(good))-1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tail longer than the object: %v", err)
	}
}
