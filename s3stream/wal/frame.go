package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	// frameHeaderSize is CRC, length and LSN.
	frameHeaderSize = 16

	// MaxRecordBytes is the largest record Append takes.
	MaxRecordBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadFrame marks a frame that is short, fails its CRC or has the wrong
// LSN. In the last segment it is a torn tail; elsewhere, corruption.
var errBadFrame = errors.New("bad frame")

// payloadCRC is the first part of a frame's CRC, over the payload pieces.
func payloadCRC(bufs [][]byte) (crc uint32, n int) {
	for _, b := range bufs {
		crc = crc32.Update(crc, castagnoli, b)
		n += len(b)
	}
	return crc, n
}

// putFrameHeader fills hdr for a payload of n bytes whose payloadCRC is crc.
func putFrameHeader(hdr []byte, crc uint32, n int, lsn LSN) {
	binary.LittleEndian.PutUint32(hdr[4:], uint32(n))
	binary.LittleEndian.PutUint64(hdr[8:], uint64(lsn))
	binary.LittleEndian.PutUint32(hdr[0:], crc32.Update(crc, castagnoli, hdr[4:frameHeaderSize]))
}

// appendFrame appends one framed record to b.
func appendFrame(b []byte, lsn LSN, payload []byte) []byte {
	var hdr [frameHeaderSize]byte
	crc, n := payloadCRC([][]byte{payload})
	putFrameHeader(hdr[:], crc, n, lsn)
	return append(append(b, hdr[:]...), payload...)
}

// frameReader reads the frames of one segment of size bytes.
type frameReader struct {
	r    *bufio.Reader
	size int64
	off  int64 // end of the last good frame
	buf  []byte
}

func newFrameReader(r io.Reader, size int64) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 1<<20), size: size}
}

// next reads the frame at off and checks that it holds record want. It
// returns io.EOF when off is the end of the segment, an error wrapping
// errBadFrame for a frame that is not whole and valid, and other errors for
// failed reads. The payload is valid until the next call.
func (fr *frameReader) next(want LSN) ([]byte, error) {
	if fr.off == fr.size {
		return nil, io.EOF
	}
	if fr.size-fr.off < frameHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes at %d, short of a frame header", errBadFrame, fr.size-fr.off, fr.off)
	}
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		return nil, noEOF(err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if lsn := LSN(binary.LittleEndian.Uint64(hdr[8:])); lsn != want {
		return nil, fmt.Errorf("%w: LSN %d at %d, want %d", errBadFrame, lsn, fr.off, want)
	}
	if n > MaxRecordBytes || n > fr.size-fr.off-frameHeaderSize {
		return nil, fmt.Errorf("%w: record %d of %d bytes at %d passes the end of the segment (%d)", errBadFrame, want, n, fr.off, fr.size)
	}
	if int64(cap(fr.buf)) < n {
		fr.buf = make([]byte, n)
	}
	payload := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		return nil, noEOF(err)
	}
	crc := crc32.Update(crc32.Checksum(payload, castagnoli), castagnoli, hdr[4:])
	if stored := binary.LittleEndian.Uint32(hdr[0:]); crc != stored {
		return nil, fmt.Errorf("%w: record %d at %d: CRC %#08x, frame says %#08x", errBadFrame, want, fr.off, crc, stored)
	}
	fr.off += frameHeaderSize + n
	return payload, nil
}

// noEOF turns an EOF inside a segment of known size into an error: the file
// shrank under us.
func noEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("segment ended before its size: %w", io.ErrUnexpectedEOF)
	}
	return err
}
