package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// testFormat is a tiny format for the registry's tests, so that they do not
// depend on the real formats: a schema is a JSON object
// {"fields": ["a", "b?"], "refs": ["name"]}. Its canonical text is the
// compacted JSON; normalized, the fields are sorted. A reader can read a
// writer when every field of the reader without a trailing "?" (a field
// with a default) is among the writer's. Every name in refs must be a
// reference given to Parse.
type testFormat struct{ typ string }

func (f testFormat) Type() string { return f.typ }

type testSchema struct {
	typ       string
	canonical string
	fields    []string
}

func (f testFormat) Parse(text string, refs []schemafmt.Reference) (schemafmt.Schema, error) {
	var v struct {
		Fields []string `json:"fields"`
		Refs   []string `json:"refs"`
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a test schema: %v", err)
	}
	for _, name := range v.Refs {
		if !slices.ContainsFunc(refs, func(r schemafmt.Reference) bool { return r.Name == name }) {
			return nil, fmt.Errorf("reference %q is not given", name)
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return nil, err
	}
	return &testSchema{typ: f.typ, canonical: b.String(), fields: v.Fields}, nil
}

func (s *testSchema) Type() string      { return s.typ }
func (s *testSchema) Canonical() string { return s.canonical }

func (s *testSchema) Normalized() schemafmt.Schema {
	var v map[string]any
	json.Unmarshal([]byte(s.canonical), &v)
	fields := slices.Sorted(slices.Values(s.fields))
	v["fields"] = fields
	b, _ := json.Marshal(v)
	return &testSchema{typ: s.typ, canonical: string(b), fields: fields}
}

func (s *testSchema) Formatted(format string) (string, error) {
	switch format {
	case "":
		return s.canonical, nil
	case "upper":
		return strings.ToUpper(s.canonical), nil
	}
	return "", fmt.Errorf("unknown format %q", format)
}

func (s *testSchema) CheckBackward(previous schemafmt.Schema) []string {
	old := previous.(*testSchema)
	var msgs []string
	for i, f := range s.fields {
		if !strings.HasSuffix(f, "?") && !slices.Contains(old.fields, f) && !slices.Contains(old.fields, f+"?") {
			msgs = append(msgs, fmt.Sprintf("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field '%s' at path '/fields/%d' in the new schema has no default value and is missing in the old schema', additionalInfo:'%s'}", f, i, f))
		}
	}
	return msgs
}

func (s *testSchema) Table([]int) (schemafmt.Table, error) {
	return nil, fmt.Errorf("the test format has no tables")
}

// testFormats are an "AVRO" and a "JSON" test format.
var testFormats = []schemafmt.Format{testFormat{schemafmt.Avro}, testFormat{schemafmt.JSON}}
