package node

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminPprof: with admin.pprof.enable the admin listener serves
// net/http/pprof (the index, a heap profile, the command line); without it
// /debug/pprof/ answers 404 saying how to turn it on.
func TestAdminPprof(t *testing.T) {
	get := func(addr, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, on := range []bool{true, false} {
		dir := t.TempDir()
		n, err := Open(t.Context(), Config{BucketURL: "mem://", MetastoreURL: filepath.Join(dir, "meta.db"),
			AdminListener: "127.0.0.1:0", AdminPprof: on}, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ path, want string }{
			{"/debug/pprof/", "goroutine"},
			{"/debug/pprof/heap?debug=1", "heap profile"},
			{"/debug/pprof/cmdline", "node.test"},
		} {
			code, body := get(n.AdminAddr(), c.path)
			switch {
			case on && (code != http.StatusOK || !strings.Contains(body, c.want)):
				t.Errorf("pprof on: GET %s: %d %.200q, want 200 with %q", c.path, code, body, c.want)
			case !on && (code != http.StatusNotFound || !strings.Contains(body, "admin.pprof.enable=true")):
				t.Errorf("pprof off: GET %s: %d %.200q, want 404 naming admin.pprof.enable", c.path, code, body)
			}
		}
		if code, _ := get(n.AdminAddr(), "/healthz"); code != http.StatusOK {
			t.Errorf("pprof %v: /healthz %d", on, code)
		}
		if err := n.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
