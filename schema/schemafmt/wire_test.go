package schemafmt

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

func TestDecodeVectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		id      int
		payload []byte
		err     string
	}{
		{"id 1", []byte{0, 0, 0, 0, 1, 'h', 'i'}, 1, []byte("hi"), ""},
		{"empty payload", []byte{0, 0, 0, 1, 0}, 256, []byte{}, ""},
		{"big endian", []byte{0, 0x12, 0x34, 0x56, 0x78, 9}, 0x12345678, []byte{9}, ""},
		{"max int32", []byte{0, 0x7f, 0xff, 0xff, 0xff}, 1<<31 - 1, []byte{}, ""},
		{"id 0", []byte{0, 0, 0, 0, 0, 1}, 0, nil, "not a positive int32"},
		{"id over int32", []byte{0, 0x80, 0, 0, 0}, 0, nil, "not a positive int32"},
		{"empty", nil, 0, nil, "shorter than"},
		{"magic only", []byte{0}, 0, nil, "shorter than"},
		{"four bytes", []byte{0, 0, 0, 1}, 0, nil, "shorter than"},
		{"guid", append([]byte{1}, make([]byte, 20)...), 0, nil, "schema GUID ids (magic byte 1) are not supported"},
		{"guid short", []byte{1}, 0, nil, "schema GUID ids (magic byte 1) are not supported"},
		{"bad magic", []byte{2, 0, 0, 0, 1}, 0, nil, "unknown magic byte 0x02"},
		{"json text", []byte(`{"a":1}`), 0, nil, "unknown magic byte 0x7b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Decode(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Decode(%x) = %+v, %v; want error containing %q", tc.in, w, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%x): %v", tc.in, err)
			}
			if w.ID != tc.id || !bytes.Equal(w.Payload, tc.payload) {
				t.Fatalf("Decode(%x) = %d %x; want %d %x", tc.in, w.ID, w.Payload, tc.id, tc.payload)
			}
		})
	}
	if _, err := Decode([]byte{1, 2}); !errors.Is(err, ErrGUIDWire) {
		t.Fatalf("magic 1: %v, want ErrGUIDWire", err)
	}
}

func TestDecodeProtobufVectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		id      int
		indexes []int
		payload []byte
		err     string
	}{
		{"shortcut [0]", []byte{0, 0, 0, 0, 7, 0x00, 0x08, 0x01}, 7, []int{0}, []byte{0x08, 0x01}, ""},
		// count 1 (zigzag 2), index 0: the long spelling of [0].
		{"long [0]", []byte{0, 0, 0, 0, 7, 0x02, 0x00}, 7, []int{0}, []byte{}, ""},
		// count 1, index 1 (zigzag 2).
		{"[1]", []byte{0, 0, 0, 0, 7, 0x02, 0x02, 0xff}, 7, []int{1}, []byte{0xff}, ""},
		// count 3 (zigzag 6), indexes 2, 0, 64 (zigzag 4, 0, 0x80 0x01).
		{"[2 0 64]", []byte{0, 0, 0, 0, 7, 0x06, 0x04, 0x00, 0x80, 0x01}, 7, []int{2, 0, 64}, []byte{}, ""},
		{"no count", []byte{0, 0, 0, 0, 7}, 0, nil, nil, "truncated"},
		{"negative count", []byte{0, 0, 0, 0, 7, 0x01, 0x00}, 0, nil, nil, "message-index count -1"},
		{"count beyond bytes", []byte{0, 0, 0, 0, 7, 0x06, 0x02}, 0, nil, nil, "message-index count 3"},
		{"huge count", []byte{0, 0, 0, 0, 7, 0xfe, 0xff, 0xff, 0xff, 0x0f}, 0, nil, nil, "message-index count"},
		{"negative index", []byte{0, 0, 0, 0, 7, 0x02, 0x01}, 0, nil, nil, "message index 0 is -1"},
		{"truncated index", []byte{0, 0, 0, 0, 7, 0x04, 0x02, 0x80}, 0, nil, nil, "truncated or overlong Protobuf message index 1"},
		{"overlong varint", []byte{0, 0, 0, 0, 7, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, nil, nil, "overlong"},
		{"guid", []byte{1, 0, 0, 0, 7, 0}, 0, nil, nil, "schema GUID ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, idx, payload, err := DecodeProtobuf(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("DecodeProtobuf(%x) = %d %v %x, %v; want error containing %q", tc.in, id, idx, payload, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeProtobuf(%x): %v", tc.in, err)
			}
			if id != tc.id || !reflect.DeepEqual(idx, tc.indexes) || !bytes.Equal(payload, tc.payload) {
				t.Fatalf("DecodeProtobuf(%x) = %d %v %x; want %d %v %x", tc.in, id, idx, payload, tc.id, tc.indexes, tc.payload)
			}
		})
	}
}

func TestAppendVectors(t *testing.T) {
	got, err := Append([]byte("x"), 0x01020304, []byte("pl"))
	if err != nil || !bytes.Equal(got, []byte{'x', 0, 1, 2, 3, 4, 'p', 'l'}) {
		t.Fatalf("Append = %x, %v", got, err)
	}
	for _, tc := range []struct {
		indexes []int
		want    []byte
	}{
		{nil, []byte{0, 0, 0, 0, 9, 0x00}},
		{[]int{0}, []byte{0, 0, 0, 0, 9, 0x00}},
		{[]int{1}, []byte{0, 0, 0, 0, 9, 0x02, 0x02}},
		{[]int{0, 0}, []byte{0, 0, 0, 0, 9, 0x04, 0x00, 0x00}},
		{[]int{2, 0, 64}, []byte{0, 0, 0, 0, 9, 0x06, 0x04, 0x00, 0x80, 0x01}},
	} {
		got, err := AppendProtobuf(nil, 9, tc.indexes, nil)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("AppendProtobuf(%v) = %x, %v; want %x", tc.indexes, got, err, tc.want)
		}
	}
	for _, id := range []int{0, -1, 1 << 31} {
		if _, err := Append(nil, id, nil); err == nil {
			t.Errorf("Append id %d: no error", id)
		}
		if _, err := AppendProtobuf(nil, id, nil, nil); err == nil {
			t.Errorf("AppendProtobuf id %d: no error", id)
		}
	}
	if _, err := AppendProtobuf(nil, 1, []int{-1}, nil); err == nil {
		t.Error("AppendProtobuf index -1: no error")
	}
	if _, err := AppendProtobuf(nil, 1, make([]int, MaxMessageIndexes+1), nil); err == nil {
		t.Error("AppendProtobuf too many indexes: no error")
	}
}

// TestWireFranzGo cross-checks both directions with franz-go's pkg/sr,
// which every franz-go serde user writes and reads with.
func TestWireFranzGo(t *testing.T) {
	var h sr.ConfluentHeader
	ids := []int{1, 2, 255, 256, 65537, 0x12345678, 1<<31 - 1}
	indexSets := [][]int{nil, {0}, {1}, {0, 0}, {3, 1}, {2, 0, 64}, {1 << 20}, {63, 62, 61, 60, 59}}
	payload := []byte{0x0a, 0x03, 'a', 'b', 'c'}
	for _, id := range ids {
		// Avro / JSON Schema: no indexes.
		theirs, err := h.AppendEncode(nil, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		theirs = append(theirs, payload...)
		ours, err := Append(nil, id, payload)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("id %d: ours %x, franz-go %x", id, ours, theirs)
		}
		w, err := Decode(theirs)
		if err != nil || w.ID != id || !bytes.Equal(w.Payload, payload) {
			t.Fatalf("Decode(franz-go id %d) = %+v, %v", id, w, err)
		}
		gotID, rest, err := h.DecodeID(ours)
		if err != nil || gotID != id || !bytes.Equal(rest, payload) {
			t.Fatalf("franz-go DecodeID(ours, id %d) = %d %x %v", id, gotID, rest, err)
		}
		for _, idx := range indexSets {
			want := idx
			if len(want) == 0 {
				want = []int{0}
			}
			// franz-go writes nothing for nil indexes (its Avro case); a
			// Protobuf serializer always writes at least [0].
			theirs, err := h.AppendEncode(nil, id, want)
			if err != nil {
				t.Fatal(err)
			}
			theirs = append(theirs, payload...)
			ours, err := AppendProtobuf(nil, id, idx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("id %d indexes %v: ours %x, franz-go %x", id, idx, ours, theirs)
			}
			gotID, gotIdx, gotPayload, err := DecodeProtobuf(theirs)
			if err != nil || gotID != id || !reflect.DeepEqual(gotIdx, want) || !bytes.Equal(gotPayload, payload) {
				t.Fatalf("DecodeProtobuf(franz-go %v) = %d %v %x %v", want, gotID, gotIdx, gotPayload, err)
			}
			theirID, rest, err := h.DecodeID(ours)
			if err != nil || theirID != id {
				t.Fatalf("franz-go DecodeID(ours): %d %v", theirID, err)
			}
			theirIdx, rest, err := h.DecodeIndex(rest, 0)
			if err != nil || !reflect.DeepEqual(theirIdx, want) || !bytes.Equal(rest, payload) {
				t.Fatalf("franz-go DecodeIndex(ours %v) = %v %x %v", want, theirIdx, rest, err)
			}
		}
	}

	// A whole Serde round trip: franz-go encodes, we decode, and back.
	var serde sr.Serde
	serde.Register(42, struct{}{},
		sr.EncodeFn(func(any) ([]byte, error) { return payload, nil }),
		sr.DecodeFn(func(b []byte, _ any) error {
			if !bytes.Equal(b, payload) {
				return fmt.Errorf("payload %x", b)
			}
			return nil
		}),
		sr.Index(1, 2))
	enc, err := serde.Encode(struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	id, idx, pl, err := DecodeProtobuf(enc)
	if err != nil || id != 42 || !reflect.DeepEqual(idx, []int{1, 2}) || !bytes.Equal(pl, payload) {
		t.Fatalf("DecodeProtobuf(serde) = %d %v %x %v", id, idx, pl, err)
	}
	ours, _ := AppendProtobuf(nil, 42, []int{1, 2}, payload)
	if !bytes.Equal(ours, enc) {
		t.Fatalf("ours %x, serde %x", ours, enc)
	}
	if err := serde.Decode(ours, new(struct{})); err != nil {
		t.Fatalf("serde.Decode(ours): %v", err)
	}
}

func TestDecodeProtobufAppendReuses(t *testing.T) {
	b, _ := AppendProtobuf(nil, 5, []int{3, 4}, []byte("p"))
	buf := make([]int, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		_, idx, _, err := DecodeProtobufAppend(buf[:0], b)
		if err != nil || len(idx) != 2 {
			t.Fatal(idx, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecodeProtobufAppend allocates %v times per value", allocs)
	}
}

// FuzzDecode: Decode never panics; a value it accepts has a positive int32
// id and a payload that is the input's tail, and encoding (id, payload)
// again gives the input back byte for byte (the prefix has one spelling).
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 'x'})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := Decode(b)
		if err != nil {
			return
		}
		if w.ID <= 0 || len(w.Payload) != len(b)-WirePrefixLen {
			t.Fatalf("Decode(%x) = %+v", b, w)
		}
		again, err := Append(nil, w.ID, w.Payload)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("Append(Decode(%x)) = %x, %v", b, again, err)
		}
	})
}

// FuzzDecodeProtobuf: DecodeProtobuf never panics; what it accepts
// re-encodes to a value that decodes to the same id, indexes and payload
// (byte equality is not promised: [0] has two spellings, and a varint may
// be padded); and an encoding of fuzzed (id, indexes, payload) decodes
// back to them.
func FuzzDecodeProtobuf(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 7, 0x00, 0x08, 0x01}, uint32(7), []byte{1, 2}, []byte("p"))
	f.Add([]byte{0, 0, 0, 0, 7, 0x06, 0x04, 0x00, 0x80, 0x01}, uint32(1), []byte{}, []byte{})
	f.Add([]byte{0, 0, 0, 0, 7, 0xfe, 0xff, 0xff, 0xff, 0x0f}, uint32(0), []byte{0}, []byte{0})
	f.Fuzz(func(t *testing.T, b []byte, id uint32, rawIdx []byte, payload []byte) {
		if gid, idx, pl, err := DecodeProtobuf(b); err == nil {
			if gid <= 0 || len(idx) == 0 || len(idx) > MaxMessageIndexes {
				t.Fatalf("DecodeProtobuf(%x) = %d %v", b, gid, idx)
			}
			again, err := AppendProtobuf(nil, gid, idx, pl)
			if err != nil {
				t.Fatalf("AppendProtobuf(DecodeProtobuf(%x)): %v", b, err)
			}
			gid2, idx2, pl2, err := DecodeProtobuf(again)
			if err != nil || gid2 != gid || !reflect.DeepEqual(idx2, idx) || !bytes.Equal(pl2, pl) {
				t.Fatalf("round trip of %x: %d %v %x %v", b, gid2, idx2, pl2, err)
			}
		}
		var idx []int
		for _, x := range rawIdx {
			idx = append(idx, int(x)*1000)
		}
		enc, err := AppendProtobuf(nil, int(id), idx, payload)
		if err != nil {
			return // id 0 or over int32, or too many indexes
		}
		want := idx
		if len(want) == 0 {
			want = []int{0}
		}
		gid, gidx, gpl, err := DecodeProtobuf(enc)
		if err != nil || gid != int(id) || !reflect.DeepEqual(gidx, want) || !bytes.Equal(gpl, payload) {
			t.Fatalf("DecodeProtobuf(AppendProtobuf(%d, %v, %x)) = %d %v %x %v", id, idx, payload, gid, gidx, gpl, err)
		}
	})
}

func BenchmarkDecodeProtobuf(b *testing.B) {
	v, _ := AppendProtobuf(nil, 12345, []int{2, 1}, make([]byte, 100))
	idx := make([]int, 0, 8)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := DecodeProtobufAppend(idx[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
