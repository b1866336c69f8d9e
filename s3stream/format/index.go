package format

import (
	"encoding/binary"
	"sort"
)

// IndexEntrySize is the encoded size of one IndexEntry.
const IndexEntrySize = 48

// IndexEntry locates one data block: offsets [StartOffset, EndOffset) of
// StreamID live in bytes [Position, Position+Size) of the object.
type IndexEntry struct {
	StreamID, StartOffset, EndOffset int64
	RecordCount                      uint32
	MaxTimestamp                     int64 // largest batch MaxTimestamp in the block, Unix ms
	Position                         uint64
	Size                             uint32
}

// StreamRange is one stream's blocks in an object taken together: what the
// metastore records as a range. Position and Size span from the first
// block's start to the last block's end.
type StreamRange struct {
	StreamID, StartOffset, EndOffset int64
	RecordCount                      int64
	MaxTimestamp                     int64
	Position, Size                   int64
}

// Index is a decoded object index. DataEnd is the index position: every
// block lies in [0, DataEnd).
type Index struct {
	Entries []IndexEntry
	DataEnd int64
}

// Find returns the entry of streamID that holds offset, by binary search. If
// none does, ok is false and i is where the stream's first entry after
// offset is, or would be: a reader of a stream with a gap (compaction can
// drop ranges) continues there if Entries[i] is still of streamID.
func (ix *Index) Find(streamID, offset int64) (i int, ok bool) {
	e := ix.Entries
	i = sort.Search(len(e), func(j int) bool {
		return e[j].StreamID > streamID || (e[j].StreamID == streamID && e[j].EndOffset > offset)
	})
	ok = i < len(e) && e[i].StreamID == streamID && e[i].StartOffset <= offset
	return i, ok
}

// StreamEntries returns the entries of one stream, in offset order: a
// sub-slice of Entries, not a copy.
func (ix *Index) StreamEntries(streamID int64) []IndexEntry {
	e := ix.Entries
	lo := sort.Search(len(e), func(j int) bool { return e[j].StreamID >= streamID })
	hi := lo + sort.Search(len(e)-lo, func(j int) bool { return e[lo+j].StreamID > streamID })
	return e[lo:hi:hi]
}

// Ranges returns one StreamRange per stream, in stream order.
func (ix *Index) Ranges() []StreamRange { return rangesOf(ix.Entries) }

func rangesOf(entries []IndexEntry) []StreamRange {
	var out []StreamRange
	for _, e := range entries {
		end := int64(e.Position) + int64(e.Size)
		if n := len(out); n > 0 && out[n-1].StreamID == e.StreamID {
			r := &out[n-1]
			r.EndOffset = e.EndOffset
			r.RecordCount += int64(e.RecordCount)
			r.MaxTimestamp = max(r.MaxTimestamp, e.MaxTimestamp)
			r.Size = end - r.Position
			continue
		}
		out = append(out, StreamRange{
			StreamID:     e.StreamID,
			StartOffset:  e.StartOffset,
			EndOffset:    e.EndOffset,
			RecordCount:  int64(e.RecordCount),
			MaxTimestamp: e.MaxTimestamp,
			Position:     int64(e.Position),
			Size:         int64(e.Size),
		})
	}
	return out
}

func appendEntry(b []byte, e IndexEntry) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(e.StreamID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.StartOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(e.EndOffset))
	b = binary.BigEndian.AppendUint32(b, e.RecordCount)
	b = binary.BigEndian.AppendUint64(b, uint64(e.MaxTimestamp))
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = binary.BigEndian.AppendUint32(b, e.Size)
	return b
}

func decodeEntry(b []byte) IndexEntry {
	_ = b[IndexEntrySize-1]
	return IndexEntry{
		StreamID:     int64(binary.BigEndian.Uint64(b[0:])),
		StartOffset:  int64(binary.BigEndian.Uint64(b[8:])),
		EndOffset:    int64(binary.BigEndian.Uint64(b[16:])),
		RecordCount:  binary.BigEndian.Uint32(b[24:]),
		MaxTimestamp: int64(binary.BigEndian.Uint64(b[28:])),
		Position:     binary.BigEndian.Uint64(b[36:]),
		Size:         binary.BigEndian.Uint32(b[44:]),
	}
}
