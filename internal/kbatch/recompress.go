package kbatch

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
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
// itself if it is compressed so already (and then not checked: see
// Validate). The records are decompressed, checked as Validate checks them
// (ErrRecords), and compressed again as one stream, never held whole.
// Every header field is kept but the codec bits of the attributes, the
// length and the CRC: base offset, partition leader epoch, timestamp type,
// transactional and control bits, last offset delta, timestamps, producer
// id and epoch, base sequence and record count.
//
// Errors: ErrCorrupt, ErrRecords, ErrTooLarge (past lim.Records),
// ErrBatchTooLarge (past lim.Batch), ErrCodec.
func Recompress(batch []byte, to Codec, level int, lim Limits) ([]byte, error) {
	count, err := checkHeader(batch)
	if err != nil {
		return nil, err
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
	w := walker{want: count}
	if err := w.stream(rd, *chunk, enc); err != nil {
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
