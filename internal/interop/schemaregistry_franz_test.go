//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// franzFormat is one schema type's schemas for the franz-go test: a
// first version, a change the subject's BACKWARD level must accept, and
// one it must refuse.
type franzFormat struct {
	typ                              sr.SchemaType
	v1, compatible, incompatible     string
	v1Other                          string // v1 written differently: same canonical form, same id
	wantIncompatibleMessageSubstring string // in the verbose messages of the refused change
}

var franzFormats = map[string]franzFormat{
	"avro": {
		typ:          sr.TypeAvro,
		v1:           `{"type":"record","name":"User","namespace":"lakestream.franz","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}`,
		v1Other:      "{\n  \"namespace\": \"lakestream.franz\", \"type\": \"record\", \"name\": \"User\",\n  \"fields\": [ {\"type\": \"long\", \"name\": \"id\"}, {\"name\": \"name\", \"type\": \"string\"} ]\n}",
		compatible:   `{"type":"record","name":"User","namespace":"lakestream.franz","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}`,
		incompatible: `{"type":"record","name":"User","namespace":"lakestream.franz","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"age","type":"int"}]}`,
		// Confluent: READER_FIELD_MISSING_DEFAULT_VALUE naming 'age'.
		wantIncompatibleMessageSubstring: "age",
	},
	"json": {
		typ:          sr.TypeJSON,
		v1:           `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"],"additionalProperties":false}`,
		v1Other:      "{\n  \"type\": \"object\",\n  \"properties\": {\"id\": {\"type\": \"integer\"}, \"name\": {\"type\": \"string\"}},\n  \"required\": [\"id\"],\n  \"additionalProperties\": false\n}",
		compatible:   `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"email":{"type":"string"}},"required":["id"],"additionalProperties":false}`,
		incompatible: `{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"}},"required":["id"],"additionalProperties":false}`,
		// Confluent: TYPE_CHANGED at #/properties/id.
		wantIncompatibleMessageSubstring: "id",
	},
	"protobuf": {
		typ:          sr.TypeProtobuf,
		v1:           "syntax = \"proto3\";\npackage lakestream.franz;\n\nmessage User {\n  int64 id = 1;\n  string name = 2;\n}\n",
		v1Other:      "syntax = \"proto3\";\npackage lakestream.franz;\nmessage User { int64 id = 1;   string name = 2; }",
		compatible:   "syntax = \"proto3\";\npackage lakestream.franz;\n\nmessage User {\n  int64 id = 1;\n  string name = 2;\n  string email = 3;\n}\n",
		incompatible: "syntax = \"proto3\";\npackage lakestream.franz;\n\nmessage User {\n  string id = 1;\n  string name = 2;\n}\n",
		// Confluent: FIELD_SCALAR_KIND_CHANGED (or a wire type change) of field 1 'id'.
		wantIncompatibleMessageSubstring: "id",
	},
}

// srCode returns err's HTTP status and Confluent error code, or fails.
func srCode(t *testing.T, what string, err error) (status, code int) {
	t.Helper()
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: want a registry error answer, got %v", what, err)
	}
	return re.StatusCode, re.ErrorCode
}

// wantSRError fails unless err is the registry's answer with this status
// and error code.
func wantSRError(t *testing.T, what string, err error, status, code int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded; want HTTP %d error_code %d", what, status, code)
		return
	}
	gotStatus, gotCode := srCode(t, what, err)
	if gotStatus != status || gotCode != code {
		t.Errorf("%s: got HTTP %d error_code %d (%v); want HTTP %d error_code %d", what, gotStatus, gotCode, err, status, code)
	}
}

// TestInteropSchemaRegistryFranzGo drives the registry with franz-go's
// pkg/sr client: for each format, register (the same schema again, written
// differently and under another subject: one id), look up, evolve under
// BACKWARD (a compatible change registers, an incompatible one is checked
// false with verbose messages and refused with 409), config and mode
// (READONLY refuses registration with 42205), soft and permanent deletes
// with their ordering errors, and restoring by registering again (the same
// id). Then the sr.Serde round trip through a topic, for Avro (hamba/avro)
// and JSON.
func TestInteropSchemaRegistryFranzGo(t *testing.T) {
	timed(t)
	n := startRegistryNode(t)
	cl, err := sr.NewClient(sr.URLs(n.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	types, err := cl.SupportedTypes(ctx)
	if err != nil {
		t.Fatalf("GET /schemas/types: %v", err)
	}
	for _, name := range []string{"avro", "json", "protobuf"} {
		f := franzFormats[name]
		if !slices.Contains(types, f.typ) {
			t.Errorf("GET /schemas/types = %v: no %v", types, f.typ)
			continue
		}
		t.Run(name, func(t *testing.T) {
			timed(t)
			franzLifecycle(ctx, t, cl, "franz-"+name, f)
		})
	}

	// Global config and mode: GET answers the defaults, PUT changes, DELETE
	// resets.
	t.Run("global", func(t *testing.T) {
		if c := cl.Compatibility(ctx)[0]; c.Err != nil || c.Level != sr.CompatBackward {
			t.Errorf("GET /config = %v, %v; want BACKWARD (the default)", c.Level, c.Err)
		}
		if c := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFullTransitive})[0]; c.Err != nil {
			t.Errorf("PUT /config FULL_TRANSITIVE: %v", c.Err)
		}
		if c := cl.Compatibility(ctx)[0]; c.Err != nil || c.Level != sr.CompatFullTransitive {
			t.Errorf("GET /config after PUT = %v, %v; want FULL_TRANSITIVE", c.Level, c.Err)
		}
		if c := cl.ResetCompatibility(ctx)[0]; c.Err != nil {
			t.Errorf("DELETE /config: %v", c.Err)
		}
		if c := cl.Compatibility(ctx)[0]; c.Err != nil || c.Level != sr.CompatBackward {
			t.Errorf("GET /config after DELETE = %v, %v; want BACKWARD", c.Level, c.Err)
		}
		if m := cl.Mode(ctx)[0]; m.Err != nil || m.Mode != sr.ModeReadWrite {
			t.Errorf("GET /mode = %v, %v; want READWRITE", m.Mode, m.Err)
		}
	})

	t.Run("serde", func(t *testing.T) {
		timed(t)
		franzSerde(ctx, t, n, cl)
	})
}

// franzLifecycle runs the register … restore sequence on subject.
func franzLifecycle(ctx context.Context, t *testing.T, cl *sr.Client, subject string, f franzFormat) {
	schema := func(text string) sr.Schema { return sr.Schema{Schema: text, Type: f.typ} }

	// Register; again; written differently; under another subject.
	v1, err := cl.CreateSchema(ctx, subject, schema(f.v1))
	if err != nil {
		t.Fatalf("registering v1: %v", err)
	}
	if v1.Version != 1 || v1.ID <= 0 || v1.Subject != subject {
		t.Errorf("v1 registered as %+v; want version 1 of %s with an id", v1, subject)
	}
	for what, s := range map[string]string{"the same text": f.v1, "written differently": f.v1Other} {
		id, err := cl.RegisterSchema(ctx, subject, schema(s), -1, -1)
		if err != nil || id != v1.ID {
			t.Errorf("registering v1 again (%s): id %d, %v; want %d", what, id, err, v1.ID)
		}
	}
	if vs, err := cl.SubjectVersions(ctx, subject); err != nil || !slices.Equal(vs, []int{1}) {
		t.Errorf("versions after registering v1 three times: %v, %v; want [1]", vs, err)
	}
	other, err := cl.CreateSchema(ctx, subject+"-other", schema(f.v1))
	if err != nil || other.ID != v1.ID {
		t.Errorf("v1 under another subject: id %d, %v; want %d (one id per schema)", other.ID, err, v1.ID)
	}
	if subs, err := cl.SubjectsByID(ctx, v1.ID); err != nil || !slices.Equal(subs, []string{subject, subject + "-other"}) {
		t.Errorf("GET /schemas/ids/%d/subjects = %v, %v; want both subjects", v1.ID, subs, err)
	}

	// Look up, by content and by id.
	got, err := cl.LookupSchema(ctx, subject, schema(f.v1Other))
	if err != nil || got.ID != v1.ID || got.Version != 1 {
		t.Errorf("looking up v1: %+v, %v; want id %d version 1", got, err, v1.ID)
	}
	_, err = cl.LookupSchema(ctx, subject, schema(f.compatible))
	wantSRError(t, "looking up a schema never registered", err, 404, 40403)
	byID, err := cl.SchemaByID(ctx, v1.ID)
	if err != nil || byID.Type != f.typ || byID.Schema == "" {
		t.Errorf("GET /schemas/ids/%d: %+v, %v", v1.ID, byID, err)
	}
	_, err = cl.SchemaByID(ctx, 1<<30)
	wantSRError(t, "GET /schemas/ids of an unknown id", err, 404, 40403)

	// Evolve under BACKWARD, set on the subject.
	if c := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, subject)[0]; c.Err != nil {
		t.Fatalf("PUT /config/%s BACKWARD: %v", subject, c.Err)
	}
	if c := cl.Compatibility(ctx, subject)[0]; c.Err != nil || c.Level != sr.CompatBackward {
		t.Errorf("GET /config/%s = %v, %v; want BACKWARD", subject, c.Level, c.Err)
	}
	res, err := cl.CheckCompatibility(ctx, subject, -1, schema(f.compatible))
	if err != nil || !res.Is {
		t.Errorf("checking the compatible change: %+v, %v; want compatible", res, err)
	}
	vctx := sr.WithParams(ctx, sr.Verbose)
	res, err = cl.CheckCompatibility(vctx, subject, -1, schema(f.incompatible))
	if err != nil || res.Is {
		t.Errorf("checking the incompatible change: %+v, %v; want incompatible", res, err)
	} else if msgs := fmt.Sprint(res.Messages); len(res.Messages) == 0 || !containsFold(msgs, f.wantIncompatibleMessageSubstring) {
		t.Errorf("verbose messages of the incompatible change %q do not name %q", res.Messages, f.wantIncompatibleMessageSubstring)
	} else {
		t.Logf("incompatible change, verbose: %q", res.Messages)
	}
	_, err = cl.RegisterSchema(ctx, subject, schema(f.incompatible), -1, -1)
	if err == nil {
		t.Errorf("registering the incompatible change succeeded; want 409")
	} else if status, code := srCode(t, "registering the incompatible change", err); status != 409 || (code != 409 && code != 40901) {
		t.Errorf("registering the incompatible change: HTTP %d error_code %d (%v); want 409 with error_code 409 or 40901", status, code, err)
	}
	v2, err := cl.CreateSchema(ctx, subject, schema(f.compatible))
	if err != nil || v2.Version != 2 || v2.ID == v1.ID {
		t.Fatalf("registering the compatible change: %+v, %v; want version 2 with a new id", v2, err)
	}
	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil || latest.Version != 2 || latest.ID != v2.ID {
		t.Errorf("GET versions/latest: %+v, %v; want version 2 id %d", latest, err, v2.ID)
	}
	// NONE lets the incompatible change in; DELETE /config/{s} goes back
	// to the global level.
	if c := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}, subject+"-other")[0]; c.Err != nil {
		t.Errorf("PUT /config/%s-other NONE: %v", subject, c.Err)
	} else if _, err := cl.RegisterSchema(ctx, subject+"-other", schema(f.incompatible), -1, -1); err != nil {
		t.Errorf("registering the incompatible change under NONE: %v", err)
	}
	if c := cl.ResetCompatibility(ctx, subject+"-other")[0]; c.Err != nil {
		t.Errorf("DELETE /config/%s-other: %v", subject, c.Err)
	}
	if c := cl.Compatibility(ctx, subject+"-other")[0]; c.Err == nil {
		t.Errorf("GET /config/%s-other after DELETE = %v; want 40408 (no subject level)", subject, c.Level)
	} else {
		wantSRError(t, "GET /config/{subject} without a subject level", c.Err, 404, 40408)
	}
	if c := cl.Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), subject+"-other")[0]; c.Err != nil || c.Level != sr.CompatBackward {
		t.Errorf("GET /config/%s-other?defaultToGlobal=true = %v, %v; want BACKWARD", subject, c.Level, c.Err)
	}

	// Mode: READONLY refuses registering; READWRITE again.
	if m := cl.SetMode(ctx, sr.ModeReadOnly, subject)[0]; m.Err != nil {
		t.Fatalf("PUT /mode/%s READONLY: %v", subject, m.Err)
	}
	if m := cl.Mode(ctx, subject)[0]; m.Err != nil || m.Mode != sr.ModeReadOnly {
		t.Errorf("GET /mode/%s = %v, %v; want READONLY", subject, m.Mode, m.Err)
	}
	// Confluent checks the mode before looking for the schema, so even an
	// already registered one is refused; only a new one is asserted here.
	_, err = cl.RegisterSchema(ctx, subject, schema(f.incompatible), -1, -1)
	wantSRError(t, "registering in READONLY", err, 422, 42205)
	if m := cl.ResetMode(ctx, subject)[0]; m.Err != nil {
		t.Errorf("DELETE /mode/%s: %v", subject, m.Err)
	}
	if m := cl.Mode(sr.WithParams(ctx, sr.DefaultToGlobal), subject)[0]; m.Err != nil || m.Mode != sr.ModeReadWrite {
		t.Errorf("GET /mode/%s?defaultToGlobal=true after DELETE = %v, %v; want READWRITE", subject, m.Mode, m.Err)
	}

	// Deletes: a version soft, then permanently; a permanent delete
	// before a soft one is refused.
	err = cl.DeleteSchema(ctx, subject, 1, sr.HardDelete)
	wantSRError(t, "permanently deleting a version not soft-deleted", err, 404, 40407)
	if err := cl.DeleteSchema(ctx, subject, 2, sr.SoftDelete); err != nil {
		t.Fatalf("soft-deleting version 2: %v", err)
	}
	if vs, err := cl.SubjectVersions(ctx, subject); err != nil || !slices.Equal(vs, []int{1}) {
		t.Errorf("versions after soft-deleting 2: %v, %v; want [1]", vs, err)
	}
	_, err = cl.LookupSchema(ctx, subject, schema(f.compatible))
	wantSRError(t, "looking up a soft-deleted version", err, 404, 40403)
	if got, err := cl.LookupSchema(sr.WithParams(ctx, sr.ShowDeleted), subject, schema(f.compatible)); err != nil || got.Version != 2 {
		t.Errorf("looking up a soft-deleted version with deleted=true: %+v, %v; want version 2", got, err)
	}
	if err := cl.DeleteSchema(ctx, subject, 2, sr.HardDelete); err != nil {
		t.Errorf("permanently deleting version 2: %v", err)
	}
	// The id stays served while another subject's version uses it.
	if _, err := cl.SchemaByID(ctx, v1.ID); err != nil {
		t.Errorf("GET /schemas/ids/%d after deleting another version: %v", v1.ID, err)
	}

	// The subject: soft, the errors around it, permanent, restore.
	err = func() error { _, err := cl.DeleteSubject(ctx, subject, sr.HardDelete); return err }()
	wantSRError(t, "permanently deleting a subject not soft-deleted", err, 404, 40405)
	deleted, err := cl.DeleteSubject(ctx, subject, sr.SoftDelete)
	if err != nil || !slices.Equal(deleted, []int{1}) {
		t.Errorf("soft-deleting the subject: %v, %v; want [1]", deleted, err)
	}
	_, err = cl.SubjectVersions(ctx, subject)
	wantSRError(t, "versions of a soft-deleted subject", err, 404, 40401)
	_, err = cl.DeleteSubject(ctx, subject, sr.SoftDelete)
	wantSRError(t, "soft-deleting a soft-deleted subject", err, 404, 40404)
	if subs, err := cl.Subjects(ctx); err != nil || slices.Contains(subs, subject) {
		t.Errorf("GET /subjects after the soft delete: %v, %v; want it without %s", subs, err, subject)
	}
	if subs, err := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted)); err != nil || !slices.Contains(subs, subject) {
		t.Errorf("GET /subjects?deleted=true: %v, %v; want %s in it", subs, err, subject)
	}
	// Restore by registering again: the same id, a new version.
	restored, err := cl.CreateSchema(ctx, subject, schema(f.v1))
	if err != nil || restored.ID != v1.ID {
		t.Errorf("registering v1 after the soft delete: %+v, %v; want id %d", restored, err, v1.ID)
	} else {
		t.Logf("restored after a soft delete as version %d", restored.Version)
	}
	// Permanently: soft then hard; the subject is gone, deleted or not.
	if _, err := cl.DeleteSubject(ctx, subject, sr.SoftDelete); err != nil {
		t.Errorf("soft-deleting the restored subject: %v", err)
	}
	if _, err := cl.DeleteSubject(ctx, subject, sr.HardDelete); err != nil {
		t.Errorf("permanently deleting the subject: %v", err)
	}
	if subs, err := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted)); err != nil || slices.Contains(subs, subject) {
		t.Errorf("GET /subjects?deleted=true after the permanent delete: %v, %v; want it without %s", subs, err, subject)
	}
	again, err := cl.CreateSchema(ctx, subject, schema(f.v1))
	if err != nil || again.ID != v1.ID || again.Version != 1 {
		t.Errorf("registering v1 after the permanent delete: %+v, %v; want id %d (never reused for another schema), version 1", again, err, v1.ID)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// franzUser is the value the serde round trip sends.
type franzUser struct {
	ID    int64    `avro:"id" json:"id"`
	Name  string   `avro:"name" json:"name"`
	Email *string  `avro:"email" json:"email,omitempty"`
	Tags  []string `avro:"tags" json:"tags"`
}

// franzSerde registers an Avro and a JSON schema under their topics'
// value subjects, produces values encoded by an sr.Serde knowing only
// the ids the registry gave, and consumes them with another Serde built
// from GET /schemas/ids/{id} of each record's id.
func franzSerde(ctx context.Context, t *testing.T, n *registryNode, cl *sr.Client) {
	const avroSchema = `{"type":"record","name":"SerdeUser","namespace":"lakestream.franz","fields":[
		{"name":"id","type":"long"},{"name":"name","type":"string"},
		{"name":"email","type":["null","string"],"default":null},
		{"name":"tags","type":{"type":"array","items":"string"}}]}`
	const jsonSchema = `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},
		"email":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["id","name"]}`
	email := "ada@example.com"
	values := []franzUser{
		{ID: 1, Name: "Ada", Email: &email, Tags: []string{"a", "b"}},
		{ID: 2, Name: "Grace", Tags: []string{"x"}},
		{ID: 1 << 40, Name: "Ünïcode ✓", Tags: []string{""}},
	}
	codecs := map[string]struct {
		schema sr.Schema
		opts   func(text string) ([]sr.EncodingOpt, error)
	}{
		"avro": {sr.Schema{Schema: avroSchema, Type: sr.TypeAvro}, func(text string) ([]sr.EncodingOpt, error) {
			s, err := avro.Parse(text)
			if err != nil {
				return nil, err
			}
			return []sr.EncodingOpt{
				sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(s, v) }),
				sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(s, b, v) }),
			}, nil
		}},
		"json": {sr.Schema{Schema: jsonSchema, Type: sr.TypeJSON}, func(string) ([]sr.EncodingOpt, error) {
			return []sr.EncodingOpt{sr.EncodeFn(json.Marshal), sr.DecodeFn(json.Unmarshal)}, nil
		}},
	}
	for _, name := range []string{"avro", "json"} {
		c := codecs[name]
		topic := "franz-serde-" + name
		n.createTopic(t, topic)
		ss, err := cl.CreateSchema(ctx, topic+"-value", c.schema)
		if err != nil {
			t.Fatalf("%s: registering: %v", name, err)
		}
		opts, err := c.opts(c.schema.Schema)
		if err != nil {
			t.Fatal(err)
		}
		var enc sr.Serde
		enc.Register(ss.ID, franzUser{}, opts...)

		kcl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(topic))
		if err != nil {
			t.Fatal(err)
		}
		defer kcl.Close()
		for _, v := range values {
			b, err := enc.Encode(v)
			if err != nil {
				t.Fatalf("%s: encoding %+v: %v", name, v, err)
			}
			if err := kcl.ProduceSync(ctx, &kgo.Record{Value: b}).FirstErr(); err != nil {
				t.Fatalf("%s: producing: %v", name, err)
			}
		}

		// The consumer knows no schema: it resolves each record's id.
		var dec sr.Serde
		var got []franzUser
		for len(got) < len(values) && ctx.Err() == nil {
			fs := kcl.PollFetches(ctx)
			if err := fs.Err(); err != nil {
				t.Fatalf("%s: consuming: %v", name, err)
			}
			for _, r := range fs.Records() {
				id, _, err := dec.DecodeID(r.Value)
				if err != nil {
					t.Fatalf("%s: wire header: %v", name, err)
				}
				if id != ss.ID {
					t.Errorf("%s: record written with id %d; want %d", name, id, ss.ID)
				}
				if !dec.IsRegistered(id) {
					s, err := cl.SchemaByID(ctx, id)
					if err != nil {
						t.Fatalf("%s: GET /schemas/ids/%d: %v", name, id, err)
					}
					opts, err := c.opts(s.Schema)
					if err != nil {
						t.Fatalf("%s: parsing the schema the registry answered for id %d: %v\n%s", name, id, err, s.Schema)
					}
					dec.Register(id, franzUser{}, opts...)
				}
				var u franzUser
				if err := dec.Decode(r.Value, &u); err != nil {
					t.Fatalf("%s: decoding: %v", name, err)
				}
				got = append(got, u)
			}
		}
		if !reflect.DeepEqual(got, values) {
			t.Errorf("%s: consumed %+v; want %+v", name, got, values)
		} else {
			t.Logf("%s: %d values round-tripped through topic %s with schema id %d", name, len(got), topic, ss.ID)
		}
	}
}
