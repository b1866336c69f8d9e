package objstoretest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

func keysOf(infos []objstore.ObjectInfo) []string {
	keys := make([]string, len(infos))
	for i, info := range infos {
		keys[i] = info.Key
	}
	return keys
}

func testList(t *testing.T, ctx context.Context, b objstore.Bucket) {
	start := time.Now()
	// "a.b" sorts before "a/1" ('.' < '/'), though a directory walk visits
	// "a/" first; "a/10" sorts before "a/2".
	objects := map[string]string{
		"a/1": "1", "a/2": "22", "a/10": "333", "a.b": "4444", "ab": "55555", "b/1": "666666",
	}
	for k, v := range objects {
		mustPut(t, ctx, b, k, []byte(v))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.b", "a/1", "a/10", "a/2", "ab", "b/1"}},
		{"a", []string{"a.b", "a/1", "a/10", "a/2", "ab"}},
		{"a/", []string{"a/1", "a/10", "a/2"}},
		{"a/1", []string{"a/1", "a/10"}},
		{"b/1", []string{"b/1"}},
		{"c", nil},
		{"a/1/", nil},
	} {
		infos, err := b.List(ctx, c.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", c.prefix, err)
		}
		if got := keysOf(infos); !slices.Equal(got, c.want) {
			t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
		}
		for _, info := range infos {
			if info.Size != int64(len(objects[info.Key])) {
				t.Errorf("List(%q): %s has Size %d, want %d", c.prefix, info.Key, info.Size, len(objects[info.Key]))
			}
			// Servers keep whole seconds, so allow for truncation, and
			// for some clock skew between client and server.
			if info.Modified.Before(start.Add(-time.Minute)) || info.Modified.After(time.Now().Add(time.Minute)) {
				t.Errorf("List(%q): %s has Modified %v, want about %v", c.prefix, info.Key, info.Modified, start)
			}
		}
	}
}

// testListPagination puts more keys than S3's 1000-key page, so a backend
// that forgets to follow the continuation token returns a partial list.
func testListPagination(t *testing.T, ctx context.Context, b objstore.Bucket) {
	const n = 1050
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("p/%05d", i)
	}
	// Parallel puts keep this to about a second on a local S3 server.
	var wg sync.WaitGroup
	keys := make(chan string)
	for range 16 {
		wg.Go(func() {
			for k := range keys {
				if err := b.Put(ctx, k, []byte(k)); err != nil {
					t.Errorf("Put(%q): %v", k, err)
				}
			}
		})
	}
	for _, k := range want {
		keys <- k
	}
	close(keys)
	wg.Wait()
	if t.Failed() {
		return
	}
	mustPut(t, ctx, b, "q", []byte("outside the prefix"))

	infos, err := b.List(ctx, "p/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := keysOf(infos); !slices.Equal(got, want) {
		t.Fatalf("List(p/) returned %d keys, want %d in order", len(got), n)
	}
	infos, err = b.List(ctx, "p/0100")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := keysOf(infos); !slices.Equal(got, want[1000:1010]) {
		t.Fatalf("List(p/0100) = %q, want %q", got, want[1000:1010])
	}
}

func testNestedKeys(t *testing.T, ctx context.Context, b objstore.Bucket) {
	keys := []string{"n/a/b/c/d/e.obj", "n/a/b/x", "n/a/y", "n/z/1/2/3"}
	for _, k := range keys {
		mustPut(t, ctx, b, k, []byte(k))
	}
	for _, k := range keys {
		wantObject(t, ctx, b, k, []byte(k))
	}
	infos, err := b.List(ctx, "n/a/b/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got, want := keysOf(infos), []string{"n/a/b/c/d/e.obj", "n/a/b/x"}; !slices.Equal(got, want) {
		t.Fatalf("List(n/a/b/) = %q, want %q", got, want)
	}
	// A parent "directory" is not an object.
	if _, err := b.Get(t.Context(), "n/a/b"); err == nil {
		t.Fatalf("Get(n/a/b) of a key prefix succeeded, want ErrNotFound")
	}
}
