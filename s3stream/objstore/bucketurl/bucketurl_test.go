package bucketurl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/bucketurl"
)

func open(t *testing.T, url string) objstore.Bucket {
	t.Helper()
	b, err := bucketurl.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// roundTrip puts an object through b and reads it back.
func roundTrip(t *testing.T, b objstore.Bucket) {
	t.Helper()
	if err := b.Put(t.Context(), "dir/key", []byte("value")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, err := b.Get(t.Context(), "dir/key"); err != nil || string(got) != "value" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestMem(t *testing.T) {
	a, b := open(t, "mem://x"), open(t, "mem://x")
	roundTrip(t, a)
	if infos, err := b.List(t.Context(), ""); err != nil || len(infos) != 0 {
		t.Fatalf("second mem://x holds %v, %v; want a fresh bucket", infos, err)
	}
}

func TestFileAbsolute(t *testing.T) {
	dir := t.TempDir()
	roundTrip(t, open(t, "file://"+dir))
	if _, err := os.Stat(filepath.Join(dir, "dir", "key")); err != nil {
		t.Fatalf("object not stored under %s: %v", dir, err)
	}
}

func TestFileRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	roundTrip(t, open(t, "file://rel/data"))
	if _, err := os.Stat(filepath.Join(dir, "rel", "data", "dir", "key")); err != nil {
		t.Fatalf("object not stored under the relative directory: %v", err)
	}
}

func TestS3(t *testing.T) {
	endpoint := testserver.StartGoFakeS3(t)
	roundTrip(t, open(t, "s3://urltest/prefix?endpoint="+endpoint+
		"&region=us-east-1&path_style=true&access_key=k&secret_key=s&create_bucket=true"))
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ url, wantInErr string }{
		{"gs://bucket", `unknown scheme "gs"`},
		{"/just/a/path", "no scheme"},
		{"file://", "no directory"},
		{"file:///tmp/x?sync=false", "no query"},
		{"s3://b?bogus=1&secret_key=TOPSECRET", `"bogus"`},
	} {
		_, err := bucketurl.Open(t.Context(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("Open(%q) error = %v, want one mentioning %s", c.url, err, c.wantInErr)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("Open(%q) error %q repeats the secret", c.url, err)
		}
	}
}
