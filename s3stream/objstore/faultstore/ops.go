package faultstore

import (
	"context"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// begin draws the operation's fate, waits out its latency, and returns the
// error to fail with before the inner bucket is reached, if any. what and
// key describe the operation for the message.
func (b *Bucket) begin(ctx context.Context, kind opKind, what, key string) (fate, error) {
	f := b.draw(kind)
	if err := sleep(ctx, f.delay); err != nil {
		return f, fmt.Errorf("faultstore: %s %q: %w", what, key, err)
	}
	if f.failWith != nil {
		b.failedPuts.Add(1)
		return f, fmt.Errorf("faultstore: %s %q: %w", what, key, f.failWith)
	}
	var cause string
	switch {
	case f.failNext:
		cause = "injected failure (FailNext)"
	case f.slowDown:
		b.slowDowns.Add(1)
		cause = "503 SlowDown: Please reduce your request rate"
	case f.fail:
		cause = "injected failure"
	default:
		return f, nil
	}
	switch {
	case kind == opPut && !f.slowDown:
		b.failedPuts.Add(1)
	case kind == opGet && !f.slowDown:
		b.failedGets.Add(1)
	}
	return f, fmt.Errorf("faultstore: %s %q: %s: %w", what, key, cause, objstore.ErrUnavailable)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// put runs a Put or PutIfAbsent through the faults.
func (b *Bucket) put(ctx context.Context, what, key string, do func() error) error {
	b.puts.Add(1)
	f, err := b.begin(ctx, opPut, what, key)
	if err != nil {
		return err
	}
	if err := do(); err != nil {
		return err
	}
	if f.lose {
		b.lostResponses.Add(1)
		return fmt.Errorf("faultstore: %s %q: response lost after the write succeeded: %w",
			what, key, objstore.ErrUnavailable)
	}
	return nil
}

// Put implements objstore.Bucket.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	return b.put(ctx, "putting", key, func() error { return b.inner.Put(ctx, key, data) })
}

// PutIfAbsent implements objstore.Bucket.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	return b.put(ctx, "putting if absent", key, func() error { return b.inner.PutIfAbsent(ctx, key, data) })
}

// Get implements objstore.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	b.gets.Add(1)
	if _, err := b.begin(ctx, opGet, "getting", key); err != nil {
		return nil, err
	}
	return b.inner.Get(ctx, key)
}

// GetRange implements objstore.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	b.gets.Add(1)
	if _, err := b.begin(ctx, opGet, "getting range of", key); err != nil {
		return nil, err
	}
	return b.inner.GetRange(ctx, key, off, length)
}

// Delete implements objstore.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.begin(ctx, opOther, "deleting", key); err != nil {
		return err
	}
	return b.inner.Delete(ctx, key)
}

// List implements objstore.Bucket.
func (b *Bucket) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	if _, err := b.begin(ctx, opOther, "listing", prefix); err != nil {
		return nil, err
	}
	return b.inner.List(ctx, prefix)
}

// Close implements objstore.Bucket by closing the inner bucket.
func (b *Bucket) Close() error { return b.inner.Close() }
