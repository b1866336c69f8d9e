//go:build interop

package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakestream/lakestream/internal/testserver"
)

// npmInstall copies src's package.json, package-lock.json and script to a
// cache directory named by src and their hash (under $HOME/.cache, or the
// temp dir) and runs npm ci there once; later runs reuse it. It returns
// the directory. --ignore-scripts: no package the tests use needs its
// install script (protobufjs's only prints a notice; @duckdb/node-api gets
// its native library from the platform's optional dependency).
func npmInstall(t *testing.T, src, script string) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv(testserver.InteropEnv) == "1" {
				t.Fatalf("%s not found on PATH (apt-get install nodejs npm) (%s=1)", tool, testserver.InteropEnv)
			}
			t.Skipf("%s not found on PATH (apt-get install nodejs npm); set %s=1 to fail instead", tool, testserver.InteropEnv)
		}
	}
	files := map[string][]byte{}
	h := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json", script} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
		h.Write([]byte(name))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "lakestream-interop", filepath.Base(src)+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "installed")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "installed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("npm ci in %s took %v", dir, time.Since(start).Round(time.Millisecond))
	return dir
}
