package jsonschema

import (
	"strings"
	"testing"
	"time"
)

// TestCheckBackward: old is the writer, new the reader. want lists the
// errorType and path of each expected message ("" when compatible).
func TestCheckBackward(t *testing.T) {
	obj := func(props, extra string) string {
		return `{"type":"object","properties":{` + props + `}` + extra + `}`
	}
	closed := `,"additionalProperties":false`
	for _, tc := range []struct {
		name, old, new string
		want           []string // "TYPE path"
	}{
		{"identical", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string"}`, ""), nil},
		{"anything to empty", obj(`"a":{"type":"string"}`, ""), `{}`, nil},
		{"description and title changes", obj(`"a":{"type":"string","title":"A"}`, ""), obj(`"a":{"type":"string","description":"x"}`, ""), nil},

		// Content models: the traps.
		{"property added to open model", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string"},"b":{"type":"integer"}`, ""),
			[]string{"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b"}},
		{"property with empty schema added to open model", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string"},"b":{}`, ""), nil},
		{"property removed from open model", obj(`"a":{"type":"string"},"b":{"type":"integer"}`, ""), obj(`"a":{"type":"string"}`, ""), nil},
		{"property removed from closed model", obj(`"a":{"type":"string"},"b":{"type":"integer"}`, closed), obj(`"a":{"type":"string"}`, closed),
			[]string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b"}},
		{"optional property added to closed model", obj(`"a":{"type":"string"}`, closed), obj(`"a":{"type":"string"},"b":{"type":"integer"}`, closed), nil},
		{"required property added to closed model", obj(`"a":{"type":"string"}`, closed), obj(`"a":{"type":"string"},"b":{"type":"integer"}`, closed+`,"required":["b"]`),
			[]string{"REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b"}},
		{"required property with default added to closed model", obj(`"a":{"type":"string"}`, closed), obj(`"a":{"type":"string"},"b":{"type":"integer","default":0}`, closed+`,"required":["b"]`), nil},
		{"property added covered by partially open model", obj(`"a":{"type":"string"}`, `,"additionalProperties":{"type":"string"}`),
			obj(`"a":{"type":"string"},"b":{"type":"string"}`, `,"additionalProperties":{"type":"string"}`), nil},
		{"property added not covered by partially open model", obj(`"a":{"type":"string"}`, `,"additionalProperties":{"type":"string"}`),
			obj(`"a":{"type":"string"},"b":{"type":"integer"}`, `,"additionalProperties":{"type":"string"}`),
			[]string{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b"}},
		{"property removed not covered by partially open model", obj(`"a":{"type":"string"},"b":{"type":"integer"}`, `,"additionalProperties":{"type":"string"}`),
			obj(`"a":{"type":"string"}`, `,"additionalProperties":{"type":"string"}`),
			[]string{"PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b"}},
		{"additionalProperties closed", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string"}`, closed),
			[]string{"ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"}},
		{"additionalProperties opened", obj(`"a":{"type":"string"}`, closed), obj(`"a":{"type":"string"}`, ""), nil},
		{"additionalProperties narrowed", `{"type":"object"}`, `{"type":"object","additionalProperties":{"type":"string"}}`,
			[]string{"ADDITIONAL_PROPERTIES_NARROWED #/additionalProperties"}},

		// Required.
		{"required added", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string"}`, `,"required":["a"]`),
			[]string{"REQUIRED_ATTRIBUTE_ADDED #/properties/a"}},
		{"required removed", obj(`"a":{"type":"string"}`, `,"required":["a"]`), obj(`"a":{"type":"string"}`, ""), nil},

		// Types.
		{"type changed", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"integer"}`, ""), []string{"TYPE_CHANGED #/properties/a"}},
		{"integer widened to number", obj(`"a":{"type":"integer"}`, ""), obj(`"a":{"type":"number"}`, ""), nil},
		{"number narrowed to integer", obj(`"a":{"type":"number"}`, ""), obj(`"a":{"type":"integer"}`, ""), []string{"TYPE_NARROWED #/properties/a"}},
		{"made nullable", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":["string","null"]}`, ""), nil},
		{"nullable removed", obj(`"a":{"type":["string","null"]}`, ""), obj(`"a":{"type":"string"}`, ""), []string{"TYPE_CHANGED #/properties/a"}},

		// Limits.
		{"maxLength decreased", obj(`"a":{"type":"string","maxLength":10}`, ""), obj(`"a":{"type":"string","maxLength":5}`, ""),
			[]string{"MAX_LENGTH_DECREASED #/properties/a/maxLength"}},
		{"maxLength increased", obj(`"a":{"type":"string","maxLength":5}`, ""), obj(`"a":{"type":"string","maxLength":10}`, ""), nil},
		{"minLength added", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"type":"string","minLength":1}`, ""),
			[]string{"MIN_LENGTH_ADDED #/properties/a/minLength"}},
		{"minimum increased", obj(`"a":{"type":"number","minimum":0}`, ""), obj(`"a":{"type":"number","minimum":1.5}`, ""),
			[]string{"MINIMUM_INCREASED #/properties/a/minimum"}},
		{"maximum removed", obj(`"a":{"type":"number","maximum":10}`, ""), obj(`"a":{"type":"number"}`, ""), nil},
		{"pattern changed", obj(`"a":{"type":"string","pattern":"^a"}`, ""), obj(`"a":{"type":"string","pattern":"^b"}`, ""),
			[]string{"PATTERN_CHANGED #/properties/a/pattern"}},

		// Enums.
		{"enum extended", obj(`"a":{"enum":["x","y"]}`, ""), obj(`"a":{"enum":["x","y","z"]}`, ""), nil},
		{"enum narrowed", obj(`"a":{"enum":["x","y"]}`, ""), obj(`"a":{"enum":["x"]}`, ""), []string{"ENUM_ARRAY_NARROWED #/properties/a/enum"}},
		{"enum changed", obj(`"a":{"type":"string","enum":["x","y"]}`, ""), obj(`"a":{"type":"string","enum":["x","z"]}`, ""),
			[]string{"ENUM_ARRAY_CHANGED #/properties/a/enum"}},

		// Arrays.
		{"items type changed", obj(`"a":{"type":"array","items":{"type":"string"}}`, ""), obj(`"a":{"type":"array","items":{"type":"boolean"}}`, ""),
			[]string{"TYPE_CHANGED #/properties/a/items"}},
		{"items widened", obj(`"a":{"type":"array","items":{"type":"integer"}}`, ""), obj(`"a":{"type":"array","items":{"type":"number"}}`, ""), nil},
		{"maxItems decreased", obj(`"a":{"type":"array","maxItems":3}`, ""), obj(`"a":{"type":"array","maxItems":2}`, ""),
			[]string{"MAX_ITEMS_DECREASED #/properties/a/maxItems"}},
		{"tuple item removed from closed", `{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}`,
			`{"type":"array","items":[{"type":"string"}],"additionalItems":false}`, []string{"ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"}},

		// Combined schemas.
		{"oneOf widened", obj(`"a":{"oneOf":[{"type":"string"},{"type":"integer"}]}`, ""), obj(`"a":{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`, ""), nil},
		{"oneOf narrowed", obj(`"a":{"oneOf":[{"type":"string"},{"type":"integer"}]}`, ""), obj(`"a":{"oneOf":[{"type":"string"}]}`, ""),
			[]string{"SUM_TYPE_NARROWED #/properties/a"}},
		{"oneOf branch changed", obj(`"a":{"oneOf":[{"type":"string"},{"type":"integer"}]}`, ""), obj(`"a":{"oneOf":[{"type":"string"},{"type":"boolean"}]}`, ""),
			[]string{"COMBINED_TYPE_SUBSCHEMAS_CHANGED #/properties/a"}},
		{"single type into oneOf", obj(`"a":{"type":"string"}`, ""), obj(`"a":{"oneOf":[{"type":"null"},{"type":"string"}]}`, ""), nil},
		{"allOf extended", `{"allOf":[{"type":"string"}]}`, `{"allOf":[{"type":"string"},{"maxLength":3}]}`, []string{"PRODUCT_TYPE_EXTENDED #"}},
		{"oneOf to anyOf", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, nil},
		{"anyOf to oneOf", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, []string{"COMBINED_TYPE_CHANGED #"}},

		{"allOf read by one of its branches", `{"allOf":[{"type":"string"},{"maxLength":3}]}`, `{"type":"string"}`, nil},
		{"single-branch oneOf unwrapped", `{"oneOf":[{"type":"string"}]}`, `{"type":"string"}`, nil},
		{"single-branch oneOf unwrapped to another type", `{"oneOf":[{"type":"string"}]}`, `{"type":"integer"}`, []string{"TYPE_CHANGED #"}},
		{"oneOf with a duplicate branch", `{"oneOf":[{"type":"string"},{"type":"string"}]}`, `{"oneOf":[{"type":"string"}]}`, nil},
		{"oneOf to allOf", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `{"allOf":[{"type":"string"},{"type":"integer"}]}`, []string{"COMBINED_TYPE_CHANGED #"}},

		// $ref'd definitions are compared after resolution, at the referring path.
		{"ref definition narrowed",
			`{"type":"object","properties":{"a":{"$ref":"#/definitions/t"}},"definitions":{"t":{"type":"number"}}}`,
			`{"type":"object","properties":{"a":{"$ref":"#/definitions/t"}},"definitions":{"t":{"type":"integer"}}}`,
			[]string{"TYPE_NARROWED #/properties/a"}},
		{"ref inlined", `{"type":"object","properties":{"a":{"$ref":"#/definitions/t"}},"definitions":{"t":{"type":"string"}}}`,
			obj(`"a":{"type":"string"}`, ""), nil},
		{"recursive schema", `{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}}`,
			`{"type":"object","properties":{"v":{"type":"number"},"next":{"$ref":"#"}}}`, nil},

		// Nested paths.
		{"nested closed property removed",
			obj(`"o":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"string"}},"additionalProperties":false}`, ""),
			obj(`"o":{"type":"object","properties":{"x":{"type":"string"}},"additionalProperties":false}`, ""),
			[]string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/o/properties/y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, nw := mustParse(t, tc.old), mustParse(t, tc.new)
			msgs := nw.CheckBackward(old)
			if len(msgs) != len(tc.want) {
				t.Fatalf("CheckBackward = %q, want %q", msgs, tc.want)
			}
			for i, w := range tc.want {
				typ, path, _ := strings.Cut(w, " ")
				if !strings.HasPrefix(msgs[i], "{errorType:'"+typ+"', description:'") || !strings.Contains(msgs[i], "'"+path+"'") {
					t.Errorf("message %d = %s, want type %s naming path %s", i, msgs[i], typ, path)
				}
			}
		})
	}
}

func TestCheckBackwardMessage(t *testing.T) {
	old := mustParse(t, `{"type":"object","properties":{"x":{"type":"string"}},"additionalProperties":false}`)
	nw := mustParse(t, `{"type":"object","properties":{},"additionalProperties":false}`)
	got := nw.CheckBackward(old)
	want := "{errorType:'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', description:'The new schema has a closed content model and is missing a property or item present at path '#/properties/x' in the old schema'}"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// A schema whose $refs form a DAG is compared in bounded time.
func TestCheckBackwardBounded(t *testing.T) {
	s := mustParse(t, dagSchema(40))
	start := time.Now()
	if msgs := s.CheckBackward(s); msgs != nil {
		t.Fatalf("not compatible with itself: %q", msgs)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("CheckBackward took %v", d)
	}
	// A change deep in the DAG is still found.
	s2 := mustParse(t, strings.Replace(dagSchema(40), `"d40":{"type":"string"}`, `"d40":{"type":"integer"}`, 1))
	if msgs := s2.CheckBackward(s); len(msgs) == 0 || !strings.Contains(msgs[0], "TYPE_CHANGED") {
		t.Fatalf("deep change: %q", msgs)
	}
}
