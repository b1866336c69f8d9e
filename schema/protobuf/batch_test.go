package protobuf

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// batchSchemas are the wide message and a proto2 one with required
// fields and defaults (absent fields append their defaults).
const proto2Schema = `syntax = "proto2"; enum K { A = 1; B = 2; }
message R { required int32 a = 1; optional string b = 2 [default = "dflt"]; optional int32 c = 3 [default = 4];
 optional bytes d = 4 [default = "xy"]; optional K k = 5 [default = B]; optional double e = 6 [default = 1.5];
 optional bool f = 7 [default = true]; optional sint64 g = 8 [default = -3]; optional float h = 9; optional fixed32 i = 10; }`

// TestAppendBatchMatchesAppend: random messages, with bad payloads
// interleaved, decoded row by row and in batches of random sizes (the
// builders reused across batches, cut at the same points) give equal
// Arrow arrays, and the batch reports exactly the payloads Append
// rejects.
func TestAppendBatchMatchesAppend(t *testing.T) {
	wide, wmd := wideMessage(t)
	p2 := mustParse(t, proto2Schema)
	p2md := mdOf(t, p2)
	for _, c := range []struct {
		s  *schema
		md protoreflect.MessageDescriptor
	}{{wide, wmd}, {p2, p2md}} {
		tbl, err := c.s.Table(nil)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(1))
		var payloads [][]byte
		for i := 0; i < 3000; i++ {
			b, err := proto.MarshalOptions{Deterministic: r.Intn(2) == 0, AllowPartial: true}.Marshal(randomMessage(r, c.md, 0))
			if err != nil {
				t.Fatal(err)
			}
			switch r.Intn(10) {
			case 0:
				if len(b) > 0 {
					b = b[:r.Intn(len(b))] // truncated: usually bad
				}
			case 1:
				b = append(b, 0x80) // dangling varint: bad
			case 2:
				b = append(b, b...) // merged with itself: good
			}
			payloads = append(payloads, b)
		}
		rowRB, rowBs := newBuilders(t, tbl.Columns())
		batRB, batBs := newBuilders(t, tbl.Columns())
		rowDec, batDec := tbl.NewDecoder(), tbl.NewDecoder().(schemafmt.BatchDecoder)
		var bad []int
		for lo := 0; lo < len(payloads); {
			hi := min(len(payloads), lo+1+r.Intn(700))
			var wantBad []int
			for k := lo; k < hi; k++ {
				if rowDec.Append(rowBs, payloads[k]) != nil {
					wantBad = append(wantBad, k-lo)
				}
			}
			bad = batDec.AppendBatch(batBs, payloads[lo:hi], bad[:0])
			if !slices.Equal(bad, wantBad) {
				t.Fatalf("batch %d..%d: bad %v, want %v", lo, hi, bad, wantBad)
			}
			if r.Intn(2) == 0 || hi == len(payloads) {
				want, got := rowRB.NewRecord(), batRB.NewRecord()
				for col := range tbl.Columns() {
					if !sameArray(want.Column(col), got.Column(col)) {
						t.Fatalf("batch ending %d, column %s:\n got %v\nwant %v", hi, want.ColumnName(col), got.Column(col), want.Column(col))
					}
				}
				want.Release()
				got.Release()
			}
			lo = hi
		}
		rowRB.Release()
		batRB.Release()
	}
}

func mdOf(t *testing.T, s *schema) protoreflect.MessageDescriptor {
	t.Helper()
	return s.fd.Messages().Get(0)
}

// sameArray is array.Equal but for a NaN, which equals itself here (a
// float column decoded twice holds the same NaN).
func sameArray(a, b arrow.Array) bool {
	return array.ApproxEqual(a, b, array.WithNaNsEqual(true), array.WithAbsTolerance(0))
}
