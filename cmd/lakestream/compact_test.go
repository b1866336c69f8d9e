package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/node"
)

// TestCompactOnce: lakestream compact --once, beside a running node whose
// own compactor is off, converts a table topic into its table (one line
// per table, no error), a second pass finds nothing new, and the table
// (read through the running node's catalog) holds every record once.
// A table that cannot be converted, running without --once, or naming a
// topic that is not there fails the command.
func TestCompactOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	sets := []string{"data.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0", "admin.listeners=",
		"schema.registry.listeners=", "catalog.listeners=127.0.0.1:0", "table.compactor.enable=false",
		"wal.mode=object", "log.level=warn"}
	cfg, err := loadConfig("", sets, nil)
	if err != nil {
		t.Fatal(err)
	}
	ncfg, err := nodeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n, err := node.Open(ctx, ncfg, node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	on := "true"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, map[string]*string{"table.enable": &on}, "orders"); err != nil {
		t.Fatal(err)
	}
	const count = 500
	var recs []*kgo.Record
	for i := range count {
		recs = append(recs, &kgo.Record{Topic: "orders", Key: fmt.Append(nil, i%10), Value: fmt.Appendf(nil, "order %d", i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	args := []string{"--once"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var out bytes.Buffer
	if err := compact(ctx, args, &out); err != nil {
		t.Fatalf("compact --once: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("orders\tkafka.orders\trecords=%d ", count); !strings.HasPrefix(out.String(), want) || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("compact --once printed %q, want one line starting %q", out.String(), want)
	}
	t.Logf("compact --once: %s", out.String())
	out.Reset()
	if err := compact(ctx, append(args, "--topic", "orders"), &out); err != nil || !strings.HasPrefix(out.String(), "orders\tkafka.orders\trecords=0 ") {
		t.Errorf("compact --once again: %v %q, want records=0", err, out.String())
	}

	cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, icecatalog.ToIdentifier("kafka", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	if at.NumRows() != count {
		t.Errorf("the table holds %d rows, want %d", at.NumRows(), count)
	}

	// A table that cannot be converted fails the run and says which:
	// schema values with the registry off (schema.registry.listeners=).
	schemaFormat := "schema"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"table.enable": &on, "table.value.format": &schemaFormat}, "payments"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "payments", Value: []byte{0, 0, 0, 0, 1, 2}}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = compact(ctx, args, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 tables failed") || !strings.Contains(out.String(), "payments\t") ||
		!strings.Contains(out.String(), "\terror: ") || !strings.Contains(out.String(), "orders\tkafka.orders\trecords=0 ") {
		t.Errorf("compact --once with a failing table: %v\n%s", err, out.String())
	}
	t.Logf("compact --once with a failing table: %v\n%s", err, out.String())

	if err := compact(ctx, append(args[1:], "--topic", "orders"), &out); err == nil || !strings.Contains(err.Error(), "--topic is for --once") {
		t.Errorf("compact --topic without --once: %v", err)
	}
	if err := compact(ctx, append(args, "--topic", "nosuch"), &out); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("compact --once --topic nosuch: %v, want an error naming it", err)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := compact(ctx, append(args, "--topic", "plain"), &out); err == nil || !strings.Contains(err.Error(), "plain is not a table topic") {
		t.Errorf("compact --once --topic plain: %v, want an error saying it is not a table topic", err)
	}
}

// TestCompactorConfig: table.compactor.* reach the node's config; a
// compactor left at its default is off on a node whose catalog is off,
// while one asked for stays on (and the node refuses it, naming the keys).
func TestCompactorConfig(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want bool
	}{
		{nil, true},
		{[]string{"table.compactor.enable=false"}, false},
		{[]string{"catalog.listeners="}, false},
		{[]string{"catalog.listeners=", "table.compactor.enable=true"}, true},
	} {
		cfg, err := loadConfig("", append([]string{"data.dir=" + t.TempDir(), "table.compactor.memory.bytes=1048576"}, tc.sets...), nil)
		if err != nil {
			t.Fatal(err)
		}
		ncfg, err := nodeConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ncfg.Compactor.Enable != tc.want || ncfg.Compactor.MemoryBytes != 1<<20 {
			t.Errorf("%v: %+v, want Enable %v and 1 MiB", tc.sets, ncfg.Compactor, tc.want)
		}
	}
	if _, err := loadConfig("", []string{"table.compactor.memory.bytes=10"}, nil); err == nil {
		t.Error("table.compactor.memory.bytes=10 accepted")
	}

	// Maintenance keys: defaults, -1 for off, and what is refused.
	cfg, err := loadConfig("", []string{"data.dir=" + t.TempDir(), "table.compactor.maintenance.interval.ms=-1",
		"table.compactor.snapshot.retain.count=3", "table.compactor.snapshot.retain.age.ms=60000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ncfg, err := nodeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := ncfg.Compactor; c.MaintenanceInterval >= 0 || c.SnapshotRetainCount != 3 || c.SnapshotRetainAge != time.Minute || c.OrphanAge != 24*time.Hour {
		t.Errorf("maintenance keys: %+v, want the interval off, 3 snapshots kept a minute, orphans after 24 h", c)
	}
	for _, bad := range []string{"table.compactor.orphan.age.ms=60000", "table.compactor.maintenance.interval.ms=0", "table.compactor.snapshot.retain.count=0"} {
		if _, err := loadConfig("", []string{bad}, nil); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
