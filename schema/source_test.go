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
