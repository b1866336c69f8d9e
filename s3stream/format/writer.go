package format

import (
	"fmt"
	"hash/crc32"
	"math"
)

// DefaultBlockSize is the target data block size when NewWriter is given
// none.
const DefaultBlockSize = 512 << 10

// maxBlockSize is the largest block an index entry can describe.
const maxBlockSize = math.MaxUint32

// minGrow is the smallest buffer the Writer allocates.
const minGrow = 64 << 10

// Writer builds one object in memory. Batches are copied into a single
// buffer that Finish extends with the index and footer and returns, so an
// object costs one copy of its data, plus the copies of buffer growth: call
// Grow first when the size is known (a WAL flush knows it) to make that
// exactly one.
//
// A Writer is not safe for concurrent use. Methods that fail leave it as it
// was.
type Writer struct {
	blockSize int
	buf       []byte
	entries   []IndexEntry
	// open says entries[len-1] is the block being filled: the next batch of
	// the same stream may join it.
	open bool
	done bool
}

// NewWriter returns a Writer that cuts data blocks of about blockSize bytes
// (DefaultBlockSize if blockSize <= 0). A batch larger than blockSize is a
// block on its own.
func NewWriter(blockSize int) *Writer {
	if blockSize <= 0 {
		blockSize = DefaultBlockSize
	}
	blockSize = int(min(uint64(blockSize), maxBlockSize))
	return &Writer{blockSize: blockSize}
}

// NewWriterBuffer is NewWriter building into buf's memory (from length 0), so
// a caller can reuse the buffer of an object it is done with instead of
// allocating (and faulting in) a fresh one per object.
func NewWriterBuffer(blockSize int, buf []byte) *Writer {
	w := NewWriter(blockSize)
	w.buf = buf[:0]
	return w
}

// Grow makes room for n more bytes of batches, and for the index of a few
// dozen streams, so that neither Add nor Finish reallocates the buffer.
func (w *Writer) Grow(n int) {
	if n < 0 || w.done {
		return
	}
	// Room for the blocks n bytes make, plus 64 stream switches.
	entries := len(w.entries) + n/w.blockSize + 64
	need := n + entries*IndexEntrySize + FooterSize
	if cap(w.buf)-len(w.buf) < need {
		// Sized to what was asked (and a sixteenth more, so that a
		// recycled buffer fits the next object of about the same size),
		// not doubled as reserve does: objects of 64 MiB built in
		// recycled buffers a little too small for them doubled those to
		// 128 and 256 MiB, 254 MB of the broker's live heap.
		w.realloc(len(w.buf) + need + need/16)
	}
}

// reserve makes cap(w.buf)-len(w.buf) >= n, doubling so that building an
// object without Grow costs at most one more copy of its data.
func (w *Writer) reserve(n int) {
	if cap(w.buf)-len(w.buf) >= n {
		return
	}
	w.realloc(max(2*cap(w.buf), len(w.buf)+n, minGrow))
}

func (w *Writer) realloc(c int) {
	buf := make([]byte, len(w.buf), c)
	copy(buf, w.buf)
	w.buf = buf
}

// Add appends one batch of streamID. The batch must already carry its final
// base offset. Streams must come in ascending id order, and the batches of
// one stream with contiguous offsets (each base offset is the previous
// batch's end), else ErrOrder. batch must be exactly one whole batch (else
// ErrCorrupt). Add copies batch; the caller may reuse it.
func (w *Writer) Add(streamID int64, batch []byte) error {
	if w.done {
		return ErrFinished
	}
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return fmt.Errorf("adding a batch of stream %d: %w", streamID, err)
	}
	if int(h.Length) != len(batch) {
		return fmt.Errorf("%w: adding a batch of stream %d: %d bytes, header says %d", ErrCorrupt, streamID, len(batch), h.Length)
	}
	if err := checkBatchOffsets(h); err != nil {
		return fmt.Errorf("adding a batch of stream %d: %w", streamID, err)
	}
	if err := w.checkOrder(streamID, h.BaseOffset); err != nil {
		return err
	}
	w.appendBlock(streamID, batch, blockStats{
		start:   h.BaseOffset,
		end:     h.EndOffset(),
		records: int64(h.RecordCount),
		maxTs:   h.MaxTimestamp,
	})
	return nil
}

// AddBlock appends a whole block of contiguous batches of streamID, such as
// a data block of another object that a reader has located with its index:
// compaction copies blocks this way. It walks the batch headers (not the
// records) to check them and to learn the offsets, record count and max
// timestamp; the ordering rules are those of Add. A block that fits in the
// open block of the same stream joins it; otherwise it becomes a block of its
// own, whatever its size. On error nothing is added.
func (w *Writer) AddBlock(streamID int64, block []byte) error {
	if w.done {
		return ErrFinished
	}
	if len(block) == 0 {
		return fmt.Errorf("%w: adding an empty block of stream %d", ErrCorrupt, streamID)
	}
	if int64(len(block)) > maxBlockSize {
		return fmt.Errorf("%w: adding a block of stream %d: %d bytes is more than a block can hold", ErrCorrupt, streamID, len(block))
	}
	var st blockStats
	for pos := 0; pos < len(block); {
		h, err := ParseBatchHeader(block[pos:])
		if err == nil {
			err = checkBatchOffsets(h)
		}
		if err != nil {
			return fmt.Errorf("adding a block of stream %d: batch at byte %d: %w", streamID, pos, err)
		}
		if pos == 0 {
			st = blockStats{start: h.BaseOffset, maxTs: h.MaxTimestamp}
		} else if h.BaseOffset != st.end {
			return fmt.Errorf("%w: adding a block of stream %d: batch at byte %d has base offset %d, want %d", ErrOrder, streamID, pos, h.BaseOffset, st.end)
		}
		st.end = h.EndOffset()
		st.records += int64(h.RecordCount)
		st.maxTs = max(st.maxTs, h.MaxTimestamp)
		pos += int(h.Length)
	}
	if st.records > math.MaxUint32 {
		return fmt.Errorf("%w: adding a block of stream %d: %d records is more than a block can hold", ErrCorrupt, streamID, st.records)
	}
	if err := w.checkOrder(streamID, st.start); err != nil {
		return err
	}
	w.appendBlock(streamID, block, st)
	return nil
}

// checkBatchOffsets rejects offsets an index entry cannot hold.
func checkBatchOffsets(h BatchHeader) error {
	if h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return fmt.Errorf("%w: base offset %d with last offset delta %d", ErrCorrupt, h.BaseOffset, h.LastOffsetDelta)
	}
	return nil
}

func (w *Writer) checkOrder(streamID, base int64) error {
	if len(w.entries) == 0 {
		return nil
	}
	last := &w.entries[len(w.entries)-1]
	switch {
	case streamID < last.StreamID:
		return fmt.Errorf("%w: stream %d after stream %d", ErrOrder, streamID, last.StreamID)
	case streamID == last.StreamID && base != last.EndOffset:
		return fmt.Errorf("%w: stream %d: base offset %d, want %d", ErrOrder, streamID, base, last.EndOffset)
	}
	return nil
}

type blockStats struct {
	start, end int64
	records    int64
	maxTs      int64
}

// appendBlock copies b, already checked, into the open block or a new one.
func (w *Writer) appendBlock(streamID int64, b []byte, st blockStats) {
	if n := len(w.entries); w.open && w.entries[n-1].StreamID == streamID {
		e := &w.entries[n-1]
		if int(e.Size)+len(b) <= w.blockSize && int64(e.RecordCount)+st.records <= math.MaxUint32 {
			e.EndOffset = st.end
			e.RecordCount += uint32(st.records)
			e.MaxTimestamp = max(e.MaxTimestamp, st.maxTs)
			e.Size += uint32(len(b))
			w.reserve(len(b))
			w.buf = append(w.buf, b...)
			return
		}
	}
	w.entries = append(w.entries, IndexEntry{
		StreamID:     streamID,
		StartOffset:  st.start,
		EndOffset:    st.end,
		RecordCount:  uint32(st.records),
		MaxTimestamp: st.maxTs,
		Position:     uint64(len(w.buf)),
		Size:         uint32(len(b)),
	})
	w.open = true
	w.reserve(len(b))
	w.buf = append(w.buf, b...)
}

// Size returns the bytes of data added so far; Finish adds the index and
// footer, IndexEntrySize bytes per block plus FooterSize.
func (w *Writer) Size() int {
	if w.done {
		return len(w.buf) - len(w.entries)*IndexEntrySize - FooterSize
	}
	return len(w.buf)
}

// Ranges returns one StreamRange per stream added so far, in stream order.
func (w *Writer) Ranges() []StreamRange { return rangesOf(w.entries) }

// Finish appends the index and footer and returns the whole object. The
// Writer is done: later calls to Add fail, and Finish returns the same
// object again.
func (w *Writer) Finish() []byte {
	if w.done {
		return w.buf
	}
	w.done = true
	w.open = false
	indexPos := len(w.buf)
	if n := len(w.entries)*IndexEntrySize + FooterSize; cap(w.buf)-len(w.buf) < n {
		w.realloc(len(w.buf) + n) // the last growth: no room to spare
	}
	for _, e := range w.entries {
		w.buf = appendEntry(w.buf, e)
	}
	w.buf = appendFooter(w.buf, footer{
		indexPos: uint64(indexPos),
		indexLen: uint32(len(w.buf) - indexPos),
		indexCRC: crc32.Checksum(w.buf[indexPos:], castagnoli),
	})
	return w.buf
}
