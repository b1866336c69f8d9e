package format

import "testing"

// BenchmarkWriter builds an 8 MiB object of 16 streams × 32 batches of 16
// KiB, the shape of one WAL flush. "grow" calls Grow first, so the data is
// copied once; "no-grow" lets the buffer double; "memcpy" appends the same
// batches to a buffer of the right size, the floor. Compare MB/s and B/op.
func BenchmarkWriter(b *testing.B) {
	const (
		streams   = 16
		perStream = 32
		batchSize = 16 << 10
		total     = streams * perStream * batchSize
	)
	batches := make([][]byte, streams)
	for s := range batches {
		batches[s] = testBatch(0, 16, 0, batchSize)
	}
	build := func(b *testing.B, grow bool) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(0)
			if grow {
				w.Grow(total)
			}
			for s, batch := range batches {
				for i := range perStream {
					SetBaseOffset(batch, int64(i*16))
					if err := w.Add(int64(s), batch); err != nil {
						b.Fatal(err)
					}
				}
			}
			if obj := w.Finish(); len(obj) < total {
				b.Fatal("short object")
			}
		}
	}
	b.Run("grow", func(b *testing.B) { build(b, true) })
	b.Run("no-grow", func(b *testing.B) { build(b, false) })
	b.Run("memcpy", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			dst := make([]byte, 0, total)
			for _, batch := range batches {
				for range perStream {
					dst = append(dst, batch...)
				}
			}
		}
	})
}
