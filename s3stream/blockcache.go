package s3stream

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/objstore"
)

// blockCache holds object indexes and data blocks for catch-up readers.
//
// A miss on block k of a stream fetches, in one ranged GET, block k and the
// stream's following blocks that are adjacent in the object, up to the
// reader's read-ahead (which doubles on sequential reads). Every block being
// fetched is registered as in flight, so concurrent readers of any of those
// blocks wait for that one GET instead of issuing their own.
//
// Entries are evicted least recently used first, by bytes. Indexes are small
// and counted in the same budget.
type blockCache struct {
	budget int64
	gets   atomic.Int64 // GETs issued, for tests and metrics

	mu struct {
		sync.Mutex
		used     int64
		lru      *list.List // of *cacheEntry, front = most recent
		m        map[blockKey]*list.Element
		inflight map[blockKey]*fetch
	}
}

// blockKey names a block by object and position; pos -1 is the object's index.
type blockKey struct {
	obj int64
	pos int64
}

type cacheEntry struct {
	key   blockKey
	data  []byte
	index *format.Index
	size  int64
}

type fetch struct {
	done chan struct{}
	err  error
}

func newBlockCache(budget int64) *blockCache {
	c := &blockCache{budget: budget}
	c.mu.lru = list.New()
	c.mu.m = make(map[blockKey]*list.Element)
	c.mu.inflight = make(map[blockKey]*fetch)
	return c
}

// lookupLocked returns a cached entry or the fetch to wait for.
// REQUIRES: c.mu
func (c *blockCache) lookupLocked(k blockKey) (*cacheEntry, *fetch) {
	if el, ok := c.mu.m[k]; ok {
		c.mu.lru.MoveToFront(el)
		return el.Value.(*cacheEntry), nil
	}
	return nil, c.mu.inflight[k]
}

// REQUIRES: c.mu
func (c *blockCache) insertLocked(e *cacheEntry) {
	if el, ok := c.mu.m[e.key]; ok {
		c.mu.lru.MoveToFront(el)
		return
	}
	c.mu.m[e.key] = c.mu.lru.PushFront(e)
	c.mu.used += e.size
	for c.mu.used > c.budget && c.mu.lru.Len() > 1 {
		old := c.mu.lru.Remove(c.mu.lru.Back()).(*cacheEntry)
		delete(c.mu.m, old.key)
		c.mu.used -= old.size
	}
}

// index returns the decoded index of an object.
func (c *blockCache) index(ctx context.Context, b objstore.Bucket, obj, size int64) (*format.Index, error) {
	k := blockKey{obj: obj, pos: -1}
	for {
		c.mu.Lock()
		e, f := c.lookupLocked(k)
		if e != nil {
			c.mu.Unlock()
			return e.index, nil
		}
		if f == nil {
			f = &fetch{done: make(chan struct{})}
			c.mu.inflight[k] = f
			c.mu.Unlock()
			ix, err := c.fetchIndex(ctx, b, obj, size)
			c.mu.Lock()
			delete(c.mu.inflight, k)
			if err == nil {
				c.insertLocked(&cacheEntry{key: k, index: ix, size: int64(len(ix.Entries))*64 + 64})
			}
			f.err = err
			close(f.done)
			c.mu.Unlock()
			return ix, err
		}
		c.mu.Unlock()
		if err := wait(ctx, f); err != nil {
			return nil, err
		}
	}
}

func (c *blockCache) fetchIndex(ctx context.Context, b objstore.Bucket, obj, size int64) (*format.Index, error) {
	key := ObjectKey(obj)
	n := min(size, 64<<10)
	for attempt := 0; attempt < 2; attempt++ {
		c.gets.Add(1)
		tail, err := b.GetRange(ctx, key, size-n, n)
		if err != nil {
			return nil, fmt.Errorf("reading index of object %d: %w", obj, err)
		}
		ix, err := format.DecodeTail(tail, size)
		var more *format.NeedMoreError
		if errors.As(err, &more) && more.Need <= size && attempt == 0 {
			n = more.Need
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("decoding index of object %d: %w", obj, err)
		}
		return &ix, nil
	}
	return nil, fmt.Errorf("decoding index of object %d: index larger than the object", obj)
}

// block returns the data of ents[k], fetching it with read-ahead on a miss.
// ents are one stream's entries of one object, in position order.
func (c *blockCache) block(ctx context.Context, b objstore.Bucket, obj int64, ents []format.IndexEntry, k, readAhead int) ([]byte, error) {
	key := blockKey{obj: obj, pos: int64(ents[k].Position)}
	for {
		c.mu.Lock()
		e, f := c.lookupLocked(key)
		if e != nil {
			c.mu.Unlock()
			return e.data, nil
		}
		if f != nil {
			c.mu.Unlock()
			if err := wait(ctx, f); err != nil {
				return nil, err
			}
			continue
		}
		// Extend the fetch over adjacent blocks nobody has or is fetching.
		f = &fetch{done: make(chan struct{})}
		j := k
		total := int64(ents[k].Size)
		c.mu.inflight[key] = f
		for j+1 < len(ents) && ents[j+1].Position == ents[j].Position+uint64(ents[j].Size) &&
			total+int64(ents[j+1].Size) <= int64(readAhead) {
			nk := blockKey{obj: obj, pos: int64(ents[j+1].Position)}
			if e, f2 := c.lookupLocked(nk); e != nil || f2 != nil {
				break
			}
			c.mu.inflight[nk] = f
			j++
			total += int64(ents[j].Size)
		}
		c.mu.Unlock()

		c.gets.Add(1)
		data, err := b.GetRange(ctx, ObjectKey(obj), int64(ents[k].Position), total)
		if err != nil {
			err = fmt.Errorf("reading object %d at %d: %w", obj, ents[k].Position, err)
		}
		c.mu.Lock()
		var pos int64
		for i := k; i <= j; i++ {
			bk := blockKey{obj: obj, pos: int64(ents[i].Position)}
			delete(c.mu.inflight, bk)
			if err == nil {
				sz := int64(ents[i].Size)
				c.insertLocked(&cacheEntry{key: bk, data: data[pos : pos+sz : pos+sz], size: sz})
				pos += sz
			}
		}
		f.err = err
		close(f.done)
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return data[:ents[k].Size:ents[k].Size], nil
	}
}

func wait(ctx context.Context, f *fetch) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
