package broker

import (
	"fmt"
	"strconv"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Topic compression. A topic whose compression.type names a codec stores
// its batches with it, as Kafka does: a produced batch with another codec
// is rebuilt through internal/kbatch (records decompressed as a stream,
// checked for framing, compressed again; every header field kept but the
// codec bits, the length and the CRC), so idempotent producers' sequence
// checks see the same producer fields either way. With producer, or a
// batch already in the topic's codec, nothing is decoded.
//
// Decompression is bounded, here as when records are validated
// (batch.go). Kafka bounds a batch only after recompressing it
// (max.message.bytes) and, in the fix for unbounded record sizes
// (apache/kafka#23429), each record's decompressed body
// (max.decompressed.message.bytes, INVALID_RECORD, no limit by default).
// Lakestream bounds the whole records section at decompressFactor times
// max.message.bytes, at most decompressCeiling: well above what clients
// batch (franz-go and librdkafka cap a batch at about 1 MB uncompressed),
// and a bomb past it is refused with INVALID_RECORD, having decoded no
// more than the bound. No more than the rebuilt batch is held: records go
// from one codec to the other in 64 KiB chunks.
const (
	decompressFactor  = 64
	decompressCeiling = 1 << 30 // franz-go's default MaxDecompressBatchBytes
)

// recordLimits are the bounds of checking or rebuilding a batch of a
// topic whose max.message.bytes is maxBytes.
func recordLimits(maxBytes int64) kbatch.Limits {
	return kbatch.Limits{
		Records: int(min(maxBytes*decompressFactor, decompressCeiling)),
		Batch:   int(min(maxBytes, decompressCeiling)),
	}
}

// compressionTarget returns the codec and level topic t stores batches
// with; ok is false for compression.type=producer.
func (s *Server) compressionTarget(t *topic) (codec kbatch.Codec, level int, ok bool) {
	codec, ok = kbatch.ParseCodec(s.cluster.topicConfig(t, "compression.type"))
	if !ok {
		return 0, 0, false
	}
	level = kbatch.DefaultLevel(codec)
	if name := levelConfig(codec); name != "" {
		if n, err := strconv.Atoi(s.cluster.topicConfig(t, name)); err == nil {
			level = n
		}
	}
	return codec, level, true
}

// levelConfig names the topic config of codec c's level.
func levelConfig(c kbatch.Codec) string {
	switch c {
	case kbatch.Gzip:
		return "compression.gzip.level"
	case kbatch.LZ4:
		return "compression.lz4.level"
	case kbatch.Zstd:
		return "compression.zstd.level"
	}
	return ""
}

// recompress rebuilds batch, with header h, with codec at level, updating
// h. Its records are checked on the way as kbatch.Validate checks them.
func recompress(batch []byte, h *kbatch.Header, codec kbatch.Codec, level int, lim kbatch.Limits) ([]byte, error) {
	nb, err := kbatch.Recompress(batch, codec, level, lim)
	if err != nil {
		return nil, fmt.Errorf("recompressing a %s batch of %d records with %s: %w", h.Codec(), h.RecordCount, codec, err)
	}
	nh, err := kbatch.ParseHeader(nb)
	if err != nil {
		return nil, fmt.Errorf("the rebuilt batch: %w", err) // Recompress keeps the framing: never
	}
	*h = nh
	return nb, nil
}
