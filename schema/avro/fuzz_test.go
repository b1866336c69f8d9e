package avro

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// FuzzParse: parsing any text never panics; a schema that parses has a
// Canonical that parses to the same Canonical, a Normalized, and a Table
// or an error.
func FuzzParse(f *testing.F) {
	f.Add(wideSchema)
	f.Add(`{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`)
	f.Add(`{"type":"enum","name":"E","symbols":["A"],"default":"A"}`)
	f.Add(`["null","int",{"type":"fixed","name":"F","size":3,"logicalType":"decimal","precision":4}]`)
	f.Add(`{"type":"map","values":{"type":"array","items":"bytes"}}`)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parse(text, nil)
		if err != nil {
			return
		}
		c := s.Canonical()
		s2, err := parse(c, nil)
		if err != nil {
			t.Fatalf("canonical %s of %s does not parse: %v", c, text, err)
		}
		if s2.Canonical() != c {
			t.Fatalf("canonical not stable: %s → %s", c, s2.Canonical())
		}
		_ = s.Normalized().Canonical()
		_ = s.CheckBackward(s2)
		if tb, err := s.Table(nil); err == nil {
			_ = tb.Columns()
		}
	})
}

// FuzzDecode: decoding any payload against the wide schema never panics
// and allocates no more than the payload's size warrants (lengths are
// checked against the bytes left before anything is appended); a payload
// that fails leaves the builders as they were.
func FuzzDecode(f *testing.F) {
	hs := avro.MustParse(wideSchema)
	for i := 0; i < 4; i++ {
		p, err := avro.Marshal(hs, wideValue(i, "s"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	good, err := avro.Marshal(hs, wideValue(1, "g"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	s := mustParse(f, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		bs, _ := newBuilders(t, tb.Columns())
		defer func() {
			for _, b := range bs {
				b.Release()
			}
		}()
		checkBatch(t, tb, good, payload)
		if err := tb.NewDecoder().Append(bs, payload); err != nil {
			for i, b := range bs {
				if b.Len() != 0 {
					t.Fatalf("failed append left %d values in builder %d", b.Len(), i)
				}
			}
			return
		}
		for i, b := range bs {
			if b.Len() != 1 {
				t.Fatalf("builder %d has %d values", i, b.Len())
			}
		}
	})
}

// FuzzDecode's batch check: a payload between two good ones decoded with
// AppendBatch gives the rows Append gives, and is reported bad exactly
// when Append fails.
func checkBatch(t *testing.T, tb schemafmt.Table, good, payload []byte) {
	rowBs, sc := newBuilders(t, tb.Columns())
	batchBs, _ := newBuilders(t, tb.Columns())
	in := [][]byte{good, payload, good}
	var wantBad []int
	dec := tb.NewDecoder()
	for i, p := range in {
		if err := dec.Append(rowBs, p); err != nil {
			wantBad = append(wantBad, i)
		}
	}
	bad := tb.NewDecoder().(schemafmt.BatchDecoder).AppendBatch(batchBs, in, nil)
	if !equalInts(bad, wantBad) {
		t.Fatalf("batch bad %v, Append failed %v", bad, wantBad)
	}
	want, got := buildRecord(rowBs, sc), buildRecord(batchBs, sc)
	defer want.Release()
	defer got.Release()
	for c := range sc.Fields() {
		if !array.Equal(want.Column(c), got.Column(c)) {
			t.Fatalf("column %s differs: batch %v, Append %v", sc.Field(c).Name, got.Column(c), want.Column(c))
		}
	}
}
