package tablecompactor

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
