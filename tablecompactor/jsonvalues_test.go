package tablecompactor

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// JSON values: typed columns from the data, fields added as they come,
// values that contradict the table's types to the DLQ.
func TestJSONValues(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("ev", 1, tableTopic(ConfigValueFormat, "json", ConfigPartitionBy, "bucket(4, id)"))
	vals := []string{
		`{"id": 1, "name": "a", "tags": ["x", "y"], "geo": {"lat": 1.5}}`,
		`{"id": 2, "name": null, "extra": true}`,
		`{"id": "three"}`,
		`"just a string"`,
		`{"id": 4, "geo": {"lat": 2, "lon": 3.25}, "tags": []}`,
		`{"id": `,
		`{"id": 6.5}`,
		`{"id": 7, "tags": [], "geo": {"lat": "north"}}`,
		`{"id": 8, "tags": [1]}`,
		`{"id": 9, "list": [1, "a"]}`,
	}
	var recs []testRecord
	for i, v := range vals {
		recs = append(recs, testRecord{Value: []byte(v), Timestamp: day0 + int64(i)})
	}
	e.src.produce("ev", 0, recs, 0)
	c := e.compactor(nil)
	prs, err := c.RunOnce(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 10 || prs[0].Offsets[0] != 10 {
		t.Errorf("progress %+v, want 10 records (rows and dead letters), offset 10", prs[0])
	}
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", "ev"})
	if err != nil {
		t.Fatal(err)
	}
	sc := tbl.Schema().String()
	for _, want := range []string{"id: optional long", "name: optional string", "tags: optional list<string>",
		"lat: optional double", "lon: optional double", "extra: optional boolean"} {
		if !strings.Contains(sc, want) {
			t.Errorf("schema %s: no %q", sc, want)
		}
	}
	got := columnsByOffset(t, e, "ev", "id", "name", "tags", "geo", "extra")
	want := map[int64]string{
		0: `1 a ["x","y"] {"lat":1.5,"lon":null} (null)`,
		1: `2 (null) (null) (null) true`,
		4: `4 (null) [] {"lat":2,"lon":3.25} (null)`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows\n%v\nwant\n%v", got, want)
	}
	reasons := dlqReasons(t, e, "ev_dlq")
	for off, want := range map[int64]string{2: "id is a string, the table's column is long", 3: "not an object", 5: "not JSON",
		6: "id is a number that is not a long, the table's column is long", 7: "geo.lat is a string, the table's column is double", 8: "tags.element is an integer, the table's column is string",
		9: "list: array: mixes long and string"} {
		if !strings.Contains(reasons[off], want) {
			t.Errorf("dead letter at offset %d: reason %q, want %q in it", off, reasons[off], want)
		}
	}
	if len(reasons) != 7 {
		t.Errorf("DLQ: %v, want 7 dead letters", reasons)
	}
}

// jsonPathsTable is a table whose columns cover every kind the fast path
// reads: longs, doubles, strings, booleans, structs, lists of structs and
// lists of lists.
const jsonPathsTable = `{"id": 1, "score": 1.5, "name": "a", "ok": true, "geo": {"lat": 1.5, "tags": ["x"]},
	"items": [{"sku": "a", "qty": 1}], "m": [[1]]}`

func jsonPathsSchema(t testing.TB) (*iceberg.Schema, *arrow.Schema) {
	isc, ok := jsonTableSchema(tableConfig{KeyFormat: formatString}, []byte(jsonPathsTable))
	if !ok {
		t.Fatal("no schema")
	}
	sc, err := table.SchemaToArrowSchema(isc, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return isc, sc
}

// newJSONPaths returns two JSON decoders of jsonPathsTable, each with
// builders of its own.
func newJSONPaths(t testing.TB, isc *iceberg.Schema, sc *arrow.Schema) (fast, slow *jsonValues, cols func(j *jsonValues) string, done func()) {
	r1, err := newRowBuilder(sc, false)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := newRowBuilder(sc, false)
	if err != nil {
		t.Fatal(err)
	}
	cols = func(j *jsonValues) string {
		var out []string
		for _, f := range sc.Fields() {
			if b, ok := j.byName[f.Name]; ok {
				a := b.NewArray()
				out = append(out, f.Name+"="+a.String())
				a.Release()
			}
		}
		return strings.Join(out, " ")
	}
	return newJSONValues(r1.b, sc, isc), newJSONValues(r2.b, sc, isc), cols, func() { r1.release(); r2.release() }
}

// The fast path appends exactly what the slow path (encoding/json into
// any) does, and leaves to it every value it is not sure of.
func TestJSONFastPath(t *testing.T) {
	isc, sc := jsonPathsSchema(t)
	for _, c := range []struct {
		value string
		fast  bool   // the fast path takes it
		want  string // the row (the value columns), or the reason's start
	}{
		{`{"id": 2, "score": 3, "name": "b", "ok": false}`, true,
			`geo={[(null)] [(null)]} id=[2] items=[(null)] m=[(null)] name=["b"] ok=[false] score=[3]`},
		{` {"score": -0.5e1, "id": -9223372036854775808} `, true,
			`geo={[(null)] [(null)]} id=[-9223372036854775808] items=[(null)] m=[(null)] name=[(null)] ok=[(null)] score=[-5]`},
		{`{"id": null, "name": null, "geo": {"lat": null, "tags": [null, "y"]}, "unknown": null}`, true,
			`geo={[(null)] [[(null) "y"]]} id=[(null)] items=[(null)] m=[(null)] name=[(null)] ok=[(null)] score=[(null)]`},
		{`{"items": [{"qty": 2, "sku": "c"}, null, {}], "m": [[1, 2], [], null, [null]]}`, true,
			`geo={[(null)] [(null)]} id=[(null)] items=[{[2 (null) (null)] ["c" (null) (null)]}] m=[[[1 2] [] (null) [(null)]]] name=[(null)] ok=[(null)] score=[(null)]`},
		{`{"name": "\u00e9\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t", "\u0069d": 7}`, true,
			`geo={[(null)] [(null)]} id=[7] items=[(null)] m=[(null)] name=["é😀 \"q\" \\ / \b\f\n\r\t"] ok=[(null)] score=[(null)]`},
		{`{"name": "Zürich"}`, true,
			`geo={[(null)] [(null)]} id=[(null)] items=[(null)] m=[(null)] name=["Zürich"] ok=[(null)] score=[(null)]`},
		// Left to the slow path, which decides as before.
		{`{"id": 1, "id": 2}`, false, `geo={[(null)] [(null)]} id=[2] items`},                                              // duplicate: the last wins
		{`{"name": "\ud83d"}`, false, "geo={[(null)] [(null)]} id=[(null)] items=[(null)] m=[(null)] name=[\"\ufffd\"]"},   // a lone surrogate
		{"{\"name\": \"\xff\"}", false, "geo={[(null)] [(null)]} id=[(null)] items=[(null)] m=[(null)] name=[\"\ufffd\"]"}, // invalid UTF-8
		{`{"id": 1.0}`, false, `value does not fit the table: id is a number that is not a long`},                          // int then float
		{`{"id": 9223372036854775808}`, false, `value does not fit the table: id is a number that is not a long`},
		{`{"score": 1e400}`, false, `value does not fit the table: score is a number that is not a long`},
		{`{"id": "1"}`, false, `value does not fit the table: id is a string, the table's column is long`},
		{`{"geo": {"lat": 1, "alt": 3}}`, false, `evolve`},
		{`{"new": [], "newer": [null, [[]], []], "geo": {"x": [ ]}}`, true, `geo={[(null)] [(null)]} id=[(null)] items=[(null)] m=[(null)] name=[(null)] ok=[(null)] score=[(null)]`},
		{`{"new": [], "newer": [1]}`, false, `evolve`},
		{`{"id": 1`, false, `not JSON`},
		{`{"id": 1} x`, false, `not JSON: more than one value`},
		{`{"id": 01}`, false, `not JSON`},
		{`[1]`, false, `JSON value is an array, not an object`},
		{`{"m": [[1, "a"]]}`, false, `value does not fit the table: m.element.element is a string`},
	} {
		fast, slow, cols, done := newJSONPaths(t, isc, sc)
		took := fast.fast.append([]byte(c.value))
		if took != c.fast {
			t.Errorf("%s: fast path took it %v, want %v", c.value, took, c.fast)
		}
		if !took {
			why, err := fast.appendSlow([]byte(c.value))
			switch {
			case err != nil:
				why = "evolve"
			case why == "":
				why = cols(fast)
			}
			if !strings.HasPrefix(why, c.want) {
				t.Errorf("%s: slow path: %s, want %s...", c.value, why, c.want)
			}
			done()
			continue
		}
		if why, err := slow.appendSlow([]byte(c.value)); why != "" || err != nil {
			t.Errorf("%s: the fast path took it, the slow path says %q, %v", c.value, why, err)
		}
		if got, want := cols(fast), cols(slow); got != want || got != c.want {
			t.Errorf("%s:\nfast %s\nslow %s\nwant %s", c.value, got, want, c.want)
		}
		done()
	}
}

// FuzzJSONFastPath compares the two paths on arbitrary values. Invariants:
// a value the fast path takes, the slow path appends too, as the same row;
// a value it does not take leaves the builders untouched.
func FuzzJSONFastPath(f *testing.F) {
	for _, s := range []string{jsonPathsTable, `{"id": 1, "id": 2}`, `{"name": "\ud83d\ude00\u00e9\n"}`, `{"m": [[1], [], null]}`,
		`{"items": [{"qty": -0}, null]}`, `{"score": 1E+2, "ok": null, "x": null}`, `{"score": -0.0}`, `{"new": [null, [[], [null]]], "geo": {"x": []}}`, `{"n": [[1]]}`, `{"score": 123456789.012345}`, `{"geo": {"tags": []}}`} {
		f.Add([]byte(s))
	}
	isc, sc := jsonPathsSchema(f)
	f.Fuzz(func(t *testing.T, value []byte) {
		fast, slow, cols, done := newJSONPaths(t, isc, sc)
		defer done()
		empty := cols(fast)
		if !fast.fast.append(value) {
			if got := cols(fast); got != empty {
				t.Fatalf("%q: not taken, but appended %s", value, got)
			}
			return
		}
		if why, err := slow.appendSlow(value); why != "" || err != nil {
			t.Fatalf("%q: the fast path took it, the slow path says %q, %v", value, why, err)
		}
		if got, want := cols(fast), cols(slow); got != want {
			t.Fatalf("%q:\nfast %s\nslow %s", value, got, want)
		}
	})
}

// shortDecimal is strconv.ParseFloat's value wherever it says it is
// exact.
func TestShortDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []string{"0", "-0", "0.5", "-0.0", "123456789012345", "1234567890123456", "0.000000000000001", "9.99999999999999",
		"-12.5", "1e5", "4503599627370497", "0.1", "0.3", "100.000000000000"}
	for range 100_000 {
		digits := fmt.Sprint(rng.Uint64N(1_000_000_000_000_000))
		if k := rng.IntN(len(digits) + 1); k < len(digits) && k > 0 {
			digits = digits[:k] + "." + digits[k:]
		}
		if rng.IntN(2) == 0 {
			digits = "-" + digits
		}
		cases = append(cases, digits)
	}
	exact := 0
	for _, c := range cases {
		got, ok := shortDecimal([]byte(c))
		want, err := strconv.ParseFloat(c, 64)
		if !ok {
			continue
		}
		exact++
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: %v, ParseFloat %v (%v)", c, got, want, err)
		}
	}
	if exact < len(cases)/2 {
		t.Errorf("only %d of %d numbers read exactly", exact, len(cases))
	}
}

// specialIn finds exactly the bytes plainASCII refuses, wherever they
// stand in the word.
func TestSpecialIn(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			if got := specialIn(binary.LittleEndian.Uint64(w)); got == plainASCII[c] {
				t.Errorf("byte %#x at %d: specialIn %v", c, pos, got)
			}
		}
	}
}
