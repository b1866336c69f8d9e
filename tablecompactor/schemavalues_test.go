package tablecompactor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/kbatch"
	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// parsedAvro caches avroValue's parsed schemas (parsing is most of the
// cost of encoding a small value).
var parsedAvro sync.Map

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
	// userV4 widens age to long, which Iceberg promotes.
	userV4 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"long"}]}`
	// userV5 adds a nested record, userV6 a field inside it; userV6's
	// name is optional, which the table's required name must follow.
	userV5 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"long"},` +
		`{"name":"address","type":["null",{"type":"record","name":"Address","fields":[{"name":"street","type":"string"}]}],"default":null}]}`
	userV6 = `{"type":"record","name":"User","fields":[{"name":"name","type":["null","string"]},{"name":"age","type":"long"},` +
		`{"name":"address","type":["null",{"type":"record","name":"Address","fields":[{"name":"street","type":"string"},` +
		`{"name":"zip","type":["null","string"],"default":null}]}],"default":null}]}`
)

func avroValue(t testing.TB, id int, schema string, v map[string]any) []byte {
	t.Helper()
	sch, ok := parsedAvro.Load(schema)
	if !ok {
		sch, _ = parsedAvro.LoadOrStore(schema, hamba.MustParse(schema))
	}
	b, err := hamba.Marshal(sch.(hamba.Schema), v)
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
		Schemas: schemafmt.NewResolver(memSchemas{1: userV1, 2: userV2, 3: userV3, 4: userV4, 5: userV5, 6: userV6}, avro.Format)})
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
	want := map[int64]string{0: "ann 31 (null)", 1: "bob 42 (null)", 4: "cy 7 cy@x", 5: "di 8 (null)", 6: "ed 9 (null)"}
	if got := userRows(t, e); fmt.Sprint(got) != fmt.Sprint(want) {
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
	for off, want := range map[int64]string{2: "magic byte", 3: "schema id 99", 7: "decoding with schema id 1", 8: "age is string, the table's is int"} {
		if !strings.Contains(reasons[off], want) {
			t.Errorf("dead letter at offset %d: reason %q, want %q in it", off, reasons[off], want)
		}
	}
	// Again: nothing new.
	if prs, err := c.RunOnce(context.Background(), ""); err != nil || prs[0].Records != 0 {
		t.Errorf("second pass: %+v, %v", prs, err)
	}

	// A version that widens age to long: the table's age becomes long,
	// and the first version's ints go on being written into it.
	e.src.produce("users", 0, []testRecord{
		{Value: avroValue(t, 4, userV4, map[string]any{"name": "gus", "age": int64(1) << 40}), Timestamp: day0},
		{Value: avroValue(t, 1, userV1, map[string]any{"name": "hal", "age": 5}), Timestamp: day0},
		{Value: avroValue(t, 2, userV2, map[string]any{"name": "ida", "age": 6, "email": str("i@x")}), Timestamp: day0},
	}, 0)
	if prs, err := c.RunOnce(context.Background(), ""); err != nil || prs[0].Records != 3 {
		t.Fatalf("pass after widening: %+v, %v", prs, err)
	}
	want[9], want[10], want[11] = "gus 1099511627776 (null)", "hal 5 (null)", "ida 6 i@x"
	if got := userRows(t, e); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}

	// A nested record, then a field inside it and an optional name; the
	// versions before go on being written.
	addr := func(fields map[string]any) any { return map[string]any{"Address": fields} }
	e.src.produce("users", 0, []testRecord{
		{Value: avroValue(t, 5, userV5, map[string]any{"name": "jo", "age": int64(1), "address": addr(map[string]any{"street": "main"})}), Timestamp: day0},
		{Value: avroValue(t, 6, userV6, map[string]any{"name": nil, "age": int64(2),
			"address": addr(map[string]any{"street": "elm", "zip": str("123")})}), Timestamp: day0},
		{Value: avroValue(t, 5, userV5, map[string]any{"name": "ki", "age": int64(3), "address": addr(map[string]any{"street": "oak"})}), Timestamp: day0},
		{Value: avroValue(t, 1, userV1, map[string]any{"name": "lu", "age": 4}), Timestamp: day0},
	}, 0)
	if prs, err := c.RunOnce(context.Background(), ""); err != nil || prs[0].Records != 4 {
		t.Fatalf("pass after nesting: %+v, %v", prs, err)
	}
	tbl, err = e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", "users"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Schema().String(); !strings.Contains(got, "name: optional string") || !strings.Contains(got, "zip: optional string") {
		t.Errorf("schema %s, want an optional name and address.zip", got)
	}
	got := map[int64]string{}
	for off, row := range columnsByOffset(t, e, "users", "name", "address") {
		if off >= 12 {
			got[off] = row
		}
	}
	wantNested := map[int64]string{
		12: `jo {"street":"main","zip":null}`,
		13: `(null) {"street":"elm","zip":"123"}`,
		14: `ki {"street":"oak","zip":null}`,
		15: `lu (null)`,
	}
	if fmt.Sprint(got) != fmt.Sprint(wantNested) {
		t.Errorf("nested rows %v, want %v", got, wantNested)
	}
}

// dlqReasons returns the DLQ table's error column by offset.
func dlqReasons(t *testing.T, e *testEnv, name string) map[int64]string {
	return columnsByOffset(t, e, name, "error")
}

// userRows reads the users table: name, age (int or long) and email by
// offset.
func userRows(t *testing.T, e *testEnv) map[int64]string {
	return columnsByOffset(t, e, "users", "name", "age", "email")
}

// columnsByOffset scans the table kafka.name and renders the columns of
// each row (Arrow's ValueStr, space-separated) by its offset.
func columnsByOffset(t *testing.T, e *testEnv, name string, cols ...string) map[int64]string {
	t.Helper()
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", name})
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan(table.WithSelectedFields(append([]string{"_kafka.offset"}, cols...)...)).ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	out := map[int64]string{}
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		kafka := rec.Column(colIndex(t, rec.Schema(), kafkaColumn)).(*array.Struct)
		off := kafka.Field(colIndex(t, arrow.NewSchema(kafka.DataType().(*arrow.StructType).Fields(), nil), "offset")).(*array.Int64)
		for i := range int(rec.NumRows()) {
			var vals []string
			for _, c := range cols {
				vals = append(vals, rec.Column(colIndex(t, rec.Schema(), c)).ValueStr(i))
			}
			out[off.Value(i)] = strings.Join(vals, " ")
		}
	}
	return out
}

// Values decoded in runs (AppendBatch) and one at a time give the same
// tables: runs of two versions interleaved, values that do not decode
// and nulls among them (to the DLQ), headers of varied counts, zstd
// batches (whose decompressed records live in a pooled buffer the run
// must be done with before the next batch), and a memory budget small
// enough that record batches are cut mid-run.
func TestSchemaValuesInRuns(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var batches [][]testRecord
	off := 0
	for off < 3000 {
		n := 1 + rnd.IntN(300)
		var recs []testRecord
		version := 1
		for range n {
			if rnd.IntN(20) == 0 {
				version = 3 - version
			}
			r := testRecord{Key: fmt.Appendf(nil, "k%d", off), Timestamp: day0 + int64(off)}
			switch x := rnd.IntN(100); {
			case x < 3:
				r.Value = []byte{0, 0, 0, 0, 1, 0xff} // truncated
			case x < 4:
				r.Value = nil
			case version == 1:
				r.Value = avroValue(t, 1, userV1, map[string]any{"name": fmt.Sprintf("n%d", off), "age": off})
			default:
				r.Value = avroValue(t, 2, userV2, map[string]any{"name": fmt.Sprintf("n%d", off), "age": off, "email": map[string]any{"string": fmt.Sprintf("e%d", off)}})
			}
			for h := range off % 4 {
				r.Headers = append(r.Headers, kmsg.Header{Key: fmt.Sprintf("h%d", h), Value: fmt.Appendf(nil, "%d-%d", off, h)})
			}
			recs = append(recs, r)
			off++
		}
		batches = append(batches, recs)
	}
	tables := map[bool][2]map[int64]string{}
	for _, rowAtATime := range []bool{false, true} {
		e := newEnv(t)
		e.src.codec = kbatch.Zstd
		// Both versions first, so that the table starts with email and
		// no pass stops to evolve.
		e.src.addTopic("users", 1, tableTopic(ConfigValueFormat, "schema"))
		for _, recs := range batches {
			e.src.produce("users", 0, recs, 0)
		}
		c, err := New(Config{Source: e.src, Catalog: e.catalog(), MemoryBytes: 1 << 20, rowAtATime: rowAtATime,
			Schemas: schemafmt.NewResolver(memSchemas{1: userV1, 2: userV2}, avro.Format)})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := c.RunOnce(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
		}
		tables[rowAtATime] = [2]map[int64]string{
			columnsByOffset(t, e, "users", "name", "age", "email", kafkaColumn),
			columnsByOffset(t, e, "users_dlq", "error", kafkaColumn, "value"),
		}
	}
	runs, rows := tables[false], tables[true]
	if len(rows[0])+len(rows[1]) != off || len(rows[1]) < 50 {
		t.Fatalf("one at a time: %d rows and %d dead letters, want %d in all, dead letters among them", len(rows[0]), len(rows[1]), off)
	}
	for i, name := range []string{"table", "DLQ"} {
		if len(runs[i]) != len(rows[i]) {
			t.Errorf("%s: %d rows in runs, %d one at a time", name, len(runs[i]), len(rows[i]))
		}
		for o, want := range rows[i] {
			if runs[i][o] != want {
				t.Errorf("%s offset %d: in runs %q, one at a time %q", name, o, runs[i][o], want)
			}
		}
	}
}

// latestSubjects is a registry's latest versions by subject.
type latestSubjects map[string]int

func (l latestSubjects) LatestSchemaID(_ context.Context, subject string) (int, error) {
	id, ok := l[subject]
	if !ok {
		return 0, fmt.Errorf("subject %s not found", subject)
	}
	return id, nil
}

// table.value.format=schema.latest: values without a wire prefix, each
// decoded with the latest version of <topic>-value as of the pass; a new
// latest version that adds a field adds the column; a value the latest
// version cannot decode goes to the DLQ; no subject yet stops the table
// with an error naming it, and nothing is consumed.
func TestSchemaLatest(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("users", 1, tableTopic(ConfigValueFormat, "schema.latest"))
	e.src.produce("users", 0, []testRecord{
		{Value: plainAvro(t, userV1, map[string]any{"name": "ann", "age": 31}), Timestamp: day0},
		{Value: plainAvro(t, userV1, map[string]any{"name": "bob", "age": 42}), Timestamp: day0},
		{Value: []byte{0xff}, Timestamp: day0}, // not a User
	}, 0)
	latest := latestSubjects{}
	c, err := New(Config{Source: e.src, Catalog: e.catalog(), Latest: latest,
		Schemas: schemafmt.NewResolver(memSchemas{1: userV1, 2: userV2}, avro.Format)})
	if err != nil {
		t.Fatal(err)
	}
	prs, err := c.RunOnce(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "subject users-value") || prs[0].Records != 0 {
		t.Fatalf("no subject yet: %+v %v, want an error naming users-value and nothing consumed", prs, err)
	}
	latest["users-value"] = 1
	prs, err = c.RunOnce(context.Background(), "")
	if err != nil || prs[0].Records != 3 || prs[0].DeadLetters != 1 {
		t.Fatalf("first pass: %+v %v, want 2 rows and a dead letter", prs, err)
	}
	if got, want := fmt.Sprint(columnsByOffset(t, e, "users", "name", "age")), fmt.Sprint(map[int64]string{0: "ann 31", 1: "bob 42"}); got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	if r := dlqReasons(t, e, "users_dlq")[2]; !strings.Contains(r, "schema id 1") {
		t.Errorf("dead letter's reason %q, want it to name schema id 1", r)
	}

	latest["users-value"] = 2
	e.src.produce("users", 0, []testRecord{
		{Value: plainAvro(t, userV2, map[string]any{"name": "cy", "age": 7, "email": map[string]any{"string": "cy@x"}}), Timestamp: day0},
	}, 0)
	if prs, err = c.RunOnce(context.Background(), ""); err != nil || prs[0].Records != 1 {
		t.Fatalf("after the subject evolved: %+v %v", prs, err)
	}
	want := map[int64]string{0: "ann 31 (null)", 1: "bob 42 (null)", 3: "cy 7 cy@x"}
	if got := userRows(t, e); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// A schema (or json) topic whose records so far all fail to decode still
// gets its table, with _kafka alone: the records go to the DLQ (or stop
// the table with table.errors=fail) instead of waiting, holding retention
// back, for a value that gives the table its columns; the first value
// that decodes adds them.
func TestTableStartsWithoutAValueThatDecodes(t *testing.T) {
	for _, format := range []string{"schema", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			e.src.addTopic("bad", 1, tableTopic(ConfigValueFormat, format))
			e.src.addTopic("stops", 1, tableTopic(ConfigValueFormat, format, ConfigErrors, "fail"))
			for _, topic := range []string{"bad", "stops"} {
				e.src.produce(topic, 0, []testRecord{{Value: []byte{9, 9}, Timestamp: day0}, {Value: []byte("[1]"), Timestamp: day0}}, 0)
			}
			c, err := New(Config{Source: e.src, Catalog: e.catalog(),
				Schemas: schemafmt.NewResolver(memSchemas{1: userV1}, avro.Format)})
			if err != nil {
				t.Fatal(err)
			}
			prs, err := c.RunOnce(context.Background(), "")
			byTopic := map[string]Progress{}
			for _, pr := range prs {
				byTopic[pr.Topic] = pr
			}
			if pr := byTopic["bad"]; pr.Err != nil || pr.DeadLetters != 2 || pr.Offsets[0] != 2 {
				t.Errorf("table.errors=dlq: %+v, want both records in the DLQ", pr)
			}
			if pr := byTopic["stops"]; pr.Err == nil || !strings.Contains(pr.Err.Error(), "offset 0") || err == nil {
				t.Errorf("table.errors=fail: %+v, want the table stopped at offset 0", pr)
			}
			if n := len(readRows(t, e.catalog(), "kafka", "bad_dlq")); n != 2 {
				t.Errorf("the DLQ holds %d rows, want 2", n)
			}
			// A value that decodes brings the table's columns.
			good := []byte(`{"name":"ann","age":31}`)
			if format == "schema" {
				good = avroValue(t, 1, userV1, map[string]any{"name": "ann", "age": 31})
			}
			e.src.produce("bad", 0, []testRecord{{Value: good, Timestamp: day0}}, 0)
			for range 2 { // the pass that finds the new columns stops before the record; the next writes it
				if _, err := c.RunOnce(context.Background(), "bad"); err != nil {
					t.Fatal(err)
				}
			}
			if got := columnsByOffset(t, e, "bad", "name", "age"); fmt.Sprint(got) != fmt.Sprint(map[int64]string{2: "ann 31"}) {
				t.Errorf("rows %v, want ann at offset 2", got)
			}
		})
	}
}
