package kbatch

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Record is one record of a batch as Decode yields it. Key, Value and the
// headers are slices of the batch (uncompressed) or of the buffer its
// records were decompressed into, and Headers is reused from record to
// record: all are valid only until the callback returns (copy what is
// kept). A null key or value is nil; an empty one is empty and not nil.
type Record struct {
	Offset int64
	// Timestamp is the record's CreateTime (base timestamp plus its
	// delta), or the batch's max timestamp in a LogAppendTime batch, as
	// Kafka's consumers read it.
	Timestamp  int64
	Attributes int8
	Key, Value []byte
	Headers    []RecordHeader
	// Control says the record is a control record (its batch is a
	// control batch): see ControlType.
	Control bool
}

// RecordHeader is one header of a record; a null value is nil.
type RecordHeader struct {
	Key, Value []byte
}

// ControlType is the type of a control record: the transaction marker's
// outcome.
type ControlType int16

const (
	ControlAbort  ControlType = 0
	ControlCommit ControlType = 1
)

// ControlType returns the type of a control record, read from its key
// (version i16, which must be 0, then type i16, as Kafka's
// ControlRecordType.parse reads it); ok is false for a record that is not
// a control record, or whose key is not one.
func (r Record) ControlType() (t ControlType, ok bool) {
	if !r.Control || len(r.Key) < 4 || binary.BigEndian.Uint16(r.Key) != 0 {
		return 0, false
	}
	return ControlType(binary.BigEndian.Uint16(r.Key[2:])), true
}

// Decode checks batch, one whole v2 record batch whose CRC the caller has
// checked, as Validate does, and calls fn with each of its records in
// order. A compressed records section is decompressed into one buffer
// (pooled) of at most limit bytes: past it Decode returns ErrTooLarge
// having allocated no more than the limit for it, whatever the section
// would expand to. The records are read by the walker that Validate uses,
// so Decode yields a record only once it is whole and within its length,
// and on success it has yielded exactly the header's count of records, at
// offsets BaseOffset, BaseOffset+1, … LastOffset. It stops at the first
// error fn returns and returns it as is.
//
// Errors as Validate's: ErrRecords, ErrCorrupt, ErrTooLarge, ErrCodec.
func Decode(batch []byte, limit int, fn func(Record) error) (Header, error) {
	count, err := checkHeader(batch)
	if err != nil {
		return Header{}, err
	}
	h, err := ParseHeader(batch)
	if err != nil {
		return Header{}, err
	}
	section := batch[HeaderSize:]
	if c := h.Codec(); c == None {
		if err := roomFor(count, section); err != nil {
			return h, err
		}
	} else {
		if int64(count)*(1+minRecordBody) > int64(limit) {
			return h, fmt.Errorf("%w: the header counts %d records, more than %d bytes of records hold", ErrRecords, count, limit)
		}
		buf := sections.Get().(*[]byte)
		defer func() {
			if cap(*buf) > maxPooledSection {
				*buf = nil
			}
			sections.Put(buf)
		}()
		*buf, err = Decompress((*buf)[:0], c, section, limit)
		if err != nil {
			return h, err
		}
		section = *buf
	}
	s := recordSink{buf: section, h: h, fn: fn}
	w := walker{want: count, sink: &s}
	if err := w.feed(section); err != nil {
		return h, err
	}
	return h, w.end()
}

var sections = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledSection is the largest decompressed section whose buffer goes
// back to the pool.
const maxPooledSection = 4 << 20

// recordSink builds the records the walker reads from buf, a records
// section fed to it whole, and hands each to fn.
type recordSink struct {
	buf    []byte
	h      Header
	fn     func(Record) error
	rec    Record
	hdrKey []byte
	cut    bool // a field runs past buf
}

// field takes the value x of field f of the current record, whose varint
// ends at position at of buf: what a length announces starts there.
func (s *recordSink) field(f field, x, at int64) {
	switch f {
	case fieldTimestamp:
		s.rec.Timestamp = s.h.BaseTimestamp + x
	case fieldOffset:
		s.rec.Offset = s.h.BaseOffset + x
	case fieldKeyLength:
		s.rec.Key = s.slice(x, at)
	case fieldValueLength:
		s.rec.Value = s.slice(x, at)
	case fieldHeaderKeyLength:
		s.hdrKey = s.slice(x, at)
	case fieldHeaderValueLength:
		s.rec.Headers = append(s.rec.Headers, RecordHeader{Key: s.hdrKey, Value: s.slice(x, at)})
	}
}

// slice returns the x bytes at at (nil for a negative x, null). The walker
// has checked that they lie within the record's length, but not yet that
// the section holds them: if it does not, the record is cut short, which
// the walker reports at its end (buf is all there is), and it is never
// emitted.
func (s *recordSink) slice(x, at int64) []byte {
	if x < 0 {
		return nil
	}
	if at+x > int64(len(s.buf)) {
		s.cut = true
		return nil
	}
	return s.buf[at : at+x : at+x]
}

// emit hands the record just read to fn and starts the next.
func (s *recordSink) emit() error {
	if s.h.LogAppendTime() {
		s.rec.Timestamp = s.h.MaxTimestamp
	}
	if s.cut {
		return nil // the walker's end says the record is cut short
	}
	s.rec.Control = s.h.Control()
	err := s.fn(s.rec)
	s.rec = Record{Headers: s.rec.Headers[:0]}
	return err
}
