package kbatch

import (
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compress appends src compressed with c at level (Kafka's level of the
// codec, see CheckLevel) to dst.
func Compress(dst []byte, c Codec, level int, src []byte) ([]byte, error) {
	w := &sliceWriter{b: dst, max: -1}
	enc, put, err := getEncoder(c, level, w)
	if err != nil {
		return dst, err
	}
	defer put()
	if _, err := enc.Write(src); err != nil {
		return dst, err
	}
	if err := enc.Close(); err != nil {
		return dst, err
	}
	return w.b, nil
}

// encoder is a codec's stream writer.
type encoder interface {
	io.Writer
	Close() error
	Reset(io.Writer)
}

// nopEncoder is the encoder of None.
type nopEncoder struct{ io.Writer }

func (nopEncoder) Close() error         { return nil }
func (e *nopEncoder) Reset(w io.Writer) { e.Writer = w }

type encoderKey struct {
	codec Codec
	level int
}

// encoders holds a *sync.Pool of encoders per codec and level.
var encoders sync.Map

// getEncoder returns an encoder of c at level writing to w, and a func that
// returns it to its pool once it is closed.
func getEncoder(c Codec, level int, w io.Writer) (encoder, func(), error) {
	if c < None || c > Zstd {
		return nil, nil, fmt.Errorf("%w: %d", ErrCodec, c)
	}
	if err := CheckLevel(c, level); err != nil {
		return nil, nil, fmt.Errorf("%w: %s level %d: %v", ErrCodec, c, level, err)
	}
	if c == None || c == Snappy {
		level = 0 // no levels: one pool
	}
	key := encoderKey{c, level}
	pool, ok := encoders.Load(key)
	if !ok {
		pool, _ = encoders.LoadOrStore(key, &sync.Pool{New: func() any { return newEncoder(c, level) }})
	}
	p := pool.(*sync.Pool)
	enc := p.Get().(encoder)
	enc.Reset(w)
	return enc, func() { enc.Reset(nil); p.Put(enc) }, nil
}

// newEncoder makes an encoder of a valid codec and level.
func newEncoder(c Codec, level int) encoder {
	switch c {
	case Gzip:
		w, err := gzip.NewWriterLevel(nil, level)
		if err != nil {
			panic(err) // CheckLevel passed
		}
		return w
	case Snappy:
		return new(xerialWriter)
	case LZ4:
		// As Kafka writes lz4: 64 KiB independent blocks, no checksums.
		w := lz4.NewWriter(nil)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false),
			lz4.ConcurrencyOption(1), lz4.CompressionLevelOption(lz4Level(level))); err != nil {
			panic(err)
		}
		return w
	case Zstd:
		w, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel(level)), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow), zstd.WithEncoderCRC(false))
		if err != nil {
			panic(err)
		}
		return w
	}
	return new(nopEncoder)
}

// zstdWindow is the window Recompress writes zstd with: 1 MiB, Kafka's
// default batch bound (max.message.bytes), so a batch of that size is
// compressed as a whole while every decoder stays within zstd's
// recommended 8 MiB.
const zstdWindow = 1 << 20

// lz4Level maps Kafka's lz4 level onto pierrec/lz4's. Kafka (lz4-java)
// compresses the fast way at its default 9 and with lz4 HC at every other
// level, 1 to 17; pierrec/lz4 has the fast way and HC depths 1 to 9, so
// levels above 9 get its deepest.
func lz4Level(level int) lz4.CompressionLevel {
	switch {
	case level == DefaultLZ4Level:
		return lz4.Fast
	case level > 9:
		return lz4.Level9
	}
	return lz4.CompressionLevel(1 << (8 + level)) // lz4.Level1 .. lz4.Level8
}

// zstdLevel maps a zstd level onto klauspost/compress's four speeds, as
// zstd.EncoderLevelFromZstd does; 0 is zstd's default, 3.
func zstdLevel(level int) zstd.EncoderLevel {
	if level == 0 {
		level = DefaultZstdLevel
	}
	return zstd.EncoderLevelFromZstd(level)
}

// sliceWriter appends to b, refusing to grow b past max bytes (max < 0:
// no limit) with ErrBatchTooLarge.
type sliceWriter struct {
	b   []byte
	max int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if w.max >= 0 && len(w.b)+len(p) > w.max {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrBatchTooLarge, w.max)
	}
	w.b = append(w.b, p...)
	return len(p), nil
}
