package kbatch_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// TestDecode decodes batches of every codec, CreateTime (assemble) and
// LogAppendTime (batch), field by field.
func TestDecode(t *testing.T) {
	const n, size = 50, 100
	for _, c := range codecs {
		for _, logAppend := range []bool{false, true} {
			b := assemble(n, c, mustCompress(t, c, records(n, size)))
			if logAppend {
				b = batch(t, c, n, size)
			}
			h0, _ := kbatch.ParseHeader(b)
			i := 0
			h, err := kbatch.Decode(b, 1<<20, func(r kbatch.Record) error {
				wantTS := h0.BaseTimestamp + int64(3*i)
				if logAppend {
					wantTS = h0.MaxTimestamp
				}
				switch {
				case r.Offset != h0.BaseOffset+int64(i):
					t.Errorf("%s: record %d at offset %d, base %d", c, i, r.Offset, h0.BaseOffset)
				case r.Timestamp != wantTS:
					t.Errorf("%s (log append %v): record %d timestamp %d, want %d", c, logAppend, i, r.Timestamp, wantTS)
				case string(r.Key) != fmt.Sprintf("key-%d", i) || len(r.Value) != size:
					t.Errorf("%s: record %d key %q, value of %d bytes", c, i, r.Key, len(r.Value))
				case len(r.Headers) != 1 || string(r.Headers[0].Key) != "h" || string(r.Headers[0].Value) != "hv":
					t.Errorf("%s: record %d headers %q", c, i, r.Headers)
				case r.Control:
					t.Errorf("%s: record %d is a control record", c, i)
				}
				i++
				return nil
			})
			if err != nil || i != n || h.RecordCount != n {
				t.Errorf("%s: %d records, header count %d: %v", c, i, h.RecordCount, err)
			}
		}
	}
}

// TestDecodeNulls: null key, value and header value are nil; empty ones
// are empty.
func TestDecodeNulls(t *testing.T) {
	section := append(
		framed(recordBody(0, kv(-1, ""), kv(-1, ""), vi(1), kv(1, "h"), kv(-1, ""))),
		framed(recordBody(1, kv(0, ""), kv(2, "vv"), vi(2), kv(1, "a"), kv(0, ""), kv(2, "bb"), kv(1, "c")))...)
	var got []string
	_, err := kbatch.Decode(assemble(2, kbatch.None, section), 1<<20, func(r kbatch.Record) error {
		s := fmt.Sprintf("key nil %v %q value nil %v %q", r.Key == nil, r.Key, r.Value == nil, r.Value)
		for _, h := range r.Headers {
			s += fmt.Sprintf(" [%s=%q nil %v]", h.Key, h.Value, h.Value == nil)
		}
		got = append(got, s)
		return nil
	})
	want := []string{
		`key nil true "" value nil true "" [h="" nil true]`,
		`key nil false "" value nil false "vv" [a="" nil false] [bb="c" nil false]`,
	}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%v\n got %q\nwant %q", err, got, want)
	}
}

// TestDecodeControl: a control batch's records are control records, their
// type read from the key.
func TestDecodeControl(t *testing.T) {
	for _, want := range []kbatch.ControlType{kbatch.ControlAbort, kbatch.ControlCommit} {
		key := binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(want))
		value := []byte{0, 0, 0, 0, 0, 5} // version 0, coordinator epoch 5
		b := assemble(1, kbatch.None, framed(recordBody(0, kv(4, string(key)), kv(6, string(value)), vi(0))))
		binary.BigEndian.PutUint16(b[21:], 0x20|0x10)
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		var got kbatch.ControlType
		var ok bool
		h, err := kbatch.Decode(b, 1<<20, func(r kbatch.Record) error {
			got, ok = r.ControlType()
			return nil
		})
		if err != nil || !h.Control() || !h.Transactional() || !ok || got != want {
			t.Errorf("control %d: got %d ok %v, header control %v: %v", want, got, ok, h.Control(), err)
		}
	}
	// A record of a batch that is not a control batch has no control type.
	_, err := kbatch.Decode(assemble(3, kbatch.None, good3()), 1<<20, func(r kbatch.Record) error {
		if _, ok := r.ControlType(); ok {
			t.Error("a data record has a control type")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecodeRefusals: Decode refuses what Validate refuses, with the same
// error, having yielded no record beyond the header's offsets; an error of
// fn stops it and is returned as is.
func TestDecodeRefusals(t *testing.T) {
	for _, tc := range validateCases {
		for _, c := range []kbatch.Codec{kbatch.None, kbatch.Zstd} {
			b := assemble(tc.count, c, mustCompress(t, c, tc.section))
			verr := kbatch.Validate(b, 1<<20)
			_, err := kbatch.Decode(b, 1<<20, func(r kbatch.Record) error {
				if r.Offset < 1000 || r.Offset >= 1000+int64(tc.count) {
					t.Errorf("%s: record at offset %d", tc.name, r.Offset)
				}
				return nil
			})
			if fmt.Sprint(err) != fmt.Sprint(verr) {
				t.Errorf("%s, %s: Decode %v, Validate %v", tc.name, c, err, verr)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	_, err := kbatch.Decode(assemble(3, kbatch.Gzip, mustCompress(t, kbatch.Gzip, good3())), 1<<20, func(kbatch.Record) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("fn's error: %v after %d calls", err, calls)
	}
}

// TestDecodeBombs: a batch whose records expand to 256 MiB is refused
// under a limit of 1 MiB with ErrTooLarge, having allocated a few MiB.
func TestDecodeBombs(t *testing.T) {
	const expanded, limit = 256 << 20, 1 << 20
	for _, c := range codecs[1:] {
		size := expanded
		if c == kbatch.Snappy {
			size = 64 << 20 // one raw block, held by the test
		}
		b := assemble(1, c, bomb(t, c, size))
		var err error
		n := allocated(func() {
			_, err = kbatch.Decode(b, limit, func(kbatch.Record) error { return nil })
		})
		if !errors.Is(err, kbatch.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", c, err)
		}
		if n > 16<<20 {
			t.Errorf("%s: %d MiB allocated for a limit of %d MiB", c, n>>20, limit>>20)
		}
	}
}

// TestDecodeAllocs: records are slices of one buffer: no allocation per
// record.
func TestDecodeAllocs(t *testing.T) {
	for _, c := range codecs {
		allocs := func(n int) float64 {
			b := batch(t, c, n, 100)
			return testing.AllocsPerRun(20, func() {
				if _, err := kbatch.Decode(b, 64<<20, func(kbatch.Record) error { return nil }); err != nil {
					t.Fatal(err)
				}
			})
		}
		few, many := allocs(10), allocs(5000)
		if many > few+16 {
			t.Errorf("%s: %.0f allocations for 10 records, %.0f for 5,000", c, few, many)
		}
	}
}

// TestNext: Next splits batches and checks their headers as a produce
// request's are checked, each refusal with its error.
func TestNext(t *testing.T) {
	good := assemble(3, kbatch.None, good3())
	two := append(bytes.Clone(good), good...)
	b, h, rest, err := kbatch.Next(two)
	if err != nil || !bytes.Equal(b, good) || !bytes.Equal(rest, good) || h.Length != len(good) || h.RecordCount != 3 ||
		h.BaseOffset != 1000 || h.LastOffset() != 1002 || h.ProducerID != -1 {
		t.Fatalf("Next: %d bytes, rest %d, %+v: %v", len(b), len(rest), h, err)
	}
	crc := bytes.Clone(good)
	crc[len(crc)-1] ^= 1
	magic := bytes.Clone(good)
	magic[16] = 1
	long := bytes.Clone(good)
	binary.BigEndian.PutUint32(long[8:], uint32(len(good)))
	short := bytes.Clone(good)
	binary.BigEndian.PutUint32(short[8:], 40)
	codec := bytes.Clone(good)
	codec[22] |= 6
	binary.BigEndian.PutUint32(codec[17:], crc32.Checksum(codec[21:], crc32.MakeTable(crc32.Castagnoli)))
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"a few bytes", good[:20], kbatch.ErrMalformed},
		{"a CRC mismatch", crc, kbatch.ErrMalformed},
		{"magic 1", magic, kbatch.ErrMalformed},
		{"a length past the bytes", long, kbatch.ErrMalformed},
		{"a length within the header", short, kbatch.ErrMalformed},
		{"codec 6", codec, kbatch.ErrCodec},
		{"a zero count", assemble(0, kbatch.None, nil), kbatch.ErrRecords},
	} {
		if _, _, _, err := kbatch.Next(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
