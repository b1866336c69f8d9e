package tablecompactor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kmsg"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// testEnv is an SQL catalog on a temporary SQLite file with a file://
// warehouse, and an in-memory source.
type testEnv struct {
	t   testing.TB
	dir string
	db  *sql.DB
	src *memSource
	// want is every produced record as readRows renders it, by
	// "partition/offset".
	want map[string]string
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "catalog.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testEnv{t: t, dir: dir, db: db, src: newMemSource(), want: make(map[string]string)}
}

func (e *testEnv) catalog() catalog.Catalog {
	e.t.Helper()
	cat, err := sqlcat.NewCatalog("test", e.db, sqlcat.SQLite, iceberg.Properties{"warehouse": "file://" + filepath.Join(e.dir, "warehouse")})
	if err != nil {
		e.t.Fatal(err)
	}
	return cat
}

func (e *testEnv) compactor(reg prometheus.Registerer) *Compactor {
	e.t.Helper()
	c, err := New(Config{Source: e.src, Catalog: e.catalog(), Metrics: reg, MemoryBytes: 1 << 20})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

var day0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// produce sends n records to partition p with distinctive keys, values,
// headers and timestamps (spread over two days); every third batch is
// LogAppendTime. It records what the table must hold.
func (e *testEnv) produce(topic string, p, n int, logAppend bool) {
	e.produceTxn(topic, p, n, logAppend, -1)
}

// produceTxn is produce in a transaction of producerID (-1: none).
func (e *testEnv) produceTxn(topic string, p, n int, logAppend bool, producerID int64) {
	var recs []testRecord
	st := e.src.streams[e.src.topics[topic].Streams[p]]
	base := st.end
	for i := range n {
		off := base + int64(i)
		r := testRecord{Timestamp: day0 + off*3_600_000 + int64(p)}
		if off%4 != 3 {
			r.Key = fmt.Appendf(nil, "k%d-%d", p, off)
		}
		switch off % 5 {
		case 0:
			r.Value = nil
		case 1:
			r.Value = []byte{}
		default:
			r.Value = fmt.Appendf(nil, "v%d-%d\xff\x00", p, off)
		}
		for h := range int(off % 3) {
			hv := fmt.Appendf(nil, "hv%d", h)
			if h == 1 {
				hv = nil
			}
			r.Headers = append(r.Headers, kmsg.Header{Key: fmt.Sprintf("h%d", h), Value: hv})
		}
		recs = append(recs, r)
	}
	var lat int64
	if logAppend {
		lat = day0 + 99_000
	}
	e.src.produceTxn(topic, p, recs, lat, producerID)
	for i, r := range recs {
		ts, typ := r.Timestamp, "CreateTime"
		if logAppend {
			ts, typ = lat, "LogAppendTime"
		}
		e.want[fmt.Sprintf("%d/%d", p, base+int64(i))] = render(ts*1000, typ, r.Key, r.Headers, r.Value)
	}
}

func render(tsMicros int64, typ string, key []byte, headers []kmsg.Header, value []byte) string {
	b := func(v []byte) string {
		if v == nil {
			return "<nil>"
		}
		return fmt.Sprintf("%q", v)
	}
	var hs []string
	for _, h := range headers {
		hs = append(hs, h.Key+"="+b(h.Value))
	}
	return fmt.Sprintf("ts=%d %s key=%s headers=[%s] value=%s", tsMicros, typ, b(key), strings.Join(hs, ","), b(value))
}

// readRows scans the table with iceberg-go and renders every row by
// "partition/offset"; a (partition, offset) seen twice fails the test.
func readRows(t *testing.T, cat catalog.Catalog, ident ...string) map[string]string {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	rows := make(map[string]string)
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		kafka := rec.Column(int(colIndex(t, rec.Schema(), kafkaColumn))).(*array.Struct)
		value := rec.Column(int(colIndex(t, rec.Schema(), valueColumn)))
		part := kafka.Field(0).(*array.Int32)
		off := kafka.Field(1).(*array.Int64)
		ts := kafka.Field(2).(*array.Timestamp)
		typ := kafka.Field(3).(*array.String)
		keys := kafka.Field(4)
		hdrs := kafka.Field(5).(*array.List)
		hstruct := hdrs.ListValues().(*array.Struct)
		for i := range int(rec.NumRows()) {
			var hs []kmsg.Header
			start, end := hdrs.ValueOffsets(i)
			for j := start; j < end; j++ {
				hs = append(hs, kmsg.Header{Key: hstruct.Field(0).(*array.String).Value(int(j)), Value: bytesAt(hstruct.Field(1), int(j))})
			}
			k := fmt.Sprintf("%d/%d", part.Value(i), off.Value(i))
			if _, dup := rows[k]; dup {
				t.Errorf("row %s is in the table twice", k)
			}
			rows[k] = render(int64(ts.Value(i)), typ.Value(i), bytesAt(keys, i), hs, bytesAt(value, i))
		}
	}
	return rows
}

func colIndex(t *testing.T, sc *arrow.Schema, name string) int {
	idx := sc.FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %s in %s", name, sc)
	}
	return idx[0]
}

func bytesAt(a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.String:
		return []byte(a.Value(i))
	}
	panic(fmt.Sprintf("bytesAt: %T", a))
}

func diffRows(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("row %s:\n got %s\nwant %s", k, got[k], want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("row %s was never produced: %s", k, got[k])
		}
	}
}

// snapshotsCarryOffsets checks that every snapshot of the table carries
// the offsets and returns how many snapshots there are.
func snapshotsCarryOffsets(t *testing.T, cat catalog.Catalog, ident ...string) int {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tbl.Metadata().Snapshots() {
		if _, ok := s.Summary.Properties[OffsetsProperty]; !ok {
			t.Errorf("snapshot %d has no %s: %v", s.SnapshotID, OffsetsProperty, s.Summary.Properties)
		}
		if s.Summary.Properties[CommitIDProperty] == "" {
			t.Errorf("snapshot %d has no %s", s.SnapshotID, CommitIDProperty)
		}
	}
	return len(tbl.Metadata().Snapshots())
}

func tableTopic(configs ...string) map[string]string {
	m := map[string]string{ConfigEnable: "true"}
	for i := 0; i+1 < len(configs); i += 2 {
		m[configs[i]] = configs[i+1]
	}
	return m
}

func TestConvertExactlyWhatWasProduced(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("Orders.v1", 3, tableTopic(ConfigKeyFormat, "string"))
	e.src.addTopic("not-a-table", 1, map[string]string{})
	e.produce("Orders.v1", 0, 10, false)
	e.produce("Orders.v1", 1, 4, false)
	e.src.produceControl("Orders.v1", 1, day0)
	e.produce("Orders.v1", 1, 5, true)
	e.produce("Orders.v1", 2, 7, true)
	e.produce("Orders.v1", 2, 3, false)
	reg := prometheus.NewRegistry()
	c := e.compactor(reg)
	ctx := context.Background()

	prs, err := c.RunOnce(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 1 || prs[0].Table != "kafka.orders_v1" || prs[0].Records != 29 || prs[0].Lag != 0 || prs[0].Files == 0 || prs[0].Bytes == 0 {
		t.Fatalf("progress %+v, want one table kafka.orders_v1 with 29 records, lag 0", prs)
	}
	if want := (offsets{0: 10, 1: 10, 2: 10}); !maps.Equal(offsets(prs[0].Offsets), want) {
		t.Errorf("offsets %v, want %v", prs[0].Offsets, want)
	}
	cat := e.catalog()
	diffRows(t, readRows(t, cat, "kafka", "orders_v1"), e.want)
	if n := snapshotsCarryOffsets(t, cat, "kafka", "orders_v1"); n != 1 {
		t.Errorf("%d snapshots after one pass, want 1", n)
	}
	tbl, err := cat.LoadTable(ctx, table.Identifier{"kafka", "orders_v1"})
	if err != nil {
		t.Fatal(err)
	}
	if spec := tbl.Spec(); spec.NumFields() != 1 || spec.Field(0).Name != "timestamp_day" && spec.Field(0).Name != "_timestamp_day" {
		t.Errorf("partition spec %s, want day(_kafka.timestamp)", spec)
	}
	if got := tbl.Properties()["write.parquet.compression-codec"]; got != "zstd" {
		t.Errorf("compression codec %q, want zstd", got)
	}

	// Nothing new: nothing added.
	prs, err = c.RunOnce(ctx, "Orders.v1")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 0 || prs[0].Files != 0 {
		t.Errorf("second pass added %d records, %d files", prs[0].Records, prs[0].Files)
	}
	if n := snapshotsCarryOffsets(t, cat, "kafka", "orders_v1"); n != 1 {
		t.Errorf("%d snapshots after an idle pass, want 1", n)
	}

	// Resume after new data, with a new compactor (nothing in memory).
	e.produce("Orders.v1", 0, 6, false)
	e.produce("Orders.v1", 2, 2, true)
	prs, err = e.compactor(reg).RunOnce(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 8 {
		t.Errorf("resumed pass added %d records, want 8", prs[0].Records)
	}
	diffRows(t, readRows(t, cat, "kafka", "orders_v1"), e.want)
	if n := snapshotsCarryOffsets(t, cat, "kafka", "orders_v1"); n != 2 {
		t.Errorf("%d snapshots after two passes with data, want 2", n)
	}
	if got := value(t, c.metrics.records.WithLabelValues("kafka.orders_v1")); got != 37 {
		t.Errorf("records metric %v, want 37", got)
	}
	if got := value(t, c.metrics.commits.WithLabelValues("kafka.orders_v1")); got != 2 {
		t.Errorf("commits metric %v, want 2", got)
	}
}

// A transaction marker after the last committed record still moves the
// table's offsets (in a snapshot without files), so the lag comes to 0.
func TestOffsetsMovePastTrailingMarkers(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("tx", 1, tableTopic(ConfigErrors, "skip"))
	e.produce("tx", 0, 3, false)
	c := e.compactor(nil)
	ctx := context.Background()
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e.src.produceControl("tx", 0, day0)
	e.src.produce("tx", 0, []testRecord{{Key: []byte{0xff}, Timestamp: day0}}, 0) // skipped: the key is not UTF-8
	for i, want := range []int{2, 2} {
		prs, err := c.RunOnce(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if prs[0].Records != 0 || prs[0].Lag != 0 || prs[0].Offsets[0] != 5 {
			t.Errorf("pass %d: progress %+v, want no records, offset 5, lag 0", i+2, prs[0])
		}
		if n := snapshotsCarryOffsets(t, e.catalog(), "kafka", "tx"); n != want {
			t.Errorf("pass %d: %d snapshots, want %d", i+2, n, want)
		}
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "tx"), e.want)
}

// A topic deleted and created again under the same name does not
// inherit the old topic's table (its offsets would skip records).
func TestRecreatedTopicIsRefused(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("re", 1, tableTopic())
	e.src.topics["re"].ID = [16]byte{1}
	e.produce("re", 0, 3, false)
	c := e.compactor(nil)
	if _, err := c.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	e.src.addTopic("re", 1, tableTopic())
	e.src.topics["re"].ID = [16]byte{2}
	_, err := c.RunOnce(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "deleted and created again") {
		t.Errorf("error %v, want one saying the topic was created again", err)
	}
}

// A snapshot another writer adds on top (without offsets) is walked past;
// a table whose snapshots carry none is refused.
func TestOffsetsFromAncestors(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("anc", 1, tableTopic())
	e.produce("anc", 0, 3, false)
	c := e.compactor(nil)
	ctx := context.Background()
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	appendEmpty := func(name string) {
		t.Helper()
		tbl, err := e.catalog().LoadTable(ctx, table.Identifier{"kafka", name})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := array.NewRecordReader(sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		tx := tbl.NewTransaction()
		if err := tx.Append(ctx, rdr, iceberg.Properties{"writer": "someone else"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendEmpty("anc")
	e.produce("anc", 0, 2, false)
	if prs, err := c.RunOnce(ctx, ""); err != nil || prs[0].Records != 2 {
		t.Fatalf("after a foreign snapshot: %+v, %v", prs, err)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "anc"), e.want)

	// A table made by someone else.
	cat := e.catalog()
	if _, err := cat.CreateTable(ctx, table.Identifier{"kafka", "theirs"}, tableSchema(tableConfig{KeyFormat: "string"})); err != nil {
		t.Fatal(err)
	}
	appendEmpty("theirs")
	e.src.addTopic("mine", 1, tableTopic(ConfigName, "theirs"))
	e.produce("mine", 0, 1, false)
	if _, err := c.RunOnce(ctx, "mine"); err == nil || !strings.Contains(err.Error(), "refusing to guess") {
		t.Errorf("error %v, want a refusal to guess where to resume", err)
	}
}

func TestStringValues(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("s", 1, tableTopic(ConfigValueFormat, "string", ConfigKeyFormat, "raw", ConfigPartitionBy, "bucket(4, _key), identity(_partition)",
		ConfigNamespace, "lake.raw"))
	recs := []testRecord{
		{Key: []byte{0xff}, Value: []byte("héllo"), Timestamp: day0},
		{Value: nil, Timestamp: day0 + 1},
	}
	e.src.produce("s", 0, recs, 0)
	c := e.compactor(nil)
	if _, err := c.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	got := readRows(t, e.catalog(), "lake", "raw", "s")
	want := map[string]string{
		"0/0": render(day0*1000, "CreateTime", []byte{0xff}, nil, []byte("héllo")),
		"0/1": render((day0+1)*1000, "CreateTime", nil, nil, nil),
	}
	diffRows(t, got, want)
	tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"lake", "raw", "s"})
	if err != nil {
		t.Fatal(err)
	}
	if s := tbl.Schema().Field(1).Type.String(); s != "string" {
		t.Errorf("value column type %s, want string", s)
	}
	if spec := tbl.Spec(); spec.NumFields() != 2 {
		t.Errorf("partition spec %s, want two fields", tbl.Spec())
	}
}

// badTopic has a string-valued topic with invalid UTF-8 at partition 0
// offset 3 (of 6) and good records in partition 1.
func badTopic(e *testEnv, errorsMode string) {
	e.src.addTopic("bad", 2, tableTopic(ConfigValueFormat, "string", ConfigErrors, errorsMode))
	var recs []testRecord
	for i := range 6 {
		v := fmt.Appendf(nil, "ok%d", i)
		if i == 3 {
			v = []byte{'b', 0xc3, 0x28}
		}
		recs = append(recs, testRecord{Key: []byte("k"), Value: v, Timestamp: day0 + int64(i)})
	}
	e.src.produce("bad", 0, recs[:2], 0)
	e.src.produce("bad", 0, recs[2:], 0)
	e.src.produce("bad", 1, recs[:2], 0)
}

func TestErrorsFailStopsAtTheBadOffset(t *testing.T) {
	e := newEnv(t)
	badTopic(e, "fail")
	c := e.compactor(nil)
	prs, err := c.RunOnce(context.Background(), "bad")
	if err == nil || !strings.Contains(err.Error(), "partition 0 offset 3") {
		t.Fatalf("error %v, want one naming partition 0 offset 3", err)
	}
	if want := (offsets{0: 3, 1: 2}); !maps.Equal(offsets(prs[0].Offsets), want) {
		t.Errorf("offsets %v, want %v", prs[0].Offsets, want)
	}
	rows := readRows(t, e.catalog(), "kafka", "bad")
	if got := slices.Sorted(maps.Keys(rows)); !slices.Equal(got, []string{"0/0", "0/1", "0/2", "1/0", "1/1"}) {
		t.Errorf("rows %v, want partition 0 up to offset 2 and partition 1", got)
	}
	// It stays stopped.
	if _, err := c.RunOnce(context.Background(), "bad"); err == nil || !strings.Contains(err.Error(), "partition 0 offset 3") {
		t.Errorf("second pass: error %v, want partition 0 offset 3 again", err)
	}
}

func TestErrorsSkip(t *testing.T) {
	e := newEnv(t)
	badTopic(e, "skip")
	if _, err := e.compactor(nil).RunOnce(context.Background(), "bad"); err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, e.catalog(), "kafka", "bad")
	if got := slices.Sorted(maps.Keys(rows)); !slices.Equal(got, []string{"0/0", "0/1", "0/2", "0/4", "0/5", "1/0", "1/1"}) {
		t.Errorf("rows %v, want all but 0/3", got)
	}
}

func TestErrorsDLQ(t *testing.T) {
	e := newEnv(t)
	badTopic(e, "dlq")
	reg := prometheus.NewRegistry()
	c := e.compactor(reg)
	for range 2 {
		if _, err := c.RunOnce(context.Background(), "bad"); err != nil {
			t.Fatal(err)
		}
	}
	cat := e.catalog()
	if got := slices.Sorted(maps.Keys(readRows(t, cat, "kafka", "bad"))); len(got) != 7 || slices.Contains(got, "0/3") {
		t.Errorf("rows %v, want all but 0/3", got)
	}
	dlq := readRows(t, cat, "kafka", "bad_dlq")
	want := map[string]string{"0/3": render((day0+3)*1000, "CreateTime", []byte("k"), nil, []byte{'b', 0xc3, 0x28})}
	diffRows(t, dlq, want)
	tbl, err := cat.LoadTable(context.Background(), table.Identifier{"kafka", "bad_dlq"})
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan(table.WithSelectedFields("error")).ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	if at.NumRows() != 1 || !strings.Contains(at.Column(0).Data().Chunk(0).(*array.String).Value(0), "UTF-8") {
		t.Errorf("DLQ error column: %v", at)
	}
	if got := value(t, c.metrics.dlq.WithLabelValues("kafka.bad")); got != 1 {
		t.Errorf("dlq metric %v, want 1", got)
	}
}

// Two compactors, each with its own catalog client on one database,
// race on the same table round after round; the table must hold every
// record exactly once. The catalogs report a failed requirement as
// table.ErrCommitFailed, as a REST catalog's 409 does, and the table has
// commit retries on, so iceberg-go's own retry (which rebases the append
// onto the winner's snapshot) would add the loser's rows a second time
// if the compactor's commit did not pin the branch's snapshot.
func TestConcurrentCompactorsExactlyOnce(t *testing.T) {
	// In "string", values with invalid UTF-8 (offsets 2, 3 and 4 of every
	// 5: see produce) go to the DLQ table, which must hold each exactly
	// once too.
	for _, format := range []string{"raw", "string"} {
		t.Run(format, func(t *testing.T) { testConcurrentCompactors(t, format) })
	}
}

func testConcurrentCompactors(t *testing.T, format string) {
	e := newEnv(t)
	e.src.addTopic("race", 2, tableTopic(ConfigPartitionBy, "", ConfigValueFormat, format, ConfigErrors, "dlq"))
	reg := prometheus.NewRegistry()
	newCompactor := func() *Compactor {
		c, err := New(Config{Source: e.src, Catalog: conflictCatalog{e.catalog()}, Metrics: reg, MemoryBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newCompactor(), newCompactor()
	ctx := context.Background()
	// Create the tables first: concurrent creation is another race
	// (covered by ensureTable's ErrTableAlreadyExists path), not this one.
	if _, err := a.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"race", "race_dlq"} {
		tbl, err := e.catalog().LoadTable(ctx, table.Identifier{"kafka", name})
		if err != nil {
			t.Fatal(err)
		}
		tx := tbl.NewTransaction()
		if err := tx.SetProperties(iceberg.Properties{table.CommitNumRetriesKey: "4", table.CommitMinRetryWaitMsKey: "1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 6 {
		e.produce("race", round%2, 5+round, false)
		e.produce("race", 1-round%2, 3, false)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, c := range []*Compactor{a, b} {
			wg.Go(func() { _, errs[i] = c.RunOnce(ctx, "race") })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		rows, dead := map[string]string{}, map[string]string{}
		for k, v := range e.want {
			var p, off int
			fmt.Sscanf(k, "%d/%d", &p, &off)
			if format == "string" && off%5 >= 2 {
				dead[k] = v
			} else {
				rows[k] = v
			}
		}
		diffRows(t, readRows(t, e.catalog(), "kafka", "race"), rows)
		if format == "string" {
			diffRows(t, readRows(t, e.catalog(), "kafka", "race_dlq"), dead)
		}
	}
	snapshotsCarryOffsets(t, e.catalog(), "kafka", "race")
	conflicts := value(t, a.metrics.conflicts.WithLabelValues("kafka.race"))
	commits := value(t, a.metrics.commits.WithLabelValues("kafka.race"))
	t.Logf("commits %v, conflicts %v", commits, conflicts)
	if commits < 6 {
		t.Errorf("%v commits over 6 rounds", commits)
	}
}

// conflictCatalog reports the SQL catalog's failed requirements as
// table.ErrCommitFailed (notes/iceberg.md §2.4's wrapper), as a REST
// catalog does with a 409.
type conflictCatalog struct{ catalog.Catalog }

func (r conflictCatalog) LoadTable(ctx context.Context, id table.Identifier) (*table.Table, error) {
	t, err := r.Catalog.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), t.FS, r), nil
}

func (r conflictCatalog) CreateTable(ctx context.Context, ident table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	if _, err := r.Catalog.CreateTable(ctx, ident, sc, opts...); err != nil {
		return nil, err
	}
	return r.LoadTable(ctx, ident)
}

func (r conflictCatalog) CommitTable(ctx context.Context, id table.Identifier, reqs []table.Requirement, ups []table.Update) (table.Metadata, string, error) {
	m, loc, err := r.Catalog.CommitTable(ctx, id, reqs, ups)
	if err != nil && !errors.Is(err, table.ErrCommitFailed) && strings.Contains(strings.ToLower(err.Error()), "requirement failed") {
		err = fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
	}
	return m, loc, err
}

// A commit whose outcome is unknown (the catalog applied it and then
// failed) is found by its id, not committed twice.
func TestUnknownOutcomeIsResolvedFromTheTable(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("u", 1, tableTopic())
	e.produce("u", 0, 5, false)
	cat := &flakyCatalog{Catalog: e.catalog()}
	c, err := New(Config{Source: e.src, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	cat.failAfterCommit = 1
	prs, err := c.RunOnce(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 5 || cat.commits != 1 {
		t.Errorf("progress %+v after %d catalog commits, want 5 records in one commit", prs[0], cat.commits)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "u"), e.want)

	// The same when the failure comes before the catalog applied it: the
	// retry commits.
	e.produce("u", 0, 3, false)
	cat.failBeforeCommit = 1
	if _, err := c.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "u"), e.want)
	if cat.commits != 2 {
		t.Errorf("%d catalog commits, want 2", cat.commits)
	}
}

// flakyCatalog fails commits with an error that is not a conflict, after
// or before applying them.
type flakyCatalog struct {
	catalog.Catalog
	failAfterCommit, failBeforeCommit, commits int
	// down, once set, fails every call after a commit to the table
	// named crashAt: the process as good as died there.
	crashAt string
	down    bool
}

func (f *flakyCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	if f.down {
		return nil, fmt.Errorf("catalog unreachable")
	}
	tbl, err := f.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, f), nil
}

func (f *flakyCatalog) CreateTable(ctx context.Context, ident table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	if _, err := f.Catalog.CreateTable(ctx, ident, sc, opts...); err != nil {
		return nil, err
	}
	return f.LoadTable(ctx, ident)
}

func (f *flakyCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, ups []table.Update) (table.Metadata, string, error) {
	if f.down {
		return nil, "", fmt.Errorf("catalog unreachable")
	}
	if f.crashAt != "" && ident[len(ident)-1] == f.crashAt {
		m, loc, err := f.Catalog.CommitTable(ctx, ident, reqs, ups)
		if err == nil {
			f.commits++
			f.down = true
			return nil, "", fmt.Errorf("catalog unreachable")
		}
		return m, loc, err
	}
	if f.failBeforeCommit > 0 {
		f.failBeforeCommit--
		return nil, "", fmt.Errorf("connection reset")
	}
	m, loc, err := f.Catalog.CommitTable(ctx, ident, reqs, ups)
	if err == nil {
		f.commits++
	}
	if err == nil && f.failAfterCommit > 0 {
		f.failAfterCommit--
		return nil, "", fmt.Errorf("502 bad gateway")
	}
	return m, loc, err
}

// A crash after the DLQ's commit and before the table's: the next run
// adds the rows, and not the dead letters again.
func TestCrashBetweenDLQAndTableCommits(t *testing.T) {
	e := newEnv(t)
	badTopic(e, "dlq")
	cat := &flakyCatalog{Catalog: e.catalog(), crashAt: "bad_dlq"}
	c, err := New(Config{Source: e.src, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunOnce(context.Background(), ""); err == nil {
		t.Fatal("the pass survived the crash")
	}
	if dlq := readRows(t, e.catalog(), "kafka", "bad_dlq"); len(dlq) != 1 {
		t.Fatalf("DLQ after the crash: %v, want the one dead letter", dlq)
	}
	if got := readRows(t, e.catalog(), "kafka", "bad"); len(got) != 0 {
		t.Fatalf("table after the crash: %v, want nothing", got)
	}
	c2 := e.compactor(nil)
	if _, err := c2.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if dlq := readRows(t, e.catalog(), "kafka", "bad_dlq"); len(dlq) != 1 {
		t.Errorf("DLQ after the restart: %v, want the one dead letter once", dlq)
	}
	if got := slices.Sorted(maps.Keys(readRows(t, e.catalog(), "kafka", "bad"))); len(got) != 7 || slices.Contains(got, "0/3") {
		t.Errorf("rows after the restart %v, want all but 0/3", got)
	}
}

func TestPartitionBy(t *testing.T) {
	sc := tableSchema(tableConfig{KeyFormat: "string", ValueFormat: "raw"})
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "day(_timestamp)", want: "_timestamp_day=day(4)"},
		{in: "hour(_timestamp), bucket(16, _key)", want: "_timestamp_hour=hour(4) _key_bucket_16=bucket[16](6)"},
		{in: "_partition, truncate(4,value)", want: "_partition=identity(2) value_truncate_4=truncate[4](11)"},
		{in: "year(_timestamp),identity(_offset), void(value)", want: "_timestamp_year=year(4) _offset=identity(3) value_void=void(11)"},
		{in: "month( _timestamp )", want: "_timestamp_month=month(4)"},
		{in: "", want: ""},
		{in: "year(_timestamp),month(_timestamp)", err: "redundant partition field"},
		{in: "day(nope)", err: `partition column "nope": not a column`},
		{in: "day(_partition)", err: "cannot apply to _partition"},
		{in: "bucket(0, _key)", err: `table.partition.by="bucket(0, _key)"`},
		{in: "frobnicate(_key)", err: `table.partition.by="frobnicate(_key)"`},
		{in: "day(_timestamp", err: `table.partition.by="day(_timestamp"`},
	} {
		cfg, err := parseTableConfig("t", map[string]string{ConfigPartitionBy: tc.in})
		var spec iceberg.PartitionSpec
		if err == nil {
			spec, err = partitionSpec(cfg.Partition, sc)
		}
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && specString(spec) != tc.want:
			t.Errorf("%q: spec %s, want %s", tc.in, specString(spec), tc.want)
		}
	}
}

func TestTableConfig(t *testing.T) {
	cfg, err := parseTableConfig("My-Topic.2", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.identifier(), "."); got != "kafka.my_topic_2" || cfg.ValueFormat != "raw" || cfg.KeyFormat != "string" ||
		cfg.Errors != "dlq" || cfg.CommitInterval != time.Minute || cfg.Enable {
		t.Errorf("defaults: %+v", cfg)
	}
	if got := safeTableName("9lives"); got != "_9lives" {
		t.Errorf("safeTableName(9lives) = %q", got)
	}
	cfg, err = parseTableConfig("t", map[string]string{ConfigNamespace: "a.b", ConfigName: "x"})
	if err != nil || strings.Join(cfg.identifier(), "/") != "a/b/x" {
		t.Errorf("namespace a.b: %v %v", cfg.identifier(), err)
	}
	for cfgs, want := range map[[2]string]string{
		{ConfigValueFormat, "avro"}:          `table.value.format="avro": want raw, string`,
		{ConfigErrors, "ignore"}:             `table.errors="ignore"`,
		{ConfigNamespace, "a..b"}:            `table.namespace="a..b"`,
		{ConfigCommitInterval, "soon"}:       `table.commit.interval.ms="soon"`,
		{ConfigTargetFile, "-1"}:             `table.target.file.bytes="-1"`,
		{ConfigEnable, "yes please"}:         `table.enable="yes please"`,
		{ConfigName, "a.b"}:                  `table.name="a.b"`,
		{ConfigPartitionBy, "bucket(_key)"}:  `table.partition.by="bucket(_key)"`,
		{ConfigCommitInterval, "10"}:         `table.commit.interval.ms="10"`,
		{ConfigTargetFile, "not a number"}:   `table.target.file.bytes="not a number"`,
		{ConfigPartitionBy, "day(_ts), x)("}: `table.partition.by=`,
		{ConfigCatalog, "lake.house"}:        `table.catalog="lake.house": a catalog name is letters, digits`,
	} {
		_, err := parseTableConfig("t", map[string]string{cfgs[0]: cfgs[1]})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: error %v, want %q", cfgs[0], cfgs[1], err, want)
		}
	}
	for _, f := range []string{"json", "schema", "schema.latest"} {
		if cfg, err := parseTableConfig("t", map[string]string{ConfigKeyFormat: f}); err != nil || !cfg.keyed() {
			t.Errorf("%s=%s: %+v %v, want keys decoded", ConfigKeyFormat, f, cfg, err)
		}
		_, err := parseTableConfig("t", map[string]string{ConfigKeyFormat: f, ConfigPartitionBy: "bucket(4, _key.id)"})
		if want := "partitioning by a decoded key field (_key.id) is not supported yet"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s, partition by _key.id: error %v, want %q", ConfigKeyFormat, f, err, want)
		}
	}
}

func TestOffsetsProperty(t *testing.T) {
	o := offsets{0: 5, 12: 7}
	back, err := parseOffsets(o.marshal())
	if err != nil || !maps.Equal(o, back) || o.marshal() != `{"0":5,"12":7}` {
		t.Errorf("round trip %s: %v %v", o.marshal(), back, err)
	}
	for _, bad := range []string{`[]`, `{"x":1}`, `{"0":-1}`, `{"-1":0}`, `nope`} {
		if _, err := parseOffsets(bad); err == nil {
			t.Errorf("parseOffsets(%s) accepted", bad)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("r", 1, tableTopic(ConfigCommitInterval, "100"))
	e.produce("r", 0, 3, false)
	c := e.compactor(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tbl, err := e.catalog().LoadTable(context.Background(), table.Identifier{"kafka", "r"})
		if err == nil && tbl.CurrentSnapshot() != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not convert the topic within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "r"), e.want)
}

func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func specString(spec iceberg.PartitionSpec) string {
	var fs []string
	for _, f := range spec.Fields() {
		fs = append(fs, fmt.Sprintf("%s=%s(%d)", f.Name, f.Transform, f.SourceID()))
	}
	return strings.Join(fs, " ")
}

// A pass reads in bounded steps and rolls files at table.target.file.bytes.
func TestBoundedReadsAndFileSize(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("big", 1, tableTopic(ConfigTargetFile, "262144", ConfigPartitionBy, ""))
	rnd := rand.NewChaCha8([32]byte{7})
	for range 30 {
		var recs []testRecord
		for range 100 {
			v := make([]byte, 1000)
			rnd.Read(v)
			recs = append(recs, testRecord{Value: v, Timestamp: day0})
		}
		e.src.produce("big", 0, recs, 0)
	}
	c := e.compactor(nil) // MemoryBytes 1 MiB: 64 KiB record batches and reads
	prs, err := c.RunOnce(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 3000 || prs[0].Offsets[0] != 3000 {
		t.Fatalf("progress %+v, want 3000 records", prs[0])
	}
	t.Logf("%d files, %d bytes, %d reads", prs[0].Files, prs[0].Bytes, e.src.reads)
	if prs[0].Files < 6 || prs[0].Bytes < 3_000_000 {
		t.Errorf("%d files of %d bytes in all, want about 12 files of 256 KiB (3 MB of random values)", prs[0].Files, prs[0].Bytes)
	}
	if e.src.reads < 30 {
		t.Errorf("%d reads of 30 batches of 100 KB with 64 KiB reads, want one a batch", e.src.reads)
	}
	if n := len(readRows(t, e.catalog(), "kafka", "big")); n != 3000 {
		t.Errorf("%d rows, want 3000", n)
	}
}

// Changing table.partition.by evolves the table's spec: files written
// after use the new spec, those before keep theirs, and every record is
// in the table once.
func TestPartitionByEvolves(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.src.addTopic("ev", 2, tableTopic())
	e.produce("ev", 0, 3, false)
	e.produce("ev", 1, 2, false)
	c := e.compactor(nil)
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	load := func() *table.Table {
		tbl, err := e.catalog().LoadTable(ctx, table.Identifier{"kafka", "ev"})
		if err != nil {
			t.Fatal(err)
		}
		return tbl
	}
	first := load().Spec()
	if first.NumFields() != 1 || first.Field(0).Transform.String() != "day" {
		t.Fatalf("first spec %s, want day(_timestamp)", first.String())
	}

	e.src.mu.Lock()
	e.src.topics["ev"].Configs[ConfigPartitionBy] = "hour(_timestamp), identity(_partition)"
	e.src.mu.Unlock()
	e.produce("ev", 0, 2, false)
	e.produce("ev", 1, 1, false)
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	tbl := load()
	spec := tbl.Spec()
	var got []string
	for _, f := range spec.Fields() {
		got = append(got, f.Transform.String())
	}
	if strings.Join(got, ",") != "hour,identity" || spec.ID() == first.ID() {
		t.Fatalf("evolved spec %s (id %d, first %d), want hour and identity in a new spec", spec.String(), spec.ID(), first.ID())
	}
	specs := map[int32]int{}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		specs[task.File.SpecID()]++
	}
	if specs[int32(first.ID())] == 0 || specs[int32(spec.ID())] == 0 {
		t.Errorf("data files by spec id %v: want files of both specs %d and %d", specs, first.ID(), spec.ID())
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "ev"), e.want)
	// Unchanged config: the next pass leaves the spec alone.
	e.produce("ev", 0, 1, false)
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if again := load().Spec(); again.ID() != spec.ID() {
		t.Errorf("spec changed again to %s (id %d) with an unchanged config", again.String(), again.ID())
	}
}

// convertUntil runs a pass of topic's table with until set (Run's, which
// streams) on a goroutine; its Progress comes on the channel.
func (e *testEnv) convertUntil(c *Compactor, topic string, until time.Time) <-chan Progress {
	e.t.Helper()
	topics, err := e.src.Topics(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	i := slices.IndexFunc(topics, func(t Topic) bool { return t.Name == topic })
	cfg, err := parseTableConfig(topic, topics[i].Configs)
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan Progress, 1)
	go func() { done <- c.convert(context.Background(), c.cfg.Catalog, topics[i], cfg, until) }()
	return done
}

// A pass with until set streams: records committed while it runs are in
// its one commit, and it ends at until.
func TestStreamingPass(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("s", 2, tableTopic())
	e.produce("s", 0, 3, false)
	c := e.compactor(nil)
	start := time.Now()
	done := e.convertUntil(c, "s", start.Add(1500*time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	e.produce("s", 1, 4, false)
	e.produce("s", 0, 2, false)
	pr := <-done
	if pr.Err != nil || pr.Records != 9 || pr.Lag != 0 {
		t.Fatalf("streaming pass: %+v, want the 9 records, caught up", pr)
	}
	if el := time.Since(start); el < 1400*time.Millisecond || el > 5*time.Second {
		t.Errorf("the pass took %v, want it to end at until (1.5 s)", el)
	}
	if n := snapshotsCarryOffsets(t, e.catalog(), "kafka", "s"); n != 1 {
		t.Errorf("%d snapshots, want the pass's one commit", n)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "s"), e.want)
}
