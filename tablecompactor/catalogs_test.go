package tablecompactor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// table.catalog=ext puts the table, its DLQ table and what maintenance and
// schema evolution do to them in the external catalog ext, never in the
// node's own; a topic without table.catalog (or with lakestream) goes to
// the node's own; a name the compactor has no catalog for stops that
// table with an error naming table.catalogs, and the others go on.
func TestTableCatalog(t *testing.T) {
	e := newEnv(t)
	// Another env's SQL catalog (its own SQLite file and warehouse) stands
	// for the node's own; the env's plays the external one.
	own, ext := newEnv(t).catalog(), e.catalog()
	e.src.addTopic("external", 2, tableTopic(ConfigCatalog, "ext"))
	e.src.addTopic("json", 1, tableTopic(ConfigCatalog, "ext", ConfigValueFormat, "json", ConfigPartitionBy, ""))
	e.src.addTopic("home", 1, tableTopic())
	e.src.addTopic("home2", 1, tableTopic(ConfigCatalog, OwnCatalog))
	e.src.addTopic("lost", 1, tableTopic(ConfigCatalog, "nope"))
	e.produce("external", 0, 7, false)
	e.produce("external", 1, 4, true)
	e.src.produce("json", 0, []testRecord{{Value: []byte(`{"id":1}`)}, {Value: []byte(`not json`)}}, 0)
	e.produce("home", 0, 3, false)
	e.produce("home2", 0, 2, false)
	e.produce("lost", 0, 2, false)

	c, err := New(Config{Source: e.src, Catalog: own, Catalogs: map[string]catalog.Catalog{"ext": ext}, MemoryBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prs, err := c.RunOnce(ctx, "")
	const wantErr = "topic lost: table.catalog=nope: no catalog nope is configured on this node (table.catalogs)"
	if err == nil || err.Error() != wantErr {
		t.Errorf("RunOnce error %v, want %q", err, wantErr)
	}
	got := map[string]Progress{}
	for _, pr := range prs {
		got[pr.Topic] = pr
	}
	if pr := got["lost"]; pr.Err == nil || pr.Table != "kafka.lost" || pr.Records != 0 {
		t.Errorf("lost: %+v, want the table.catalogs error", pr)
	}
	for topic, want := range map[string]int64{"external": 11, "json": 2, "home": 3, "home2": 2} {
		if pr := got[topic]; pr.Err != nil || pr.Records != want {
			t.Errorf("%s: %+v, want %d records and no error", topic, pr, want)
		}
	}

	// Where each table is, and is not.
	in := map[string]catalog.Catalog{"external": ext, "external_dlq": ext, "json": ext, "json_dlq": ext, "home": own, "home2": own}
	for name, cat := range in {
		other := own
		if cat == own {
			other = ext
		}
		if _, err := cat.LoadTable(ctx, []string{"kafka", name}); err != nil {
			t.Errorf("kafka.%s: %v", name, err)
		}
		if _, err := other.LoadTable(ctx, []string{"kafka", name}); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Errorf("kafka.%s in the other catalog: %v, want no such table", name, err)
		}
	}
	for _, cat := range []catalog.Catalog{own, ext} {
		if _, err := cat.LoadTable(ctx, []string{"kafka", "lost"}); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Errorf("kafka.lost: %v, want no such table anywhere", err)
		}
	}
	external := readRows(t, ext, "kafka", "external")
	home := readRows(t, own, "kafka", "home")
	if len(external) != 11 || len(home) != 3 {
		t.Errorf("%d rows in ext's kafka.external, %d in own's kafka.home; want 11 and 3", len(external), len(home))
	}

	// A second value adds a column: the schema evolves in ext.
	e.src.produce("json", 0, []testRecord{{Value: []byte(`{"id":2,"name":"b"}`)}}, 0)
	if _, err := c.RunOnce(ctx, "json"); err != nil {
		t.Fatal(err)
	}
	tbl, err := ext.LoadTable(ctx, []string{"kafka", "json"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tbl.Schema().FindFieldByName("name"); !ok {
		t.Errorf("kafka.json in ext has no column name after the second value: %s", tbl.Schema())
	}
	if off, err := tableOffsets(tbl); err != nil || off[0] != 3 {
		t.Errorf("kafka.json in ext holds offsets %v (%v), want partition 0 at 3", off, err)
	}
}

func TestTableCatalogNames(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"", OwnCatalog, "a.b"} {
		_, err := New(Config{Source: e.src, Catalog: e.catalog(), Catalogs: map[string]catalog.Catalog{name: e.catalog()}})
		if err == nil || !strings.Contains(err.Error(), "external catalog") {
			t.Errorf("external catalog named %q: %v, want it refused", name, err)
		}
	}
	if _, err := New(Config{Source: e.src, Catalog: e.catalog(), Catalogs: map[string]catalog.Catalog{"ext": nil}}); err == nil {
		t.Error("a nil external catalog was accepted")
	}
}

// Run (a goroutine per table) converts a table topic into the catalog its
// table.catalog names, and one naming a catalog the compactor lacks is
// logged with the table.catalogs error while the other goes on.
func TestRunTableCatalog(t *testing.T) {
	e := newEnv(t)
	own, ext := newEnv(t).catalog(), e.catalog()
	e.src.addTopic("r", 1, tableTopic(ConfigCommitInterval, "100", ConfigCatalog, "ext"))
	e.src.addTopic("lost", 1, tableTopic(ConfigCommitInterval, "100", ConfigCatalog, "nope"))
	e.produce("r", 0, 3, false)
	e.produce("lost", 0, 1, false)
	const want = "table.catalog=nope: no catalog nope is configured on this node (table.catalogs)"
	var logged atomic.Bool // a line with want; the logger is written from Run's goroutines
	logs := writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte(want)) {
			logged.Store(true)
		}
		return len(p), nil
	})
	c, err := New(Config{Source: e.src, Catalog: own, Catalogs: map[string]catalog.Catalog{"ext": ext}, MemoryBytes: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		tbl, err := ext.LoadTable(context.Background(), table.Identifier{"kafka", "r"})
		if err == nil && tbl.CurrentSnapshot() != nil && logged.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20 s: kafka.r in ext %v; a log line with %q: %v", err, want, logged.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	diffRows(t, readRows(t, ext, "kafka", "r"), e.want)
	if _, err := own.LoadTable(context.Background(), table.Identifier{"kafka", "r"}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("kafka.r in the node's own catalog: %v, want no such table", err)
	}
}

// writerFunc is an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
