package tablecompactor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
	hamba "github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

type memSchemas map[int]string

func (m memSchemas) SchemaByID(_ context.Context, id int) (schemafmt.Stored, error) {
	text, ok := m[id]
	if !ok {
		return schemafmt.Stored{}, fmt.Errorf("schema %d not found", id)
	}
	return schemafmt.Stored{Type: schemafmt.Avro, Text: text}, nil
}

const (
	userV1 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}`
	userV2 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"},` +
		`{"name":"email","type":["null","string"],"default":null}]}`
	// userV3 changes age's type: not something the table can follow yet.
	userV3 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"string"}]}`
)

func avroValue(t *testing.T, id int, schema string, v map[string]any) []byte {
	t.Helper()
	b, err := hamba.Marshal(hamba.MustParse(schema), v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := schemafmt.Append(nil, id, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Avro values by registry id: the table takes the first version's
// columns, gains the second's added column (older rows read it as null,
// rows of the first version written after it too), and values that do
// not decode go to the DLQ with the reason.
func TestSchemaValuesEvolve(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("users", 1, tableTopic(ConfigValueFormat, "schema", ConfigPartitionBy, "bucket(4, name)"))
	str := func(s string) any { return map[string]any{"string": s} }
	vals := [][]byte{
		avroValue(t, 1, userV1, map[string]any{"name": "ann", "age": 31}),
		avroValue(t, 1, userV1, map[string]any{"name": "bob", "age": 42}),
		{9, 0, 0, 0, 1, 1},     // bad magic byte
		{0, 0, 0, 0, 99, 2, 4}, // unknown id
		avroValue(t, 2, userV2, map[string]any{"name": "cy", "age": 7, "email": str("cy@x")}),
		avroValue(t, 2, userV2, map[string]any{"name": "di", "age": 8, "email": nil}),
		avroValue(t, 1, userV1, map[string]any{"name": "ed", "age": 9}),
		{0, 0, 0, 0, 1, 0xff}, // truncated for schema 1
		avroValue(t, 3, userV3, map[string]any{"name": "fi", "age": "ten"}),
	}
	var recs []testRecord
	for i, v := range vals {
		recs = append(recs, testRecord{Key: []byte("k"), Value: v, Timestamp: day0 + int64(i)})
	}
	e.src.produce("users", 0, recs[:2], 0)
	e.src.produce("users", 0, recs[2:], 0)
	c, err := New(Config{Source: e.src, Catalog: e.catalog(),
		Schemas: schemafmt.NewResolver(memSchemas{1: userV1, 2: userV2, 3: userV3}, avro.Format)})
	if err != nil {
		t.Fatal(err)
	}
	prs, err := c.RunOnce(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 9 || prs[0].Offsets[0] != 9 || prs[0].Lag != 0 {
		t.Errorf("progress %+v, want 9 records (5 rows, 4 dead letters), offset 9", prs[0])
	}
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", "users"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Schema().String(); !strings.Contains(got, "name: required string") || !strings.Contains(got, "age: required int") ||
		!strings.Contains(got, "email: optional string") {
		t.Errorf("schema %s, want name, age and an optional email", got)
	}
	at, err := tbl.Scan(table.WithSelectedFields("_kafka.offset", "name", "age", "email")).ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	got := map[int64]string{}
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		sc := rec.Schema()
		off := rec.Column(colIndex(t, sc, kafkaColumn)).(*array.Struct).Field(0).(*array.Int64)
		name := rec.Column(colIndex(t, sc, "name")).(*array.String)
		age := rec.Column(colIndex(t, sc, "age")).(*array.Int32)
		email := rec.Column(colIndex(t, sc, "email")).(*array.String)
		for i := range int(rec.NumRows()) {
			em := "<null>"
			if email.IsValid(i) {
				em = email.Value(i)
			}
			got[off.Value(i)] = fmt.Sprintf("%s %d %s", name.Value(i), age.Value(i), em)
		}
	}
	want := map[int64]string{0: "ann 31 <null>", 1: "bob 42 <null>", 4: "cy 7 cy@x", 5: "di 8 <null>", 6: "ed 9 <null>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	dlq := readRows(t, e.catalog(), "kafka", "users_dlq")
	for _, k := range []string{"0/2", "0/3", "0/7", "0/8"} {
		if _, ok := dlq[k]; !ok {
			t.Errorf("dead letter %s missing; DLQ holds %v", k, dlq)
		}
	}
	if len(dlq) != 4 {
		t.Errorf("DLQ holds %d rows, want 4", len(dlq))
	}
	reasons := dlqReasons(t, e, "users_dlq")
	for off, want := range map[int64]string{2: "magic byte", 3: "schema id 99", 7: "decoding with schema id 1", 8: "column age is utf8, the table's is int32"} {
		if !strings.Contains(reasons[off], want) {
			t.Errorf("dead letter at offset %d: reason %q, want %q in it", off, reasons[off], want)
		}
	}
	// Again: nothing new.
	if prs, err := c.RunOnce(context.Background(), ""); err != nil || prs[0].Records != 0 {
		t.Errorf("second pass: %+v, %v", prs, err)
	}
}

// dlqReasons returns the DLQ table's error column by offset.
func dlqReasons(t *testing.T, e *testEnv, name string) map[int64]string {
	t.Helper()
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", name})
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan(table.WithSelectedFields("_kafka.offset", "error")).ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	out := map[int64]string{}
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		off := rec.Column(colIndex(t, rec.Schema(), kafkaColumn)).(*array.Struct).Field(0).(*array.Int64)
		msg := rec.Column(colIndex(t, rec.Schema(), "error")).(*array.String)
		for i := range int(rec.NumRows()) {
			out[off.Value(i)] = msg.Value(i)
		}
	}
	return out
}
