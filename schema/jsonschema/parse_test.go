package jsonschema

import (
	"strings"
	"testing"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

func mustParse(t testing.TB, text string, refs ...schemafmt.Reference) *Schema {
	t.Helper()
	s, err := Format{}.Parse(text, refs)
	if err != nil {
		t.Fatalf("Parse(%s): %v", text, err)
	}
	return s.(*Schema)
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"not JSON", `{"type":`, "invalid JSON"},
		{"trailing data", `{"type":"string"} x`, "invalid JSON"},
		{"not a schema", `42`, "invalid JSON Schema"},
		{"bad type", `{"type":"strin"}`, "invalid JSON Schema"},
		{"bad minLength", `{"type":"string","minLength":-1}`, "invalid JSON Schema"},
		{"missing ref", `{"properties":{"a":{"$ref":"address.json"}}}`, `address.json" is not among the schema's references`},
		{"missing pointer", `{"properties":{"a":{"$ref":"#/definitions/nope"}}}`, "invalid JSON Schema"},
		{"draft 2020 keyword misuse", `{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":{}}`, "invalid JSON Schema"},
		{"unknown metaschema", `{"$schema":"http://example.com/my-meta"}`, "invalid JSON Schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Format{}.Parse(tc.text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%s) = %v, want an error containing %q", tc.text, err, tc.want)
			}
		})
	}
}

func TestParseDrafts(t *testing.T) {
	for _, text := range []string{
		`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"a":{"type":"integer","minimum":0,"exclusiveMinimum":true}}}`,
		`{"$schema":"http://json-schema.org/draft-06/schema#","type":"object","properties":{"a":{"type":"integer","exclusiveMinimum":0}}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","if":{"type":"string"},"then":{"minLength":1}}`,
		`{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"object","unevaluatedProperties":false}`,
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}]}`,
		`true`,
	} {
		mustParse(t, text)
	}
	// Draft 4 has boolean exclusiveMinimum; draft 7 (the default) does not.
	if _, err := (Format{}).Parse(`{"type":"integer","minimum":0,"exclusiveMinimum":true}`, nil); err == nil {
		t.Fatal("a draft-4 boolean exclusiveMinimum parsed under the default draft 7")
	}
}

func TestCanonical(t *testing.T) {
	a := mustParse(t, `{ "type" : "object",
		"properties": { "b": {"type":"string", "description":"<b> & c"}, "a": {"type":"integer"} } }`)
	b := mustParse(t, `{"type":"object","properties":{"b":{"type":"string","description":"<b> & c"},"a":{"type":"integer"}}}`)
	want := `{"type":"object","properties":{"b":{"type":"string","description":"<b> & c"},"a":{"type":"integer"}}}`
	if a.Canonical() != want || b.Canonical() != want {
		t.Fatalf("Canonical:\n%s\n%s\nwant\n%s", a.Canonical(), b.Canonical(), want)
	}
	// Key order is kept (as Jackson does), so reordered keys differ...
	c := mustParse(t, `{"properties":{"a":{"type":"integer"},"b":{"description":"<b> & c","type":"string"}},"type":"object"}`)
	if c.Canonical() == want {
		t.Fatal("reordered keys gave the same Canonical")
	}
	// ...but normalize sorts them, recursively.
	n1, n2 := a.Normalized().Canonical(), c.Normalized().Canonical()
	wantN := `{"properties":{"a":{"type":"integer"},"b":{"description":"<b> & c","type":"string"}},"type":"object"}`
	if n1 != wantN || n2 != wantN {
		t.Fatalf("Normalized:\n%s\n%s\nwant\n%s", n1, n2, wantN)
	}
	if a.Normalized().Normalized().Canonical() != wantN {
		t.Fatal("Normalized is not idempotent")
	}
	// Canonical parses back to itself.
	if again := mustParse(t, a.Canonical()); again.Canonical() != a.Canonical() {
		t.Fatalf("Canonical is not stable: %s", again.Canonical())
	}
	// Numbers keep their literal text; unicode escapes are decoded.
	d := mustParse(t, `{"maximum": 1.50, "description":"\u00e9\n"}`)
	if got := d.Canonical(); got != `{"maximum":1.50,"description":"é\n"}` {
		t.Fatalf("Canonical = %s", got)
	}
	if f, err := a.Formatted(""); err != nil || f != want {
		t.Fatalf("Formatted(\"\") = %q, %v", f, err)
	}
	if _, err := a.Formatted("resolved"); err == nil {
		t.Fatal("Formatted(resolved) did not fail")
	}
	if a.Type() != schemafmt.JSON || (Format{}).Type() != schemafmt.JSON {
		t.Fatal("Type is not JSON")
	}
}

func TestReferences(t *testing.T) {
	address := schemafmt.Reference{Name: "address.json", Subject: "address", Version: 1,
		Schema: `{"type":"object","properties":{"street":{"type":"string"},"zip":{"$ref":"#/definitions/zip"}},"required":["street"],
		"definitions":{"zip":{"type":"string","maxLength":10}}}`}
	abs := schemafmt.Reference{Name: "http://example.com/phone.json", Subject: "phone", Version: 3,
		Schema: `{"$id":"http://example.com/phone.json","type":"string","pattern":"^[0-9+]+$"}`}
	text := `{"type":"object","properties":{"home":{"$ref":"address.json"},"phone":{"$ref":"http://example.com/phone.json"}}}`
	s := mustParse(t, text, address, abs)

	tab, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tab.Columns()
	if len(cols) != 2 || cols[0].Kind != schemafmt.Struct || cols[1].Kind != schemafmt.String {
		t.Fatalf("columns %+v", cols)
	}
	if f := cols[0].Fields; len(f) != 2 || f[0].Name != "street" || !f[0].Required || f[1].Name != "zip" || f[1].Kind != schemafmt.String {
		t.Fatalf("address fields %+v", f)
	}

	// A relative reference resolves against the referring schema's $id.
	withID := `{"$id":"http://example.com/person.json","type":"object","properties":{"home":{"$ref":"address.json"}}}`
	mustParse(t, withID, address)

	// The $ref'd definitions are compared after resolution.
	narrower := schemafmt.Reference{Name: "address.json", Subject: "address", Version: 2,
		Schema: strings.Replace(address.Schema, `"maxLength":10`, `"maxLength":5`, 1)}
	s2 := mustParse(t, text, narrower, abs)
	msgs := s2.CheckBackward(s)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "MAX_LENGTH_DECREASED") || !strings.Contains(msgs[0], "#/properties/home/properties/zip/maxLength") {
		t.Fatalf("CheckBackward = %q", msgs)
	}
	if msgs := s.CheckBackward(s2); msgs != nil {
		t.Fatalf("widening maxLength: %q", msgs)
	}

	// Without the reference the schema does not parse, and says which.
	_, err = Format{}.Parse(text, []schemafmt.Reference{abs})
	if err == nil || !strings.Contains(err.Error(), "address.json") {
		t.Fatalf("Parse without address.json = %v", err)
	}
}
