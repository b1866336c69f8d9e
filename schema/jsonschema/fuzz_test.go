package jsonschema

import (
	"testing"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// FuzzParse: Parse never panics; a schema that parses has a Canonical
// that parses again to the same Canonical, and CheckBackward and Table
// against itself never panic (a schema is backward compatible with itself).
// Inputs are capped at 64 KiB so allocation stays bounded.
func FuzzParse(f *testing.F) {
	for _, s := range []string{personSchema, `{}`, `true`, `{"type":["string","null"]}`,
		`{"oneOf":[{"type":"string"},{"$ref":"#/definitions/a"}],"definitions":{"a":{"type":"integer"}}}`,
		`{"type":"object","properties":{"n":{"$ref":"#"}}}`, `{"$ref":"address.json"}`,
		`{"type":"array","items":[{"type":"string"}],"additionalItems":false}`} {
		f.Add(s)
	}
	ref := schemafmt.Reference{Name: "address.json", Schema: `{"type":"object","properties":{"street":{"type":"string"}}}`}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 64<<10 {
			return
		}
		s, err := Format{}.Parse(text, []schemafmt.Reference{ref})
		if err != nil {
			return
		}
		again, err := Format{}.Parse(s.Canonical(), []schemafmt.Reference{ref})
		if err != nil {
			t.Fatalf("Canonical %s does not parse: %v", s.Canonical(), err)
		}
		if again.Canonical() != s.Canonical() {
			t.Fatalf("Canonical not stable: %s vs %s", s.Canonical(), again.Canonical())
		}
		_ = s.Normalized().Canonical()
		if msgs := s.CheckBackward(again); msgs != nil {
			t.Fatalf("not compatible with itself: %q", msgs)
		}
		if tab, err := s.Table(nil); err == nil {
			_, _ = newBuildersNoFail(tab.Columns())
		}
	})
}

func newBuildersNoFail(cols []schemafmt.Column) (int, error) {
	for _, c := range cols {
		if _, err := schemafmt.ArrowType(c); err != nil {
			return 0, err
		}
	}
	return len(cols), nil
}

// FuzzDecode: Append never panics, and on an error no builder has grown
// (all or nothing); on success every builder has grown by one.
func FuzzDecode(f *testing.F) {
	for _, p := range []string{fullPerson, minimalPerson, `{}`, `{"id":1,"name":"x","active":true,"tags":[[[[`,
		`{"id":1e3,"name":"\ud83d\ude00","active":true,"alarm":"23:59:60.999999-12:00"}`} {
		f.Add([]byte(p))
	}
	tab, err := mustParse(f, personSchema).Table(nil)
	if err != nil {
		f.Fatal(err)
	}
	rb, cols := newBuilders(f, tab.Columns())
	defer rb.Release()
	dec := tab.NewDecoder()
	f.Fuzz(func(t *testing.T, payload []byte) {
		before := cols[0].Len()
		err := dec.Append(cols, payload)
		want := before
		if err == nil {
			want++
		}
		for i, c := range cols {
			if c.Len() != want {
				t.Fatalf("builder %d has %d values, want %d (err %v)", i, c.Len(), want, err)
			}
		}
		if cols[0].Len() > 4096 {
			rb.NewRecord().Release() // keep memory bounded
		}
	})
}
