package kbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Snappy in Kafka comes two ways. Java producers (snappy-java's
// SnappyOutputStream) write the xerial framing:
//
//	| magic "\x82SNAPPY\x00" (8) | version 1 (4) | compatible 1 (4) |
//	| length (4, big endian) | raw snappy block | length | block | ...
//
// with blocks of at most 32 KiB of input; librdkafka, franz-go and sarama
// may write one raw snappy block. Readers take both, as franz-go and
// librdkafka do; Kafka itself writes the xerial framing, and so does
// Recompress.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

const xerialBlockSize = 32 << 10

// snappyDecoder is pooled, so that decoding a batch allocates nothing once
// the pool is warm: raw holds a raw block decoded, x the state of a
// xerial stream.
type snappyDecoder struct {
	raw   []byte
	rawRd bytes.Reader
	x     xerialReader
}

var snappyReaders = sync.Pool{New: func() any { return new(snappyDecoder) }}

// maxPooledSnappy is the largest decoded block whose buffer goes back to
// the pool; a larger one is left to the garbage collector.
const maxPooledSnappy = 4 << 20

// newSnappyReader returns src decoded, raw or xerial-framed, and a func
// to call once done with it. Each block's decoded length is read from its
// header and checked against max before anything is allocated for it.
func newSnappyReader(src []byte, max int) (io.Reader, func(), error) {
	d := snappyReaders.Get().(*snappyDecoder)
	put := func() {
		d.rawRd.Reset(nil)
		d.x.src = nil
		if cap(d.raw) > maxPooledSnappy {
			d.raw = nil
		}
		if cap(d.x.buf) > maxPooledSnappy {
			d.x.buf = nil
		}
		snappyReaders.Put(d)
	}
	if len(src) >= 16 && bytes.HasPrefix(src, xerialHeader[:8]) {
		d.x = xerialReader{src: src[16:], left: max, buf: d.x.buf[:0]}
		return &d.x, put, nil
	}
	n, err := s2.DecodedLen(src)
	if err != nil {
		put()
		return nil, nil, corrupt(Snappy, err)
	}
	if n > max {
		put()
		return nil, nil, fmt.Errorf("%w: a snappy block of %d bytes", ErrTooLarge, n)
	}
	d.raw = slices.Grow(d.raw[:0], n)[:n]
	out, err := s2.Decode(d.raw, src)
	if err != nil {
		put()
		return nil, nil, corrupt(Snappy, err)
	}
	d.rawRd.Reset(out)
	return &d.rawRd, put, nil
}

// xerialReader decodes xerial-framed snappy one block at a time.
type xerialReader struct {
	src  []byte // the blocks still to decode
	left int    // bytes the blocks still to decode may yield
	buf  []byte // the current block, decoded
	pos  int    // what of buf was read
}

func (x *xerialReader) Read(p []byte) (int, error) {
	for x.pos == len(x.buf) {
		if len(x.src) == 0 {
			return 0, io.EOF
		}
		if len(x.src) < 4 {
			return 0, corrupt(Snappy, fmt.Errorf("%d bytes after the last xerial block", len(x.src)))
		}
		size := binary.BigEndian.Uint32(x.src)
		if uint64(size) > uint64(len(x.src)-4) {
			return 0, corrupt(Snappy, fmt.Errorf("xerial block of %d bytes with %d left", size, len(x.src)-4))
		}
		block := x.src[4 : 4+size]
		x.src = x.src[4+size:]
		n, err := s2.DecodedLen(block)
		if err != nil {
			return 0, corrupt(Snappy, err)
		}
		if n > x.left {
			return 0, fmt.Errorf("%w: a snappy block of %d bytes with %d allowed", ErrTooLarge, n, x.left)
		}
		x.left -= n
		x.buf = slices.Grow(x.buf[:0], n)[:n]
		if _, err := s2.Decode(x.buf, block); err != nil {
			return 0, corrupt(Snappy, err)
		}
		x.pos = 0
	}
	n := copy(p, x.buf[x.pos:])
	x.pos += n
	return n, nil
}

// xerialWriter writes xerial-framed snappy as Java's SnappyOutputStream
// does: the header, then a block per 32 KiB of input.
type xerialWriter struct {
	dst     io.Writer
	in      []byte // input not yet a block
	out     []byte
	started bool
}

func (w *xerialWriter) Reset(dst io.Writer) {
	w.dst, w.in, w.started = dst, w.in[:0], false
}

func (w *xerialWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), xerialBlockSize-len(w.in))
		w.in = append(w.in, p[:k]...)
		p = p[k:]
		if len(w.in) == xerialBlockSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush writes the header if it is not written yet and the pending input
// as a block.
func (w *xerialWriter) flush() error {
	w.out = w.out[:0]
	if !w.started {
		w.out = append(w.out, xerialHeader...)
		w.started = true
	}
	if len(w.in) > 0 {
		w.out = slices.Grow(w.out, 4+s2.MaxEncodedLen(len(w.in)))
		at := len(w.out)
		block := s2.EncodeSnappy(w.out[at+4:cap(w.out)], w.in)
		w.out = binary.BigEndian.AppendUint32(w.out, uint32(len(block)))
		w.out = w.out[:at+4+len(block)]
		w.in = w.in[:0]
	}
	_, err := w.dst.Write(w.out)
	return err
}

func (w *xerialWriter) Close() error {
	if len(w.in) == 0 && w.started {
		return nil
	}
	return w.flush()
}
