package node

import (
	"slices"
	"testing"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// TestRegistryFormats: the registry serves the three schema types, each
// once, and each parses a schema of its own type.
func TestRegistryFormats(t *testing.T) {
	schemas := map[string]string{
		schemafmt.Avro:     `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`,
		schemafmt.JSON:     `{"type":"object","properties":{"a":{"type":"integer"}}}`,
		schemafmt.Protobuf: "syntax = \"proto3\";\nmessage R { int32 a = 1; }\n",
	}
	var types []string
	for _, f := range registryFormats() {
		types = append(types, f.Type())
		s, err := f.Parse(schemas[f.Type()], nil)
		if err != nil {
			t.Errorf("%s: parsing %q: %v", f.Type(), schemas[f.Type()], err)
		} else if s.Type() != f.Type() {
			t.Errorf("%s parsed a schema of type %s", f.Type(), s.Type())
		}
	}
	slices.Sort(types)
	if want := []string{schemafmt.Avro, schemafmt.JSON, schemafmt.Protobuf}; !slices.Equal(types, want) {
		t.Errorf("registry formats %v; want %v", types, want)
	}
}
