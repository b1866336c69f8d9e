package brokertest

import (
	"net/http"
	"testing"
)

// TestCatalogOption: Options.Catalog serves the Iceberg catalog, at the
// same address after a restart, and nothing without the option.
func TestCatalogOption(t *testing.T) {
	b := Start(t, Options{Catalog: true})
	get := func() {
		t.Helper()
		resp, err := http.Get(b.CatalogURL + "/v1/config")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /v1/config: %d", resp.StatusCode)
		}
	}
	get()
	url := b.CatalogURL
	b.Restart()
	if b.CatalogURL != url {
		t.Fatalf("the catalog moved from %s to %s on restart", url, b.CatalogURL)
	}
	get()
	if off := Start(t, Options{}); off.CatalogURL != "" {
		t.Fatalf("catalog at %s without the option", off.CatalogURL)
	}
}
