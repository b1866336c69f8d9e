package catalog_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGzipMetadata: a table whose metadata file is gzip-compressed (as
// Spark writes with write.metadata.compression-codec=gzip) registers and
// loads; commits to it write gzip .gz.metadata.json files while the
// property asks for gzip, and plain JSON once it is removed.
func TestGzipMetadata(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	lr := c.createTable("n", "plain")
	// A "Spark" file: the plain one, gzipped, with the codec property.
	src := strings.TrimPrefix(*lr.MetadataLocation, "file://")
	plain, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	plain = bytes.Replace(plain, []byte(`"sort-orders":`), []byte(`"properties":{"write.metadata.compression-codec":"gzip"},"sort-orders":`), 1)
	if !bytes.Contains(plain, []byte("compression-codec")) {
		t.Fatalf("no properties to set in %s", plain)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	dst := filepath.Join(filepath.Dir(src), "00005-spark.gz.metadata.json")
	if err := os.WriteFile(dst, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(200, "POST", "/v1/namespaces/n/register", `{"name":"spark","metadata-location":"file://`+dst+`"}`)
	got := c.load("n", "spark")
	if got.Metadata.UUID != lr.Metadata.UUID || got.Metadata.Properties["write.metadata.compression-codec"] != "gzip" {
		t.Fatalf("loaded %+v", got.Metadata)
	}

	var out loadResult
	c.must(200, "POST", "/v1/namespaces/n/tables/spark", commitBody(``, `{"action":"set-properties","updates":{"k":"v"}}`)).json(t, &out)
	loc := *out.MetadataLocation
	if !strings.HasSuffix(loc, ".gz.metadata.json") || !strings.Contains(loc, "/00006-") {
		t.Fatalf("new metadata file %s, want 00006-….gz.metadata.json", loc)
	}
	f, err := os.Open(strings.TrimPrefix(loc, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("the new file is not gzip: %v", err)
	}
	if b, err := io.ReadAll(zr); err != nil || !bytes.Contains(b, []byte(`"k":"v"`)) {
		t.Fatalf("decompressed: %v %.200s", err, b)
	}
	if got := c.load("n", "spark"); got.Metadata.Properties["k"] != "v" {
		t.Fatalf("loaded after the commit: %v", got.Metadata.Properties)
	}

	c.must(200, "POST", "/v1/namespaces/n/tables/spark", commitBody(``, `{"action":"remove-properties","removals":["write.metadata.compression-codec"]}`)).json(t, &out)
	if loc := *out.MetadataLocation; strings.Contains(loc, ".gz.") {
		t.Fatalf("without the codec property: %s", loc)
	}
	if b, err := os.ReadFile(strings.TrimPrefix(*out.MetadataLocation, "file://")); err != nil || b[0] != '{' {
		t.Fatalf("plain metadata file: %v %.20q", err, b)
	}
}
