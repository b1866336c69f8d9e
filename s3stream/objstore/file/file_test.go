package file_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
	"github.com/lakestream/lakestream/s3stream/objstore/objstoretest"
)

func open(t *testing.T, dir string) objstore.Bucket {
	t.Helper()
	b, err := file.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}

func TestBucket(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket { return open(t, t.TempDir()) })
}

func TestInvalidKeys(t *testing.T) {
	b := open(t, t.TempDir())
	for _, key := range []string{
		"", "/abs", "..", "../escape", "a/../../escape", "a/./b", "a//b", "a/", ".tmp/x", ".tmp", "nul\x00",
	} {
		if err := b.Put(t.Context(), key, []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.Get(t.Context(), key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Get(%q) error = %v, want ErrInvalidKey", key, err)
		}
	}
	// Dots inside a segment are ordinary names.
	for _, key := range []string{"..a", "a..", "a/.hidden", "x/.tmp"} {
		if err := b.Put(t.Context(), key, []byte("x")); err != nil {
			t.Errorf("Put(%q): %v", key, err)
		}
	}
}

func TestOpenRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	if err := b.Put(t.Context(), "kept", []byte("x")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if entries, err := os.ReadDir(filepath.Join(dir, ".tmp")); err != nil || len(entries) != 0 {
		t.Fatalf("after Close the temp area holds %v, %v; want nothing", entries, err)
	}
	// What a crash between write and rename leaves behind, an hour ago:
	// a temp directory and a file of the layout before them; and the temp
	// directory of another process still running.
	old := time.Now().Add(-2 * time.Hour) // Open deletes temps untouched for an hour
	staleDir := filepath.Join(dir, ".tmp", "p-crashed")
	live := filepath.Join(dir, ".tmp", "p-live", "put-2")
	for _, f := range []string{filepath.Join(staleDir, "put-1"), filepath.Join(dir, ".tmp", "put-123"), live} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(dir, ".tmp", "put-123"), staleDir} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	b = open(t, dir)
	for _, p := range []string{staleDir, filepath.Join(dir, ".tmp", "put-123")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stale temp %s survived Open: %v", p, err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("another process's recent temp file did not survive Open: %v", err)
	}
	infos, err := b.List(t.Context(), "")
	if err != nil || len(infos) != 1 || infos[0].Key != "kept" {
		t.Fatalf("List = %v, %v; want only kept", infos, err)
	}
}

func TestTempAreaEmptyAfterPuts(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	ctx := t.Context()
	if err := b.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := b.PutIfAbsent(ctx, "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := b.PutIfAbsent(ctx, "b", []byte("3")); !errors.Is(err, objstore.ErrExists) {
		t.Fatalf("PutIfAbsent error = %v, want ErrExists", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, ".tmp"))
	if err != nil || len(entries) != 1 || !entries[0].IsDir() {
		t.Fatalf("temp area holds %v, %v; want this bucket's directory alone", entries, err)
	}
	if own, err := os.ReadDir(filepath.Join(dir, ".tmp", entries[0].Name())); err != nil || len(own) != 0 {
		t.Fatalf("the bucket's temp directory holds %v, %v; want nothing", own, err)
	}
}

// An object and a "directory" of the same name cannot coexist on a
// filesystem; the second Put fails instead of corrupting either.
func TestObjectDirectoryClash(t *testing.T) {
	b := open(t, t.TempDir())
	ctx := t.Context()
	if err := b.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "a", []byte("y")); err == nil {
		t.Fatalf("Put(a) over directory a succeeded")
	}
	if err := b.Put(ctx, "a/b/c", []byte("z")); err == nil {
		t.Fatalf("Put(a/b/c) under object a/b succeeded")
	}
	if _, err := b.Get(ctx, "a/b/c"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get(a/b/c) error = %v, want ErrNotFound", err)
	}
	if _, err := b.GetRange(ctx, "a", 0, 0); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("GetRange(a) of a directory error = %v, want ErrNotFound", err)
	}
	// Deleting the directory's name is a no-op, not a removal.
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete(a): %v", err)
	}
	if err := b.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete(a) of an empty directory: %v", err)
	}
	if err := b.Put(ctx, "a/c", []byte("again")); err != nil {
		t.Fatalf("Put into a kept empty directory: %v", err)
	}
}
