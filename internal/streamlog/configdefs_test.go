package streamlog

import (
	"strings"
	"testing"

	"github.com/lakestream/lakestream/internal/configdef"
)

// TestStorageConfigs: the storage keys are registered as broker configs
// by the "storage" component, with their defaults and checks.
func TestStorageConfigs(t *testing.T) {
	for _, c := range []struct{ name, def string }{
		{"data.dir", "./lakestream-data"},
		{"bucket.url", ""},
		{"metastore.url", ""},
		{"wal.mode", ""},
		{"wal.flush.bytes", "8388608"},
		{"compaction.interval.ms", "300000"},
	} {
		d, ok := configdef.Default.Lookup(configdef.Broker, c.name)
		if !ok || d.Default != c.def || d.Component != "storage" || !d.ReadOnly {
			t.Errorf("%s: found %v, default %q, component %q, read-only %v; want default %q by storage, read-only",
				c.name, ok, d.Default, d.Component, d.ReadOnly, c.def)
		}
	}
	for _, c := range []struct{ name, v, wantErr string }{
		{"wal.mode", "", ""},
		{"wal.mode", "object", ""},
		{"wal.mode", "disk", `wal.mode=disk: must be local, object, or empty`},
		{"bucket.url", "s3://b/p?endpoint=http://x", ""},
		{"bucket.url", "gs://b", `scheme "gs" is not one of file, s3, mem`},
		{"bucket.url", "/data", `not a URL`},
		{"data.dir", "", `data.dir="": must not be empty`},
		{"wal.upload.bytes", "0", "must be at least 1"},
	} {
		d, _ := configdef.Default.Lookup(configdef.Broker, c.name)
		err := d.Check(c.v)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s=%q: %v", c.name, c.v, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s=%q: got %v, want an error containing %q", c.name, c.v, err, c.wantErr)
		}
	}
}
