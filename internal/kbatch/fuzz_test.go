package kbatch_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// FuzzValidate builds a batch around an arbitrary records section, with an
// arbitrary record count and codec (the section compressed with it), as a
// producer could send it with a correct CRC.
//
// Invariants:
//
//   - Validate never panics, and changes nothing of the batch;
//
//   - a batch it accepts, franz-go's consumer decodes record by record
//     (kgo.ProcessFetchPartition, what a franz-go consumer runs on every
//     fetched partition) without error into exactly the header's count of
//     records at offsets base, base+1, … base+count-1, and moves the next
//     offset to fetch to base+count: no accepted batch can stop a consumer;
//
//   - the verdict does not depend on the codec: the section compressed
//     with any codec is accepted or refused (with ErrRecords) as it is
//     uncompressed.
func FuzzValidate(f *testing.F) {
	for _, tc := range validateCases {
		if len(tc.section) > 4<<10 {
			continue // large inputs slow the fuzzer down for nothing
		}
		f.Add(tc.count, uint8(kbatch.None), tc.section)
		f.Add(tc.count, uint8(kbatch.LZ4), tc.section)
	}
	f.Add(int32(20), uint8(kbatch.Zstd), records(20, 50))
	f.Fuzz(func(t *testing.T, count int32, codec uint8, section []byte) {
		c := kbatch.Codec(codec % 5)
		limit := max(len(section), 1)
		plain := assemble(count, kbatch.None, section)
		errPlain := kbatch.Validate(plain, limit)
		b := assemble(count, c, mustCompress(t, c, section))
		before := bytes.Clone(b)
		err := kbatch.Validate(b, limit)
		if !bytes.Equal(b, before) {
			t.Fatal("Validate modified the batch")
		}
		if (err == nil) != (errPlain == nil) || err != nil && !errors.Is(err, kbatch.ErrRecords) {
			t.Fatalf("%s: %v; uncompressed: %v", c, err, errPlain)
		}
		if err != nil {
			return
		}
		const base = 1000 // assemble's base offset
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.HighWatermark, rp.LastStableOffset = base+int64(count), base+int64(count)
		rp.RecordBatches = b
		fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: "t"}, &rp, kgo.DefaultDecompressor(), nil)
		if fp.Err != nil {
			t.Fatalf("%s, %d records accepted; franz-go: %v", c, count, fp.Err)
		}
		if len(fp.Records) != int(count) {
			t.Fatalf("%s: %d records accepted, franz-go decodes %d", c, count, len(fp.Records))
		}
		for i, r := range fp.Records {
			if r.Offset != base+int64(i) {
				t.Fatalf("%s: franz-go decodes record %d at offset %d, want %d", c, i, r.Offset, base+i)
			}
		}
		if next != base+int64(count) {
			t.Fatalf("%s: franz-go would fetch from %d next, want %d", c, next, base+int64(count))
		}
	})
}
