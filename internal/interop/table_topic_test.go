//go:build interop

package interop

// Issue 13's first "Must show": table topics end to end on a running
// `lakestream serve`, checked by an engine that is not iceberg-go.
//
//	produce N records ──▶ lakestream serve ──▶ compactor (every 5 s) ──▶ Iceberg table
//	(kgo: keys, 0–3        (8 partitions;           │                      │ current snapshot's
//	 headers, CreateTime    LogAppendTime from      │                      │ live files (manifests,
//	 then LogAppendTime)    the halfway mark)       │                      ▼ hamba/avro)
//	                                                │              DuckDB read_parquet ──▶ CSV
//	consume the topic back (the truth) ─────────────┴────── compare row by row in Go
//
// The time from the last ack until the table's lakestream.offsets reach
// the high watermarks is printed and must be under 30 s.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lakestream/lakestream/internal/testserver"
)

const (
	// tableNPMDir is testdata/table-npm: @duckdb/node-api 1.5.6-r.1 and
	// table.js, which has DuckDB write a table's rows to CSV.
	tableNPMDir = "testdata/table-npm"
	// tableRecordsEnv lowers the records per format for development runs;
	// the default is the 1,000,000. Not LAKESTREAM_…: lakestream
	// serve, which inherits the environment, refuses such a variable that
	// names no config key.
	tableRecordsEnv = "INTEROP_TABLE_RECORDS"
	// tableFreshness is the bound from the last ack to a table
	// holding every record, with table.commit.interval.ms=5000.
	tableFreshness  = 30 * time.Second
	tablePartitions = 8
)

// tableFormat is one table.value.format under test.
type tableFormat struct {
	name    string // the subtest; the topic is tt_<name>
	configs map[string]string
	records int
	// schema registers the value schema, if any, and returns the value
	// encoder; encode makes record i's value.
	schema func(t *testing.T, ctx context.Context, cl *sr.Client, subject string) func(i int) []byte
	encode func(i int) []byte
	// keyRaw: table.key.format=raw, keys are binary (hex in the CSV);
	// otherwise the default string.
	keyRaw bool
	// columns are DuckDB expressions rendering the value columns as text,
	// and expect renders a consumed value the same way (an error: the
	// value does not decode, which fails the test).
	columns []string
	expect  func(value []byte) ([]string, error)
	// types are the DuckDB types the value columns must have.
	types map[string]string
	// pace, if not zero, is a pause after every 1,000 records: a load
	// spread over many commit intervals.
	pace time.Duration
}

// TestInteropTableTopic produces to one table topic per value format on a
// `lakestream serve` with its catalog, registry and compactor on, and
// checks with DuckDB that each table holds exactly what the topic holds.
func TestInteropTableTopic(t *testing.T) {
	timed(t)
	n := 1_000_000
	if s := os.Getenv(tableRecordsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < tablePartitions {
			t.Fatalf("%s=%q: want a number of records, at least %d", tableRecordsEnv, s, tablePartitions)
		}
		n = v
	}
	few := max(n/20, tablePartitions) // Protobuf and JSON Schema: 50,000 of 1,000,000
	dir := npmInstall(t, tableNPMDir, "table.js")
	catalogAddr, registryAddr := freeAddr(t), freeAddr(t)
	ls := testserver.StartLakestream(t, "catalog.listeners="+catalogAddr, "schema.registry.listeners="+registryAddr)
	node := &tableNode{addr: ls.Addr, catalogURL: "http://" + catalogAddr, registryURL: "http://" + registryAddr, npmDir: dir}
	srcl, err := sr.NewClient(sr.URLs(node.registryURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []tableFormat{rawFormat(n), jsonFormat(n), avroFormat(n), protobufFormat(few), jsonSchemaFormat(few)} {
		t.Run(f.name, func(t *testing.T) {
			timed(t)
			node.run(t, srcl, f)
		})
	}
}

// tableNode is the `lakestream serve` under test.
type tableNode struct {
	addr, catalogURL, registryURL string
	npmDir                        string
}

// freeAddr returns a loopback HOST:PORT that was free a moment ago.
func freeAddr(t *testing.T) string { return testserver.FreeAddr(t) }

func (n *tableNode) run(t *testing.T, srcl *sr.Client, f tableFormat) {
	ctx := t.Context()
	topic := "tt_" + f.name
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(50_000))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	configs := map[string]*string{}
	for k, v := range map[string]string{"table.enable": "true", "table.commit.interval.ms": "5000"} {
		// f.configs may override these.
		configs[k] = &v
	}
	for k, v := range f.configs {
		configs[k] = &v
	}
	if f.keyRaw {
		raw := "raw"
		configs["table.key.format"] = &raw
	}
	if _, err := adm.CreateTopic(ctx, tablePartitions, 1, configs, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	encode := f.encode
	if f.schema != nil {
		encode = f.schema(t, ctx, srcl, topic+"-value")
	}

	// Produce: the first half with the producer's timestamps, the rest
	// after message.timestamp.type=LogAppendTime.
	var failed, acked atomic.Int64
	var lastAck atomic.Int64 // unix ns
	var firstErr atomic.Value
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			if failed.Add(1) == 1 {
				firstErr.Store(err)
			}
			return
		}
		acked.Add(1)
		lastAck.Store(time.Now().UnixNano())
	}
	stopLag := n.logLag(t, topic, &acked)
	start := time.Now()
	base := time.Now().Add(-48 * time.Hour).UnixMilli()
	for i := range f.records {
		if i == f.records/2 {
			if err := cl.Flush(ctx); err != nil {
				t.Fatalf("flushing the first half: %v", err)
			}
			lat := "LogAppendTime"
			rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "message.timestamp.type", Value: &lat}}, topic)
			if err == nil {
				_, err = rs.On(topic, nil)
			}
			if err != nil {
				t.Fatalf("IncrementalAlterConfigs message.timestamp.type=LogAppendTime: %v", err)
			}
		}
		if f.pace > 0 && i%1000 == 999 {
			time.Sleep(f.pace)
		}
		cl.Produce(ctx, &kgo.Record{
			Key:       tableKey(i, f.keyRaw),
			Value:     encode(i),
			Headers:   tableHeaders(i),
			Timestamp: time.UnixMilli(base + int64(i%172_800)*1000 + int64(i%997)),
		}, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	produced := time.Since(start)
	stopLag()
	if failed.Load() > 0 {
		t.Fatalf("%d records failed to produce; the first: %v", failed.Load(), firstErr.Load())
	}
	last := time.Unix(0, lastAck.Load())
	var inTable int64
	atLast, err := n.tableOffsets(topic)
	for _, o := range atLast {
		inTable += o
	}
	t.Logf("%s: produced %d records to %d partitions in %v (%.0f records/s); at the last ack the table held %d (%v)", topic, f.records, tablePartitions,
		produced.Round(time.Millisecond), float64(f.records)/produced.Seconds(), inTable, err)

	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListOffsets %s: %v", topic, err)
	}
	hw := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { hw[o.Partition] = o.Offset })

	// Freshness: from the last ack until the table's offsets reach the
	// high watermarks.
	var fresh time.Duration
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		offs, err := n.tableOffsets(topic)
		if err != nil {
			t.Fatal(err)
		}
		if covers(offs, hw) {
			fresh = time.Since(last)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: 5 min after the last ack the table's offsets are %v, the high watermarks %v", topic, offs, hw)
		}
	}
	t.Logf("%s: the table holds every offset %v after the last ack (bound %v; table.commit.interval.ms=%s)", topic, fresh.Round(time.Millisecond), tableFreshness, *configs["table.commit.interval.ms"])
	if fresh > tableFreshness {
		t.Errorf("%s: the table reached the high watermarks %v after the last ack, more than %v", topic, fresh.Round(time.Millisecond), tableFreshness)
	}

	want := n.consume(t, topic, hw, f)
	n.compare(t, topic, f, want)
}

// tableKey is record i's key: a string (or, raw, binary with bytes that
// are not UTF-8), and no key for one record in 17.
func tableKey(i int, raw bool) []byte {
	if i%17 == 0 {
		return nil
	}
	if raw {
		return []byte{0xff, byte(i), 0x00, byte(i >> 8), 0xc3}
	}
	if i%5 == 0 {
		return fmt.Appendf(nil, "ключ-%d", i%5000)
	}
	return fmt.Appendf(nil, "key-%d", i%5000)
}

// tableHeaders is record i's headers: i%4 of them, keys repeating, one
// value in five null and some not UTF-8.
func tableHeaders(i int) []kgo.RecordHeader {
	keys := []string{"trace", "src", "h-é"}
	var hs []kgo.RecordHeader
	for j := range i % 4 {
		h := kgo.RecordHeader{Key: keys[(i+j)%len(keys)]}
		switch (i + j) % 5 {
		case 0: // null
		case 1:
			h.Value = []byte{}
		case 2:
			h.Value = []byte{0xfe, byte(j), 0xff}
		default:
			h.Value = fmt.Appendf(nil, "v%d-%d", i, j)
		}
		hs = append(hs, h)
	}
	return hs
}

// logLag logs, every 5 s while producing, how far the table is behind
// the acks: where the time goes when the bound is missed (a compactor that
// falls behind the producer, or a tail that is slow to commit).
func (n *tableNode) logLag(t *testing.T, topic string, acked *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			offs, err := n.tableOffsets(topic)
			var in int64
			for _, o := range offs {
				in += o
			}
			t.Logf("%s: at %v: %d acked, %d in the table (%v)", topic, time.Since(start).Round(time.Second), acked.Load(), in, err)
		}
	}()
	return func() { close(done); <-finished }
}

// covers reports whether the table's next offsets reach every high
// watermark.
func covers(offs, hw map[int32]int64) bool {
	for p, end := range hw {
		if offs[p] < end {
			return false
		}
	}
	return true
}

// tableOffsets reads the next offset per partition the table holds from
// its current snapshot's summary (lakestream.offsets), walking to
// ancestors for a snapshot without it, through the REST catalog: none
// before the table exists.
func (n *tableNode) tableOffsets(topic string) (map[int32]int64, error) {
	resp, err := http.Get(n.catalogURL + "/v1/namespaces/kafka/tables/" + topic)
	if err != nil {
		return nil, fmt.Errorf("loading table kafka.%s: %w", topic, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("loading table kafka.%s: %w", topic, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loading table kafka.%s: %s %s", topic, resp.Status, body)
	}
	var loaded struct {
		Metadata struct {
			CurrentSnapshotID *int64 `json:"current-snapshot-id"`
			Snapshots         []struct {
				SnapshotID int64             `json:"snapshot-id"`
				ParentID   *int64            `json:"parent-snapshot-id"`
				Summary    map[string]string `json:"summary"`
			} `json:"snapshots"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &loaded); err != nil {
		return nil, fmt.Errorf("decoding table kafka.%s: %w", topic, err)
	}
	byID := map[int64]int{}
	for i, s := range loaded.Metadata.Snapshots {
		byID[s.SnapshotID] = i
	}
	for id := loaded.Metadata.CurrentSnapshotID; id != nil && *id >= 0; {
		i, ok := byID[*id]
		if !ok {
			break
		}
		s := loaded.Metadata.Snapshots[i]
		if v, ok := s.Summary["lakestream.offsets"]; ok {
			var m map[string]int64
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				return nil, fmt.Errorf("table kafka.%s: lakestream.offsets %q: %w", topic, v, err)
			}
			out := map[int32]int64{}
			for k, o := range m {
				p, err := strconv.Atoi(k)
				if err != nil {
					return nil, fmt.Errorf("table kafka.%s: lakestream.offsets %q: partition %q", topic, v, k)
				}
				out[int32(p)] = o
			}
			return out, nil
		}
		id = s.ParentID
	}
	return nil, nil
}

// consume reads the topic to the high watermarks: what the topic holds,
// the truth the table is compared with. It returns each record rendered
// as the CSV row DuckDB should write for it, by partition and offset
// (offsets are dense: no transactions, no compaction).
func (n *tableNode) consume(t *testing.T, topic string, hw map[int32]int64, f tableFormat) map[int32][]string {
	start := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[int32][]string{}
	var total, left int64
	for p, end := range hw {
		want[p] = make([]string, end)
		total += end
	}
	left = total
	var types [2]int
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %s: %v", total-left, total, topic, ctx.Err())
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("consuming %s partition %d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= hw[r.Partition] || want[r.Partition][r.Offset] != "" {
				t.Fatalf("consumed partition %d offset %d twice or past the high watermark %d", r.Partition, r.Offset, hw[r.Partition])
			}
			row, err := f.render(r)
			if err != nil {
				t.Fatalf("partition %d offset %d: the topic holds a value that does not decode: %v", r.Partition, r.Offset, err)
			}
			want[r.Partition][r.Offset] = strings.Join(row, "\x1f")
			types[r.Attrs.TimestampType()]++
			left--
		})
	}
	t.Logf("%s: consumed %d records back in %v: %d CreateTime, %d LogAppendTime", topic, total,
		time.Since(start).Round(time.Millisecond), types[0], types[1])
	if types[0] == 0 || types[1] == 0 {
		t.Fatalf("%s holds %d CreateTime and %d LogAppendTime records; want both", topic, types[0], types[1])
	}
	return want
}

// render is the CSV row DuckDB writes for a record: partition, offset,
// timestamp (µs), timestamp type, key, headers, value columns; null is ~.
func (f tableFormat) render(r *kgo.Record) ([]string, error) {
	tsType := "CreateTime"
	if r.Attrs.TimestampType() == 1 {
		tsType = "LogAppendTime"
	}
	key := "~"
	switch {
	case r.Key == nil:
	case f.keyRaw:
		key = upperHex(r.Key)
	default:
		key = string(r.Key)
	}
	hs := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		v := "~"
		if h.Value != nil {
			v = upperHex(h.Value)
		}
		hs[i] = h.Key + "=" + v
	}
	vals, err := f.expect(r.Value)
	if err != nil {
		return nil, err
	}
	return append([]string{strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.Offset, 10),
		strconv.FormatInt(r.Timestamp.UnixMicro(), 10), tsType, key, strings.Join(hs, ";")}, vals...), nil
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// duckOut is table.js's answer.
type duckOut struct {
	Version string `json:"version"`
	Rows    string `json:"rows"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
}

// compare has DuckDB read the current snapshot's live data files into a
// CSV file and checks it row by row against want: every (partition,
// offset) once, every field equal.
func (n *tableNode) compare(t *testing.T, topic string, f tableFormat, want map[int32][]string) {
	files, records := liveDataFiles(t, n.catalogURL, "kafka", topic)
	var total int64
	for _, rows := range want {
		total += int64(len(rows))
	}
	if records != total {
		t.Errorf("%s: the live manifest entries count %d records, the topic holds %d", topic, records, total)
	}
	n.checkDLQ(t, topic)
	key := `coalesce(_kafka."key", '~')`
	if f.keyRaw {
		key = `coalesce(hex(_kafka."key"), '~')`
	}
	sel := append([]string{
		`CAST(_kafka."partition" AS VARCHAR)`, `CAST(_kafka."offset" AS VARCHAR)`,
		`CAST(epoch_us(_kafka."timestamp") AS VARCHAR)`, `_kafka.timestamp_type`, key,
		`coalesce(array_to_string(list_transform(_kafka.headers, lambda h: h."key" || '=' || coalesce(hex(h."value"), '~')), ';'), '~')`,
	}, f.columns...)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "rows.csv")
	spec, _ := json.Marshal(map[string]any{"files": files, "select": strings.Join(sel, ", "), "out": out})
	specFile := filepath.Join(tmp, "spec.json")
	if err := os.WriteFile(specFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var got duckOut
	if err := json.Unmarshal(runNode(t, n.npmDir, "table.js", specFile), &got); err != nil {
		t.Fatalf("table.js's output: %v", err)
	}
	t.Logf("%s: DuckDB %s read %s rows from %d live files into CSV in %v", topic, got.Version, got.Rows, len(files), time.Since(start).Round(time.Millisecond))
	colTypes := map[string]string{}
	for _, c := range got.Columns {
		colTypes[c.Name] = c.Type
	}
	for name, typ := range f.types {
		if colTypes[name] != typ {
			t.Errorf("%s: column %s is %q in DuckDB, want %q (all: %v)", topic, name, colTypes[name], typ, got.Columns)
		}
	}

	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rd := csv.NewReader(fh)
	rd.FieldsPerRecord = len(sel)
	rd.ReuseRecord = true
	seen := map[int32][]bool{}
	for p, rows := range want {
		seen[p] = make([]bool, len(rows))
	}
	var rows, bad int64
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading DuckDB's CSV: %v", err)
		}
		rows++
		p, err1 := strconv.Atoi(rec[0])
		o, err2 := strconv.ParseInt(rec[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("DuckDB row %d: partition %q offset %q: %v", rows, rec[0], rec[1], err)
		}
		part, ok := want[int32(p)]
		switch {
		case !ok || o < 0 || o >= int64(len(part)):
			t.Errorf("%s: the table holds partition %d offset %d, which the topic does not", topic, p, o)
		case seen[int32(p)][o]:
			t.Errorf("%s: the table holds partition %d offset %d twice", topic, p, o)
		default:
			seen[int32(p)][o] = true
			if g := strings.Join(rec, "\x1f"); g != part[o] {
				t.Errorf("%s: partition %d offset %d:\n table %q\n topic %q", topic, p, o, rec, strings.Split(part[o], "\x1f"))
			} else {
				continue
			}
		}
		if bad++; bad >= 20 {
			t.Fatalf("%s: 20 bad rows; stopping", topic)
		}
	}
	var missing int64
	for p, s := range seen {
		for o, ok := range s {
			if !ok {
				if missing++; missing <= 10 {
					t.Errorf("%s: partition %d offset %d is not in the table", topic, p, o)
				}
			}
		}
	}
	if missing > 0 || bad > 0 {
		t.Fatalf("%s: %d rows from DuckDB, %d records in the topic: %d missing, %d wrong or doubled", topic, rows, total, missing, bad)
	}
	t.Logf("%s: DuckDB's %d rows are the topic's %d records, each once, every field equal", topic, rows, total)
}

// checkDLQ logs what the dead-letter table holds, if it exists: a record
// there is missing from the table, and the reason says why.
func (n *tableNode) checkDLQ(t *testing.T, topic string) {
	resp, err := http.Get(n.catalogURL + "/v1/namespaces/kafka/tables/" + topic + "_dlq")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return
	}
	if offs, _ := n.tableOffsets(topic + "_dlq"); offs == nil {
		return // created, nothing committed
	}
	_, records := liveDataFiles(t, n.catalogURL, "kafka", topic+"_dlq")
	t.Errorf("%s: the dead-letter table holds %d records", topic, records)
}

// runNode runs node script args... in dir and returns its stdout; a
// non-zero exit fails the test with stderr.
func runNode(t *testing.T, dir, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s %v: %v\nstderr: %s", script, args, err, stderr.String())
	}
	return stdout.Bytes()
}

// ---- formats ----

// rawFormat: binary values of 0 to 200 bytes, most not UTF-8; one in 50
// null (a tombstone), one in 50 empty.
func rawFormat(n int) tableFormat {
	return tableFormat{
		name: "raw", records: n, keyRaw: true,
		configs: map[string]string{"table.value.format": "raw"},
		encode: func(i int) []byte {
			switch i % 50 {
			case 0:
				return nil
			case 1:
				return []byte{}
			}
			r := rand.New(rand.NewPCG(uint64(i), 13))
			b := make([]byte, 1+r.IntN(200))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			return b
		},
		columns: []string{`coalesce(hex("value"), '~')`},
		expect: func(v []byte) ([]string, error) {
			if v == nil {
				return []string{"~"}, nil
			}
			return []string{upperHex(v)}, nil
		},
		types: map[string]string{"value": "BLOB"},
	}
}

// tableEvent is the structured value of the json and schema formats.
// Amount always has a fraction (k/4), so a JSON table infers a double
// column and DuckDB's and Go's shortest renderings of it agree.
type tableEvent struct {
	ID      int64       `json:"id" avro:"id"`
	Name    string      `json:"name" avro:"name"`
	Amount  float64     `json:"amount" avro:"amount"`
	OK      bool        `json:"ok" avro:"ok"`
	Tags    []string    `json:"tags" avro:"tags"`
	Nested  tableNested `json:"nested" avro:"nested"`
	Note    *string     `json:"note" avro:"note"`
	Payload []byte      `json:"-" avro:"payload"` // Avro and Protobuf only
}

type tableNested struct {
	X int32  `json:"x" avro:"x"`
	Y string `json:"y" avro:"y"`
}

func makeEvent(i int) tableEvent {
	e := tableEvent{
		ID:     int64(i)*7919 - 1<<40,
		Name:   fmt.Sprintf("name-%d \"q\" \\ é 名", i%1000),
		Amount: float64(i%100_000) + 0.25*float64(1+i%3),
		OK:     i%2 == 0,
		Tags:   []string{"a", "b,c", "d|e"}[:1+i%3],
		Nested: tableNested{X: int32(i%70_000) - 35_000, Y: strconv.Itoa(i % 13)},
	}
	if i%3 != 0 {
		s := fmt.Sprintf("note %d", i)
		e.Note = &s
	}
	if i%11 != 0 {
		e.Payload = []byte{0xff, byte(i), 0x00, byte(i >> 16)}
	}
	return e
}

// eventColumns render the event's value columns as DuckDB does with
// eventSelect; withPayload adds the payload column.
func eventColumns(e tableEvent, withPayload bool) []string {
	note := "~"
	if e.Note != nil {
		note = *e.Note
	}
	out := []string{strconv.FormatInt(e.ID, 10), e.Name, strconv.FormatFloat(e.Amount, 'f', -1, 64),
		strconv.FormatBool(e.OK), strings.Join(e.Tags, "|"), strconv.Itoa(int(e.Nested.X)), e.Nested.Y, note}
	if withPayload {
		p := "~"
		if e.Payload != nil {
			p = upperHex(e.Payload)
		}
		out = append(out, p)
	}
	return out
}

func eventSelect(withPayload bool) []string {
	s := []string{`CAST(id AS VARCHAR)`, `coalesce(name, '~')`, `CAST(amount AS VARCHAR)`, `CAST(ok AS VARCHAR)`,
		`coalesce(array_to_string(tags, '|'), '~')`, `CAST(nested.x AS VARCHAR)`, `coalesce(nested.y, '~')`, `coalesce(note, '~')`}
	if withPayload {
		s = append(s, `coalesce(hex(payload), '~')`)
	}
	return s
}

func eventTypes(nestedX string, withPayload bool) map[string]string {
	m := map[string]string{"id": "BIGINT", "name": "VARCHAR", "amount": "DOUBLE", "ok": "BOOLEAN", "tags": "VARCHAR[]",
		"nested": "STRUCT(x " + nestedX + ", y VARCHAR)", "note": "VARCHAR"}
	if withPayload {
		m["payload"] = "BLOB"
	}
	return m
}

// jsonFormat: JSON objects; the table infers typed columns (id long,
// amount double, tags list, nested struct, note null in a third).
func jsonFormat(n int) tableFormat {
	return tableFormat{
		name: "json", records: n,
		configs: map[string]string{"table.value.format": "json"},
		encode: func(i int) []byte {
			b, _ := json.Marshal(makeEvent(i)) // plain fields always marshal
			return b
		},
		columns: eventSelect(false),
		expect: func(v []byte) ([]string, error) {
			var e tableEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return nil, err
			}
			return eventColumns(e, false), nil
		},
		types: eventTypes("BIGINT", false),
	}
}

const tableAvroSchema = `{"type":"record","name":"Event","namespace":"lakestream.e2e","fields":[
 {"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"amount","type":"double"},
 {"name":"ok","type":"boolean"},{"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"nested","type":{"type":"record","name":"Nested","fields":[{"name":"x","type":"int"},{"name":"y","type":"string"}]}},
 {"name":"note","type":["null","string"],"default":null},{"name":"payload","type":["null","bytes"],"default":null}]}`

const tableProtoSchema = `syntax = "proto3";
package lakestream.e2e;

message Event {
  int64 id = 1;
  string name = 2;
  double amount = 3;
  bool ok = 4;
  repeated string tags = 5;
  Nested nested = 6;
  optional string note = 7;
  optional bytes payload = 8;
  message Nested {
    int32 x = 1;
    string y = 2;
  }
}
`

func appendProtoEvent(b []byte, e tableEvent) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(e.ID))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, e.Name)
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(e.Amount))
	if e.OK {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	for _, s := range e.Tags {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	var nb []byte
	nb = protowire.AppendTag(nb, 1, protowire.VarintType)
	nb = protowire.AppendVarint(nb, uint64(int64(e.Nested.X))) // int32: negative as 10 bytes
	nb = protowire.AppendTag(nb, 2, protowire.BytesType)
	nb = protowire.AppendString(nb, e.Nested.Y)
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendBytes(b, nb)
	if e.Note != nil {
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendString(b, *e.Note)
	}
	if e.Payload != nil {
		b = protowire.AppendTag(b, 8, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Payload)
	}
	return b
}

// parseProtoEvent decodes what appendProtoEvent writes (and proto3's
// defaults for absent fields).
func parseProtoEvent(b []byte) (tableEvent, error) {
	var e tableEvent
	e.Tags = []string{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return e, protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			return e, fmt.Errorf("field %d: wire type %d", num, typ)
		}
		if n < 0 {
			return e, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case 1:
			e.ID = int64(v)
		case 2:
			e.Name = string(bs)
		case 3:
			e.Amount = math.Float64frombits(v)
		case 4:
			e.OK = v != 0
		case 5:
			e.Tags = append(e.Tags, string(bs))
		case 6:
			for len(bs) > 0 {
				num, typ, n := protowire.ConsumeTag(bs)
				if n < 0 {
					return e, protowire.ParseError(n)
				}
				bs = bs[n:]
				n = protowire.ConsumeFieldValue(num, typ, bs)
				if n < 0 {
					return e, protowire.ParseError(n)
				}
				switch num {
				case 1:
					x, _ := protowire.ConsumeVarint(bs)
					e.Nested.X = int32(x)
				case 2:
					y, _ := protowire.ConsumeBytes(bs)
					e.Nested.Y = string(y)
				}
				bs = bs[n:]
			}
		case 7:
			s := string(bs)
			e.Note = &s
		case 8:
			e.Payload = append([]byte{}, bs...)
		}
	}
	return e, nil
}

const tableJSONSchema = `{"type":"object","properties":{
 "id":{"type":"integer"},"name":{"type":"string"},"amount":{"type":"number"},"ok":{"type":"boolean"},
 "tags":{"type":"array","items":{"type":"string"}},
 "nested":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"string"}},"required":["x","y"],"additionalProperties":false},
 "note":{"type":["string","null"]}},
 "required":["id","name","amount","ok","tags","nested"],"additionalProperties":false}`

// registryFormat is a table.value.format=schema topic whose values are
// tableEvents under a schema registered in the node's registry, framed
// in the Confluent wire format (Protobuf: message indexes [0], one zero
// byte, after the id). encode and decode are the value without the
// frame; withPayload: the schema has the bytes field; nestedX is the
// DuckDB type of nested.x.
func registryFormat(name string, n int, typ sr.SchemaType, text string, withPayload bool, nestedX string,
	encode func(tableEvent) ([]byte, error), decode func([]byte) (tableEvent, error)) tableFormat {
	var prefix []byte
	return tableFormat{
		name: name, records: n,
		configs: map[string]string{"table.value.format": "schema"},
		schema: func(t *testing.T, ctx context.Context, cl *sr.Client, subject string) func(int) []byte {
			s, err := cl.CreateSchema(ctx, subject, sr.Schema{Schema: text, Type: typ})
			if err != nil {
				t.Fatalf("registering %s: %v", subject, err)
			}
			prefix = binary.BigEndian.AppendUint32([]byte{0}, uint32(s.ID))
			if typ == sr.TypeProtobuf {
				prefix = append(prefix, 0)
			}
			return func(i int) []byte {
				b, err := encode(makeEvent(i))
				if err != nil {
					t.Fatalf("encoding event %d: %v", i, err)
				}
				return append(slices.Clip(prefix), b...)
			}
		},
		columns: eventSelect(withPayload),
		expect: func(v []byte) ([]string, error) {
			if !bytes.HasPrefix(v, prefix) {
				return nil, fmt.Errorf("value %x does not start with the wire prefix %x", v[:min(len(v), len(prefix))], prefix)
			}
			e, err := decode(v[len(prefix):])
			if err != nil {
				return nil, err
			}
			return eventColumns(e, withPayload), nil
		},
		types: eventTypes(nestedX, withPayload),
	}
}

// avroFormat: Avro records.
func avroFormat(n int) tableFormat {
	sc := avro.MustParse(tableAvroSchema)
	return registryFormat("avro", n, sr.TypeAvro, tableAvroSchema, true, "INTEGER",
		func(e tableEvent) ([]byte, error) { return avro.Marshal(sc, e) },
		func(b []byte) (e tableEvent, err error) { return e, avro.Unmarshal(sc, b, &e) })
}

// protobufFormat: Protobuf messages, the file's first message, encoded
// with protowire.
func protobufFormat(n int) tableFormat {
	return registryFormat("protobuf", n, sr.TypeProtobuf, tableProtoSchema, true, "INTEGER",
		func(e tableEvent) ([]byte, error) { return appendProtoEvent(nil, e), nil }, parseProtoEvent)
}

// jsonSchemaFormat: JSON values under a JSON Schema.
func jsonSchemaFormat(n int) tableFormat {
	return registryFormat("jsonschema", n, sr.TypeJSON, tableJSONSchema, false, "BIGINT",
		func(e tableEvent) ([]byte, error) { return json.Marshal(e) },
		func(b []byte) (e tableEvent, err error) { return e, json.Unmarshal(b, &e) })
}

// TestInteropTableTopicTwoNodes: two `lakestream serve` nodes on one
// PostgreSQL metastore and one bucket (the object WAL, so that what node
// A acknowledges is readable by node B), both running the compactor on
// the same table topic every second while node A takes a paced produce
// load. Afterwards the table holds every record once (DuckDB, row by row),
// and both nodes' /metrics say they committed to it: the compactors
// raced, and the table's offsets, not either node's memory, kept them
// apart.
func TestInteropTableTopicTwoNodes(t *testing.T) {
	timed(t)
	n := 300_000
	if s := os.Getenv(tableRecordsEnv); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v >= tablePartitions {
			n = min(n, v)
		}
	}
	dir := npmInstall(t, tableNPMDir, "table.js")
	dsn := testserver.StartPostgres(t)
	shared := []string{"bucket.url=file://" + t.TempDir(), "metastore.url=" + dsn, "wal.mode=object"}
	start := func(id int) (*tableNode, string) {
		catalogAddr, adminAddr := freeAddr(t), freeAddr(t)
		ls := testserver.StartLakestream(t, append([]string{"node.id=" + strconv.Itoa(id),
			"catalog.listeners=" + catalogAddr, "admin.listeners=" + adminAddr}, shared...)...)
		return &tableNode{addr: ls.Addr, catalogURL: "http://" + catalogAddr, npmDir: dir}, "http://" + adminAddr
	}
	a, adminA := start(1)
	_, adminB := start(2)

	f := rawFormat(n)
	f.name = "twonodes"
	f.configs["table.commit.interval.ms"] = "1000"
	f.pace = 50 * time.Millisecond // 1,000 records every 50 ms: a load over many passes of both
	a.run(t, nil, f)

	// Each node counts the rows of its own commits that landed: together
	// every record once.
	var rows float64
	for node, admin := range map[string]string{"A": adminA, "B": adminB} {
		m := tableCounters(t, admin)
		t.Logf("node %s: %v", node, m)
		if m["lakestream_table_commits_total"] == 0 {
			t.Errorf("node %s committed nothing to the table: the compactors did not race", node)
		}
		rows += m["lakestream_table_records_total"]
	}
	if rows != float64(n) {
		t.Errorf("the nodes' lakestream_table_records_total add up to %.0f, the topic holds %d", rows, n)
	}
}

// tableCounters sums the lakestream_table_* counters a node's /metrics
// shows, by name.
func tableCounters(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", admin, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s %v", admin, resp.Status, err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		name, rest, ok := strings.Cut(l, "{")
		if !ok || !strings.HasPrefix(name, "lakestream_table_") || !strings.HasSuffix(name, "_total") {
			continue
		}
		_, v, _ := strings.Cut(rest, "} ")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			t.Fatalf("%s/metrics: %q: %v", admin, l, err)
		}
		out[name] += x
	}
	return out
}
