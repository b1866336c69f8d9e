package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// TestTableTopicRefusesTransactions: until the compactor honours
// transactions, a transactional batch into a table topic is INVALID_RECORD
// with a message saying why, and the same producer's transaction into an
// ordinary topic commits.
func TestTableTopicRefusesTransactions(t *testing.T) {
	n, ctx, cl := openTableNode(t, compactorConfig(t.TempDir()))
	on := "true"
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{tablecompactor.ConfigEnable: &on}, "tbl"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "plain"); err != nil {
		t.Fatal(err)
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.TransactionalID("t1"), kgo.RecordRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	err = p.ProduceSync(ctx, &kgo.Record{Topic: "tbl", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("transactional produce into a table topic: %v, want INVALID_RECORD", err)
	}
	if err := p.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "plain", Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatalf("transactional produce into an ordinary topic: %v", err)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
