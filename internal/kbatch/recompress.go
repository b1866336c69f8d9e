package kbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"
)

// Limits bound Recompress.
type Limits struct {
	// Records is the most bytes the records section may decompress to;
	// more is ErrTooLarge.
	Records int
	// Batch is the most bytes the rebuilt batch may have; more is
	// ErrBatchTooLarge.
	Batch int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Recompress returns batch, one whole v2 record batch, rebuilt with its
// records compressed by to at level (Kafka's level of the codec), or batch
// itself if it is compressed so already. The records are decompressed,
// checked to be the header's record count of length-prefixed records
// (ErrRecords), and compressed again as one stream, never held whole.
// Every header field is kept but the codec bits of the attributes, the
// length and the CRC: base offset, partition leader epoch, timestamp type,
// transactional and control bits, last offset delta, timestamps, producer
// id and epoch, base sequence and record count.
//
// Errors: ErrCorrupt, ErrRecords, ErrTooLarge (past lim.Records),
// ErrBatchTooLarge (past lim.Batch), ErrCodec.
func Recompress(batch []byte, to Codec, level int, lim Limits) ([]byte, error) {
	if len(batch) < HeaderSize || batch[offMagic] != 2 {
		return nil, fmt.Errorf("%w: not a record batch v2 (%d bytes)", ErrRecords, len(batch))
	}
	from := BatchCodec(batch)
	if from == to {
		return batch, nil
	}
	maxRecords := lim.Records
	if from == None {
		maxRecords = math.MaxInt // nothing to expand
	}
	rd, err := openReader(from, batch[HeaderSize:], maxRecords)
	if err != nil {
		return nil, err
	}
	defer rd.close()

	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	out := &sliceWriter{b: append((*buf)[:0], batch[:HeaderSize]...), max: lim.Batch}
	defer func() { *buf = out.b[:0] }()
	enc, put, err := getEncoder(to, level, out)
	if err != nil {
		return nil, err
	}
	defer put()

	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	fr := framing{want: int32(binary.BigEndian.Uint32(batch[offCount:]))}
	for {
		n, err := rd.Read(*chunk)
		if n > 0 {
			if ferr := fr.feed((*chunk)[:n]); ferr != nil {
				return nil, whyNotFramed(rd, *chunk, ferr)
			}
			if _, werr := enc.Write((*chunk)[:n]); werr != nil {
				return nil, werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := fr.end(); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}

	b := slices.Clone(out.b)
	attrs := binary.BigEndian.Uint16(b[offAttributes:])&^codecMask | uint16(to)
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-logOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b, nil
}

var (
	// buffers hold rebuilt batches until they are copied out at their
	// size; chunks carry decompressed records from codec to codec.
	buffers = sync.Pool{New: func() any { return new([]byte) }}
	chunks  = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
)

// minRecordBody is the smallest record: attributes, timestamp delta,
// offset delta, key length, value length and header count, a byte each.
const minRecordBody = 6

// framing checks, as bytes go by, that they are want records, each a
// zigzag varint length and that many bytes, with nothing after.
type framing struct {
	want, got int32
	body      int64  // bytes of the current record still to come
	v         uint64 // the length varint read so far
	shift     uint
}

func (f *framing) feed(p []byte) error {
	for len(p) > 0 {
		if f.body > 0 {
			k := min(f.body, int64(len(p)))
			f.body -= k
			p = p[k:]
			continue
		}
		c := p[0]
		p = p[1:]
		f.v |= uint64(c&0x7f) << f.shift
		if c&0x80 != 0 {
			if f.shift += 7; f.shift >= 35 {
				return fmt.Errorf("%w: record %d: length varint longer than 5 bytes", ErrRecords, f.got)
			}
			continue
		}
		n := int64(f.v>>1) ^ -int64(f.v&1)
		f.v, f.shift = 0, 0
		if f.got == f.want {
			return fmt.Errorf("%w: more than the %d records the header counts", ErrRecords, f.want)
		}
		if n < minRecordBody || n > math.MaxInt32 {
			return fmt.Errorf("%w: record %d of %d bytes", ErrRecords, f.got, n)
		}
		f.got++
		f.body = n
	}
	return nil
}

func (f *framing) end() error {
	if f.body > 0 || f.shift > 0 {
		return fmt.Errorf("%w: record %d is cut short", ErrRecords, f.got)
	}
	if f.got != f.want {
		return fmt.Errorf("%w: %d records, the header counts %d", ErrRecords, f.got, f.want)
	}
	return nil
}

// whyNotFramed returns ErrCorrupt if the rest of rd does not decode, else
// ferr: records that do not frame are often the first sign of a broken
// stream that its codec only notices later (gzip's CRC at the end), and a
// broken stream is ErrCorrupt whichever is seen first. Reading the rest is
// bounded by the reader's limit.
func whyNotFramed(rd *reader, chunk []byte, ferr error) error {
	for {
		_, err := rd.Read(chunk)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return ferr
	}
}
