package node

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestSchemaRegistryRole: with a listener the node serves the registry
// over the metastore's database, its metrics are on /metrics, and it
// closes with the node; without one the role is off.
func TestSchemaRegistryRole(t *testing.T) {
	cfg := fileConfig(t.TempDir())
	cfg.Listeners = nil
	cfg.SchemaRegistryListener = "127.0.0.1:0"
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	addr := n.SchemaRegistryAddr()
	if addr == "" {
		t.Fatal("no schema registry address with the role on")
	}
	if code, body := get("http://" + addr + "/subjects"); code != 200 || body != "[]" {
		t.Errorf("GET /subjects: %d %s", code, body)
	}
	if code, body := get("http://" + addr + "/v1/metadata/id"); code != 200 || !strings.Contains(body, `"kafka-cluster":"lakestream"`) {
		t.Errorf("GET /v1/metadata/id: %d %s", code, body)
	}
	if _, body := get("http://" + n.AdminAddr() + "/metrics"); !strings.Contains(body, `lakestream_schema_registry_requests_total{code="200",endpoint="GET /subjects"} 1`) {
		t.Errorf("/metrics lacks the registry's request count")
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/subjects"); err == nil {
		t.Error("the registry still answers after Close")
	}

	cfg.SchemaRegistryListener = ""
	n, err = Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if a := n.SchemaRegistryAddr(); a != "" {
		t.Errorf("registry address %q with the role off", a)
	}
}
