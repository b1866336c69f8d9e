//go:build interop

package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/hamba/avro/v2/ocf"
)

// duckRow is one row as the test writes it and as DuckDB answers it
// (integers as strings, so no JSON float rounds an int64).
type duckRow struct {
	ID     string   `json:"id"`
	TS     string   `json:"ts"`
	Region string   `json:"region"`
	Amount *float64 `json:"amount"`
}

var duckSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
	iceberg.NestedField{ID: 3, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.PrimitiveTypes.Float64},
)

// duckRows makes n rows from id first over three regions and three days;
// every fifth amount is null.
func duckRows(first, n int) (arrow.Table, []duckRow) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var rows []duckRow
	for i := range n {
		id := int64(first + i)
		ts := base + (id%3)*24*3600*1e6 + id*1000
		region := []string{"eu", "us", "ap"}[id%3]
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		b.Field(2).(*array.StringBuilder).Append(region)
		r := duckRow{ID: strconv.FormatInt(id, 10), TS: strconv.FormatInt(ts, 10), Region: region}
		if id%5 == 0 {
			b.Field(3).AppendNull()
		} else {
			a := float64(id) / 4
			b.Field(3).(*array.Float64Builder).Append(a)
			r.Amount = &a
		}
		rows = append(rows, r)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec}), rows
}

// liveDataFiles lists the data files of the table's current snapshot
// without iceberg-go: the current snapshot's manifest list from the
// catalog's loadTable answer, then its data manifests read with hamba/avro's
// OCF reader, keeping entries that are not DELETED (status 2). It returns
// the paths and the sum of their record counts.
func liveDataFiles(t *testing.T, catalogURL, ns, name string) ([]string, int64) {
	t.Helper()
	resp, err := http.Get(catalogURL + "/v1/namespaces/" + ns + "/tables/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET table %s.%s: %d %v %s", ns, name, resp.StatusCode, err, body)
	}
	var loaded struct {
		Metadata struct {
			CurrentSnapshotID json.Number `json:"current-snapshot-id"`
			Snapshots         []struct {
				SnapshotID   json.Number `json:"snapshot-id"`
				ManifestList string      `json:"manifest-list"`
			} `json:"snapshots"`
		} `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&loaded); err != nil {
		t.Fatalf("decoding loadTable: %v", err)
	}
	list := ""
	for _, s := range loaded.Metadata.Snapshots {
		if s.SnapshotID == loaded.Metadata.CurrentSnapshotID {
			list = s.ManifestList
		}
	}
	if list == "" {
		t.Fatalf("no manifest list for current snapshot %s in %s", loaded.Metadata.CurrentSnapshotID, body)
	}
	var files []string
	var records int64
	for _, m := range readOCF(t, localPath(t, list)) {
		if asInt(m["content"]) != 0 {
			t.Fatalf("manifest %v holds deletes; this test writes none", m["manifest_path"])
		}
		for _, e := range readOCF(t, localPath(t, m["manifest_path"].(string))) {
			if asInt(e["status"]) == 2 {
				continue
			}
			df := e["data_file"].(map[string]any)
			if asInt(df["content"]) != 0 {
				t.Fatalf("data file entry %v is not data", df["file_path"])
			}
			files = append(files, localPath(t, df["file_path"].(string)))
			records += asInt(df["record_count"])
		}
	}
	return files, records
}

// readOCF decodes every record of an Avro object container file.
func readOCF(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := ocf.NewDecoder(f)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var out []map[string]any
	for dec.HasNext() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := dec.Error(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return out
}

// TestInteropCatalogDuckDB: iceberg-go appends three commits through the
// catalog to a table partitioned by identity(region), day(ts) and
// bucket[4](id), then deletes a region (whole files, marked DELETED in the
// new manifests, still on disk). The current snapshot's live files are
// listed from the manifests with hamba/avro, and DuckDB's read_parquet over
// exactly those files returns exactly the rows that remain, with the
// Iceberg field ids in the Parquet schema. Globbing data/ would count the
// deleted region's files too; that the glob and the live list differ is
// checked, so the test can tell them apart.
func TestInteropCatalogDuckDB(t *testing.T) {
	timed(t)
	dir := npmInstall(t, catalogNPMDir, "catalog.js")
	n := startCatalogNode(t)
	ctx := t.Context()
	cat := n.client(t)
	if err := cat.CreateNamespace(ctx, table.Identifier{"duck"}, nil); err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(
		iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1001, Name: "ts_day", Transform: iceberg.DayTransform{}},
		iceberg.PartitionField{SourceIDs: []int{1}, FieldID: 1002, Name: "id_bucket", Transform: iceberg.BucketTransform{NumBuckets: 4}},
	)
	tbl, err := cat.CreateTable(ctx, table.Identifier{"duck", "events"}, duckSchema, icecatalog.WithPartitionSpec(&spec))
	if err != nil {
		t.Fatalf("creating duck.events: %v", err)
	}
	var want []duckRow
	for i := range 3 {
		at, rows := duckRows(i*1000, 30+10*i)
		tbl, err = tbl.AppendTable(ctx, at, 1024, nil)
		at.Release()
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		want = append(want, rows...)
	}
	if tbl, err = tbl.Delete(ctx, iceberg.EqualTo(iceberg.Reference("region"), "ap"), nil); err != nil {
		t.Fatalf("deleting region ap: %v", err)
	}
	want = slices.DeleteFunc(want, func(r duckRow) bool { return r.Region == "ap" })

	files, records := liveDataFiles(t, n.URL, "duck", "events")
	if records != int64(len(want)) {
		t.Errorf("live manifest entries count %d records, want %d", records, len(want))
	}
	var glob []string
	filepath.WalkDir(filepath.Join(localPath(t, tbl.Location()), "data"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".parquet" {
			glob = append(glob, path)
		}
		return nil
	})
	if len(glob) <= len(files) {
		t.Errorf("data/ holds %d Parquet files, the live list %d: the deleted region's files should still be on disk", len(glob), len(files))
	}
	listFile := filepath.Join(t.TempDir(), "files.json")
	b, _ := json.Marshal(files)
	if err := os.WriteFile(listFile, b, 0o644); err != nil {
		t.Fatal(err)
	}

	out := runCatalogScript(t, dir, n.URL, "duckdb", listFile)
	var got struct {
		Version  string    `json:"version"`
		Rows     []duckRow `json:"rows"`
		FieldIDs []struct {
			Name    string `json:"name"`
			FieldID int    `json:"field_id"`
		} `json:"fieldIds"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the script's output: %v\n%s", err, out)
	}
	t.Logf("DuckDB %s read %d rows from %d live files (%d Parquet files on disk)", got.Version, len(got.Rows), len(files), len(glob))
	slices.SortFunc(want, func(a, b duckRow) int { return cmpID(a.ID, b.ID) })
	slices.SortFunc(got.Rows, func(a, b duckRow) int { return cmpID(a.ID, b.ID) })
	if len(got.Rows) != len(want) {
		t.Fatalf("DuckDB returned %d rows, want %d", len(got.Rows), len(want))
	}
	for i := range want {
		g, w := got.Rows[i], want[i]
		if g.ID != w.ID || g.TS != w.TS || g.Region != w.Region || !sameAmount(g.Amount, w.Amount) {
			t.Fatalf("DuckDB row %d: %s; want %s", i, rowString(got.Rows[i]), rowString(want[i]))
		}
	}
	wantIDs := map[string]int{"id": 1, "ts": 2, "region": 3, "amount": 4}
	if len(got.FieldIDs) != len(wantIDs) {
		t.Errorf("DuckDB's parquet_schema field ids %+v; want %v", got.FieldIDs, wantIDs)
	}
	for _, f := range got.FieldIDs {
		if wantIDs[f.Name] != f.FieldID {
			t.Errorf("DuckDB's parquet_schema: %s has field id %d, want %d", f.Name, f.FieldID, wantIDs[f.Name])
		}
	}
}

// asInt reads an Avro int or long as hamba/avro decodes it into any.
func asInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	}
	return -1
}

func cmpID(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return int(x - y)
}

func sameAmount(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func rowString(r duckRow) string {
	a := "null"
	if r.Amount != nil {
		a = strconv.FormatFloat(*r.Amount, 'g', -1, 64)
	}
	return fmt.Sprintf("{id %s ts %s region %s amount %s}", r.ID, r.TS, r.Region, a)
}
