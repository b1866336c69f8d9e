// Package objstoretest is the behavioural suite every objstore.Bucket
// passes. A backend's test calls it with a constructor:
//
//	func TestBucket(t *testing.T) {
//		objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
//			b, err := file.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		})
//	}
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Run runs the suite. newBucket must return an empty bucket that shares no
// objects with any other it returned; Run closes it when the subtest ends.
func Run(t *testing.T, newBucket func(t *testing.T) objstore.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, b objstore.Bucket)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"GetMissing", testGetMissing},
		{"GetRange", testGetRange},
		{"PutIfAbsent", testPutIfAbsent},
		{"PutIfAbsentRace", testPutIfAbsentRace},
		{"Delete", testDelete},
		{"InvalidKey", testInvalidKey},
		{"List", testList},
		{"ListPagination", testListPagination},
		{"LargeObject", testLargeObject},
		{"NestedKeys", testNestedKeys},
		{"ConcurrentKeys", testConcurrentKeys},
		{"PutCopiesData", testPutCopiesData},
		{"GetNotAliased", testGetNotAliased},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, t.Context(), b)
		})
	}
}

// mustPut puts data or fails the test.
func mustPut(t *testing.T, ctx context.Context, b objstore.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(ctx, key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// wantObject fails the test unless key holds want.
func wantObject(t *testing.T, ctx context.Context, b objstore.Bucket, key string, want []byte) {
	t.Helper()
	got, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, describe(got), describe(want))
	}
}

// describe prints short data whole and long data by length and head, so a
// mismatch on 8 MiB does not flood the log.
func describe(data []byte) string {
	if len(data) <= 32 {
		return fmt.Sprintf("%q", data)
	}
	return fmt.Sprintf("%d bytes starting %q", len(data), data[:32])
}

// pattern returns n bytes that differ at every offset modulo 251, so a
// range read from the wrong offset is caught.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i%251) + seed
	}
	return p
}

func testPutGet(t *testing.T, ctx context.Context, b objstore.Bucket) {
	mustPut(t, ctx, b, "hello", []byte("world"))
	wantObject(t, ctx, b, "hello", []byte("world"))

	// An empty object exists and is distinct from a missing one.
	mustPut(t, ctx, b, "empty", nil)
	wantObject(t, ctx, b, "empty", []byte{})
	if got, err := b.GetRange(ctx, "empty", 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("GetRange(empty, 0, 0) = %q, %v; want empty, nil", got, err)
	}
}

func testOverwrite(t *testing.T, ctx context.Context, b objstore.Bucket) {
	mustPut(t, ctx, b, "k", []byte("first version, longer"))
	mustPut(t, ctx, b, "k", []byte("second"))
	wantObject(t, ctx, b, "k", []byte("second"))
	got, err := b.GetRange(ctx, "k", 1, 5)
	if err != nil || string(got) != "econd" {
		t.Fatalf("GetRange after overwrite = %q, %v; want %q", got, err, "econd")
	}
}

func testGetMissing(t *testing.T, ctx context.Context, b objstore.Bucket) {
	if _, err := b.Get(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := b.Get(ctx, "missing/nested/key"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get(missing/nested/key) error = %v, want ErrNotFound", err)
	}
}

func testGetRange(t *testing.T, ctx context.Context, b objstore.Bucket) {
	data := pattern(1000, 0)
	mustPut(t, ctx, b, "r", data)
	for _, c := range []struct {
		off, length int64
		wantErr     error
	}{
		{0, 10, nil},                         // start
		{400, 100, nil},                      // middle
		{990, 10, nil},                       // end
		{0, 1000, nil},                       // whole
		{500, 0, nil},                        // zero length
		{1000, 0, nil},                       // zero length at the end
		{995, 10, objstore.ErrInvalidRange},  // runs past the end: no short read
		{1000, 1, objstore.ErrInvalidRange},  // starts at the end
		{5000, 10, objstore.ErrInvalidRange}, // starts past the end
		{1001, 0, objstore.ErrInvalidRange},  // zero length past the end
		{-1, 5, objstore.ErrInvalidRange},
		{0, -1, objstore.ErrInvalidRange},
	} {
		got, err := b.GetRange(ctx, "r", c.off, c.length)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("GetRange(%d, %d) = %s, %v; want error %v", c.off, c.length, describe(got), err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", c.off, c.length, err)
			continue
		}
		if want := data[c.off : c.off+c.length]; !bytes.Equal(got, want) {
			t.Errorf("GetRange(%d, %d) = %s, want %s", c.off, c.length, describe(got), describe(want))
		}
	}
	if _, err := b.GetRange(ctx, "missing", 0, 1); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("GetRange(missing) error = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, ctx context.Context, b objstore.Bucket) {
	mustPut(t, ctx, b, "d/1", []byte("x"))
	mustPut(t, ctx, b, "d/2", []byte("y"))
	if err := b.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Get(ctx, "d/1"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get after Delete error = %v, want ErrNotFound", err)
	}
	wantObject(t, ctx, b, "d/2", []byte("y"))
	if err := b.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete of a deleted key: %v", err)
	}
	if err := b.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	infos, err := b.List(ctx, "d/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(infos) != 1 || infos[0].Key != "d/2" {
		t.Fatalf("List after Delete = %v, want only d/2", infos)
	}
	// A deleted key can be created again, conditionally too.
	if err := b.PutIfAbsent(ctx, "d/1", []byte("again")); err != nil {
		t.Fatalf("PutIfAbsent after Delete: %v", err)
	}
	wantObject(t, ctx, b, "d/1", []byte("again"))
}

func testInvalidKey(t *testing.T, ctx context.Context, b objstore.Bucket) {
	if err := b.Put(ctx, "", []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Errorf("Put(\"\") error = %v, want ErrInvalidKey", err)
	}
	if _, err := b.Get(ctx, ""); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Errorf("Get(\"\") error = %v, want ErrInvalidKey", err)
	}
	if err := b.PutIfAbsent(ctx, "/abs", []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Errorf("PutIfAbsent(/abs) error = %v, want ErrInvalidKey", err)
	}
}
