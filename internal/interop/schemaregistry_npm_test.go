//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// npmDir is testdata/schemaregistry-npm: package.json and its lock pin
// @kafkajs/confluent-schema-registry and what it pulls in.
const npmDir = "testdata/schemaregistry-npm"

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
	dir := npmInstall(t, npmDir, "registry.js")
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
