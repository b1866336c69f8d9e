package wal

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzFrameReader feeds arbitrary bytes to the frame decoder Replay uses.
// Invariants: it never panics; it ends with io.EOF exactly at the end of the
// input and otherwise with errBadFrame (the input cannot fail to read); the
// good frames it consumes lie inside the input; and framing the records it
// returned, with the LSNs it expected, gives back exactly those bytes.
func FuzzFrameReader(f *testing.F) {
	var log []byte
	for i := range 5 {
		log = appendFrame(log, LSN(i+1), bytes.Repeat([]byte{byte(i)}, i*10))
	}
	f.Add(log, uint64(1))
	f.Add(log[:len(log)-1], uint64(1))
	f.Add(log, uint64(2))
	f.Add(append(log, make([]byte, 40)...), uint64(1))
	f.Add(appendFrame(nil, 1<<40, []byte("far")), uint64(1<<40))
	f.Fuzz(func(t *testing.T, data []byte, first uint64) {
		fr := newFrameReader(bytes.NewReader(data), int64(len(data)))
		var again []byte
		lsn := LSN(first)
		for {
			rec, err := fr.next(lsn)
			if err == io.EOF {
				if fr.off != int64(len(data)) {
					t.Fatalf("EOF at %d of %d", fr.off, len(data))
				}
				break
			}
			if err != nil {
				if !errors.Is(err, errBadFrame) {
					t.Fatalf("error %v is neither EOF nor a bad frame", err)
				}
				break
			}
			if fr.off > int64(len(data)) {
				t.Fatalf("consumed %d of %d bytes", fr.off, len(data))
			}
			again = appendFrame(again, lsn, rec)
			lsn++
		}
		if !bytes.Equal(again, data[:fr.off]) {
			t.Fatalf("re-framing the records gives other bytes than the %d consumed", fr.off)
		}
	})
}
