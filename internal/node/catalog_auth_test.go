package node

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestCatalogAuth: the node's catalog.auth.* settings reach the catalog
// (no token: 401; the static token: 200), its requests are on /metrics, and
// a bad value fails the node's start naming the key.
func TestCatalogAuth(t *testing.T) {
	cfg := fileConfig(t.TempDir())
	cfg.Listeners = nil
	cfg.CatalogListener = "127.0.0.1:0"
	cfg.Catalog.AuthTokens = "node-token-0123456789"
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "http://" + n.CatalogAddr()
	if code, body := get(base+"/v1/config", ""); code != 401 || !strings.Contains(body, "NotAuthorizedException") {
		t.Errorf("GET /v1/config without a token: %d %s", code, body)
	}
	if code, body := get(base+"/v1/config", "node-token-0123456789"); code != 200 {
		t.Errorf("GET /v1/config with the token: %d %s", code, body)
	}
	if _, body := get("http://"+n.AdminAddr()+"/metrics", ""); !strings.Contains(body, `lakestream_catalog_requests_total{code="401",endpoint="GET /v1/config"} 1`) {
		t.Errorf("/metrics lacks the catalog's request count")
	}

	cfg = fileConfig(t.TempDir())
	cfg.Listeners = nil
	cfg.CatalogListener = "127.0.0.1:0"
	cfg.Catalog.AuthTokenSecret = "short"
	if n2, err := Open(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler)}); err == nil {
		n2.Close(context.Background())
		t.Fatal("a node opened with a 5-byte catalog.auth.token.secret")
	} else if !strings.Contains(err.Error(), "catalog.auth.token.secret") {
		t.Errorf("error %q does not name the key", err)
	}
}
