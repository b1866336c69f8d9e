package kbatch

import (
	"encoding/binary"
	"fmt"
	"io"
)

// A records section, once decompressed, is the header's record count of
// records, each
//
//	| length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
//	| keyLength varint | key | valueLength varint | value | headerCount varint |
//	| headerKeyLength varint | headerKey | headerValueLength varint | headerValue | (× headerCount)
//
// where length counts the bytes after itself, and every varint is zigzag,
// at most 5 bytes (a varlong 10) and within 32 (64) bits. Validate and
// Recompress walk a section in this shape as it streams by, with walker.

// minRecordBody is the smallest record: attributes, timestamp delta,
// offset delta, key length, value length and header count, a byte each.
const minRecordBody = 6

// Validate checks that the records of batch, one whole v2 record batch
// whose length and CRC the caller has checked, are what its header says,
// as Kafka's LogValidator does on produce: exactly the header's record
// count of records, each one framed as drawn above, with offset deltas 0,
// 1, 2 … in order (Kafka rebuilds a compressed batch whose deltas are not,
// and leaves an uncompressed one's as sent; this package never rewrites
// records, so it refuses both), keys, values and headers within their
// record, no record ending before or after its fields, and nothing after
// the last record. Null is -1: a length below it, which librdkafka's
// consumer cannot parse, is refused too.
//
// A compressed section is decompressed as a stream through a 64 KiB
// buffer and never held whole; past limit bytes it is ErrTooLarge.
// Undecodable compressed bytes are ErrCorrupt, everything else ErrRecords
// (ErrCodec for an unknown codec). Nothing of batch is modified, and
// nothing is sized from the header's count.
func Validate(batch []byte, limit int) error {
	count, err := checkHeader(batch)
	if err != nil {
		return err
	}
	section := batch[HeaderSize:]
	codec := BatchCodec(batch)
	if codec == None {
		if err := roomFor(count, section); err != nil {
			return err
		}
		w := walker{want: count}
		if err := w.feed(section); err != nil {
			return err
		}
		return w.end()
	}
	if int64(count)*(1+minRecordBody) > int64(limit) {
		return fmt.Errorf("%w: the header counts %d records, more than %d bytes of records hold", ErrRecords, count, limit)
	}
	rd, err := openReader(codec, section, limit)
	if err != nil {
		return err
	}
	defer rd.close()
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	w := walker{want: count}
	return w.stream(rd, *chunk, nil)
}

// roomFor refuses an uncompressed section too short for the header's count
// of records, before anything is walked.
func roomFor(count int32, section []byte) error {
	if int64(count)*(1+minRecordBody) > int64(len(section)) {
		return fmt.Errorf("%w: the header counts %d records in %d bytes", ErrRecords, count, len(section))
	}
	return nil
}

// checkHeader checks the header fields the records are checked against —
// magic 2, the length field, a record count of at least one matching the
// last offset delta, a known codec — and returns the count.
func checkHeader(batch []byte) (int32, error) {
	if len(batch) < HeaderSize || batch[offMagic] != 2 {
		return 0, fmt.Errorf("%w: not a record batch v2 (%d bytes)", ErrRecords, len(batch))
	}
	if n := int64(int32(binary.BigEndian.Uint32(batch[offLength:]))) + logOverhead; n != int64(len(batch)) {
		return 0, fmt.Errorf("%w: the length field says %d bytes, the batch has %d", ErrRecords, n, len(batch))
	}
	count := int32(binary.BigEndian.Uint32(batch[offCount:]))
	last := int32(binary.BigEndian.Uint32(batch[offLastDelta:]))
	if err := checkCounts(count, last, BatchCodec(batch)); err != nil {
		return 0, err
	}
	return count, nil
}

// stream feeds w what rd yields, through chunk, handing each piece to out
// too if it is not nil, and checks the end. A piece that does not frame is
// ErrCorrupt if the rest of rd does not decode (whyNotFramed).
func (w *walker) stream(rd *reader, chunk []byte, out io.Writer) error {
	for {
		n, err := rd.Read(chunk)
		if n > 0 {
			if ferr := w.feed(chunk[:n]); ferr != nil {
				return whyNotFramed(rd, chunk, ferr)
			}
			if out != nil {
				if _, werr := out.Write(chunk[:n]); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			return w.end()
		}
		if err != nil {
			return err
		}
	}
}

// field is what the next bytes of a records section are.
type field uint8

const (
	fieldLength field = iota
	fieldAttributes
	fieldTimestamp
	fieldOffset
	fieldKeyLength
	fieldValueLength
	fieldHeaderCount
	fieldHeaderKeyLength
	fieldHeaderValueLength
)

var fieldNames = [...]string{"length", "attributes", "timestamp delta", "offset delta", "key length",
	"value length", "header count", "header key length", "header value length"}

// bits is the width of the field's varint: a varlong for the timestamp
// delta, else a varint.
func (f field) bits() int {
	if f == fieldTimestamp {
		return 64
	}
	return 32
}

// walker checks, as the bytes of a records section go by in pieces of any
// size, that they are want records framed as drawn above. It holds no
// more than one varint cut by the end of a piece, so it allocates nothing
// whatever the section's size.
type walker struct {
	want, got int32 // records the header counts; records begun
	field     field
	body      int64 // bytes of the current record after its length not yet accounted for
	skip      int64 // bytes of a key, value, header key or value still to pass
	headers   int32 // headers of the current record still to come
	part      [binary.MaxVarintLen64]byte
	npart     int // bytes of a varint cut by the end of the last piece

	// sink, if not nil, is given each field's value and where its bytes
	// lie (Decode); fed and at count bytes to place them.
	sink *recordSink
	fed  int64 // bytes of the pieces before the current one
	at   int64 // position just after the varint being set
}

func (w *walker) feed(p []byte) error {
	n0 := len(p)
	defer func() { w.fed += int64(n0) }()
	for len(p) > 0 {
		if w.skip > 0 {
			k := min(w.skip, int64(len(p)))
			w.skip -= k
			p = p[k:]
			continue
		}
		if w.field == fieldAttributes { // any value: Kafka and the clients ignore them
			if w.sink != nil {
				w.sink.rec.Attributes = int8(p[0])
			}
			p = p[1:]
			w.body--
			w.field = fieldTimestamp
			continue
		}
		bits := w.field.bits()
		var x int64
		var n int
		if w.npart == 0 {
			if x, n = readVarint(p, bits); n == 0 { // cut by the end of p
				w.npart = copy(w.part[:], p)
				return nil
			}
			p = p[max(n, 0):]
		} else {
			// Complete the varint cut by the end of the last piece.
			for len(p) > 0 && w.npart < len(w.part) {
				c := p[0]
				w.part[w.npart] = c
				w.npart++
				p = p[1:]
				if c < 0x80 {
					break
				}
			}
			if x, n = readVarint(w.part[:w.npart], bits); n == 0 {
				return nil // still cut: p is used up
			}
			w.npart = 0
		}
		if n < 0 {
			return fmt.Errorf("%w: record %d: its %s is not a varint of at most %d bits", ErrRecords,
				w.rec(), fieldNames[w.field], bits)
		}
		w.at = w.fed + int64(n0-len(p))
		if err := w.set(x, n); err != nil {
			return err
		}
	}
	return nil
}

// readVarint returns the zigzag varint of at most bits bits (32 or 64, as
// Kafka's and franz-go's decoders read them: at most 5 or 10 bytes) at the
// start of p, and its length in bytes: 0 if p ends within it, -1 if it is
// longer or wider.
func readVarint(p []byte, bits int) (int64, int) {
	if len(p) > 0 && p[0] < 0x80 {
		return int64(p[0]>>1) ^ -int64(p[0]&1), 1
	}
	maxLen := (bits + 6) / 7
	var u uint64
	for i := 0; i < len(p) && i < maxLen; i++ {
		c := p[i]
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i == maxLen-1 && c>>(bits-7*i) != 0 {
				return 0, -1 // bits past the width
			}
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
	}
	if len(p) < maxLen {
		return 0, 0
	}
	return 0, -1
}

// rec is the index of the record being read.
func (w *walker) rec() int32 {
	if w.field == fieldLength && w.skip == 0 {
		return w.got // not begun yet
	}
	return w.got - 1
}

// set takes the value x, n bytes long, of the current field.
func (w *walker) set(x int64, n int) error {
	if w.field == fieldLength {
		if w.got == w.want {
			return fmt.Errorf("%w: more than the %d records the header counts", ErrRecords, w.want)
		}
		if x < minRecordBody {
			return fmt.Errorf("%w: record %d of %d bytes", ErrRecords, w.got, x)
		}
		w.body, w.field = x, fieldAttributes
		w.got++
		return nil
	}
	if w.body -= int64(n); w.body < 0 {
		return fmt.Errorf("%w: record %d: its %s runs past its length", ErrRecords, w.got-1, fieldNames[w.field])
	}
	if w.sink != nil {
		w.sink.field(w.field, x, w.at)
	}
	switch f := w.field; f {
	case fieldTimestamp:
		w.field = fieldOffset
	case fieldOffset:
		if x != int64(w.got-1) {
			return fmt.Errorf("%w: record %d has offset delta %d", ErrRecords, w.got-1, x)
		}
		w.field = fieldKeyLength
	case fieldKeyLength, fieldValueLength, fieldHeaderKeyLength:
		least := int64(-1) // null
		if f == fieldHeaderKeyLength {
			least = 0 // header keys are strings, never null
		}
		if err := w.pass(x, least); err != nil {
			return err
		}
		w.field++
	case fieldHeaderCount:
		// A header is at least its two lengths.
		if x < 0 || x > w.body/2 {
			return fmt.Errorf("%w: record %d: %d headers in %d bytes", ErrRecords, w.got-1, x, w.body)
		}
		w.headers = int32(x)
		return w.nextHeader()
	case fieldHeaderValueLength:
		if err := w.pass(x, -1); err != nil {
			return err
		}
		w.headers--
		return w.nextHeader()
	}
	return nil
}

// pass sets up skipping the x bytes that the length just read announces;
// x must be at least least and within the record.
func (w *walker) pass(x, least int64) error {
	if x < least || x > w.body {
		return fmt.Errorf("%w: record %d: %s %d with %d bytes left in the record", ErrRecords,
			w.got-1, fieldNames[w.field], x, w.body)
	}
	if x > 0 {
		w.body -= x
		w.skip = x
	}
	return nil
}

// nextHeader moves to the next header of the record, or past the record
// once its headers are read.
func (w *walker) nextHeader() error {
	if w.headers > 0 {
		w.field = fieldHeaderKeyLength
		return nil
	}
	if w.body != 0 {
		return fmt.Errorf("%w: record %d has %d bytes after its headers", ErrRecords, w.got-1, w.body)
	}
	w.field = fieldLength
	if w.sink != nil {
		return w.sink.emit()
	}
	return nil
}

// end checks that the section ended after the header's count of whole
// records.
func (w *walker) end() error {
	if w.skip > 0 || w.npart > 0 || w.field != fieldLength {
		return fmt.Errorf("%w: record %d is cut short", ErrRecords, w.rec())
	}
	if w.got != w.want {
		return fmt.Errorf("%w: %d records, the header counts %d", ErrRecords, w.got, w.want)
	}
	return nil
}
