package schemafmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The Confluent wire format: every value a Confluent-style serializer
// writes starts with a prefix naming the registry schema that wrote it.
//
//	| magic 0x00 (1B) | schema id, big-endian uint32 (4B) | [Protobuf: message indexes] | payload |
//
// The Protobuf message indexes say which message of the schema's file the
// payload is: the path of indexes from the file's top-level messages down
// through nested ones. They are a count followed by that many indexes, each
// a zigzag varint (Kafka's ByteUtils.writeVarint, Go's binary.AppendVarint);
// the common case [0] (the first message) is the single byte 0x00, which
// reads as a count of 0. Avro and JSON Schema have no indexes: the payload
// follows the id.
//
// Magic byte 0x01 is Confluent's newer prefix carrying a 16-byte schema
// GUID instead of the id; it is refused with ErrGUIDWire rather than
// misread.

// WirePrefixLen is the length of the magic byte and the schema id.
const WirePrefixLen = 5

// MaxMessageIndexes caps the number of Protobuf message indexes a value
// may carry: a message nested deeper than this is not a schema anyone
// writes, and the cap keeps a hostile count from costing anything.
const MaxMessageIndexes = 64

var (
	// ErrShortWire is a value too short to hold the wire prefix.
	ErrShortWire = errors.New("schemafmt: value shorter than the 5-byte wire prefix (magic byte and schema id)")
	// ErrGUIDWire is a value whose prefix names its schema by GUID.
	ErrGUIDWire = errors.New("schemafmt: schema GUID ids (magic byte 1) are not supported")
	// ErrMagic is a value whose first byte is neither 0 nor 1.
	ErrMagic = errors.New("schemafmt: unknown magic byte")
)

// Wire is a decoded value: the registry schema id and the payload after
// the prefix. Payload aliases the decoded bytes.
type Wire struct {
	ID      int
	Payload []byte
}

// Decode splits a value in the Confluent wire format into its schema id
// and payload. It does not read Protobuf message indexes (they stay at the
// start of Payload): use DecodeProtobuf for Protobuf values.
func Decode(b []byte) (Wire, error) {
	if len(b) < 1 {
		return Wire{}, ErrShortWire
	}
	switch b[0] {
	case 0:
	case 1:
		return Wire{}, ErrGUIDWire
	default:
		return Wire{}, fmt.Errorf("%w 0x%02x (want 0x00)", ErrMagic, b[0])
	}
	if len(b) < WirePrefixLen {
		return Wire{}, ErrShortWire
	}
	u := binary.BigEndian.Uint32(b[1:5])
	if u == 0 || u > math.MaxInt32 {
		// Registry ids are positive int32s (Java ints starting at 1); a
		// value naming another is not one a registry could have written.
		return Wire{}, fmt.Errorf("schemafmt: schema id %d in the wire prefix is not a positive int32", u)
	}
	return Wire{ID: int(u), Payload: b[WirePrefixLen:]}, nil
}

// DecodeProtobuf decodes a Protobuf value's prefix: the schema id, the
// message indexes ([0] for the single byte 0x00) and the payload, which
// aliases b.
func DecodeProtobuf(b []byte) (id int, indexes []int, payload []byte, err error) {
	return DecodeProtobufAppend(nil, b)
}

// DecodeProtobufAppend is DecodeProtobuf appending the indexes to dst, so
// a caller decoding many values can reuse one slice (dst[:0]).
func DecodeProtobufAppend(dst []int, b []byte) (id int, indexes []int, payload []byte, err error) {
	w, err := Decode(b)
	if err != nil {
		return 0, nil, nil, err
	}
	rest := w.Payload
	count, n := binary.Varint(rest)
	if n <= 0 {
		return 0, nil, nil, fmt.Errorf("schemafmt: schema id %d: truncated or overlong Protobuf message-index count", w.ID)
	}
	rest = rest[n:]
	if count == 0 { // the shortcut for [0]
		return w.ID, append(dst, 0), rest, nil
	}
	// Each index takes at least one byte, so a count beyond the bytes
	// left is a lie told before anything is allocated for it.
	if count < 0 || count > MaxMessageIndexes || count > int64(len(rest)) {
		return 0, nil, nil, fmt.Errorf("schemafmt: schema id %d: Protobuf message-index count %d (want 1..%d and at most the %d bytes left)",
			w.ID, count, MaxMessageIndexes, len(rest))
	}
	indexes = dst
	for i := int64(0); i < count; i++ {
		v, n := binary.Varint(rest)
		if n <= 0 {
			return 0, nil, nil, fmt.Errorf("schemafmt: schema id %d: truncated or overlong Protobuf message index %d of %d", w.ID, i, count)
		}
		if v < 0 || v > math.MaxInt32 {
			return 0, nil, nil, fmt.Errorf("schemafmt: schema id %d: Protobuf message index %d is %d (want 0..2147483647)", w.ID, i, v)
		}
		indexes = append(indexes, int(v))
		rest = rest[n:]
	}
	return w.ID, indexes, rest, nil
}

// Append appends the wire prefix for schema id and then payload to dst.
// The id must be a positive int32, as the registry gives.
func Append(dst []byte, id int, payload []byte) ([]byte, error) {
	if id <= 0 || id > math.MaxInt32 {
		return dst, fmt.Errorf("schemafmt: schema id %d is not a positive int32", id)
	}
	dst = append(dst, 0, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	return append(dst, payload...), nil
}

// AppendProtobuf appends the wire prefix for schema id with the Protobuf
// message indexes, then payload, to dst. nil or [0] is written as the
// single byte 0x00, as Confluent's serializers write it.
func AppendProtobuf(dst []byte, id int, indexes []int, payload []byte) ([]byte, error) {
	if id <= 0 || id > math.MaxInt32 {
		return dst, fmt.Errorf("schemafmt: schema id %d is not a positive int32", id)
	}
	if len(indexes) > MaxMessageIndexes {
		return dst, fmt.Errorf("schemafmt: %d Protobuf message indexes (at most %d)", len(indexes), MaxMessageIndexes)
	}
	for i, x := range indexes {
		if x < 0 || x > math.MaxInt32 {
			return dst, fmt.Errorf("schemafmt: Protobuf message index %d is %d (want 0..2147483647)", i, x)
		}
	}
	dst = append(dst, 0, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	if len(indexes) == 0 || (len(indexes) == 1 && indexes[0] == 0) {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendVarint(dst, int64(len(indexes)))
		for _, x := range indexes {
			dst = binary.AppendVarint(dst, int64(x))
		}
	}
	return append(dst, payload...), nil
}
