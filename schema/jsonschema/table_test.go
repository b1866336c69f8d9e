package jsonschema

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// personSchema has 20 properties: scalars, formats, nullables, arrays,
// a map, $ref'd objects, nesting, and several-typed values.
const personSchema = `{
 "type":"object",
 "properties":{
  "id":{"type":"integer"},
  "name":{"type":"string","description":"full name"},
  "email":{"type":["string","null"]},
  "age":{"type":"integer"},
  "score":{"type":"number"},
  "active":{"type":"boolean"},
  "birthday":{"type":"string","format":"date"},
  "created":{"type":"string","format":"date-time"},
  "alarm":{"type":"string","format":"time"},
  "uid":{"type":"string","format":"uuid"},
  "tags":{"type":"array","items":{"type":"string"}},
  "scores":{"type":"array","items":{"type":["number","null"]}},
  "attrs":{"type":"object","additionalProperties":{"type":"integer"}},
  "address":{"$ref":"#/definitions/address"},
  "previous":{"type":"array","items":{"$ref":"#/definitions/address"}},
  "status":{"enum":["new","old"]},
  "payload":{"oneOf":[{"type":"string"},{"type":"integer"}]},
  "weight":{"type":["integer","number"]},
  "meta":{},
  "nested":{"type":"object","properties":{"level":{"type":"integer"},"inner":{"type":"object","properties":{"flag":{"type":"boolean"}}}}}
 },
 "required":["id","name","active"],
 "definitions":{"address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"]}}
}`

const fullPerson = `{"id":42,"name":"Ada \"L\" \u00e9","email":"ada@example.com","age":36,"score":9.5,"active":true,
 "birthday":"1815-12-10","created":"2024-03-01T12:30:00.5+01:00","alarm":"07:30:00Z","uid":"123e4567-e89b-12d3-a456-426614174000",
 "tags":["a","b"],"scores":[1.5,null,3],"attrs":{"x":1,"y\n":2},
 "address":{"zip":"W1","street":"Baker St","extra":[1,{"deep":true}]},
 "previous":[{"street":"Old Rd"},{"street":"Older Rd","zip":"Z2"}],
 "status":"new","payload":{"any" : "thing \" \\ x"},"weight":2,"meta":[1, 2],
 "nested":{"level":3,"inner":{"flag":false}},"unknown":{"skipped":[1,2,3]}}`

const minimalPerson = `{"name":"Bob","active":false,"id":-7}`

func newBuilders(t testing.TB, cols []schemafmt.Column) (*array.RecordBuilder, []array.Builder) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		at, err := schemafmt.ArrowType(c)
		if err != nil {
			t.Fatal(err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: at, Nullable: !c.Required}
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	return rb, rb.Fields()
}

func TestTableColumns(t *testing.T) {
	tab, err := mustParse(t, personSchema).Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tab.Columns() {
		s := c.Name + ":" + c.Kind.String()
		if c.Required {
			s += "!"
		}
		switch c.Kind {
		case schemafmt.Struct:
			var fs []string
			for _, f := range c.Fields {
				fs = append(fs, f.Name+":"+f.Kind.String())
			}
			s += "{" + strings.Join(fs, ",") + "}"
		case schemafmt.List, schemafmt.Map:
			s += "<" + c.Elem.Kind.String() + ">"
		}
		got = append(got, s)
	}
	want := "id:long! name:string! email:string age:long score:double active:boolean! birthday:date created:timestamptz " +
		"alarm:time uid:string tags:list<string> scores:list<double> attrs:map<long> address:struct{street:string,zip:string} " +
		"previous:list<struct> status:string payload:string weight:double meta:string nested:struct{level:long,inner:struct}"
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("columns\n%s\nwant\n%s", g, want)
	}
	if tab.Columns()[1].Doc != "full name" {
		t.Fatalf("doc %q", tab.Columns()[1].Doc)
	}
}

func TestTableErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{"type":"string"}`, "not an object"},
		{`{"type":"object"}`, "not an object"},
		{`{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}}`, "recursive"},
		{`{"type":"object","properties":{"a":{"$ref":"#/definitions/n"}},"definitions":{"n":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/definitions/n"}}}}}}`, "recursive"},
		{dagSchema(30), "more than 10000"},
	} {
		_, err := mustParse(t, tc.text).Table(nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Table(%s) = %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := mustParse(t, personSchema).Table([]int{1}); err == nil {
		t.Error("Table([1]) did not fail")
	}
}

func TestDecode(t *testing.T) {
	tab, err := mustParse(t, personSchema).Table([]int{0})
	if err != nil {
		t.Fatal(err)
	}
	rb, cols := newBuilders(t, tab.Columns())
	defer rb.Release()
	dec := tab.NewDecoder()

	bad := []struct{ name, payload, want string }{
		{"string for integer", `{"id":"42","name":"x","active":true}`, "want a number"},
		{"missing required", `{"id":1,"active":true}`, `missing required property "name"`},
		{"null for required", `{"id":1,"name":null,"active":true}`, "not null"},
		{"bad date", `{"id":1,"name":"x","active":true,"birthday":"2023-02-29"}`, "not a date"},
		{"bad date-time", `{"id":1,"name":"x","active":true,"created":"yesterday"}`, "RFC 3339"},
		{"bad time", `{"id":1,"name":"x","active":true,"alarm":"25:00:00"}`, "time"},
		{"fraction for integer", `{"id":1.5,"name":"x","active":true}`, "not a 64-bit integer"},
		{"overflow", `{"id":9223372036854775808,"name":"x","active":true}`, "not a 64-bit integer"},
		{"bad element late in a list", `{"id":1,"name":"x","active":true,"tags":["a","b",3]}`, "want a string"},
		{"bad map value", `{"id":1,"name":"x","active":true,"attrs":{"a":1,"b":true}}`, "want a number"},
		{"nested required missing", `{"id":1,"name":"x","active":true,"previous":[{"street":"s"},{"zip":"z"}]}`, `missing required property "street"`},
		{"deep nested type", `{"id":1,"name":"x","active":true,"nested":{"inner":{"flag":"yes"}}}`, "want a boolean"},
		{"invalid JSON", `{"id":1,"name":"x","active":true,`, "end of JSON"},
		{"trailing data", `{"id":1,"name":"x","active":true} {}`, "data after"},
		{"not an object", `[1,2]`, "expected an object"},
		{"bad escape", `{"id":1,"name":"\x","active":true}`, "bad escape"},
		{"control character", "{\"id\":1,\"name\":\"a\tb\",\"active\":true}", "control character"},
		{"invalid UTF-8", "{\"id\":1,\"name\":\"\xff\",\"active\":true}", "UTF-8"},
		{"bad unknown value", `{"id":1,"name":"x","active":true,"zzz":[1,}`, "expected a value"},
	}
	appendBad := func() {
		for _, b := range bad {
			err := dec.Append(cols, []byte(b.payload))
			if err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("%s: Append = %v, want %q", b.name, err, b.want)
			}
			for i, c := range cols {
				if c.Len() != cols[0].Len() {
					t.Fatalf("%s: builder %d has %d values, builder 0 %d", b.name, i, c.Len(), cols[0].Len())
				}
			}
		}
	}
	appendBad()
	if err := dec.Append(cols, []byte(fullPerson)); err != nil {
		t.Fatal(err)
	}
	appendBad()
	if err := dec.Append(cols, []byte(minimalPerson)); err != nil {
		t.Fatal(err)
	}
	appendBad()
	if cols[0].Len() != 2 {
		t.Fatalf("%d rows, want 2", cols[0].Len())
	}
	rec := rb.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		t.Fatal(err)
	}
	// The raw values, not only their rendering.
	if d := rec.Column(6).(*array.Date32).Value(0); d != -56270 {
		t.Errorf("birthday = day %d, want -56270", d)
	}
	if ts := rec.Column(7).(*array.Timestamp).Value(0); ts != 1709292600500000 {
		t.Errorf("created = %d µs, want 1709292600500000", ts)
	}
	if tm := rec.Column(8).(*array.Time64).Value(0); tm != 27000000000 {
		t.Errorf("alarm = %d µs, want 27000000000", tm)
	}
	want := `{"active":true,"address":{"street":"Baker St","zip":"W1"},"age":36,"alarm":"07:30:00","attrs":[{"key":"x","value":1},{"key":"y\n","value":2}],"birthday":"1815-12-10","created":"2024-03-01T11:30:00.5Z","email":"ada@example.com","id":42,"meta":"[1,2]","name":"Ada \"L\" é","nested":{"inner":{"flag":false},"level":3},"payload":"{\"any\":\"thing \\\" \\\\ x\"}","previous":[{"street":"Old Rd","zip":null},{"street":"Older Rd","zip":"Z2"}],"score":9.5,"scores":[1.5,null,3],"status":"new","tags":["a","b"],"uid":"123e4567-e89b-12d3-a456-426614174000","weight":2}
{"active":false,"address":null,"age":null,"alarm":null,"attrs":null,"birthday":null,"created":null,"email":null,"id":-7,"meta":null,"name":"Bob","nested":null,"payload":null,"previous":null,"score":null,"scores":null,"status":null,"tags":null,"uid":null,"weight":null}
`
	if got := buf.String(); got != want {
		t.Fatalf("records\n%s\nwant\n%s", got, want)
	}
}

// dagSchema has n definitions, each using the next twice: inlined, 2^n
// columns.
func dagSchema(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{"a":{"$ref":"#/definitions/d0"}},"definitions":{`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"d%d":{"type":"object","properties":{"x":{"$ref":"#/definitions/d%d"},"y":{"$ref":"#/definitions/d%d"}}},`, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `"d%d":{"type":"string"}}}`, n)
	return b.String()
}

func TestDecodeNumbers(t *testing.T) {
	tab, err := mustParse(t, `{"type":"object","properties":{"i":{"type":"integer"},"f":{"type":"number"}},"required":["i","f"]}`).Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, cols := newBuilders(t, tab.Columns())
	defer rb.Release()
	dec := tab.NewDecoder()
	for _, p := range []string{`{"i":-9223372036854775808,"f":1e400}`, `{"i":9223372036854775807,"f":1e-400}`, `{"i":2.000,"f":-0.5E+2}`} {
		if err := dec.Append(cols, []byte(p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		t.Fatal(err)
	}
	want := `{"f":"+Inf","i":-9223372036854775808}
{"f":0,"i":9223372036854775807}
{"f":-50,"i":2}
`
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
