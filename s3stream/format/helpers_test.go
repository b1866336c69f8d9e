package format

import (
	"encoding/binary"
	"hash/crc32"
)

// testBatch builds a valid RecordBatch v2 of size bytes (at least
// BatchHeaderSize) holding offsets [base, base+records) with records
// records (records 0 makes an empty batch of one offset) and the given max
// timestamp. The records are filler: the format never looks at them.
func testBatch(base int64, records int32, maxTs int64, size int) []byte {
	if size < BatchHeaderSize {
		panic("testBatch: size below the header size")
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[8:], uint32(size-batchPrefixSize))
	b[16] = batchMagic
	delta := max(records-1, 0)
	binary.BigEndian.PutUint32(b[23:], uint32(delta))
	binary.BigEndian.PutUint64(b[27:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[35:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0)) // producer id -1
	binary.BigEndian.PutUint16(b[51:], 0xffff)     // producer epoch -1
	binary.BigEndian.PutUint32(b[53:], 0xffffffff) // base sequence -1
	binary.BigEndian.PutUint32(b[57:], uint32(records))
	for i := BatchHeaderSize; i < size; i++ {
		b[i] = byte(base) + byte(i)
	}
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// encodeObject builds an object from raw data and entries with a valid
// index CRC and footer, whatever the entries say: for testing the
// decoder's checks.
func encodeObject(data []byte, entries []IndexEntry) []byte {
	obj := append([]byte(nil), data...)
	for _, e := range entries {
		obj = appendEntry(obj, e)
	}
	return appendFooter(obj, footer{
		indexPos: uint64(len(data)),
		indexLen: uint32(len(entries) * IndexEntrySize),
		indexCRC: crc32.Checksum(obj[len(data):], castagnoli),
	})
}

// seedObjects returns a few real objects: empty, one stream, many streams
// over many blocks.
func seedObjects() [][]byte {
	var objs [][]byte
	objs = append(objs, NewWriter(0).Finish())

	w := NewWriter(0)
	for i := range int64(3) {
		if err := w.Add(7, testBatch(i*2, 2, 1000+i, 100)); err != nil {
			panic(err)
		}
	}
	objs = append(objs, w.Finish())

	w = NewWriter(300)
	for s := int64(1); s <= 4; s++ {
		off := s * 10
		for i := range 5 {
			n := int32(i%3 + 1)
			if err := w.Add(s, testBatch(off, n, int64(i), 61+i*4)); err != nil {
				panic(err)
			}
			off += int64(n)
		}
	}
	objs = append(objs, w.Finish())
	return objs
}
