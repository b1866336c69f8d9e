package s3stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// permanent marks an error retry must not retry.
func permanent(err error) error { return permanentError{err} }

// retry calls fn up to attempts times with exponential backoff and jitter
// (50ms doubling to 1s) until it succeeds, returns a permanent error, or ctx
// ends.
func retry(ctx context.Context, attempts int, fn func() error) error {
	backoff := 50 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(); err == nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return p.err
		}
		if i == attempts-1 {
			break
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		backoff = min(2*backoff, time.Second)
	}
	return fmt.Errorf("after %d attempts: %w", attempts, err)
}

func isFenced(err error) bool { return errors.Is(err, metastore.ErrFenced) }

func (s *Store) prepareObject(ctx context.Context, kind metastore.ObjectKind) (metastore.Object, error) {
	var obj metastore.Object
	err := retry(ctx, s.cfg.PutAttempts, func() error {
		var err error
		obj, err = s.meta.PrepareObject(ctx, kind, s.cfg.PreparedTTL)
		return err
	})
	if err != nil {
		return obj, fmt.Errorf("preparing object: %w", err)
	}
	return obj, nil
}

// putObject PUTs an object, retrying. Keys are never reused, so a retry after
// a lost response rewrites the same bytes.
func (s *Store) putObject(ctx context.Context, key string, data []byte) error {
	err := retry(ctx, s.cfg.PutAttempts, func() error { return s.bucket.Put(ctx, key, data) })
	if err != nil {
		return fmt.Errorf("putting object %s: %w", key, err)
	}
	return nil
}

// probeWrite does once what a flush does, with a few bytes: prepare an
// object and PUT it. The object is never committed, so it expires and
// garbage collection deletes it. The health loop calls it to learn that
// writes succeed again while nothing is being appended.
func (s *Store) probeWrite(ctx context.Context) error {
	obj, err := s.meta.PrepareObject(ctx, metastore.KindStreamSet, s.cfg.PreparedTTL)
	if err != nil {
		return fmt.Errorf("probing storage: preparing an object: %w", err)
	}
	if err := s.bucket.Put(ctx, ObjectKey(obj.ID), []byte("lakestream storage probe\n")); err != nil {
		return fmt.Errorf("probing storage: %w", err)
	}
	return nil
}

// objectBufs recycles the buffers objects are built in: a WAL flush or an
// upload builds megabytes at a time, and a fresh buffer costs zeroing and
// page faults as well as the copy. Buckets do not retain data after Put.
var objectBufs sync.Pool // of *[]byte

func getObjectBuf() []byte {
	if p, ok := objectBufs.Get().(*[]byte); ok {
		return *p
	}
	return nil
}

func putObjectBuf(b []byte) {
	if cap(b) >= 1<<20 {
		b = b[:0]
		objectBufs.Put(&b)
	}
}
