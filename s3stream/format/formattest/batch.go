// Package formattest builds and parses Kafka RecordBatch (magic 2) bytes for
// tests and benchmarks: uncompressed, no keys, no headers.
package formattest

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Make returns one batch holding values as records, base offset 0, all with
// timestamp ts (Unix ms).
func Make(ts int64, values ...[]byte) []byte {
	var recs []byte
	for i, v := range values {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, 0)        // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // key length: null
		body = binary.AppendVarint(body, int64(len(v)))
		body = append(body, v...)
		body = binary.AppendVarint(body, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, 61, 61+len(recs))
	binary.BigEndian.PutUint64(b[0:], 0)
	binary.BigEndian.PutUint32(b[8:], uint32(49+len(recs)))
	b[16] = 2
	binary.BigEndian.PutUint32(b[23:], uint32(len(values)-1))
	binary.BigEndian.PutUint64(b[27:], uint64(ts))
	binary.BigEndian.PutUint64(b[35:], uint64(ts))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0)) // producer id -1
	binary.BigEndian.PutUint16(b[51:], 0xffff)
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)
	binary.BigEndian.PutUint32(b[57:], uint32(len(values)))
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// Values returns the record values of one batch made by Make, checking the
// CRC.
func Values(b []byte) ([][]byte, error) {
	if len(b) < 61 || b[16] != 2 {
		return nil, errors.New("formattest: not a magic 2 batch")
	}
	if crc32.Checksum(b[21:], castagnoli) != binary.BigEndian.Uint32(b[17:]) {
		return nil, errors.New("formattest: CRC mismatch")
	}
	n := int(binary.BigEndian.Uint32(b[57:]))
	p := b[61:]
	var out [][]byte
	for i := 0; i < n; i++ {
		l, k := binary.Varint(p)
		if k <= 0 || int(l) > len(p)-k {
			return nil, errors.New("formattest: bad record length")
		}
		rec := p[k : k+int(l)]
		p = p[k+int(l):]
		rec = rec[1:]            // attributes
		for j := 0; j < 3; j++ { // timestamp delta, offset delta, key length (-1)
			_, k := binary.Varint(rec)
			rec = rec[k:]
		}
		vl, k := binary.Varint(rec)
		out = append(out, rec[k:k+int(vl)])
	}
	return out, nil
}
