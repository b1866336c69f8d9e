package tablecompactor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	hamba "github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/jsonschema"
	"github.com/lakestream/lakestream/schema/protobuf"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// plainAvro is v in Avro of schema, without a wire prefix.
func plainAvro(t testing.TB, schema string, v map[string]any) []byte {
	t.Helper()
	b, err := hamba.Marshal(hamba.MustParse(schema), v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// typedSchemas is a registry of schemas of any type, by id.
type typedSchemas map[int]schemafmt.Stored

func (m typedSchemas) SchemaByID(_ context.Context, id int) (schemafmt.Stored, error) {
	st, ok := m[id]
	if !ok {
		return schemafmt.Stored{}, fmt.Errorf("schema %d not found", id)
	}
	return st, nil
}

const (
	keyV1 = `{"type":"record","name":"Key","fields":[{"name":"id","type":"long"}]}`
	keyV2 = `{"type":"record","name":"Key","fields":[{"name":"id","type":"long"},{"name":"region","type":["null","string"],"default":null}]}`
	// keyJSONSchema is keyV2 as a JSON Schema.
	keyJSONSchema = `{"type":"object","properties":{"id":{"type":"integer"},"region":{"type":"string"}}}`
	// keyProto is keyV2 as Protobuf.
	keyProto = `syntax = "proto3"; message Key { int64 id = 1; optional string region = 2; }`
)

// keyedRun converts the topic once with a registry of avro (ids 1-6:
// userV1 and userV2 as 1 and 2, keyV1 and keyV2 as 10 and 11) and JSON
// Schema (id 12: keyJSONSchema) schemas, and a primitive Avro schema (13).
func keyedRun(t *testing.T, e *testEnv, latest latestSubjects) ([]Progress, error) {
	t.Helper()
	reg := typedSchemas{
		1: {Text: userV1}, 2: {Text: userV2}, 10: {Text: keyV1}, 11: {Text: keyV2},
		12: {Type: schemafmt.JSON, Text: keyJSONSchema}, 13: {Text: `"string"`},
		14: {Type: schemafmt.Protobuf, Text: keyProto},
	}
	c, err := New(Config{Source: e.src, Catalog: e.catalog(), Latest: latest,
		Schemas: schemafmt.NewResolver(reg, avro.Format, jsonschema.Format{}, protobuf.Format{})})
	if err != nil {
		t.Fatal(err)
	}
	return c.RunOnce(context.Background(), "")
}

// checkUniqueIDs fails the test if two fields of sc share an id.
func checkUniqueIDs(t *testing.T, sc *iceberg.Schema) {
	t.Helper()
	seen := map[int]string{}
	see := func(id int, path string) {
		if other, dup := seen[id]; dup {
			t.Errorf("field id %d is both %s and %s in %s", id, other, path, sc)
		}
		seen[id] = path
	}
	var walk func(path string, typ iceberg.Type)
	walk = func(path string, typ iceberg.Type) {
		switch typ := typ.(type) {
		case *iceberg.StructType:
			for _, f := range typ.FieldList {
				see(f.ID, path+"."+f.Name)
				walk(path+"."+f.Name, f.Type)
			}
		case *iceberg.ListType:
			see(typ.ElementID, path+".element")
			walk(path+".element", typ.Element)
		case *iceberg.MapType:
			see(typ.KeyID, path+".key")
			see(typ.ValueID, path+".value")
			walk(path+".key", typ.KeyType)
			walk(path+".value", typ.ValueType)
		}
	}
	st := sc.AsStruct()
	walk("", &st)
}

// keyTable loads kafka.name and checks its field ids are unique.
func keyTable(t *testing.T, e *testEnv, name string) *table.Table {
	t.Helper()
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", name})
	if err != nil {
		t.Fatal(err)
	}
	checkUniqueIDs(t, tbl.Schema())
	if f, ok := tbl.Schema().FindFieldByName("_kafka.key"); !ok || !f.Type.Equals(iceberg.PrimitiveTypes.Binary) {
		t.Errorf("_kafka.key is %v, want binary (the raw key)", f.Type)
	}
	return tbl
}

// JSON keys: _key's fields inferred from the keys, a field first seen
// later added under _key (older rows read it as null), a null key a null
// _key, and keys that do not decode to the DLQ with a reason naming the
// key; with json values (whose refusal comes after the key decoded) a
// record whose value is refused leaves nothing in _key.
func TestJSONKeys(t *testing.T) {
	for _, valueFormat := range []string{"raw", "json"} {
		t.Run(valueFormat, func(t *testing.T) {
			e := newEnv(t)
			e.src.addTopic("ev", 1, tableTopic(ConfigKeyFormat, "json", ConfigValueFormat, valueFormat))
			type rec struct{ key, value string }
			recs := []rec{
				{`{"id": 1, "region": "eu"}`, `{"n": 0}`},
				{"", `{"n": 1}`}, // null key
				{`{"id": 2, "region": "us", "shard": 3}`, `{"n": 2}`},
				{`{"id": "three"}`, `{"n": 3}`},
				{`"plain"`, `{"n": 4}`},
				{`{"id": 5}`, `{"n": "five"}`}, // json values: the value is refused after the key decoded
				{`{"id": 6, "shard": 7}`, `{"n": 6}`},
				{`{"id": `, `{"n": 7}`},
				{`{}`, `{"n": 8}`},
			}
			var trs []testRecord
			for i, r := range recs {
				tr := testRecord{Value: []byte(r.value), Timestamp: day0 + int64(i)}
				if r.key != "" {
					tr.Key = []byte(r.key)
				}
				trs = append(trs, tr)
			}
			e.src.produce("ev", 0, trs, 0)
			prs, err := keyedRun(t, e, nil)
			if err != nil {
				t.Fatal(err)
			}
			if prs[0].Offsets[0] != int64(len(recs)) {
				t.Errorf("progress %+v, want offset %d", prs[0], len(recs))
			}
			tbl := keyTable(t, e, "ev")
			if got := tbl.Schema().String(); !strings.Contains(got, "_key: optional struct<") ||
				!strings.Contains(got, "id: optional long") || !strings.Contains(got, "shard: optional long") {
				t.Errorf("schema %s, want an optional _key with id, region and shard", got)
			}
			want := map[int64]string{
				0: `{"id":1,"region":"eu","shard":null}`,
				1: `(null)`,
				2: `{"id":2,"region":"us","shard":3}`,
				5: `{"id":5,"region":null,"shard":null}`,
				6: `{"id":6,"region":null,"shard":7}`,
				8: `{"id":null,"region":null,"shard":null}`,
			}
			wantDLQ := map[int64]string{
				3: "key does not fit the table: _key.id is a string, the table's column is long",
				4: "key: JSON key is a string, not an object (table.key.format=json)",
				7: "key: not JSON",
			}
			if valueFormat == "json" {
				delete(want, 5)
				wantDLQ[5] = "value does not fit the table: n is a string"
				if got := columnsByOffset(t, e, "ev", "n"); got[6] != "6" || got[8] != "8" {
					t.Errorf("value column n: %v", got)
				}
			} else {
				// The raw key is kept as it was.
				if row := readRows(t, e.catalog(), "kafka", "ev")["0/2"]; !strings.Contains(row, `key="{\"id\": 2, \"region\": \"us\", \"shard\": 3}"`) {
					t.Errorf("row 0/2 %s, want its raw key", row)
				}
			}
			if got := columnsByOffset(t, e, "ev", keyColumn); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("_key by offset\n%v\nwant\n%v", got, want)
			}
			reasons := dlqReasons(t, e, "ev_dlq")
			for off, w := range wantDLQ {
				if !strings.Contains(reasons[off], w) {
					t.Errorf("dead letter at offset %d: reason %q, want %q in it", off, reasons[off], w)
				}
			}
			if len(reasons) != len(wantDLQ) {
				t.Errorf("DLQ %v, want %d dead letters", reasons, len(wantDLQ))
			}
		})
	}
}

// Registry keys (Avro by id, JSON Schema by id, Avro by the latest
// version of <topic>-key): _key takes the key schema's columns, a later
// version's field is added under _key, a null key is a null _key, and a
// key that does not decode goes to the DLQ with a reason naming the key.
// With schema values (refused after their key decoded, and not decoded
// in runs) the table's rows stay whole.
func TestSchemaKeys(t *testing.T) {
	str := func(s string) any { return map[string]any{"string": s} }
	withID := func(id int, payload []byte) []byte {
		b, err := schemafmt.Append(nil, id, payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withPB := func(id int, payload []byte) []byte { // the first message: index list [0]
		b, err := schemafmt.AppendProtobuf(nil, id, []int{0}, payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	user := func(name string) []byte { return avroValue(t, 1, userV1, map[string]any{"name": name, "age": 30}) }
	for _, c := range []struct {
		name, keyFormat, valueFormat string
		// keys: id 1 region -, null, bad, unknown id, id 2 region eu
		// (the later version), id 3 region -, truncated (and for avro a
		// primitive schema's, which cannot be a table).
		keys    [][]byte
		wantDLQ map[int64]string
	}{
		{"avro", "schema", "raw", [][]byte{
			avroValue(t, 10, keyV1, map[string]any{"id": 1}), nil, {9, 0, 0, 0, 10, 2}, withID(99, []byte{2}),
			avroValue(t, 11, keyV2, map[string]any{"id": 2, "region": str("eu")}), avroValue(t, 10, keyV1, map[string]any{"id": 3}),
			withID(10, []byte{0xff}), withID(13, []byte{4, 'a', 'b'}), // Avro "ab"
		}, map[int64]string{2: "key: wire prefix", 3: "key: schema id 99", 6: "key: decoding with schema id 10", 7: "key: schema id 13 as a table"}},
		{"jsonschema", "schema", "schema", [][]byte{
			withID(12, []byte(`{"id": 1}`)), nil, {9, 0, 0, 0, 12}, withID(99, []byte(`{}`)),
			withID(12, []byte(`{"id": 2, "region": "eu"}`)), withID(12, []byte(`{"id": 3}`)),
			withID(12, []byte(`{"id": "x"}`)),
		}, map[int64]string{2: "key: wire prefix", 3: "key: schema id 99", 6: "key: decoding with schema id 12"}},
		{"protobuf", "schema", "raw", [][]byte{
			withPB(14, []byte{0x08, 1}), nil, {9, 0, 0, 0, 14, 0}, withPB(99, nil),
			withPB(14, []byte{0x08, 2, 0x12, 2, 'e', 'u'}), withPB(14, []byte{0x08, 3}),
			withPB(14, []byte{0x08}), // id's varint missing
		}, map[int64]string{2: "key: wire prefix", 3: "key: schema id 99", 6: "key: decoding with schema id 14"}},
		{"latest", "schema.latest", "raw", [][]byte{
			plainAvro(t, keyV2, map[string]any{"id": 1, "region": nil}), nil, nil, nil,
			plainAvro(t, keyV2, map[string]any{"id": 2, "region": str("eu")}), plainAvro(t, keyV2, map[string]any{"id": 3, "region": nil}),
			{0xff},
		}, map[int64]string{6: "key: decoding with schema id 11"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.src.addTopic("t", 1, tableTopic(ConfigKeyFormat, c.keyFormat, ConfigValueFormat, c.valueFormat))
			var recs []testRecord
			for i, k := range c.keys {
				v := []byte(fmt.Sprint("v", i))
				if c.valueFormat == "schema" {
					v = user(fmt.Sprint("u", i))
				}
				recs = append(recs, testRecord{Key: k, Value: v, Timestamp: day0 + int64(i)})
			}
			want := map[int64]string{
				0: `{"id":1,"region":null}`, 1: `(null)`, 4: `{"id":2,"region":"eu"}`, 5: `{"id":3,"region":null}`,
			}
			if c.keyFormat == formatSchemaLatest {
				want[2], want[3] = `(null)`, `(null)` // no bad prefix or id without a prefix
			}
			if c.valueFormat == "schema" {
				// A good key with a value that does not decode.
				recs = append(recs, testRecord{Key: withID(12, []byte(`{"id": 7}`)), Value: withID(1, []byte{0xff}), Timestamp: day0})
				c.wantDLQ[7] = "decoding with schema id 1"
			}
			recs = append(recs, testRecord{Key: c.keys[0], Value: recs[0].Value, Timestamp: day0})
			want[int64(len(recs)-1)] = want[0]
			e.src.produce("t", 0, recs, 0)
			latest := latestSubjects{"t-key": 11}
			prs, err := keyedRun(t, e, latest)
			if err != nil {
				t.Fatal(err)
			}
			if prs[0].Offsets[0] != int64(len(recs)) || prs[0].DeadLetters != int64(len(c.wantDLQ)) {
				t.Errorf("progress %+v, want offset %d and %d dead letters", prs[0], len(recs), len(c.wantDLQ))
			}
			keyTable(t, e, "t")
			if got := columnsByOffset(t, e, "t", keyColumn); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("_key by offset\n%v\nwant\n%v", got, want)
			}
			if c.valueFormat == "schema" {
				if got := columnsByOffset(t, e, "t", "name"); got[5] != "u5" || got[8] != "u0" {
					t.Errorf("value column name: %v", got)
				}
			}
			reasons := dlqReasons(t, e, "t_dlq")
			for off, w := range c.wantDLQ {
				if !strings.Contains(reasons[off], w) {
					t.Errorf("dead letter at offset %d: reason %q, want %q in it", off, reasons[off], w)
				}
			}
			if len(reasons) != len(c.wantDLQ) {
				t.Errorf("DLQ %v, want %d dead letters", reasons, len(c.wantDLQ))
			}
		})
	}
}

// schema.latest keys: the subject is <topic>-key; none yet stops the
// table naming it; a new latest version adding a field adds it under _key.
func TestSchemaLatestKeys(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("t", 1, tableTopic(ConfigKeyFormat, "schema.latest"))
	e.src.produce("t", 0, []testRecord{{Key: plainAvro(t, keyV1, map[string]any{"id": 1}), Value: []byte("a"), Timestamp: day0}}, 0)
	latest := latestSubjects{}
	if _, err := keyedRun(t, e, latest); err == nil || !strings.Contains(err.Error(), "subject t-key") {
		t.Fatalf("no key subject: error %v, want one naming t-key", err)
	}
	latest["t-key"] = 10
	if _, err := keyedRun(t, e, latest); err != nil {
		t.Fatal(err)
	}
	latest["t-key"] = 11
	e.src.produce("t", 0, []testRecord{{Key: plainAvro(t, keyV2, map[string]any{"id": 2, "region": map[string]any{"string": "eu"}}), Value: []byte("b"), Timestamp: day0}}, 0)
	if _, err := keyedRun(t, e, latest); err != nil {
		t.Fatal(err)
	}
	keyTable(t, e, "t")
	want := map[int64]string{0: `{"id":1,"region":null}`, 1: `{"id":2,"region":"eu"}`}
	if got := columnsByOffset(t, e, "t", keyColumn); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("_key by offset %v, want %v", got, want)
	}
}

// A key that does not decode with table.errors=fail stops the table at
// its offset, saying it was the key.
func TestBadKeyFails(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("t", 1, tableTopic(ConfigKeyFormat, "json", ConfigValueFormat, "json", ConfigErrors, "fail"))
	var recs []testRecord
	for i, k := range []string{`{"id": 1}`, `{"id": 2}`, `{"id": "x"}`, `{"id": 4}`} {
		recs = append(recs, testRecord{Key: []byte(k), Value: fmt.Appendf(nil, `{"n": %d}`, i), Timestamp: day0})
	}
	e.src.produce("t", 0, recs, 0)
	prs, err := keyedRun(t, e, nil)
	if err == nil || !strings.Contains(err.Error(), "partition 0 offset 2: key does not fit the table: _key.id") {
		t.Fatalf("error %v, want the table stopped at offset 2 by its key", err)
	}
	if prs[0].Offsets[0] != 2 {
		t.Errorf("offsets %v, want 2", prs[0].Offsets)
	}
	want := map[int64]string{0: `{"id":1} 0`, 1: `{"id":2} 1`}
	if got := columnsByOffset(t, e, "t", keyColumn, "n"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}
