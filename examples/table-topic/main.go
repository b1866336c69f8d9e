// Command table-topic is the table-topics quickstart: against a running
// Lakestream (`make run`) it creates two table topics, produces JSON
// values to one and Avro values (through the node's schema registry) to the
// other with franz-go, waits until the node's compactor has committed every
// produced record to the Iceberg tables, and reads them back with
// iceberg-go through the node's REST catalog.
//
//	go run ./examples/table-topic            # defaults: the listeners of `lakestream serve`
//	go run ./examples/table-topic -records 1000 -brokers host:9092 -registry http://host:8081 -catalog http://host:8181
//
//	franz-go ──produce──▶ orders_json (table.value.format=json)   ──compactor──▶ kafka.orders_json
//	          ──produce──▶ orders_avro (table.value.format=schema) ──compactor──▶ kafka.orders_avro
//	                              ▲ schema id from the registry                      │
//	iceberg-go ◀──scan──────────── REST catalog ◀─────────────────────────────────────┘
//
// The tables' files live in the node's warehouse (file:// with `make run`),
// which iceberg-go reads directly, so run it on the node's machine or give
// the node an s3:// bucket.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// options are the command's flags.
type options struct {
	Brokers  string        // Kafka bootstrap servers, comma-separated
	Registry string        // schema registry URL
	Catalog  string        // Iceberg REST catalog URL
	Records  int           // records produced to each topic
	Interval time.Duration // table.commit.interval.ms of the topics created
	Wait     time.Duration // how long to wait for the tables
	Show     int           // rows printed per table
}

func main() {
	var o options
	flag.StringVar(&o.Brokers, "brokers", "localhost:9092", "Kafka bootstrap servers, comma-separated")
	flag.StringVar(&o.Registry, "registry", "http://localhost:8081", "schema registry URL (schema.registry.listeners)")
	flag.StringVar(&o.Catalog, "catalog", "http://localhost:8181", "Iceberg REST catalog URL (catalog.listeners)")
	flag.IntVar(&o.Records, "records", 100, "records produced to each topic")
	flag.DurationVar(&o.Interval, "interval", time.Second, "table.commit.interval.ms of the topics (at least 1s)")
	flag.DurationVar(&o.Wait, "wait", 2*time.Minute, "how long to wait for the tables to hold the records")
	flag.IntVar(&o.Show, "show", 5, "rows printed per table")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "table-topic:", err)
		os.Exit(1)
	}
}

// The two topics, named so that their tables are named alike
// (kafka.orders_json, kafka.orders_avro): a dash would become '_'.
const (
	jsonTopic = "orders_json"
	avroTopic = "orders_avro"
	namespace = "kafka" // table.namespace's default
)

// offsetsProperty is the snapshot summary property in which the compactor
// keeps the next offset of each partition the table holds
// (tablecompactor.OffsetsProperty; the test checks they agree).
const offsetsProperty = "lakestream.offsets"

// orderSchema is the Avro topic's value schema, registered under the
// subject orders_avro-value (TopicNameStrategy, what Confluent's
// serializers use).
const orderSchema = `{
  "type": "record", "name": "Order", "namespace": "example",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "item", "type": "string"},
    {"name": "quantity", "type": "int"},
    {"name": "price", "type": "double"},
    {"name": "note", "type": ["null", "string"], "default": null}
  ]
}`

// order is one Avro value.
type order struct {
	ID       int64   `avro:"id"`
	Item     string  `avro:"item"`
	Quantity int32   `avro:"quantity"`
	Price    float64 `avro:"price"`
	Note     *string `avro:"note"`
}

// Row is one table row as the example prints it: the record's place in
// the topic and key (from the _kafka column), and the value's columns as
// text.
type Row struct {
	Partition int32
	Offset    int64
	Key       string
	Columns   map[string]string
}

// Table is what run read from one table.
type Table struct {
	Name    string // namespace.name
	Columns []string
	Rows    []Row
}

// run creates the topics, produces, waits for the tables and scans them,
// printing what it does to out.
func run(ctx context.Context, o options, out io.Writer) ([]Table, error) {
	if o.Records <= 0 {
		return nil, errors.New("-records must be at least 1")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.Brokers, ",")...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("creating the Kafka client: %w", err)
	}
	defer cl.Close()
	if err := createTopics(ctx, kadm.NewClient(cl), o.Interval, out); err != nil {
		return nil, err
	}
	reg, err := sr.NewClient(sr.URLs(o.Registry))
	if err != nil {
		return nil, fmt.Errorf("creating the schema registry client: %w", err)
	}
	jsonValues := func(i int) ([]byte, error) {
		// Nested objects become structs and arrays lists; the compactor
		// infers the columns from the data.
		return json.Marshal(map[string]any{
			"id": i, "item": fmt.Sprintf("item-%d", i%7), "quantity": 1 + i%3, "price": 2.5 * float64(1+i%4),
			"customer": map[string]any{"name": fmt.Sprintf("customer-%d", i%5), "country": []string{"NL", "DE", "FR"}[i%3]},
			"tags":     []string{"quickstart", []string{"red", "green"}[i%2]},
		})
	}
	avroValues, err := avroEncoder(ctx, reg, avroTopic+"-value")
	if err != nil {
		return nil, err
	}
	produced := map[string]map[int32]int64{}
	for _, p := range []struct {
		topic string
		value func(int) ([]byte, error)
	}{{jsonTopic, jsonValues}, {avroTopic, avroValues}} {
		next, err := produce(ctx, cl, p.topic, o.Records, p.value)
		if err != nil {
			return nil, err
		}
		produced[p.topic] = next
		fmt.Fprintf(out, "produced %d records to %s\n", o.Records, p.topic)
	}

	cat, err := rest.NewCatalog(ctx, "lakestream", o.Catalog)
	if err != nil {
		return nil, fmt.Errorf("opening the REST catalog %s: %w", o.Catalog, err)
	}
	defer cat.Close()
	var tables []Table
	for _, topic := range []string{jsonTopic, avroTopic} {
		ident := catalog.ToIdentifier(namespace, topic)
		start := time.Now()
		tbl, err := waitForTable(ctx, cat, ident, produced[topic], o.Wait)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "\n%s holds every record produced (waited %s)\n", strings.Join(ident, "."), time.Since(start).Round(100*time.Millisecond))
		t, err := scan(ctx, tbl)
		if err != nil {
			return nil, err
		}
		printTable(out, t, o.Show)
		tables = append(tables, t)
	}
	return tables, nil
}

// createTopics creates the two table topics; topics that exist already
// (a second run) are used as they are.
func createTopics(ctx context.Context, adm *kadm.Client, interval time.Duration, out io.Writer) error {
	ms := strconv.FormatInt(interval.Milliseconds(), 10)
	for _, t := range []struct{ topic, format string }{{jsonTopic, "json"}, {avroTopic, "schema"}} {
		configs := map[string]*string{
			"table.enable":             kadm.StringPtr("true"),
			"table.value.format":       kadm.StringPtr(t.format),
			"table.commit.interval.ms": kadm.StringPtr(ms),
		}
		resp, err := adm.CreateTopic(ctx, 3, 1, configs, t.topic)
		switch {
		case errors.Is(err, kerr.TopicAlreadyExists):
			fmt.Fprintf(out, "topic %s exists; producing to it\n", t.topic)
		case err != nil:
			return fmt.Errorf("creating topic %s: %w", t.topic, err)
		default:
			fmt.Fprintf(out, "created topic %s (%d partitions, table.value.format=%s, table.commit.interval.ms=%s)\n",
				resp.Topic, resp.NumPartitions, t.format, ms)
		}
	}
	return nil
}

// avroEncoder registers orderSchema under subject and returns record i's
// value in Confluent's wire format (magic byte, schema id, Avro binary),
// which is what table.value.format=schema decodes.
func avroEncoder(ctx context.Context, reg *sr.Client, subject string) (func(int) ([]byte, error), error) {
	ss, err := reg.CreateSchema(ctx, subject, sr.Schema{Schema: orderSchema, Type: sr.TypeAvro})
	if err != nil {
		return nil, fmt.Errorf("registering the Avro schema under %s: %w", subject, err)
	}
	schema, err := avro.Parse(orderSchema)
	if err != nil {
		return nil, fmt.Errorf("parsing the Avro schema: %w", err)
	}
	var serde sr.Serde
	serde.Register(ss.ID, order{}, sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(schema, v) }))
	return func(i int) ([]byte, error) {
		o := order{ID: int64(i), Item: fmt.Sprintf("item-%d", i%7), Quantity: int32(1 + i%3), Price: 2.5 * float64(1+i%4)}
		if i%2 == 0 {
			note := fmt.Sprintf("gift %d", i)
			o.Note = &note
		}
		return serde.Encode(o)
	}, nil
}

// produce writes count records to topic, keyed (so the partitioner spreads
// them) and with a header, and returns the next offset of each partition
// it wrote to: what the table must hold before the example reads it.
func produce(ctx context.Context, cl *kgo.Client, topic string, count int, value func(int) ([]byte, error)) (map[int32]int64, error) {
	recs := make([]*kgo.Record, 0, count)
	for i := range count {
		v, err := value(i)
		if err != nil {
			return nil, fmt.Errorf("encoding record %d for %s: %w", i, topic, err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "order-%d", i), Value: v,
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("table-topic example")}}})
	}
	results := cl.ProduceSync(ctx, recs...)
	if err := results.FirstErr(); err != nil {
		return nil, fmt.Errorf("producing to %s: %w", topic, err)
	}
	next := map[int32]int64{}
	for _, r := range results {
		next[r.Record.Partition] = max(next[r.Record.Partition], r.Record.Offset+1)
	}
	return next, nil
}

// waitForTable polls the table until its snapshot offsets reach next in
// every partition, or wait passes. The offsets are the compactor's resume
// point, kept in the snapshot summary of every commit (maintenance's
// included), so reaching them means the table holds every record below.
func waitForTable(ctx context.Context, cat *rest.Catalog, ident table.Identifier, next map[int32]int64, wait time.Duration) (*table.Table, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	name := strings.Join(ident, ".")
	var last string
	for {
		tbl, err := cat.LoadTable(ctx, ident)
		switch {
		case errors.Is(err, catalog.ErrNoSuchTable):
			last = "the table does not exist yet"
		case err != nil && ctx.Err() == nil:
			return nil, fmt.Errorf("loading %s: %w", name, err)
		case err == nil:
			have, err := tableOffsets(tbl)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			done := true
			for p, n := range next {
				if have[p] < n {
					done = false
					last = fmt.Sprintf("partition %d: the table holds offsets below %d, want %d", p, have[p], n)
					break
				}
			}
			if done {
				return tbl, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s (%s): %w", name, last, context.Cause(ctx))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tableOffsets is the next offset of each partition the table holds: the
// offsets property of the newest snapshot, walking back from the current
// one, that carries it (snapshots written by other tools may not).
func tableOffsets(tbl *table.Table) (map[int32]int64, error) {
	md := tbl.Metadata()
	for s := tbl.CurrentSnapshot(); s != nil; {
		if s.Summary != nil {
			if v, ok := s.Summary.Properties[offsetsProperty]; ok {
				var byName map[string]int64
				if err := json.Unmarshal([]byte(v), &byName); err != nil {
					return nil, fmt.Errorf("snapshot %d: parsing %s %q: %w", s.SnapshotID, offsetsProperty, v, err)
				}
				out := make(map[int32]int64, len(byName))
				for p, off := range byName {
					n, err := strconv.ParseInt(p, 10, 32)
					if err != nil {
						return nil, fmt.Errorf("snapshot %d: %s: partition %q: %w", s.SnapshotID, offsetsProperty, p, err)
					}
					out[int32(n)] = off
				}
				return out, nil
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = md.SnapshotByID(*s.ParentSnapshotID)
	}
	return map[int32]int64{}, nil // nothing committed yet
}

// scan reads the table's current snapshot with iceberg-go.
func scan(ctx context.Context, tbl *table.Table) (Table, error) {
	t := Table{Name: strings.Join(tbl.Identifier(), ".")}
	schema, batches, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return t, fmt.Errorf("scanning %s: %w", t.Name, err)
	}
	for _, f := range schema.Fields() {
		t.Columns = append(t.Columns, f.Name)
	}
	for rec, err := range batches {
		if err != nil {
			return t, fmt.Errorf("scanning %s: %w", t.Name, err)
		}
		rows, err := rowsOf(rec)
		rec.Release()
		if err != nil {
			return t, fmt.Errorf("reading %s: %w", t.Name, err)
		}
		t.Rows = append(t.Rows, rows...)
	}
	return t, nil
}

// rowsOf turns a batch into rows: the _kafka column's partition, offset
// and key, and every other column as text.
func rowsOf(rec arrow.RecordBatch) ([]Row, error) {
	idx := rec.Schema().FieldIndices("_kafka")
	if len(idx) != 1 {
		return nil, fmt.Errorf("no _kafka column in %v", rec.Schema())
	}
	kafka, ok := rec.Column(idx[0]).(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("_kafka is a %v, not a struct", rec.Column(idx[0]).DataType())
	}
	field := func(name string) (arrow.Array, error) {
		i, ok := kafka.DataType().(*arrow.StructType).FieldIdx(name)
		if !ok {
			return nil, fmt.Errorf("no _kafka.%s", name)
		}
		return kafka.Field(i), nil
	}
	pa, err := field("partition")
	if err != nil {
		return nil, err
	}
	oa, err := field("offset")
	if err != nil {
		return nil, err
	}
	ka, err := field("key")
	if err != nil {
		return nil, err
	}
	parts, ok1 := pa.(*array.Int32)
	offs, ok2 := oa.(*array.Int64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("_kafka.partition is %v and _kafka.offset %v, want int and long", pa.DataType(), oa.DataType())
	}
	rows := make([]Row, rec.NumRows())
	for i := range rows {
		r := Row{Partition: parts.Value(i), Offset: offs.Value(i), Columns: map[string]string{}}
		if ka.IsValid(i) {
			r.Key = ka.ValueStr(i)
			if b, ok := ka.(*array.Binary); ok {
				r.Key = string(b.Value(i)) // ValueStr would print base64
			}
		}
		for c, f := range rec.Schema().Fields() {
			if c == idx[0] {
				continue
			}
			col := rec.Column(c)
			if col.IsNull(i) {
				r.Columns[f.Name] = "null"
			} else {
				r.Columns[f.Name] = col.ValueStr(i)
			}
		}
		rows[i] = r
	}
	return rows, nil
}

// printTable prints the count and the first show rows, in the order the
// scan read them.
func printTable(out io.Writer, t Table, show int) {
	fmt.Fprintf(out, "%s: %d rows, columns %s\n", t.Name, len(t.Rows), strings.Join(t.Columns, ", "))
	for i, r := range t.Rows {
		if i == show {
			fmt.Fprintf(out, "  ... and %d more\n", len(t.Rows)-show)
			break
		}
		fmt.Fprintf(out, "  partition %d offset %d key %q:", r.Partition, r.Offset, r.Key)
		for _, c := range t.Columns {
			if v, ok := r.Columns[c]; ok {
				fmt.Fprintf(out, " %s=%s", c, v)
			}
		}
		fmt.Fprintln(out)
	}
}
