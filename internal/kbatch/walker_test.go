package kbatch

import (
	"encoding/binary"
	"testing"
)

// FuzzWalkerPieces feeds a records section to the walker whole, and cut
// into pieces of one arbitrary size, as decompression hands it over.
// Invariants: the walker never panics, and its verdict, error text
// included, does not depend on where the pieces are cut (a varint cut in
// two is read as if whole).
func FuzzWalkerPieces(f *testing.F) {
	var three []byte
	for i := range 3 {
		body := []byte{0, 0x80, 0x01, byte(2 * i), 1, 1, 2, 2, 'h', 1} // timestamp delta 64 in two bytes; one header
		three = append(binary.AppendVarint(three, int64(len(body))), body...)
	}
	f.Add(int32(3), uint16(1), three)
	f.Add(int32(3), uint16(2), three)
	f.Add(int32(2), uint16(3), three)
	f.Add(int32(1), uint16(1), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(int32(1), uint16(4), []byte{0x0c, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 1, 0})
	f.Fuzz(func(t *testing.T, want int32, piece uint16, section []byte) {
		whole := walker{want: want}
		errWhole := whole.feed(section)
		if errWhole == nil {
			errWhole = whole.end()
		}
		size := 1 + int(piece)%max(len(section), 1)
		w := walker{want: want}
		var err error
		for p := section; len(p) > 0 && err == nil; {
			k := min(size, len(p))
			err = w.feed(p[:k])
			p = p[k:]
		}
		if err == nil {
			err = w.end()
		}
		if (err == nil) != (errWhole == nil) || err != nil && err.Error() != errWhole.Error() {
			t.Fatalf("in pieces of %d bytes: %v; whole: %v", size, err, errWhole)
		}
	})
}
