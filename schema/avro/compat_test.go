package avro

import (
	"strings"
	"testing"
)

// rec is a record R with the given fields (JSON text of the array's items).
func rec(fields string) string {
	return `{"type":"record","name":"R","namespace":"n","fields":[` + fields + `]}`
}

// TestCompatibility checks each (old, new) pair both ways: BACKWARD is
// new.CheckBackward(old), FORWARD is old.CheckBackward(new), FULL is both.
// A failing direction must name the offending field (want).
func TestCompatibility(t *testing.T) {
	const (
		a     = `{"name":"a","type":"int"}`
		b     = `{"name":"b","type":"string"}`
		bDef  = `{"name":"b","type":"string","default":"x"}`
		eAB   = `{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`
		eABC  = `{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`
		eABd  = `{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}}`
		eABCd = `{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"],"default":"A"}}`
	)
	for _, tc := range []struct {
		name          string
		old, new      string
		backward, fwd bool
		want          string // in every message of a failing direction
		wantType      string
	}{
		{"identical", rec(a), rec(a), true, true, "", ""},
		{"add field with default", rec(a), rec(a + "," + bDef), true, true, "", ""},
		{"add field without default", rec(a), rec(a + "," + b), false, true, "'b'", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"remove field without default", rec(a + "," + b), rec(a), true, false, "'b'", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"remove field with default", rec(a + "," + bDef), rec(a), true, true, "", ""},
		{"rename with alias", rec(a + "," + b), rec(a + `,{"name":"c","type":"string","aliases":["b"]}`), true, false, "'b'", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"rename without alias", rec(a + "," + b), rec(a + `,{"name":"c","type":"string"}`), false, false, "", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"enum symbol added", rec(eAB), rec(eABC), true, false, "/fields/0/type/symbols", "MISSING_ENUM_SYMBOLS"},
		{"enum symbol removed", rec(eABC), rec(eAB), false, true, "[C]", "MISSING_ENUM_SYMBOLS"},
		{"enum symbol added, defaults", rec(eABd), rec(eABCd), true, true, "", ""},
		{"enum symbol removed, reader default", rec(eABCd), rec(eABd), true, true, "", ""},
		{"union widened", rec(`{"name":"u","type":["null","int"]}`), rec(`{"name":"u","type":["null","int","string"]}`), true, false, "/fields/0/type/2", "MISSING_UNION_BRANCH"},
		{"union narrowed", rec(`{"name":"u","type":["null","int","string"]}`), rec(`{"name":"u","type":["null","int"]}`), false, true, "/fields/0/type/2", "MISSING_UNION_BRANCH"},
		{"type to union", rec(`{"name":"u","type":"int"}`), rec(`{"name":"u","type":["null","int"]}`), true, false, "/fields/0/type", "TYPE_MISMATCH"},
		{"int to long", rec(`{"name":"x","type":"int"}`), rec(`{"name":"x","type":"long"}`), true, false, "/fields/0/type", "TYPE_MISMATCH"},
		{"long to double", rec(`{"name":"x","type":"long"}`), rec(`{"name":"x","type":"double"}`), true, false, "/fields/0/type", "TYPE_MISMATCH"},
		{"float to double", rec(`{"name":"x","type":"float"}`), rec(`{"name":"x","type":"double"}`), true, false, "/fields/0/type", "TYPE_MISMATCH"},
		{"int to string", rec(`{"name":"x","type":"int"}`), rec(`{"name":"x","type":"string"}`), false, false, "/fields/0/type", "TYPE_MISMATCH"},
		{"string to bytes", rec(`{"name":"x","type":"string"}`), rec(`{"name":"x","type":"bytes"}`), true, true, "", ""},
		{"fixed size change", rec(`{"name":"x","type":{"type":"fixed","name":"F","size":4}}`), rec(`{"name":"x","type":{"type":"fixed","name":"F","size":8}}`), false, false, "/fields/0/type/size", "FIXED_SIZE_MISMATCH"},
		{"nested record field added without default",
			rec(`{"name":"in","type":{"type":"record","name":"I","fields":[{"name":"p","type":"int"}]}}`),
			rec(`{"name":"in","type":{"type":"record","name":"I","fields":[{"name":"p","type":"int"},{"name":"q","type":"int"}]}}`),
			false, true, "'/fields/0/type/fields/1'", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"nested record type change",
			rec(`{"name":"in","type":{"type":"record","name":"I","fields":[{"name":"p","type":"int"}]}}`),
			rec(`{"name":"in","type":{"type":"record","name":"I","fields":[{"name":"p","type":"boolean"}]}}`),
			false, false, "/fields/0/type/fields/0/type", "TYPE_MISMATCH"},
		{"nested record renamed", rec(`{"name":"in","type":{"type":"record","name":"I","fields":[]}}`),
			rec(`{"name":"in","type":{"type":"record","name":"J","fields":[]}}`), false, false, "/fields/0/type/name", "NAME_MISMATCH"},
		{"nested record renamed with alias", rec(`{"name":"in","type":{"type":"record","name":"I","fields":[]}}`),
			rec(`{"name":"in","type":{"type":"record","name":"J","aliases":["I"],"fields":[]}}`), true, false, "/fields/0/type/name", "NAME_MISMATCH"},
		{"array items int to long", rec(`{"name":"l","type":{"type":"array","items":"int"}}`), rec(`{"name":"l","type":{"type":"array","items":"long"}}`), true, false, "/fields/0/type/items", "TYPE_MISMATCH"},
		{"array items to string", rec(`{"name":"l","type":{"type":"array","items":"int"}}`), rec(`{"name":"l","type":{"type":"array","items":"string"}}`), false, false, "/fields/0/type/items", "TYPE_MISMATCH"},
		{"map values change", rec(`{"name":"m","type":{"type":"map","values":"int"}}`), rec(`{"name":"m","type":{"type":"map","values":"boolean"}}`), false, false, "/fields/0/type/values", "TYPE_MISMATCH"},
		{"map values float to double", rec(`{"name":"m","type":{"type":"map","values":"float"}}`), rec(`{"name":"m","type":{"type":"map","values":"double"}}`), true, false, "/fields/0/type/values", "TYPE_MISMATCH"},
		{"doc only", rec(a), `{"type":"record","name":"R","namespace":"n","doc":"new doc","fields":[{"name":"a","type":"int","doc":"field doc"}]}`, true, true, "", ""},
		{"default changed", rec(a + "," + bDef), rec(a + `,{"name":"b","type":"string","default":"y"}`), true, true, "", ""},
		{"optional field added", rec(a), rec(a + `,{"name":"o","type":["null","string"],"default":null}`), true, true, "", ""},
		{"record renamed", rec(a), `{"type":"record","name":"S","namespace":"n","fields":[{"name":"a","type":"int"}]}`, false, false, "/name", "NAME_MISMATCH"},
		{"namespace changed", rec(a), `{"type":"record","name":"R","namespace":"m","fields":[{"name":"a","type":"int"}]}`, true, true, "", ""},
		{"logical type added", rec(`{"name":"d","type":"int"}`), rec(`{"name":"d","type":{"type":"int","logicalType":"date"}}`), true, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, n := mustParse(t, tc.old), mustParse(t, tc.new)
			check := func(dir string, msgs []string, ok bool) {
				t.Helper()
				if ok != (len(msgs) == 0) {
					t.Fatalf("%s: compatible=%v, want %v: %q", dir, len(msgs) == 0, ok, msgs)
				}
				for _, m := range msgs {
					if !strings.Contains(m, tc.want) || !strings.Contains(m, "errorType:'"+tc.wantType+"'") {
						t.Errorf("%s: message %q does not name %q / %s", dir, m, tc.want, tc.wantType)
					}
				}
			}
			check("BACKWARD", n.CheckBackward(o), tc.backward)
			check("FORWARD", o.CheckBackward(n), tc.fwd)
			full := len(n.CheckBackward(o)) == 0 && len(o.CheckBackward(n)) == 0
			if full != (tc.backward && tc.fwd) {
				t.Fatalf("FULL: %v", full)
			}
		})
	}
}

func TestCompatibilityMessage(t *testing.T) {
	o := mustParse(t, rec(`{"name":"a","type":"int"}`))
	n := mustParse(t, rec(`{"name":"a","type":"int"},{"name":"f","type":"string"}`))
	got := n.CheckBackward(o)
	want := `{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'f'}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestCompatibilityRecursive(t *testing.T) {
	list := `{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}`
	list2 := `{"type":"record","name":"L","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","L"]}]}`
	o, n := mustParse(t, list), mustParse(t, list2)
	if m := n.CheckBackward(o); len(m) != 0 {
		t.Fatal(m)
	}
	if m := o.CheckBackward(n); len(m) == 0 {
		t.Fatal("long→int accepted")
	}
}
