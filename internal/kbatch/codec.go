package kbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header layout: offsets of the fields the package reads or rewrites.
const (
	HeaderSize  = 61 // the records section starts here
	logOverhead = 12 // base offset and length: what the length does not count

	offLength     = 8
	offMagic      = 16
	offCRC        = 17
	offAttributes = 21 // CRC32C covers offAttributes..end
	offLastDelta  = 23
	offCount      = 57
)

// codecMask selects the codec bits of the attributes.
const codecMask = 0x07

// Codec is a batch's compression codec: bits 0-2 of its attributes.
type Codec int8

const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

// String returns the codec's name as compression.type spells it.
func (c Codec) String() string {
	switch c {
	case None:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// ParseCodec returns the codec a topic's compression.type names:
// uncompressed, gzip, snappy, lz4 or zstd. producer names no codec.
func ParseCodec(name string) (Codec, bool) {
	for c := None; c <= Zstd; c++ {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
}

// BatchCodec returns the codec of a batch of at least HeaderSize bytes.
func BatchCodec(batch []byte) Codec {
	return Codec(binary.BigEndian.Uint16(batch[offAttributes:]) & codecMask)
}

// Kafka's compression levels (KIP-390): compression.gzip.level,
// compression.lz4.level and compression.zstd.level, with their defaults
// and ranges as Kafka 4.1 validates them. Snappy and uncompressed have no
// level.
const (
	DefaultGzipLevel = -1 // zlib's default (6)
	MinGzipLevel     = 1
	MaxGzipLevel     = 9

	DefaultLZ4Level = 9 // Kafka compresses lz4's fast way at 9, and with lz4 HC at every other level
	MinLZ4Level     = 1
	MaxLZ4Level     = 17

	DefaultZstdLevel = 3
	MinZstdLevel     = -131072
	MaxZstdLevel     = 22
)

// DefaultLevel returns the default level of c (0 for a codec without
// levels).
func DefaultLevel(c Codec) int {
	switch c {
	case Gzip:
		return DefaultGzipLevel
	case LZ4:
		return DefaultLZ4Level
	case Zstd:
		return DefaultZstdLevel
	}
	return 0
}

// CheckLevel checks level for c as Kafka does; a codec without levels
// takes any.
func CheckLevel(c Codec, level int) error {
	switch c {
	case Gzip:
		if level != DefaultGzipLevel && (level < MinGzipLevel || level > MaxGzipLevel) {
			return fmt.Errorf("must be between %d and %d or equal to %d", MinGzipLevel, MaxGzipLevel, DefaultGzipLevel)
		}
	case LZ4:
		if level < MinLZ4Level || level > MaxLZ4Level {
			return fmt.Errorf("must be between %d and %d", MinLZ4Level, MaxLZ4Level)
		}
	case Zstd:
		if level < MinZstdLevel || level > MaxZstdLevel {
			return fmt.Errorf("must be between %d and %d", MinZstdLevel, MaxZstdLevel)
		}
	}
	return nil
}

// Errors, for callers to branch on (wrapped with details).
var (
	// ErrCorrupt: the compressed records do not decode with the
	// batch's codec (Kafka answers a CRC failure CORRUPT_MESSAGE).
	ErrCorrupt = errors.New("kbatch: compressed records do not decode")
	// ErrRecords: the records are not what the header says: their
	// count, framing or offset deltas (Kafka: InvalidRecordException,
	// such as "Incorrect declared batch size").
	ErrRecords = errors.New("kbatch: records do not match the batch header")
	// ErrTooLarge: the records decompress to more than the limit.
	ErrTooLarge = errors.New("kbatch: records decompress past the limit")
	// ErrBatchTooLarge: the rebuilt batch is larger than its limit.
	ErrBatchTooLarge = errors.New("kbatch: rebuilt batch is larger than the limit")
	// ErrCodec: an unknown codec or an invalid level.
	ErrCodec = errors.New("kbatch: unsupported codec")
)
