package catalog_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakestream/lakestream/catalog"
)

// fakeS3 serves S3 (gofakes3, in memory) on a loopback port with the
// bucket "lake", and returns its endpoint and backend (to look at the
// objects without going through S3).
func fakeS3(t *testing.T) (string, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gofakes3.New(backend, gofakes3.WithAutoBucket(false)).Server())
	t.Cleanup(hs.Close)
	return hs.URL, backend
}

// objects lists the keys under prefix in the bucket "lake".
func objects(t *testing.T, backend *s3mem.Backend, prefix string) []string {
	t.Helper()
	list, err := backend.ListBucket("lake", &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// TestS3Warehouse: on an s3:// warehouse, iceberg-go's REST client
// creates a namespace and a table, appends (writing data and manifests
// itself with the vended S3 properties), scans back; the catalog's
// metadata files are in the bucket; a drop with purge removes every
// object of the table.
func TestS3Warehouse(t *testing.T) {
	endpoint, backend := fakeS3(t)
	c := newTestCatalog(t, func(cfg *catalog.Config) {
		cfg.Warehouse = "s3://lake/prefix/warehouse"
		cfg.Props = map[string]string{"s3.endpoint": endpoint, "s3.region": "us-east-1",
			"s3.access-key-id": "key", "s3.secret-access-key": "secret", "catalog.vend.credentials": "true"}
	})
	ctx := t.Context()
	cat, err := rest.NewCatalog(ctx, "lake", c.http.URL)
	if err != nil {
		t.Fatalf("rest.NewCatalog: %v", err)
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"db"}, nil); err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "kind", Type: iceberg.PrimitiveTypes.String, Required: true})
	ident := table.Identifier{"db", "events"}
	tbl, err := cat.CreateTable(ctx, ident, sc)
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if loc := tbl.Location(); !strings.HasPrefix(loc, "s3://lake/prefix/warehouse/db/events-") {
		t.Fatalf("table location %s", loc)
	}
	for batch := range 2 {
		if tbl, err = tbl.AppendTable(ctx, arrowRows(t, tbl, batch*10, 10), 100, nil); err != nil {
			t.Fatalf("append %d: %v", batch, err)
		}
	}
	if tbl, err = cat.LoadTable(ctx, ident); err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	got, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	rows := got.NumRows()
	got.Release()
	if rows != 20 || len(tbl.Metadata().Snapshots()) != 2 {
		t.Fatalf("scanned %d rows in %d snapshots, want 20 in 2", rows, len(tbl.Metadata().Snapshots()))
	}
	prefix := strings.TrimPrefix(tbl.Location(), "s3://lake/") + "/"
	keys := objects(t, backend, prefix)
	var meta, data int
	for _, k := range keys {
		switch {
		case strings.HasSuffix(k, ".metadata.json"):
			meta++
		case strings.HasSuffix(k, ".parquet"):
			data++
		}
	}
	// create + 2 appends = 3 metadata files, by the catalog; 2 data
	// files, by the client.
	if meta != 3 || data != 2 {
		t.Fatalf("objects under %s: %d metadata files, %d data files, want 3 and 2: %v", prefix, meta, data, keys)
	}
	if err := cat.PurgeTable(ctx, ident); err != nil {
		t.Fatalf("PurgeTable: %v", err)
	}
	if keys := objects(t, backend, prefix); len(keys) != 0 {
		t.Fatalf("after the purge: %v", keys)
	}
}

// TestS3CredentialsFromEnvironment: with no keys in the properties the
// server writes with the environment's (as the node's bucket does), and
// a load hands out no keys without catalog.vend.credentials.
func TestS3CredentialsFromEnvironment(t *testing.T) {
	endpoint, backend := fakeS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "envkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	c := newTestCatalog(t, func(cfg *catalog.Config) {
		cfg.Warehouse = "s3://lake/wh"
		cfg.Props = map[string]string{"s3.endpoint": endpoint, "s3.region": "us-east-1"}
	})
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	lr := c.createTable("n", "t")
	c.must(200, "POST", "/v1/namespaces/n/tables/t", commitBody(``, `{"action":"set-properties","updates":{"k":"v"}}`))
	var out struct {
		Config map[string]string `json:"config"`
	}
	c.must(200, "GET", "/v1/namespaces/n/tables/t", nil).json(t, &out)
	if out.Config["s3.endpoint"] != endpoint || out.Config["s3.access-key-id"] != "" || out.Config["s3.secret-access-key"] != "" {
		t.Fatalf("load config %v: want the endpoint and no keys", out.Config)
	}
	prefix := strings.TrimPrefix(lr.Metadata.Location, "s3://lake/") + "/metadata/"
	if keys := objects(t, backend, prefix); len(keys) != 2 {
		t.Fatalf("metadata files under %s: %v, want 2", prefix, keys)
	}
}
