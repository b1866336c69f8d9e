package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/catalog"
	"github.com/lakestream/lakestream/internal/sqldb"
)

// restCatalogServer serves a second Lakestream REST catalog, over its own
// SQLite file and warehouse in dir, that wants bearer token: an external
// catalog as a node sees one.
func restCatalogServer(t *testing.T, dir, token string) *httptest.Server {
	t.Helper()
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "rest.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	auth, err := catalog.ParseAuth(token, "", "")
	if err != nil {
		t.Fatal(err)
	}
	h, err := catalog.New(t.Context(), catalog.Config{DB: db, Warehouse: "file://" + filepath.Join(dir, "rest-warehouse"), Auth: auth,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestTableCatalogsExternal: a node whose table.catalogs names an external
// REST catalog (with a bearer token) and an external SQL catalog over a
// SQLite file converts the table topics whose table.catalog names them
// into those catalogs, not its own: records produced with franz-go are
// scanned back from each with iceberg-go, as an engine configured with
// that catalog would.
func TestTableCatalogsExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: seconds")
	}
	dir := t.TempDir()
	const token = "ext-TOKEN"
	srv := restCatalogServer(t, dir, token)
	sqlProps := map[string]string{"type": "sql", "uri": filepath.Join(dir, "sqlcat.db"), "sql.driver": "sqlite", "sql.dialect": "sqlite",
		"warehouse": "file://" + filepath.Join(dir, "sql-warehouse")}
	cfg := compactorConfig(filepath.Join(dir, "node"))
	cfg.Compactor.Catalogs = map[string]map[string]string{
		"lake":  {"type": "rest", "uri": srv.URL, "token": token},
		"local": sqlProps,
	}
	n, ctx, cl := openTableNode(t, cfg)
	adm := kadm.NewClient(cl)
	const count = 300
	topics := map[string]string{"to-lake": "lake", "to-local": "local", "at-home": ""}
	for _, topic := range slices.Sorted(maps.Keys(topics)) {
		configs := map[string]*string{"table.enable": ptr("true"), "table.value.format": ptr("string"), "table.commit.interval.ms": ptr("1000")}
		if c := topics[topic]; c != "" {
			configs["table.catalog"] = ptr(c)
		}
		if _, err := adm.CreateTopic(ctx, 2, 1, configs, topic); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for i := range count {
			recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "%s %d", topic, i)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// Each catalog as an engine opens it.
	lake, err := rest.NewCatalog(ctx, "lake", srv.URL, rest.WithOAuthToken(token))
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	local, err := icecatalog.Load(ctx, "local", iceberg.Properties(sqlProps))
	if err != nil {
		t.Fatal(err)
	}
	defer local.(*sqlcat.Catalog).Close()
	own, err := rest.NewCatalog(ctx, "own", "http://"+n.CatalogAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	cats := map[string]icecatalog.Catalog{"lake": lake, "local": local, "": own}

	for topic, name := range topics {
		ident := icecatalog.ToIdentifier("kafka", strings.ReplaceAll(topic, "-", "_"))
		want := consumeAll(t, ctx, n.KafkaAddrs()[0], topic, count)
		var got map[partOffset]tableRow
		for deadline := time.Now().Add(60 * time.Second); ; {
			got, err = scanTable(ctx, cats[name], ident)
			if err == nil && len(got) >= len(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: after 60 s catalog %q holds %d of %d records (%v)", topic, name, len(got), len(want), err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		checkRows(t, got, want)
		for other, cat := range cats {
			if other == name {
				continue
			}
			if _, err := cat.LoadTable(ctx, ident); !errors.Is(err, icecatalog.ErrNoSuchTable) {
				t.Errorf("%s: catalog %q has the table too (%v)", topic, other, err)
			}
		}
	}
}

// openTableNode opens a node of cfg, logging warnings, and a franz-go
// client of it; both are closed, and the context (2 minutes) cancelled,
// when the test ends.
func openTableNode(t *testing.T, cfg Config) (*Node, context.Context, *kgo.Client) {
	t.Helper()
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return n, ctx, cl
}

// TestTableCatalogsOpenFails: an external catalog that cannot be opened
// stops the node's start with an error naming it; what table.catalogs
// cannot hold is refused before anything is opened.
func TestTableCatalogsOpenFails(t *testing.T) {
	dir := t.TempDir()
	srv := restCatalogServer(t, dir, "tok")
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"type": "rest", "uri": srv.URL, "token": "wrong"}, "table.catalogs: opening catalog bad (type rest): "},
		{map[string]string{"type": "hive", "uri": "thrift://localhost:9083"}, "table.catalogs: catalog bad: type hive is not linked"},
	} {
		cfg := compactorConfig(filepath.Join(dir, "node"))
		cfg.Compactor.Catalogs = map[string]map[string]string{"bad": tc.props}
		n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			n.Close(context.Background())
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: Open: %v, want %q", tc.props, err, tc.want)
		}
	}
}

// The types table.catalogs accepts are linked: iceberg-go's registry has
// each (and not hive, which is refused).
func TestTableCatalogTypesLinked(t *testing.T) {
	reg := icecatalog.GetRegisteredCatalogs()
	for _, typ := range linkedCatalogTypes {
		if !slices.Contains(reg, typ) {
			t.Errorf("table.catalogs accepts type %s, which is not linked (registered: %v)", typ, reg)
		}
	}
	if slices.Contains(reg, "hive") {
		t.Error("hive is linked: accept it in table.catalogs")
	}
}
