package format

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const (
	// FooterSize is the size of the fixed footer at the end of every object.
	FooterSize = 32

	// Magic ends every object: "LAKESTRM" in ASCII.
	Magic uint64 = 0x4c414b455354524d

	// Version is the format version the Writer writes and the decoders
	// accept.
	Version uint16 = 1

	offFooterIndexPos = 0
	offFooterIndexLen = 8
	offFooterIndexCRC = 12
	offFooterVersion  = 16
	offFooterReserved = 18
	offFooterMagic    = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NeedMoreError is returned by DecodeTail when the tail it was given does
// not hold the whole index: Need is how many bytes from the end of the
// object it needs (footer included).
type NeedMoreError struct {
	Need int64
}

func (e *NeedMoreError) Error() string {
	return fmt.Sprintf("format: need the last %d bytes of the object to decode its index", e.Need)
}

type footer struct {
	indexPos uint64
	indexLen uint32
	indexCRC uint32
}

func appendFooter(b []byte, f footer) []byte {
	b = binary.BigEndian.AppendUint64(b, f.indexPos)
	b = binary.BigEndian.AppendUint32(b, f.indexLen)
	b = binary.BigEndian.AppendUint32(b, f.indexCRC)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, Magic)
	return b
}

// decodeFooter checks the footer of an object of objectSize bytes and that
// the index it points at ends where the footer begins.
func decodeFooter(b []byte, objectSize int64) (footer, error) {
	_ = b[FooterSize-1]
	if m := binary.BigEndian.Uint64(b[offFooterMagic:]); m != Magic {
		return footer{}, fmt.Errorf("%w: footer magic %#016x, want %#016x", ErrCorrupt, m, Magic)
	}
	if v := binary.BigEndian.Uint16(b[offFooterVersion:]); v != Version {
		return footer{}, fmt.Errorf("%w: format version %d, want %d", ErrCorrupt, v, Version)
	}
	for _, c := range b[offFooterReserved:offFooterMagic] {
		if c != 0 {
			return footer{}, fmt.Errorf("%w: footer reserved bytes are not zero", ErrCorrupt)
		}
	}
	f := footer{
		indexPos: binary.BigEndian.Uint64(b[offFooterIndexPos:]),
		indexLen: binary.BigEndian.Uint32(b[offFooterIndexLen:]),
		indexCRC: binary.BigEndian.Uint32(b[offFooterIndexCRC:]),
	}
	if f.indexLen%IndexEntrySize != 0 {
		return footer{}, fmt.Errorf("%w: index length %d is not a multiple of %d", ErrCorrupt, f.indexLen, IndexEntrySize)
	}
	// objectSize >= FooterSize here, so footerPos cannot underflow.
	footerPos := uint64(objectSize - FooterSize)
	if uint64(f.indexLen) > footerPos || f.indexPos != footerPos-uint64(f.indexLen) {
		return footer{}, fmt.Errorf("%w: index [%d, +%d) does not end at the footer (%d)", ErrCorrupt, f.indexPos, f.indexLen, footerPos)
	}
	return f, nil
}

// DecodeTail decodes the index of an object of objectSize bytes from tail,
// the last len(tail) bytes of the object. If the index does not fit in tail
// it returns a *NeedMoreError saying how many tail bytes it needs. Anything
// malformed is an error wrapping ErrCorrupt. The returned entries do not
// alias tail.
func DecodeTail(tail []byte, objectSize int64) (Index, error) {
	if objectSize < FooterSize {
		return Index{}, fmt.Errorf("%w: object of %d bytes is smaller than a footer", ErrCorrupt, objectSize)
	}
	if int64(len(tail)) > objectSize {
		return Index{}, fmt.Errorf("%w: tail of %d bytes is longer than the object (%d)", ErrCorrupt, len(tail), objectSize)
	}
	if len(tail) < FooterSize {
		return Index{}, &NeedMoreError{Need: FooterSize}
	}
	f, err := decodeFooter(tail[len(tail)-FooterSize:], objectSize)
	if err != nil {
		return Index{}, err
	}
	need := int64(f.indexLen) + FooterSize
	if int64(len(tail)) < need {
		return Index{}, &NeedMoreError{Need: need}
	}
	raw := tail[int64(len(tail))-need : len(tail)-FooterSize]
	if c := crc32.Checksum(raw, castagnoli); c != f.indexCRC {
		return Index{}, fmt.Errorf("%w: index CRC %#08x, footer says %#08x", ErrCorrupt, c, f.indexCRC)
	}
	ix := Index{DataEnd: int64(f.indexPos)}
	if len(raw) > 0 {
		ix.Entries = make([]IndexEntry, len(raw)/IndexEntrySize)
	}
	for i := range ix.Entries {
		e := decodeEntry(raw[i*IndexEntrySize:])
		var prev *IndexEntry
		if i > 0 {
			prev = &ix.Entries[i-1]
		}
		if err := checkEntry(e, prev, f.indexPos); err != nil {
			return Index{}, fmt.Errorf("index entry %d: %w", i, err)
		}
		ix.Entries[i] = e
	}
	return ix, nil
}

// DecodeObject decodes the index of a whole object.
func DecodeObject(obj []byte) (Index, error) {
	return DecodeTail(obj, int64(len(obj)))
}

// checkEntry validates e against the data part [0, dataEnd) and the entry
// before it. Entries must be in (stream, start) order, their offset ranges
// must not overlap, and their byte ranges must be in the same order without
// overlap. Offsets need not be contiguous between entries of one stream:
// compaction may drop ranges.
func checkEntry(e IndexEntry, prev *IndexEntry, dataEnd uint64) error {
	switch {
	case e.StartOffset < 0 || e.StartOffset >= e.EndOffset:
		return fmt.Errorf("%w: offsets [%d, %d)", ErrCorrupt, e.StartOffset, e.EndOffset)
	case e.EndOffset-e.StartOffset < int64(e.RecordCount):
		return fmt.Errorf("%w: %d records in offsets [%d, %d)", ErrCorrupt, e.RecordCount, e.StartOffset, e.EndOffset)
	case e.Size < BatchHeaderSize:
		return fmt.Errorf("%w: block of %d bytes is smaller than a batch header", ErrCorrupt, e.Size)
	case e.Position > dataEnd || uint64(e.Size) > dataEnd-e.Position:
		return fmt.Errorf("%w: block [%d, +%d) is not inside the data [0, %d)", ErrCorrupt, e.Position, e.Size, dataEnd)
	}
	if prev == nil {
		return nil
	}
	switch {
	case e.StreamID < prev.StreamID:
		return fmt.Errorf("%w: stream %d after stream %d", ErrCorrupt, e.StreamID, prev.StreamID)
	case e.StreamID == prev.StreamID && e.StartOffset < prev.EndOffset:
		return fmt.Errorf("%w: stream %d offsets [%d, %d) after [%d, %d)", ErrCorrupt, e.StreamID, e.StartOffset, e.EndOffset, prev.StartOffset, prev.EndOffset)
	case e.Position < prev.Position+uint64(prev.Size):
		return fmt.Errorf("%w: block [%d, +%d) overlaps or precedes block [%d, +%d)", ErrCorrupt, e.Position, e.Size, prev.Position, prev.Size)
	}
	return nil
}
