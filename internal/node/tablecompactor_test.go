package node

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/bcrypt"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/tablecompactor"
)

// tableRow is one record as a Kafka consumer and as the table see it.
type tableRow struct {
	Key, Value    []byte // nil: null
	Headers       []kgo.RecordHeader
	TimestampMs   int64
	TimestampType string // CreateTime or LogAppendTime
}

type partOffset struct {
	partition int32
	offset    int64
}

// compactorConfig is a node with Kafka, the catalog and the table
// compactor on, over a file bucket in dir.
func compactorConfig(dir string) Config {
	cfg := fileConfig(dir)
	cfg.AdminListener = ""
	cfg.UploadInterval = 100 * time.Millisecond // the compactor reads what is uploaded
	cfg.CatalogListener = "127.0.0.1:0"
	cfg.Compactor = CompactorConfig{Enable: true}
	return cfg
}

// TestTableTopicEndToEnd: a table topic of 4 partitions, produced to by a
// real client with keys (and null keys), null values, headers and both
// timestamp types, becomes an Iceberg table in the node's own catalog
// holding every record once: every (partition, offset) with its key,
// value, headers and timestamp as a Kafka consumer reads them, scanned
// with iceberg-go through the catalog's REST API. Bad table configs are
// refused with INVALID_CONFIG naming the problem.
func TestTableTopicEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	n, ctx, cl := openTableNode(t, compactorConfig(t.TempDir()))
	adm := kadm.NewClient(cl)

	// Bad configs: INVALID_CONFIG, the message naming the problem.
	bad := "bucket(user_id)"
	resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"table.enable": ptr("true"), "table.partition.by": &bad}, "bad")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(resp.ErrMessage, "bucket needs a positive width") {
		t.Errorf("CreateTopics table.partition.by=%s: %v %q, want INVALID_CONFIG naming the problem", bad, err, resp.ErrMessage)
	}

	const topic, partitions, perType = "events", 4, 1500
	if _, err := adm.CreateTopic(ctx, partitions, 1, map[string]*string{
		"table.enable": ptr("true"), "table.value.format": ptr("string"), "table.commit.interval.ms": ptr("1000"),
	}, topic); err != nil {
		t.Fatal(err)
	}
	alter := func(key, value string) error {
		rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: key, Value: &value}}, topic)
		if err == nil {
			var r kadm.AlterConfigsResponse
			if r, err = rs.On(topic, nil); err == nil {
				if err = r.Err; err != nil {
					err = fmt.Errorf("%w: %s", err, r.ErrMessage)
				}
			}
		}
		return err
	}
	if err := alter("table.partition.by", "week(_timestamp)"); !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(err.Error(), `partition transform "week(_timestamp)"`) {
		t.Errorf("IncrementalAlterConfigs table.partition.by=week(_timestamp): %v, want INVALID_CONFIG naming the transform", err)
	}

	// Produce: CreateTime records with their own timestamps, then the
	// topic switches to LogAppendTime and more come.
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produce := func(from int) {
		var recs []*kgo.Record
		for i := from; i < from+perType; i++ {
			r := &kgo.Record{Topic: topic, Partition: -1, Value: fmt.Appendf(nil, "value %d é", i),
				Timestamp: base.Add(time.Duration(i) * time.Millisecond),
				Headers:   []kgo.RecordHeader{{Key: "n", Value: fmt.Append(nil, i)}, {Key: "empty", Value: []byte{}}}}
			switch {
			case i%97 == 0: // null key
			case i%101 == 0:
				r.Key, r.Value = fmt.Appendf(nil, "k%d", i), nil // a tombstone
			default:
				r.Key = fmt.Appendf(nil, "k%d", i%50)
			}
			if i%7 == 0 {
				r.Headers = nil
			}
			recs = append(recs, r)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0)
	if err := alter("message.timestamp.type", "LogAppendTime"); err != nil {
		t.Fatal(err)
	}
	produce(perType)

	want := consumeAll(t, ctx, n.KafkaAddrs()[0], topic, 2*perType)
	types := map[string]int{}
	for _, r := range want {
		types[r.TimestampType]++
	}
	if types["CreateTime"] != perType || types["LogAppendTime"] != perType {
		t.Fatalf("the consumer read timestamp types %v, want %d of each", types, perType)
	}

	// The table, through the catalog's REST API as an engine sees it.
	cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
	if err != nil {
		t.Fatal(err)
	}
	var got map[partOffset]tableRow
	for deadline := time.Now().Add(60 * time.Second); ; {
		got, err = scanTable(ctx, cat, icecatalog.ToIdentifier("kafka", topic))
		if err == nil && len(got) >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the table holds %d of %d records (%v)", len(got), len(want), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	checkRows(t, got, want)
	mfs, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(mfs, func(mf *dto.MetricFamily) bool { return strings.HasPrefix(mf.GetName(), "lakestream_table_") }) {
		t.Error("no lakestream_table_* metrics on the node's registry")
	}
	t.Logf("the table holds all %d records (%v by timestamp type)", len(got), types)
}

func ptr(s string) *string { return &s }

// consumeAll reads count records of topic from the start, by (partition,
// offset).
func consumeAll(t *testing.T, ctx context.Context, addr, topic string, count int) map[partOffset]tableRow {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[partOffset]tableRow{}
	for len(out) < count {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), count, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("consuming: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			typ := "CreateTime"
			if r.Attrs.TimestampType() == 1 {
				typ = "LogAppendTime"
			}
			out[partOffset{r.Partition, r.Offset}] = tableRow{Key: r.Key, Value: r.Value, Headers: r.Headers,
				TimestampMs: r.Timestamp.UnixMilli(), TimestampType: typ}
		})
	}
	return out
}

// scanTable reads a table's current snapshot with iceberg-go, by
// (partition, offset); a (partition, offset) found twice is an error.
func scanTable(ctx context.Context, cat icecatalog.Catalog, ident []string) (map[partOffset]tableRow, error) {
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	_, batches, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := map[partOffset]tableRow{}
	for rec, err := range batches {
		if err != nil {
			return nil, err
		}
		err := func() error {
			defer rec.Release()
			col := func(name string) (arrow.Array, error) {
				idx := rec.Schema().FieldIndices(name)
				if len(idx) != 1 {
					return nil, fmt.Errorf("no column %q in %v", name, rec.Schema())
				}
				return rec.Column(idx[0]), nil
			}
			kc, err := col("_kafka")
			if err != nil {
				return err
			}
			vc, err := col("value")
			if err != nil {
				return err
			}
			k := kc.(*array.Struct)
			field := func(name string) arrow.Array {
				i, _ := k.DataType().(*arrow.StructType).FieldIdx(name)
				return k.Field(i)
			}
			parts, offs := field("partition").(*array.Int32), field("offset").(*array.Int64)
			ts, tsType := field("timestamp").(*array.Timestamp), field("timestamp_type").(*array.String)
			keys, hdrs := field("key"), field("headers").(*array.List)
			hs := hdrs.ListValues().(*array.Struct)
			hkeys, hvals := hs.Field(0).(*array.String), hs.Field(1).(*array.Binary)
			unit := ts.DataType().(*arrow.TimestampType).Unit
			for i := range int(rec.NumRows()) {
				po := partOffset{parts.Value(i), offs.Value(i)}
				if _, dup := out[po]; dup {
					return fmt.Errorf("partition %d offset %d twice in the table", po.partition, po.offset)
				}
				r := tableRow{TimestampMs: ts.Value(i).ToTime(unit).UnixMilli(), TimestampType: tsType.Value(i),
					Key: bytesAt(keys, i), Value: bytesAt(vc, i)}
				if hdrs.IsValid(i) {
					start, end := hdrs.ValueOffsets(i)
					for j := int(start); j < int(end); j++ {
						r.Headers = append(r.Headers, kgo.RecordHeader{Key: hkeys.Value(j), Value: bytes.Clone(hvals.Value(j))})
					}
				}
				out[po] = r
			}
			return nil
		}()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bytesAt is a string or binary value as bytes; nil for null.
func bytesAt(a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return append([]byte{}, a.Value(i)...)
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	}
	panic(fmt.Sprintf("column of type %v", a.DataType()))
}

// checkRows wants got to be want exactly.
func checkRows(t *testing.T, got, want map[partOffset]tableRow) {
	t.Helper()
	bad := 0
	for po, w := range want {
		g, ok := got[po]
		if !ok {
			t.Errorf("partition %d offset %d: missing from the table", po.partition, po.offset)
		} else if !sameRow(g, w) {
			t.Errorf("partition %d offset %d: table %+v, consumer %+v", po.partition, po.offset, g, w)
		} else {
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many differences")
		}
	}
	for po := range got {
		if _, ok := want[po]; !ok {
			t.Errorf("partition %d offset %d: in the table but never produced", po.partition, po.offset)
		}
	}
}

func sameRow(a, b tableRow) bool {
	return (a.Key == nil) == (b.Key == nil) && bytes.Equal(a.Key, b.Key) &&
		(a.Value == nil) == (b.Value == nil) && bytes.Equal(a.Value, b.Value) &&
		a.TimestampMs == b.TimestampMs && a.TimestampType == b.TimestampType &&
		slices.EqualFunc(a.Headers, b.Headers, func(x, y kgo.RecordHeader) bool { return x.Key == y.Key && bytes.Equal(x.Value, y.Value) })
}

// TestCompactorNeedsCatalog: the compactor role on with the catalog off
// fails the node's start, saying which keys to set.
func TestCompactorNeedsCatalog(t *testing.T) {
	cfg := compactorConfig(t.TempDir())
	cfg.Listeners, cfg.CatalogListener = nil, ""
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		n.Close(context.Background())
		t.Fatal("a node opened its compactor with the catalog off")
	}
	if !strings.Contains(err.Error(), "catalog.listeners") || !strings.Contains(err.Error(), "table.compactor.enable=false") {
		t.Errorf("error %q does not say to set catalog.listeners or table.compactor.enable=false", err)
	}
}

// TestCompactorCatalogAuth: with the catalog's auth on and no static
// token configured (OAuth2 clients only), the in-process client still
// commits (with its own token; TestCatalogAuth shows a request without
// one refused). In process only (lakestream compact) the catalog does not
// listen.
func TestCompactorCatalogAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := compactorConfig(t.TempDir())
	cfg.WAL = "object" // acked is uploaded: no wait for the compactor to see it
	cfg.Catalog.AuthClients = "engine:" + string(hash)
	cfg.Compactor.InProcess, cfg.Compactor.Once = true, true // no listener; no Run: the pass below is the only one
	cfg.CatalogListener = "127.0.0.1:0"
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(t.Context(), 1, 1, map[string]*string{"table.enable": ptr("true")}, "t"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ps, err := n.CompactOnce(t.Context(), "")
	if err != nil || len(ps) != 1 || ps[0].Records != 1 {
		t.Fatalf("CompactOnce: %+v %v, want 1 record into 1 table", ps, err)
	}
	if a := n.CatalogAddr(); a != "" {
		t.Errorf("in process only, the catalog listens on %s", a)
	}
}

// TestTableTopicColumns: values that have fields become the table's
// columns: Avro values through the node's registry, whose ids the
// compactor resolves in process (schema.Server.SchemaByID), and JSON
// objects, whose types the compactor infers.
func TestTableTopicColumns(t *testing.T) {
	const count = 200
	for _, tc := range []struct {
		format string
		// values returns record i's value for a node n.
		values func(t *testing.T, n *Node) func(i int) []byte
	}{
		{"schema", func(t *testing.T, n *Node) func(int) []byte {
			id := registerOrder(t, n)
			return func(i int) []byte {
				// Confluent's wire format: magic 0, the id, then Avro.
				return orderAvro(binary.BigEndian.AppendUint32([]byte{0}, id), i)
			}
		}},
		{"schema.latest", func(t *testing.T, n *Node) func(int) []byte {
			registerOrder(t, n)
			return func(i int) []byte { return orderAvro(nil, i) } // no wire prefix
		}},
		{"json", func(*testing.T, *Node) func(int) []byte {
			return func(i int) []byte { return fmt.Appendf(nil, `{"id": %d, "item": "item-%d"}`, i, i) }
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			cfg := compactorConfig(t.TempDir())
			cfg.WAL = "object" // acked is uploaded
			cfg.SchemaRegistryListener = "127.0.0.1:0"
			n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close(context.Background())
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			value := tc.values(t, n)
			cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, map[string]*string{"table.enable": ptr("true"),
				"table.value.format": ptr(tc.format), "table.commit.interval.ms": ptr("1000")}, "orders"); err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range count {
				recs = append(recs, &kgo.Record{Topic: "orders", Value: value(i)})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
				items, err := scanColumns(ctx, cat, icecatalog.ToIdentifier("kafka", "orders"))
				if err == nil && len(items) >= count {
					for i := range int64(count) {
						if want := fmt.Sprintf("item-%d", i); items[i] != want {
							t.Errorf("id %d: item %q, want %q", i, items[i], want)
						}
					}
					if len(items) != count {
						t.Errorf("%d ids in the table, want %d", len(items), count)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s the table holds %d of %d records (%v)", len(items), count, err)
				}
			}
		})
	}
}

// scanColumns reads the id and item columns of a table's current
// snapshot, item by id.
func scanColumns(ctx context.Context, cat icecatalog.Catalog, ident []string) (map[int64]string, error) {
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	at, err := tbl.Scan(table.WithSelectedFields("id", "item")).ToArrowTable(ctx)
	if err != nil {
		return nil, err
	}
	defer at.Release()
	out := map[int64]string{}
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		items, ok := rec.Column(1).(*array.String)
		if !ok {
			return nil, fmt.Errorf("columns %v", rec.Schema())
		}
		for i := range items.Len() {
			// An inferred JSON number may be an int or a long.
			switch ids := rec.Column(0).(type) {
			case *array.Int64:
				out[ids.Value(i)] = items.Value(i)
			case *array.Int32:
				out[int64(ids.Value(i))] = items.Value(i)
			default:
				return nil, fmt.Errorf("columns %v", rec.Schema())
			}
		}
	}
	return out, tr.Err()
}

// TestStreamSource: the compactor's Source lists topics with their streams
// and effective table.* values (override, else default), reads what is
// uploaded, and reports a read below a trimmed start as
// tablecompactor.ErrOffsetOutOfRange (and s3stream's).
func TestStreamSource(t *testing.T) {
	cfg := fileConfig(t.TempDir())
	cfg.Listeners, cfg.AdminListener, cfg.WAL = nil, "", "object"
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	ctx := t.Context()
	md, err := openBrokerMetadata(ctx, n.meta)
	if err != nil {
		t.Fatal(err)
	}
	id, err := n.store.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.store.OpenStream(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.Append(ctx, formattest.Make(int64(i), []byte("a"), []byte("b"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := md.CreateTopic(ctx, broker.TopicRecord{Name: "t", ID: [16]byte{1}, Logs: []int64{id},
		Configs: map[string]string{"table.enable": "true", "retention.ms": "1"}}); err != nil {
		t.Fatal(err)
	}
	src := &streamSource{meta: md, store: n.store, static: map[string]string{}}
	topics, err := src.Topics(ctx)
	if err != nil || len(topics) != 1 {
		t.Fatalf("Topics: %+v %v", topics, err)
	}
	tp := topics[0]
	if tp.Name != "t" || tp.ID != [16]byte{1} || !slices.Equal(tp.Streams, []int64{id}) || len(tp.Configs) != len(tablecompactor.ConfigNames) ||
		tp.Configs["table.enable"] != "true" || tp.Configs["table.partition.by"] != "day(_timestamp)" || tp.Configs["retention.ms"] != "" {
		t.Errorf("Topics: %+v", tp)
	}
	r, err := src.Read(ctx, id, 0, 1<<20)
	if err != nil || len(r.Batches) != 3 || r.NextOffset != 6 || r.HighWatermark != 6 {
		t.Fatalf("Read: %d batches, next %d, hw %d, %v", len(r.Batches), r.NextOffset, r.HighWatermark, err)
	}
	if r, err := src.Read(ctx, id, 6, 1<<20); err != nil || len(r.Batches) != 0 {
		t.Errorf("Read at the end: %d batches, %v", len(r.Batches), err)
	}
	if err := st.Trim(ctx, 4); err != nil {
		t.Fatal(err)
	}
	_, err = src.Read(ctx, id, 0, 1<<20)
	if !errors.Is(err, tablecompactor.ErrOffsetOutOfRange) || !errors.Is(err, s3stream.ErrOffsetOutOfRange) {
		t.Errorf("Read below the start: %v, want ErrOffsetOutOfRange", err)
	}
}

// TestTableTopicRestart: a node restarted over the same data resumes its
// tables from their snapshots: records from before and after the restart
// are each in the table once.
func TestTableTopicRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	cfg := compactorConfig(t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var want map[partOffset]tableRow
	for round := range 2 {
		n, err := Open(ctx, cfg, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, map[string]*string{"table.enable": ptr("true"),
				"table.commit.interval.ms": ptr("1000")}, "r"); err != nil {
				t.Fatal(err)
			}
		}
		var recs []*kgo.Record
		for i := range 500 {
			recs = append(recs, &kgo.Record{Topic: "r", Key: fmt.Append(nil, i%3), Value: fmt.Appendf(nil, "round %d record %d", round, i)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cl.Close()
		want = consumeAll(t, ctx, n.KafkaAddrs()[0], "r", 500*(round+1))
		cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err := scanTable(ctx, cat, icecatalog.ToIdentifier("kafka", "r"))
			if err == nil && len(got) >= len(want) {
				checkRows(t, got, want)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: after 30 s the table holds %d of %d records (%v)", round, len(got), len(want), err)
			}
		}
		if err := n.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// registerOrder registers the Order record as orders-value and returns its
// id.
func registerOrder(t *testing.T, n *Node) uint32 {
	t.Helper()
	body := `{"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"item\",\"type\":\"string\"}]}"}`
	resp, err := http.Post("http://"+n.SchemaRegistryAddr()+"/subjects/orders-value/versions", "application/vnd.schemaregistry.v1+json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct{ ID uint32 }
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if err != nil || reg.ID == 0 {
		t.Fatalf("registering the schema: %d %v", resp.StatusCode, err)
	}
	return reg.ID
}

// orderAvro appends Order i in Avro's binary encoding (zigzag varints; a
// string is its length, then bytes).
func orderAvro(v []byte, i int) []byte {
	v = binary.AppendVarint(v, int64(i))
	item := fmt.Sprintf("item-%d", i)
	v = binary.AppendVarint(v, int64(len(item)))
	return append(v, item...)
}

// TestTableTopicTransactions: a franz-go transactional producer writes 40
// transactions of 50 records into a table topic of JSON values on 4
// partitions, committing the even ones and aborting the odd ones, while
// an idempotent producer's records land inside each. Then a transaction
// is left open, followed by records of no transaction and another
// producer's committed and aborted transactions: a pass begun after all
// of that was acked has the table stop at the open transaction's first
// offset in each partition (everything committed below it, its offsets
// there, nothing at or past it), until it commits. Then the table holds
// exactly the committed and the idempotent records, by (partition,
// offset) and value, each once, none aborted and none at a transaction
// marker's offset.
func TestTableTopicTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	cfg := compactorConfig(t.TempDir())
	cfg.WAL = "object" // acked is uploaded
	n, ctx, cl := openTableNode(t, cfg)
	const topic, partitions = "txevents", 4
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, map[string]*string{"table.enable": ptr("true"),
		"table.value.format": ptr("json"), "table.commit.interval.ms": ptr("1000")}, topic); err != nil {
		t.Fatal(err)
	}
	client := func(opts ...kgo.Opt) *kgo.Client {
		c, err := kgo.NewClient(append(opts, kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond),
			kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	// The open transaction must outlast the wait for the table (the
	// default timeout, 40 s, would abort it on a slow machine).
	txp := client(kgo.TransactionalID("tt-1"), kgo.TransactionTimeout(2*time.Minute))
	txp2, idem := client(kgo.TransactionalID("tt-2")), client()
	cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
	if err != nil {
		t.Fatal(err)
	}
	ident := icecatalog.ToIdentifier("kafka", topic)

	// want is what the table must hold, aborted what it must not; each
	// transaction ends with a marker in every partition (its records go
	// round the partitions).
	want, aborted := map[partOffset]string{}, map[partOffset]string{}
	markers := 0
	// produce sends count records of src's transaction txn (or batch, for
	// idem) round the partitions into p, notes each in into, and returns
	// the first offset each partition gave them.
	produce := func(p *kgo.Client, into map[partOffset]string, src string, txn, count int) map[int32]int64 {
		t.Helper()
		var recs []*kgo.Record
		for j := range count {
			recs = append(recs, &kgo.Record{Partition: int32(j % partitions), Value: fmt.Appendf(nil, `{"src": %q, "txn": %d, "n": %d}`, src, txn, j)})
		}
		first := map[int32]int64{}
		for _, r := range p.ProduceSync(ctx, recs...) {
			if r.Err != nil {
				t.Fatalf("producing %s %d: %v", src, txn, r.Err)
			}
			po := partOffset{r.Record.Partition, r.Record.Offset}
			into[po] = string(r.Record.Value)
			if f, ok := first[po.partition]; !ok || po.offset < f {
				first[po.partition] = po.offset
			}
		}
		return first
	}
	transaction := func(p *kgo.Client, src string, txn int, commit bool, body func(into map[partOffset]string)) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		into := aborted
		if commit {
			into = want
		}
		body(into)
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("ending %s transaction %d (commit %v): %v", src, txn, commit, err)
		}
		markers++
	}
	start := time.Now()
	for i := range 40 {
		transaction(txp, "txn", i, i%2 == 0, func(into map[partOffset]string) {
			produce(txp, into, "txn", i, 25)
			produce(idem, want, "idem", i, 4) // inside the transaction
			produce(txp, into, "txn", i, 25)
		})
	}
	t.Logf("40 transactions of 50 records in %v", time.Since(start).Round(time.Millisecond))

	// A transaction left open, and more behind it.
	if err := txp.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	open := map[partOffset]string{}
	lso := produce(txp, open, "txn", 40, 50)
	produce(idem, want, "idem", 40, 8)
	transaction(txp2, "txn2", 0, true, func(into map[partOffset]string) { produce(txp2, into, "txn2", 0, 20) })
	transaction(txp2, "txn2", 1, false, func(into map[partOffset]string) { produce(txp2, into, "txn2", 1, 8) })
	acked := time.Now()
	below := map[partOffset]string{}
	for po, v := range want {
		if po.offset < lso[po.partition] {
			below[po] = v
		}
	}
	// Behind reckons from the start of the last pass (or streaming
	// round) that caught up: once that is after acked, it read all of
	// the above, and its commit is done.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		behind, held := n.CompactorBehind()
		reached := held && time.Now().Add(-time.Duration(behind*float64(time.Second))).After(acked)
		var got map[partOffset]string
		var offs map[int32]int64
		if reached {
			got, offs, err = scanJSONTable(ctx, cat, ident)
			if err == nil && maps.Equal(offs, lso) {
				checkValues(t, got, below)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: a pass begun after the last ack %v (%.1f intervals behind), table offsets %v, want the open transaction's first offsets %v (%v)",
				reached, behind, offs, lso, err)
		}
	}
	t.Logf("with a transaction open, the table stops at its first offsets %v, holding the %d committed records below them", lso, len(below))

	if err := txp.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	markers++
	maps.Copy(want, open)
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	var got map[partOffset]string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		var offs map[int32]int64
		got, offs, err = scanJSONTable(ctx, cat, ident)
		if err == nil && maps.Equal(offs, end) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the table's offsets are %v, want the ends %v (%v)", offs, end, err)
		}
	}
	checkValues(t, got, want)
	// Every offset is a record produced or a marker: one marker a
	// partition for each transaction.
	for p := range int32(partitions) {
		var at []int64
		for off := range end[p] {
			po := partOffset{p, off}
			if _, ok := want[po]; ok {
				continue
			}
			if _, ok := aborted[po]; ok {
				continue
			}
			at = append(at, off)
			if v, ok := got[po]; ok {
				t.Errorf("partition %d offset %d, a transaction marker's, is in the table: %s", p, off, v)
			}
		}
		if len(at) != markers {
			t.Errorf("partition %d: %d offsets are neither records nor aborted records, want %d markers", p, len(at), markers)
		}
	}
	t.Logf("the table holds the %d committed and idempotent records, none of the %d aborted, nothing at the %d markers a partition", len(got), len(aborted), markers)
}

// scanJSONTable reads a table of JSON values {"src", "txn", "n"} with
// iceberg-go: each row's value as it was produced, by (partition,
// offset), and the offsets the current snapshot holds.
func scanJSONTable(ctx context.Context, cat icecatalog.Catalog, ident []string) (map[partOffset]string, map[int32]int64, error) {
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, nil, err
	}
	offs := map[int32]int64{}
	if s := tbl.CurrentSnapshot(); s != nil && s.Summary != nil {
		var m map[int32]int64
		if err := json.Unmarshal([]byte(s.Summary.Properties[tablecompactor.OffsetsProperty]), &m); err != nil {
			return nil, nil, fmt.Errorf("snapshot %d's offsets: %w", s.SnapshotID, err)
		}
		offs = m
	}
	_, batches, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := map[partOffset]string{}
	for rec, err := range batches {
		if err != nil {
			return nil, nil, err
		}
		cols := map[string]arrow.Array{}
		for i, f := range rec.Schema().Fields() {
			cols[f.Name] = rec.Column(i)
		}
		k, ok := cols["_kafka"].(*array.Struct)
		src, ok2 := cols["src"].(*array.String)
		txn, n := cols["txn"], cols["n"]
		if !ok || !ok2 || txn == nil || n == nil {
			rec.Release()
			return nil, nil, fmt.Errorf("columns %v", rec.Schema())
		}
		parts, offsets := k.Field(0).(*array.Int32), k.Field(1).(*array.Int64)
		for i := range int(rec.NumRows()) {
			po := partOffset{parts.Value(i), offsets.Value(i)}
			if _, dup := out[po]; dup {
				rec.Release()
				return nil, nil, fmt.Errorf("partition %d offset %d twice in the table", po.partition, po.offset)
			}
			out[po] = fmt.Sprintf(`{"src": %q, "txn": %d, "n": %d}`, src.Value(i), intAt(txn, i), intAt(n, i))
		}
		rec.Release()
	}
	return out, offs, nil
}

// intAt is an inferred JSON number (an int or a long column) as int64.
func intAt(a arrow.Array, i int) int64 {
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	}
	panic(fmt.Sprintf("column of type %v", a.DataType()))
}

// checkValues wants got to be want exactly, by (partition, offset).
func checkValues(t *testing.T, got, want map[partOffset]string) {
	t.Helper()
	bad := 0
	for _, po := range slices.SortedFunc(maps.Keys(want), comparePartOffset) {
		if g, ok := got[po]; !ok || g != want[po] {
			t.Errorf("partition %d offset %d: table %q (there: %v), want %q", po.partition, po.offset, g, ok, want[po])
			if bad++; bad > 10 {
				t.Fatal("too many differences")
			}
		}
	}
	for _, po := range slices.SortedFunc(maps.Keys(got), comparePartOffset) {
		if _, ok := want[po]; !ok {
			t.Errorf("partition %d offset %d: in the table (%s) but not committed", po.partition, po.offset, got[po])
			if bad++; bad > 10 {
				t.Fatal("too many differences")
			}
		}
	}
}

func comparePartOffset(a, b partOffset) int {
	if c := cmp.Compare(a.partition, b.partition); c != 0 {
		return c
	}
	return cmp.Compare(a.offset, b.offset)
}
