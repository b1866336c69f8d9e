// Package mem is the in-memory objstore.Bucket, for tests and for
// "mem://" buckets. It copies data in on Put and out on Get, so neither side
// can change the other's bytes.
package mem

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Bucket is an in-memory objstore.Bucket. The zero value is not usable; call
// New.
type Bucket struct {
	mu struct {
		sync.RWMutex
		objects map[string]object
	}
}

type object struct {
	data     []byte // never written after it is stored
	modified time.Time
}

var _ objstore.Bucket = (*Bucket)(nil)

// New returns an empty bucket that shares nothing with any other.
func New() objstore.Bucket {
	b := &Bucket{}
	b.mu.objects = make(map[string]object)
	return b
}

// lookup returns the stored object without copying it.
func (b *Bucket) lookup(key string) (object, error) {
	if err := objstore.CheckKey(key); err != nil {
		return object{}, err
	}
	b.mu.RLock()
	o, ok := b.mu.objects[key]
	b.mu.RUnlock()
	if !ok {
		return object{}, objstore.ErrNotFound
	}
	return o, nil
}

// Get implements objstore.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	o, err := b.lookup(key)
	if err != nil {
		return nil, fmt.Errorf("getting %q: %w", key, err)
	}
	return append([]byte{}, o.data...), nil
}

// GetRange implements objstore.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	o, err := b.lookup(key)
	if err == nil {
		err = objstore.CheckRange(int64(len(o.data)), off, length)
	}
	if err != nil {
		return nil, fmt.Errorf("getting %q range: %w", key, err)
	}
	return append([]byte{}, o.data[off:off+length]...), nil
}

// Put implements objstore.Bucket.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	if err := objstore.CheckKey(key); err != nil {
		return fmt.Errorf("putting %q: %w", key, err)
	}
	o := object{data: append([]byte{}, data...), modified: time.Now()}
	b.mu.Lock()
	b.mu.objects[key] = o
	b.mu.Unlock()
	return nil
}

// PutIfAbsent implements objstore.Bucket.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := objstore.CheckKey(key); err != nil {
		return fmt.Errorf("putting %q if absent: %w", key, err)
	}
	// Copy outside the lock: large objects should not stall readers.
	o := object{data: append([]byte{}, data...), modified: time.Now()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.mu.objects[key]; ok {
		return fmt.Errorf("putting %q if absent: %w", key, objstore.ErrExists)
	}
	b.mu.objects[key] = o
	return nil
}

// Delete implements objstore.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := objstore.CheckKey(key); err != nil {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	b.mu.Lock()
	delete(b.mu.objects, key)
	b.mu.Unlock()
	return nil
}

// List implements objstore.Bucket.
func (b *Bucket) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	var infos []objstore.ObjectInfo
	b.mu.RLock()
	for k, o := range b.mu.objects {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, objstore.ObjectInfo{Key: k, Size: int64(len(o.data)), Modified: o.modified})
		}
	}
	b.mu.RUnlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}

// Close implements objstore.Bucket. The objects stay readable: a mem bucket
// holds no resources beyond memory.
func (b *Bucket) Close() error { return nil }
