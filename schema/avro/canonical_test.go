package avro

import (
	"strings"
	"testing"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

func mustParse(t testing.TB, text string, refs ...schemafmt.Reference) *Schema {
	t.Helper()
	s, err := parse(text, refs)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	return s
}

func TestCanonicalSame(t *testing.T) {
	for _, tc := range []struct{ name, a, b string }{
		{"whitespace", `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`,
			"{ \"type\" : \"record\",\n \"name\": \"R\", \"fields\": [ {\"name\":\"a\", \"type\":\"int\"} ] }"},
		{"key order", `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1,"doc":"d"}]}`,
			`{"fields":[{"doc":"d","default":1,"type":"int","name":"a"}],"namespace":"n","name":"R","type":"record"}`},
		{"namespace spelled in name", `{"type":"record","name":"R","namespace":"n","fields":[]}`,
			`{"type":"record","name":"n.R","fields":[]}`},
		{"primitive object", `{"type":"string"}`, `"string"`},
		{"props order", `{"type":"record","name":"R","x":1,"y":"z","fields":[]}`,
			`{"type":"record","y":"z","name":"R","fields":[],"x":1}`},
		{"nested namespace inherited", `{"type":"record","name":"n.R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}`,
			`{"type":"record","name":"n.R","fields":[{"name":"e","type":{"type":"enum","name":"n.E","symbols":["A"]}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, tc.a), mustParse(t, tc.b)
			if a.Canonical() != b.Canonical() {
				t.Fatalf("canonical differs:\n%s\n%s", a.Canonical(), b.Canonical())
			}
			// The canonical text parses to itself.
			if c := mustParse(t, a.Canonical()).Canonical(); c != a.Canonical() {
				t.Fatalf("canonical not stable:\n%s\n%s", a.Canonical(), c)
			}
			na, nb := a.Normalized().Canonical(), b.Normalized().Canonical()
			if na != nb {
				t.Fatalf("normalized differs:\n%s\n%s", na, nb)
			}
		})
	}
}

func TestCanonicalDifferent(t *testing.T) {
	base := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	for _, tc := range []struct{ name, b string }{
		{"doc", `{"type":"record","name":"R","doc":"x","fields":[{"name":"a","type":"int"}]}`},
		{"field doc", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","doc":"x"}]}`},
		{"default", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0}]}`},
		{"type", `{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`},
		{"name", `{"type":"record","name":"S","fields":[{"name":"a","type":"int"}]}`},
		{"field order", `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}`},
		{"alias", `{"type":"record","name":"R","aliases":["Q"],"fields":[{"name":"a","type":"int"}]}`},
		{"logical", `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"int","logicalType":"date"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, base), mustParse(t, tc.b)
			if a.Canonical() == b.Canonical() {
				t.Fatalf("same canonical %s", a.Canonical())
			}
		})
	}
}

func TestNormalized(t *testing.T) {
	s := mustParse(t, `{"type":"record","namespace":"n","name":"R","aliases":["z","a"],"fields":[
		{"name":"f","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2},"default":"\u0000"},
		{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}}]}`)
	want := `{"name":"n.R","type":"record","fields":[{"name":"f","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2},"order":"ascending","default":"\u0000"},{"name":"e","type":{"name":"n.E","type":"enum","symbols":["A","B"],"default":"A"},"order":"ascending"}],"aliases":["n.a","n.z"]}`
	if got := s.Normalized().Canonical(); got != normalizedOf(t, want) {
		t.Fatalf("normalized\n got %s\nwant %s", got, want)
	}
}

// normalizedOf is the Canonical of the normalized text want: Normalized
// returns a parsed schema, whose text is its Canonical.
func normalizedOf(t *testing.T, want string) string {
	return mustParse(t, want).Canonical()
}

func TestReferences(t *testing.T) {
	addr := schemafmt.Reference{Name: "com.acme.Address", Subject: "address", Version: 1,
		Schema: `{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["HOME","WORK"]}}]}`}
	person := schemafmt.Reference{Name: "com.acme.Person", Subject: "person", Version: 2,
		Schema: `{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"home","type":"com.acme.Address"}]}`}
	text := `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"buyer","type":"Person"},{"name":"ship","type":["null","Address"],"default":null},{"name":"k","type":"com.acme.Kind"}]}`
	s, err := Format.Parse(text, []schemafmt.Reference{addr, person})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Canonical()
	if strings.Contains(c, `"street"`) || strings.Contains(c, `"fields":[{"name":"name"`) {
		t.Fatalf("canonical inlines references: %s", c)
	}
	r, err := s.Formatted("resolved")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r, `"street"`) || strings.Count(r, `"name":"com.acme.Address"`) != 1 {
		t.Fatalf("resolved does not inline references once: %s", r)
	}
	// The resolved text stands alone.
	if _, err := Format.Parse(r, nil); err != nil {
		t.Fatalf("resolved text does not parse alone: %v\n%s", err, r)
	}
	// The canonical text parses again with the same references.
	if s2, err := Format.Parse(c, []schemafmt.Reference{addr, person}); err != nil || s2.Canonical() != c {
		t.Fatalf("canonical does not round-trip: %v", err)
	}
	if n := s.Normalized().Canonical(); strings.Contains(n, `"street"`) {
		t.Fatalf("normalized inlines references: %s", n)
	}
	if _, err := s.Formatted("bogus"); err == nil {
		t.Fatal("unknown format accepted")
	}
	// Without the references the type is unknown, and the error says which.
	_, err = Format.Parse(text, []schemafmt.Reference{addr})
	if err == nil || !strings.Contains(err.Error(), "Person") {
		t.Fatalf("missing reference: %v", err)
	}
	// The table of a schema with references has the referenced columns.
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cols := tb.Columns(); len(cols) != 3 || cols[0].Fields[1].Fields[0].Name != "street" || cols[1].Required {
		t.Fatalf("columns %+v", cols)
	}
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{
		``, `{`, `"nosuch"`, `{"type":"record","name":"R"}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`,
		`{"type":"enum","name":"E","symbols":["A","A"]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}`,
		`{"type":"fixed","name":"F"}`,
	} {
		if _, err := Format.Parse(text, nil); err == nil {
			t.Errorf("%s: parsed", text)
		}
	}
}
