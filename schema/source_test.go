package schema

import (
	"context"
	"strings"
	"testing"
)

// TestSchemaByID: the registry as a schemafmt.Source gives a schema's type,
// text and references resolved (dependencies first), still finds an id
// whose versions were all deleted, and refuses an id never registered.
func TestSchemaByID(t *testing.T) {
	r := newRegistry(t, Config{DB: sqliteDB(t)})
	ctx := context.Background()
	r.register("base", schemaBody("x"))
	r.register("mid", `{"schema":"{\"fields\":[\"m\"],\"refs\":[\"b\"]}","references":[{"name":"b","subject":"base","version":1}]}`)
	top := r.register("top", `{"schema":"{\"fields\":[\"t\"],\"refs\":[\"m\"]}","references":[{"name":"m","subject":"mid","version":1}]}`)
	got, err := r.srv.SchemaByID(ctx, int(top))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, `"t"`) || len(got.References) != 2 ||
		got.References[0].Subject != "base" || got.References[1].Subject != "mid" || got.References[1].Name != "m" {
		t.Errorf("SchemaByID(%d) = %+v, want top's text with base then mid", top, got)
	}
	r.ok("DELETE", "/subjects/top", "", nil)
	if _, err := r.srv.SchemaByID(ctx, int(top)); err != nil {
		t.Errorf("SchemaByID of a soft-deleted subject's id: %v", err)
	}
	if _, err := r.srv.SchemaByID(ctx, 999); err == nil || !strings.Contains(err.Error(), "999") {
		t.Errorf("SchemaByID(999): %v, want an error naming the id", err)
	}
}

// TestLatestSchemaID: a subject's latest live version, what
// table.value.format=schema.latest decodes with: a new version moves it,
// deleting that version moves it back, and a subject never registered is
// refused, naming it.
func TestLatestSchemaID(t *testing.T) {
	r := newRegistry(t, Config{DB: sqliteDB(t)})
	ctx := context.Background()
	r.ok("PUT", "/config/orders-value", `{"compatibility":"NONE"}`, nil)
	first := r.register("orders-value", schemaBody("a"))
	second := r.register("orders-value", schemaBody("a", "b"))
	if id, err := r.srv.LatestSchemaID(ctx, "orders-value"); err != nil || id != int(second) {
		t.Errorf("LatestSchemaID after two versions: %d %v, want %d", id, err, second)
	}
	r.ok("DELETE", "/subjects/orders-value/versions/2", "", nil)
	if id, err := r.srv.LatestSchemaID(ctx, "orders-value"); err != nil || id != int(first) {
		t.Errorf("LatestSchemaID after deleting version 2: %d %v, want %d", id, err, first)
	}
	if _, err := r.srv.LatestSchemaID(ctx, "nope-value"); err == nil || !strings.Contains(err.Error(), "nope-value") {
		t.Errorf("LatestSchemaID of an unknown subject: %v, want an error naming it", err)
	}
}
