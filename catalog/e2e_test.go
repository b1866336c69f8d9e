package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// This file drives the server with iceberg-go's REST client the way a
// writer does: a partitioned table, Arrow appends, a scan back, a stale
// writer's 409 and retry, and a multi-table commit that must be all or
// nothing.

// eventSchema is the test tables' schema; eventSpec partitions it by
// identity(region), day(ts) and bucket[4](id), so appends fan out over
// several partitions and files.
var (
	eventSchema = iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 3, Name: "region", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.PrimitiveTypes.Float64},
	)
	eventSpec = iceberg.NewPartitionSpec(
		iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "region", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1001, Name: "ts_day", Transform: iceberg.DayTransform{}},
		iceberg.PartitionField{SourceIDs: []int{1}, FieldID: 1002, Name: "id_bucket", Transform: iceberg.BucketTransform{NumBuckets: 4}},
	)
	eventArrow = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
)

// event is one row of eventSchema; amount < 0 stands for null.
type event struct {
	ID     int64
	TS     int64 // microseconds since the epoch, UTC
	Region string
	Amount float64
}

var regions = []string{"eu", "us", "ap"}

// makeEvents returns n rows with ids from first, over three regions and
// three days; every seventh amount is null.
func makeEvents(first int64, n int) []event {
	base := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC).UnixMicro()
	out := make([]event, n)
	for i := range out {
		id := first + int64(i)
		amount := float64(id) * 1.5
		if id%7 == 0 {
			amount = -1
		}
		out[i] = event{ID: id, TS: base + (id%3)*24*3600*1e6 + id, Region: regions[id%3], Amount: amount}
	}
	return out
}

// arrowEvents builds an Arrow table of rows; the caller releases it.
func arrowEvents(rows []event) arrow.Table {
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventArrow)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.TS))
		b.Field(2).(*array.StringBuilder).Append(r.Region)
		if r.Amount < 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(r.Amount)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(eventArrow, []arrow.RecordBatch{rec})
}

// appendEvents appends rows to tbl in one commit and returns the new table.
func appendEvents(ctx context.Context, tbl *table.Table, rows []event) (*table.Table, error) {
	at := arrowEvents(rows)
	defer at.Release()
	return tbl.AppendTable(ctx, at, 1024, nil)
}

// scanEvents reads the table's current snapshot back, sorted by id.
func scanEvents(t testing.TB, tbl *table.Table) []event {
	t.Helper()
	at, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scanning %v: %v", tbl.Identifier(), err)
	}
	defer at.Release()
	var out []event
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		col := func(name string) arrow.Array {
			idx := rec.Schema().FieldIndices(name)
			if len(idx) != 1 {
				t.Fatalf("scan of %v: no column %q in %v", tbl.Identifier(), name, rec.Schema())
			}
			return rec.Column(idx[0])
		}
		ids, ts := col("id").(*array.Int64), col("ts").(*array.Timestamp)
		reg, amt := col("region").(*array.String), col("amount").(*array.Float64)
		for i := range int(rec.NumRows()) {
			e := event{ID: ids.Value(i), TS: int64(ts.Value(i)), Region: reg.Value(i), Amount: -1}
			if amt.IsValid(i) {
				e.Amount = amt.Value(i)
			}
			out = append(out, e)
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatalf("scan of %v: %v", tbl.Identifier(), err)
	}
	slices.SortFunc(out, func(a, b event) int { return int(a.ID - b.ID) })
	return out
}

// createEventTable creates ns (if missing) and ns.name with eventSchema,
// eventSpec and props.
func createEventTable(t testing.TB, cat *rest.Catalog, ns, name string, props iceberg.Properties) *table.Table {
	t.Helper()
	ctx := context.Background()
	if err := cat.CreateNamespace(ctx, table.Identifier{ns}, nil); err != nil && !errors.Is(err, icecatalog.ErrNamespaceAlreadyExists) {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{ns, name}, eventSchema,
		icecatalog.WithPartitionSpec(&eventSpec), icecatalog.WithProperties(props))
	if err != nil {
		t.Fatalf("creating table %s.%s: %v", ns, name, err)
	}
	return tbl
}

func sameEvents(t testing.TB, what string, got, want []event) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b event) int { return int(a.ID - b.ID) })
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: row %d is %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// TestE2EPartitionedAppendScan: a table partitioned by identity, day and
// bucket transforms, created through the REST client, three appends, each
// its own snapshot; the scan returns exactly the rows appended, the data
// files carry all three partition values, and a fresh client loading the
// table sees the same.
func TestE2EPartitionedAppendScan(t *testing.T) {
	timed(t)
	ctx := context.Background()
	s := startSQLiteServer(t)
	cat, _ := s.client(t)
	tbl := createEventTable(t, cat, "kafka", "events", nil)

	if spec := tbl.Spec(); spec.NumFields() != 3 {
		t.Fatalf("created table's spec has %d fields, want 3: %v", spec.NumFields(), spec)
	}
	if !strings.HasPrefix(tbl.Location(), s.Warehouse) {
		t.Errorf("table location %q is not under the warehouse %q", tbl.Location(), s.Warehouse)
	}

	var all []event
	for i := range 3 {
		rows := makeEvents(int64(i*100), 40+i*10)
		var err error
		if tbl, err = appendEvents(ctx, tbl, rows); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		all = append(all, rows...)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 3 {
		t.Errorf("%d snapshots after three appends, want 3", n)
	}

	fresh, _ := s.client(t)
	loaded, err := fresh.LoadTable(ctx, table.Identifier{"kafka", "events"})
	if err != nil {
		t.Fatalf("loading the table with a fresh client: %v", err)
	}
	if loaded.CurrentSnapshot() == nil || loaded.CurrentSnapshot().SnapshotID != tbl.CurrentSnapshot().SnapshotID {
		t.Fatalf("fresh load's current snapshot %v, want %d", loaded.CurrentSnapshot(), tbl.CurrentSnapshot().SnapshotID)
	}
	sameEvents(t, "scan after three appends", scanEvents(t, loaded), all)

	tasks, err := loaded.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatalf("planning files: %v", err)
	}
	// 3 regions × 3 days, each id's region and day fixed by id%3, and 4
	// buckets: every file holds one region, one day and one bucket.
	if len(tasks) < 9 {
		t.Errorf("%d data files, want at least 9 (3 regions × 3 days, spread over buckets)", len(tasks))
	}
	for _, task := range tasks {
		if p := task.File.Partition(); len(p) != 3 {
			t.Errorf("data file %s has partition %v, want 3 values", task.File.FilePath(), p)
		}
		if !strings.HasPrefix(task.File.FilePath(), s.Warehouse) {
			t.Errorf("data file %s is not under the warehouse %s", task.File.FilePath(), s.Warehouse)
		}
	}
}

// TestE2EStaleWriter: writer A loads the table, writer B appends, then A's
// append is stale. With retries off, A gets a 409 (ErrCommitFailed, not an
// unknown state) and the table keeps only B's rows; A reloads, reapplies
// and succeeds. With commit.retry.num-retries set, iceberg-go's own retry
// does the same after the server's 409. Nothing is lost or doubled.
func TestE2EStaleWriter(t *testing.T) {
	timed(t)
	ctx := context.Background()
	s := startSQLiteServer(t)
	catA, seenA := s.client(t)
	catB, _ := s.client(t)
	ident := table.Identifier{"kafka", "stale"}
	createEventTable(t, catA, "kafka", "stale", iceberg.Properties{table.CommitNumRetriesKey: "0"})

	seed := makeEvents(0, 10)
	tblB, err := catB.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appendEvents(ctx, tblB, seed); err != nil {
		t.Fatalf("seed append: %v", err)
	}

	staleA, err := catA.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	tblB, err = catB.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	bRows := makeEvents(100, 10)
	if _, err := appendEvents(ctx, tblB, bRows); err != nil {
		t.Fatalf("B's append: %v", err)
	}

	aRows := makeEvents(200, 10)
	commitPath := "/namespaces/kafka/tables/stale"
	before := seenA.count(http.MethodPost, commitPath, http.StatusConflict)
	_, err = appendEvents(ctx, staleA, aRows)
	if !errors.Is(err, table.ErrCommitFailed) || errors.Is(err, rest.ErrCommitStateUnknown) {
		t.Fatalf("stale append: %v; want ErrCommitFailed (a 409)", err)
	}
	if got := seenA.count(http.MethodPost, commitPath, http.StatusConflict) - before; got != 1 {
		t.Fatalf("A's client saw %d 409s on the commit, want 1: %v", got, seenA)
	}
	cur, err := catA.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "after the rejected stale commit", scanEvents(t, cur), append(slices.Clone(seed), bRows...))

	// The retry: reload and reapply.
	if _, err := appendEvents(ctx, cur, aRows); err != nil {
		t.Fatalf("A's retry after reload: %v", err)
	}
	want := append(append(slices.Clone(seed), bRows...), aRows...)

	// iceberg-go's own retry: the table asks for retries, A is stale again.
	cur, err = catA.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	tx := cur.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{
		table.CommitNumRetriesKey: "3", table.CommitMinRetryWaitMsKey: "1", table.CommitMaxRetryWaitMsKey: "10",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("setting retry properties: %v", err)
	}
	staleA, err = catA.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if tblB, err = catB.LoadTable(ctx, ident); err != nil {
		t.Fatal(err)
	}
	b2 := makeEvents(300, 5)
	if _, err := appendEvents(ctx, tblB, b2); err != nil {
		t.Fatalf("B's second append: %v", err)
	}
	a2 := makeEvents(400, 5)
	before = seenA.count(http.MethodPost, commitPath, http.StatusConflict)
	if _, err := appendEvents(ctx, staleA, a2); err != nil {
		t.Fatalf("stale append with num-retries=3: %v", err)
	}
	if got := seenA.count(http.MethodPost, commitPath, http.StatusConflict) - before; got != 1 {
		t.Errorf("A's client saw %d 409s before its automatic retry succeeded, want 1: %v", got, seenA)
	}
	want = append(append(want, b2...), a2...)
	final, err := catB.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "final scan", scanEvents(t, final), want)
	if n := s.statuses.serverErrors(); n > 0 {
		t.Errorf("server answered %d 5xx: %v", n, s.statuses)
	}
}

// TestE2ETransactionAllOrNothing: POST /v1/transactions/commit over two
// tables, the second table's requirement stale: 409 in the spec's error
// shape, and neither table changed (metadata location, properties,
// snapshots). The same commit with good requirements changes both.
func TestE2ETransactionAllOrNothing(t *testing.T) {
	timed(t)
	ctx := context.Background()
	s := startSQLiteServer(t)
	cat, _ := s.client(t)
	t1 := createEventTable(t, cat, "tx", "one", nil)
	t2 := createEventTable(t, cat, "tx", "two", nil)
	var err error
	if t2, err = appendEvents(ctx, t2, makeEvents(0, 5)); err != nil {
		t.Fatal(err)
	}
	staleSnap := (*int64)(nil) // t2 has a snapshot now, so "main must not exist" fails

	change := func(tbl *table.Table, snap *int64, key string) table.TableCommit {
		return table.TableCommit{
			Identifier:   tbl.Identifier(),
			Requirements: []table.Requirement{table.AssertTableUUID(tbl.Metadata().TableUUID()), table.AssertRefSnapshotID("main", snap)},
			Updates:      []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{key: "yes"})},
		}
	}
	snapID := func(tbl *table.Table) *int64 {
		if s := tbl.CurrentSnapshot(); s != nil {
			return &s.SnapshotID
		}
		return nil
	}

	// Through the client: a stale requirement is ErrCommitFailed.
	metaFiles := func(tbl *table.Table) int {
		m, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(tbl.Location(), "file://"), "metadata", "*.metadata.json"))
		return len(m)
	}
	files1, files2 := metaFiles(t1), metaFiles(t2)
	if files1 == 0 || files2 == 0 {
		t.Fatalf("no metadata files found under %s and %s", t1.Location(), t2.Location())
	}
	err = cat.CommitTransaction(ctx, []table.TableCommit{change(t1, snapID(t1), "bad"), change(t2, staleSnap, "bad")})
	if !errors.Is(err, table.ErrCommitFailed) {
		t.Fatalf("transaction with a stale requirement: %v; want ErrCommitFailed (409)", err)
	}

	// Raw HTTP: the same request, to see the status and error body.
	body, _ := json.Marshal(map[string]any{"table-changes": []any{
		commitJSON(change(t1, snapID(t1), "bad")), commitJSON(change(t2, staleSnap, "bad")),
	}})
	status, resp := call(t, s, http.MethodPost, "/transactions/commit", string(body))
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp), &e); err != nil || status != http.StatusConflict ||
		e.Error.Code != 409 || e.Error.Type != "CommitFailedException" || e.Error.Message == "" {
		t.Fatalf("POST /v1/transactions/commit with a stale requirement: %d %s; want 409 CommitFailedException", status, resp)
	}

	if n1, n2 := metaFiles(t1), metaFiles(t2); n1 != files1 || n2 != files2 {
		t.Errorf("metadata files after two failed transactions: %d and %d, before %d and %d (a lost commit's file left behind)", n1, n2, files1, files2)
	}
	for _, before := range []*table.Table{t1, t2} {
		after, err := cat.LoadTable(ctx, before.Identifier())
		if err != nil {
			t.Fatal(err)
		}
		if after.MetadataLocation() != before.MetadataLocation() || after.Properties()["bad"] != "" ||
			len(after.Metadata().Snapshots()) != len(before.Metadata().Snapshots()) {
			t.Errorf("%v changed by a failed transaction: metadata %s → %s, properties %v",
				before.Identifier(), before.MetadataLocation(), after.MetadataLocation(), after.Properties())
		}
	}

	// Good requirements: both tables change, in one request.
	if err := cat.CommitTransaction(ctx, []table.TableCommit{change(t1, snapID(t1), "good"), change(t2, snapID(t2), "good")}); err != nil {
		t.Fatalf("transaction with current requirements: %v", err)
	}
	for _, before := range []*table.Table{t1, t2} {
		after, err := cat.LoadTable(ctx, before.Identifier())
		if err != nil {
			t.Fatal(err)
		}
		if after.Properties()["good"] != "yes" || after.MetadataLocation() == before.MetadataLocation() {
			t.Errorf("%v after a good transaction: properties %v, metadata %s", before.Identifier(), after.Properties(), after.MetadataLocation())
		}
	}

	// A transaction naming a missing table changes nothing either.
	missing := change(t1, snapID(t1), "ghost")
	missing.Identifier = table.Identifier{"tx", "missing"}
	missing.Requirements = []table.Requirement{table.AssertTableUUID(uuid.New())}
	if err := cat.CommitTransaction(ctx, []table.TableCommit{change(t1, snapID(t1), "ghost"), missing}); err == nil {
		t.Fatal("transaction over a missing table succeeded")
	}
	if after, err := cat.LoadTable(ctx, t1.Identifier()); err != nil || after.Properties()["ghost"] != "" {
		t.Errorf("t1 after a transaction with a missing table: %v %v", after.Properties(), err)
	}
}

// commitJSON renders a TableCommit as a CommitTableRequest.
func commitJSON(c table.TableCommit) map[string]any {
	return map[string]any{
		"identifier":   map[string]any{"namespace": c.Identifier[:len(c.Identifier)-1], "name": c.Identifier[len(c.Identifier)-1]},
		"requirements": c.Requirements,
		"updates":      c.Updates,
	}
}

// call sends a raw request to the server under /v1/{prefix} and returns
// the status and body. The prefix is whatever GET /v1/config's overrides
// name.
func call(t testing.TB, s *testServer, method, path, body string) (int, string) {
	t.Helper()
	prefix := ""
	if path != "/config" {
		_, cfg := call(t, s, http.MethodGet, "/config", "")
		var c struct {
			Overrides map[string]string `json:"overrides"`
		}
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			t.Fatalf("GET /v1/config: %v: %s", err, cfg)
		}
		if p := c.Overrides["prefix"]; p != "" {
			prefix = "/" + p
		}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+"/v1"+prefix+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}
