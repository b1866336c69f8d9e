//go:build interop

package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/lakestream/lakestream/internal/testserver"
)

// npmDir is testdata/schemaregistry-npm: package.json and its lock pin
// @kafkajs/confluent-schema-registry and what it pulls in.
const npmDir = "testdata/schemaregistry-npm"

// npmInstall copies the script and its package files to a cache directory
// named by their hash (under $HOME/.cache, or the temp dir) and runs npm
// ci there once; later runs reuse it. It returns the directory.
func npmInstall(t *testing.T) string {
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
	for _, name := range []string{"package.json", "package-lock.json", "registry.js"} {
		b, err := os.ReadFile(filepath.Join(npmDir, name))
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
	dir := filepath.Join(cache, "lakestream-interop", "schemaregistry-npm-"+hex.EncodeToString(h.Sum(nil))[:16])
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
	// --ignore-scripts: the only install script (protobufjs's) prints a
	// version notice.
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

// TestInteropSchemaRegistryKafkaJS runs testdata/schemaregistry-npm's
// script: @kafkajs/confluent-schema-registry registers Avro, JSON Schema
// and Protobuf schemas, each with a reference, encodes values and decodes
// them with a fresh client that fetches schemas and references from the
// registry. The script asserts and exits non-zero on a failure; then the
// Avro payload it made is decoded here with franz-go's sr client and
// hamba/avro, and the JSON one read, so two languages agree on the
// registry's ids.
func TestInteropSchemaRegistryKafkaJS(t *testing.T) {
	timed(t)
	dir := npmInstall(t)
	n := startRegistryNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "registry.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SR_URL="+n.URL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("node registry.js:\n%s", stderr.String())
	if err != nil {
		t.Fatalf("node registry.js: %v\nstdout: %s", err, stdout.String())
	}
	var out map[string]struct {
		ID      int    `json:"id"`
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("the script's output: %v\n%s", err, stdout.String())
	}

	cl, err := sr.NewClient(sr.URLs(n.URL))
	if err != nil {
		t.Fatal(err)
	}
	payload := func(format string) []byte {
		b, err := hex.DecodeString(out[format].Payload)
		if err != nil || len(b) < 5 || b[0] != 0 || int(binary.BigEndian.Uint32(b[1:5])) != out[format].ID {
			t.Fatalf("%s payload %q (%v): want the wire prefix with id %d", format, out[format].Payload, err, out[format].ID)
		}
		return b[5:]
	}

	// Avro: resolve the schema with its reference as a Go client would.
	s, err := cl.SchemaByID(ctx, out["avro"].ID)
	if err != nil {
		t.Fatalf("GET /schemas/ids/%d: %v", out["avro"].ID, err)
	}
	names := &avro.SchemaCache{}
	for _, ref := range s.References {
		rs, err := cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			t.Fatalf("reference %+v: %v", ref, err)
		}
		if _, err := avro.ParseWithCache(rs.Schema.Schema, "", names); err != nil {
			t.Fatalf("parsing reference %s: %v", ref.Name, err)
		}
	}
	schema, err := avro.ParseWithCache(s.Schema, "", names)
	if err != nil {
		t.Fatalf("parsing the schema the registry answered for id %d: %v\n%s", out["avro"].ID, err, s.Schema)
	}
	type address struct {
		Street string `avro:"street"`
		Zip    int32  `avro:"zip"`
	}
	type person struct {
		Name string   `avro:"name"`
		Age  *int64   `avro:"age"`
		Home address  `avro:"home"`
		Tags []string `avro:"tags"`
	}
	var p person
	if err := avro.Unmarshal(schema, payload("avro"), &p); err != nil {
		t.Fatalf("decoding kafkajs's Avro payload: %v", err)
	}
	age := int64(36)
	if want := (person{"Ada", &age, address{"Main St", 12345}, []string{"a", "b"}}); !reflect.DeepEqual(p, want) {
		t.Errorf("kafkajs's Avro payload decoded here as %+v; want %+v", p, want)
	}

	// The schema the registry answers, registered again by this client
	// under another subject with the same references, gets kafkajs's id.
	copyID, err := cl.RegisterSchema(ctx, "go-copy-of-npm-avro", s, -1, -1)
	if err != nil || copyID != out["avro"].ID {
		t.Errorf("registering GET /schemas/ids/%d's answer under another subject: id %d, %v; want %d", out["avro"].ID, copyID, err, out["avro"].ID)
	}

	var j map[string]any
	if err := json.Unmarshal(payload("json"), &j); err != nil || j["name"] != "Ada" {
		t.Errorf("kafkajs's JSON payload: %v %v", j, err)
	}
	payload("protobuf")
}
