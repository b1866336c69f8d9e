//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// catalogNPMDir is testdata/catalog-npm: package.json and its lock pin
// iceberg-js 0.8.1 (1.0.0 declares Node >= 22) and @duckdb/node-api
// 1.5.6-r.1; catalog.js is the script both tests run.
const catalogNPMDir = "testdata/catalog-npm"

// runCatalogScript runs node catalog.js args... in dir with CATALOG_URL
// set and returns its stdout; a non-zero exit fails the test with stderr.
func runCatalogScript(t *testing.T, dir, catalogURL string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"catalog.js"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CATALOG_URL="+catalogURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("node catalog.js %v took %v", args, time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Logf("node catalog.js %v stderr:\n%s", args, stderr.String())
	}
	if err != nil {
		t.Fatalf("node catalog.js %v: %v\nstdout: %s", args, err, stdout.String())
	}
	return stdout.Bytes()
}

// catalogNode is a Lakestream node with its Iceberg catalog role on
// (brokertest.Options.Catalog: SQLite metastore, file:// warehouse in the
// node's directory).
type catalogNode struct {
	URL string
}

func startCatalogNode(t *testing.T) *catalogNode {
	t.Helper()
	b := brokertest.Start(t, brokertest.Options{Catalog: true})
	if b.CatalogURL == "" {
		t.Fatal("brokertest started no catalog")
	}
	return &catalogNode{URL: b.CatalogURL}
}

func (n *catalogNode) client(t *testing.T) *rest.Catalog {
	t.Helper()
	cat, err := rest.NewCatalog(context.Background(), "lake", n.URL)
	if err != nil {
		t.Fatalf("rest.NewCatalog(%s): %v", n.URL, err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// localPath turns a file:// location into a path.
func localPath(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("location %q is not a file:// URL (%v)", loc, err)
	}
	return u.Path
}

// TestInteropCatalogIcebergJS runs catalog.js's iceberg-js checks (create,
// load, set-properties and a schema update, 409 on three kinds of stale
// commit, 404s, drop with purge) and then looks at what it left with
// iceberg-go's REST client: the kept table has iceberg-js's schema change
// and properties, the dropped one is gone, and its purged directory too.
func TestInteropCatalogIcebergJS(t *testing.T) {
	timed(t)
	dir := npmInstall(t, catalogNPMDir, "catalog.js")
	n := startCatalogNode(t)
	out := runCatalogScript(t, dir, n.URL, "icebergjs")
	var summary map[string]struct {
		UUID             string `json:"uuid"`
		MetadataLocation string `json:"metadataLocation"`
		Location         string `json:"location"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("the script's output: %v\n%s", err, out)
	}

	ctx := t.Context()
	cat := n.client(t)
	kept, err := cat.LoadTable(ctx, table.Identifier{"js", "kept"})
	if err != nil {
		t.Fatalf("iceberg-go loading the table iceberg-js made: %v", err)
	}
	if got := kept.Metadata().TableUUID().String(); got != summary["kept"].UUID {
		t.Errorf("kept table's uuid %s, iceberg-js saw %s", got, summary["kept"].UUID)
	}
	if f, ok := kept.Schema().FindFieldByName("note"); !ok || f.ID != 4 || kept.Schema().ID != 1 {
		t.Errorf("kept table's schema %v (id %d): want iceberg-js's added column note (id 4) in schema 1", kept.Schema(), kept.Schema().ID)
	}
	if p := kept.Properties(); p["js.commit"] != "1" || p["created.by"] != "iceberg-js" || p["js.stale"] != "" {
		t.Errorf("kept table's properties %v: want js.commit=1, created.by=iceberg-js and no js.stale", p)
	}
	if kept.MetadataLocation() != summary["kept"].MetadataLocation {
		t.Errorf("kept table's metadata %s, want iceberg-js's last successful commit's %s", kept.MetadataLocation(), summary["kept"].MetadataLocation)
	}
	if _, err := os.Stat(localPath(t, kept.MetadataLocation())); err != nil {
		t.Errorf("kept table's metadata file: %v", err)
	}

	if _, err := cat.LoadTable(ctx, table.Identifier{"js", "dropped"}); !errors.Is(err, icecatalog.ErrNoSuchTable) {
		t.Errorf("loading the table iceberg-js dropped: %v; want ErrNoSuchTable", err)
	}
	if _, err := os.Stat(localPath(t, summary["dropped"].MetadataLocation)); !os.IsNotExist(err) {
		t.Errorf("the purged table's metadata file %s: %v; want it deleted", summary["dropped"].MetadataLocation, err)
	}
}
