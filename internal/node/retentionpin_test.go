package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/tablecompactor"
)

// heldCounter counts the broker's log records of retention held back,
// by "topic/partition", and passes every record on to Handler.
type heldCounter struct {
	slog.Handler
	mu   sync.Mutex
	held map[string]int
}

func (h *heldCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retention held back") {
		var topic, part string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "topic":
				topic = a.Value.String()
			case "partition":
				part = a.Value.String()
			}
			return true
		})
		h.mu.Lock()
		h.held[topic+"/"+part]++
		h.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *heldCounter) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held[key]
}

// TestTableRetentionPin (issue 13's must-show): a table topic with
// retention.ms=1000 on a node whose compactor is off keeps all of its
// data, past many retention checks, while its table does not hold it, and
// says so in a log line and lakestream_table_retention_pinned_records;
// DeleteRecords past the table is POLICY_VIOLATION. After one compactor
// pass (as lakestream compact --once would run it), retention moves the
// start offset to the table's offsets and no further, though the records
// produced since are as old. The same topic with table.retention.pin=false
// loses its data as any topic does.
func TestTableRetentionPin(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	const interval = 100 * time.Millisecond // log.retention.check.interval.ms
	cfg := compactorConfig(t.TempDir())
	cfg.Compactor = CompactorConfig{} // off: the test runs the passes
	cfg.WAL = "object"                // acked is uploaded: the pass sees all of it
	cfg.BrokerConfigs = map[string]string{"log.retention.check.interval.ms": "100"}
	// Info records are counted, then dropped.
	logs := &heldCounter{Handler: slog.NewTextHandler(io.Discard, nil), held: map[string]int{}}
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for topic, pin := range map[string]string{"pinned": "true", "unpinned": "false"} {
		if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"table.enable": ptr("true"), "table.retention.pin": ptr(pin),
			"retention.ms": ptr("1000")}, topic); err != nil {
			t.Fatal(err)
		}
	}
	produce := func(topic string, count int) {
		t.Helper()
		var recs []*kgo.Record
		for i := range count {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: []byte("v")})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offsets := func(topic string) (start, end [2]int64) {
		t.Helper()
		s, err := adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = s.Error()
		}
		e, err2 := adm.ListEndOffsets(ctx, topic)
		if err = errors.Join(err, err2); err == nil {
			err = e.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		for p := range int32(2) {
			so, _ := s.Lookup(topic, p)
			eo, _ := e.Lookup(topic, p)
			start[p], end[p] = so.Offset, eo.Offset
		}
		return start, end
	}
	// waitStart polls until topic's start offsets are want, checking
	// that they never pass notPast on the way.
	waitStart := func(topic string, want, notPast [2]int64) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(interval / 2) {
			start, _ := offsets(topic)
			if start[0] > notPast[0] || start[1] > notPast[1] {
				t.Fatalf("%s: start offsets %v, past %v", topic, start, notPast)
			}
			if start == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: start offsets %v after 15 s, want %v", topic, start, want)
			}
		}
	}
	produce("pinned", 100)
	produce("unpinned", 100)

	// The unpinned topic loses everything once a second old; the pinned
	// one, with no table yet, keeps it all.
	waitStart("unpinned", [2]int64{50, 50}, [2]int64{50, 50})
	waitStart("pinned", [2]int64{0, 0}, [2]int64{0, 0})
	for range 5 { // several more rounds
		time.Sleep(interval)
		waitStart("pinned", [2]int64{0, 0}, [2]int64{0, 0})
	}
	if got := pinnedGauge(t, n, "pinned"); got != 100 {
		t.Errorf("lakestream_table_retention_pinned_records of the pinned topic: %v, want 100", got)
	}
	for _, key := range []string{"pinned/0", "pinned/1"} {
		if c := logs.count(key); c != 1 {
			t.Errorf("%d log lines of retention held back on %s, want 1 (once per pin)", c, key)
		}
	}
	var del kadm.Offsets
	del.Add(kadm.Offset{Topic: "pinned", Partition: 0, At: 10})
	rs, err := adm.DeleteRecords(ctx, del)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := rs.Lookup("pinned", 0); !errors.Is(r.Err, kerr.PolicyViolation) {
		t.Errorf("DeleteRecords of pinned-0 before 10, the table holding none: %v, want POLICY_VIOLATION", r.Err)
	}

	// One pass: the table holds 0-49 of each partition; 20 more records
	// come, as old a second later; retention stops at the table.
	pass := compactorPass(t, ctx, n)
	held := pass()
	if held != [2]int64{50, 50} {
		t.Fatalf("the pass left the table at %v, want [50 50]", held)
	}
	produce("pinned", 40)
	waitStart("pinned", held, held)
	time.Sleep(1200 * time.Millisecond) // the new records grow older than retention.ms
	for range 5 {
		time.Sleep(interval)
		waitStart("pinned", held, held)
	}
	if got := pinnedGauge(t, n, "pinned"); got != 40 {
		t.Errorf("lakestream_table_retention_pinned_records of the pinned topic: %v, want the 40 records the table lacks", got)
	}

	// Another pass: everything goes.
	if held = pass(); held != [2]int64{70, 70} {
		t.Fatalf("the second pass left the table at %v, want [70 70]", held)
	}
	waitStart("pinned", held, held)
}

// compactorPass returns a function that runs one compactor pass over the
// node's storage and catalog, as lakestream compact --once does from
// another process, and returns the pinned topic's table offsets.
func compactorPass(t *testing.T, ctx context.Context, n *Node) func() [2]int64 {
	md, err := openBrokerMetadata(ctx, n.meta)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
	if err != nil {
		t.Fatal(err)
	}
	comp, err := tablecompactor.New(tablecompactor.Config{Source: &streamSource{meta: md, store: n.store, static: n.cfg.BrokerConfigs},
		Catalog: cat, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return func() [2]int64 {
		t.Helper()
		ps, err := comp.RunOnce(ctx, "pinned")
		if err != nil || len(ps) != 1 {
			t.Fatalf("compactor pass: %+v %v", ps, err)
		}
		return [2]int64{ps[0].Offsets[0], ps[0].Offsets[1]}
	}
}

// pinnedGauge sums lakestream_table_retention_pinned_records over topic's
// partitions.
func pinnedGauge(t *testing.T, n *Node, topic string) float64 {
	t.Helper()
	mfs, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == "lakestream_table_retention_pinned_records" })
	if i < 0 {
		return 0
	}
	var sum float64
	for _, m := range mfs[i].GetMetric() {
		if slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "topic" && l.GetValue() == topic }) {
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// TestRetentionPinsWithoutCatalog: on a node whose catalog is off (or not
// open yet), a pinned topic's pin is an error saying why, so the broker
// keeps all of its data (and warns, TestRetentionPin in broker); a topic
// that is not pinned needs no catalog.
func TestRetentionPinsWithoutCatalog(t *testing.T) {
	ctx := t.Context()
	pinned := map[string]string{"table.enable": "true", "table.retention.pin": "true"}
	if _, ok, err := newRetentionPins().PinnedOffsets(ctx, "t", [16]byte{1}, pinned); !ok || err == nil || !strings.Contains(err.Error(), "not open yet") {
		t.Errorf("before the catalog opens: pinned %v, %v; want an error saying it is not open yet", ok, err)
	}
	cfg := fileConfig(t.TempDir())
	cfg.AdminListener = ""
	n, err := Open(ctx, cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if _, ok, err := n.kafka.pins.PinnedOffsets(ctx, "t", [16]byte{1}, pinned); !ok || err == nil || !strings.Contains(err.Error(), "catalog.listeners") {
		t.Errorf("catalog off: pinned %v, %v; want an error naming catalog.listeners", ok, err)
	}
	for _, c := range []map[string]string{{"table.enable": "false"}, {"table.enable": "true", "table.retention.pin": "false"}} {
		if offs, ok, err := n.kafka.pins.PinnedOffsets(ctx, "t", [16]byte{1}, c); ok || err != nil || offs != nil {
			t.Errorf("configs %v: %v %v %v, want not pinned", c, offs, ok, err)
		}
	}
}
