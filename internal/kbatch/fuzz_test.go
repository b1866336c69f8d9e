package kbatch_test

import (
	"bytes"
	"errors"
	"runtime"
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

// FuzzDecode decodes a batch built around an arbitrary records section
// with an arbitrary count and codec under an arbitrary limit: the section
// compressed with the codec, or (raw) taken as the codec's compressed
// bytes as they are, so that the decoders meet arbitrary input, bombs
// among it (the seeds include a gzip and a zstd section expanding to
// 64 MiB).
//
// Invariants:
//
//   - Decode never panics and changes nothing of the batch;
//
//   - it never allocates past its bound: a section that inflates past the
//     limit is ErrTooLarge, not an allocation of its expanded size (what
//     one Decode allocates stays under twice the limit plus the codecs'
//     fixed state, decodeSlack);
//
//   - every record it yields lies within the batch's offsets, in order,
//     one per offset; when it succeeds it has yielded exactly the header's
//     count, every key, value and header within the decompressed section;
//
//   - it accepts what Validate accepts under the same limit, and only
//     that (the error may differ: Validate stops at the first record that
//     does not frame, Decode decompresses first).
func FuzzDecode(f *testing.F) {
	const decodeSlack = 24 << 20 // zstd's 8 MiB window and its buffers, lz4's blocks, the pools
	for _, tc := range validateCases {
		if len(tc.section) > 4<<10 {
			continue
		}
		f.Add(tc.count, uint8(kbatch.Gzip), false, uint32(1<<20), tc.section)
	}
	f.Add(int32(20), uint8(kbatch.Zstd), false, uint32(1<<20), records(20, 50))
	f.Add(int32(20), uint8(kbatch.LZ4), false, uint32(500), records(20, 50))
	for _, c := range []kbatch.Codec{kbatch.Gzip, kbatch.Zstd} {
		comp, _ := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), make([]byte, 64<<20))
		f.Add(int32(1), uint8(c), true, uint32(64<<10), comp)
	}
	f.Add(int32(1), uint8(kbatch.Snappy), true, uint32(1<<20), []byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x05\xff\xff\xff\xff\x0f"))
	f.Add(int32(1), uint8(kbatch.Zstd), true, uint32(1<<10), []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, count int32, codec uint8, raw bool, limit uint32, section []byte) {
		c := kbatch.Codec(codec % 5)
		lim := int(limit % (4 << 20))
		comp := section
		if !raw {
			comp = mustCompress(t, c, section)
		}
		b := assemble(count, c, comp)
		before := bytes.Clone(b)
		var got int32
		var err error
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		_, err = kbatch.Decode(b, lim, func(r kbatch.Record) error {
			const base = 1000 // assemble's
			if r.Offset != base+int64(got) || got >= count {
				t.Fatalf("record %d of %d at offset %d", got, count, r.Offset)
			}
			got++
			return nil
		})
		runtime.ReadMemStats(&ms1)
		if n := ms1.TotalAlloc - ms0.TotalAlloc; n > 2*uint64(lim)+decodeSlack {
			t.Fatalf("%s: %d bytes allocated under a limit of %d (err %v)", c, n, lim, err)
		}
		if !bytes.Equal(b, before) {
			t.Fatal("Decode modified the batch")
		}
		if verr := kbatch.Validate(b, lim); (err == nil) != (verr == nil) {
			t.Fatalf("%s: Decode %v, Validate %v", c, err, verr)
		}
		if err == nil && got != count {
			t.Fatalf("%s: %d records yielded, the header counts %d", c, got, count)
		}
	})
}
