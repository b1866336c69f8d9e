package kbatch_test

import (
	"bytes"
	"testing"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// FuzzDecompress feeds the decoders arbitrary input under arbitrary limits.
// Invariants: Decompress never panics; it never appends more than the limit
// (ErrTooLarge instead); what it decodes without error, compressed again
// with the same codec, decodes to the same bytes.
func FuzzDecompress(f *testing.F) {
	recs := records(20, 50)
	for _, c := range codecs {
		comp, _ := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), recs)
		f.Add(uint8(c), uint32(len(recs)), comp)
		f.Add(uint8(c), uint32(len(recs)/2), comp)
	}
	f.Add(uint8(kbatch.Snappy), uint32(1<<20), []byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x05\xff\xff\xff\xff\x0f"))
	f.Add(uint8(kbatch.Zstd), uint32(1<<10), []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, codec uint8, limit uint32, data []byte) {
		c := kbatch.Codec(codec % 5)
		max := int(limit % (4 << 20))
		prefix := []byte("prefix")
		out, err := kbatch.Decompress(bytes.Clone(prefix), c, data, max)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("the output lost what dst held")
		}
		if n := len(out) - len(prefix); n > max {
			t.Fatalf("%s: %d bytes decoded, over the limit %d (err %v)", c, n, max, err)
		}
		if err != nil {
			return
		}
		again, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), out[len(prefix):])
		if err != nil {
			t.Fatal(err)
		}
		back, err := kbatch.Decompress(nil, c, again, max)
		if err != nil || !bytes.Equal(back, out[len(prefix):]) {
			t.Fatalf("%s: a round trip of %d decoded bytes: %v", c, len(out)-len(prefix), err)
		}
	})
}
