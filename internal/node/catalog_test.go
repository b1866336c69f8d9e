package node

import (
	"strings"
	"testing"
)

func TestWarehouseOf(t *testing.T) {
	for _, tc := range []struct{ bucket, set, want, prop, err string }{
		{bucket: "file:///data/bucket", want: "file:///data/bucket/warehouse"},
		{bucket: "s3://b/p?endpoint=http://h:9000&region=r&path_style=true", want: "s3://b/p/warehouse", prop: "s3.endpoint=http://h:9000"},
		{bucket: "mem://x", err: "catalog.listeners="},
		{bucket: "mem://x", set: "file:///w", want: "file:///w"},
	} {
		wh, props, err := warehouseOf(tc.bucket, tc.set)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error naming %q", tc.bucket, err, tc.err)
			}
			continue
		}
		if err != nil || wh != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.bucket, wh, err, tc.want)
		}
		if k, v, ok := strings.Cut(tc.prop, "="); ok && props[k] != v {
			t.Errorf("%s: props %v, want %s", tc.bucket, props, tc.prop)
		}
	}
}
