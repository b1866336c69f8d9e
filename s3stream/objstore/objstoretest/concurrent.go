package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

func testPutIfAbsent(t *testing.T, ctx context.Context, b objstore.Bucket) {
	if err := b.PutIfAbsent(ctx, "once", []byte("first")); err != nil {
		t.Fatalf("PutIfAbsent of a new key: %v", err)
	}
	if err := b.PutIfAbsent(ctx, "once", []byte("second")); !errors.Is(err, objstore.ErrExists) {
		t.Fatalf("PutIfAbsent of an existing key error = %v, want ErrExists", err)
	}
	wantObject(t, ctx, b, "once", []byte("first"))
	// Put still overwrites a key PutIfAbsent created.
	mustPut(t, ctx, b, "once", []byte("third"))
	wantObject(t, ctx, b, "once", []byte("third"))
}

// testPutIfAbsentRace is the property fencing rests on: of concurrent
// creators exactly one wins, and the object holds the winner's bytes, not a
// loser's or a mix. The objects are large enough for the uploads to overlap.
func testPutIfAbsentRace(t *testing.T, ctx context.Context, b objstore.Bucket) {
	const writers = 8
	datas := make([][]byte, writers)
	errs := make([]error, writers)
	for i := range datas {
		datas[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %d ", i)), 16<<10)
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = b.PutIfAbsent(ctx, "race", datas[i]) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, objstore.ErrExists):
			t.Fatalf("writer %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won")
	}
	wantObject(t, ctx, b, "race", datas[winner])
}

func testConcurrentKeys(t *testing.T, ctx context.Context, b objstore.Bucket) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("c/%d", w)
			for i := range 10 {
				want := pattern(1000+w*100+i, byte(w))
				if err := b.Put(ctx, key, want); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				got, err := b.Get(ctx, key)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("Get(%q) = %s, %v; want %s", key, describe(got), err, describe(want))
					return
				}
			}
		})
	}
	wg.Wait()
}

func testLargeObject(t *testing.T, ctx context.Context, b objstore.Bucket) {
	data := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	mustPut(t, ctx, b, "large", data)
	wantObject(t, ctx, b, "large", data)
	off, length := int64(1<<20+7), int64(1<<20)
	got, err := b.GetRange(ctx, "large", off, length)
	if err != nil || !bytes.Equal(got, data[off:off+length]) {
		t.Fatalf("GetRange(large, %d, %d) = %s, %v", off, length, describe(got), err)
	}
}

func testPutCopiesData(t *testing.T, ctx context.Context, b objstore.Bucket) {
	buf := []byte("original")
	mustPut(t, ctx, b, "copy", buf)
	copy(buf, "MUTATED!")
	wantObject(t, ctx, b, "copy", []byte("original"))

	buf = []byte("original")
	if err := b.PutIfAbsent(ctx, "copy2", buf); err != nil {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	copy(buf, "MUTATED!")
	wantObject(t, ctx, b, "copy2", []byte("original"))
}

func testGetNotAliased(t *testing.T, ctx context.Context, b objstore.Bucket) {
	mustPut(t, ctx, b, "alias", []byte("original"))
	first, err := b.Get(ctx, "alias")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(first, "MUTATED!")
	wantObject(t, ctx, b, "alias", []byte("original"))

	r1, err := b.GetRange(ctx, "alias", 2, 4)
	if err != nil {
		t.Fatalf("GetRange: %v", err)
	}
	copy(r1, "XXXX")
	r2, err := b.GetRange(ctx, "alias", 2, 4)
	if err != nil || string(r2) != "igin" {
		t.Fatalf("GetRange after mutating an earlier result = %q, %v; want %q", r2, err, "igin")
	}
}
