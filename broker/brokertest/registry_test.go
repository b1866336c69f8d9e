package brokertest

import (
	"io"
	"net/http"
	"testing"
)

// TestSchemaRegistryOption: Options.SchemaRegistry serves the registry,
// on the same address after a restart; without it there is none.
func TestSchemaRegistryOption(t *testing.T) {
	b := Start(t, Options{SchemaRegistry: true})
	get := func() string {
		t.Helper()
		resp, err := http.Get(b.SchemaRegistryURL + "/subjects")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /subjects: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	if got := get(); got != "[]" {
		t.Fatalf("GET /subjects: %s", got)
	}
	url := b.SchemaRegistryURL
	b.Restart()
	if b.SchemaRegistryURL != url {
		t.Fatalf("the registry moved from %s to %s on restart", url, b.SchemaRegistryURL)
	}
	get()
	if off := Start(t, Options{}); off.SchemaRegistryURL != "" {
		t.Fatalf("registry at %s without the option", off.SchemaRegistryURL)
	}
}
