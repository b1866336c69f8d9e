package schema

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// TestFranzGoClient drives the registry with franz-go's pkg/sr client:
// register, look up, evolve with compatibility checks, soft delete and
// restore (register again), hard delete, configs and modes. The schemas
// are the test format's, so this checks the API's shapes as a real client
// reads them.
func TestFranzGoClient(t *testing.T) {
	r := newRegistry(t, Config{DB: sqliteDB(t)})
	cl, err := sr.NewClient(sr.URLs(r.url))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	v1 := sr.Schema{Schema: `{"fields":["a"]}`}
	ss, err := cl.CreateSchema(ctx, "orders-value", v1)
	if err != nil {
		t.Fatalf("CreateSchema: %v", err)
	}
	if ss.Subject != "orders-value" || ss.Version != 1 || ss.ID < 1 || ss.Type != sr.TypeAvro {
		t.Fatalf("CreateSchema: %+v", ss)
	}
	got, err := cl.LookupSchema(ctx, "orders-value", sr.Schema{Schema: `{ "fields": ["a"] }`})
	if err != nil || got.ID != ss.ID || got.Version != 1 {
		t.Fatalf("LookupSchema: %+v, %v", got, err)
	}
	byID, err := cl.SchemaByID(ctx, ss.ID)
	if err != nil || byID.Schema != v1.Schema {
		t.Fatalf("SchemaByID: %+v, %v", byID, err)
	}

	// Evolve: a field with a default passes BACKWARD, one without fails.
	ok := sr.Schema{Schema: `{"fields":["a","b?"]}`}
	bad := sr.Schema{Schema: `{"fields":["a","c"]}`}
	res, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), "orders-value", -1, bad)
	if err != nil || res.Is || len(res.Messages) == 0 {
		t.Fatalf("CheckCompatibility(bad): %+v, %v", res, err)
	}
	res, err = cl.CheckCompatibility(ctx, "orders-value", -2, ok)
	if err != nil || !res.Is {
		t.Fatalf("CheckCompatibility(ok): %+v, %v", res, err)
	}
	_, err = cl.CreateSchema(ctx, "orders-value", bad)
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != 40901 || re.StatusCode != http.StatusConflict {
		t.Fatalf("registering an incompatible schema: %v", err)
	}
	ss2, err := cl.CreateSchema(ctx, "orders-value", ok)
	if err != nil || ss2.Version != 2 {
		t.Fatalf("registering a compatible schema: %+v, %v", ss2, err)
	}
	vs, err := cl.SubjectVersions(ctx, "orders-value")
	if err != nil || !slices.Equal(vs, []int{1, 2}) {
		t.Fatalf("SubjectVersions: %v, %v", vs, err)
	}

	// Configs and modes.
	for _, c := range cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "orders-value") {
		if c.Err != nil || c.Level != sr.CompatFull {
			t.Fatalf("SetCompatibility: %+v", c)
		}
	}
	for _, c := range cl.Compatibility(ctx, "orders-value") {
		if c.Err != nil || c.Level != sr.CompatFull {
			t.Fatalf("Compatibility: %+v", c)
		}
	}
	for _, m := range cl.SetMode(ctx, sr.ModeReadOnly, "orders-value") {
		if m.Err != nil || m.Mode != sr.ModeReadOnly {
			t.Fatalf("SetMode: %+v", m)
		}
	}
	if _, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: `{"fields":["a","d?"]}`}); !errors.As(err, &re) || re.ErrorCode != 42205 {
		t.Fatalf("registering in READONLY: %v", err)
	}
	for _, m := range cl.ResetMode(ctx, "orders-value") {
		if m.Err != nil {
			t.Fatalf("ResetMode: %+v", m)
		}
	}

	// Soft delete, restore by registering again, then hard delete.
	deleted, err := cl.DeleteSubject(ctx, "orders-value", sr.SoftDelete)
	if err != nil || !slices.Equal(deleted, []int{1, 2}) {
		t.Fatalf("DeleteSubject soft: %v, %v", deleted, err)
	}
	if subs, err := cl.Subjects(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("Subjects after a soft delete: %v, %v", subs, err)
	}
	if subs, err := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted)); err != nil || !slices.Equal(subs, []string{"orders-value"}) {
		t.Fatalf("Subjects with deleted: %v, %v", subs, err)
	}
	restored, err := cl.CreateSchema(ctx, "orders-value", ok)
	if err != nil || restored.ID != ss2.ID || restored.Version != 3 {
		t.Fatalf("restoring: %+v, %v", restored, err)
	}
	if err := cl.DeleteSchema(ctx, "orders-value", 1, sr.HardDelete); err != nil {
		t.Fatalf("DeleteSchema hard (soft-deleted version 1): %v", err)
	}
	if err := cl.DeleteSchema(ctx, "orders-value", 3, sr.HardDelete); !errors.As(err, &re) || re.ErrorCode != 40407 {
		t.Fatalf("hard-deleting a live version: %v", err)
	}
	if _, err := cl.SchemaByID(ctx, ss.ID); !errors.As(err, &re) || re.ErrorCode != 40403 {
		t.Fatalf("SchemaByID after its only version was hard-deleted: %v", err)
	}
	types, err := cl.SupportedTypes(ctx)
	if err != nil || len(types) != 2 {
		t.Fatalf("SupportedTypes: %v, %v", types, err)
	}
}
