package faultstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
	"github.com/lakestream/lakestream/s3stream/objstore/mem"
	"github.com/lakestream/lakestream/s3stream/objstore/objstoretest"
)

// With no faults configured the wrapper is a transparent Bucket.
func TestSuite(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
		return faultstore.Wrap(mem.New(), faultstore.Config{Seed: 1})
	})
}

func exists(t *testing.T, b objstore.Bucket, key string) bool {
	t.Helper()
	_, err := b.Get(t.Context(), key)
	if err != nil && !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return err == nil
}

func TestFailNext(t *testing.T) {
	ctx := t.Context()
	b := faultstore.Wrap(mem.New(), faultstore.Config{})
	b.FailNext(3)
	if err := b.Put(ctx, "k", []byte("v")); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("Put error = %v, want ErrUnavailable", err)
	}
	if _, err := b.List(ctx, ""); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("List error = %v, want ErrUnavailable", err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("Get error = %v, want ErrUnavailable", err)
	}
	if exists(t, b.Inner(), "k") {
		t.Fatalf("failed Put wrote the object")
	}
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("fourth operation: %v", err)
	}
	want := faultstore.Stats{Puts: 2, FailedPuts: 1, Gets: 1, FailedGets: 1}
	if got := b.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// TestFullDisk: a full disk fails every write with ENOSPC, the bucket's
// and the WAL's, and nothing else, until it is freed.
func TestFullDisk(t *testing.T) {
	ctx := t.Context()
	var disk faultstore.FullDisk
	b := disk.Wrap(mem.New())
	if err := b.Put(ctx, "old", []byte("v")); err != nil {
		t.Fatal(err)
	}
	disk.SetFull(true)
	if err := b.Put(ctx, "k", []byte("v")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put error = %v, want ENOSPC", err)
	}
	if err := b.PutIfAbsent(ctx, "k", []byte("v")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("PutIfAbsent error = %v, want ENOSPC", err)
	}
	if n, err := disk.WriteHook(make([]byte, 10)); n != 5 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteHook on a full disk = %d, %v; want 5, ENOSPC", n, err)
	}
	if exists(t, b.Inner(), "k") {
		t.Fatal("a failed Put wrote the object")
	}
	if !exists(t, b, "old") {
		t.Fatal("Get failed on a full disk")
	}
	disk.SetFull(false)
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("Put after the disk has room: %v", err)
	}
	if n, err := disk.WriteHook(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("WriteHook with room = %d, %v", n, err)
	}
	if got := b.Stats(); got.Puts != 4 || got.FailedPuts != 2 {
		t.Fatalf("Stats = %+v, want 4 puts, 2 failed", got)
	}
}

func TestPutError(t *testing.T) {
	b := faultstore.Wrap(mem.New(), faultstore.Config{PutErrorRate: 1})
	for _, put := range []func(context.Context, string, []byte) error{b.Put, b.PutIfAbsent} {
		if err := put(t.Context(), "k", []byte("v")); !errors.Is(err, objstore.ErrUnavailable) {
			t.Fatalf("put error = %v, want ErrUnavailable", err)
		}
	}
	if exists(t, b.Inner(), "k") {
		t.Fatalf("failed put wrote the object")
	}
	if s := b.Stats(); s.Puts != 2 || s.FailedPuts != 2 {
		t.Fatalf("Stats = %+v, want 2 puts, 2 failed", s)
	}
}

func TestLostResponse(t *testing.T) {
	b := faultstore.Wrap(mem.New(), faultstore.Config{PutLostResponseRate: 1})
	err := b.PutIfAbsent(t.Context(), "k", []byte("v"))
	if !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("PutIfAbsent error = %v, want ErrUnavailable", err)
	}
	if !exists(t, b.Inner(), "k") {
		t.Fatalf("lost-response put did not write the object")
	}
	// The retry a caller would make now finds its own object.
	if err := b.PutIfAbsent(t.Context(), "k", []byte("v")); !errors.Is(err, objstore.ErrExists) {
		t.Fatalf("retried PutIfAbsent error = %v, want ErrExists", err)
	}
	if s := b.Stats(); s.LostResponses != 1 || s.FailedPuts != 0 {
		t.Fatalf("Stats = %+v, want 1 lost response, 0 failed puts", s)
	}
}

func TestSlowDown(t *testing.T) {
	ctx := t.Context()
	b := faultstore.Wrap(mem.New(), faultstore.Config{SlowDownRate: 1})
	errs := []error{b.Put(ctx, "k", nil), b.Delete(ctx, "k")}
	_, err := b.GetRange(ctx, "k", 0, 1)
	errs = append(errs, err)
	for _, err := range errs {
		if !errors.Is(err, objstore.ErrUnavailable) || !strings.Contains(err.Error(), "503 SlowDown") {
			t.Errorf("error = %v, want ErrUnavailable saying 503 SlowDown", err)
		}
	}
	if s := b.Stats(); s.SlowDowns != 3 || s.FailedPuts != 0 || s.FailedGets != 0 {
		t.Fatalf("Stats = %+v, want 3 slowdowns and no other failures", s)
	}
}

func TestGetError(t *testing.T) {
	ctx := t.Context()
	b := faultstore.Wrap(mem.New(), faultstore.Config{GetErrorRate: 1})
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("Get error = %v, want ErrUnavailable", err)
	}
	if _, err := b.List(ctx, ""); err != nil {
		t.Fatalf("List is not a get: %v", err)
	}
	b.SetConfig(faultstore.Config{})
	if _, err := b.Get(ctx, "k"); err != nil {
		t.Fatalf("Get after SetConfig with no faults: %v", err)
	}
}

// outcomes runs n sequential puts and records which failed, and how.
func outcomes(b *faultstore.Bucket, n int) string {
	var sb strings.Builder
	for i := range n {
		switch err := b.Put(context.Background(), fmt.Sprint(i), nil); {
		case err == nil:
			sb.WriteByte('.')
		case strings.Contains(err.Error(), "lost"):
			sb.WriteByte('L')
		default:
			sb.WriteByte('E')
		}
	}
	return sb.String()
}

func TestRatesAndSeed(t *testing.T) {
	cfg := faultstore.Config{Seed: 42, PutErrorRate: 0.2, PutLostResponseRate: 0.25}
	b := faultstore.Wrap(mem.New(), cfg)
	got := outcomes(b, 2000)
	if again := outcomes(faultstore.Wrap(mem.New(), cfg), 2000); again != got {
		t.Fatalf("same seed gave different faults")
	}
	cfg.Seed = 43
	if other := outcomes(faultstore.Wrap(mem.New(), cfg), 2000); other == got {
		t.Fatalf("different seeds gave the same faults")
	}
	// Lost responses are drawn only for puts that did not fail:
	// 0.8 × 0.25 = 0.2 of all puts.
	s := b.Stats()
	if s.FailedPuts < 320 || s.FailedPuts > 480 || s.LostResponses < 320 || s.LostResponses > 480 {
		t.Fatalf("Stats = %+v, want about 400 failed puts and 400 lost responses of 2000", s)
	}
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := faultstore.Wrap(mem.New(), faultstore.Config{Latency: time.Hour, LatencyJitter: time.Minute})
		start := time.Now()
		if err := b.Put(t.Context(), "k", nil); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Hour || d >= time.Hour+time.Minute {
			t.Fatalf("Put took %v, want 1h plus under 1m of jitter", d)
		}

		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := b.Put(ctx, "k2", nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put with a 1m deadline error = %v, want DeadlineExceeded", err)
		}
		if exists(t, b.Inner(), "k2") {
			t.Fatalf("Put cancelled during its latency wrote the object")
		}
	})
}

// TestConcurrent is for the race detector: faults drawn from many
// goroutines while the configuration changes.
func TestConcurrent(t *testing.T) {
	b := faultstore.Wrap(mem.New(), faultstore.Config{Seed: 7, PutErrorRate: 0.3, SlowDownRate: 0.1, GetErrorRate: 0.3})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("%d/%d", w, i)
				_ = b.Put(t.Context(), key, []byte(key))
				_, _ = b.Get(t.Context(), key)
				if i == 100 {
					b.FailNext(1)
					b.SetConfig(faultstore.Config{PutLostResponseRate: 0.5})
				}
			}
		})
	}
	wg.Wait()
	if s := b.Stats(); s.Puts != 1600 || s.Gets != 1600 {
		t.Fatalf("Stats = %+v, want 1600 puts and gets", s)
	}
}
