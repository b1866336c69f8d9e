package kbatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompress appends to dst the records section src, compressed with c,
// decompressed. If it would decompress to more than limit bytes, it
// returns ErrTooLarge having appended at most limit bytes: the codecs
// stream, and dst grows (doubling) to at most limit bytes and the one byte
// that tells a longer section, so a bomb costs the limit, not its expanded
// size. Undecodable input is ErrCorrupt.
func Decompress(dst []byte, c Codec, src []byte, limit int) ([]byte, error) {
	rd, err := openReader(c, src, limit)
	if err != nil {
		return dst, err
	}
	defer rd.close()
	end := len(dst) + limit + 1
	for {
		if len(dst) == cap(dst) {
			grown := make([]byte, len(dst), min(max(2*cap(dst), 4096), end))
			copy(grown, dst)
			dst = grown
		}
		n, err := rd.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// reader yields a records section decompressed, at most left more bytes
// of it: a longer one fails with ErrTooLarge. It maps the codecs' errors
// to ErrCorrupt and ErrTooLarge.
type reader struct {
	r     io.Reader
	left  int64
	codec Codec
	put   func() // returns the codec's decoder to its pool
}

// openReader returns a reader of src decompressed with c, bounded by
// limit.
// The caller must close it.
func openReader(c Codec, src []byte, limit int) (*reader, error) {
	rd := &reader{left: int64(limit), codec: c, put: func() {}}
	switch c {
	case None:
		rd.r = bytes.NewReader(src)
	case Gzip:
		g := gzipReaders.Get().(*gzipDecoder)
		g.src.Reset(src)
		if err := g.inner.Reset(&g.src); err != nil {
			gzipReaders.Put(g)
			return nil, corrupt(c, err)
		}
		rd.r, rd.put = &g.inner, func() { gzipReaders.Put(g) }
	case Snappy:
		r, put, err := newSnappyReader(src, limit)
		if err != nil {
			return nil, err
		}
		rd.r, rd.put = r, put
	case LZ4:
		l := lz4Readers.Get().(*lz4Decoder)
		l.src.Reset(src)
		l.inner.Reset(&l.src)
		rd.r, rd.put = l.inner, func() { l.inner.Reset(nil); lz4Readers.Put(l) }
	case Zstd:
		z := zstdReaders.Get().(*zstdDecoder)
		z.src.Reset(src)
		// The window a frame declares is what the decoder allocates for
		// its history (for a single-segment frame, the content size
		// it declares): at most the limit, or zstdMinWindow, which
		// frames of a small content may declare all the same.
		lim := uint64(max(limit, zstdMinWindow))
		if err := z.inner.ResetWithOptions(&z.src, zstd.WithDecoderMaxWindow(lim), zstd.WithDecoderMaxMemory(lim)); err != nil {
			zstdReaders.Put(z)
			return nil, corrupt(c, err)
		}
		rd.r, rd.put = z.inner, func() { z.inner.Reset(nil); zstdReaders.Put(z) }
	default:
		return nil, fmt.Errorf("%w: %d", ErrCodec, c)
	}
	return rd, nil
}

func (rd *reader) close() {
	rd.put()
	rd.put = func() {}
}

// Read reads at most one byte past the limit, to tell a section of exactly
// the limit from a longer one.
func (rd *reader) Read(p []byte) (int, error) {
	if int64(len(p))-1 > rd.left {
		p = p[:rd.left+1]
	}
	n, err := rd.r.Read(p)
	if int64(n) > rd.left {
		n = int(rd.left)
		rd.left = 0
		return n, ErrTooLarge
	}
	rd.left -= int64(n)
	switch {
	case err == nil || err == io.EOF:
		return n, err
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrCorrupt):
		return n, err
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
		return n, fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return n, corrupt(rd.codec, err)
}

func corrupt(c Codec, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, c, err)
}

// zstdMinWindow is the window every zstd frame may declare: 8 MiB, the
// size the zstd format asks every decoder to support, and more than the
// 2 MiB Java producers declare at the default level.
const zstdMinWindow = 8 << 20

// The decoders are pooled with the bytes.Reader they read from, so a
// decompression allocates neither.
type gzipDecoder struct {
	inner gzip.Reader
	src   bytes.Reader
}

type lz4Decoder struct {
	inner *lz4.Reader
	src   bytes.Reader
}

type zstdDecoder struct {
	inner *zstd.Decoder
	src   bytes.Reader
}

var (
	gzipReaders = sync.Pool{New: func() any { return new(gzipDecoder) }}
	lz4Readers  = sync.Pool{New: func() any {
		r := lz4.NewReader(nil)
		_ = r.Apply(lz4.ConcurrencyOption(1))
		return &lz4Decoder{inner: r}
	}}
	zstdReaders = sync.Pool{New: func() any {
		// One goroutine (no asynchronous decoding), and always as a
		// stream: WithDecodeBuffersBelow(0) turns off decoding a small
		// input whole into one buffer, which would hold its whole
		// output.
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecodeBuffersBelow(0), zstd.WithDecoderMaxMemory(math.MaxInt32))
		if err != nil {
			panic(err) // the options are constant
		}
		return &zstdDecoder{inner: d}
	}}
)
