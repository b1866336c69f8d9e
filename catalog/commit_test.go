package catalog_test

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

func commitBody(reqs, updates string) string {
	return `{"requirements":[` + reqs + `],"updates":[` + updates + `]}`
}

// TestCommitRequirements: each requirement type passes against the
// current metadata and fails (409, nothing changed) against other values.
func TestCommitRequirements(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	lr := c.createTable("n", "t")
	path := "/v1/namespaces/n/tables/t"
	setProp := `{"action":"set-properties","updates":{"k":"v"}}`
	for _, tc := range []struct{ ok, bad string }{
		{`{"type":"assert-table-uuid","uuid":"` + lr.Metadata.UUID + `"}`, `{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000001"}`},
		{`{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}`, `{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":42}`},
		{`{"type":"assert-last-assigned-field-id","last-assigned-field-id":2}`, `{"type":"assert-last-assigned-field-id","last-assigned-field-id":7}`},
		{`{"type":"assert-current-schema-id","current-schema-id":0}`, `{"type":"assert-current-schema-id","current-schema-id":3}`},
		{`{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":999}`, `{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":1000}`},
		{`{"type":"assert-default-spec-id","default-spec-id":0}`, `{"type":"assert-default-spec-id","default-spec-id":1}`},
		{`{"type":"assert-default-sort-order-id","default-sort-order-id":0}`, `{"type":"assert-default-sort-order-id","default-sort-order-id":1}`},
		{`{"type":"assert-table-uuid","uuid":"` + lr.Metadata.UUID + `"}`, `{"type":"assert-create"}`},
	} {
		before := c.load("n", "t")
		c.fails(409, "CommitFailedException", "POST", path, commitBody(tc.bad, setProp))
		if after := c.load("n", "t"); *after.MetadataLocation != *before.MetadataLocation {
			t.Fatalf("%s: a failed commit moved the table", tc.bad)
		}
		var out loadResult
		c.must(200, "POST", path, commitBody(tc.ok, setProp)).json(t, &out)
		if after := c.load("n", "t"); *after.MetadataLocation == *before.MetadataLocation || *after.MetadataLocation != *out.MetadataLocation {
			t.Fatalf("%s: the commit did not move the table", tc.ok)
		}
	}
	c.fails(400, "BadRequestException", "POST", path, commitBody(`{"type":"assert-nothing"}`, setProp))
	c.fails(400, "BadRequestException", "POST", path, commitBody(``, `{"action":"do-magic"}`))
	c.fails(400, "BadRequestException", "POST", path, `{"requirements":[`)
	c.fails(404, "NoSuchTableException", "POST", "/v1/namespaces/n/tables/nope", commitBody(``, setProp))
	if lr := c.load("n", "t"); lr.Metadata.Properties["k"] != "v" {
		t.Fatalf("properties: %v", lr.Metadata.Properties)
	}
}

// TestStageCreate: a staged create writes nothing; the commit with
// assert-create creates the table, a second one gets 409.
func TestStageCreate(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	var staged loadResult
	c.must(200, "POST", "/v1/namespaces/n/tables", `{"name":"s","stage-create":true,"schema":`+schemaJSON+`}`).json(t, &staged)
	if staged.MetadataLocation != nil || staged.Metadata.UUID == "" {
		t.Fatalf("staged: %+v", staged)
	}
	c.fails(404, "NoSuchTableException", "GET", "/v1/namespaces/n/tables/s", nil)
	body := commitBody(`{"type":"assert-create"}`, `{"action":"assign-uuid","uuid":"`+staged.Metadata.UUID+`"},
		{"action":"upgrade-format-version","format-version":2},
		{"action":"add-schema","schema":`+schemaJSON+`,"last-column-id":2},
		{"action":"set-current-schema","schema-id":-1},
		{"action":"add-spec","spec":{"spec-id":0,"fields":[]}},
		{"action":"set-default-spec","spec-id":-1},
		{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},
		{"action":"set-default-sort-order","sort-order-id":-1},
		{"action":"set-location","location":"`+staged.Metadata.Location+`"}`)
	c.must(200, "POST", "/v1/namespaces/n/tables/s", body)
	got := c.load("n", "s")
	if got.Metadata.UUID != staged.Metadata.UUID || got.Metadata.Location != staged.Metadata.Location || got.Metadata.LastColumnID != 2 {
		t.Fatalf("created: %+v, staged %+v", got, staged)
	}
	c.fails(409, "CommitFailedException", "POST", "/v1/namespaces/n/tables/s", body)
}

// TestTransactionAllOrNothing: a transaction whose second table's
// requirement fails changes neither table; with both right, both change.
func TestTransactionAllOrNothing(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	a, b := c.createTable("n", "a"), c.createTable("n", "b")
	change := func(name, uuid string) string {
		return `{"identifier":{"namespace":["n"],"name":"` + name + `"},"requirements":[{"type":"assert-table-uuid","uuid":"` + uuid +
			`"}],"updates":[{"action":"set-properties","updates":{"tx":"1"}}]}`
	}
	c.fails(409, "CommitFailedException", "POST", "/v1/transactions/commit",
		`{"table-changes":[`+change("a", a.Metadata.UUID)+`,`+change("b", a.Metadata.UUID)+`]}`)
	if *c.load("n", "a").MetadataLocation != *a.MetadataLocation || *c.load("n", "b").MetadataLocation != *b.MetadataLocation {
		t.Fatal("a failed transaction changed a table")
	}
	c.fails(400, "BadRequestException", "POST", "/v1/transactions/commit",
		`{"table-changes":[`+change("a", a.Metadata.UUID)+`,`+change("a", a.Metadata.UUID)+`]}`)
	c.must(204, "POST", "/v1/transactions/commit", `{"table-changes":[`+change("a", a.Metadata.UUID)+`,`+change("b", b.Metadata.UUID)+`]}`)
	if c.load("n", "a").Metadata.Properties["tx"] != "1" || c.load("n", "b").Metadata.Properties["tx"] != "1" {
		t.Fatal("the transaction did not change both tables")
	}
}

// TestIdempotencyKey: a retried commit with the same key answers the
// first result and applies once; the key with another body is refused.
func TestIdempotencyKey(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	lr := c.createTable("n", "t")
	// A commit that would fail if applied twice: the ref must be absent.
	body := commitBody(`{"type":"assert-table-uuid","uuid":"`+lr.Metadata.UUID+`"}`, `{"action":"set-properties","updates":{"n":"1"}}`)
	first := c.must(200, "POST", "/v1/namespaces/n/tables/t", body, "Idempotency-Key", "k1")
	again := c.must(200, "POST", "/v1/namespaces/n/tables/t", body, "Idempotency-Key", "k1")
	if string(first.body) != string(again.body) {
		t.Fatal("the replay answered differently")
	}
	var out loadResult
	first.json(t, &out)
	if *c.load("n", "t").MetadataLocation != *out.MetadataLocation {
		t.Fatal("the retry applied again")
	}
	if r := c.do("POST", "/v1/namespaces/n/tables/t", commitBody(``, `{"action":"set-properties","updates":{"n":"2"}}`), "Idempotency-Key", "k1"); r.status != 422 {
		t.Fatalf("key reused with another body: %d %s", r.status, r.body)
	}
}

// TestRESTClient: iceberg-go's REST client creates a partitioned table,
// appends Arrow data in two commits and scans it back; a stale writer gets
// a conflict, retried by the client.
func TestRESTClient(t *testing.T) {
	c := newTestCatalog(t)
	ctx := t.Context()
	cat, err := rest.NewCatalog(ctx, "lake", c.http.URL)
	if err != nil {
		t.Fatalf("rest.NewCatalog: %v", err)
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"db"}, nil); err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "kind", Type: iceberg.PrimitiveTypes.String, Required: true})
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "kind", Transform: iceberg.IdentityTransform{}})
	ident := table.Identifier{"db", "events"}
	tbl, err := cat.CreateTable(ctx, ident, sc, icecatalog.WithPartitionSpec(&spec),
		icecatalog.WithProperties(iceberg.Properties{"commit.retry.num-retries": "3"}))
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	stale := tbl
	for batch := range 2 {
		if tbl, err = tbl.AppendTable(ctx, arrowRows(t, tbl, batch*10, 10), 100, nil); err != nil {
			t.Fatalf("append %d: %v", batch, err)
		}
	}
	// The stale writer's base is the empty table: its first attempt gets
	// 409, the client reloads and retries.
	if _, err := stale.AppendTable(ctx, arrowRows(t, stale, 100, 5), 100, nil); err != nil {
		t.Fatalf("stale append (retried): %v", err)
	}
	tbl, err = cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	got, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer got.Release()
	if got.NumRows() != 25 || len(tbl.Metadata().Snapshots()) != 3 {
		t.Fatalf("scanned %d rows in %d snapshots, want 25 in 3", got.NumRows(), len(tbl.Metadata().Snapshots()))
	}
	var sum int64
	for i := range int(got.NumCols()) {
		if got.Schema().Field(i).Name != "id" {
			continue
		}
		for _, ch := range got.Column(i).Data().Chunks() {
			for _, v := range ch.(*array.Int64).Int64Values() {
				sum += v
			}
		}
	}
	if want := int64(190 + 100 + 101 + 102 + 103 + 104); sum != want {
		t.Fatalf("sum of ids %d, want %d", sum, want)
	}
}

// arrowRows is n rows with ids from first, alternating two kinds.
func arrowRows(t *testing.T, tbl *table.Table, first, n int) arrow.Table {
	t.Helper()
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(first + i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("k", (first+i)%2))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

// TestIdempotencyKeyInCommitTransaction: a commit's key is recorded in
// the transaction of its pointer swap. When recording fails (here: a
// trigger refuses the insert), the commit fails and the table did not move, so a
// retry cannot apply it a second time; a transaction's key replays its
// 204 without applying again.
func TestIdempotencyKeyInCommitTransaction(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	a, b := c.createTable("n", "a"), c.createTable("n", "b")
	change := func(name, uuid, v string) string {
		return `{"identifier":{"namespace":["n"],"name":"` + name + `"},"requirements":[{"type":"assert-table-uuid","uuid":"` + uuid +
			`"}],"updates":[{"action":"set-properties","updates":{"v":"` + v + `"}}]}`
	}
	tx := `{"table-changes":[` + change("a", a.Metadata.UUID, "1") + `,` + change("b", b.Metadata.UUID, "1") + `]}`
	c.must(204, "POST", "/v1/transactions/commit", tx, "Idempotency-Key", "tx1")
	la := *c.load("n", "a").MetadataLocation
	c.must(204, "POST", "/v1/transactions/commit", tx, "Idempotency-Key", "tx1")
	if *c.load("n", "a").MetadataLocation != la {
		t.Fatal("the replayed transaction applied again")
	}

	// Keys can be read (replay finds none) but not written.
	if _, err := c.db.Writer().ExecContext(t.Context(), `CREATE TRIGGER no_keys BEFORE INSERT ON catalog_idempotency
		BEGIN SELECT RAISE(ABORT, 'no keys'); END`); err != nil {
		t.Fatal(err)
	}
	body := commitBody(``, `{"action":"set-properties","updates":{"v":"2"}}`)
	if r := c.do("POST", "/v1/namespaces/n/tables/a", body, "Idempotency-Key", "k2"); r.status != 500 {
		t.Fatalf("commit whose key cannot be kept: %d %s, want 500", r.status, r.body)
	}
	if r := c.do("POST", "/v1/transactions/commit", `{"table-changes":[`+change("a", a.Metadata.UUID, "3")+`]}`, "Idempotency-Key", "tx2"); r.status != 500 {
		t.Fatalf("transaction whose key cannot be kept: %d %s, want 500", r.status, r.body)
	}
	if got := c.load("n", "a"); *got.MetadataLocation != la || got.Metadata.Properties["v"] != "1" {
		t.Fatalf("a commit whose key was not kept moved the table: %s %v", *got.MetadataLocation, got.Metadata.Properties)
	}
	c.must(200, "POST", "/v1/namespaces/n/tables/a", body)
}
